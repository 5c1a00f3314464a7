"""Paired differences of a comparison: for every headline output (each bloc's and each compared country's
installed compute, the largest run trainable in 100 days, the probability of a 1e26- and a 1e27-FLOP run,
chips smuggled into China, allocations used) at every quarter, each scenario's per-trial value less the first
scenario's in the same trial (common random numbers), with its p5, p50, p95 and mean and the share of trials
in which the difference has the sign of its median (of its mean where the median is 0)."""

from __future__ import annotations

import numpy as np
import polars as pl

from .metrics.headline import SEP

HEAD = "head" + SEP  # prefix of a scenario's headline arrays: head|metric|region|quarter
THRESHOLDS = (("p_train_1e26", 1e26), ("p_train_1e27", 1e27))
UNITS = {
    "compute_h100e": "H100e",
    "largest_run_flop": "FLOP",
    "smuggled_h100e": "H100e",
    "allocation_used_h100e_tpp": "H100e_tpp",
    "p_train_1e26": "probability",
    "p_train_1e27": "probability",
}
COLUMNS = {
    "metric": "the headline output (compute_h100e: installed H100e; largest_run_flop: FLOP trainable in 100 days "
    "by the firms headquartered there; p_train_1e26/1e27: 1 in a trial where that run is trainable, else 0; "
    "smuggled_h100e: chips smuggled into China since the start; allocation_used_h100e_tpp: national allocations "
    "used by the capped territories together, cumulative)",
    "unit": "the unit of the values and differences",
    "region": "a bloc, the World, or a compared country (ISO3)",
    "quarter": "the quarter",
    "scenario": "the scenario compared",
    "baseline": "the first scenario, against which every difference is taken",
    "diff_p5, diff_p50, diff_p95": "percentiles over trials of the paired difference, scenario − baseline, in the "
    "same trial (common random numbers)",
    "diff_mean": "the mean paired difference (for a probability: the difference of the two probabilities)",
    "share_sign_holds": "the share of trials whose difference has the sign of diff_p50 (of diff_mean where "
    "diff_p50 is 0; of a zero difference where both are 0)",
}


def headline_keys(arrays: dict[str, np.ndarray]) -> list[str]:
    """The headline outputs of a scenario's arrays, with the thresholds' indicators derived from its runs."""
    keys = [k for k in arrays if k.startswith(HEAD)]
    runs = [k for k in keys if k.split(SEP)[1] == "largest_run_flop"]
    return keys + [k.replace("largest_run_flop", name) for name, _ in THRESHOLDS for k in runs]


def value(arrays: dict[str, np.ndarray], key: str) -> np.ndarray:
    """float64 [T]: the per-trial value of ``key`` (an indicator for a threshold's probability)."""
    for name, th in THRESHOLDS:
        if SEP + name + SEP in key:
            return (arrays[key.replace(name, "largest_run_flop")] >= th).astype(np.float64)
    return np.asarray(arrays[key], dtype=np.float64)


def paired_rows(metric: str, unit: str, region: str, quarter: str, scenario: str, baseline: str, d) -> dict:
    """A row of differences.csv for the per-trial paired differences ``d`` [T]."""
    p5, p50, p95 = np.percentile(d, (5, 50, 95))
    mean = float(np.mean(d))
    sign = np.sign(p50) if p50 != 0 else np.sign(mean)
    return {
        "metric": metric,
        "unit": unit,
        "region": region,
        "quarter": quarter,
        "scenario": scenario,
        "baseline": baseline,
        "diff_p5": float(p5),
        "diff_p50": float(p50),
        "diff_p95": float(p95),
        "diff_mean": mean,
        "share_sign_holds": float(np.mean(np.sign(d) == sign)),
    }


def differences(names: list[str], arrays: list[dict[str, np.ndarray]]) -> pl.DataFrame:
    """The paired differences of every scenario after the first against it, for every headline output they
    share (vectorised over outputs: percentiles of a [T, K] matrix)."""
    base = arrays[0]
    keys = [k for k in headline_keys(base) if all(k in headline_keys(a) for a in arrays[1:])]
    if not keys or len(arrays) < 2:
        return pl.DataFrame(schema={c: pl.Utf8 for c in ("metric", "unit", "region", "quarter", "scenario")})
    b = np.column_stack([value(base, k) for k in keys])
    parts = [k.split(SEP)[1:] for k in keys]
    frames = []
    for name, a in zip(names[1:], arrays[1:]):
        d = np.column_stack([value(a, k) for k in keys]) - b  # [T, K]
        p5, p50, p95 = np.percentile(d, (5, 50, 95), axis=0)
        mean = d.mean(axis=0)
        sign = np.where(p50 != 0, np.sign(p50), np.sign(mean))
        frames.append(
            pl.DataFrame(
                {
                    "metric": [p[0] for p in parts],
                    "unit": [UNITS.get(p[0], "") for p in parts],
                    "region": [p[1] for p in parts],
                    "quarter": [p[2] for p in parts],
                    "scenario": [name] * len(keys),
                    "baseline": [names[0]] * len(keys),
                    "diff_p5": p5,
                    "diff_p50": p50,
                    "diff_p95": p95,
                    "diff_mean": mean,
                    "share_sign_holds": (np.sign(d) == sign[None, :]).mean(axis=0),
                }
            )
        )
    return pl.concat(frames)


def notes() -> str:
    """The definitions of differences.csv's columns, as markdown notes."""
    return "\n".join(f"- `{k}`: {v}" for k, v in COLUMNS.items())
