"""Compile a regime, or a timeline of regimes, to per-quarter arrays for the kernel.

A quarter takes the regime in force at its midpoint (a timeline switches rules at a quarter boundary
without restarting the simulation: caps, allowances and stocks carry over), and within it every
dated value in force at the midpoint. Beyond a regime's ``horizon_end`` its last values hold (and
outputs say so)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from .. import quarters
from ..chips import CLASS_NAMES, Thresholds, classify
from ..errors import DataError
from ..kernel.layout import POLICY_CODES
from ..world import World
from . import Regime

_THRESHOLD_PARAMS = {
    "a_tpp": "eccn.a_tpp",
    "a_tpp_with_pd": "eccn.a_tpp_with_pd",
    "a_pd": "eccn.a_pd",
    "b_tpp_low": "eccn.b_tpp_low",
    "b_pd_low": "eccn.b_pd_low",
    "b_pd_mid": "eccn.b_pd_mid",
    "interconnect_gbps": "eccn.interconnect_gbps",
}


@dataclass
class RegimeArrays:
    """Rules per quarter. Shapes: Q quarters, C territories, K chips. TPP units for caps."""

    policy: np.ndarray  # int8 [Q, C, 2]: policy for 3A090.a and 3A090.b chips
    policy_other: np.ndarray  # int8 [Q, C]: policy for US-jurisdiction chips outside 3A090 (folded into chip_override)
    chip_class: np.ndarray  # int8 [Q, K]: 0 uncontrolled (or outside US jurisdiction), 1 .a, 2 .b
    chip_override: np.ndarray  # int8 [Q, K, C]: a chip-specific rule's policy, a destination's embargo (which
    # wins over chip rules) or its policy for US chips outside 3A090 where not free; -1 where none applies
    alloc: np.ndarray  # float64 [Q, C]: national allocation (TPP, G2G multiplier applied); inf = none
    lpp: np.ndarray  # float64 [Q]: LPP allowance per consignee per calendar year (TPP); 0 = none
    uveu_lim: np.ndarray  # float64 [Q, 3]: outside Tier 1, single country, outside US (shares); 0 = no UVEU
    nveu_cap: np.ndarray  # float64 [Q]: cumulative TPP per NVEU per country; 0 = no NVEU
    tier1: np.ndarray  # uint8 [Q, C]: destination in Tier 1 (the class named tier1)
    allow_tpp: np.ndarray  # float64 [Q, C]: cumulative pre-approved TPP (bilateral deals); 0 = none
    share_ratio: np.ndarray  # float64 [Q]: 'licence_share' volume limit as a share of US volume
    share_chip: np.ndarray  # uint8 [Q, K]: the chip's US volume counts toward 'licence_share' (the rule's period)
    guidance_on: np.ndarray  # uint8 [Q, C]: diversion enforcement guidance applies to the territory
    lv_on: np.ndarray  # uint8 [Q]: location verification in force on controlled chips
    weights_threshold: np.ndarray  # float64 [Q]: training operations from which closed weights are controlled; 0 = none
    dest_class: list[list[str]]  # [Q][C] name of the destination class
    regime_name: list[str]  # [Q] regime in force
    held_after_horizon: np.ndarray  # bool [Q]: quarter lies beyond its regime's horizon
    train_guidance: np.ndarray  # uint8 [Q]: guidance against training Chinese models on US chips (abroad channels cut)
    remote_controlled: np.ndarray  # uint8 [Q]: remote access to controlled chips needs a licence (abroad channels shut)
    us_index: int = 0


Timeline = list[tuple[dt.date | None, Regime]]


def thresholds_at(regime: Regime, date) -> Thresholds:
    kw = {k: float(regime.at(p, date)) for k, p in _THRESHOLD_PARAMS.items() if regime.at(p, date) is not None}
    return Thresholds(vintage=str(regime.at("eccn.vintage", date, "2023")), **kw)


def regime_at(timeline: Timeline, date: dt.date) -> Regime:
    """The regime binding on ``date``: the timeline's entry in force (the first one before any start
    date), or its base while its compliance date (``compliance.date``) has not come."""
    current = timeline[0][1]
    for start, reg in timeline:
        if start is None or start <= date:
            current = reg
    while current.base is not None:
        due = current.at("compliance.date", date)
        if due is None or quarters.to_date(due) <= date:
            break
        current = current.base
    return current


def _rule_names(regime: Regime, prefix: str) -> list[str]:
    """Names of the sub-tables under ``prefix`` (e.g. chip_rules.h20_china), in file order."""
    out = []
    for name in regime.params:
        if name.startswith(prefix + "."):
            rule = name[len(prefix) + 1 :].split(".")[0]
            if rule not in out:
                out.append(rule)
    return out


def _select_chips(regime: Regime, rule: str, date, chips: pl.DataFrame, classes: np.ndarray) -> np.ndarray:
    """bool [K]: chips a chip rule names (chip names, ``vendor:X``, ``class:3A090.a``), then filtered by
    its optional ``max_tpp`` and ``max_memory_bw_gbs`` (strictly below)."""
    fld = f"chip_rules.{rule}.chips"
    items = regime.at(fld, date, [])
    names = chips["name"].to_list()
    sel = np.zeros(len(names), bool)
    for it in items:
        if it.startswith("vendor:"):
            sel |= (chips["vendor"] == it[7:]).to_numpy()
        elif it.startswith("class:"):
            code = {v: k for k, v in CLASS_NAMES.items()}.get(it[6:])
            if code is None:
                raise DataError(regime.path, fld, f"unknown class {it[6:]!r}")
            sel |= classes == code
        elif it in names:
            sel[names.index(it)] = True
        else:
            raise DataError(regime.path, fld, f"unknown chip {it!r}")
    max_tpp = regime.at(f"chip_rules.{rule}.max_tpp", date)
    if max_tpp is not None:
        sel &= chips["tpp"].to_numpy() < float(max_tpp)
    max_bw = regime.at(f"chip_rules.{rule}.max_memory_bw_gbs", date)
    if max_bw is not None:
        bw = chips["memory_bw_tbs"].fill_null(np.inf).to_numpy() * 1000.0
        sel &= bw < float(max_bw)
    return sel


def _fold_destination_policies(override, cls, policy, other, us) -> None:
    """Fold a quarter's destination policies into its chip overrides [K, C] (in place): an embargo wins over
    chip rules for every US-jurisdiction chip; a non-free policy for US chips outside 3A090 applies where no
    chip rule does. Chips outside US jurisdiction meet neither."""
    emb = POLICY_CODES["embargo"]
    for k in np.flatnonzero(us):
        dest = other if cls[k] == 0 else policy[:, cls[k] - 1]  # [C]
        override[k, dest == emb] = emb
        if cls[k] == 0:
            fill = (override[k] < 0) & (other != POLICY_CODES["free"])
            override[k, fill] = other[fill]


def compile_regime(
    timeline: Timeline | Regime,
    world: World,
    chips: pl.DataFrame,
    labels: list[str],
    g2g: dict[str, float],
    nveu: list[str],
) -> RegimeArrays:
    if isinstance(timeline, Regime):
        timeline = [(None, timeline)]
    Q, C, K = len(labels), len(world.iso3), chips.height
    idx = world.index()
    names = chips["name"].to_list()
    policy = np.zeros((Q, C, 2), np.int8)
    policy_other = np.zeros((Q, C), np.int8)
    chip_class = np.zeros((Q, K), np.int8)
    chip_override = np.full((Q, K, C), -1, np.int8)
    alloc = np.full((Q, C), np.inf)
    lpp, nveu_cap, share_ratio = np.zeros(Q), np.zeros(Q), np.zeros(Q)
    uveu_lim = np.zeros((Q, 3))
    tier1 = np.zeros((Q, C), np.uint8)
    allow_tpp = np.zeros((Q, C))
    share_chip = np.zeros((Q, K), np.uint8)
    guidance_on = np.zeros((Q, C), np.uint8)
    lv_on, weights_threshold = np.zeros(Q, np.uint8), np.zeros(Q)
    train_guidance, remote_controlled = np.zeros(Q, np.uint8), np.zeros(Q, np.uint8)
    held = np.zeros(Q, bool)
    dest_class: list[list[str]] = []
    regime_name: list[str] = []
    us = chips["us_jurisdiction"].cast(pl.Boolean).to_numpy()
    dc = chips["data_center"].cast(pl.Boolean).to_numpy()
    share_any = np.zeros(K, bool)  # chips a 'licence_share' rule ever names
    share_from: dt.date | None = None  # the earliest date from which their US volume counts
    for q, lab in enumerate(labels):
        mid = quarters.midpoint(lab)
        regime = regime_at(timeline, mid)
        regime_name.append(regime.name)
        held[q] = regime.horizon_end is not None and mid > regime.horizon_end
        date = regime.horizon_end if held[q] else mid
        th = thresholds_at(regime, date)
        raw_class = np.array(
            [
                classify(t, pd or 0.0, ic or 0.0, th, bool(d))
                for (t, pd, ic), d in zip(chips.select("tpp", "pd", "interconnect_gbps").iter_rows(), dc)
            ],
            np.int8,
        )
        chip_class[q] = np.where(us, raw_class, 0)
        order = regime.at("destinations.order", date)
        if order is None:
            raise DataError(regime.path, "destinations.order", f"no value in force on {date} ({lab})")
        cls_names = ["(none)"] * C
        assigned = np.zeros(C, bool)
        for cls in order:
            fld = f"destinations.{cls}.countries"
            items = regime.at(fld, date)
            if items is None:
                raise DataError(regime.path, fld, f"no value in force on {date}")
            members = world.resolve(items, date, regime.path, fld)
            pa = POLICY_CODES[regime.at(f"destinations.{cls}.policy_a", date, "free")]
            pb = POLICY_CODES[regime.at(f"destinations.{cls}.policy_b", date, "free")]
            po = POLICY_CODES[regime.at(f"destinations.{cls}.policy_other", date, "free")]
            for iso in members:
                i = idx[iso]
                if not assigned[i]:
                    assigned[i] = True
                    policy[q, i] = (pa, pb)
                    policy_other[q, i] = po
                    cls_names[i] = cls
                    tier1[q, i] = cls == "tier1"
        dest_class.append(cls_names)
        cap = regime.at("caps.country_allocation_tpp", date)
        start = regime.at("caps.counting_start", date)
        if cap is not None and (start is None or quarters.to_date(start) <= mid):
            alloc[q, :] = float(cap)
            most = float(regime.at("caps.g2g_max_factor", date, 1.0))  # the rule's limit on assurances
            for iso, factor in g2g.items():
                alloc[q, idx[iso]] = float(cap) * min(factor, most)
        lpp[q] = float(regime.at("lpp.allowance_tpp_per_year", date, 0.0))
        nveu_cap[q] = float(regime.at("nveu.installed_base_tpp", date, 0.0))
        uveu_lim[q] = [
            float(regime.at(f"uveu.{k}", date, 0.0))
            for k in ("max_share_outside_tier1", "max_share_single_country", "max_share_outside_us")
        ]
        # chip-specific rules (later rules in the file win where two apply)
        for rule in _rule_names(regime, "chip_rules"):
            pol = regime.at(f"chip_rules.{rule}.policy", date, "none")
            if pol == "none":
                continue
            sel = _select_chips(regime, rule, date, chips, chip_class[q])
            fld = f"chip_rules.{rule}.countries"
            members = world.resolve(regime.at(fld, date, []), date, regime.path, fld)
            cols = np.array(sorted(idx[c] for c in members), dtype=np.int64)
            for k in np.flatnonzero(sel):
                chip_override[q, k, cols] = POLICY_CODES[pol]
            if pol == "licence_share":
                if share_ratio[q] > 0:
                    raise DataError(
                        regime.path,
                        f"chip_rules.{rule}.policy",
                        "only one 'licence_share' rule may be in force at a time",
                    )
                share_ratio[q] = float(regime.at(f"chip_rules.{rule}.us_volume_share", date, 0.0))
                share_any |= sel  # the chips' US volume counts from share_from on (set after the loop)
                since = regime.at(f"chip_rules.{rule}.us_volume_counted_from", date)
                since = quarters.to_date(since) if since is not None else mid
                share_from = since if share_from is None else min(share_from, since)
        _fold_destination_policies(chip_override[q], chip_class[q], policy[q], policy_other[q], us)
        for rule in _rule_names(regime, "allowances"):
            country = regime.at(f"allowances.{rule}.country", date)
            qty = float(regime.at(f"allowances.{rule}.quantity", date, 0.0))
            chip = regime.at(f"allowances.{rule}.chip", date)
            if qty == 0.0:
                continue  # not in force yet, or zero
            if country is None or chip is None:
                raise DataError(regime.path, f"allowances.{rule}", "needs country, chip and quantity")
            if country not in idx or chip not in names:
                raise DataError(regime.path, f"allowances.{rule}", f"unknown country or chip ({country}, {chip})")
            allow_tpp[q, idx[country]] += qty * float(chips["tpp"][names.index(chip)])
        transit = regime.at("enforcement.transit_countries", date)
        if transit:
            for iso in world.resolve(transit, date, regime.path, "enforcement.transit_countries"):
                guidance_on[q, idx[iso]] = 1
        lv_on[q] = bool(regime.at("enforcement.location_verification", date, False))
        train_guidance[q] = bool(regime.at("enforcement.training_guidance", date, False))
        remote_controlled[q] = bool(regime.at("enforcement.remote_access_controlled", date, False))
        weights_threshold[q] = float(regime.at("weights.threshold_operations", date, 0.0))
    if share_from is not None:  # each chip's US volume counts over the rule's period (before it binds too, or later)
        for q, lab in enumerate(labels):
            if quarters.midpoint(lab) >= share_from:
                share_chip[q, share_any] = 1
    capped = (policy == POLICY_CODES["capped"]).any(axis=2) | (policy_other == POLICY_CODES["capped"])
    if np.any(capped & np.isinf(alloc)):
        raise DataError(
            timeline[-1][1].path, "caps.country_allocation_tpp", "a 'capped' policy is in force without an allocation"
        )
    return RegimeArrays(
        policy,
        policy_other,
        chip_class,
        chip_override,
        alloc,
        lpp,
        uveu_lim,
        nveu_cap,
        tier1,
        allow_tpp,
        share_ratio,
        share_chip,
        guidance_on,
        lv_on,
        weights_threshold,
        dest_class,
        regime_name,
        held,
        train_guidance,
        remote_controlled,
        idx["USA"],
    )
