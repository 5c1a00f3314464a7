"""Checks of what a scenario adds to a regime, by the kind of each parameter, before any work: regime
overrides (a TPP cap is a finite number >= 0, a share lies in [0, 1], a country list names known
territories, a policy is one of the policies), and the grants a scenario makes (NVEU status, G2G
assurances). Each error names the scenario file and its dotted field, e.g.
``scenarios/x.toml: regime.overrides.caps.country_allocation_tpp: expected a finite number >= 0, got nan``."""

from __future__ import annotations

import datetime as dt
import math

from . import quarters
from .errors import ScenarioError, SimInputError
from .regimes import Regime, policies_for
from .world import World

ECCN_VINTAGES = ("2022", "2023")
CHIP_CLASSES = ("3A090.a", "3A090.b")
# destinations where a grant of the Diffusion rule cannot apply: the US itself (no export) and Country
# Group D:5 with Macau (90 FR 4544: NVEU and G2G assurances are for destinations outside D:5 and Macau;
# Hong Kong takes China's groups in country_groups.csv)
NO_GRANT_GROUPS = ["USA", "group:D:5", "MAC"]


def _kind(name: str, timeline: list[tuple[object, Regime]]) -> object:
    """A value of parameter ``name`` in the scenario's regimes: its type decides what an override may be."""
    for _, reg in timeline:
        p = reg.params.get(name)
        if p is not None:
            for _, v in p.values:
                if v is not None:
                    return v
    return None


def _fail(path: object, fld: str, what: str, v: object) -> None:
    raise ScenarioError(path, fld, f"expected {what}, got {v!r}")


def check_value(name: str, v: object, ref: object, ctx: dict, path: object, fld: str) -> None:
    """Check one override value ``v`` of parameter ``name`` against the kind of its regime value ``ref``."""
    if isinstance(ref, bool):
        if not isinstance(v, bool):
            _fail(path, fld, "true or false", v)
    elif isinstance(ref, (int, float)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            _fail(path, fld, "a finite number >= 0", v)
        if "share" in name.rsplit(".", 1)[-1] and v > 1:
            _fail(path, fld, "a share in [0, 1]", v)
    elif isinstance(ref, dt.date):
        try:
            quarters.to_date(v)
        except (TypeError, ValueError):
            _fail(path, fld, "a date (YYYY-MM-DD)", v)
    elif isinstance(ref, str):
        if not isinstance(v, str):
            _fail(path, fld, "a string", v)
        allowed = policies_for(name)
        if name == "eccn.vintage":
            allowed = ECCN_VINTAGES
        elif name.endswith(".chip"):
            allowed = ctx["chips"]
        if allowed is not None and v not in allowed:
            raise ScenarioError(path, fld, f"{v!r} is not one of {', '.join(map(str, allowed))}")
    elif isinstance(ref, list):
        if not isinstance(v, list) or not all(isinstance(i, str) for i in v):
            _fail(path, fld, "a list of strings", v)
        if name.endswith("countries"):
            try:
                ctx["world"].resolve(v, ctx["date"], path, fld)
            except SimInputError as e:
                raise ScenarioError(path, fld, e.message) from None
        elif name.endswith(".chips"):
            for it in v:
                ok = (
                    it in ctx["chips"]
                    or (it.startswith("class:") and it[6:] in CHIP_CLASSES)
                    or (it.startswith("vendor:") and it[7:] in ctx["vendors"])
                )
                if not ok:
                    raise ScenarioError(path, fld, f"unknown chip {it!r} (a chip name, class:3A090.a or vendor:X)")
        elif name == "destinations.order":
            for it in v:
                if it not in ctx["classes"]:
                    raise ScenarioError(path, fld, f"unknown destination class {it!r}")


def check_overrides(
    overrides: dict,
    timeline: list[tuple[object, Regime]],
    world: World,
    chips,
    path: object,
    start: dt.date,
    field: str = "regime.overrides.{}",
) -> None:
    """Check every ``regime.overrides`` entry by the kind of the parameter it replaces (``field``: how an error
    names the entry, from the parameter's name)."""
    classes = {n.split(".")[1] for _, r in timeline for n in r.params if n.startswith("destinations.")}
    ctx = {
        "world": world,
        "chips": chips["name"].to_list(),
        "vendors": set(chips["vendor"].to_list()),
        "classes": classes - {"order"},
        "date": start,
    }
    for name, val in overrides.items():
        fld = field.format(name)
        ref = _kind(name, timeline)
        if isinstance(val, dict):
            if not val:
                raise ScenarioError(path, fld, "needs at least one dated value")
            for d, v in val.items():
                try:
                    ctx["date"] = quarters.to_date(d)
                except (TypeError, ValueError):
                    raise ScenarioError(path, fld, f"{d!r} is not a date (YYYY-MM-DD)") from None
                check_value(name, v, ref, ctx, path, f"{fld}.{d}")
            ctx["date"] = start
        else:
            check_value(name, val, ref, ctx, path, fld)


def no_grant(world: World, labels: list[str]) -> set[str]:
    """Territories that can hold no NVEU status or G2G assurance in any quarter of the run."""
    out: set[str] = set()
    for lab in labels:
        out |= world.resolve(NO_GRANT_GROUPS, quarters.midpoint(lab), "", "")
    return out
