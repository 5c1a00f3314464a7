"""Contracted demand: the campus build-outs that come with a bilateral deal (a scenario input beside the
regime, like UVEU or G2G grants). A scenario lists them under ``[regime.contracted_demand.<ISO3>]``:

    h100e_per_quarter = 250_000     # demand added to the territory, H100e (dense 16-bit) a quarter
    from = "2026Q1"                 # first quarter of the build-out (a quarter label)
    to = "2028Q4"                   # last quarter, inclusive
    source = "..."                  # where the figure comes from

The territory's firms share it as they share its other demand. The rules decide what of it ships."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import quarters
from .errors import ScenarioError

_KEYS = {"h100e_per_quarter", "from", "to", "source"}


@dataclass(frozen=True)
class Contract:
    iso3: str
    h100e_per_quarter: float
    first: str  # quarter label
    last: str
    source: str


def parse_contracts(table: object, known: set[str], path: object) -> list[Contract]:
    """Check ``[regime.contracted_demand]``: one table per territory; every field named on error."""
    if not isinstance(table, dict):
        raise ScenarioError(path, "regime.contracted_demand", "expected a table { ISO3 = { ... } }")
    out = []
    for iso, spec in table.items():
        fld = f"regime.contracted_demand.{iso}"
        if iso not in known:
            raise ScenarioError(path, fld, f"unknown country {iso!r}")
        if not isinstance(spec, dict):
            raise ScenarioError(path, fld, "expected a table with h100e_per_quarter, from, to, source")
        for key in sorted(_KEYS - set(spec)):
            raise ScenarioError(path, f"{fld}.{key}", "missing")
        for key in sorted(set(spec) - _KEYS):
            raise ScenarioError(path, f"{fld}.{key}", "unknown field")
        x = spec["h100e_per_quarter"]
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not 0.0 <= x < 1e12:
            raise ScenarioError(path, f"{fld}.h100e_per_quarter", f"expected a number >= 0, got {x!r}")
        for key in ("from", "to"):
            try:
                quarters.parse_label(str(spec[key]))
            except ValueError:
                raise ScenarioError(
                    path, f"{fld}.{key}", f"expected a quarter like 2026Q1, got {spec[key]!r}"
                ) from None
        if quarters.parse_label(str(spec["to"])) < quarters.parse_label(str(spec["from"])):
            raise ScenarioError(path, f"{fld}.to", "ends before it begins")
        if not isinstance(spec["source"], str) or not spec["source"].strip():
            raise ScenarioError(path, f"{fld}.source", "every contracted demand needs a source")
        out.append(Contract(iso, float(x), str(spec["from"]), str(spec["to"]), spec["source"]))
    return out


def demand_add(contracts: list[Contract], iso3: list[str], labels: list[str]) -> np.ndarray:
    """float64 [Q, C]: contracted demand per quarter and territory (H100e)."""
    out = np.zeros((len(labels), len(iso3)))
    idx = {c: i for i, c in enumerate(iso3)}
    keys = [quarters.parse_label(lab) for lab in labels]
    for k in contracts:
        lo, hi = quarters.parse_label(k.first), quarters.parse_label(k.last)
        for q, key in enumerate(keys):
            if lo <= key <= hi:
                out[q, idx[k.iso3]] += k.h100e_per_quarter
    return out
