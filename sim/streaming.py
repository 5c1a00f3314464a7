"""A run summarised as its blocks of trials finish, for runs too large to keep (100,000 trials of the default
scenario would need ~120 GiB of kernel outputs): memory is bounded by the summary's cells and the per-trial
tables, not by the kernel's outputs of every trial.

Each block runs where its executor puts it (sim/execution), has its invariants checked there, and is reduced
to what the run's tables need of it (``StreamReducer``): its summary values (float32), its probabilities'
hit counts, and its rows of the feasibility, exhaustion and trials tables. The blocks are then added in trial
order (``StreamedRun``): the summary by sim/metrics/streamed.py (means and probabilities exact, quantiles
bracketed within the bins of a pilot's order statistics), the other tables exactly as in memory. With a store,
the state is saved every ``CHECKPOINT_S`` seconds (each state in a folder of its own, named by state.json once
whole), so an interrupted run resumes (``--resume``) from the last one and gives the same numbers.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from .metrics.run import Metrics
from .metrics.streamed import PILOT_TRIALS, StreamedSummary, cut_ranks, save_npz
from .metrics.summary import long_table, summary_specs
from .metrics.tables import exhaustion_data, exhaustion_table, feasibility_data, feasibility_table, merge, trials_table

CHECKPOINT_S = 300.0  # seconds of work between saved states


@dataclass(frozen=True)
class StreamReducer:
    """One block's kernel outputs → what a streamed run keeps of them (checked against the run's invariants
    first, where the block ran); ``extra``: a reducer whose per-trial arrays are kept beside (a comparison's)."""

    extra: object = None

    def __call__(self, sc, comp, out) -> dict:
        from .invariants import check
        from .runner import RunResult

        check(RunResult(sc, comp, out))
        m = Metrics(out, sc.world, comp.labels, comp.draws, comp.regime, comp.abroad, comp.first_trial)
        values, layout = [], []
        for spec in summary_specs(m):
            for src in spec.sources:
                v = src.values()
                values.append(v.sum(axis=0, dtype=np.int64) if spec.probability else v.astype(np.float32))
            layout.append((spec.metric, spec.unit, spec.where, len(spec.sources), spec.probability))
        return {
            "summary": values,
            "layout": layout,
            "feasibility": feasibility_data(m),
            "exhaustion": exhaustion_data(m),
            "trials": trials_table(m),
            "extra": {} if self.extra is None else self.extra(sc, comp, out),
        }


class StreamedRun:
    """The tables of a run from its blocks, added in trial order (``add``)."""

    def __init__(self, pilot: int = PILOT_TRIALS):
        self.pilot = pilot
        self.summary: StreamedSummary | None = None
        self.layout: list | None = None
        self.feasibility: list[dict] = []
        self.exhaustion: list[dict] = []
        self.trials: list[pl.DataFrame] = []
        self.resumed_from = 0  # trials of a saved state this run started from
        self.extra: list[dict] = []  # the extra reducer's per-trial arrays of each block

    @property
    def T(self) -> int:
        return 0 if self.summary is None else self.summary.T

    def add(self, block: dict) -> None:
        if self.summary is None:
            self.layout = block["layout"]
            probability = [p for *_, n, p in self.layout for _ in range(n)]
            shapes = [None if p else tuple(v.shape[1:]) for p, v in zip(probability, block["summary"])]
            self.summary = StreamedSummary(shapes, self.pilot)
        self.summary.add(block["summary"])
        self.feasibility.append(block["feasibility"])
        self.exhaustion.append(block["exhaustion"])
        self.trials.append(block["trials"])
        self.extra.append(block.get("extra", {}))

    def tables(self, m_world, labels, thresholds, capped, regions) -> dict[str, pl.DataFrame]:
        """The run's summary, feasibility, exhaustion and trials tables."""
        stats = iter(self.summary.statistics())
        parts = []
        for metric, unit, where, n, _ in self.layout:
            parts.append((metric, unit, where, np.concatenate([next(stats) for _ in range(n)], axis=2)))
        return {
            "summary": long_table(parts, regions.names, regions.kinds, labels),
            "feasibility": feasibility_table(merge(self.feasibility), m_world, labels, thresholds),
            "exhaustion": exhaustion_table(merge(self.exhaustion), capped, m_world.iso3, labels),
            "trials": pl.concat(self.trials),
        }

    def method(self) -> dict:
        """How the summary was made (the run's manifest records it)."""
        pilot = min(self.pilot, self.T)
        return {
            "method": "streamed",
            "pilot_trials": pilot,
            "cut_points": int(len(cut_ranks(pilot))),
            "note": (
                "means and probabilities exact; each quantile interpolated between the smallest and largest value of "
                "the bin (between the pilot's order statistics) that holds it; mc_low and mc_high: the smallest "
                "(largest) value in the bins of their ranks, never narrower than the exact interval"
            ),
        }

    # checkpoints: the state after the blocks added so far, in a folder of the store's of its own
    def save(self, store: Path) -> None:
        """Save the state in ``store``/state-<trials>/, then point ``store``/state.json at it (renamed into place:
        a state.json always names a whole state) and remove the older states."""
        self.feasibility, self.exhaustion = [merge(self.feasibility)], [merge(self.exhaustion)]
        self.trials, self.extra = [pl.concat(self.trials)], [merge(self.extra)]
        folder = store / f"state-{self.T}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        self.summary.save(folder / "summary.npz")
        save_npz(folder / "feasibility.npz", self.feasibility[0])
        save_npz(folder / "exhaustion.npz", self.exhaustion[0])
        save_npz(folder / "extra.npz", self.extra[0])
        self.trials[0].write_parquet(folder / "trials.parquet")
        layout = {"layout": _layout_json(self.layout), "shapes": self.summary.shapes, "trials": self.T}
        (folder / "layout.json").write_text(json.dumps(layout))
        (store / ".state.json").write_text(json.dumps({"trials": self.T, "folder": folder.name}))
        (store / ".state.json").replace(store / "state.json")
        for old in store.glob("state-*"):
            if old != folder:
                shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(cls, store: Path, pilot: int = PILOT_TRIALS) -> StreamedRun | None:
        """The state saved in ``store``, or None if there is none whole (nothing of a broken one is kept)."""
        try:
            state = json.loads((store / "state.json").read_text())
            folder = store / state["folder"]
            saved = json.loads((folder / "layout.json").read_text())
            acc = cls(pilot)
            acc.layout = _layout_from_json(saved["layout"])
            acc.summary = StreamedSummary([None if s is None else tuple(s) for s in saved["shapes"]], pilot)
            acc.summary.load(folder / "summary.npz")
            with np.load(folder / "feasibility.npz") as z:
                acc.feasibility = [{k: z[k] for k in z.files}]
            with np.load(folder / "exhaustion.npz") as z:
                acc.exhaustion = [{k: z[k] for k in z.files}]
            acc.trials = [pl.read_parquet(folder / "trials.parquet")]
            with np.load(folder / "extra.npz") as z:
                acc.extra = [{k: z[k] for k in z.files}]
        except (OSError, ValueError, KeyError, pl.exceptions.PolarsError):
            return None
        rows = {len(acc.trials[0]), len(acc.feasibility[0]["headquarters.last"]), len(acc.exhaustion[0]["exhaust"])}
        return acc if rows == {acc.T} == {state["trials"]} == {saved["trials"]} else None


def _layout_json(layout) -> list:
    return [[m, u, np.asarray(w).tolist(), n, p] for m, u, w, n, p in layout]


def _layout_from_json(items) -> list:
    return [(m, u, np.array(w, np.int64), n, p) for m, u, w, n, p in items]


def stream_run(sc, block: int, runner, store, progress: bool, pilot: int = PILOT_TRIALS, extra=None) -> StreamedRun:
    """Run scenario ``sc`` in blocks of ``block`` trials on ``runner`` and add them in order to a StreamedRun,
    from the state saved in ``store`` (a BlockStore, or None) if there is one; ``extra``: StreamReducer's."""
    from .execution import Variant, stream

    acc = (StreamedRun.load(store.path, pilot) if store is not None else None) or StreamedRun(pilot)
    acc.resumed_from = start = acc.T
    last = [time.perf_counter()]

    def sink(task, result) -> None:
        acc.add(result)
        if store is not None and acc.summary.cells is not None and time.perf_counter() - last[0] >= CHECKPOINT_S:
            acc.save(store.path)
            last[0] = time.perf_counter()

    stream(
        [Variant(sc.name, sc)], StreamReducer(extra), block, runner, sink, start, progress, sc.name, store is not None
    )
    return acc
