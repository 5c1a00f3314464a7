"""Global sensitivity analysis (``sim sensitivity``): which uncertain inputs drive the headline outputs.

Each design point is one trial. Its inputs come from a Sobol (Saltelli), Morris or Latin-hypercube design over
the uniforms that the scenario's inverse CDFs turn into draws (problem.py, methods.py), so the distributions
are the ones the scenario declares. The trial's own noise (order draws, AR(1) innovations) is keyed apart from
the design: every row uses the noise of one trial (``noise_trial``), so rows differ only in their inputs.
The rows run in blocks (evaluate.py); SALib computes the indices of each headline output (outputs.py) with
95 % bootstrap intervals; the tidy table has one row per (metric, region, quarter, factor, index).
"""

from __future__ import annotations

import json
import platform
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from .. import __version__
from ..errors import SimInputError
from ..execution import BlockStore
from ..results import git_commit
from ..scenario import Scenario
from ..uncertainty import Design
from .evaluate import evaluate
from .methods import DEFAULT_N, MAIN, METHODS, analyze, check, rows, sample
from .problem import GROUPINGS, NOISE, Problem, problem

__all__ = ["GROUPINGS", "METHODS", "Sensitivity", "sensitivity", "default_quarters"]

SCHEMA = {
    "method": pl.Utf8,
    "metric": pl.Utf8,
    "region": pl.Utf8,
    "quarter": pl.Utf8,
    "factor": pl.Utf8,
    "index": pl.Utf8,
    "estimate": pl.Float64,
    "conf": pl.Float64,
}


@dataclass
class Sensitivity:
    """A sensitivity analysis: what it ran (``about``: the scenario's name, path, settings, regime and seed,
    and where its rows come from), its method, problem, design ([rows, inputs]: uniforms of a design, or the
    inputs a run drew), the headline outputs per row, and the tidy table of indices."""

    about: dict
    method: str
    n: int
    problem: Problem
    design: np.ndarray
    outputs: dict[tuple[str, str, str], np.ndarray]
    indices: pl.DataFrame
    seconds: float
    noise_trial: int = 0  # every row uses this trial's order draws and AR(1) innovations
    store: BlockStore | None = None  # the finished blocks, removed once the analysis is written

    @property
    def source(self) -> str:
        a = self.about
        return (
            f"sim {__version__} · scenario {a['scenario']['name']} · regime {a['regime']} · {self.method}, "
            f"N = {self.n} ({self.design.shape[0]:,} trials, {a['rows']}) · seed {a['seed']}"
        )

    def top(self, metric: str, region: str, quarter: str, k: int = 5) -> pl.DataFrame:
        """The ``k`` factors with the largest main index (MAIN) for one output."""
        return (
            self.indices.filter(
                (pl.col("metric") == metric)
                & (pl.col("region") == region)
                & (pl.col("quarter") == quarter)
                & (pl.col("index") == MAIN[self.method])
            )
            .sort("estimate", descending=True)
            .head(k)
        )

    def write(self, folder, figures: bool = True) -> Path:
        """Write the analysis into a results folder (a sim.folders.RunFolder): indices.parquet/.csv, the
        design with its outputs (design.parquet), manifest.json and a tornado figure per output at the first
        quarter. Written to a temporary folder and renamed at the end."""
        from .figure import write_tornados

        with folder.atomic() as (tmp, final):
            self.indices.write_parquet(tmp / "indices.parquet")
            self.indices.write_csv(tmp / "indices.csv")
            prefix = "u." if self.about["rows"] == "design" else "input."
            cols = {f"{prefix}{n}": self.design[:, i] for i, n in enumerate(self.problem.names)}
            cols.update({"|".join(k): v for k, v in self.outputs.items()})
            pl.DataFrame(cols).write_parquet(tmp / "design.parquet")
            if figures:
                q0 = sorted({k[2] for k in self.outputs})[0]
                keys = [
                    k
                    for k in self.outputs
                    if k[2] == q0 and (k[1] in ("US", "China", "World") or k[0] != "compute_h100e")
                ]
                write_tornados(self.indices, self.method, keys, self.source, tmp)
            manifest = {
                "kind": "sensitivity",
                **self.about,
                "method": self.method,
                "n": self.n,
                "trials": int(self.design.shape[0]),
                "inputs": self.problem.names,
                "groups": self.problem.groups,
                "noise_trial": self.noise_trial,
                "wall_time_s": self.seconds,
                "versions": {"sim": __version__, "python": platform.python_version()},
                "git_commit": git_commit(Path(__file__).parent),
            }
            (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
        if self.store is not None:
            self.store.remove()
        return final


def about(sc: Scenario, rows: str = "design") -> dict:
    """What a manifest says of the analysed scenario."""
    scenario = {"name": sc.name, "path": str(sc.path), "settings": sc.raw}
    return {"scenario": scenario, "regime": sc.regime.name, "seed": sc.seed, "rows": rows}


def tidy(method: str, prob: Problem, X: np.ndarray, values: dict, seed: int) -> pl.DataFrame:
    """The indices of every output in ``values`` ((metric, region, quarter) → [rows]) as the tidy table."""
    table = []
    for (metric, region, quarter), y in values.items():
        for r in analyze(prob, method, X, y, seed):
            table.append({"method": method, "metric": metric, "region": region, "quarter": quarter, **r})
    return pl.DataFrame(table, schema=SCHEMA)


def default_quarters(sc: Scenario) -> list[str]:
    """2027Q4 (where the run has it) and the run's last quarter."""
    labels = sc.labels
    return list(dict.fromkeys([q for q in ("2027Q4",) if q in labels] + [labels[-1]]))


def sensitivity(
    sc: Scenario,
    method: str = "sobol",
    n: int | None = None,
    groups: list[str] = (),
    inputs: list[str] | None = None,
    quarters: list[str] | None = None,
    noise_trial: int = 0,
    block: int = 100,
    progress: bool = False,
    runner=None,
    store: Path | None = None,
    resume: bool = False,
) -> Sensitivity:
    """Global sensitivity of scenario ``sc``'s headline outputs to its uncertain inputs (``method`` in METHODS;
    ``n``: Sobol base samples (a power of 2), Morris trajectories, or delta/PAWN points; ``groups``: GROUPINGS;
    ``inputs``: the inputs to vary (default all, see ``problem``); ``quarters``: labels of the run, default
    2027Q4 and the last). The design's seed is the scenario's; every row uses the noise of ``noise_trial``.
    ``runner``: an executor (sim.execution; default in-process); ``store``: a folder for finished blocks, read
    back when ``resume`` (removed when the analysis is written)."""
    t0 = time.perf_counter()
    if method not in METHODS:
        raise SimInputError("command line", "--method", f"unknown method {method!r} (one of {', '.join(METHODS)})")
    n = DEFAULT_N[method] if n is None else n
    prob = problem(sc, list(groups), inputs)
    check(prob, method, n)
    quarters = default_quarters(sc) if quarters is None else quarters
    for q in quarters:
        if q not in sc.labels:
            raise SimInputError(
                "command line", "--quarters", f"{q!r} is not a quarter of the run ({sc.labels[0]}-{sc.labels[-1]})"
            )
    X = sample(prob, method, n, sc.seed)
    assert X.shape[0] == rows(prob, method, n)
    u = {name: X[:, i] for i, name in enumerate(prob.names) if name != NOISE}  # the noise floor stays out
    design = Design(u, np.full(X.shape[0], noise_trial, np.int64))
    job = {
        "kind": "sensitivity",
        "version": __version__,
        "scenario": sc.raw,
        "seed": sc.seed,
        "method": method,
        "n": n,
        "factors": prob.groups,
        "inputs": prob.names,
        "quarters": quarters,
        "noise_trial": noise_trial,
        "block": block,
    }
    blocks = BlockStore(store, job, resume) if store is not None else None
    values = evaluate(sc, design, quarters, block=block, progress=progress, runner=runner, store=blocks)
    indices = tidy(method, prob, X, values, sc.seed)
    return Sensitivity(about(sc), method, n, prob, X, values, indices, time.perf_counter() - t0, noise_trial, blocks)
