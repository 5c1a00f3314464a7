"""Statistics over trials: quantiles and means of per-trial values, and sums over groups of territories.

Per-trial arrays carry trials on their first axis ([T, ...]); results are float64 in the unit of the input.
Quantiles are numpy's default linear method, each with its Monte Carlo interval; both helpers work over blocks
(of columns, of trials) so that no float64 copy of a whole output array is made.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

QUANTILES = (("p5", 5.0), ("p50", 50.0), ("p95", 95.0))
STATS = tuple(name for name, _ in QUANTILES) + ("mean",)  # the rows of ``over_trials``
BLOCK_BYTES = 1 << 19  # float64 bytes per block: small enough to stay in cache
THREADS = min(4, os.cpu_count() or 1)  # numpy releases the GIL while it copies and partitions a block
Z95 = 1.959963984540054  # the standard normal's 97.5 % quantile: a 95 % interval is ± Z95 standard errors


def blocks(n: int, item_bytes: int) -> list[slice]:
    """Consecutive slices of range(n), each of about ``BLOCK_BYTES`` (at least one item of ``item_bytes``)."""
    step = max(1, BLOCK_BYTES // max(1, item_bytes))
    return [slice(a, min(n, a + step)) for a in range(0, n, step)]


def _ranks(T: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For T trials and each quantile q of QUANTILES: numpy's linear virtual index h = (T − 1) q (its floor and
    ceiling), and the 0-based ranks of the order statistics that bound the q quantile with 95 % confidence
    (mc_error.order_ranks)."""
    from .mc_error import order_ranks

    q = np.array([pct for _, pct in QUANTILES]) / 100.0
    h = T * q + (1.0 - q) - 1.0  # numpy's virtual index for the linear method (alpha = beta = 1)
    lo, hi = order_ranks(T, q)
    return h, np.floor(h).astype(np.int64), np.minimum(np.ceil(h).astype(np.int64), T - 1), lo, hi


def over_trials(x: np.ndarray) -> np.ndarray:
    """Per-trial values [T, ...] → float64 [3, 4, ...]: for p5, p50, p95 (linear, as ``np.percentile``) and the
    mean over trials (axis 1), the value and its 95 % Monte Carlo interval (axis 0: value, mc_low, mc_high): the
    order statistics that bound each quantile (mc_error.quantile_interval) and mean ± 1.96 standard errors
    (NaN with one trial). A zero reads 0.0, never -0.0. Columns go in blocks (over ``THREADS`` threads), each
    copied to float64 with its trials contiguous and partitioned once at every rank needed; a constant column
    (most flows of small territories) is its own quantile and interval."""
    T = x.shape[0]
    flat = x.reshape(T, -1)
    out = np.empty((3, len(STATS), flat.shape[1]))
    h, f, c, lo_rank, hi_rank = _ranks(T)
    kth = np.unique(np.concatenate([f, c, lo_rank, hi_rank]))
    t = h - f

    def block(cols: slice) -> None:
        v = np.ascontiguousarray(flat[:, cols].T, dtype=np.float64)  # [columns, T]
        lo, hi = v.min(axis=1), v.max(axis=1)
        vary = ~(lo == hi)  # NaN columns too
        out[:, :-1, cols] = lo[None, None, :]
        part = np.partition(v[vary], kth, axis=1)
        a, b = part[:, f], part[:, c]  # [vary, 3]
        d = b - a
        value = np.where(t >= 0.5, b - d * (1.0 - t), a + d * t)  # numpy's linear interpolation
        nan = np.isnan(part).any(axis=1)  # a NaN trial makes the column's quantiles NaN, as in numpy
        value[nan] = np.nan
        at = np.flatnonzero(vary) + cols.start
        low, high = part[:, lo_rank], part[:, hi_rank]
        low[nan], high[nan] = np.nan, np.nan
        out[0, :-1, at], out[1, :-1, at], out[2, :-1, at] = value, low, high  # [at, 3]
        mean = v.mean(axis=1)
        se = v.std(axis=1, ddof=1) / np.sqrt(T) if T > 1 else np.full(mean.shape, np.nan)
        out[0, -1, cols], out[1, -1, cols], out[2, -1, cols] = mean, mean - Z95 * se, mean + Z95 * se

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(block, blocks(flat.shape[1], 8 * T)))
    out += 0.0  # -0.0 → 0.0
    return out.reshape((3, len(STATS)) + x.shape[1:])


def probability_interval(p: np.ndarray, T: int) -> np.ndarray:
    """Shares of ``T`` trials ``p`` [...] → float64 [3, 1, ...]: the share and its 95 % Wilson interval
    (mc_error.wilson: not empty at 0 or 1)."""
    from .mc_error import wilson

    lo, hi = wilson(p, T)
    return np.stack([np.asarray(p, dtype=np.float64), lo, hi])[:, None]


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
