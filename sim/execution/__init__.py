"""The execution layer: runs, sweeps, comparisons and sensitivity designs as tasks (a variant and a block of
its trials) whose seeds are fixed before submission, so the numbers are identical whatever executes them
(in-process threads, local processes or a dask.distributed cluster: executors.py). Each block is reduced to
its outputs where it ran, so memory is bounded by the block, not by the number of trials, and saved to a
store on disk (store.py), so an interrupted execution resumes with ``resume=True`` and gives identical
results. A task that fails is retried once; if it fails again the execution stops with an ExecutionError
naming it, and nothing is written as complete (the finished blocks stay in the store for a resume).

    results = execute(variants, reducer, block=100, executor=InProcess(), store=None)
    results[variant.key]  # name → array over all the variant's rows, in row order
"""

from __future__ import annotations

import sys

import numpy as np
from tqdm import tqdm

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
]


class ExecutionError(RuntimeError):
    """A task failed twice."""


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
    results: dict[int, Arrays] = {}
    todo = []
    for i, t in enumerate(tasks):
        if store is not None and store.done(t):
            results[i] = store.load(t)
        else:
            todo.append(i)
    bar = tqdm(total=len(tasks), initial=len(results), desc=desc, unit="block", disable=not progress)
    for attempt in (1, 2):
        failed = []
        batch = [tasks[i] for i in todo]
        for j, res in runner.run(variants, reducer, batch):
            i = todo[j]
            if isinstance(res, BaseException):
                what = f"task {tasks[i].name} (variant {variants[tasks[i].variant].key!r})"
                if attempt == 2:
                    bar.close()
                    raise ExecutionError(f"{what} failed twice: {res!r}") from res
                print(f"sim: {what} failed ({res!r}); retrying it once", file=sys.stderr)
                failed.append(i)
                continue
            results[i] = res
            if store is not None:
                store.save(tasks[i], res)
            bar.update(1)
        if not failed:
            break
        todo = failed
    bar.close()
    out: dict[str, Arrays] = {}
    for v, var in enumerate(variants):
        parts = [results[i] for i, t in enumerate(tasks) if t.variant == v]  # tasks are in row order
        out[var.key] = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]} if parts else {}
    return out
