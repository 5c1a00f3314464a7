"""Tornado figures of sensitivity indices: per headline output, the factors ranked by the method's main index
(Sobol: total index, with the first-order index beside it; Morris: mu*; delta: delta; PAWN: median KS), with
95 % bootstrap intervals where the method gives them, and a source line (version, scenario, method, N, seed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from ..figures.style import MM, OKABE_ITO, TWO_COLUMNS, figure, finish, save, styled  # noqa: E402
from .methods import MAIN  # noqa: E402

TOP = 12  # factors shown per figure
UNITS = {
    "compute_h100e": "installed compute, H100e",
    "largest_run_flop": "largest run in 100 days, FLOP",
    "smuggled_h100e": "smuggled since the start, H100e",
    "allocation_used_h100e_tpp": "national allocations used, H100e (TPP)",
}


@styled
def tornado(indices: pl.DataFrame, method: str, metric: str, region: str, quarter: str, source: str):
    """The tornado figure of one output (rows of ``indices`` for it), or None where it has no indices."""
    main = MAIN[method]
    rows = indices.filter((pl.col("metric") == metric) & (pl.col("region") == region) & (pl.col("quarter") == quarter))
    top = rows.filter(pl.col("index") == main).sort("estimate", descending=True, nulls_last=True).head(TOP)
    if top.height == 0:
        return None
    factors = top["factor"].to_list()[::-1]
    est = top["estimate"].to_numpy()[::-1]
    conf = np.nan_to_num(top["conf"].to_numpy()[::-1], nan=0.0)
    fig, ax = figure(TWO_COLUMNS, (24 + 5.5 * len(factors)) * MM)
    y = np.arange(len(factors))
    if method == "sobol":
        s1 = rows.filter(pl.col("index") == "S1")
        s1 = dict(zip(s1["factor"], s1["estimate"]))
        ax.barh(y + 0.2, est, 0.4, xerr=conf, color=OKABE_ITO["blue"], label="total index (ST)", capsize=2)
        ax.barh(y - 0.2, [s1.get(f, np.nan) for f in factors], 0.4, color=OKABE_ITO["orange"], label="first-order (S1)")
        ax.legend(loc="lower right")
        ax.set_xlabel("Sobol index (share of output variance)")
    else:
        ax.barh(y, est, 0.6, xerr=conf, color=OKABE_ITO["blue"], capsize=2)
        ax.set_xlabel(
            {"morris": "mu* (mean |elementary effect|, output units)", "delta": "delta index"}.get(
                method, "PAWN index (median KS statistic)"
            )
        )
    ax.set_yticks(y, factors)
    ax.set_ylabel("uncertain input (factor)")
    ax.axvline(0, color="0.3", lw=0.6)
    finish(fig, f"What drives {region}: {UNITS.get(metric, metric)}, {quarter}", source)
    return fig


def write_tornados(indices: pl.DataFrame, method: str, outputs: list[tuple[str, str, str]], source: str, outdir: Path):
    """Write a tornado figure (PDF, PNG) and its data (CSV) per output; returns the figure paths (PNG)."""
    paths = []
    for metric, region, quarter in outputs:
        fig = tornado(indices, method, metric, region, quarter, source)
        if fig is None:
            continue
        name = f"tornado_{metric}_{region}_{quarter}".replace(" ", "_")
        rows = indices.filter(
            (pl.col("metric") == metric) & (pl.col("region") == region) & (pl.col("quarter") == quarter)
        )
        save(fig, outdir, name, rows)
        paths.append(outdir / f"{name}.png")
    return paths
