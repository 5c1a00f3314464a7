"""Assumptions (belief): the uncertain inputs as distributions with rationale and source, and the fixed
structure of demand (chip preferences, fallback chips, installed-base shares). Law lives in regimes/."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .. import paths as timepaths
from .. import uncertainty
from ..errors import DataError

DEFAULT = Path(__file__).parent / "default.toml"
STRUCTURE = ("installed_base", "buyers", "chip_mix", "fallback", "huawei_abroad", "training_abroad")


@dataclass
class Assumptions:
    dists: dict[str, uncertainty.Dist]  # dotted name → distribution
    meta: dict[str, dict]  # dotted name → description, unit, rationale, reference
    structure: dict[str, dict]  # installed_base, buyers, chip_mix, fallback tables
    path: Path
    paths: dict[str, timepaths.PathSpec] = field(default_factory=dict)  # time paths by name (sim/paths.py)
    valid: dict[str, tuple[float, float]] = field(default_factory=dict)  # dotted name → valid [lo, hi]

    def check(self, name: str, path: object, field: str) -> None:
        """Refuse the distribution of ``name`` if its draws can leave its valid range."""
        if name in self.valid:
            uncertainty.check_range(self.dists[name], self.valid[name], path, field)


def _walk(table: dict, prefix: str, path: Path, a: Assumptions) -> None:
    for key, val in table.items():
        name = f"{prefix}{key}"
        if not isinstance(val, dict):
            continue
        kind = "path" if "path" in val else "distribution" if "distribution" in val else None
        if kind:
            extra = set(val) - {kind, "description", "unit", "rationale", "reference", "valid"}
            if extra:
                raise DataError(path, f"{name}.{sorted(extra)[0]}", "unknown field")
            if "rationale" not in val:
                raise DataError(path, f"{name}.rationale", "every assumption needs a rationale")
            valid = _valid(val.get("valid"), path, f"{name}.valid")
        if kind == "path":
            spec, comps = timepaths.parse(name, val["path"], path)
            a.paths[name] = spec
            a.valid[f"{name}.start"] = valid
            info = {k: v for k, v in val.items() if k not in ("path", "valid")}
            for comp, d in comps.items():
                a.dists[comp] = d
                part = comp[len(name) + 1 :]
                what = {
                    "start": f"level in {spec.anchor}",
                    "ar1.rho": "AR(1) quarter-to-quarter correlation",
                    "ar1.sd": "AR(1) log-standard deviation",
                }.get(part, f"growth factor in {part[7:]}")
                unit = info.get("unit", "") if part == "start" else ("1" if part.startswith("ar1") else "x per year")
                a.meta[comp] = {
                    **info,
                    "description": f"{info.get('description', name)}: {what}",
                    "unit": unit,
                    "path": name,
                }
        elif kind == "distribution":
            a.dists[name] = uncertainty.parse(val["distribution"], path, f"{name}.distribution")
            a.valid[name] = valid
            a.meta[name] = {k: v for k, v in val.items() if k not in ("distribution", "valid")}
        else:
            _walk(val, f"{name}.", path, a)


def _valid(x: object, path: Path, fld: str) -> tuple[float, float]:
    """A ``valid = [lo, hi]`` entry (``inf`` allowed); every uncertain input must declare one."""
    ok = isinstance(x, list) and len(x) == 2 and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in x)
    if not ok or any(v != v for v in x) or x[0] > x[1]:
        raise DataError(path, fld, f"every assumption needs valid = [lo, hi] (lo <= hi, inf allowed), got {x!r}")
    return float(x[0]), float(x[1])


def add_country_demand(a: Assumptions, world) -> None:
    """Add each calibrated territory's demand weight (sim/world/demand_weights.csv) as an uncertain input
    ``demand_weight.<iso3>``: lognormal over its documented 90 % interval, share of world demand, valid in
    [0, 1]. A scenario overrides one by name like any assumption; sim/inputs.py renormalises per trial."""
    src = "sim/world/demand_weights.csv"
    for iso, (lo, hi) in world.demand_ranges.items():
        name = f"demand_weight.{iso}"
        a.dists[name] = uncertainty.interval(lo, hi, src, name)
        a.valid[name] = (0.0, 1.0)
        a.meta[name] = {"description": f"{iso}'s share of world demand (calibrated, sampled per trial)", "unit": "1"}


def load_assumptions(path: Path = DEFAULT) -> Assumptions:
    """Load the assumption tree: every table with a ``distribution`` is an uncertain input."""
    if not Path(path).exists():
        raise DataError(path, "", "file not found")
    try:
        data = tomllib.loads(Path(path).read_text())
    except tomllib.TOMLDecodeError as e:
        raise DataError(path, "", f"TOML syntax: {e}") from None
    a = Assumptions({}, {}, {}, Path(path))
    for key in STRUCTURE:
        table = data.get(key, {})
        a.structure[key] = {
            k: v for k, v in table.items() if not isinstance(v, dict) or not {"distribution", "path"} & set(v)
        }
    _walk(data, "", Path(path), a)
    for spec in a.paths.values():
        timepaths.check(spec, a.dists, path)
    for name in a.valid:
        a.check(name, path, name)
    return a
