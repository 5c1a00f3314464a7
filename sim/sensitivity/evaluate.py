"""Run the rows of a design as trials of a scenario, block by block, keeping only each row's headline outputs
(sim/sensitivity/outputs.py), so memory is bounded by the block, not by the number of rows."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from tqdm import tqdm

from ..inputs import compile_scenario
from ..kernel.allocate import Outputs, run_kernel
from ..metrics.run import Metrics
from ..scenario import Scenario
from ..uncertainty import Design
from .outputs import Key, headline


def evaluate(
    sc: Scenario, design: Design, quarters: list[str], block: int = 100, progress: bool = False
) -> dict[Key, np.ndarray]:
    """float64 [rows] per headline output: row i is a trial of ``sc`` with the design's inputs and the noise
    of the trial ``design.noise[i]``. Rows run in blocks of ``block``; the numbers do not depend on it."""
    comp = compile_scenario(sc.replace(trials=design.rows), design)
    T, C, Q = comp.inputs.shape
    values: dict[Key, np.ndarray] = {}
    bar = tqdm(total=T, desc=f"{sc.name} design", unit="trial", disable=not progress)
    for a in range(0, T, block):
        b = min(T, a + block)
        inp = replace(comp.inputs, draws=comp.inputs.draws.slice(a, b))
        out = run_kernel(inp, Outputs.empty(b - a, C, Q))
        draws = {k: v[a:b] for k, v in comp.draws.items()}
        m = Metrics(out, sc.world, comp.labels, draws, comp.regime, comp.abroad)
        for key, v in headline(m, quarters).items():
            values.setdefault(key, np.empty(T))[a:b] = v
        bar.update(b - a)
    bar.close()
    return values
