"""Results folders: ``results/<scenario>/<run-id>/`` with manifest.json, summary.parquet (long: one row
per metric, region, quarter and quantile), summary.csv (blocs, world and the scenario's main countries, one
column per quantile), trials.parquet, feasibility.csv, exhaustion.csv and figures/. Written to a hidden temporary folder
and renamed at the end (sim/folders.py), so a failed run leaves no partial folder."""

from __future__ import annotations

import datetime as dt
import json
import platform
import subprocess
import time
from pathlib import Path

import numba
import numpy as np
import polars as pl

from . import __version__
from .folders import RunFolder, plan
from .invariants import check as check_invariants
from .kernel.layout import FLOW_NOTES
from .runner import RunResult


def git_commit(cwd: Path) -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "") if out.returncode == 0 else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def manifest(res: RunResult, wall_s: float) -> dict:
    sc, comp = res.scenario, res.compiled
    held = [lab for lab, h in zip(comp.labels, comp.regime.held_after_horizon) if h]
    return {
        "scenario": {"name": sc.name, "path": str(sc.path), "settings": sc.raw},
        "regime": {
            "name": sc.regime.name,
            "title": sc.regime.title,
            "file": str(sc.regime.path.name),
            "horizon_end": str(sc.regime.horizon_end) if sc.regime.horizon_end else None,
            "quarters_holding_last_values": held,
            "note": sc.regime.horizon_note if held else "",
        },
        "seed": sc.seed,
        "trials": sc.trials,
        "summary": res.summary_method,
        "quarters": comp.labels,
        "firms": len(comp.firm_names),
        "orders_per_trial": res.orders_per_trial,
        "orders_processed": res.timings["orders_processed"],
        "orders_per_s": res.timings["orders_per_s"],
        "timings_s": {k: v for k, v in res.timings.items() if k.endswith("_s")},
        "threads": res.timings["threads"],
        "wall_time_s": wall_s,
        "versions": {
            "sim": __version__,
            "python": platform.python_version(),
            "numpy": np.__version__,
            "numba": numba.__version__,
            "polars": pl.__version__,
        },
        "git_commit": git_commit(Path(__file__).parent),
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "labels": {
            "inputs": "estimated (sim/assumptions/default.toml, with sources)",
            "rules": "reported (regime file, with legal references)",
            "outputs": "calculated",
        },
        "units": {
            "H100e": "H100-equivalents by dense 16-bit FLOP/s (989.5 TFLOP/s each)",
            "H100e_tpp": "H100-equivalents by TPP (15,832 each), what the rules count",
            "H100e/quarter": "flow during the quarter",
            "H100e outstanding": "stock at quarter end",
        },
        "flows": FLOW_NOTES,
    }


def wide_summary(summary: pl.DataFrame, countries: list[str]) -> pl.DataFrame:
    """The summary of the blocs, the world and the scenario's ``countries``, one column per quantile
    (p5, p50, p95, mean, probability), for spreadsheets; summary.parquet has every territory."""
    keep = summary.filter((pl.col("region_type") != "country") | pl.col("region").is_in(countries))
    return keep.pivot(
        on="quantile", index=["metric", "unit", "region", "region_type", "quarter"], values="value", maintain_order=True
    )


def write_tables(res: RunResult, path: Path, figures: bool = True, wall_s: float = 0.0, trials: bool = True) -> None:
    """Write a run's tables, manifest, figures and report.html into the folder ``path`` (created); ``trials``:
    with trials.parquet (a comparison keeps its scenarios' results without their per-trial rows)."""
    path.mkdir(parents=True, exist_ok=True)
    t0, metrics0 = time.perf_counter(), res.timings.get("metrics_s", 0.0)
    res.summary.write_parquet(path / "summary.parquet")
    wide_summary(res.summary, res.scenario.countries).write_csv(
        path / "summary.csv", float_scientific=True, float_precision=5
    )
    if trials:
        res.trials.write_parquet(path / "trials.parquet")
    res.feasibility.write_csv(path / "feasibility.csv", float_precision=4)
    res.exhaustion.write_csv(path / "exhaustion.csv", float_precision=4)
    from .figures.data import rules_table

    rules_table(res.compiled).write_csv(path / "rules.csv")
    res.timings["write_s"] = time.perf_counter() - t0 - (res.timings.get("metrics_s", 0.0) - metrics0)
    (path / "manifest.json").write_text(json.dumps(manifest(res, wall_s), indent=2, default=str))
    if figures:
        from .figures import redraw

        redraw(path)
    from .report import write_run_report

    write_run_report(path)


def write_run(
    res: RunResult,
    where: RunFolder | str | Path = "results",
    run_id: str | None = None,
    figures: bool = True,
    wall_s: float = 0.0,
    replace: bool = False,
) -> Path:
    """Check the run's invariants, then write its results folder atomically (``write_tables``); returns its
    path. ``where`` is a :class:`~sim.folders.RunFolder` planned before the run, or an output root (planned
    here)."""
    if res.outputs is not None:  # a streamed run's blocks were checked as they ran
        check_invariants(res)
    folder = (
        where if isinstance(where, RunFolder) else plan(where, res.scenario.name, run_id, res.scenario.seed, replace)
    )
    with folder.atomic() as (tmp, _):
        write_tables(res, tmp, figures, wall_s)
    return folder.final
