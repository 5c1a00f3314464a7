"""Monte Carlo error: how far a statistic of T trials could move with more trials, so a reader knows whether
the trials suffice. A quantile gets a distribution-free 95 % interval from order statistics (the ranks a
binomial(T, q) count of trials below it spans); a probability gets its Wilson score interval, and a mean its
standard error and the normal 95 % interval."""

from __future__ import annotations

import numpy as np
from scipy import stats

LEVEL = 0.95


def order_ranks(n: int, q, level: float = LEVEL) -> tuple[np.ndarray, np.ndarray]:
    """0-based ranks (lo, hi) of the order statistics of ``n`` values that bound the ``q`` quantile (a number or
    an array) with confidence ``level``: x_(l) and x_(u), l and u the binomial(n, q) quantiles (1 - level)/2 and
    (1 + level)/2 (u + 1), clipped to the sample."""
    a = (1.0 - level) / 2.0
    lo = np.maximum(np.asarray(stats.binom.ppf(a, n, q)).astype(np.int64) - 1, 0)
    hi = np.minimum(np.asarray(stats.binom.ppf(1.0 - a, n, q)).astype(np.int64), n - 1)
    return lo, hi


def quantile_interval(x: np.ndarray, q: float, level: float = LEVEL) -> tuple[float, float]:
    """The ``level`` interval of the ``q`` quantile of the population ``x`` [T] is drawn from (``order_ranks``)."""
    s = np.sort(np.asarray(x, dtype=np.float64))
    lo, hi = order_ranks(s.size, q, level)
    return float(s[int(lo)]), float(s[int(hi)])


def binomial_se(p: float, n: int) -> float:
    """Standard error of a probability estimated as a share ``p`` of ``n`` trials."""
    return float(np.sqrt(max(p * (1.0 - p), 0.0) / n)) if n else float("nan")


def mean_se(x: np.ndarray) -> float:
    """Standard error of the mean of ``x`` [T] (sample standard deviation / sqrt(T))."""
    x = np.asarray(x, dtype=np.float64)
    return float(x.std(ddof=1) / np.sqrt(x.size)) if x.size > 1 else float("nan")


def describe(x: np.ndarray, quantiles=(0.05, 0.5, 0.95)) -> list[dict]:
    """Rows (statistic, value, mc_low, mc_high, mc_se) for the ``quantiles`` of ``x`` [T] and its mean."""
    x = np.asarray(x, dtype=np.float64)
    rows = []
    for q in quantiles:
        lo, hi = quantile_interval(x, q)
        rows.append({"statistic": f"p{round(q * 100)}", "value": float(np.quantile(x, q)), "mc_low": lo, "mc_high": hi})
    m, se = float(x.mean()), mean_se(x)
    z = stats.norm.ppf(0.5 + LEVEL / 2)
    rows.append({"statistic": "mean", "value": m, "mc_low": m - z * se, "mc_high": m + z * se})
    return rows


def wilson(p, n: int):
    """The 95 % Wilson score interval (low, high) of a share ``p`` (a number or an array) of ``n`` trials: unlike
    p ± 1.96 standard errors it is not empty at p = 0 or 1 (after 0 hits in 1,000 trials, up to 0.4 %)."""
    z = stats.norm.ppf(0.5 + LEVEL / 2)
    p = np.asarray(p, dtype=np.float64)
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(np.maximum(p * (1 - p), 0.0) / n + z * z / (4 * n * n))
    low = np.where(p <= 0.0, 0.0, np.clip(centre - half, 0.0, 1.0))  # exactly 0 (1) at no (every) hit
    return low, np.where(p >= 1.0, 1.0, np.clip(centre + half, 0.0, 1.0))


def probability(hit: np.ndarray) -> dict:
    """The row (statistic "probability", value, mc_low, mc_high) of the share of trials where ``hit`` [T], with
    its Wilson interval."""
    hit = np.asarray(hit, dtype=bool)
    p = float(hit.mean())
    lo, hi = wilson(p, hit.size)
    return {"statistic": "probability", "value": p, "mc_low": float(lo), "mc_high": float(hi)}
