"""Compare scenarios with common random numbers: every scenario runs with the first one's seed and trial
count, so trial i sees the same demand, supply and order draws everywhere and only the rules differ.
Writes ``results/compare/<run-id>/`` with comparison.csv (medians side by side), differences.csv
(paired per-trial differences against the first scenario, p5/p50/p95), revenue_forgone.csv,
comparison.md, manifest.json and figures.

revenue_forgone.parquet (``revenue_forgone``) is long: one row per scenario × vendor × region (the reporting
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
comparison)."""

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
from .errors import ScenarioError  # noqa: E402
from .folders import RunFolder, plan  # noqa: E402
from .invariants import check as check_invariants  # noqa: E402
from .kernel import layout as L  # noqa: E402
from .kernel.layout import CAPPED  # noqa: E402
from .plots import save  # noqa: E402
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
    first_feasible: dict[str, str | None]  # iso3 → first quarter P(1e26) > 50 %
    exhausted: list[str]  # territories whose allocation runs out in > 50 % of trials
    flows: dict[str, np.ndarray]  # flow name → [T] total over the run, world
    china_unmet: np.ndarray  # [T]
    revenue: dict[str, np.ndarray]  # "<vendor>" and "refused_usd_<vendor>" → [T] total over the run, world, USD
    revenue_by: dict[str, np.ndarray]  # region → [T, Q, vendor]: vendor revenue, USD (float64 sums)
    refused_by: dict[str, np.ndarray]  # region → [T, Q, vendor]: refused orders at price (gross), USD


def headline(res: RunResult) -> Headline:
    world, comp, out = res.scenario.world, res.compiled, res.outputs
    idx = world.index()
    compute = out.stock.sum(axis=3, dtype=np.float64)
    regions = {b: m for b, m in metrics.bloc_members(world).items()}
    regions.update({c: [idx[c]] for c in COUNTRIES})
    feas = res.feasibility
    feas = feas.filter((pl.col("view") == "headquarters") & (pl.col("threshold_flop") == metrics.TARGET_FLOP))
    first = {c: feas.filter(pl.col("iso3") == c)["first_quarter_p_over_half"][0] for c in COUNTRIES}
    capped = (comp.regime.policy == CAPPED).any(axis=(0, 2))
    ex = (out.exhaust >= 0).mean(axis=0)
    by = {**regions, "World": list(range(len(world.iso3)))}  # blocs, COUNTRIES, World
    rev, ref = (metrics.group_sums(arr, list(by.values())) for arr in (out.revenue, out.refused))  # [T, R, Q, V]
    return Headline(
        res.scenario.name,
        comp.labels,
        {r: compute[:, m, :].sum(axis=1) for r, m in regions.items()},
        first,
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
                    diffs.append(
                        {
                            "metric": "compute_h100e",
                            "region": region,
                            "quarter": q,
                            "scenario": h.name,
                            "baseline": base.name,
                            "diff_p5": float(np.percentile(d, 5)),
                            "diff_p50": float(np.median(d)),
                            "diff_p95": float(np.percentile(d, 95)),
                        }
                    )
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
            diffs.append(
                {
                    "metric": name,
                    "region": "World",
                    "quarter": "all",
                    "scenario": h.name,
                    "baseline": base.name,
                    "diff_p5": float(np.percentile(d, 5)),
                    "diff_p50": float(np.median(d)),
                    "diff_p95": float(np.percentile(d, 95)),
                }
            )
    side = pl.DataFrame(rows)
    extra = []
    for c in COUNTRIES:
        extra.append(
            {
                "metric": "first_quarter_1e26_feasible",
                "region": c,
                "quarter": "",
                **{h.name: h.first_feasible[c] or "never" for h in heads},
            }
        )
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
        forgone = revenue_forgone(heads)
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
