"""The per-territory and per-trial tables of a run: training capability (1e25-1e28 FLOP), quota exhaustion,
headline numbers per trial."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from ..kernel import layout as L
from .capability import TARGET_FLOP, crossing_quantiles, first_crossing
from .headline import SEP, headline

OUTPUT = "output."  # prefix of trials.parquet's per-quarter headline outputs

if TYPE_CHECKING:
    from .run import Metrics

EXHAUSTION_SCHEMA = {
    "iso3": pl.Utf8,
    "share_of_trials_exhausted": pl.Float64,
    "exhaustion_quarter_p5": pl.Utf8,
    "exhaustion_quarter_p50": pl.Utf8,
    "exhaustion_quarter_p95": pl.Utf8,
    "unmet_h100e_p50": pl.Float64,
    "unmet_h100e_p95": pl.Float64,
    "share_of_trials_nveu_exhausted": pl.Float64,
}


COUNT = "count."  # a table datum summed over blocks of trials; every other datum has a row per trial
VIEWS = ("headquarters", "location")


def capped(reg) -> np.ndarray:
    """bool [C]: the territory is under a national allocation in some quarter (``reg``: RegimeArrays)."""
    return (reg.policy == L.CAPPED).any(axis=(0, 2))


def merge(blocks: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The table data of consecutive blocks of trials as one: counts summed, per-trial rows concatenated."""
    if not blocks:
        return {}
    return {
        k: sum(b[k] for b in blocks) if k.startswith(COUNT) else np.concatenate([b[k] for b in blocks])
        for k in blocks[0]
    }


def feasibility_data(m: Metrics) -> dict[str, np.ndarray]:
    """What the feasibility table needs of a block of trials: per view, each trial's largest run at the last
    quarter [T, C] and, per threshold, the trials above it [C, Q] and each trial's first crossing [T, C]; the
    trials whose headline 1e26 run's weights would be controlled (face a presumption of denial) in any quarter."""
    controlled, denial = m.weights_outcomes
    data = {f"{COUNT}controlled": controlled.any(axis=2).sum(axis=0), f"{COUNT}denial": denial.any(axis=2).sum(axis=0)}
    for view, flop in zip(VIEWS, (m.largest_run_flop, m.largest_run_flop_location)):
        data[f"{view}.last"] = flop[:, :, -1]
        for j, th in enumerate(m.thresholds):
            data[f"{COUNT}{view}.{j}.above"] = (flop >= th).sum(axis=0)
            data[f"{view}.{j}.first"] = first_crossing(flop, th).astype(np.int16)
    return data


def feasibility_table(data: dict[str, np.ndarray], world, labels: list[str], thresholds) -> pl.DataFrame:
    """Per territory, view and threshold (1e25-1e28 FLOP) from ``data`` (``feasibility_data`` of every trial):
    the probability that a run of that size is
    trainable in 100 days at the first and last quarter, the first quarter it passes 50 %, each trial's first
    crossing quarter (p5/p50/p95, numpy's inverted-CDF method; "never": beyond the horizon) and the share of
    trials that never cross, and the largest run at the last quarter (p5/p50/p95). Views: "headquarters"
    (the firms headquartered there, on their clusters wherever they are: the headline) and "location" (any
    cluster there, whoever owns it). For the headline view at 1e26: whether the run's closed weights would be
    controlled (ECCN 4E091) and face a presumption of denial for export, in any quarter."""
    C, T = len(world.iso3), data["headquarters.last"].shape[0]
    horizon = [*labels, "never"]
    frames = []
    for view in VIEWS:
        last = np.percentile(data[f"{view}.last"], (5, 50, 95), axis=0)
        for j, th in enumerate(thresholds):
            p = data[f"{COUNT}{view}.{j}.above"] / T  # [C, Q]
            first = data[f"{view}.{j}.first"]
            q5, q50, q95 = crossing_quantiles(first)
            headline = view == "headquarters" and th == TARGET_FLOP
            frames.append(
                pl.DataFrame(
                    {
                        "iso3": world.iso3,
                        "name": world.countries["name"],
                        "view": [view] * C,
                        "threshold_flop": [th] * C,
                        "p_first_quarter": p[:, 0],
                        "p_last_quarter": p[:, -1],
                        "first_quarter_p_over_half": [labels[r.argmax()] if r.any() else None for r in p > 0.5],
                        "crossing_quarter_p5": [horizon[i] for i in q5],
                        "crossing_quarter_p50": [horizon[i] for i in q50],
                        "crossing_quarter_p95": [horizon[i] for i in q95],
                        "share_never": (first == len(labels)).mean(axis=0),
                        "largest_run_flop_p5_last": last[0],
                        "largest_run_flop_p50_last": last[1],
                        "largest_run_flop_p95_last": last[2],
                        "p_weights_controlled_any_quarter": data[f"{COUNT}controlled"] / T if headline else None,
                        "p_weights_presumption_of_denial_any_quarter": (
                            data[f"{COUNT}denial"] / T if headline else None
                        ),
                    },
                    schema_overrides={
                        "first_quarter_p_over_half": pl.Utf8,
                        "p_weights_controlled_any_quarter": pl.Float64,
                        "p_weights_presumption_of_denial_any_quarter": pl.Float64,
                    },
                )
            )
    return pl.concat(frames).sort(
        ["view", "threshold_flop", "p_last_quarter", "iso3"], descending=[False, False, True, False]
    )


def exhaustion_data(m: Metrics) -> dict[str, np.ndarray]:
    """What the exhaustion table needs of a block of trials, per trial and territory [T, C]: the quarter the
    national allocation (an NVEU cap) is used up (-1: never) and the unmet demand over the run, H100e."""
    out = m.out
    unmet = out.flows[..., L.FL_UNMET].sum(axis=2, dtype=np.float64)
    return {"exhaust": out.exhaust, "nveu_exhaust": out.nveu_exhaust, "unmet": unmet}


def exhaustion_table(
    data: dict[str, np.ndarray], capped: np.ndarray, iso3: list[str], labels: list[str]
) -> pl.DataFrame:
    """Per territory under a national allocation in some quarter (``capped`` [C]), from ``data``
    (``exhaustion_data`` of every trial): the share of trials that use it up, the
    quarter they do (p5/p50/p95 over those trials, numpy's inverted-CDF method, so a quarter that occurs),
    the unmet demand over the run (H100e, p50/p95 over all trials, linear) and the share of trials that use
    up an NVEU cap there."""
    exhaust, nveu, unmet = data["exhaust"], data["nveu_exhaust"], data["unmet"]
    rows = []
    for c in np.flatnonzero(capped):
        hit = exhaust[:, c][exhaust[:, c] >= 0]
        quarter = [labels[int(q)] for q in np.percentile(hit, (5, 50, 95), method="inverted_cdf")] if hit.size else []
        rows.append(
            {
                "iso3": iso3[c],
                "share_of_trials_exhausted": hit.size / exhaust.shape[0],
                "exhaustion_quarter_p5": quarter[0] if quarter else None,
                "exhaustion_quarter_p50": quarter[1] if quarter else None,
                "exhaustion_quarter_p95": quarter[2] if quarter else None,
                "unmet_h100e_p50": float(np.median(unmet[:, c])),
                "unmet_h100e_p95": float(np.percentile(unmet[:, c], 95)),
                "share_of_trials_nveu_exhausted": float((nveu[:, c] >= 0).mean()),
            }
        )
    return pl.DataFrame(rows, schema=EXHAUSTION_SCHEMA).sort(
        ["share_of_trials_exhausted", "exhaustion_quarter_p50", "iso3"],
        descending=[True, False, False],
        nulls_last=True,
    )


def trials_table(m: Metrics) -> pl.DataFrame:
    """One row per trial: the uncertain inputs drawn, installed H100e per bloc and in the World at the last
    quarter, China's first quarter with a 1e26 run trainable in 100 days (by headquarters), the number of
    territories that use up their allocation, the smuggled and diverted H100e over the run, and the headline
    outputs of every quarter (``output.<metric>|<region>|<quarter>``: sim/metrics/headline.py), which
    ``sim sensitivity RUN_DIR --method delta|pawn`` reads."""
    out, labels = m.out, m.labels
    china = m.feasible_1e26[:, m.world.index()["CHN"]]  # [T, Q]
    first_cn = [labels[row.argmax()] if row.any() else None for row in china]
    last = m.compute_groups[:, :, -1]  # [T, G]
    cols: dict[str, object] = {"trial": m.first_trial + np.arange(out.stock.shape[0])}
    cols.update({f"input.{k}": v for k, v in m.draws.items()})
    cols.update({f"compute_h100e_last.{name}": last[:, g] for g, name in enumerate(m.regions.names[-last.shape[1] :])})
    cols["china_first_feasible_quarter"] = pl.Series(first_cn, dtype=pl.Utf8)
    cols["countries_exhausted"] = (out.exhaust >= 0).sum(axis=1)
    cols["smuggled_h100e"] = out.flows[..., L.FL_SMUGGLED].sum(axis=(1, 2), dtype=np.float64)
    cols["diverted_h100e"] = out.flows[..., L.FL_DIVERTED_IN].sum(axis=(1, 2), dtype=np.float64)
    cols.update({f"{OUTPUT}{SEP.join(k)}": v for k, v in headline(m, labels).items()})  # per quarter
    return pl.DataFrame(cols)
