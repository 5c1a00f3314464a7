"""The long summary table: one row per metric, region, quarter and quantile (p5, p50, p95 and mean over
trials, or a probability: the share of trials), rows quantile-major, then region, then quarter; each value with
its 95 % Monte Carlo interval (``mc_low``, ``mc_high``: order statistics for a quantile, ± 1.96 standard errors
for a mean or a probability), so a reader knows whether the trials suffice."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from ..kernel import layout as L
from .stats import STATS, group_sums, over_trials, probability_interval

if TYPE_CHECKING:
    from .run import Metrics

QUANTILE_NAMES = STATS + ("probability",)
FLOW_UNITS = {L.FL_CAP_USED: "H100e_tpp cumulative", L.FL_PENDING: "H100e outstanding"}  # else H100e/quarter
WEIGHTS = ("p_train_1e26_weights_controlled", "p_train_1e26_weights_export_presumption_of_denial")
Part = tuple[
    str, str, np.ndarray, np.ndarray
]  # metric, unit, region indices [R], float64 [3, S, R, Q]: value, MC low, high


def summary_table(m: Metrics) -> pl.DataFrame:
    """The summary of a run (see the module docstring). Territories and groups (blocs, World) get
    statistics of their per-trial values, a group's value being the sum of its members' in that trial;
    shares divide by the trial's world compute."""
    out, groups = m.out, m.regions.groups
    T, C = out.stock.shape[:2]
    everywhere, countries, blocs = np.arange(C + len(groups)), np.arange(C), np.arange(C, C + len(groups))

    def everywhere_stats(x: np.ndarray, grouped: np.ndarray | None = None) -> np.ndarray:
        """[3, 4, C + G, ...]: statistics of the territories' values ``x``, then of their groups' sums."""
        grouped = group_sums(x, groups) if grouped is None else grouped
        return np.concatenate([over_trials(x), over_trials(grouped)], axis=2)

    world = np.maximum(m.compute_groups[:, -1:], 1e-12)  # [T, 1, Q]
    parts: list[Part] = [
        ("compute_h100e", "H100e", everywhere, everywhere_stats(m.compute, m.compute_groups)),
        ("compute_h100e_tpp", "H100e_tpp", everywhere, everywhere_stats(out.stock_tpp)),
        (
            "share_of_world_compute",
            "fraction",
            everywhere,
            everywhere_stats(m.compute / world, m.compute_groups / world),
        ),
    ]
    channels = over_trials(group_sums(out.stock, groups))  # [3, 4, G, Q, channel]
    parts += [(f"compute_h100e_{name}", "H100e", blocs, channels[..., k]) for k, name in enumerate(L.CHANNELS)]
    families = everywhere_stats(out.family)  # [3, 4, C + G, Q, family]: stock delivered during the run
    units = everywhere_stats(out.units)  # the same in chips
    parts += [
        (f"compute_h100e_family_{name}", "H100e", everywhere, families[..., k]) for k, name in enumerate(L.FAMILIES)
    ]
    parts += [(f"chips_family_{name}", "chips", everywhere, units[..., k]) for k, name in enumerate(L.FAMILIES)]
    revenue, refused = everywhere_stats(out.revenue), everywhere_stats(out.refused)  # [3, 4, C + G, Q, vendor]
    parts += [(f"revenue_usd_{v.lower()}", "USD/quarter", everywhere, revenue[..., k]) for k, v in enumerate(L.VENDORS)]
    parts += [
        (f"revenue_refused_usd_{v.lower()}", "USD/quarter", everywhere, refused[..., k])
        for k, v in enumerate(L.VENDORS)
    ]
    flows = everywhere_stats(out.flows)  # [3, 4, C + G, Q, flow]
    parts += [
        (f"flow_{name}", FLOW_UNITS.get(k, "H100e/quarter"), everywhere, flows[..., k])
        for k, name in enumerate(L.FLOWS)
    ]
    parts.append(("largest_firm_h100e", "H100e", countries, over_trials(out.largest)))
    run, run_groups = m.largest_run_flop, m.largest_run_flop_groups  # by headquarters, 100 days
    parts += [
        ("largest_run_flop", "FLOP", everywhere, everywhere_stats(run, run_groups)),
        ("largest_run_flop_location", "FLOP", countries, over_trials(m.largest_run_flop_location)),
        ("largest_run_flop_sampled_days", "FLOP", countries, over_trials(m.largest_run_flop_sampled_days)),
        ("largest_cluster_h100e", "H100e", countries, over_trials(m.largest_cluster_h100e)),
    ]
    both = np.concatenate([run, run_groups], axis=1)
    parts += [
        (
            f"p_train_{th:.0e}".replace("+", ""),
            "probability",
            everywhere,
            probability_interval((both >= th).mean(axis=0), T),
        )
        for th in m.thresholds
    ]
    parts += [
        (name, "probability", countries, probability_interval(x.mean(axis=0), T))
        for name, x in zip(WEIGHTS, m.weights_outcomes)
    ]
    return long_table(parts, m.regions.names, m.regions.kinds, m.labels)


def long_table(parts: list[Part], regions: list[str], kinds: list[str], labels: list[str]) -> pl.DataFrame:
    """Stack ``parts`` (S = 4 statistics, or 1 probability, each with its MC interval) into the long table:
    strings are gathered from integer codes once, at the end."""
    codes: list[tuple[np.ndarray, ...]] = []
    for i, (_, _, where, values) in enumerate(parts):
        _, S, R, Q = values.shape
        stat = np.arange(S) if S == len(STATS) else np.array([QUANTILE_NAMES.index("probability")])
        codes.append(
            (
                np.full(S * R * Q, i),
                np.tile(np.repeat(where, Q), S),
                np.tile(np.arange(Q), S * R),
                np.repeat(stat, R * Q),
                values[0].reshape(-1).astype(np.float64),
                values[1].reshape(-1).astype(np.float64),
                values[2].reshape(-1).astype(np.float64),
            )
        )
    metric, region, quarter, stat, value, low, high = (np.concatenate(c) for c in zip(*codes))

    def strings(name: str, values: list[str], at: np.ndarray) -> pl.Series:
        return pl.Series(name, values, dtype=pl.String).gather(at)

    return pl.DataFrame(
        [
            strings("metric", [p[0] for p in parts], metric),
            strings("unit", [p[1] for p in parts], metric),
            strings("region", regions, region),
            strings("region_type", kinds, region),
            strings("quarter", labels, quarter),
            strings("quantile", list(QUANTILE_NAMES), stat),
            pl.Series("value", value, dtype=pl.Float64),
            pl.Series("mc_low", low, dtype=pl.Float64),
            pl.Series("mc_high", high, dtype=pl.Float64),
        ]
    )
