"""Compare scenarios with common random numbers: every scenario runs with the first one's seed and trial
count, so trial i sees the same demand, supply and order draws everywhere and only the rules differ.
Writes ``results/compare/<run-id>/`` with comparison.csv (medians side by side), differences.csv (paired
per-trial differences against the first scenario for every headline output, quarter and compared country:
sim/compare_differences.py), revenue_forgone.csv, comparison.md (with notes defining every column),
manifest.json, figures, report.html, and each scenario's own results under ``scenarios/<name>/`` (its tables,
figures and report; no per-trial rows).

Training capability (largest trainable run, threshold quarters, the US-China gap): sim/compare_training.py.
Revenue forgone by vendor, region and period: sim/revenue.py."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from . import __version__
from .compare_differences import HEAD, differences, notes, paired_rows
from .compare_headline import COUNTRIES, Headline, headline, headline_arrays  # noqa: F401
from .compare_training import training_rows
from .errors import ScenarioError, SimInputError
from .execution import BlockStore
from .figures.comparison import draw_comparison
from .folders import RunFolder, plan
from .invariants import check as check_invariants
from .metrics.headline import SEP
from .metrics.headline import headline as headline_outputs
from .metrics.streamed import save_npz
from .revenue import revenue_forgone
from .runner import RunResult
from .scenario import Scenario


def _quarters(labels: list[str]) -> list[str]:
    return [q for q in ("2025Q4", "2027Q4") if q in labels] + [labels[-1]]


def tables(heads: list[Headline]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(side-by-side medians, paired differences of vendor revenue against the first scenario)."""
    base = heads[0]
    rows, diffs = [], []
    for region in base.compute:
        for q in _quarters(base.labels):
            qi = base.labels.index(q)
            row = {"metric": "compute_h100e_p50", "region": region, "quarter": q}
            for h in heads:
                row[h.name] = float(np.median(h.compute[region][:, qi]))
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
            diffs.append(paired_rows(name, "USD", "World", "all", h.name, base.name, d))
    side = pl.DataFrame(rows)
    extra = training_rows(heads, _quarters(base.labels))  # sim/compare_training.py
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


def cell(v: str | float | None) -> str:
    """A side-by-side value as printed: millions (M) from 100,000, whole numbers below, text as it is."""
    try:
        x = float(v)
    except (TypeError, ValueError):
        return "" if v is None else str(v)
    return f"{x / 1e6:.2f} M" if abs(x) >= 1e5 else f"{x:,.0f}"


def markdown(side: pl.DataFrame, names: list[str]) -> str:
    """comparison.md: the side-by-side table, then notes defining its columns and differences.csv's."""
    fmt = cell
    lines = ["| metric | region | quarter | " + " | ".join(names) + " |", "|" + "---|" * (3 + len(names))]
    for r in side.iter_rows(named=True):
        lines.append(
            f"| {r['metric']} | {r['region']} | {r['quarter']} | " + " | ".join(fmt(r[n]) for n in names) + " |"
        )
    return "\n".join(lines) + "\n\n" + NOTES + "\n\nThe columns of differences.csv:\n\n" + notes() + "\n"


NOTES = """Notes (every scenario ran with the first one's seed and trials: common random numbers).

- `metric`: `compute_h100e_p50`, the median over trials of installed H100e (dense 16-bit FLOP/s); `<flow>_h100e_\
total_p50`, the median of a flow summed over the run and the world (diverted, smuggled, denied; China's unmet
demand); `revenue_usd_<vendor>_total_p50`, the median vendor revenue over the run, USD, and
`revenue_refused_usd_<vendor>_total_p50` the refused orders at their price; `largest_run_flop_100d`, the largest
run the firms headquartered in the country can train in 100 days, FLOP, median [p5, p95];
`first_quarter_p_over_half_<t>`, the first quarter more than half the trials can train a run of t FLOP;
`crossing_quarter_<t>`, each trial's first such quarter, median [p5, p95] ("never": not by the last quarter);
`china_abroad_run_flop_100d`, the largest run Chinese developers can train abroad (rented clusters, remote
access); `us_china_*_ratio`, the US's value over China's per trial; `us_lead_quarters_<t>`, China's first
crossing quarter less the US's, per trial; `allocations_exhausted`, the territories whose allocation runs out
in more than half the trials.
- `region`: a bloc (US, Tier-1 partners, China, Other Tier 2, Other Tier 3), the World or a country (ISO3).
- `quarter`: the quarter, or "all" for a total over the run.
- One column per scenario, in the order given; M = million."""


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


def scenario_arrays(res, countries: list[str]) -> dict[str, np.ndarray]:
    """A whole run's per-trial arrays for the comparison: Headline's (sim/compare_headline.py) and the headline
    outputs of every quarter for the blocs and ``countries`` (``head|metric|region|quarter``)."""
    a = headline_arrays(res)
    m = res.metrics
    a.update({HEAD + SEP.join(k): v for k, v in headline_outputs(m, m.labels, countries).items()})
    return a


@dataclass(frozen=True)
class ComparisonReducer:
    """``scenario_arrays`` of one block, after checking its invariants (for a streamed scenario)."""

    countries: tuple[str, ...]

    def __call__(self, sc, comp, out) -> dict[str, np.ndarray]:
        res = RunResult(sc.replace(trials=out.stock.shape[0]), comp, out)
        check_invariants(res)
        return scenario_arrays(res, list(self.countries))


def _one(sc: Scenario, countries: list[str], block: int, runner, progress: bool, draw: bool, where: Path):
    """Run one compared scenario (in memory where its outputs fit, else streamed), write its results into
    ``where`` (no per-trial rows) and return its comparison arrays."""
    from .resources import check_memory
    from .results import write_tables
    from .runner import run

    try:
        check_memory(sc, None, sc.path, "run.trials")
        stream = False
    except SimInputError:
        stream = True
    extra = ComparisonReducer(tuple(countries)) if stream else None
    t0 = time.perf_counter()
    res = run(sc, progress, None, block, runner, None, stream, None, extra)
    if res.outputs is not None:
        check_invariants(res)
        arrays = scenario_arrays(res, countries)
    else:
        arrays = res.extra
    write_tables(res, where, figures=draw, wall_s=time.perf_counter() - t0, trials=False)
    return arrays


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
    """Run ``scenarios`` with the first one's seed and trials, one after the other (each in memory where its
    outputs fit, else streamed; its blocks on ``runner``, default in-process), and write and return the comparison
    folder (``where``: a RunFolder planned before the runs, or an output root). ``store``: a folder where each
    finished scenario's results wait, read back when ``resume`` (removed once the comparison is written);
    ``draw``: draw the figures."""
    t0 = time.perf_counter()
    check_comparable(scenarios)
    first = scenarios[0]
    aligned = [s.replace(seed=first.seed, trials=first.trials) for s in scenarios]
    names = [s.name for s in aligned]
    for i, s in enumerate(aligned):
        if s.name in names[:i]:
            raise ScenarioError(s.path, "run.name", f"scenario names must differ, {s.name!r} is given twice")
    known = first.world.index()
    countries = [c for c in dict.fromkeys(c for s in aligned for c in s.countries) if c in known]
    folder = where if isinstance(where, RunFolder) else plan(where, "compare", run_id, first.seed, replace)
    job = {"kind": "compare", "version": __version__, "scenarios": [s.raw for s in aligned], "block": block}
    job.update({"seed": first.seed, "trials": first.trials, "countries": countries})
    blocks = BlockStore(store, job, resume) if store is not None else None
    arrays = []
    with folder.atomic() as (tmp, _):
        for s in aligned:
            sub = tmp / "scenarios" / s.name
            kept = blocks.path / s.name if blocks is not None else None
            if kept is not None and (kept / "arrays.npz").exists():  # finished before the interruption
                shutil.copytree(kept, sub, ignore=shutil.ignore_patterns("arrays.npz"))
                with np.load(kept / "arrays.npz") as z:
                    arrays.append({k: z[k] for k in z.files})
            else:
                arrays.append(_one(s, countries, block, runner, progress, draw, sub))
                if kept is not None:
                    shutil.copytree(sub, kept, dirs_exist_ok=True)
                    save_npz(kept / "arrays.npz", arrays[-1])
            if len(arrays) == 1:
                _check_kept(arrays[0], len(aligned), blocks)
        heads = [Headline.from_arrays(s.name, s.labels, first.world.iso3, a) for s, a in zip(aligned, arrays)]
        side, revenue_diffs = tables(heads)
        diffs = pl.concat([differences(names, arrays), pl.DataFrame(revenue_diffs)], how="diagonal_relaxed")
        side.write_csv(tmp / "comparison.csv")
        diffs.write_csv(tmp / "differences.csv", float_precision=6)
        forgone = revenue_forgone(heads)  # sim/revenue.py
        forgone.write_parquet(tmp / "revenue_forgone.parquet")  # by quarter, year and run
        forgone.filter(~pl.col("quarter").str.contains("Q")).write_csv(tmp / "revenue_forgone.csv", float_precision=3)
        (tmp / "comparison.md").write_text(markdown(side, names))
        names_of = dict(zip(first.world.iso3, first.world.countries["name"]))
        manifest = {
            "kind": "compare",
            "version": __version__,
            "names": names,
            "regimes": [s.regime.name for s in aligned],
            "scenarios": [str(s.path) for s in aligned],
            "seed": first.seed,
            "trials": first.trials,
            "quarters": first.labels,
            "countries": countries,
            "country_names": {c: names_of[c] for c in countries},
            "note": "common random numbers: every scenario ran with the first one's seed and trial count",
            "wall_time_s": time.perf_counter() - t0,
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2))
        if draw:
            draw_comparison(tmp)
        from .report import write_compare_report

        write_compare_report(tmp)
    if blocks is not None:
        blocks.remove()
    return folder.final


def _check_kept(arrays: dict[str, np.ndarray], n: int, blocks) -> None:
    """After the first scenario: refuse a comparison whose kept per-trial arrays would not fit in memory."""
    from .resources import HEADROOM, available_bytes

    need = n * sum(a.nbytes for a in arrays.values())
    have = available_bytes() * HEADROOM
    if need > have:
        if blocks is not None:
            blocks.remove()
        rows = len(next(iter(arrays.values())))
        fits = int(rows * have / need)
        raise SimInputError(
            "command line",
            "--trials",
            f"{n} scenarios' per-trial arrays need ~{need / 2**30:.1f} GiB, more than the {have / 2**30:.1f} GiB "
            f"this machine can give; at most {fits:,} trials fit",
        )
