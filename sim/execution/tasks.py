"""What an execution runs: variants (scenarios, sweep points, a sensitivity design) split into tasks, blocks
of trials. A task's numbers depend only on its variant and its trial rows, never on what executes it: row i
of a variant is trial i of its scenario (or, in a design, the design's row i with the noise of the trial it
names), compiled for just that block (sim.uncertainty.Design) and reduced to its outputs where it ran."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from ..inputs import Compiled, compile_scenario
from ..kernel.allocate import run_kernel
from ..scenario import Scenario
from ..uncertainty import Design

Arrays = dict[str, np.ndarray]  # a block's outputs: name → array with one row per trial of the block


class Reducer(Protocol):
    """Turns one block's kernel outputs into per-trial arrays (picklable: it travels to the workers)."""

    def __call__(self, sc: Scenario, comp: Compiled, out) -> Arrays: ...


@dataclass
class Variant:
    """One scenario to run over ``rows`` trials: ``key`` names it in the job (a folder-safe string);
    ``design``: per-row uniforms of some inputs (a sensitivity design), ``noise``: the trial whose noise each
    row uses (default: row i uses trial i, the scenario's own trials)."""

    key: str
    scenario: Scenario
    design: dict[str, np.ndarray] = field(default_factory=dict)
    noise: np.ndarray | None = None

    @property
    def rows(self) -> int:
        return self.scenario.trials

    def block(self, start: int, stop: int) -> Design:
        """The Design of rows [start, stop): their uniforms and noise trials."""
        noise = np.arange(start, stop, dtype=np.int64) if self.noise is None else self.noise[start:stop]
        return Design({k: u[start:stop] for k, u in self.design.items()}, np.asarray(noise, np.int64))


@dataclass(frozen=True)
class Task:
    """Rows [start, stop) of variant ``variant`` (an index into the job's variants)."""

    variant: int
    start: int
    stop: int

    @property
    def name(self) -> str:
        return f"{self.variant}-{self.start}-{self.stop}"


def plan(variants: list[Variant], block: int) -> list[Task]:
    """Every variant's rows in blocks of ``block`` trials (the last block of a variant may be shorter)."""
    if block < 1:
        raise ValueError(f"block must be >= 1, got {block}")
    return [Task(v, a, min(var.rows, a + block)) for v, var in enumerate(variants) for a in range(0, var.rows, block)]


def run_task(variant: Variant, task: Task, reducer: Reducer) -> Arrays:
    """Run one task: compile the variant for its rows, run the kernel, reduce. Called in the worker."""
    n = task.stop - task.start
    comp = compile_scenario(variant.scenario.replace(trials=n), variant.block(task.start, task.stop))
    out = run_kernel(comp.inputs)
    return reducer(variant.scenario, comp, out)
