"""The metrics a lever targets, per trial, from kernel outputs (all H100e by dense 16-bit FLOP/s unless said):
``stock`` installed at the quarter, all channels; ``legal`` its licence-free, licensed and VEU channels;
``grey``, ``smuggled``, ``diverted`` inflows summed from the run's start to the quarter; ``family:<name>`` the
stock of a chip family delivered during the run; ``revenue:<vendor>`` legal sales summed to the quarter (USD);
``weights_controlled`` the number of territories whose largest 1e26-FLOP run would have controlled weights
(ECCN 4E091); ``largest_run`` the largest run trainable in 100 days by the firms headquartered there (FLOP;
China's with the clusters its developers use abroad); ``abroad_run`` the largest run Chinese developers can train
abroad (rented clusters, remote access; FLOP in 100 days)."""

from __future__ import annotations

import numpy as np

from ..kernel import layout as L
from ..metrics.capability import abroad_run, largest_run_flop, run_by_headquarters, weights_outcomes
from ..scenario import Scenario
from .spec import FLOW_MEASURES, Lever, region_index

TEXT = {
    "stock": "installed stock",
    "legal": "legal stock (licence-free, licensed, VEU)",
    "grey": "diverted and smuggled inflow to date",
    "smuggled": "smuggled inflow to date",
    "diverted": "diverted inflow to date",
    "weights_controlled": "territories whose 1e26 run would have controlled weights",
    "largest_run": "largest run trainable in 100 days by headquarters (FLOP)",
    "abroad_run": "largest run Chinese developers can train abroad in 100 days (rented, remote; FLOP)",
}


def measure(lv: Lever, out, comp, sc: Scenario, rules=None) -> np.ndarray:
    """float64 [T]: the lever's metric in each trial of kernel outputs ``out``. ``comp`` (the compiled
    scenario with the rule) fixes the region; ``rules`` (the compiled regime ``out`` ran under, default
    ``comp.regime``) the weights threshold."""
    q = comp.labels.index(lv.quarter)
    idx = region_index(lv, sc, comp.regime.dest_class[q])
    kind, _, arg = lv.metric.partition(":")
    f8 = np.float64
    if kind == "stock":
        return out.stock[:, idx, q, :].sum(axis=(1, 2), dtype=f8)
    if kind == "legal":
        return out.stock[:, idx, q][..., [L.CH_FREE, L.CH_LICENSED, L.CH_VEU]].sum(axis=(1, 2), dtype=f8)
    if kind in FLOW_MEASURES:
        return out.flows[:, idx, : q + 1][..., list(FLOW_MEASURES[kind])].sum(axis=(1, 2, 3), dtype=f8)
    if kind == "family":
        return out.family[:, idx, q, L.FAMILIES.index(arg)].sum(axis=1, dtype=f8)
    if kind == "revenue":
        return out.revenue[:, idx, : q + 1, L.VENDORS.index(arg)].sum(axis=(1, 2), dtype=f8)
    rules = comp.regime if rules is None else rules
    world = sc.world.index()
    if kind == "abroad_run":  # China's developers abroad, FLOP in 100 days (the region is China's)
        channel = abroad_run(out, comp.draws, rules, world["USA"], comp.abroad)
        return largest_run_flop(channel[:, None, :], comp.draws)[:, 0, q]
    run = run_by_headquarters(out, comp.draws, rules, world["CHN"], world["USA"], comp.abroad)
    flop = largest_run_flop(run, comp.draws)
    if kind == "largest_run":  # the region's largest, FLOP in 100 days
        return flop[:, idx, q].max(axis=1)
    controlled, _ = weights_outcomes(flop, rules)  # weights_controlled
    return controlled[:, idx, q].sum(axis=1, dtype=f8)


def describe(metric: str, region: str, quarter: str) -> str:
    """The metric in words, for the table."""
    kind, _, arg = metric.partition(":")
    what = {"family": f"{arg} stock delivered", "revenue": f"{arg} revenue to date (USD)"}.get(kind) or TEXT[kind]
    return f"{what}, {'the class' + chr(39) + 's territories' if region == 'class' else region}, {quarter}"
