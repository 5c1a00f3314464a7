"""Counting values into bins whose edges are given per column: the kernel of a streamed summary
(sim/metrics/streamed.py), which keeps, per cell of the summary, how many trials fell below, on and between
K sorted cut points instead of every trial's value.

Bins of column n, 2K + 1 of them, in value order: ``2k`` holds the values strictly between cut k − 1 and cut
k (below cut 0 for k = 0, above cut K − 1 for k = K), ``2k + 1`` the values equal to cut k (the first of equal
cuts). Each bin also keeps the smallest and largest value it holds, so an order statistic that falls in a
bin is bracketed by values that occurred. NaN is not counted (the caller counts it). ``count_bins_reference``
is the plain NumPy twin the tests cross-check it with.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .cache import keyed


@njit(parallel=True, cache=True)
def count_bins(values: np.ndarray, cuts: np.ndarray, counts: np.ndarray, low: np.ndarray, high: np.ndarray) -> None:
    """Add the values [N, B] (column n's B values in row n) to ``counts`` [N, 2K + 1] (uint32) and to the bins'
    smallest and largest values ``low``, ``high`` [N, 2K + 1] (float32: start at +inf and -inf) by the sorted
    cuts [N, K] of each column; each column on its own thread, so the results do not depend on the threads."""
    N, B = values.shape
    K = cuts.shape[1]
    for n in prange(N):
        for b in range(B):
            v = values[n, b]
            if v != v:
                continue
            lo, hi = 0, K  # the number of cuts below v
            while lo < hi:
                mid = (lo + hi) // 2
                if cuts[n, mid] < v:
                    lo = mid + 1
                else:
                    hi = mid
            k = 2 * lo + 1 if lo < K and cuts[n, lo] == v else 2 * lo
            counts[n, k] += 1
            if v < low[n, k]:
                low[n, k] = v
            if v > high[n, k]:
                high[n, k] = v


keyed(count_bins)


def count_bins_reference(
    values: np.ndarray, cuts: np.ndarray, counts: np.ndarray, low: np.ndarray, high: np.ndarray
) -> None:
    """The same with numpy, a column at a time (the oracle of ``count_bins``)."""
    K = cuts.shape[1]
    for n in range(values.shape[0]):
        v = values[n][~np.isnan(values[n])]
        below = np.searchsorted(cuts[n], v, side="left")
        on = (below < K) & (cuts[n][np.minimum(below, K - 1)] == v)
        k = 2 * below + on
        np.add.at(counts[n], k, 1)
        np.minimum.at(low[n], k, v)
        np.maximum.at(high[n], k, v)
