"""Training capability per trial, territory and quarter: the largest run one cluster can train, and what
export controls on its weights would say.

A run trains on one co-located cluster. The kernel gives, per territory and quarter, the largest firm
cluster located there (``Outputs.cluster``, H100e): the co-located share (``cluster.colocated_share``) of a
firm's chips of one family delivered within the trial's build window, or of the current generation of its
initial base, up to the largest site the quarter can hold (``cluster.frontier_h100e``); and that cluster
weighted by its family's MFU (``run_loc`` by location, ``run_hq`` over firms headquartered there, wherever
their clusters are). A run holds a share of the cluster (``cluster.run_share``) and trains for a share of
its wall-clock time (``training.goodput``):

    FLOP = run (H100e × MFU) × run share × goodput × 989.5e12 FLOP/s × days × 86,400 s.

The headline run length is the sources' 100-day convention; ``training.max_days`` (sampled) is beside it.
"""

from __future__ import annotations

import numpy as np

from ..training import H100_FLOPS, SECONDS_PER_DAY
from .stats import blocks

TARGET_FLOP = 1e26
THRESHOLDS = (1e25, 1e26, 1e27, 1e28)  # FLOP
HEADLINE_DAYS = 100.0  # the run length the sources quote (Epoch AI: frontier runs last ~90-100 days)


def run_scale(draws: dict[str, np.ndarray]) -> np.ndarray:
    """float64 [T]: the share of a cluster's MFU-weighted H100e a run uses over its wall-clock time: the run's
    share of the cluster × goodput."""
    return draws["cluster.run_share"] * draws["training.goodput"]


def run_by_headquarters(out, draws: dict[str, np.ndarray], reg, china: int, us: int, abroad: list[int]) -> np.ndarray:
    """float64 [T, C, Q]: ``Outputs.run_hq`` (the largest MFU-weighted cluster of the firms headquartered in
    each territory, H100e), with China's row raised to the larger of its own clusters and those its developers
    use abroad: a share (``training_abroad.rented_share``) of the largest cluster located in the rental
    territories (``abroad``: training_abroad.countries) and a share (``training_abroad.remote_share``) of the
    largest located in the US (remote access to cloud), both cut by the guidance against training Chinese
    models on US chips (``enforcement.training_guidance_cut`` while ``reg.train_guidance``) and shut while
    remote access needs a licence (``reg.remote_controlled``)."""
    run = out.run_hq.astype(np.float64)
    run[:, china, :] = np.maximum(run[:, china, :], abroad_run(out, draws, reg, us, abroad))
    return run


def abroad_run(out, draws: dict[str, np.ndarray], reg, us: int, abroad: list[int]) -> np.ndarray:
    """float64 [T, Q]: the larger of the two channels by which Chinese developers train abroad (H100e × MFU):
    a rented share of the largest cluster in the rental territories and a remote share of the largest US
    cluster, after the guidance's cut and the remote-access control (see ``run_by_headquarters``)."""
    guided = draws["enforcement.training_guidance_cut"][:, None] * reg.train_guidance[None, :]
    open_ = (1.0 - guided) * (1.0 - reg.remote_controlled[None, :].astype(np.float64))  # [T, Q]
    rent = out.run_loc[:, abroad, :].max(axis=1) if abroad else np.zeros(out.run_loc[:, 0].shape)
    channels = np.maximum(
        draws["training_abroad.rented_share"][:, None] * rent,
        draws["training_abroad.remote_share"][:, None] * out.run_loc[:, us, :],
    )
    return channels * open_


def largest_run_flop(run: np.ndarray, draws: dict[str, np.ndarray], days: float | None = HEADLINE_DAYS) -> np.ndarray:
    """float64 [T, C, Q]: FLOP of the largest run trainable on the clusters of ``run`` (H100e × MFU, [T, C,
    Q]: ``Outputs.run_hq`` or ``run_loc``) in ``days`` (None: each trial's ``training.max_days``)."""
    per_day = run_scale(draws) * H100_FLOPS * SECONDS_PER_DAY
    span = draws["training.max_days"] if days is None else np.full(run.shape[0], float(days))
    scale = (per_day * span)[:, None, None]
    flop = np.empty(run.shape)
    for t in blocks(run.shape[0], 8 * run[0].size):
        flop[t] = run[t].astype(np.float64) * scale[t]
    return flop


def cluster_h100e(cluster: np.ndarray) -> np.ndarray:
    """float64 [T, C, Q]: the largest co-located cluster (``Outputs.cluster``), H100e."""
    return cluster.astype(np.float64)


def first_crossing(flop: np.ndarray, threshold: float) -> np.ndarray:
    """int64 [T, C]: each trial's first quarter index with ``flop`` ≥ ``threshold``, Q where it never does."""
    above = flop >= threshold
    return np.where(above.any(axis=2), above.argmax(axis=2), flop.shape[2])


def crossing_quantiles(first: np.ndarray) -> np.ndarray:
    """int64 [3, C]: p5, p50, p95 over trials of the first crossing quarter (numpy's inverted-CDF method,
    so a quarter that occurs; Q: beyond the horizon)."""
    return np.percentile(first, (5, 50, 95), axis=0, method="inverted_cdf").astype(np.int64)


def group_max(x: np.ndarray, groups: list[list[int]]) -> np.ndarray:
    """Per-territory values [T, C, ...] → float64 [T, G, ...]: each group's largest member value (a bloc's
    largest run is its members' largest, not their sum)."""
    return np.stack([x[:, g].max(axis=1) if g else np.zeros_like(x[:, 0]) for g in groups], axis=1).astype(np.float64)


def weights_outcomes(flop: np.ndarray, reg) -> tuple[np.ndarray, np.ndarray]:
    """bool [T, C, Q] ×2 for the largest run of the firms headquartered in each territory (``flop``, by
    headquarters): (a) it reaches 1e26 FLOP and the regime's weights threshold (ECCN 4E091:
    ``weights.threshold_operations`` in force that quarter, 0 = none), so its weights would be controlled if
    closed (an upper bound: open weights and models below the most capable published one are not
    controlled); (b) and the territory (its trainer's headquarters) is outside Tier 1, so exporting the
    weights faces a presumption of denial."""
    th = reg.weights_threshold[None, None, :]
    controlled = (flop >= TARGET_FLOP) & (th > 0) & (flop >= th)
    return controlled, controlled & (reg.tier1.T[None] == 0)
