"""Run a scenario: compile it, run the kernel over trial blocks (with a progress bar), compute metrics."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cached_property

import numba
import polars as pl
from tqdm import tqdm

from .inputs import Compiled, compile_scenario
from .kernel.allocate import Outputs, run_kernel
from .metrics import Metrics
from .scenario import Scenario


@dataclass
class RunResult:
    """A run's scenario, compiled inputs and kernel outputs; its tables are computed when first asked for
    (``metrics``), and the time spent making them adds up in ``timings["metrics_s"]``."""

    scenario: Scenario
    compiled: Compiled
    outputs: Outputs | None  # None for a streamed run (its tables are made as it goes)
    timings: dict[str, float] = field(default_factory=dict)
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)  # a streamed run's tables
    extra: dict = field(default_factory=dict)  # a streamed run's per-trial arrays of its extra reducer
    summary_method: dict = field(default_factory=lambda: {"method": "exact"})

    @property
    def orders_per_trial(self) -> int:
        i = self.compiled.inputs
        return int(len(i.firm_country) * i.m * i.policy.shape[0])

    @cached_property
    def metrics(self) -> Metrics:
        """The run's metrics (its tables and the arrays they share)."""
        if self.outputs is None:
            raise ValueError(f"{self.scenario.name}: a streamed run keeps its tables, not its kernel outputs")
        c = self.compiled
        return Metrics(self.outputs, self.scenario.world, c.labels, c.draws, c.regime, c.abroad)

    def _table(self, name: str) -> pl.DataFrame:
        """The metrics' table ``name``, timed (made once; later calls add next to nothing)."""
        if name in self.tables:
            return self.tables[name]
        t0 = time.perf_counter()
        table = getattr(self.metrics, name)
        self.timings["metrics_s"] = self.timings.get("metrics_s", 0.0) + time.perf_counter() - t0
        return table

    @property
    def summary(self) -> pl.DataFrame:
        """metric × region × quarter × quantile, long (``sim.metrics.summary_table``)."""
        return self._table("summary")

    @property
    def feasibility(self) -> pl.DataFrame:
        """Per territory: 1e26 feasibility and weights controls."""
        return self._table("feasibility")

    @property
    def exhaustion(self) -> pl.DataFrame:
        """Per capped territory: when and how often the national allocation is used up."""
        return self._table("exhaustion")

    @property
    def trials(self) -> pl.DataFrame:
        """One row per trial: inputs drawn and headline outputs."""
        return self._table("trials")

    def value(self, metric: str, region: str, quarter: str, quantile: str = "p50") -> float:
        """One number of the summary (e.g. ``value("compute_h100e", "China", "2027Q4")``)."""
        s = self.summary.filter(
            (pl.col("metric") == metric)
            & (pl.col("region") == region)
            & (pl.col("quarter") == quarter)
            & (pl.col("quantile") == quantile)
        )
        if s.height != 1:
            raise KeyError((metric, region, quarter, quantile))
        return s["value"][0]


def set_threads(threads: int | None) -> None:
    """Run the kernel on ``threads`` numba threads (None: leave as is); results do not depend on it."""
    if threads is not None:
        numba.set_num_threads(threads)


def _outputs(sc, comp, out) -> dict:
    """The reducer of a run on other executors: a block's whole kernel outputs."""
    return out._asdict()


def run(
    sc: Scenario,
    progress: bool = False,
    threads: int | None = None,
    block: int = 50,
    runner=None,
    store=None,
    stream: bool = False,
    pilot: int | None = None,
    extra=None,
) -> RunResult:
    """Simulate every trial of scenario ``sc``. Trials run in blocks of ``block`` (numba prange over the
    trials of a block); results do not depend on ``threads``, ``block`` or ``runner``: an executor of
    sim.execution (local processes, a dask.distributed cluster) that runs the blocks elsewhere and sends their
    outputs back (all of them: a run's memory is that of its trials), saving finished blocks to ``store`` (a
    BlockStore) to resume from. ``stream``: keep no kernel outputs, make the tables as blocks finish
    (sim/streaming.py: for runs too large to keep; ``pilot`` trials set its summary's cut points; ``extra``: a
    reducer whose per-trial arrays it keeps in ``RunResult.extra``)."""
    t_start = time.perf_counter()
    set_threads(threads)
    if stream:
        return _run_streamed(sc, progress, block, runner, store, pilot, t_start, extra)
    compiled = compile_scenario(sc)
    t_compiled = time.perf_counter()
    inp = compiled.inputs
    T = sc.trials
    first = min(1, T)
    if runner is not None or store is not None:
        from .execution import Variant, execute

        parts = execute([Variant(sc.name, sc)], _outputs, block, runner, store, progress, sc.name)[sc.name]
        out = Outputs(**parts)
        t_first = t_compiled
        first = 0
    else:
        out = Outputs.empty(T, len(compiled.iso3), len(compiled.labels))
        bar = tqdm(total=T, desc=f"{sc.name}", unit="trial", disable=not progress)
        run_kernel(inp, out, 0, first)  # the first trial also compiles (or loads) the kernel
        bar.update(first)
        t_first = time.perf_counter()
        for start in range(first, T, block):
            stop = min(T, start + block)
            run_kernel(inp, out, start, stop)
            bar.update(stop - start)
        bar.close()
    t_kernel = time.perf_counter()
    res = RunResult(sc, compiled, out)
    n_rest = T - first
    kernel_s = t_kernel - t_first
    res.timings = {
        "inputs_s": t_compiled - t_start,
        "compile_and_first_trial_s": t_first - t_compiled,
        "kernel_s": kernel_s,
        "orders_processed": res.orders_per_trial * T,
        "orders_per_s": res.orders_per_trial * n_rest / kernel_s if n_rest and kernel_s > 0 else float("nan"),
        "threads": numba.get_num_threads(),
    }
    return res


def _run_streamed(sc: Scenario, progress: bool, block: int, runner, store, pilot: int | None, t_start: float, extra):
    """``run`` with ``stream``: the kernel and each block's reduction on the executor, the tables made from the
    blocks in trial order (sim/streaming.py), from a saved state in ``store`` if there is one."""
    from .metrics.capability import THRESHOLDS
    from .metrics.regions import regions
    from .metrics.streamed import PILOT_TRIALS
    from .metrics.tables import capped, merge
    from .streaming import stream_run

    compiled = compile_scenario(sc.replace(trials=1))  # labels, regime and firms: the same for any trial count
    t_compiled = time.perf_counter()
    acc = stream_run(sc, block, runner, store, progress, PILOT_TRIALS if pilot is None else pilot, extra)
    t_kernel = time.perf_counter()
    tables = acc.tables(sc.world, compiled.labels, THRESHOLDS, capped(compiled.regime), regions(sc.world))
    res = RunResult(sc, compiled, None, tables=tables, summary_method=acc.method(), extra=merge(acc.extra))
    kernel_s = t_kernel - t_compiled
    res.timings = {
        "inputs_s": t_compiled - t_start,
        "compile_and_first_trial_s": 0.0,
        "kernel_s": kernel_s,  # with each block's reduction
        "metrics_s": time.perf_counter() - t_kernel,
        "orders_processed": res.orders_per_trial * sc.trials,
        "orders_per_s": res.orders_per_trial * (sc.trials - acc.resumed_from) / kernel_s
        if kernel_s > 0
        else float("nan"),
        "resumed_from_trial": acc.resumed_from,
        "threads": numba.get_num_threads(),
    }
    return res
