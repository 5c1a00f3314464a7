"""Paper figures (PDF + PNG) drawn from a run's tables, so ``sim plot <run>`` redraws them from disk:
attainable-compute fan charts, 1e26 feasibility by quarter, quota exhaustion timeline."""

from __future__ import annotations

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


def fan_chart(summary: pl.DataFrame, countries: list[str], labels: list[str], title: str):
    regions = BLOCS + [c for c in countries if c not in ("USA",)]
    ncol = 4
    nrow = -(-len(regions) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.2 * ncol, 2.5 * nrow), sharex=True, squeeze=False)
    x = range(len(labels))
    for ax, region in zip(axes.flat, regions):
        lo, mid, hi = (_series(summary, "compute_h100e", region, q) for q in ("p5", "p50", "p95"))
        ax.fill_between(x, lo, hi, alpha=0.3, color="C0", label="p5-p95")
        ax.plot(x, mid, color="C0", label="median")
        ax.set_yscale("log")
        ax.set_title(region, fontsize=9)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(regions):]:
        ax.axis("off")
    ticks = list(range(0, len(labels), 4))
    for ax in axes[-1]:
        ax.set_xticks(ticks, [labels[i] for i in ticks], rotation=45, fontsize=7)
    axes[0, 0].set_ylabel("installed H100e\n(dense 16-bit FLOP/s)")
    axes[0, 0].legend(fontsize=7)
    fig.suptitle(f"Attainable AI compute - {title}", fontsize=10)
    fig.tight_layout()
    return fig


def feasibility_chart(summary: pl.DataFrame, countries: list[str], labels: list[str], title: str):
    fig, ax = plt.subplots(figsize=(7, 4))
    p = summary.filter(pl.col("metric") == "p_feasible_1e26")
    last = p.filter(pl.col("quarter") == labels[-1]).sort("value", descending=True)
    shown = list(dict.fromkeys(countries + last.filter(pl.col("value") > 0.05)["region"].head(8).to_list()))
    for c in shown:
        ax.plot(range(len(labels)), _series(summary, "p_feasible_1e26", c, "probability"), label=c)
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


def exhaustion_chart(exhaustion: pl.DataFrame, labels: list[str], title: str, top: int = 25):
    ex = exhaustion.filter(pl.col("share_of_trials_exhausted") > 0).head(top)
    fig, ax = plt.subplots(figsize=(7, max(2.5, 0.28 * max(ex.height, 1) + 1.2)))
    pos = {lab: i for i, lab in enumerate(labels)}
    for i, r in enumerate(ex.iter_rows(named=True)):
        lo, mid, hi = (pos[r[k]] for k in ("exhaustion_quarter_p5", "exhaustion_quarter_p50", "exhaustion_quarter_p95"))
        ax.plot([lo, hi], [i, i], color="C3", lw=3, alpha=0.5)
        ax.plot([mid], [i], "o", color="C3")
        ax.text(hi + 0.3, i, f"{r['share_of_trials_exhausted']:.0%}", va="center", fontsize=7)
    ax.set_yticks(range(ex.height), ex["iso3"].to_list(), fontsize=7)
    ax.invert_yaxis()
    ticks = list(range(0, len(labels), 4))
    ax.set_xticks(ticks, [labels[i] for i in ticks])
    ax.set_xlim(-0.5, len(labels) + 1.5)
    ax.set_xlabel("quarter the national allocation is used up (p5-p95, median; share of trials)")
    if ex.height == 0:
        ax.text(0.5, 0.5, "no national allocation is exhausted", transform=ax.transAxes, ha="center")
    ax.set_title(f"Quota exhaustion - {title}", fontsize=10)
    ax.grid(alpha=0.3, axis="x")
    fig.tight_layout()
    return fig


def save(fig, outdir: Path, name: str) -> None:
    """Write ``fig`` as outdir/name.pdf and .png, then close it."""
    for ext in ("pdf", "png"):
        fig.savefig(outdir / f"{name}.{ext}", dpi=150)
    plt.close(fig)


def draw(summary: pl.DataFrame, exhaustion: pl.DataFrame, countries: list[str], labels: list[str], title: str,
         outdir: Path) -> list[Path]:
    outdir.mkdir(parents=True, exist_ok=True)
    save(fan_chart(summary, countries, labels, title), outdir, "compute_fan")
    save(feasibility_chart(summary, countries, labels, title), outdir, "feasibility_1e26")
    save(exhaustion_chart(exhaustion, labels, title), outdir, "quota_exhaustion")
    return sorted(outdir.iterdir())


def write_figures(res, outdir: Path) -> list[Path]:
    sc = res.scenario
    return draw(res.summary, res.exhaustion, sc.countries, res.compiled.labels, sc.name, outdir)


def redraw(run_dir: Path) -> list[Path]:
    """Redraw the figures of a results folder from its files."""
    run_dir = Path(run_dir)
    man = json.loads((run_dir / "manifest.json").read_text())
    summary = pl.read_parquet(run_dir / "summary.parquet")
    exhaustion = pl.read_csv(run_dir / "exhaustion.csv", infer_schema_length=None,
                             schema_overrides={f"exhaustion_quarter_{p}": pl.Utf8 for p in ("p5", "p50", "p95")})
    countries = man["scenario"]["settings"].get("outputs", {}).get("countries", ["USA", "CHN"])
    return draw(summary, exhaustion, countries, man["quarters"], man["scenario"]["name"], run_dir / "figures")
