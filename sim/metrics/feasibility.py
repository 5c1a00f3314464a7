"""Training feasibility per trial, territory and quarter: the largest run the largest firm located there
can train, whether it reaches 1e26 FLOP, and what export controls on its weights would say."""

from __future__ import annotations

import numpy as np

from ..training import training_flop, utilisation
from .stats import blocks

TARGET_FLOP = 1e26


def largest_run_flop(largest: np.ndarray, draws: dict[str, np.ndarray]) -> np.ndarray:
    """float64 [T, C, Q]: FLOP of the largest run the largest firm (``largest``, H100e by FLOP/s [T, C, Q])
    can train, at the trial's utilisation (MFU × goodput) within its run-length limit (days); over blocks of
    trials."""
    mfu, days = utilisation(draws)[:, None, None], draws["training.max_days"][:, None, None]
    flop = np.empty(largest.shape)
    for t in blocks(largest.shape[0], 8 * largest[0].size):
        flop[t] = training_flop(largest[t].astype(np.float64), mfu[t], days[t])
    return flop


def weights_outcomes(flop: np.ndarray, largest_site: np.ndarray, reg) -> tuple[np.ndarray, np.ndarray]:
    """bool [T, C, Q] ×2, for feasible 1e26 runs (``flop``: ``largest_run_flop``): (a) the run reaches the
    regime's weights threshold (ECCN 4E091: ``weights.threshold_operations`` in force that quarter), so its
    weights would be controlled if closed (an upper bound: open weights and models below the most capable
    published one are not controlled); (b) and its trainer is headquartered outside Tier 1, so exporting
    the weights faces a presumption of denial. A hyperscaler site's firm (``largest_site`` == 1) is
    headquartered in the US; a domestic firm where it is located."""
    th = reg.weights_threshold[None, None, :]
    hq_tier1 = np.where(largest_site == 1, reg.tier1[:, reg.us_index][None, None, :] == 1, reg.tier1.T[None] == 1)
    controlled = (flop >= TARGET_FLOP) & (th > 0) & (flop >= th)
    return controlled, controlled & ~hq_tier1
