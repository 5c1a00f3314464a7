"""Run a scenario: compile it, run the kernel over trial blocks (with a progress bar), compute metrics."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numba
import polars as pl
from tqdm import tqdm

from . import metrics
from .inputs import Compiled, compile_scenario
from .kernel.allocate import Outputs, run_kernel
from .kernel.layout import CAPPED
from .scenario import Scenario


@dataclass
class RunResult:
    scenario: Scenario
    compiled: Compiled
    outputs: Outputs
    timings: dict[str, float] = field(default_factory=dict)
    _tables: dict[str, pl.DataFrame] = field(default_factory=dict)
    _derived: dict = field(default_factory=dict)  # arrays the tables share (metrics ``cache``)

    @property
    def orders_per_trial(self) -> int:
        i = self.compiled.inputs
        return int(len(i.firm_country) * i.m * i.policy.shape[0])

    def _timed(self, make) -> pl.DataFrame:
        """``make()``; the time spent making tables adds up in timings["metrics_s"]."""
        t0 = time.perf_counter()
        table = make()
        self.timings["metrics_s"] = self.timings.get("metrics_s", 0.0) + time.perf_counter() - t0
        return table

    def _table(self, name: str, make) -> pl.DataFrame:
        if name not in self._tables:
            self._tables[name] = self._timed(make)
        return self._tables[name]

    @property
    def summary(self) -> pl.DataFrame:
        c = self.compiled
        return self._table(
            "summary",
            lambda: metrics.summary(self.outputs, self.scenario.world, c.labels, c.draws, c.regime, self._derived),
        )

    def summary_of(self, names: tuple[str, ...]) -> pl.DataFrame:
        """The summary's rows of the metrics ``names`` only: computed alone (and kept for the full summary)
        unless the full summary exists."""
        if "summary" in self._tables:
            return self.summary.filter(pl.col("metric").is_in(names))
        c = self.compiled
        return self._timed(
            lambda: metrics.summary(
                self.outputs, self.scenario.world, c.labels, c.draws, c.regime, self._derived, only=names
            )
        )

    @property
    def feasibility(self) -> pl.DataFrame:
        c = self.compiled
        return self._table(
            "feasibility",
            lambda: metrics.feasibility_table(
                self.outputs, self.scenario.world, c.labels, c.draws, c.regime, self._derived
            ),
        )

    @property
    def exhaustion(self) -> pl.DataFrame:
        capped = (self.compiled.regime.policy == CAPPED).any(axis=(0, 2))
        return self._table(
            "exhaustion",
            lambda: metrics.exhaustion_table(self.outputs, self.scenario.world, self.compiled.labels, capped),
        )

    @property
    def trials(self) -> pl.DataFrame:
        c = self.compiled
        return self._table(
            "trials", lambda: metrics.trials_table(self.outputs, self.scenario.world, c.labels, c.draws, self._derived)
        )

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


def run(sc: Scenario, progress: bool = False, threads: int | None = None, block: int = 50) -> RunResult:
    """Simulate every trial of scenario ``sc``. Trials run in blocks of ``block`` (numba prange over the
    trials of a block); results do not depend on ``threads`` or ``block``."""
    t_start = time.perf_counter()
    if threads is not None:
        numba.set_num_threads(threads)
    compiled = compile_scenario(sc)
    t_compiled = time.perf_counter()
    inp = compiled.inputs
    T = sc.trials
    out = Outputs.empty(T, len(compiled.iso3), len(compiled.labels))
    bar = tqdm(total=T, desc=f"{sc.name}", unit="trial", disable=not progress)
    first = min(1, T)
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
