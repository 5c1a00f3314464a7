"""Figures of a sweep: for each swept name, the headline outputs against its value (median with the 5-95 %
band over trials; other names at each of their values as separate lines), and with two or more numeric names
a heat map of the median over the first two. Each figure is written as PDF and PNG with its data as CSV and
a source line (version, scenario, regime, seed, trials)."""

from __future__ import annotations

from pathlib import Path

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from .. import __version__  # noqa: E402
from ..figures.style import LINE_COLOURS, MM, TWO_COLUMNS, figure, finish, save, styled  # noqa: E402

OUTPUTS = (  # (metric, region, axis label)
    ("compute_h100e", "China", "China's installed compute, H100e"),
    ("largest_run_flop", "China", "China's largest run in 100 days, FLOP"),
    ("compute_h100e", "Other Tier 2", "Other Tier 2 installed compute, H100e"),
    ("smuggled_h100e", "China", "smuggled into China since the start, H100e"),
)
COLOURS = LINE_COLOURS


def _numeric(col: pl.Series) -> bool:
    try:
        col.cast(pl.Float64)
    except pl.exceptions.InvalidOperationError:
        return False
    return True


def _source(sw) -> str:
    sc = sw.scenario
    return f"sim {__version__} · scenario {sc.name} · regime {sc.regime.name} · seed {sc.seed} · {sc.trials} trials"


@styled
def line_figure(sw, name: str, quarter: str):
    """The headline outputs at ``quarter`` against ``name`` (median, 5-95 % band), one line per value of the
    other names."""
    t = sw.table.filter((pl.col("quarter") == quarter) & pl.col("statistic").is_in(["p5", "p50", "p95"]))
    others = [c for c in sw.points[0] if c != name]
    fig, axes = figure(TWO_COLUMNS, 62 * MM, 1, len(OUTPUTS), squeeze=False)
    for ax, (metric, region, label) in zip(axes[0], OUTPUTS):
        s = t.filter((pl.col("metric") == metric) & (pl.col("region") == region))
        groups = s.group_by(others, maintain_order=True) if others else [((), s)]
        for k, (key, g) in enumerate(groups):
            wide = g.pivot(on="statistic", index=name, values="value").with_columns(pl.col(name).cast(pl.Float64))
            wide = wide.sort(name)
            x = wide[name].to_numpy()
            c = COLOURS[k % len(COLOURS)]
            tag = ", ".join(f"{o}={v}" for o, v in zip(others, key if isinstance(key, tuple) else (key,)))
            ax.plot(x, wide["p50"].to_numpy(), "o-", color=c, ms=3, label=tag or None)
            ax.fill_between(x, wide["p5"].to_numpy(), wide["p95"].to_numpy(), color=c, alpha=0.15, lw=0)
        ax.set_xlabel(name)
        ax.set_ylabel(label)
        ax.ticklabel_format(axis="both", style="sci", scilimits=(-3, 4))
    if others:
        axes[0][0].legend()
    finish(fig, f"Sweep of {name}: median and 5-95 % of trials, {quarter}", _source(sw))
    return fig


@styled
def heat_map(sw, a: str, b: str, quarter: str):
    """China's median installed compute at ``quarter`` over names ``a`` (x) and ``b`` (y)."""
    t = sw.table.filter(
        (pl.col("quarter") == quarter)
        & (pl.col("statistic") == "p50")
        & (pl.col("metric") == "compute_h100e")
        & (pl.col("region") == "China")
    )
    t = (
        t.group_by([a, b])
        .agg(pl.col("value").mean())
        .with_columns(pl.col(a).cast(pl.Float64), pl.col(b).cast(pl.Float64))
    )
    xs, ys = sorted(set(t[a].to_list())), sorted(set(t[b].to_list()))
    z = np.full((len(ys), len(xs)), np.nan)
    for r in t.iter_rows(named=True):
        z[ys.index(r[b]), xs.index(r[a])] = r["value"]
    fig, ax = figure(120 * MM, 95 * MM)
    im = ax.imshow(z, origin="lower", aspect="auto", cmap="viridis")
    ax.set_xticks(range(len(xs)), [f"{x:.3g}" for x in xs], rotation=45)
    ax.set_yticks(range(len(ys)), [f"{y:.3g}" for y in ys])
    ax.set_xlabel(a)
    ax.set_ylabel(b)
    ax.grid(False)
    fig.colorbar(im, ax=ax, label=f"China's installed compute {quarter}, H100e (median)")
    finish(fig, f"China's installed compute over {a} and {b}", _source(sw))
    return fig, t


def write_figures(sw, outdir: Path) -> list[Path]:
    """Every figure of a sweep into ``outdir`` (PDF, PNG, CSV); returns the PNG paths."""
    quarter = sw.scenario.labels[-1]
    names = list(sw.points[0])
    numeric = [n for n in names if _numeric(sw.table[n])]
    paths = []
    for n in numeric:
        fig = line_figure(sw, n, quarter)
        stem = f"sweep_{n}".replace(".", "_")
        save(fig, outdir, stem, sw.table.filter(pl.col("quarter") == quarter))
        paths.append(outdir / f"{stem}.png")
    if len(numeric) >= 2:
        fig, data = heat_map(sw, numeric[0], numeric[1], quarter)
        stem = f"heatmap_{numeric[0]}_{numeric[1]}".replace(".", "_")
        save(fig, outdir, stem, data)
        paths.append(outdir / f"{stem}.png")
    return paths
