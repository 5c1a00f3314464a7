"""Scenario files (TOML): run settings, the regime and its scenario inputs, firm structure, and
overrides of the uncertain assumptions. Loading validates everything and raises ScenarioError with
``<file>: <dotted.field>: <problem>`` on the first bad entry."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from . import paths as timepaths
from . import quarters, uncertainty
from .assumptions import Assumptions, add_country_demand, load_assumptions
from .chips import load_chips
from .contracts import parse_contracts
from .errors import DataError, ScenarioError, SimInputError
from .folders import check_component
from .regimes import Regime, load_regime
from .validation import check_overrides, no_grant
from .world import World, load_world

_SCHEMA = {
    "run": {"name", "start", "quarters", "trials", "seed", "description"},
    "regime": {"name", "timeline", "uveu", "nveu", "g2g", "overrides", "contracted_demand"},
    "firms": {"total", "orders_per_quarter", "buyers_per_data_centre"},
    "assumptions": None,  # any name of the assumption tree
    "outputs": {"countries"},
}
DEFAULT_COUNTRIES = ["USA", "CHN", "ARE", "SAU", "IND", "MYS"]
MAX_TRIALS = 1_000_000
MAX_BUYERS_PER_DATA_CENTRE = 100.0  # ~1.2M buyers for the 11,700 listed data centres, like firms.total's 1M


@dataclass
class Scenario:
    path: Path
    name: str
    start: str
    quarters: int
    trials: int
    seed: int
    regime: Regime  # the first regime of the timeline
    world: World
    assumptions: Assumptions
    uveu: list[str] = field(default_factory=list)  # hyperscalers holding UVEU status
    nveu: list[str] = field(default_factory=list)  # territories whose largest firm is an NVEU
    g2g: dict[str, float] = field(default_factory=dict)  # territory → allocation multiplier
    firms_total: int = 12_000
    orders_per_quarter: int = 4
    countries: list[str] = field(default_factory=lambda: list(DEFAULT_COUNTRIES))
    raw: dict = field(default_factory=dict)
    timeline: list = field(default_factory=list)  # [(start date or None, Regime)], by start date
    buyers_per_data_centre: float = 1.0  # buyers per listed data centre (sim/world/buyers.csv); range 0.3-3
    contracts: list = field(default_factory=list)  # contracted demand of deals (sim/contracts.py)

    @property
    def labels(self) -> list[str]:
        return quarters.labels(self.start, self.quarters)

    def replace(self, **kw) -> Scenario:
        """A copy with some run settings changed (e.g. fewer trials in tests)."""
        from dataclasses import replace

        return replace(self, **kw)

    def with_params(self, values: dict[str, object], source: object) -> Scenario:
        """A copy whose regimes have ``values`` ({parameter: value}, each replacing the parameter's whole
        series) in every regime of the timeline that has the parameter; ``source`` is named in errors."""
        for name in values:
            if not any(name in r.params for _, r in self.timeline):
                raise DataError(source, name, f"not a parameter of the regimes of {self.path.name}")
        timeline = []
        for d, r in self.timeline:
            own = {k: v for k, v in values.items() if k in r.params}
            timeline.append((d, r.with_overrides(own, source) if own else r))
        return self.replace(timeline=timeline, regime=timeline[0][1])


def _int(x: object, path: Path, fld: str, lo: int, hi: int) -> int:
    if isinstance(x, bool) or not isinstance(x, int) or not lo <= x <= hi:
        raise ScenarioError(path, fld, f"expected an integer in [{lo}, {hi}], got {x!r}")
    return x


def _positive(x: object, path: Path, fld: str, hi: float) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not 0.0 < x <= hi:
        raise ScenarioError(path, fld, f"expected a number > 0 and <= {hi:g}, got {x!r}")
    return float(x)


def _str_list(x: object, path: Path, fld: str) -> list[str]:
    if not isinstance(x, list) or not all(isinstance(i, str) for i in x):
        raise ScenarioError(path, fld, f"expected a list of strings, got {x!r}")
    return x


def check_grants(
    world: World, timeline, labels: list[str], nveu: list[str], g2g: object, path, prefix="regime", uveu=()
):
    """Refuse UVEU grants (``uveu``: hyperscalers of the world's sites), NVEU grants (``nveu``: iso3) and G2G
    multipliers (``g2g``: iso3 → factor in [1, the regimes' largest caps.g2g_max_factor]) that the world or the
    regimes cannot take, naming ``path`` and the field under ``prefix``."""
    hyperscalers = set(world.sites["hyperscaler"])
    for h in uveu:
        if h not in hyperscalers:
            raise ScenarioError(
                path, f"{prefix}.uveu", f"unknown hyperscaler {h!r} (known: {', '.join(sorted(hyperscalers))})"
            )
    known = set(world.iso3)
    barred = no_grant(world, labels)
    for c in nveu:
        if c not in known:
            raise ScenarioError(path, f"{prefix}.nveu", f"unknown country {c!r}")
        if c in barred:
            raise ScenarioError(
                path, f"{prefix}.nveu", f"{c} cannot hold NVEU status (the US, Country Group D:5 and Macau)"
            )
    if not isinstance(g2g, dict):
        raise ScenarioError(path, f"{prefix}.g2g", "expected a table { ISO3 = multiplier }")
    max_factor = max(
        (
            v
            for _, r in timeline
            if "caps.g2g_max_factor" in r.params
            for _, v in r.params["caps.g2g_max_factor"].values
        ),
        default=1.0,
    )
    for c, f in g2g.items():
        if c not in known:
            raise ScenarioError(path, f"{prefix}.g2g.{c}", f"unknown country {c!r}")
        if c in barred:
            raise ScenarioError(
                path, f"{prefix}.g2g.{c}", f"{c} cannot receive G2G assurances (the US, Country Group D:5 and Macau)"
            )
        if isinstance(f, bool) or not isinstance(f, (int, float)) or not 1.0 <= f <= max_factor:
            raise ScenarioError(path, f"{prefix}.g2g.{c}", f"multiplier must be in [1, {max_factor}], got {f!r}")


def load_scenario(path: str | Path, world: World | None = None) -> Scenario:
    """Read and validate a scenario file."""
    path = Path(path)
    raw = _read(path)
    for sec, val in raw.items():
        if sec not in _SCHEMA:
            raise ScenarioError(path, sec, f"unknown section (expected one of {', '.join(_SCHEMA)})")
        if not isinstance(val, dict):
            raise ScenarioError(path, sec, "expected a table")
        allowed = _SCHEMA[sec]
        if allowed is not None:
            for k in val:
                if k not in allowed:
                    raise ScenarioError(path, f"{sec}.{k}", "unknown field")
    run = raw.get("run", {})
    for k in ("start", "quarters", "trials", "seed"):
        if k not in run:
            raise ScenarioError(path, f"run.{k}", "missing")
    n_q = _int(run["quarters"], path, "run.quarters", 1, 80)
    _check_start(run["start"], n_q, path)
    trials = _int(run["trials"], path, "run.trials", 1, MAX_TRIALS)
    seed = _int(run["seed"], path, "run.seed", 0, 2**63 - 1)
    name = run.get("name", path.stem)
    check_component(name, path, "run.name" if "name" in run else "run.name (from the file name)")
    if not isinstance(run.get("description", ""), str):
        raise ScenarioError(path, "run.description", "expected a string")
    reg = raw.get("regime", {})
    timeline = _timeline(reg, path)
    world = world or load_world()
    overrides = reg.get("overrides", {})
    if not isinstance(overrides, dict):
        raise ScenarioError(path, "regime.overrides", "expected a table")
    for key in overrides:  # an override applies to every regime of the timeline that has the parameter
        if not any(key in r.params for _, r in timeline):
            raise ScenarioError(
                path, f"regime.overrides.{key}", "unknown parameter of " + ", ".join(repr(r.name) for _, r in timeline)
            )
    labels = quarters.labels(run["start"], n_q)
    chips = load_chips() if overrides else None  # read once, for the override checks and their compile
    if overrides:
        check_overrides(overrides, timeline, world, chips, path, quarters.midpoint(labels[0]))
    try:
        timeline = [
            (d, r.with_overrides({k: v for k, v in overrides.items() if k in r.params}, path)) for d, r in timeline
        ]
    except SimInputError as e:
        raise ScenarioError(path, e.field, e.message) from None
    regime = timeline[0][1]
    known = set(world.iso3)
    uveu = _str_list(reg.get("uveu", []), path, "regime.uveu")
    nveu = _str_list(reg.get("nveu", []), path, "regime.nveu")
    contracts = parse_contracts(reg.get("contracted_demand", {}), known, path)
    g2g = reg.get("g2g", {})
    check_grants(world, timeline, labels, nveu, g2g, path, uveu=uveu)
    firms = raw.get("firms", {})
    firms_total = _int(firms.get("total", 12_000), path, "firms.total", 1, 1_000_000)
    opq = _int(firms.get("orders_per_quarter", 4), path, "firms.orders_per_quarter", 1, 1000)
    per_dc = _positive(
        firms.get("buyers_per_data_centre", 1.0), path, "firms.buyers_per_data_centre", MAX_BUYERS_PER_DATA_CENTRE
    )
    assumptions = load_assumptions()
    add_country_demand(assumptions, world)
    for key, spec in raw.get("assumptions", {}).items():
        if key not in assumptions.dists:
            raise ScenarioError(path, f"assumptions.{key}", "unknown assumption (see sim/assumptions/default.toml)")
        try:
            assumptions.dists[key] = uncertainty.parse(spec, path, f"assumptions.{key}")
            assumptions.check(key, path, f"assumptions.{key}")
        except SimInputError as e:
            raise ScenarioError(path, e.field, e.message) from None
    for spec in assumptions.paths.values():
        try:
            timepaths.check(spec, assumptions.dists, path)
        except SimInputError as e:
            raise ScenarioError(path, f"assumptions.{e.field}", e.message) from None
    countries = _str_list(raw.get("outputs", {}).get("countries", DEFAULT_COUNTRIES), path, "outputs.countries")
    for c in countries:
        if c not in known:
            raise ScenarioError(path, "outputs.countries", f"unknown country {c!r}")
    if overrides:
        _compile_overridden(timeline, world, chips, labels, g2g, nveu, overrides, path)
    return Scenario(
        path,
        name,
        run["start"],
        n_q,
        trials,
        seed,
        regime,
        world,
        assumptions,
        uveu,
        nveu,
        {k: float(v) for k, v in g2g.items()},
        firms_total,
        opq,
        countries,
        raw,
        timeline,
        per_dc,
        contracts,
    )


def _compile_overridden(timeline, world, chips, labels, g2g, nveu, overrides, path) -> None:
    """Compile the overridden rules once, so that an error an override causes names the scenario's
    ``regime.overrides.<name>`` rather than the regime file."""
    from .regimes.compile import compile_regime

    try:
        compile_regime(timeline, world, chips, labels, {k: float(v) for k, v in g2g.items()}, nveu)
    except SimInputError as e:
        hit = [k for k in overrides if e.field == k or e.field.startswith(k.rsplit(".", 1)[0])]
        raise ScenarioError(path, f"regime.overrides.{hit[0]}" if hit else "regime.overrides", e.message) from None


def _read(path: Path) -> dict:
    """The TOML table of a scenario file, or a ScenarioError naming it."""
    try:
        if not path.exists():
            raise ScenarioError(path, "", "file not found")
        if not path.is_file():
            raise ScenarioError(path, "", "not a file (give a scenario .toml file)")
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ScenarioError(path, "", "not UTF-8 text") from None
    except OSError as e:
        raise ScenarioError(path, "", f"cannot be read ({e.strerror})") from None
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError(path, "", f"TOML syntax: {e}") from None


def _check_start(start: object, n_q: int, path: Path) -> None:
    """The run's quarters lie on the calendar the time paths cover (sim.paths.GRID)."""
    try:
        quarters.parse_label(start)
    except ValueError as e:
        raise ScenarioError(path, "run.start", str(e)) from None
    first, n = timepaths.GRID
    grid = quarters.labels(first, n)
    if start not in grid or grid.index(start) + n_q > n:
        raise ScenarioError(
            path, "run.start", f"the run must lie within {grid[0]}-{grid[-1]}, got {start} + {n_q} quarters"
        )


def _timeline(reg: dict, path: Path) -> list:
    """``name = "x"`` → [(None, x)]; ``timeline = [{ from = date, name = "x" }, ...]`` → dated regimes."""
    if ("name" in reg) == ("timeline" in reg):
        raise ScenarioError(path, "regime", "give exactly one of name or timeline")
    if "name" in reg:
        if not isinstance(reg["name"], str):
            raise ScenarioError(path, "regime.name", f"expected a regime name (a string), got {reg['name']!r}")
        entries = [(None, reg["name"], "regime.name")]
    else:
        if not isinstance(reg["timeline"], list) or not reg["timeline"]:
            raise ScenarioError(path, "regime.timeline", "expected a list of { from = date, name = regime }")
        entries = []
        for i, e in enumerate(reg["timeline"]):
            fld = f"regime.timeline[{i}]"
            if not isinstance(e, dict) or set(e) != {"from", "name"}:
                raise ScenarioError(path, fld, "expected { from = YYYY-MM-DD, name = regime }")
            try:
                start = quarters.to_date(e["from"])
            except (TypeError, ValueError):
                raise ScenarioError(path, f"{fld}.from", f"{e['from']!r} is not a date") from None
            if not isinstance(e["name"], str):
                raise ScenarioError(path, f"{fld}.name", f"expected a regime name (a string), got {e['name']!r}")
            entries.append((start, e["name"], f"{fld}.name"))
        starts = [d for d, _, _ in entries]
        if any(b <= a for a, b in zip(starts, starts[1:])):
            raise ScenarioError(path, "regime.timeline", "entries must be in date order, one per date")
    out = []
    for start, name, fld in entries:
        try:
            out.append((start, load_regime(name)))
        except DataError as e:
            raise ScenarioError(path, fld, e.message) from None
    return out
