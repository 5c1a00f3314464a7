"""The four global sensitivity methods, through SALib: a design over the inputs' uniforms and the indices of
one output. ``sobol``: Saltelli's extension of a scrambled Sobol sequence, first-order and total indices (no
second order); ``morris``: elementary effects on 4-level trajectories (mu*, sigma); ``delta``: Borgonovo's
moment-independent delta (and a first-order index) on a Latin hypercube; ``pawn``: PAWN's KS-statistic
summaries on a Latin hypercube. Confidence intervals are SALib's bootstrap (95 %)."""

from __future__ import annotations

import warnings

import numpy as np
from SALib.analyze import delta as delta_analyze
from SALib.analyze import morris as morris_analyze
from SALib.analyze import pawn as pawn_analyze
from SALib.analyze import sobol as sobol_analyze
from SALib.sample import latin
from SALib.sample import morris as morris_sample
from SALib.sample import sobol as sobol_sample

from ..errors import SimInputError
from .problem import Problem

METHODS = ("sobol", "morris", "delta", "pawn")
DEFAULT_N = {"sobol": 256, "morris": 10, "delta": 1000, "pawn": 1000}  # base samples, trajectories, points
LEVELS = 4  # Morris grid levels
# Morris levels sit at the middle of LEVELS equal bins of (0, 1) (1/8 ... 7/8), not at 0 and 1, where an
# unbounded distribution's inverse CDF runs to its far tail
MORRIS_BOUNDS = (0.5 / LEVELS, 1.0 - 0.5 / LEVELS)
# the index a method ranks factors by (tornado figures, the closing table), then the others it reports
MAIN = {"sobol": "ST", "morris": "mu_star", "delta": "delta", "pawn": "median"}


def salib_seed(seed: int) -> int:
    """A seed SALib can take for ``seed`` (any size): in [1, 2**32 − 1] (it seeds numpy's legacy generator, which
    takes 32 bits, and skips seeding at 0), derived from the scenario's seed."""
    return int(np.random.SeedSequence(seed).generate_state(1)[0]) % (2**32 - 1) + 1


def check(problem: Problem, method: str, n: int) -> None:
    """Refuse a method, sample size or grouping that cannot work, naming the argument."""
    if method not in METHODS:
        raise SimInputError("command line", "--method", f"unknown method {method!r} (one of {', '.join(METHODS)})")
    if method == "sobol" and (n < 2 or n & (n - 1)):
        raise SimInputError("command line", "--n", f"Sobol needs a power of 2 (>= 2) base samples, got {n}")
    if method in ("delta", "pawn") and n < 20:
        raise SimInputError("command line", "--n", f"{method} needs at least 20 points, got {n}")
    if method == "morris" and n < 2:
        raise SimInputError("command line", "--n", f"Morris needs at least 2 trajectories, got {n}")
    if method == "delta" and problem.grouped:
        raise SimInputError("command line", "--groups", "SALib's delta has no grouped form (use sobol, morris or pawn)")


def rows(problem: Problem, method: str, n: int) -> int:
    """The number of design points (trials) the method needs."""
    k = len(problem.factors)
    return {"sobol": n * (k + 2), "morris": n * (k + 1)}.get(method, n)


def sample(problem: Problem, method: str, n: int, seed: int) -> np.ndarray:
    """float64 [rows, inputs]: the design, uniforms in (0, 1) per input (columns ``problem.names``)."""
    check(problem, method, n)
    seed = salib_seed(seed)
    if method == "sobol":
        return sobol_sample.sample(problem.salib(), n, calc_second_order=False, seed=seed)
    if method == "morris":
        return morris_sample.sample(problem.salib(MORRIS_BOUNDS), n, num_levels=LEVELS, seed=seed)
    return latin.sample(problem.salib(), n, seed=seed)


def analyze(problem: Problem, method: str, X: np.ndarray, y: np.ndarray, seed: int) -> list[dict]:
    """The indices of output ``y`` [rows] on design ``X``: rows of (factor, index, estimate, conf), conf the
    half-width of the 95 % bootstrap interval (NaN where the method gives none). An output that does not vary
    has no indices (an empty list)."""
    y = np.asarray(y, dtype=np.float64)
    if not np.isfinite(y).all() or np.ptp(y) == 0:
        return []
    seed = salib_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SALib's notes on sample sizes and on scipy's deprecations
        if method == "sobol":
            s = sobol_analyze.analyze(problem.salib(), y, calc_second_order=False, seed=seed)
            keys = [("S1", "S1_conf"), ("ST", "ST_conf")]
        elif method == "morris":
            s = morris_analyze.analyze(problem.salib(MORRIS_BOUNDS), X, y, num_levels=LEVELS, seed=seed)
            keys = [("mu_star", "mu_star_conf"), ("sigma", None), ("mu", None)]
        elif method == "delta":
            s = delta_analyze.analyze(problem.salib(), X, y, seed=seed)
            keys = [("delta", "delta_conf"), ("S1", "S1_conf")]
        else:
            s = pawn_analyze.analyze(problem.salib(), X, y, seed=seed)
            keys = [("median", None), ("maximum", None)]
    factors = problem.factors
    out = []
    if "delta" not in s and "delta_raw" in s:  # SALib >= 1.5.1 names Borgonovo's estimate delta_raw
        s["delta"], s["delta_conf"] = s["delta_raw"], s["delta_raw_conf"]
    for index, conf in keys:
        est = np.asarray(s[index], dtype=np.float64)
        ci = np.asarray(s[conf], dtype=np.float64) if conf else np.full(len(factors), np.nan)
        for i, f in enumerate(factors):
            out.append({"factor": f, "index": index, "estimate": float(est[i]), "conf": float(ci[i])})
    return out
