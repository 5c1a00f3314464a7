"""Metrics from the kernel's per-trial outputs, as tidy polars frames (``Metrics``: one run's tables).

- attainable compute: installed H100e (dense 16-bit FLOP/s; and by TPP) per territory, bloc and quarter,
  split by channel, with p5/p50/p95 and mean over trials; each bloc's share of world compute;
- training capability: per territory and quarter the largest run one cluster can train (FLOP, in 100
  days; by headquarters, the headline, and by location), and for 1e25-1e28 FLOP the probability, the first
  quarter it passes 50 % and each trial's first crossing quarter;
- quota exhaustion: per capped territory, the share of trials that use up the national allocation,
  the quarter they do, and the unmet demand;
- flows: ordered, shipped, denied, pending, unmet, grey market, diverted.
Labels: every quantity is "calculated" by the model from "estimated" inputs.
Units: H100e = H100-equivalents by dense 16-bit FLOP/s (989.5 TFLOP/s each); H100e_tpp = by TPP (15,832).
Quantiles are numpy's linear percentiles over trials of each territory's value and of each bloc's sum.
"""

from .capability import TARGET_FLOP, THRESHOLDS, largest_run_flop, weights_outcomes
from .regions import BLOC_DATE, Regions, bloc_members, regions
from .run import Metrics
from .stats import QUANTILES, STATS, group_sums, over_trials
from .summary import FLOW_UNITS

__all__ = [
    "BLOC_DATE",
    "FLOW_UNITS",
    "QUANTILES",
    "STATS",
    "TARGET_FLOP",
    "THRESHOLDS",
    "Metrics",
    "Regions",
    "bloc_members",
    "group_sums",
    "largest_run_flop",
    "over_trials",
    "regions",
    "weights_outcomes",
]
