"""Compile a regime to per-quarter arrays for the kernel. A dated value applies to a quarter when it is
in force at the quarter's midpoint; beyond ``horizon_end`` the last values hold (and outputs say so)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from .. import quarters
from ..chips import Thresholds, classify
from ..errors import DataError
from ..kernel.layout import POLICY_CODES, FREE
from ..world import World
from . import Regime

_THRESHOLD_PARAMS = {
    "a_tpp": "eccn.a_tpp", "a_tpp_with_pd": "eccn.a_tpp_with_pd", "a_pd": "eccn.a_pd",
    "b_tpp_low": "eccn.b_tpp_low", "b_pd_low": "eccn.b_pd_low", "b_pd_mid": "eccn.b_pd_mid",
    "interconnect_gbps": "eccn.interconnect_gbps",
}


@dataclass
class RegimeArrays:
    """Rules per quarter. Shapes: Q quarters, C territories, K chips. TPP units for caps."""

    policy: np.ndarray         # int8 [Q, C, 2]: policy for 3A090.a and 3A090.b chips
    chip_class: np.ndarray     # int8 [Q, K]: 0 uncontrolled (or outside US jurisdiction), 1 .a, 2 .b
    alloc: np.ndarray          # float64 [Q, C]: national allocation (TPP, G2G multiplier applied); inf = none
    lpp: np.ndarray            # float64 [Q]: LPP allowance per consignee per calendar year (TPP); 0 = none
    uveu_lim: np.ndarray       # float64 [Q, 3]: outside Tier 1, single country, outside US (shares); 0 = no UVEU
    nveu_cap: np.ndarray       # float64 [Q]: cumulative TPP per NVEU per country; 0 = no NVEU
    tier1: np.ndarray          # uint8 [Q, C]: destination in Tier 1 (the class named tier1)
    dest_class: list[list[str]]  # [Q][C] name of the destination class
    held_after_horizon: np.ndarray  # bool [Q]: quarter lies beyond the regime's horizon


def thresholds_at(regime: Regime, date) -> Thresholds:
    kw = {k: float(regime.at(p, date)) for k, p in _THRESHOLD_PARAMS.items() if regime.at(p, date) is not None}
    return Thresholds(vintage=str(regime.at("eccn.vintage", date, "2023")), **kw)


def compile_regime(regime: Regime, world: World, chips: pl.DataFrame, labels: list[str],
                   g2g: dict[str, float], nveu: list[str]) -> RegimeArrays:
    Q, C, K = len(labels), len(world.iso3), chips.height
    idx = world.index()
    policy = np.zeros((Q, C, 2), np.int8)
    chip_class = np.zeros((Q, K), np.int8)
    alloc = np.full((Q, C), np.inf)
    lpp, nveu_cap = np.zeros(Q), np.zeros(Q)
    uveu_lim = np.zeros((Q, 3))
    tier1 = np.zeros((Q, C), np.uint8)
    held = np.zeros(Q, bool)
    dest_class: list[list[str]] = []
    us = chips["us_jurisdiction"].cast(pl.Boolean).to_numpy()
    for q, lab in enumerate(labels):
        date = quarters.midpoint(lab)
        held[q] = regime.horizon_end is not None and date > regime.horizon_end
        if held[q]:
            date = regime.horizon_end
        th = thresholds_at(regime, date)
        for k, (t, pd, ic) in enumerate(chips.select("tpp", "pd", "interconnect_gbps").iter_rows()):
            chip_class[q, k] = classify(t, pd, ic or 0.0, th) if us[k] else 0
        order = regime.at("destinations.order", date)
        names = ["(none)"] * C
        if order is None:  # no rule in force yet: everything free
            dest_class.append(names)
            continue
        assigned = np.zeros(C, bool)
        for cls in order:
            fld = f"destinations.{cls}.countries"
            items = regime.at(fld, date)
            if items is None:
                raise DataError(regime.path, fld, f"no value in force on {date}")
            members = world.resolve(items, date, regime.path, fld)
            pa = POLICY_CODES[regime.at(f"destinations.{cls}.policy_a", date, "free")]
            pb = POLICY_CODES[regime.at(f"destinations.{cls}.policy_b", date, "free")]
            for iso in members:
                i = idx[iso]
                if not assigned[i]:
                    assigned[i] = True
                    policy[q, i] = (pa, pb)
                    names[i] = cls
                    tier1[q, i] = cls == "tier1"
        dest_class.append(names)
        cap = regime.at("caps.country_allocation_tpp", date)
        start = regime.at("caps.counting_start", date)
        if cap is not None and (start is None or quarters.to_date(start) <= quarters.midpoint(lab)):
            alloc[q, :] = float(cap)
            for iso, factor in g2g.items():
                alloc[q, idx[iso]] = float(cap) * factor
        lpp[q] = float(regime.at("lpp.allowance_tpp_per_year", date, 0.0))
        nveu_cap[q] = float(regime.at("nveu.installed_base_tpp", date, 0.0))
        uveu_lim[q] = [float(regime.at(f"uveu.{k}", date, 0.0)) for k in
                       ("max_share_outside_tier1", "max_share_single_country", "max_share_outside_us")]
    # the capped policy without an allocation would silently mean 'free': refuse it
    if np.any((policy == POLICY_CODES["capped"]).any(axis=2) & np.isinf(alloc)):
        raise DataError(regime.path, "caps.country_allocation_tpp", "a 'capped' policy is in force without an allocation")
    assert FREE == 0
    return RegimeArrays(policy, chip_class, alloc, lpp, uveu_lim, nveu_cap, tier1, dest_class, held)
