"""Distributions as written in scenario and assumption files, sampled by inverse CDF.

A spec is a number (fixed) or a one-key table, optionally with ``clip = [lo, hi]``::

    3.0                                   # fixed
    { fixed = 3.0 }
    { uniform = [0.3, 0.45] }
    { lognormal = { ci90 = [1e5, 4e5] } } # 90 % interval, 5th and 95th percentiles
    { normal = { ci90 = [-1, 1] }, clip = [0, 1] }

Every draw is ``ppf(u)`` of a uniform ``u``, so Monte Carlo, Latin hypercube and Sobol designs share
one path. The uniforms of a parameter come from a stream keyed by (seed, parameter name): changing
one parameter, or adding another, does not reshuffle the draws of the rest (common random numbers). A
``Design`` gives some parameters' uniforms row by row instead (a sensitivity design) and names the trial
whose own noise each row uses.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import stats

from .errors import SimInputError

U_MIN, U_MAX = 1e-12, 1 - 1e-12  # uniforms are clipped to this interval before the inverse CDF
_Z90 = stats.norm.ppf(0.95)  # 1.6449: half-width of a 90 % normal interval in standard deviations
KINDS = ("fixed", "uniform", "lognormal", "normal")


@dataclass(frozen=True)
class Design:
    """Rows of a design: the uniforms of some inputs given per row, and the trial whose own noise (order
    draws, AR(1) innovations) each row uses, keyed apart from the design so that rows can share it."""

    u: dict[str, np.ndarray]  # input name → float64 [T] in [0, 1] (clipped to [U_MIN, U_MAX])
    noise: np.ndarray  # int64 [T]: the trial index whose noise each row uses

    @property
    def rows(self) -> int:
        return len(self.noise)


@dataclass(frozen=True)
class Dist:
    """A parsed distribution: ``kind`` in KINDS with its parameters and an optional clip."""

    kind: str
    a: float
    b: float = 0.0
    clip: tuple[float, float] | None = None

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Quantile function applied to uniforms ``u`` in (0, 1)."""
        u = np.asarray(u, dtype=np.float64)
        # extreme parameters (an inf or overflowing scale) give NaN draws, which the valid-range check refuses
        # in one line; scipy's RuntimeWarnings about them would add lines to that error
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            if self.kind == "fixed":
                x = np.full_like(u, self.a)
            elif self.kind == "uniform":
                x = stats.uniform.ppf(u, loc=self.a, scale=self.b - self.a)
            elif self.kind == "normal":
                x = stats.norm.ppf(u, loc=self.a, scale=self.b)
            else:  # lognormal: a = mu, b = sigma of log
                x = stats.lognorm.ppf(u, s=self.b, scale=np.exp(self.a))
        if self.clip is not None:
            x = np.clip(x, *self.clip)
        return x

    @property
    def median(self) -> float:
        return float(self.ppf(np.array([0.5]))[0])

    def support(self) -> tuple[float, float]:
        """The smallest and largest value a draw can take (``ppf`` at the clipped uniforms' ends)."""
        lo, hi = self.ppf(np.array([U_MIN, U_MAX]))
        return float(lo), float(hi)


def check_range(d: Dist, valid: tuple[float, float], path: object, field: str) -> None:
    """Refuse ``d`` when some of its possible draws fall outside ``valid`` (closed interval)."""
    lo, hi = d.support()
    if not (valid[0] <= lo and hi <= valid[1]):
        raise SimInputError(
            path, field, f"draws span [{lo:.4g}, {hi:.4g}], outside the valid range [{valid[0]:g}, {valid[1]:g}]"
        )


def parse(spec: object, path: object, field: str) -> Dist:
    """Parse a distribution spec; raise SimInputError naming ``path`` and ``field`` when malformed."""
    if isinstance(spec, bool):
        raise SimInputError(path, field, "expected a number or a distribution table, got a boolean")
    if isinstance(spec, (int, float)):
        return Dist("fixed", _number(spec, path, field))
    if not isinstance(spec, dict):
        raise SimInputError(path, field, f"expected a number or a distribution table, got {spec!r}")
    spec = dict(spec)
    clip = spec.pop("clip", None)
    if len(spec) != 1 or next(iter(spec)) not in KINDS:
        raise SimInputError(
            path, field, f"expected exactly one of {', '.join(KINDS)} (and optional clip), got {sorted(spec)}"
        )
    kind, arg = next(iter(spec.items()))
    sub = f"{field}.{kind}"
    if clip is not None:
        lo_c, hi_c = _pair(clip, path, f"{field}.clip")
        clip = (lo_c, hi_c)
    if kind == "fixed":
        return Dist("fixed", _number(arg, path, sub), clip=clip)
    if kind == "uniform":
        lo, hi = _pair(arg, path, sub)
        return Dist("uniform", lo, hi, clip)
    if not isinstance(arg, dict) or set(arg) != {"ci90"}:
        raise SimInputError(path, sub, "expected { ci90 = [lo, hi] }")
    lo, hi = _pair(arg["ci90"], path, f"{sub}.ci90")
    if kind == "normal":
        return Dist("normal", (lo + hi) / 2, max((hi - lo) / (2 * _Z90), 0.0), clip)
    if lo <= 0:
        raise SimInputError(path, f"{sub}.ci90", f"lognormal bounds must be > 0, got {lo}")
    mu, sigma = (np.log(lo) + np.log(hi)) / 2, (np.log(hi) - np.log(lo)) / (2 * _Z90)
    return Dist("lognormal", float(mu), float(sigma), clip)


def _number(x: object, path: object, field: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not np.isfinite(x):
        raise SimInputError(path, field, f"expected a finite number, got {x!r}")
    return float(x)


def _pair(x: object, path: object, field: str) -> tuple[float, float]:
    if not isinstance(x, list) or len(x) != 2:
        raise SimInputError(path, field, f"expected [lo, hi], got {x!r}")
    lo, hi = _number(x[0], path, field), _number(x[1], path, field)
    if lo > hi:
        raise SimInputError(path, field, f"lower bound {lo} > upper bound {hi}")
    return lo, hi


def interval(lo: float, hi: float, path: object, field: str) -> Dist:
    """A lognormal with the 90 % interval [lo, hi] (its median the geometric mean), or ``lo`` fixed where the
    interval is a point: how the data files' documented ranges become distributions."""
    spec = {"fixed": float(lo)} if lo == hi else {"lognormal": {"ci90": [float(lo), float(hi)]}}
    return parse(spec, path, field)


def name_seed(seed: int, name: str) -> np.random.SeedSequence:
    """The SeedSequence of parameter ``name`` under root ``seed`` (stable across processes)."""
    digest = hashlib.sha256(name.encode()).digest()
    return np.random.SeedSequence(entropy=seed, spawn_key=(int.from_bytes(digest[:8], "little"),))


def uniforms(seed: int, name: str, n_trials: int, design: Design | None = None) -> np.ndarray:
    """``n_trials`` uniforms in (0, 1) for parameter ``name``; trial i always gets the same value. With a
    ``design``: its uniforms for the inputs it gives, and for the others the value of the trial whose noise
    each row uses (an input outside the design is held with the noise)."""
    if design is not None and name in design.u:
        return np.clip(np.asarray(design.u[name], dtype=np.float64), U_MIN, U_MAX)
    if design is None:
        u = np.random.Generator(np.random.PCG64(name_seed(seed, name))).random(n_trials)
    else:
        u = stream_rows(name_seed(seed, name), design.noise)[:, 0]
    return np.clip(u, U_MIN, U_MAX)


def stream_rows(seq: np.random.SeedSequence, rows: np.ndarray, width: int = 1) -> np.ndarray:
    """float64 [len(rows), width]: rows ``rows`` of the uniforms a PCG64 stream from ``seq`` gives when drawn
    ``width`` at a time (row r is draws r·width ... r·width + width − 1), without drawing the rows before: the
    generator jumps ahead (``PCG64.advance``: one step per float64), so a block of late trials costs its own
    rows only."""
    rows = np.asarray(rows, dtype=np.int64)
    uniq = np.unique(rows)
    out = np.empty((uniq.size, width))
    bits, at, i = np.random.PCG64(seq), 0, 0
    while i < uniq.size:  # runs of consecutive rows
        j = i + 1
        while j < uniq.size and uniq[j] == uniq[j - 1] + 1:
            j += 1
        bits.advance(int(uniq[i] - at) * width)
        out[i:j] = np.random.Generator(bits).random((j - i, width))
        at, i = int(uniq[j - 1]) + 1, j
    return out[np.searchsorted(uniq, rows)]


def draw(dists: dict[str, Dist], seed: int, n_trials: int, design: Design | None = None) -> dict[str, np.ndarray]:
    """Draw every distribution for ``n_trials`` trials, each from its own name-keyed stream (or the design)."""
    return {name: d.ppf(uniforms(seed, name, n_trials, design)) for name, d in dists.items()}
