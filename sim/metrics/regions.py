"""Reporting regions: every territory, the reporting blocs of sim/world/blocs.toml (the same under every
regime, so regimes compare) and the World."""

from __future__ import annotations

import datetime as dt
import tomllib
from typing import NamedTuple

from ..world import WORLD_DIR, World

BLOC_DATE = dt.date(2025, 1, 13)  # bloc memberships are those in force on this date


def bloc_members(world: World) -> dict[str, list[int]]:
    """Bloc name → territory indices (blocs.toml: a territory belongs to the first bloc that lists it)."""
    spec = tomllib.loads((WORLD_DIR / "blocs.toml").read_text())
    idx, taken, out = world.index(), set(), {}
    for name in spec["order"]:
        items = spec["blocs"][name]["countries"]
        if items == ["rest"]:
            members = set(world.iso3) - taken
        else:
            members = world.resolve(items, BLOC_DATE, WORLD_DIR / "blocs.toml", f"blocs.{name}") - taken
        taken |= members
        out[name] = sorted(idx[c] for c in members)
    return out


class Regions(NamedTuple):
    """The summary's regions: C territories, then G groups (the blocs, then the World)."""

    names: list[str]  # iso3 of each territory, then bloc names, then "World"
    kinds: list[str]  # "country", "bloc" or "world", per name
    groups: list[list[int]]  # member territories of each group (the names after the territories)


def regions(world: World) -> Regions:
    """Territories, blocs and the World of ``world``."""
    blocs = bloc_members(world)
    C = len(world.iso3)
    return Regions(
        names=world.iso3 + list(blocs) + ["World"],
        kinds=["country"] * C + ["bloc"] * len(blocs) + ["world"],
        groups=list(blocs.values()) + [list(range(C))],
    )
