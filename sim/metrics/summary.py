"""The long summary table: one row per metric, region, quarter and quantile (p5, p50, p95 and mean over
trials, or a probability: the share of trials), rows quantile-major, then region, then quarter; each value with
its 95 % Monte Carlo interval (``mc_low``, ``mc_high``: order statistics for a quantile, ± 1.96 standard errors
for a mean or a probability), so a reader knows whether the trials suffice."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Source:
    """Part of a metric's regions: their indices ``where`` [R] (territories, then blocs and the World) and
    ``values()``, their per-trial values [T, R, Q] (float; bool for a probability), computed when asked."""

    where: np.ndarray
    values: Callable[[], np.ndarray]


@dataclass(frozen=True)
class Spec:
    """One metric of the summary: its name, unit and sources (their regions in order); ``probability``: the
    share of trials where the values hold, else p5/p50/p95 and mean."""

    metric: str
    unit: str
    sources: tuple[Source, ...]
    probability: bool = False

    @property
    def where(self) -> np.ndarray:
        return np.concatenate([s.where for s in self.sources])


def summary_specs(m: Metrics) -> list[Spec]:
    """The metrics of the summary, in table order. Territories and groups (blocs, World) get statistics of
    their per-trial values, a group's value being the sum of its members' in that trial (the largest member's
    for a largest run); shares divide by the trial's world compute. Both the exact summary (``summary_table``)
    and the streamed one (sim/metrics/streamed.py) read them."""
    out, groups = m.out, m.regions.groups
    C, G = out.stock.shape[1], len(groups)
    countries, blocs = np.arange(C), np.arange(C, C + G)
    cache: dict[str, np.ndarray] = {}

    def grouped(name: str, x) -> np.ndarray:
        if name not in cache:
            cache[name] = group_sums(x(), groups)
        return cache[name]

    def everywhere(metric, unit, x, grouped_x) -> Spec:
        return Spec(metric, unit, (Source(countries, x), Source(blocs, grouped_x)))

    def world() -> np.ndarray:  # [T, 1, Q]
        return np.maximum(m.compute_groups[:, -1:], 1e-12)

    specs = [
        everywhere("compute_h100e", "H100e", lambda: m.compute, lambda: m.compute_groups),
        everywhere(
            "compute_h100e_tpp", "H100e_tpp", lambda: out.stock_tpp, lambda: grouped("tpp", lambda: out.stock_tpp)
        ),
        everywhere(
            "share_of_world_compute", "fraction", lambda: m.compute / world(), lambda: m.compute_groups / world()
        ),
    ]
    specs += [
        Spec(
            f"compute_h100e_{name}", "H100e", (Source(blocs, lambda k=k: grouped("stock", lambda: out.stock)[..., k]),)
        )
        for k, name in enumerate(L.CHANNELS)
    ]

    def by_axis(prefix: str, unit: str, field: str, names) -> list[Spec]:  # a metric per entry of the last axis
        x = getattr(out, field)
        return [
            everywhere(f"{prefix}{name}", unit, lambda k=k: x[..., k], lambda k=k: grouped(field, lambda: x)[..., k])
            for k, name in enumerate(names)
        ]

    specs += by_axis("compute_h100e_family_", "H100e", "family", L.FAMILIES)  # stock delivered during the run
    specs += by_axis("chips_family_", "chips", "units", L.FAMILIES)  # the same in chips
    specs += by_axis("revenue_usd_", "USD/quarter", "revenue", [v.lower() for v in L.VENDORS])
    specs += by_axis("revenue_refused_usd_", "USD/quarter", "refused", [v.lower() for v in L.VENDORS])
    flows = by_axis("flow_", "H100e/quarter", "flows", L.FLOWS)
    specs += [Spec(s.metric, FLOW_UNITS.get(k, s.unit), s.sources) for k, s in enumerate(flows)]
    specs.append(Spec("largest_firm_h100e", "H100e", (Source(countries, lambda: out.largest),)))
    specs += [
        everywhere("largest_run_flop", "FLOP", lambda: m.largest_run_flop, lambda: m.largest_run_flop_groups),
        Spec("largest_run_flop_location", "FLOP", (Source(countries, lambda: m.largest_run_flop_location),)),
        Spec("largest_run_flop_sampled_days", "FLOP", (Source(countries, lambda: m.largest_run_flop_sampled_days),)),
        Spec("largest_cluster_h100e", "H100e", (Source(countries, lambda: m.largest_cluster_h100e),)),
    ]
    specs += [
        Spec(
            f"p_train_{th:.0e}".replace("+", ""),
            "probability",
            (
                Source(countries, lambda th=th: m.largest_run_flop >= th),
                Source(blocs, lambda th=th: m.largest_run_flop_groups >= th),
            ),
            probability=True,
        )
        for th in m.thresholds
    ]
    specs += [
        Spec(name, "probability", (Source(countries, lambda i=i: m.weights_outcomes[i]),), probability=True)
        for i, name in enumerate(WEIGHTS)
    ]
    return specs


def summary_table(m: Metrics) -> pl.DataFrame:
    """The exact summary of a run (see the module docstring): statistics over every trial at once."""
    T = m.out.stock.shape[0]
    parts: list[Part] = []
    for spec in summary_specs(m):
        if spec.probability:
            stats = [probability_interval(s.values().mean(axis=0), T) for s in spec.sources]
        else:
            stats = [over_trials(s.values()) for s in spec.sources]
        parts.append((spec.metric, spec.unit, spec.where, np.concatenate(stats, axis=2)))
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
