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
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from . import metrics  # noqa: E402
from .compare_training import paired, training_rows  # noqa: E402
from .errors import ScenarioError  # noqa: E402
from .folders import RunFolder, plan  # noqa: E402
from .invariants import check as check_invariants  # noqa: E402
from .kernel import layout as L  # noqa: E402
from .kernel.layout import CAPPED  # noqa: E402
from .plots import save  # noqa: E402
from .revenue import revenue_forgone  # noqa: E402
from .runner import RunResult, run  # noqa: E402
from .scenario import Scenario  # noqa: E402

COUNTRIES = ["CHN", "USA", "ARE", "SAU", "IND", "MYS"]
BLOCS = ["US", "Tier-1 partners", "China", "Other Tier 2", "Other Tier 3"]


@dataclass
class Headline:
    """Per-trial headline numbers of one scenario, enough to compare it with others."""

    name: str
    labels: list[str]
    compute: dict[str, np.ndarray]  # region → [T, Q] installed H100e
    exhausted: list[str]  # territories whose allocation runs out in > 50 % of trials
    flows: dict[str, np.ndarray]  # flow name → [T] total over the run, world
    china_unmet: np.ndarray  # [T]
    revenue: dict[str, np.ndarray]  # "<vendor>" and "refused_usd_<vendor>" → [T] total over the run, world, USD
    revenue_by: dict[str, np.ndarray]  # region → [T, Q, vendor]: vendor revenue, USD (float64 sums)
    refused_by: dict[str, np.ndarray]  # region → [T, Q, vendor]: refused orders at price (gross), USD
    runs: dict[str, np.ndarray]  # iso3 → [T, Q]: largest run trainable in 100 days by headquarters, FLOP
    abroad: np.ndarray  # [T, Q]: largest run Chinese developers can train abroad in 100 days, FLOP


def headline(res: RunResult) -> Headline:
    world, comp, out = res.scenario.world, res.compiled, res.outputs
    idx = world.index()
    compute = out.stock.sum(axis=3, dtype=np.float64)
    regions = {b: m for b, m in metrics.bloc_members(world).items()}
    regions.update({c: [idx[c]] for c in COUNTRIES})
    capped = (comp.regime.policy == CAPPED).any(axis=(0, 2))
    ex = (out.exhaust >= 0).mean(axis=0)
    by = {**regions, "World": list(range(len(world.iso3)))}  # blocs, COUNTRIES, World
    rev, ref = (metrics.group_sums(arr, list(by.values())) for arr in (out.revenue, out.refused))  # [T, R, Q, V]
    return Headline(
        res.scenario.name,
        comp.labels,
        {r: compute[:, m, :].sum(axis=1) for r, m in regions.items()},
        [world.iso3[c] for c in np.flatnonzero(capped & (ex > 0.5))],
        {
            name: out.flows[..., fl].sum(axis=(1, 2), dtype=np.float64)
            for name, fl in (("diverted", L.FL_DIVERTED_IN), ("smuggled", L.FL_SMUGGLED), ("denied", L.FL_DENIED))
        },
        out.flows[..., L.FL_UNMET][:, [idx[c] for c in ("CHN", "HKG", "MAC")], :].sum(axis=(1, 2), dtype=np.float64),
        {
            f"{part}{v.lower()}": arr[..., k].sum(axis=(1, 2), dtype=np.float64)
            for k, v in enumerate(L.VENDORS)
            for part, arr in (("", out.revenue), ("refused_usd_", out.refused))
        },
        {r: rev[:, g] for g, r in enumerate(by)},
        {r: ref[:, g] for g, r in enumerate(by)},
        {c: res.metrics.largest_run_flop[:, idx[c], :] for c in COUNTRIES},
        res.metrics.abroad_run_flop,
    )


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
) -> Path:
    """Run ``scenarios`` with the first one's seed and trials; write and return the comparison folder
    (``where``: a RunFolder planned before the runs, or an output root). Each run's invariants are checked."""
    t0 = time.perf_counter()
    check_comparable(scenarios)
    first = scenarios[0]
    aligned = [s.replace(seed=first.seed, trials=first.trials) for s in scenarios]
    names = [s.name for s in aligned]
    for i, s in enumerate(aligned):
        if s.name in names[:i]:
            raise ScenarioError(s.path, "run.name", f"scenario names must differ, {s.name!r} is given twice")
    folder = where if isinstance(where, RunFolder) else plan(where, "compare", run_id, first.seed, replace)
    heads = []
    for s in aligned:
        res = run(s, progress=progress)
        check_invariants(res)
        heads.append(headline(res))
        del res
    side, diffs = tables(heads)
    with folder.atomic() as (tmp, _):
        side.write_csv(tmp / "comparison.csv")
        diffs.write_csv(tmp / "differences.csv", float_precision=1)
        forgone = revenue_forgone(heads)  # sim/revenue.py
        forgone.write_parquet(tmp / "revenue_forgone.parquet")  # by quarter, year and run
        forgone.filter(~pl.col("quarter").str.contains("Q")).write_csv(tmp / "revenue_forgone.csv", float_precision=3)
        (tmp / "comparison.md").write_text(markdown(side, names))
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
    return folder.final
