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

LOCAL_CONFIG = {"distributed.worker.profile.enabled": False, "distributed.admin.system-monitor.gil.enabled": False}


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def set_threads(n: int) -> None:
    import numba

    numba.set_num_threads(max(1, min(n, numba.config.NUMBA_NUM_THREADS)))


def _run_on_worker(variant: Variant, task: Task, reducer: Reducer, per_host: dict[str, int]):
    """A task on a dask worker, with its host's cores // (workers on the host) numba threads."""
    from dask.distributed import get_worker

    host = get_worker().address.split("://")[-1].rsplit(":", 1)[0]
    set_threads(max(1, cores() // per_host.get(host, 1)))
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
    """Tasks in ``workers`` local processes (spawned: a clean numba state), cores // workers numba threads each.
    The pool starts with the first execution and serves the next ones (``close`` ends it); each task travels
    with its variant and reducer."""

    name = "processes"

    def __init__(self, workers: int):
        self.workers = workers
        self.pool = None

    def run(self, variants, reducer, tasks):
        import multiprocessing

        if self.pool is None:
            threads = max(1, cores() // self.workers)
            ctx = multiprocessing.get_context("spawn")
            self.pool = ProcessPoolExecutor(self.workers, ctx, set_threads, (threads,))
        futures = {self.pool.submit(run_task, variants[t.variant], t, reducer): i for i, t in enumerate(tasks)}
        try:
            pending = set(futures)
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in finished:
                    e = f.exception()
                    yield futures[f], (e if e is not None else f.result())
        finally:  # abandoned (an error, a signal): drop the queued tasks rather than run them for nothing
            for f in futures:
                f.cancel()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = None


class Dask:
    """Tasks on a dask.distributed cluster: ``address`` of a running scheduler, or ``local`` for a
    LocalCluster: one worker in this process by default (its kernel on every core), or ``workers`` worker
    processes. The variants and reducer are sent to the workers once (scattered) per execution."""

    name = "dask"

    def __init__(self, address: str, workers: int | None = None):
        from dask.distributed import Client, LocalCluster

        self.cluster = None
        try:
            if address == "local":
                import dask

                # the workers' statistical profiler (every 10 ms) and GIL monitor (every 1 ms) take CPU the kernel
                # needs on a small machine; a LocalCluster is ours to configure, a user's cluster is not
                dask.config.set(LOCAL_CONFIG)
                # one worker runs in this process (a thread: the kernel takes every core through numba, and no
                # process boundary is crossed); several are processes, each with cores // workers numba threads
                n = workers or 1
                self.cluster = LocalCluster(
                    n_workers=n, threads_per_worker=1, processes=n > 1, dashboard_address=None, silence_logs=40
                )
                self.client = Client(self.cluster)
            else:
                self.client = Client(address, timeout="3s")
        except (OSError, TimeoutError, ValueError) as e:
            self.close()
            raise SimInputError("command line", "--dask", f"cannot reach a scheduler at {address!r} ({e})") from None
        if address != "local":
            try:
                self.client.wait_for_workers(1, timeout=30)
            except (OSError, TimeoutError) as e:
                self.close()
                what = f"the scheduler at {address!r} has no workers ({e})"
                raise SimInputError("command line", "--dask", what) from None
        info = self.client.scheduler_info()["workers"]
        self.workers = max(1, len(info))
        self.per_host: dict[str, int] = {}  # workers per host: each takes that host's cores // this many threads
        for w in info.values():
            self.per_host[w["host"]] = self.per_host.get(w["host"], 0) + 1

    def run(self, variants, reducer, tasks):
        import uuid

        from dask.distributed import as_completed

        shared_v = self.client.scatter(variants, broadcast=True)
        shared_r = self.client.scatter(reducer, broadcast=True)
        job = uuid.uuid4().hex[:12]  # task keys unique to this execution on a shared scheduler
        futures = {}
        for i, t in enumerate(tasks):
            args = (shared_v[t.variant], t, shared_r, self.per_host)
            futures[self.client.submit(_run_on_worker, *args, pure=False, key=f"sim-{job}-{t.name}")] = i
        try:
            for f in as_completed(futures):
                try:
                    yield futures[f], f.result()
                except Exception as e:  # an error in the task, or a lost or cancelled future
                    yield futures[f], e
        finally:
            for f in futures:
                f.cancel()

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
