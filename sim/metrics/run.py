"""The metrics of one run: its outputs, the arrays derived from them and its tables, each computed once,
when first asked for (``functools.cached_property``), and shared by the tables that use them."""

from __future__ import annotations

from functools import cached_property

import numpy as np
import polars as pl

from ..world import World
from .capability import (
    TARGET_FLOP,
    THRESHOLDS,
    abroad_run,
    cluster_h100e,
    group_max,
    largest_run_flop,
    run_by_headquarters,
    weights_outcomes,
)
from .regions import Regions, regions
from .stats import group_sums
from .summary import summary_table
from .tables import capped, exhaustion_data, exhaustion_table, feasibility_data, feasibility_table, trials_table


class Metrics:
    """Metrics of the kernel's outputs ``out`` (an Outputs: T trials, C territories, Q quarters) of a run in
    ``world`` over quarters ``labels``, with the per-trial uncertain inputs ``draws`` and the compiled
    regime ``reg`` (RegimeArrays). Tables: ``summary``, ``feasibility``, ``exhaustion``, ``trials``."""

    def __init__(
        self,
        out,
        world: World,
        labels: list[str],
        draws: dict[str, np.ndarray],
        reg,
        abroad: list[int] = (),
        first_trial: int = 0,
    ):
        self.out, self.world, self.labels, self.draws, self.reg = out, world, labels, draws, reg
        self.first_trial = first_trial  # the run's trial number of the first trial of ``out`` (a block's)
        self.abroad = list(abroad)  # territory indices where Chinese developers rent clusters (Compiled.abroad)

    @cached_property
    def regions(self) -> Regions:
        return regions(self.world)

    @cached_property
    def compute(self) -> np.ndarray:
        """float64 [T, C, Q]: installed H100e (dense 16-bit FLOP/s), the stock summed over its channels."""
        stock = self.out.stock
        total = stock[..., 0].astype(np.float64)
        for k in range(1, stock.shape[-1]):
            total += stock[..., k]
        return total

    @cached_property
    def compute_groups(self) -> np.ndarray:
        """float64 [T, G, Q]: installed H100e of each bloc, then of the World."""
        return group_sums(self.compute, self.regions.groups)

    @cached_property
    def run_hq(self) -> np.ndarray:
        """float64 [T, C, Q]: the largest MFU-weighted cluster by headquarters, H100e, China's with the
        clusters its developers use abroad (``capability.run_by_headquarters``)."""
        idx = self.world.index()
        return run_by_headquarters(self.out, self.draws, self.reg, idx["CHN"], idx["USA"], self.abroad)

    @cached_property
    def abroad_run_flop(self) -> np.ndarray:
        """float64 [T, Q]: the largest run Chinese developers can train abroad (rented clusters, remote access)
        in 100 days, FLOP (``capability.abroad_run``)."""
        run = abroad_run(self.out, self.draws, self.reg, self.world.index()["USA"], self.abroad)
        return largest_run_flop(run[:, None, :], self.draws)[:, 0, :]

    @cached_property
    def largest_run_flop(self) -> np.ndarray:
        """float64 [T, C, Q]: FLOP of the largest run the firms headquartered in the territory can train on
        one of their clusters, wherever it is, in 100 days (the headline view)."""
        return largest_run_flop(self.run_hq, self.draws)

    @cached_property
    def largest_run_flop_location(self) -> np.ndarray:
        """float64 [T, C, Q]: the same on any cluster located in the territory, whoever owns it."""
        return largest_run_flop(self.out.run_loc, self.draws)

    @cached_property
    def largest_run_flop_sampled_days(self) -> np.ndarray:
        """float64 [T, C, Q]: the headline run over each trial's longest run (``training.max_days``)."""
        return largest_run_flop(self.run_hq, self.draws, days=None)

    @cached_property
    def largest_cluster_h100e(self) -> np.ndarray:
        """float64 [T, C, Q]: the largest co-located cluster located in the territory, H100e."""
        return cluster_h100e(self.out.cluster)

    @cached_property
    def largest_run_flop_groups(self) -> np.ndarray:
        """float64 [T, G, Q]: each bloc's (and the World's) largest run by headquarters."""
        return group_max(self.largest_run_flop, self.regions.groups)

    @cached_property
    def feasible_1e26(self) -> np.ndarray:
        """bool [T, C, Q]: the firms headquartered in the territory can train 1e26 FLOP in 100 days."""
        return self.largest_run_flop >= TARGET_FLOP

    @cached_property
    def thresholds(self) -> tuple[float, ...]:
        return THRESHOLDS

    @cached_property
    def weights_outcomes(self) -> tuple[np.ndarray, np.ndarray]:
        """bool [T, C, Q] ×2: the headline run's weights would be controlled; and face a presumption of
        denial for export (``capability.weights_outcomes``)."""
        return weights_outcomes(self.largest_run_flop, self.reg)

    @cached_property
    def capped(self) -> np.ndarray:
        """bool [C]: the territory is under a national allocation in some quarter."""
        return capped(self.reg)

    @cached_property
    def summary(self) -> pl.DataFrame:
        return summary_table(self)

    @cached_property
    def feasibility(self) -> pl.DataFrame:
        return feasibility_table(feasibility_data(self), self.world, self.labels, self.thresholds)

    @cached_property
    def exhaustion(self) -> pl.DataFrame:
        return exhaustion_table(exhaustion_data(self), self.capped, self.world.iso3, self.labels)

    @cached_property
    def trials(self) -> pl.DataFrame:
        return trials_table(self)
