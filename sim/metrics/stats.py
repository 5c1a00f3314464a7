"""Statistics over trials: quantiles and means of per-trial values, and sums over groups of territories.

Per-trial arrays carry trials on their first axis ([T, ...]); results are float64 in the unit of the input.
Quantiles are ``np.percentile`` with numpy's default linear method; both helpers work over blocks (of columns,
of trials) so that no float64 copy of a whole output array is made.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

QUANTILES = (("p5", 5.0), ("p50", 50.0), ("p95", 95.0))
STATS = tuple(name for name, _ in QUANTILES) + ("mean",)  # the rows of ``over_trials``
BLOCK_BYTES = 1 << 19  # float64 bytes per block: small enough to stay in cache
THREADS = min(4, os.cpu_count() or 1)  # numpy releases the GIL while it copies and partitions a block


def blocks(n: int, item_bytes: int) -> list[slice]:
    """Consecutive slices of range(n), each of about ``BLOCK_BYTES`` (at least one item of ``item_bytes``)."""
    step = max(1, BLOCK_BYTES // max(1, item_bytes))
    return [slice(a, min(n, a + step)) for a in range(0, n, step)]


def over_trials(x: np.ndarray) -> np.ndarray:
    """Per-trial values [T, ...] → float64 [4, ...]: p5, p50, p95 (linear) and mean over trials, as
    ``np.percentile(x, q, axis=0)`` and ``x.mean(axis=0)`` of x in float64 (a zero reads 0.0, never -0.0).
    Columns go in blocks (over ``THREADS`` threads), each copied to float64 with its trials contiguous; a
    constant column (most flows of small territories) is its own quantile, so only the others are
    partitioned."""
    T = x.shape[0]
    flat = x.reshape(T, -1)
    out = np.empty((len(STATS), flat.shape[1]))

    def block(cols: slice) -> None:
        v = np.ascontiguousarray(flat[:, cols].T, dtype=np.float64)  # [columns, T]
        lo, hi = v.min(axis=1), v.max(axis=1)
        vary = ~(lo == hi)  # NaN columns too
        quantiles = np.repeat(lo[None], len(QUANTILES), axis=0)
        quantiles[:, vary] = np.percentile(v[vary], [q for _, q in QUANTILES], axis=1, method="linear")
        out[:-1, cols] = quantiles
        out[-1, cols] = v.mean(axis=1)

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(block, blocks(flat.shape[1], 8 * T)))
    out += 0.0  # -0.0 → 0.0
    return out.reshape((len(STATS),) + x.shape[1:])


def group_sums(x: np.ndarray, groups: list[list[int]]) -> np.ndarray:
    """Per-territory values [T, C, ...] → float64 [T, G, ...]: each group's sum over its member territories
    (``groups``: lists of territory indices), as a 0/1 membership matrix [G, C] times x in float64, over
    blocks of trials."""
    T, C = x.shape[:2]
    member = np.zeros((len(groups), C))
    for g, territories in enumerate(groups):
        member[g, territories] = 1.0
    out = np.empty((T, len(groups), x[0, 0].size))
    for t in blocks(T, 8 * x[0].size):
        block = x[t].astype(np.float64)
        out[t] = member @ block.reshape(block.shape[0], C, -1)
    return out.reshape((T, len(groups)) + x.shape[2:])
