"""Revenue forgone in a comparison (``sim compare`` writes revenue_forgone.parquet and .csv).

revenue_forgone.parquet is long: one row per scenario × vendor × region (the reporting
blocs, the countries of ``COUNTRIES`` and the World) × period (each quarter's label, each calendar year's sum,
then "all", the sum over the run; a year the run covers only in part sums its quarters in the run), with
p5/p50/p95 over trials of
- gross_usd: the scenario's refused orders at the chip's sourced price (some of those buyers may have been
  served by another chip or vendor, so it can overstate what the vendor loses);
- net_usd: the paired per-trial difference, baseline revenue − scenario revenue (baseline: the first
  scenario, normally no_controls), so positive = revenue forgone relative to the baseline (the opposite
  sign of differences.csv, which is scenario − baseline); net_share_positive is the share of trials with
  net > 0.
The first scenario's rows give its own gross; its baseline and net columns are empty. USD values are
rounded to whole dollars, shares to 3 decimals. Every row is written, zeros included (a vendor that sells
nowhere reads 0). revenue_forgone.csv holds its yearly and "all" rows (small enough for a committed reference
comparison).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from .kernel import layout as L

if TYPE_CHECKING:
    from .comparison import Headline


def revenue_forgone(heads: list[Headline]) -> pl.DataFrame:
    """Gross and net revenue forgone per scenario × vendor × region × quarter (and "all"), long; see the
    module docstring. Net is baseline (``heads[0]``) revenue − scenario revenue, paired per trial."""
    base = heads[0]
    years = list(dict.fromkeys(lab[:4] for lab in base.labels))
    regions, quarters = list(base.revenue_by), [*base.labels, *years, "all"]
    in_year = np.array([[lab.startswith(y) for lab in base.labels] for y in years], dtype=np.float64)  # [Y, Q]

    def cube(parts: dict[str, np.ndarray]) -> np.ndarray:  # region → [T, Q, V] ⇒ [T, V, R, Q + Y + 1]
        x = np.stack([parts[r] for r in regions], axis=1)
        yearly = np.einsum("trqv,yq->tryv", x, in_year)
        x = np.concatenate([x, yearly, x.sum(axis=2, keepdims=True)], axis=2)
        return np.moveaxis(x, 3, 1)

    def usd(x: np.ndarray) -> np.ndarray:  # [3, V, R, Q + Y + 1] percentiles → whole dollars, flat per row
        return np.rint(x).astype(np.int64).reshape(3, -1)

    V, R, Q1 = len(L.VENDORS), len(regions), len(quarters)
    keys = {
        "vendor": np.repeat(L.VENDORS, R * Q1),
        "region": np.tile(np.repeat(regions, Q1), V),
        "quarter": np.tile(quarters, V * R),
    }
    base_rev, frames = cube(base.revenue_by), []
    for h in heads:
        gross = usd(np.percentile(cube(h.refused_by), [5, 50, 95], axis=0))
        cols = {
            "scenario": [h.name] * gross.shape[1],
            "baseline": [None if h is base else base.name] * gross.shape[1],
            **keys,
            **{f"gross_usd_{p}": gross[i] for i, p in enumerate(("p5", "p50", "p95"))},
        }
        if h is base:
            net = [[None] * gross.shape[1]] * 3
            share = [None] * gross.shape[1]
        else:
            d = base_rev - cube(h.revenue_by)
            net = usd(np.percentile(d, [5, 50, 95], axis=0))
            share = np.round((d > 0).mean(axis=0).ravel(), 3)
        cols.update({f"net_usd_{p}": pl.Series(net[i], dtype=pl.Int64) for i, p in enumerate(("p5", "p50", "p95"))})
        cols["net_share_positive"] = pl.Series(share, dtype=pl.Float64)
        frames.append(pl.DataFrame(cols, schema_overrides={"baseline": pl.Utf8}))
    return pl.concat(frames)
