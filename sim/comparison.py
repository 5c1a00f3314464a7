"""Compare scenarios with common random numbers: every scenario runs with the first one's seed and trial
count, so trial i sees the same demand, supply and order draws everywhere and only the rules differ.
Writes ``results/compare/<run-id>/`` with comparison.csv (medians side by side), differences.csv
(paired per-trial differences against the first scenario, p5/p50/p95), revenue_forgone.csv,
comparison.md, manifest.json and figures.

Training capability (largest trainable run, threshold quarters, the US-China gap): sim/compare_training.py.
Revenue forgone by vendor, region and period: sim/revenue.py."""

from __future__ import annotations

import json
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from . import __version__  # noqa: E402
from .compare_headline import COUNTRIES, CompareReducer, Headline, headline  # noqa: E402,F401
from .compare_training import paired, training_rows  # noqa: E402
from .errors import ScenarioError  # noqa: E402
from .execution import BlockStore, Variant, execute  # noqa: E402
from .figures.style import save  # noqa: E402
from .folders import RunFolder, plan  # noqa: E402
from .revenue import revenue_forgone  # noqa: E402
from .scenario import Scenario  # noqa: E402

BLOCS = ["US", "Tier-1 partners", "China", "Other Tier 2", "Other Tier 3"]


def _quarters(labels: list[str]) -> list[str]:
    return [q for q in ("2025Q4", "2027Q4") if q in labels] + [labels[-1]]


def tables(heads: list[Headline]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(side-by-side medians, paired differences against the first scenario)."""
    base = heads[0]
    rows, diffs = [], []
    for region in base.compute:
        for q in _quarters(base.labels):
            qi = base.labels.index(q)
            row = {"metric": "compute_h100e_p50", "region": region, "quarter": q}
            for h in heads:
                row[h.name] = float(np.median(h.compute[region][:, qi]))
                if h is not base:
                    d = h.compute[region][:, qi] - base.compute[region][:, qi]
                    diffs.append(paired("compute_h100e", region, q, h.name, base.name, d))
            rows.append(row)
    for flow in base.flows:
        row = {"metric": f"{flow}_h100e_total_p50", "region": "World", "quarter": "all"}
        row.update({h.name: float(np.median(h.flows[flow])) for h in heads})
        rows.append(row)
    row = {"metric": "unmet_h100e_total_p50", "region": "China", "quarter": "all"}
    row.update({h.name: float(np.median(h.china_unmet)) for h in heads})
    rows.append(row)
    for key in base.revenue:  # vendor revenue over the run; against no_controls the paired difference is the net
        name = f"revenue_{key}" if key.startswith("refused_usd_") else f"revenue_usd_{key}"
        row = {"metric": f"{name}_total_p50", "region": "World", "quarter": "all"}  # revenue forgone
        row.update({h.name: float(np.median(h.revenue[key])) for h in heads})
        rows.append(row)
        for h in heads[1:]:
            d = h.revenue[key] - base.revenue[key]
            diffs.append(paired(name, "World", "all", h.name, base.name, d))
    side = pl.DataFrame(rows)
    extra, run_diffs = training_rows(heads, _quarters(base.labels))  # sim/compare_training.py
    diffs += run_diffs
    extra.append(
        {
            "metric": "allocations_exhausted",
            "region": "",
            "quarter": "",
            **{h.name: f"{len(h.exhausted)}: {' '.join(h.exhausted)}" if h.exhausted else "none" for h in heads},
        }
    )
    side = pl.concat(
        [side.with_columns(pl.col(h.name).cast(pl.Utf8) for h in heads), pl.DataFrame(extra)], how="vertical_relaxed"
    )
    return side, pl.DataFrame(diffs)


def markdown(side: pl.DataFrame, names: list[str]) -> str:
    def fmt(v: str | None) -> str:
        try:
            x = float(v)
        except (TypeError, ValueError):
            return v or ""
        return f"{x / 1e6:.2f} M" if abs(x) >= 1e5 else f"{x:,.0f}"

    lines = ["| metric | region | quarter | " + " | ".join(names) + " |", "|" + "---|" * (3 + len(names))]
    for r in side.iter_rows(named=True):
        lines.append(
            f"| {r['metric']} | {r['region']} | {r['quarter']} | " + " | ".join(fmt(r[n]) for n in names) + " |"
        )
    return "\n".join(lines) + "\n"


def _quarter_axis(ax, labels: list[str], title: str) -> None:
    ticks = list(range(0, len(labels), 4))
    ax.set_xticks(ticks, [labels[i] for i in ticks], fontsize=7)
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)


def _save_panels(fig, axes, outdir: Path, name: str) -> None:
    axes[0].legend(fontsize=6)
    fig.tight_layout()
    save(fig, outdir, name)


def figures(heads: list[Headline], outdir: Path) -> None:
    outdir.mkdir(parents=True, exist_ok=True)
    labels = heads[0].labels
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for ax, region in zip(axes, ("China", "Other Tier 2", "US")):
        for h in heads:
            ax.plot(range(len(labels)), np.median(h.compute[region], axis=0), label=h.name)
        ax.set_yscale("log")
        _quarter_axis(ax, labels, f"{region}: median installed H100e")
    _save_panels(fig, axes, outdir, "compare_compute")
    if len(heads) > 1:
        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        for ax, region in zip(axes, ("China", "Other Tier 2")):
            for h in heads[1:]:
                d = h.compute[region] - heads[0].compute[region]
                x = range(len(labels))
                ax.fill_between(x, np.percentile(d, 5, axis=0), np.percentile(d, 95, axis=0), alpha=0.15)
                ax.plot(x, np.median(d, axis=0), label=h.name)
            ax.axhline(0, color="grey", lw=0.8)
            ax.set_yscale("symlog", linthresh=1e4)
            _quarter_axis(ax, labels, f"{region}: paired difference vs {heads[0].name} (H100e, p5-p95)")
        _save_panels(fig, axes, outdir, "compare_difference")


def check_comparable(scenarios: list[Scenario]) -> None:
    """Refuse a comparison whose scenarios differ in anything but the rules (regime, its inputs and
    overrides): the same firms, quarters and assumptions are what make the draws common."""
    first = scenarios[0]
    for sc in scenarios[1:]:
        for fld, a, b in (
            ("run.start", first.start, sc.start),
            ("run.quarters", first.quarters, sc.quarters),
            ("firms.total", first.firms_total, sc.firms_total),
            ("firms.buyers_per_data_centre", first.buyers_per_data_centre, sc.buyers_per_data_centre),
            ("firms.orders_per_quarter", first.orders_per_quarter, sc.orders_per_quarter),
            ("assumptions", first.assumptions.dists, sc.assumptions.dists),
        ):
            if a != b:
                raise ScenarioError(
                    sc.path, fld, f"differs from {first.path.name}; a comparison may differ only in the regime"
                )
        if not sc.world.countries.equals(first.world.countries):
            raise ScenarioError(sc.path, "world", f"differs from {first.path.name}")


def compare(
    scenarios: list[Scenario],
    where: RunFolder | str | Path = "results",
    run_id: str | None = None,
    progress: bool = False,
    replace: bool = False,
    runner=None,
    block: int = 100,
    store: Path | None = None,
    resume: bool = False,
    draw: bool = True,
) -> Path:
    """Run ``scenarios`` with the first one's seed and trials; write and return the comparison folder
    (``where``: a RunFolder planned before the runs, or an output root). The scenarios run as blocks of
    ``block`` trials on the execution layer (``runner``: an executor, default in-process), each block's
    invariants checked and reduced to its headline numbers where it ran; ``store``: a folder for finished
    blocks, read back when ``resume`` (removed once the comparison is written); ``draw``: draw the figures."""
    t0 = time.perf_counter()
    check_comparable(scenarios)
    first = scenarios[0]
    aligned = [s.replace(seed=first.seed, trials=first.trials) for s in scenarios]
    names = [s.name for s in aligned]
    for i, s in enumerate(aligned):
        if s.name in names[:i]:
            raise ScenarioError(s.path, "run.name", f"scenario names must differ, {s.name!r} is given twice")
    folder = where if isinstance(where, RunFolder) else plan(where, "compare", run_id, first.seed, replace)
    variants = [Variant(s.name, s) for s in aligned]
    job = {"kind": "compare", "version": __version__, "scenarios": [s.raw for s in aligned], "block": block}
    job.update({"seed": first.seed, "trials": first.trials})
    blocks = BlockStore(store, job, resume) if store is not None else None
    arrays = execute(variants, CompareReducer(), block, runner, blocks, progress, "compare")
    iso3 = first.world.iso3
    heads = [Headline.from_arrays(s.name, s.labels, iso3, arrays[s.name]) for s in aligned]
    side, diffs = tables(heads)
    with folder.atomic() as (tmp, _):
        side.write_csv(tmp / "comparison.csv")
        diffs.write_csv(tmp / "differences.csv", float_precision=1)
        forgone = revenue_forgone(heads)  # sim/revenue.py
        forgone.write_parquet(tmp / "revenue_forgone.parquet")  # by quarter, year and run
        forgone.filter(~pl.col("quarter").str.contains("Q")).write_csv(tmp / "revenue_forgone.csv", float_precision=3)
        (tmp / "comparison.md").write_text(markdown(side, names))
        if draw:
            figures(heads, tmp / "figures")
        (tmp / "manifest.json").write_text(
            json.dumps(
                {
                    "scenarios": [str(s.path) for s in aligned],
                    "seed": first.seed,
                    "trials": first.trials,
                    "note": "common random numbers: every scenario ran with the first one's seed and trial count",
                    "wall_time_s": time.perf_counter() - t0,
                },
                indent=2,
            )
        )
    if blocks is not None:
        blocks.remove()
    return folder.final
