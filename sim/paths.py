"""Uncertain inputs that move by quarter (time paths): a level at an anchor quarter, a growth factor per
calendar year and persistent multiplicative noise (AR(1)), drawn per trial.

In an assumption file a time path is a table with ``path`` instead of ``distribution``::

    [supply.nvidia_h100e_per_quarter]
    path = { anchor = "2025Q1", start = { lognormal = { ci90 = [1.55e6, 2.6e6] } },
             growth = { 2024 = 2.9, 2025 = { lognormal = { ci90 = [2.2, 3.2] } }, 2026 = 2.0 },
             ar1 = { rho = 0.7, sd = 0.05 } }

The level in quarter q is ``start × Π growth(year(j))^(1/4) × exp(e_q − sd²/2)`` over the quarters j
from the anchor up to q (divided out for quarters before the anchor), so ``growth[2025] = 2.7`` makes
2026Q1 2.7 times 2025Q1. Years after the last entry repeat it, years before the first use the first.
The noise ``e`` is a stationary AR(1) series per trial: ``e_0 ~ N(0, sd²)``, ``e_q = rho·e_{q−1} +
sqrt(1 − rho²)·sd·η_q``: ``rho`` is the correlation of one quarter's shock with the next (0: independent
quarters, near 1: a shock persists for years), ``sd`` its marginal log-standard deviation.

Every component is an ordinary named distribution of the assumption tree — ``<name>.start``,
``<name>.growth.<year>``, ``<name>.ar1.rho``, ``<name>.ar1.sd`` — so a scenario overrides any of them by
dotted name, and each is drawn from its own (seed, name) stream; the innovations η come from the stream
``<name>.ar1`` on a fixed calendar grid (2000Q1-2059Q4). A trial's path depends only on (seed, trial),
and a calendar quarter's value does not depend on the run's start or length.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from . import uncertainty
from .errors import SimInputError
from .quarters import parse_label


@dataclass(frozen=True)
class PathSpec:
    """The shape of a time path; its uncertain components live in the assumption tree by name."""

    name: str
    anchor: str  # quarter label where ``start`` applies
    years: tuple[int, ...]  # years with a growth entry, ascending

    def components(self) -> list[str]:
        return (
            [f"{self.name}.start"]
            + [f"{self.name}.growth.{y}" for y in self.years]
            + [f"{self.name}.ar1.rho", f"{self.name}.ar1.sd"]
        )


def parse(name: str, spec: object, path: object) -> tuple[PathSpec, dict[str, uncertainty.Dist]]:
    """Parse a ``path`` table of assumption ``name``; returns the spec and its component distributions."""
    fld = f"{name}.path"
    if not isinstance(spec, dict) or set(spec) - {"anchor", "start", "growth", "ar1"} or "start" not in spec:
        raise SimInputError(path, fld, "expected { anchor, start, growth, ar1 } (start required)")
    anchor = str(spec.get("anchor", "2025Q1"))
    try:
        parse_label(anchor)
    except ValueError as e:
        raise SimInputError(path, f"{fld}.anchor", str(e)) from None
    growth = spec.get("growth", {1900: 1.0})
    if not isinstance(growth, dict) or not growth:
        raise SimInputError(path, f"{fld}.growth", "expected a table year = distribution")
    dists = {f"{name}.start": uncertainty.parse(spec["start"], path, f"{fld}.start")}
    years = []
    for y, g in growth.items():
        if not str(y).isdigit():
            raise SimInputError(path, f"{fld}.growth.{y}", "expected a calendar year")
        years.append(int(y))
        dists[f"{name}.growth.{int(y)}"] = uncertainty.parse(g, path, f"{fld}.growth.{y}")
    ar1 = spec.get("ar1", {"rho": 0.0, "sd": 0.0})
    if not isinstance(ar1, dict) or set(ar1) != {"rho", "sd"}:
        raise SimInputError(path, f"{fld}.ar1", "expected { rho, sd }")
    dists[f"{name}.ar1.rho"] = uncertainty.parse(ar1["rho"], path, f"{fld}.ar1.rho")
    dists[f"{name}.ar1.sd"] = uncertainty.parse(ar1["sd"], path, f"{fld}.ar1.sd")
    return PathSpec(name, anchor, tuple(sorted(years))), dists


def check(spec: PathSpec, dists: dict[str, uncertainty.Dist], path: object) -> None:
    """Reject values a path cannot take: start and growth must be positive, |rho| < 1, sd ≥ 0."""
    for comp in spec.components():
        d = dists[comp]
        lo, hi = d.support()
        if comp.endswith(".rho") and not (-1 < lo and hi < 1):
            raise SimInputError(path, comp, "AR(1) rho must lie in (-1, 1)")
        elif comp.endswith(".sd") and lo < 0:
            raise SimInputError(path, comp, "AR(1) sd must be >= 0")
        elif (comp.endswith(".start") or ".growth." in comp) and lo <= 0:
            raise SimInputError(path, comp, "must be > 0")


def _qindex(label: str) -> int:
    y, q = parse_label(label)
    return 4 * y + q - 1


GRID = ("2000Q1", 240)  # calendar quarters on which AR(1) noise is drawn: 2000Q1-2059Q4


def ar1_noise(
    seed: int, name: str, rho: np.ndarray, sd: np.ndarray, T: int, labels: list[str], rows: np.ndarray | None = None
) -> np.ndarray:
    """Stationary AR(1) log-noise [T, Q] for quarters ``labels``, with per-trial ``rho`` and ``sd``. The
    series runs on a fixed calendar grid (GRID) with innovations from the stream ``<name>.ar1``, so a
    calendar quarter gets the same noise whatever the run's start and length, and trial i's row depends
    only on seed and i (``rows``: the trial whose innovations each row uses, default its own)."""
    g0, G = _qindex(GRID[0]), GRID[1]
    idx = np.array([_qindex(x) for x in labels]) - g0
    if idx.min() < 0 or idx.max() >= G:
        raise SimInputError("", f"{name}.ar1", f"quarters outside {GRID[0]} + {G} are not supported")
    seq = uncertainty.name_seed(seed, f"{name}.ar1")
    if rows is None:
        u = np.random.Generator(np.random.PCG64(seq)).random((T, G))
    else:
        u = uncertainty.stream_rows(seq, rows, G)
    eta = stats.norm.ppf(np.clip(u, 1e-12, 1 - 1e-12))
    e = np.empty((T, G))
    e[:, 0] = sd * eta[:, 0]
    w = np.sqrt(1.0 - rho * rho) * sd
    for q in range(1, G):
        e[:, q] = rho * e[:, q - 1] + w * eta[:, q]
    return e[:, idx]


def level(
    spec: PathSpec, draws: dict[str, np.ndarray], seed: int, labels: list[str], rows: np.ndarray | None = None
) -> np.ndarray:
    """The path [T, Q] over quarters ``labels`` from the per-trial component ``draws`` (``rows``: the trial
    whose AR(1) innovations each row uses, default its own)."""
    start = draws[f"{spec.name}.start"]
    T = start.shape[0]
    a = _qindex(spec.anchor)
    idx = np.array([_qindex(x) for x in labels])
    lo, hi = min(a, idx.min()), max(a, idx.max())
    years = np.array(spec.years)
    log_g = np.empty((T, hi - lo))  # step j → j + 1 for quarters lo ... hi - 1
    for j in range(lo, hi):
        y = j // 4
        y_used = years[years <= y].max() if (years <= y).any() else years.min()
        log_g[:, j - lo] = np.log(draws[f"{spec.name}.growth.{int(y_used)}"]) / 4.0
    cum = np.concatenate([np.zeros((T, 1)), np.cumsum(log_g, axis=1)], axis=1)  # log level at lo ... hi
    base = np.log(start)[:, None] + cum[:, idx - lo] - cum[:, [a - lo]]
    sd, rho = draws[f"{spec.name}.ar1.sd"], draws[f"{spec.name}.ar1.rho"]
    e = ar1_noise(seed, spec.name, rho, sd, T, labels, rows)
    return np.exp(base + e - 0.5 * (sd * sd)[:, None])
