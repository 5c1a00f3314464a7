"""Regimes: export-control rules as dated, cited parameters (one TOML file per regime).

A parameter is any TOML table with a ``values`` key: ``{date = value, ...}``, a ``reference`` list and
a ``description``; its dotted path in the file is its name (``caps.country_allocation_tpp``). A value
holds from its date until the next one. A reform is the regime plus ``{dotted.name: value or {date:
value}}``; every entry is checked before anything changes.
"""

from __future__ import annotations

import copy
import datetime as dt
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DataError, SimInputError
from ..quarters import to_date

REGIME_DIR = Path(__file__).parent
_PARAM_KEYS = {"values", "description", "unit", "reference", "documentation", "lever"}
# a parameter's ``lever`` table (sim/levers.py): ``neutral`` (the value that switches the rule off) on every
# parameter of a rule group; ``metric``, ``region``, ``quarter``, ``expect`` ("+"/"-": the rule's effect on the
# metric), optionally ``scenario``, ``group`` and ``inactive`` (why no shipped scenario activates it) on one
LEVER_KEYS = {"neutral", "metric", "region", "quarter", "expect", "group", "scenario", "inactive"}
_TOP_KEYS = {"name", "title", "horizon_end", "horizon_note", "base", "description"}
DESTINATION_POLICIES = ("free", "licence", "capped", "deny", "prohibited", "embargo")
CHIP_RULE_POLICIES = ("free", "licence", "deny", "licence_share", "prohibited", "embargo", "none")


@dataclass
class Param:
    """One rule parameter: dated values (sorted), unit and legal references."""

    name: str
    values: list[tuple[dt.date, object]]
    description: str = ""
    unit: str = ""
    reference: list[dict] = field(default_factory=list)
    lever: dict | None = None  # how to switch the rule off and what it targets (sim/levers.py)
    since: dt.date | None = None  # first date of the file that declares it (a derived file keeps earlier values)

    def at(self, date: dt.date) -> object:
        """The value in force on ``date``, or None before the first date."""
        out = None
        for d, v in self.values:
            if d <= date:
                out = v
        return out


@dataclass
class Regime:
    name: str
    title: str
    path: Path
    params: dict[str, Param]
    horizon_end: dt.date | None = None
    horizon_note: str = ""
    base: Regime | None = None  # the regime this one derives from (``base = "..."``)
    own: list[str] = field(default_factory=list)  # parameters its own file declares, in file order

    def at(self, name: str, date: dt.date, default: object = None) -> object:
        p = self.params.get(name)
        v = None if p is None else p.at(date)
        return default if v is None else v

    def with_overrides(self, overrides: dict[str, object], source: object) -> Regime:
        """A deep copy with ``overrides`` applied. ``{name: value}`` replaces the parameter's whole series
        (from its first date); ``{name: {date: value}}`` adds or replaces dated values."""
        for name in overrides:
            if name not in self.params:
                raise SimInputError(source, f"regime.overrides.{name}", f"unknown parameter of regime {self.name!r}")
        new = copy.deepcopy(self)
        for name, val in overrides.items():
            p = new.params[name]
            if isinstance(val, dict):
                merged = dict(p.values)
                merged.update(_dated_values(val, source, f"regime.overrides.{name}"))
                p.values = sorted(merged.items())
            else:
                p.values = [(p.values[0][0], val)]
            _check_value(name, p.values, source, f"regime.overrides.{name}")
        return new


def _dated_values(table: dict, path: object, fld: str) -> list[tuple[dt.date, object]]:
    out = []
    for k, v in table.items():
        try:
            out.append((to_date(k), v))
        except (TypeError, ValueError):
            raise DataError(path, fld, f"{k!r} is not a date (YYYY-MM-DD)") from None
    if not out:
        raise DataError(path, fld, "needs at least one dated value")
    return sorted(out)


def policies_for(name: str) -> tuple[str, ...] | None:
    """The policies parameter ``name`` may take (a destination class's or a chip rule's), else None."""
    if name.endswith(("policy_a", "policy_b", "policy_other")):
        return DESTINATION_POLICIES
    return CHIP_RULE_POLICIES if name.endswith(".policy") else None


def _check_value(name: str, values: list, path: object, fld: str) -> None:
    for d, v in values:
        if isinstance(v, (int, float)) and not isinstance(v, bool) and v < 0:
            raise DataError(path, fld, f"negative value {v}" + (f" on {d}" if d else ""))
        allowed = policies_for(name)
        if allowed and v not in allowed:
            when = f" on {d}" if d else ""
            raise DataError(path, fld, f"policy {v!r}{when} is not one of {', '.join(allowed)}")


def _check_lever(name: str, lever: object, path: Path) -> None:
    fld = f"{name}.lever"
    if not isinstance(lever, dict):
        raise DataError(path, fld, "expected a table (neutral, metric, region, quarter, expect)")
    extra = set(lever) - LEVER_KEYS
    if extra:
        raise DataError(path, f"{fld}.{sorted(extra)[0]}", f"unknown field (known: {', '.join(sorted(LEVER_KEYS))})")
    if "neutral" not in lever and "group" not in lever:  # a group member kept as it is (a rule's start date)
        raise DataError(path, f"{fld}.neutral", "missing: the value that switches the rule off")
    if lever.get("expect", "+") not in ("+", "-"):
        raise DataError(path, f"{fld}.expect", f"expected '+' or '-', got {lever['expect']!r}")
    if "neutral" in lever:
        _check_value(name, [(None, lever["neutral"])], path, f"{fld}.neutral")


def _walk(table: dict, prefix: str, path: Path, out: dict[str, Param]) -> None:
    for key, val in table.items():
        name = f"{prefix}{key}"
        if not isinstance(val, dict):
            raise DataError(path, name, "expected a parameter table with 'values'")
        if "values" in val:
            extra = set(val) - _PARAM_KEYS
            if extra:
                raise DataError(path, f"{name}.{sorted(extra)[0]}", "unknown field")
            if not val.get("reference"):
                raise DataError(path, f"{name}.reference", "every rule parameter needs a reference")
            values = _dated_values(val["values"], path, f"{name}.values")
            _check_value(name, values, path, f"{name}.values")
            lever = val.get("lever")
            if lever is not None:
                _check_lever(name, lever, path)
            out[name] = Param(name, values, val.get("description", ""), val.get("unit", ""), val["reference"], lever)
        else:
            _walk(val, f"{name}.", path, out)


def load_regime(name_or_path: str | Path) -> Regime:
    """Load ``sim/regimes/<name>.toml`` or a path to a regime file."""
    path = Path(name_or_path)
    if path.suffix != ".toml":
        path = REGIME_DIR / f"{name_or_path}.toml"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in REGIME_DIR.glob("*.toml")))
        raise DataError(path, "", f"no such regime (known: {known})")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise DataError(path, "", f"TOML syntax: {e}") from None
    top = {k: data.pop(k) for k in list(data) if k in _TOP_KEYS or not isinstance(data[k], dict)}
    unknown = set(top) - _TOP_KEYS
    if unknown:
        raise DataError(path, sorted(unknown)[0], "unknown field")
    own: dict[str, Param] = {}
    _walk(data, "", path, own)
    base = load_regime(top["base"]) if "base" in top else None
    params: dict[str, Param] = copy.deepcopy(base.params) if base else {}
    for name, p in own.items():
        # a derived regime changes a parameter from its first date on: the base's earlier values stay
        p.since = p.values[0][0]
        if name in params:
            first = p.values[0][0]
            p.values = [(d, v) for d, v in params[name].values if d < first] + p.values
        params[name] = p
    horizon = top.get("horizon_end", base.horizon_end if base else None)
    return Regime(
        top.get("name", path.stem),
        top.get("title", ""),
        path,
        params,
        to_date(horizon) if horizon else None,
        top.get("horizon_note", base.horizon_note if base else ""),
        base,
        list(own),
    )
