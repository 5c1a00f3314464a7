"""``sim sweep``: a grid or a Latin hypercube over regime parameters and scenario levers (points.py), every
point on common random numbers (the scenario's seed and trials: trial i sees the same demand, supply and
orders at every point), run on the execution layer (sim/execution) and reduced to the headline outputs of
every quarter (sim/metrics/headline.py). The tidy table has one row per point × metric × region (blocs, the
World and the scenario's countries) × quarter × statistic (p5, p50, p95, mean; and the probability of a run
of 1e26 FLOP), with its Monte Carlo interval (sim/metrics/mc_error.py)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from .. import __version__
from ..errors import SimInputError
from ..execution import BlockStore, Variant, execute
from ..metrics.headline import SEP, HeadlineReducer
from ..metrics.mc_error import describe, probability
from ..results import git_commit
from ..scenario import Scenario
from .points import apply, points

__all__ = ["Sweep", "sweep", "tidy"]

TARGET_FLOP = 1e26


@dataclass
class Sweep:
    """A sweep's scenario, points (name → value), per-point outputs (``metric|region|quarter`` → [T]) and
    tidy table."""

    scenario: Scenario
    points: list[dict[str, object]]
    outputs: dict[str, dict[str, np.ndarray]]
    table: pl.DataFrame
    seconds: float
    store: BlockStore | None = None

    def write(self, folder, figures: bool = True) -> Path:
        """Write sweep.parquet/.csv, points.csv, manifest.json and figures (sim/sweeps/figures.py) into a
        results folder (sim.folders.RunFolder), atomically; then remove the store of finished blocks."""
        from .figures import write_figures

        with folder.atomic() as (tmp, final):
            self.table.write_parquet(tmp / "sweep.parquet")
            self.table.write_csv(tmp / "sweep.csv", float_precision=6)
            pl.DataFrame(
                [{"point": i, **{k: str(v) for k, v in p.items()}} for i, p in enumerate(self.points)]
            ).write_csv(tmp / "points.csv")
            if figures:
                write_figures(self, tmp)
            sc = self.scenario
            manifest = {
                "kind": "sweep",
                "scenario": {"name": sc.name, "path": str(sc.path), "settings": sc.raw},
                "regime": sc.regime.name,
                "seed": sc.seed,
                "trials": sc.trials,
                "points": self.points,
                "common_random_numbers": "every point runs trials 0..trials-1 of the scenario's seed",
                "wall_time_s": self.seconds,
                "versions": {"sim": __version__},
                "git_commit": git_commit(Path(__file__).parent),
            }
            (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
        if self.store is not None:
            self.store.remove()
        return final


def tidy(pts: list[dict[str, object]], outputs: dict[str, dict[str, np.ndarray]]) -> pl.DataFrame:
    """One row per point × metric × region × quarter × statistic, with the point's values as columns."""
    names = list(dict.fromkeys(k for p in pts for k in p))
    rows = []
    for i, p in enumerate(pts):
        cols = {"point": i, **{n: str(p.get(n)) for n in names}}
        for key, x in outputs[f"p{i}"].items():
            metric, region, quarter = key.split(SEP)
            base = {**cols, "metric": metric, "region": region, "quarter": quarter, "trials": x.size}
            rows += [{**base, **r} for r in describe(x)]
            if metric == "largest_run_flop":
                rows.append({**base, "metric": "p_train_1e26", **probability(x >= TARGET_FLOP)})
    return pl.DataFrame(rows)


def sweep(
    sc: Scenario,
    grid: dict[str, list[object]] | None = None,
    box: dict[str, tuple[float, float]] | None = None,
    lhs: int | None = None,
    block: int = 100,
    progress: bool = False,
    runner=None,
    store: Path | None = None,
    resume: bool = False,
) -> Sweep:
    """Run scenario ``sc`` at every point of the sweep (``grid``: name → values, their product; ``box``: name →
    (lo, hi), ``lhs`` Latin-hypercube points) on common random numbers; ``runner``: an executor (default
    in-process); ``store``: a folder for finished blocks, read back when ``resume``."""
    t0 = time.perf_counter()
    grid, box = grid or {}, box or {}
    pts = points(grid, box, lhs, sc.seed)
    in_range = set(box)
    variants = []
    for i, p in enumerate(pts):
        try:
            variants.append(Variant(f"p{i}", apply(sc, p)))
        except SimInputError as e:
            bad = e.message.partition(":")[0]
            raise SimInputError(e.path, "--range" if bad in in_range else e.field, e.message) from None
    reducer = HeadlineReducer(None, tuple(c for c in sc.countries if c in sc.world.index()))
    job = {"kind": "sweep", "version": __version__, "scenario": sc.raw, "seed": sc.seed, "trials": sc.trials}
    job.update({"points": pts, "block": block, "countries": reducer.countries})
    blocks = BlockStore(store, job, resume) if store is not None else None
    outputs = execute(variants, reducer, block, runner, blocks, progress, f"{sc.name} sweep")
    return Sweep(sc, pts, outputs, tidy(pts, outputs), time.perf_counter() - t0, blocks)
