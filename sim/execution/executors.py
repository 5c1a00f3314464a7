"""Where tasks run: in this process (default: one task at a time, the kernel on every numba thread), in
``workers`` local processes, or on a dask.distributed cluster (an existing scheduler's address, or ``local``
for a LocalCluster). Workers × numba threads per worker never exceed the cores: each worker runs the kernel on
cores // workers threads. The compiled kernel is numba's on-disk cache (sim/kernel/cache.py), loaded once per
worker process, never compiled per task. Any ``concurrent.futures.Executor`` serves too (``Futures``: a pool
of one's own, or a dask.distributed ``Client.get_executor()``). Each executor yields (task index, result or
exception) as tasks finish; what a task computes does not depend on the executor."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

from ..errors import SimInputError
from .tasks import Reducer, Task, Variant, run_task

_JOB: tuple[list[Variant], Reducer] | None = None  # a process worker's variants and reducer (set once)


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def set_threads(n: int) -> None:
    import numba

    numba.set_num_threads(max(1, min(n, numba.config.NUMBA_NUM_THREADS)))


def _init_worker(variants: list[Variant], reducer: Reducer, threads: int) -> None:
    global _JOB
    _JOB = (variants, reducer)
    set_threads(threads)


def _run_in_worker(task: Task):
    variants, reducer = _JOB
    return run_task(variants[task.variant], task, reducer)


def _run_with(variant: Variant, task: Task, reducer: Reducer, threads: int):
    set_threads(threads)
    return run_task(variant, task, reducer)


class InProcess:
    """Tasks one after the other in this process, the kernel on every numba thread."""

    name = "threads"
    workers = 1

    def run(self, variants: list[Variant], reducer: Reducer, tasks: list[Task]) -> Iterator[tuple[int, object]]:
        for i, t in enumerate(tasks):
            try:
                yield i, run_task(variants[t.variant], t, reducer)
            except Exception as e:  # reported (and retried) by the caller
                yield i, e

    def close(self) -> None:
        pass


class Processes:
    """Tasks in ``workers`` local processes (spawned: a clean numba state), cores // workers threads each."""

    name = "processes"

    def __init__(self, workers: int):
        self.workers = workers

    def run(self, variants, reducer, tasks):
        import multiprocessing

        threads = max(1, cores() // self.workers)
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(self.workers, ctx, _init_worker, (variants, reducer, threads)) as pool:
            futures = {pool.submit(_run_in_worker, t): i for i, t in enumerate(tasks)}
            pending = set(futures)
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in finished:
                    e = f.exception()
                    yield futures[f], (e if e is not None else f.result())

    def close(self) -> None:
        pass


class Dask:
    """Tasks on a dask.distributed cluster: ``address`` of a running scheduler, or ``local`` for a
    LocalCluster of ``workers`` processes (default: the cores, one thread each). The variants and reducer are
    sent to the workers once (scattered); each task then travels as three numbers."""

    name = "dask"

    def __init__(self, address: str, workers: int | None = None):
        from dask.distributed import Client, LocalCluster

        self.cluster = None
        try:
            if address == "local":
                n = workers or cores()
                self.cluster = LocalCluster(
                    n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
                )
                self.client = Client(self.cluster)
            else:
                self.client = Client(address, timeout="3s")
        except (OSError, TimeoutError, ValueError) as e:
            self.close()
            raise SimInputError("command line", "--dask", f"cannot reach a scheduler at {address!r} ({e})") from None
        info = self.client.scheduler_info()["workers"]
        self.workers = max(1, len(info))
        # threads per worker process so that the workers on one machine share its cores
        self.threads = {
            w: max(1, cores() // sum(1 for v in info.values() if v["host"] == i["host"])) for w, i in info.items()
        }

    def run(self, variants, reducer, tasks):
        from dask.distributed import as_completed

        shared_v = self.client.scatter(variants, broadcast=True)
        shared_r = self.client.scatter(reducer, broadcast=True)
        futures = {}
        for i, t in enumerate(tasks):
            f = self.client.submit(
                _run_with, shared_v[t.variant], t, shared_r, min(self.threads.values()), pure=False, key=f"sim-{t.name}"
            )
            futures[f] = i
        for f in as_completed(futures):
            yield futures[f], (f.exception() if f.status == "error" else f.result())

    def close(self) -> None:
        for x in (getattr(self, "client", None), self.cluster):
            if x is not None:
                x.close()


class Futures:
    """Tasks on any ``concurrent.futures.Executor`` (a process or thread pool, or a dask.distributed
    ``Client.get_executor()``): each task is submitted with its variant and reducer, which travel with it."""

    name = "futures"
    workers = 1

    def __init__(self, pool):
        self.pool = pool

    def run(self, variants, reducer, tasks):
        from concurrent.futures import as_completed

        futures = {self.pool.submit(run_task, variants[t.variant], t, reducer): i for i, t in enumerate(tasks)}
        for f in as_completed(futures):
            e = f.exception()
            yield futures[f], (e if e is not None else f.result())

    def close(self) -> None:  # the caller owns the pool
        pass


def as_runner(x):
    """An executor of this module for ``x``: None → in-process, a ``concurrent.futures.Executor`` → Futures,
    else ``x`` itself (one of InProcess, Processes, Dask)."""
    from concurrent.futures import Executor

    if x is None:
        return InProcess()
    return Futures(x) if isinstance(x, Executor) else x


def executor(workers: int | None = None, dask: str | None = None):
    """The executor the command line asks for: ``--dask ADDRESS`` (or ``local``), ``--workers N`` local
    processes, or in-process threads (neither)."""
    if dask is not None and workers is not None and dask != "local":
        raise SimInputError(
            "command line", "--workers", "give --workers with --dask local only (a cluster has its own)"
        )
    if dask is not None:
        return Dask(dask, workers)
    if workers is not None and workers > 1:
        return Processes(workers)
    return InProcess()
