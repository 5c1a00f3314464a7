"""Run the rows of a design as trials of a scenario on the execution layer (sim/execution): blocks of rows,
each reduced to its headline outputs (sim/metrics/headline.py) where it ran, so memory is bounded by the
block, not by the number of rows, and the numbers do not depend on the block size or the executor."""

from __future__ import annotations

import numpy as np

from ..execution import BlockStore, Variant, execute
from ..metrics.headline import SEP, HeadlineReducer, Key
from ..scenario import Scenario
from ..uncertainty import Design


def evaluate(
    sc: Scenario,
    design: Design,
    quarters: list[str],
    block: int = 100,
    progress: bool = False,
    runner=None,
    store: BlockStore | None = None,
) -> dict[Key, np.ndarray]:
    """float64 [rows] per headline output: row i is a trial of ``sc`` with the design's inputs and the noise
    of the trial ``design.noise[i]``; ``runner``: an executor (default in-process), ``store``: finished blocks."""
    variant = Variant("design", sc.replace(trials=design.rows), dict(design.u), np.asarray(design.noise, np.int64))
    done = execute([variant], HeadlineReducer(tuple(quarters)), block, runner, store, progress, f"{sc.name} design")
    return {tuple(k.split(SEP)): v for k, v in done["design"].items()}
