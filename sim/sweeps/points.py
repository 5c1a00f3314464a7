"""The points of a sweep: a grid (``--set NAME=v1,v2,...``, the product over names) and a Latin hypercube
(``--range NAME=LO:HI`` with ``--lhs N``, scipy.stats.qmc), each point a scenario changed by its values. A
name is a parameter of the scenario's regimes (``caps.country_allocation_tpp``: its whole series becomes the
value, as a scenario's ``[regime.overrides]``), or a scenario lever: ``g2g.<ISO3>`` (a G2G allocation
multiplier), ``nveu`` (territories whose largest firm holds NVEU status, ``ARE+IND``, or ``none``), ``uveu``
(hyperscalers holding UVEU status, ``Microsoft+Google``, or ``none``) and ``contracted_demand.<ISO3>`` (a
factor on the scenario's contracted demand there: 0 drops a deal's build-out, 2 doubles it)."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
from scipy.stats import qmc

from ..errors import SimInputError
from ..scenario import Scenario, check_grants

CMDLINE = "command line"


def _value(text: str) -> object:
    try:
        return float(text)
    except ValueError:
        return text


def parse_set(text: str) -> tuple[str, list[object]]:
    """``NAME=v1,v2,...`` → (name, values): numbers where they parse, else strings (a policy name)."""
    name, sep, rest = text.partition("=")
    values = [v.strip() for v in rest.split(",") if v.strip()]
    if not sep or not name.strip() or not values:
        raise SimInputError(CMDLINE, "--set", f"expected NAME=v1,v2,... got {text!r}")
    return name.strip(), [_value(v) for v in values]


def parse_range(text: str) -> tuple[str, float, float]:
    """``NAME=LO:HI`` → (name, lo, hi), numbers with lo < hi."""
    name, sep, rest = text.partition("=")
    lo, colon, hi = rest.partition(":")
    try:
        a, b = float(lo), float(hi)
    except ValueError:
        a = b = float("nan")
    if not sep or not colon or not name.strip() or not np.isfinite([a, b]).all() or not a < b:
        raise SimInputError(CMDLINE, "--range", f"expected NAME=LO:HI with numbers LO < HI, got {text!r}")
    return name.strip(), a, b


def parse(sets: list[str], ranges: list[str]) -> tuple[dict[str, list[object]], dict[str, tuple[float, float]]]:
    """The command line's ``--set`` and ``--range`` options as (grid: name → values, box: name → (lo, hi))."""
    grid, box = [parse_set(s) for s in sets], [parse_range(r) for r in ranges]
    names = [n for n, _ in grid] + [n for n, _, _ in box]
    twice = sorted(n for n in names if names.count(n) > 1)
    if twice:
        raise SimInputError(CMDLINE, "--set", f"a name is given twice: {twice[0]}")
    return dict(grid), {n: (lo, hi) for n, lo, hi in box}


def points(
    grid: dict[str, list[object]], box: dict[str, tuple[float, float]], lhs: int | None, seed: int
) -> list[dict[str, object]]:
    """The sweep's points: the product of the ``grid`` lists, times ``lhs`` Latin-hypercube points over the
    ``box`` intervals (seeded by the scenario's seed)."""
    for name, values in grid.items():
        if not values:
            raise SimInputError(CMDLINE, "--set", f"{name}: no values")
    for name, (lo, hi) in box.items():
        if not (np.isfinite([lo, hi]).all() and lo < hi):
            raise SimInputError(CMDLINE, "--range", f"{name}: expected numbers LO < HI, got {lo}, {hi}")
    if not grid and not box:
        raise SimInputError(CMDLINE, "--set", "the grid is empty: give --set NAME=v1,v2 or --range NAME=LO:HI --lhs N")
    if box and not lhs:
        raise SimInputError(CMDLINE, "--lhs", "--range needs --lhs N (the number of Latin-hypercube points)")
    if lhs and not box:
        raise SimInputError(CMDLINE, "--range", "--lhs needs at least one --range NAME=LO:HI")
    combos = [dict(zip(grid, vals)) for vals in itertools.product(*grid.values())]
    if box:
        u = qmc.LatinHypercube(d=len(box), seed=seed).random(lhs)
        cube = qmc.scale(u, [lo for lo, _ in box.values()], [hi for _, hi in box.values()])
        combos = [{**c, **{n: float(x) for n, x in zip(box, row)}} for c in combos for row in cube]
    return combos


def _names(v: object) -> list[str]:
    """A list lever's value: a list, ``A+B``, or ``none``."""
    return list(v) if isinstance(v, (list, tuple)) else [] if str(v) == "none" else str(v).split("+")


def _number(name: str, v: object, what: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v) or v < 0:
        raise SimInputError(CMDLINE, "--set", f"{name}: {what} is a number >= 0, got {v!r}")
    return float(v)


def apply(sc: Scenario, values: dict[str, object]) -> Scenario:
    """``sc`` with a point's values, checked as a scenario file's would be (the field named is the option)."""
    params, g2g, nveu, uveu, contracts = {}, dict(sc.g2g), list(sc.nveu), list(sc.uveu), list(sc.contracts)
    for name, v in values.items():
        if name.startswith("g2g."):
            g2g[name[4:]] = _number(name, v, "a G2G multiplier")
        elif name == "nveu":
            nveu = _names(v)
        elif name == "uveu":
            uveu = _names(v)
        elif name.startswith("contracted_demand."):  # a factor on the scenario's contracted demand there
            iso, f = name.split(".", 1)[1], _number(name, v, "a factor on the contracted demand")
            if not any(k.iso3 == iso for k in contracts):
                raise SimInputError(CMDLINE, "--set", f"{name}: the scenario has no contracted demand in {iso}")
            contracts = [
                replace(k, h100e_per_quarter=k.h100e_per_quarter * f) if k.iso3 == iso else k for k in contracts
            ]
        else:
            params[name] = _typed(sc, name, v)
    try:
        out = sc.with_params(params, CMDLINE) if params else sc
        check_grants(out.world, out.timeline, out.labels, nveu, g2g, CMDLINE, "--set", uveu=uveu)  # new caps too
    except SimInputError as e:
        raise SimInputError(CMDLINE, "--set", f"{e.field}: {e.message}") from None
    return out.replace(g2g=g2g, nveu=nveu, uveu=uveu, contracts=contracts)


def _typed(sc: Scenario, name: str, v: object) -> object:
    """A regime parameter's swept value as the kind of value the parameter holds (a number, a switch, a
    policy name); a value of another kind is refused before anything runs."""
    current = next((r.params[name].values[-1][1] for _, r in sc.timeline if name in r.params), None)
    if current is None:
        return v  # not a parameter: with_params names it
    if isinstance(current, bool):
        if isinstance(v, bool) or str(v).lower() in ("true", "false"):
            return v if isinstance(v, bool) else str(v).lower() == "true"
        raise SimInputError(CMDLINE, "--set", f"{name}: a switch takes true or false, got {v!r}")
    if isinstance(current, (int, float)):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise SimInputError(CMDLINE, "--set", f"{name}: expected a number, got {v!r}")
        return float(v)
    if isinstance(current, str):
        if not isinstance(v, str):
            raise SimInputError(CMDLINE, "--set", f"{name}: expected a name like {current!r}, got {v!r}")
        return v
    raise SimInputError(CMDLINE, "--set", f"{name}: a {type(current).__name__} value cannot be swept")
