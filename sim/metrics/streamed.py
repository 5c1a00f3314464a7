"""The summary of a run too large to keep, made as its blocks of trials finish (memory bounded by the summary's
cells, not by the trials).

Every cell of the summary (metric × region × quarter, the same as ``summary_table``'s) keeps, in place of each
trial's value: counts of the trials below, on and between K cut points, with each bin's smallest and largest
value (the kernel ``count_bins``), and the sum and sum of squares about a shift, for the mean. The cut points are
order statistics of a pilot, the run's first ``PILOT_TRIALS`` trials: every one near the ranks of p5, p50 and
p95 (± ``DENSE`` binomial standard deviations of the pilot's rank) and every ``SPARSE``-th elsewhere. So:
- means, their standard errors and probabilities are exact (sums and counts);
- each order statistic a quantile needs is known to lie in one bin, between the smallest and largest value
  the bin holds (exactly, when on a cut point: zeros, caps); the quantile is interpolated between them by its
  rank within the bin, and its Monte Carlo interval (``mc_low``, ``mc_high``) runs from the smallest value in
  the bin of the lower bounding rank to the largest in the bin of the upper one, each rounded outward by one
  float32 step: conservative, never narrower than the exact interval of the same trials. With a 1,000-trial
  pilot, a bin near a quantile holds ~0.1 % of the trials (where the run's quantile lies within ± 4 standard
  deviations of the pilot's, else a sparse bin of 2.5 %: still a valid bracket).
Values are kept as float32 (relative rounding 6e-8). Blocks must be added in trial order: the float64 sums
depend on the order and on the blocks' size (a run's store pins --block), the counts do not; so a streamed run
gives identical numbers on any executor and thread count.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..kernel.binning import count_bins
from .stats import QUANTILES, STATS, Z95, _ranks, probability_interval

PILOT_TRIALS = 1000  # the run's first trials, whose order statistics are the cut points
DENSE = 4.0  # every pilot order statistic within ± 4 binomial standard deviations of a quantile's rank
SPARSE = 25  # elsewhere every 25th


def cut_ranks(n: int) -> np.ndarray:
    """0-based ranks of the order statistics of an ``n``-trial pilot that serve as cut points."""
    ranks = set(range(0, n, SPARSE)) | {n - 1}
    for _, pct in QUANTILES:
        q = pct / 100.0
        half = max(1, int(np.ceil(DENSE * np.sqrt(n * q * (1.0 - q)))))
        centre = int(round(q * (n - 1)))
        ranks |= set(range(max(0, centre - half), min(n, centre + half + 1)))
    return np.array(sorted(ranks), np.int64)


@dataclass
class Cells:
    """The streamed statistics of one source of the summary's cells (N of them)."""

    cuts: np.ndarray  # float32 [N, K], sorted per row
    counts: np.ndarray  # uint32 [N, 2K + 1] (sim/kernel/binning.py)
    low: np.ndarray  # float32 [N, 2K + 1]: each bin's smallest value
    high: np.ndarray  # float32 [N, 2K + 1]: each bin's largest value
    shift: np.ndarray  # float64 [N]: the pilot's mean (sums about it lose less to cancellation)
    s1: np.ndarray  # float64 [N]: sum of (value − shift)
    s2: np.ndarray  # float64 [N]: sum of (value − shift)²
    nan: np.ndarray  # int64 [N]: trials whose value is NaN

    @classmethod
    def from_pilot(cls, pilot: np.ndarray) -> Cells:
        """The cut points of the pilot's values [P, N], counts still empty."""
        s = np.sort(pilot.T, axis=1)  # NaN last
        cuts = s[:, cut_ranks(pilot.shape[0])]
        cuts = np.where(np.isnan(cuts), np.float32(np.inf), cuts)  # a column with NaN reads NaN in the end anyway
        N, K = cuts.shape
        with np.errstate(invalid="ignore"):
            shift = np.nanmean(pilot, axis=0, dtype=np.float64) if pilot.size else np.zeros(N)
        shift = np.where(np.isfinite(shift), shift, 0.0)
        return cls(
            np.ascontiguousarray(cuts, np.float32),
            np.zeros((N, 2 * K + 1), np.uint32),
            np.full((N, 2 * K + 1), np.inf, np.float32),
            np.full((N, 2 * K + 1), -np.inf, np.float32),
            shift,
            np.zeros(N),
            np.zeros(N),
            np.zeros(N, np.int64),
        )

    def add(self, values: np.ndarray) -> None:
        """Count a block's values [B, N]."""
        v = np.ascontiguousarray(values.T, dtype=np.float32)  # [N, B]
        count_bins(v, self.cuts, self.counts, self.low, self.high)
        nan = np.isnan(v)
        self.nan += nan.sum(axis=1)
        d = np.where(nan, 0.0, v - self.shift[:, None])
        self.s1 += d.sum(axis=1)
        self.s2 += (d * d).sum(axis=1)

    def statistics(self, T: int) -> np.ndarray:
        """float64 [3, 4, N] as ``over_trials``: p5, p50, p95 and the mean over the ``T`` trials counted, each
        with its (conservative) 95 % Monte Carlo interval."""
        N = self.cuts.shape[0]
        out = np.empty((3, len(STATS), N))
        h, f, c, lo_rank, hi_rank = _ranks(T)
        t = h - f
        for a in range(0, N, 8192):  # cumulative counts a slice of cells at a time
            cells = slice(a, min(N, a + 8192))
            cum = np.cumsum(self.counts[cells], axis=1, dtype=np.int64)

            counts, low, high = self.counts[cells], self.low[cells], self.high[cells]
            rows = np.arange(cum.shape[0])

            def order_statistic(r: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
                """Estimate, lower and upper bound of each cell's 0-based rank-``r`` value: its bin's smallest
                and largest value, and between them by its rank within the bin."""
                b = np.minimum((cum <= r).sum(axis=1), cum.shape[1] - 1)  # its bin (NaN cells: any; NaN below)
                n_bin = counts[rows, b].astype(np.int64)
                within = r - (cum[rows, b] - n_bin)  # 0 … n_bin - 1
                lower, upper = low[rows, b].astype(np.float64), high[rows, b].astype(np.float64)
                frac = np.where(n_bin > 1, within / np.maximum(n_bin - 1, 1), 0.0)
                with np.errstate(invalid="ignore"):  # an empty bin (a NaN cell's) has ±inf bounds: NaN in the end
                    return lower + (upper - lower) * frac, lower, upper

            for j in range(len(QUANTILES)):
                a_f = order_statistic(int(f[j]))[0]
                a_c = a_f if c[j] == f[j] else order_statistic(int(c[j]))[0]
                d = a_c - a_f
                out[0, j, cells] = np.where(t[j] >= 0.5, a_c - d * (1.0 - t[j]), a_f + d * t[j])
                lo = order_statistic(int(lo_rank[j]))[1].astype(np.float32)  # float32 values: one step outward
                hi = order_statistic(int(hi_rank[j]))[2].astype(np.float32)
                out[1, j, cells] = np.where(lo == 0, lo, np.nextafter(lo, np.float32(-np.inf)))  # zeros are exact
                out[2, j, cells] = np.where(hi == 0, hi, np.nextafter(hi, np.float32(np.inf)))
        mean = self.shift + self.s1 / T
        var = np.maximum(self.s2 - self.s1 * self.s1 / T, 0.0) / (T - 1) if T > 1 else np.full(N, np.nan)
        se = np.sqrt(var / T)
        out[0, -1], out[1, -1], out[2, -1] = mean, mean - Z95 * se, mean + Z95 * se
        out[:, :, self.nan > 0] = np.nan
        return out + 0.0  # -0.0 → 0.0

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        return {f"{prefix}.{k}": getattr(self, k) for k in self.__dataclass_fields__}

    @classmethod
    def from_arrays(cls, z, prefix: str) -> Cells:
        return cls(*(z[f"{prefix}.{k}"] for k in cls.__dataclass_fields__))


def save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` to ``path`` (.npz) under a temporary name, then rename it: a file that exists is whole."""
    tmp = path.with_name(f".{path.name}")
    with open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    tmp.replace(path)


class StreamedSummary:
    """The summary's statistics over blocks of trials added in order. ``shapes``: per source of the summary's
    specs (``summary_specs``, in order), None for a probability, else the per-trial shape (R, Q) of its
    values. A block is one array per source: float32 values [B, R, Q], or a probability's hit counts [R, Q]."""

    def __init__(self, shapes: list[tuple[int, ...] | None], pilot: int = PILOT_TRIALS):
        self.shapes, self.pilot = shapes, pilot
        self.T = 0
        self.pending: list[list[np.ndarray]] = []  # the pilot's blocks, until it is complete
        self.cells: list[Cells | None] | None = None
        self.hits = [None if s is not None else 0 for s in shapes]

    def add(self, block: list[np.ndarray]) -> None:
        B = next((len(v) for v, s in zip(block, self.shapes) if s is not None), 0)
        self.T += B
        for i, (v, s) in enumerate(zip(block, self.shapes)):
            if s is None:
                self.hits[i] = self.hits[i] + v
        if self.cells is None:
            self.pending.append(block)
            if self.T >= self.pilot:
                self._start()
        else:
            self._count(block)

    def _start(self) -> None:
        """Set the cut points from the first ``pilot`` trials (whatever the blocks' size), then count the blocks
        that waited for them."""
        pilot = [
            None if s is None else np.concatenate([b[i].reshape(len(b[i]), -1) for b in self.pending])[: self.pilot]
            for i, s in enumerate(self.shapes)
        ]
        self.cells = [None if p is None else Cells.from_pilot(p) for p in pilot]
        for block in self.pending:
            self._count(block)
        self.pending = []

    def _count(self, block: list[np.ndarray]) -> None:
        for cells, v in zip(self.cells, block):
            if cells is not None:
                cells.add(v.reshape(len(v), -1))

    def statistics(self) -> list[np.ndarray]:
        """Per source: float64 [3, 4, R, Q] (values: ``Cells.statistics``) or [3, 1, R, Q] (a probability with
        its Wilson interval)."""
        if self.cells is None:
            self._start()
        return [
            probability_interval(self.hits[i] / self.T, self.T)
            if s is None
            else self.cells[i].statistics(self.T).reshape((3, len(STATS)) + s)
            for i, s in enumerate(self.shapes)
        ]

    def save(self, path: Path) -> None:
        """Write the state (after the pilot) to ``path`` (.npz), atomically."""
        if self.cells is None:
            raise RuntimeError("the state is saved once the pilot has set the cut points")
        arrays = {"T": np.array(self.T)}
        for i, s in enumerate(self.shapes):
            if s is None:
                arrays[f"{i}.hits"] = np.asarray(self.hits[i])
            else:
                arrays.update(self.cells[i].arrays(str(i)))
        save_npz(path, arrays)

    def load(self, path: Path) -> None:
        with np.load(path) as z:
            self.T = int(z["T"])
            self.cells = [None if s is None else Cells.from_arrays(z, str(i)) for i, s in enumerate(self.shapes)]
            self.hits = [z[f"{i}.hits"] if s is None else None for i, s in enumerate(self.shapes)]
        self.pending = []
