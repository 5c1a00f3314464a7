"""The execution layer: runs, sweeps, comparisons and sensitivity designs as tasks (a variant and a block of
its trials) whose seeds are fixed before submission, so the numbers are identical whatever executes them
(in-process threads, local processes, a dask.distributed cluster or any concurrent.futures.Executor:
executors.py). Each block is reduced to its outputs where it ran and copied into the execution's arrays of
outputs, so memory is the block plus those outputs (rows × outputs), never the kernel's whole outputs of every
trial; each block is also saved to a store on disk (store.py), so an interrupted execution resumes with
``resume=True`` and gives identical results. A task that fails is retried once (bad input and a broken
invariant are not: they stop the execution at once); if it fails again the execution stops with an
ExecutionError naming it, and nothing is written as complete (the finished blocks stay in the store).

    results = execute(variants, reducer, block=100, runner=InProcess(), store=None)
    results[variant.key]  # name → array over all the variant's rows, in row order
"""

from __future__ import annotations

import sys

import numpy as np
from tqdm import tqdm

from ..errors import InvariantError, SimInputError
from .executors import Dask, Futures, InProcess, Processes, as_runner, executor
from .store import BlockStore, fingerprint
from .tasks import Arrays, Reducer, Task, Variant, plan, run_task

__all__ = [
    "Arrays",
    "BlockStore",
    "Dask",
    "ExecutionError",
    "Futures",
    "InProcess",
    "Processes",
    "Reducer",
    "Task",
    "Variant",
    "as_runner",
    "execute",
    "executor",
    "fingerprint",
    "plan",
    "run_task",
    "stream",
]


class ExecutionError(RuntimeError):
    """A task failed twice."""


def check_kept_memory(variants: list[Variant], arrays: Arrays, n: int, store: BlockStore | None) -> None:
    """Refuse an execution whose kept outputs (every variant's rows × the bytes a row of ``arrays``, a block of
    ``n`` rows, takes) would not fit in the memory this machine can give it (sim/resources.py), in one line
    naming --trials, with the largest trial count that fits; the store of finished blocks goes with it."""
    from ..resources import HEADROOM, available_bytes

    per_row = sum(a.nbytes for a in arrays.values()) / max(n, 1)
    rows = sum(v.rows for v in variants)
    have = available_bytes() * HEADROOM
    if rows * per_row > have:
        if store is not None:
            store.remove()
        fits = int(have // (per_row * len(variants)))
        raise SimInputError(
            "command line",
            "--trials",
            f"{rows:,} rows × {per_row / 1024:.0f} KiB of outputs each need ~{rows * per_row / 2**30:.1f} GiB, more "
            f"than the {have / 2**30:.1f} GiB this machine can give; at most {fits:,} trials per variant fit",
        )


def execute(
    variants: list[Variant],
    reducer: Reducer,
    block: int = 100,
    runner=None,
    store: BlockStore | None = None,
    progress: bool = False,
    desc: str = "tasks",
) -> dict[str, Arrays]:
    """Run every variant's rows in blocks of ``block`` on ``runner`` (an executor of executors.py or any
    ``concurrent.futures.Executor``; default in-process) and
    return, per variant key, each output over all rows in row order. Finished blocks are saved to (and, when
    resuming, read from) ``store``."""
    runner = as_runner(runner)
    tasks = plan(variants, block)
    kept: dict[int, Arrays] = {}  # per variant: each output over all its rows, filled block by block

    def keep(t: Task, arrays: Arrays) -> None:
        if not kept:  # the first block tells how much every kept row costs: refuse what cannot fit
            check_kept_memory(variants, arrays, t.stop - t.start, store)
        rows = kept.setdefault(t.variant, {})
        for k, a in arrays.items():
            if k not in rows:
                rows[k] = np.empty((variants[t.variant].rows,) + a.shape[1:], a.dtype)
            rows[k][t.start : t.stop] = a

    todo = []
    for i, t in enumerate(tasks):
        if store is not None and store.done(t):
            keep(t, store.load(t))
        else:
            todo.append(i)
    bar = tqdm(total=len(tasks), initial=len(tasks) - len(todo), desc=desc, unit="block", disable=not progress)
    try:
        hint = "; the finished blocks are kept: rerun with --resume" if store is not None else ""
        for i, res in _finished(runner, variants, reducer, tasks, todo, hint):
            keep(tasks[i], res)
            if store is not None:
                store.save(tasks[i], res)
            bar.update(1)
    finally:
        bar.close()
    return {var.key: kept.get(v, {}) for v, var in enumerate(variants)}


def _finished(runner, variants, reducer, tasks: list[Task], todo: list[int], hint: str = ""):
    """Run tasks ``todo`` (indices into ``tasks``) and yield (index, result) as each finishes; a task that
    fails is retried once, after the others (bad input and a broken invariant are raised at once); ``hint``
    ends the message of one that fails twice."""
    for attempt in (1, 2):
        failed = []
        for j, res in runner.run(variants, reducer, [tasks[i] for i in todo]):
            i = todo[j]
            if isinstance(res, SimInputError | InvariantError):  # not a worker's accident: no retry
                raise res
            if isinstance(res, BaseException):
                what = f"task {tasks[i].name} (variant {variants[tasks[i].variant].key!r})"
                if attempt == 2:
                    raise ExecutionError(f"{what} failed twice: {res!r}{hint}") from res
                print(f"sim: {what} failed ({res!r}); retrying it once", file=sys.stderr)
                failed.append(i)
                continue
            yield i, res
        if not failed:
            return
        todo = failed


def stream(
    variants: list[Variant],
    reducer: Reducer,
    block: int,
    runner,
    sink,
    start: int = 0,
    progress: bool = False,
    desc: str = "tasks",
    stored: bool = False,
) -> None:
    """Run the rows from ``start`` on of every variant in blocks of ``block`` and hand each block's reduced
    outputs to ``sink(task, result)`` in task order, for reductions that must see the blocks in order
    (sim/streaming.py). Tasks go to the executor a window at a time (four per worker), a failed one retried
    within its window, so at most a window of results waits in memory for the blocks before it."""
    runner = as_runner(runner)
    tasks = [t for t in plan(variants, block) if t.start >= start]
    window = 4 * max(1, int(getattr(runner, "workers", 1)))
    hint = "; the last saved state is kept: rerun with --resume" if stored else ""
    bar = tqdm(total=len(tasks), desc=desc, unit="block", disable=not progress)
    try:
        for a in range(0, len(tasks), window):
            chunk = tasks[a : a + window]
            done = dict(_finished(runner, variants, reducer, chunk, list(range(len(chunk))), hint))
            for i, t in enumerate(chunk):
                sink(t, done.pop(i))
                bar.update(1)
    finally:
        bar.close()
