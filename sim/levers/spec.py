"""Lever tables of a regime file: how to switch each rule group off and what it targets (read and checked).

A parameter's ``lever`` table holds ``neutral`` (the value that switches the rule off) on every parameter of the
group it neutralises; ``metric``, ``region``, ``quarter`` and ``expect`` ("+"/"-": the sign of the rule's effect,
with the rule less without it) on one of them; optionally ``scenario`` (the shipped scenario to run, default the
regime's name), ``group`` (default: the parameter's table, e.g. ``destinations.tier2``, or the parameter itself
for two-part names such as ``caps.country_allocation_tpp``; a member without ``neutral`` is kept as it is) and
``inactive`` (why no shipped scenario activates the rule: its effect must then be zero).
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from .. import examples, quarters
from ..chips import load_chips
from ..errors import DataError
from ..kernel import layout as L
from ..metrics import bloc_members
from ..regimes import Regime
from ..scenario import Scenario, load_scenario
from ..validation import check_overrides

# the rule groups every lever table covers; definitions (which classes, which ECCN text) are not rules
CATEGORIES = (
    "destinations",
    "chip_rules",
    "caps",
    "allowances",
    "lpp",
    "uveu",
    "nveu",
    "enforcement",
    "weights",
    "eccn",
)
DEFINITIONS = ("destinations.order", "eccn.vintage")
FLOW_MEASURES = {
    "grey": (L.FL_DIVERTED_IN, L.FL_SMUGGLED),
    "smuggled": (L.FL_SMUGGLED,),
    "diverted": (L.FL_DIVERTED_IN,),
}
MEASURES = ("stock", "legal", *FLOW_MEASURES, "weights_controlled", "largest_run", "abroad_run")  # and family:...
_GROUP_KEYS = ("metric", "region", "quarter", "expect")


@dataclass(frozen=True)
class Lever:
    """One rule group of a regime file and how to switch it off."""

    regime: str
    group: str
    neutral: dict[str, object]  # parameter → neutral value
    since: dict[str, dt.date]  # parameter → first date of the regime that declares it (earlier values stay)
    kept: tuple[str, ...]  # parameters of the group left as they are (e.g. a cap's counting start)
    head: str  # the parameter whose lever table names the metric (named in errors)
    metric: str
    region: object  # "class", a bloc, "World", an ISO3 code or a country-set list
    quarter: str
    expect: int  # +1 or -1
    scenario: str
    inactive: str  # why no shipped scenario activates it ("" if one does)
    path: Path

    def field(self, key: str) -> str:
        return f"{self.head}.lever.{key}"


def group_of(name: str, lever: dict | None) -> str:
    """The rule group of parameter ``name``: ``lever.group``, else its table (three-part names) or itself."""
    if lever and "group" in lever:
        return str(lever["group"])
    parts = name.split(".")
    return ".".join(parts[:-1]) if len(parts) > 2 else name


def _check_metric(metric: object, path: Path, fld: str) -> str:
    m = str(metric)
    kind, _, arg = m.partition(":")
    ok = m in MEASURES or (kind == "family" and arg in L.FAMILIES) or (kind == "revenue" and arg in L.VENDORS)
    if not ok:
        known = f"one of {', '.join(MEASURES)}, family:<name>, revenue:<vendor>"
        raise DataError(path, fld, f"unknown metric {m!r} ({known})")
    return m


def levers(regime: Regime) -> list[Lever]:
    """The rule groups its own file declares a lever for, in file order (checked: one metric per group)."""
    members: dict[str, list[str]] = {}
    for name in regime.own:
        lever = regime.params[name].lever
        if lever is not None:
            members.setdefault(group_of(name, lever), []).append(name)
    out = []
    for group, names in members.items():
        levs = {n: regime.params[n].lever for n in names}
        heads = [n for n, lv in levs.items() if "metric" in lv]
        if len(heads) != 1:
            what = f"group {group!r} needs metric, region, quarter and expect on one parameter, found {len(heads)}"
            raise DataError(regime.path, f"{names[0]}.lever", what)
        head, meta = heads[0], levs[heads[0]]
        for k in _GROUP_KEYS:
            if k not in meta:
                raise DataError(regime.path, f"{head}.lever.{k}", "missing")
        neutral = {n: lv["neutral"] for n, lv in levs.items() if "neutral" in lv}
        if not neutral:
            raise DataError(regime.path, f"{head}.lever.neutral", f"group {group!r} switches nothing off")
        scenario = str(meta.get("scenario", regime.name))
        if scenario not in examples.names():
            raise DataError(regime.path, f"{head}.lever.scenario", f"no shipped scenario named {scenario!r}")
        try:
            quarters.parse_label(str(meta["quarter"]))
        except ValueError as e:
            raise DataError(regime.path, f"{head}.lever.quarter", str(e)) from None
        region = meta["region"]
        if not (isinstance(region, str) or (isinstance(region, list) and all(isinstance(x, str) for x in region))):
            raise DataError(regime.path, f"{head}.lever.region", f"expected a name or a list of names, got {region!r}")
        out.append(
            Lever(
                regime.name,
                group,
                neutral,
                {n: regime.params[n].since for n in neutral},
                tuple(n for n in names if n not in neutral),
                head,
                _check_metric(meta["metric"], regime.path, f"{head}.lever.metric"),
                region,
                str(meta["quarter"]),
                1 if meta["expect"] == "+" else -1,
                scenario,
                str(meta.get("inactive", "")),
                regime.path,
            )
        )
    return out


def uncovered(regime: Regime) -> list[str]:
    """Rule groups of the regime's own file (CATEGORIES, less DEFINITIONS) that carry no lever."""
    have = {lv.group for lv in levers(regime)}
    nested = ("destinations", "chip_rules", "allowances")  # their groups are their sub-tables
    groups = [
        group_of(n, regime.params[n].lever)
        for n in regime.own
        if n.split(".")[0] in CATEGORIES
        and n not in DEFINITIONS
        and (n.count(".") >= 2 or n.split(".")[0] not in nested)
    ]
    return [g for g in dict.fromkeys(groups) if g not in have]


def _lineage(regime: Regime) -> list[str]:
    out = []
    while regime is not None:
        out.append(regime.name)
        regime = regime.base
    return out


def scenario_for(lv: Lever, trials: int) -> Scenario:
    """The lever's shipped scenario with ``trials``, checked before any run: it runs the lever's regime, the
    quarter lies in it, the region names territories, and every neutral value fits its parameter."""
    sc = load_scenario(examples.path(lv.scenario)).replace(trials=trials)
    if not any(lv.regime in _lineage(r) for _, r in sc.timeline):
        raise DataError(lv.path, lv.field("scenario"), f"{lv.scenario} does not run {lv.regime}")
    if lv.quarter not in sc.labels:
        raise DataError(lv.path, lv.field("quarter"), f"{lv.quarter} is outside {lv.scenario} ({sc.labels[0]}-)")
    if lv.region == "class" and not lv.group.startswith("destinations."):
        raise DataError(lv.path, lv.field("region"), "'class' is the region of a destination class's lever only")
    if lv.region != "class":
        region_index(lv, sc)
    start = quarters.midpoint(sc.labels[0])
    check_overrides(lv.neutral, sc.timeline, sc.world, load_chips(), lv.path, start, "{}.lever.neutral")
    return sc


def region_index(lv: Lever, sc: Scenario, dest_class: list[str] | None = None) -> list[int]:
    """Territory indices of the lever's region (``dest_class``: each territory's class that quarter)."""
    world, r = sc.world, lv.region
    if r == "class":
        cls = lv.group.split(".")[1]
        return [c for c, name in enumerate(dest_class) if name == cls]
    if r == "World":
        return list(range(len(world.iso3)))
    blocs = bloc_members(world)
    if isinstance(r, str) and r in blocs:
        return blocs[r]
    items = [r] if isinstance(r, str) else list(r)
    idx = world.index()
    return sorted(idx[c] for c in world.resolve(items, quarters.midpoint(lv.quarter), lv.path, lv.field("region")))


def neutralised(sc: Scenario, lv: Lever) -> Scenario:
    """``sc`` with the lever's parameters at their neutral values from the date its regime declares them
    (earlier values of a base regime stay), in the timeline's regimes that are, or derive from, its regime."""
    timeline = []
    for d, r in sc.timeline:
        if lv.regime in _lineage(r):
            r = copy.deepcopy(r)
            for name, value in lv.neutral.items():
                p, since = r.params[name], lv.since[name]
                p.values = [(x, v) for x, v in p.values if x < since] + [(since, value)]
        timeline.append((d, r))
    return sc.replace(timeline=timeline, regime=timeline[0][1])
