"""Paper figures (PDF + PNG) drawn from a run's tables, so ``sim plot <run>`` redraws them from disk:
attainable-compute fan charts, 1e26 feasibility by quarter, quota exhaustion timeline. Drawn with
matplotlib's Agg backend, in this process.

- ``write_figures(res, outdir)``: the figures of a RunResult (after its tables are written);
- ``redraw(run_dir)``: the figures of a results folder, from its summary.parquet and exhaustion.csv;
- ``draw(summary, exhaustion, countries, labels, title, outdir)``: both use it.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import polars as pl  # noqa: E402

BLOCS = ["US", "Tier-1 partners", "China", "Other Tier 2", "Other Tier 3"]


def _series(summary: pl.DataFrame, metric: str, region: str, quantile: str) -> list[float]:
    s = summary.filter((pl.col("metric") == metric) & (pl.col("region") == region) & (pl.col("quantile") == quantile))
    return s["value"].to_list()


def fan_data(summary: pl.DataFrame, countries: list[str]) -> dict[str, list[list[float]]]:
    """Region → [p5, p50, p95] series of installed H100e, for the fan chart's panels."""
    regions = BLOCS + [c for c in countries if c not in ("USA",)]
    quantiles = ("p5", "p50", "p95")
    s = summary.filter(
        (pl.col("metric") == "compute_h100e") & pl.col("region").is_in(regions) & pl.col("quantile").is_in(quantiles)
    )
    return {r: [_series(s, "compute_h100e", r, q) for q in quantiles] for r in regions}


def fan_chart(data: dict[str, list[list[float]]], labels: list[str], title: str):
    """Attainable compute fan chart from ``fan_data``."""
    regions = list(data)
    ncol = 4
    nrow = -(-len(regions) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.2 * ncol, 2.5 * nrow), sharex=True, squeeze=False)
    x = range(len(labels))
    for ax, region in zip(axes.flat, regions):
        lo, mid, hi = data[region]
        ax.fill_between(x, lo, hi, alpha=0.3, color="C0", label="p5-p95")
        ax.plot(x, mid, color="C0", label="median")
        ax.set_yscale("log")
        ax.set_title(region, fontsize=9)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(regions) :]:
        ax.axis("off")
    ticks = list(range(0, len(labels), 4))
    for ax in axes[-1]:
        ax.set_xticks(ticks, [labels[i] for i in ticks], rotation=45, fontsize=7)
    axes[0, 0].set_ylabel("installed H100e\n(dense 16-bit FLOP/s)")
    axes[0, 0].legend(fontsize=7)
    fig.suptitle(f"Attainable AI compute - {title}", fontsize=10)
    fig.tight_layout()
    return fig


def feasibility_data(summary: pl.DataFrame, countries: list[str], labels: list[str]) -> dict[str, list[float]]:
    """Territory → P(1e26 feasible) by quarter: ``countries`` and the top 8 over 5 % at the last quarter."""
    p = summary.filter(pl.col("metric") == "p_train_1e26")
    last = p.filter(pl.col("quarter") == labels[-1]).sort("value", descending=True)
    shown = list(dict.fromkeys(countries + last.filter(pl.col("value") > 0.05)["region"].head(8).to_list()))
    return {c: _series(p, "p_train_1e26", c, "probability") for c in shown}


def feasibility_chart(data: dict[str, list[float]], labels: list[str], title: str):
    """1e26 feasibility by quarter from ``feasibility_data``."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for c, series in data.items():
        ax.plot(range(len(labels)), series, label=c)
    ax.axhline(0.5, color="grey", lw=0.8, ls="--")
    ticks = list(range(0, len(labels), 4))
    ax.set_xticks(ticks, [labels[i] for i in ticks])
    ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel("P(largest firm can train 1e26 FLOP)")
    ax.set_title(f"1e26-FLOP training feasibility - {title}", fontsize=10)
    ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def exhaustion_rows(exhaustion: pl.DataFrame, top: int = 25) -> list[dict]:
    """The ``top`` rows of the exhaustion table with any trial exhausting the allocation."""
    return list(exhaustion.filter(pl.col("share_of_trials_exhausted") > 0).head(top).iter_rows(named=True))


def exhaustion_chart(rows: list[dict], labels: list[str], title: str):
    """Quota exhaustion timeline from ``exhaustion_rows``."""
    fig, ax = plt.subplots(figsize=(7, max(2.5, 0.28 * max(len(rows), 1) + 1.2)))
    pos = {lab: i for i, lab in enumerate(labels)}
    for i, r in enumerate(rows):
        lo, mid, hi = (pos[r[k]] for k in ("exhaustion_quarter_p5", "exhaustion_quarter_p50", "exhaustion_quarter_p95"))
        ax.plot([lo, hi], [i, i], color="C3", lw=3, alpha=0.5)
        ax.plot([mid], [i], "o", color="C3")
        ax.text(hi + 0.3, i, f"{r['share_of_trials_exhausted']:.0%}", va="center", fontsize=7)
    ax.set_yticks(range(len(rows)), [r["iso3"] for r in rows], fontsize=7)
    ax.invert_yaxis()
    ticks = list(range(0, len(labels), 4))
    ax.set_xticks(ticks, [labels[i] for i in ticks])
    ax.set_xlim(-0.5, len(labels) + 1.5)
    ax.set_xlabel("quarter the national allocation is used up (p5-p95, median; share of trials)")
    if not rows:
        ax.text(0.5, 0.5, "no national allocation is exhausted", transform=ax.transAxes, ha="center")
    ax.set_title(f"Quota exhaustion - {title}", fontsize=10)
    ax.grid(alpha=0.3, axis="x")
    fig.tight_layout()
    return fig


def save(fig, outdir: Path, name: str) -> None:
    """Write ``fig`` as outdir/name.pdf (vector) and .png (150 dpi, 256-colour palette: a third of the
    size of full colour, so committed reference figures stay small), then close it."""
    from PIL import Image

    fig.savefig(outdir / f"{name}.pdf")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=150)
    buf.seek(0)
    with Image.open(buf) as im:
        im.convert("RGB").quantize(256).save(outdir / f"{name}.png", optimize=True)
    plt.close(fig)


def draw(
    summary: pl.DataFrame, exhaustion: pl.DataFrame, countries: list[str], labels: list[str], title: str, outdir: Path
) -> list[Path]:
    """Draw the three figures into ``outdir`` (created if needed): compute_fan, feasibility_1e26 and
    quota_exhaustion, each as PDF and PNG; returns the folder's files, sorted."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    save(fan_chart(fan_data(summary, countries), labels, title), outdir, "compute_fan")
    save(feasibility_chart(feasibility_data(summary, countries, labels), labels, title), outdir, "feasibility_1e26")
    save(exhaustion_chart(exhaustion_rows(exhaustion), labels, title), outdir, "quota_exhaustion")
    return sorted(outdir.iterdir())


def write_figures(res, outdir: Path) -> list[Path]:
    """Draw the figures of RunResult ``res`` into ``outdir`` from its summary and exhaustion tables."""
    sc = res.scenario
    return draw(res.summary, res.exhaustion, sc.countries, res.compiled.labels, sc.name, outdir)


def redraw(run_dir: Path) -> list[Path]:
    """Redraw the figures of a results folder from its files."""
    run_dir = Path(run_dir)
    man = json.loads((run_dir / "manifest.json").read_text())
    summary = pl.read_parquet(run_dir / "summary.parquet")
    exhaustion = pl.read_csv(
        run_dir / "exhaustion.csv",
        infer_schema_length=None,
        schema_overrides={f"exhaustion_quarter_{p}": pl.Utf8 for p in ("p5", "p50", "p95")},
    )
    countries = man["scenario"]["settings"].get("outputs", {}).get("countries", ["USA", "CHN"])
    return draw(summary, exhaustion, countries, man["quarters"], man["scenario"]["name"], run_dir / "figures")
