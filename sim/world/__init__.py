"""The world: territories with their data (countries.csv), calibrated demand weights for the territories
that matter most (demand_weights.csv), dated EAR Country Group memberships (country_groups.csv), the
sites of global hyperscalers (hyperscaler_sites.csv) and listed data centres per country, which set the
number of buyers (buyers.csv). Every figure in these files carries a source column; this module loads
and checks them, and applies the calibrated demand weights."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from ..errors import DataError
from ..quarters import to_date

WORLD_DIR = Path(__file__).parent
GROUPS = ("A:5", "A:6", "D:1", "D:3", "D:4", "D:5", "E:1", "E:2")


@dataclass
class World:
    countries: pl.DataFrame  # one row per territory, in iso3 order of ``iso3``; demand_weight sums to 1
    groups: pl.DataFrame  # iso3, group, start, end (end null = in force)
    sites: pl.DataFrame  # hyperscaler, hq_iso3, site_iso3, share_of_site_demand
    data_centres: dict[str, int] = field(default_factory=dict)  # iso3 → operational data centres listed
    demand_ranges: dict[str, tuple[float, float]] = field(
        default_factory=dict
    )  # iso3 → calibrated weight's 90 % interval

    @property
    def iso3(self) -> list[str]:
        return self.countries["iso3"].to_list()

    def index(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.iso3)}

    def groups_at(self, date: dt.date) -> dict[str, set[str]]:
        """Country Group → set of iso3 in force on ``date``."""
        out: dict[str, set[str]] = {g: set() for g in GROUPS}
        for iso3, g, start, end in self.groups.select("iso3", "group", "start", "end").iter_rows():
            if start <= date and (end is None or date < end):
                out[g].add(iso3)
        return out

    def resolve(self, items: list[str], date: dt.date, path: object, fld: str) -> set[str]:
        """A country-set expression → set of iso3 on ``date``: the union of iso3 codes, ``group:D:5`` and
        ``*`` (every territory), less the items written with a leading ``-`` (``-group:A:6``, ``-CHN``)."""
        plus = [it for it in items if not it.startswith("-")]
        minus = [it[1:] for it in items if it.startswith("-")]
        if minus:
            return self.resolve(plus, date, path, fld) - self.resolve(minus, date, path, fld)
        known, out = set(self.iso3), set()
        groups = None
        for it in items:
            if it == "*":
                out |= known
            elif it.startswith("group:"):
                groups = groups or self.groups_at(date)
                g = it[len("group:") :]
                if g not in groups:
                    raise DataError(path, fld, f"unknown country group {g!r}")
                out |= groups[g]
            elif it in known:
                out.add(it)
            else:
                raise DataError(path, fld, f"unknown country {it!r}")
        return out


def _read(path: Path, need: set[str]) -> pl.DataFrame:
    if not path.exists():
        raise DataError(path, "", "file not found")
    try:
        df = pl.read_csv(path, infer_schema_length=None)
    except pl.exceptions.PolarsError as e:
        raise DataError(path, "", f"malformed CSV: {str(e).strip().splitlines()[0]}") from None
    missing = need - set(df.columns)
    if missing:
        raise DataError(path, sorted(missing)[0], "missing column")
    return df


def _numbers(df: pl.DataFrame, path: Path, cols: tuple[str, ...]) -> pl.DataFrame:
    """``df`` with ``cols`` as Float64; an all-empty column is allowed, text is not."""
    for col in cols:
        if df[col].null_count() < df.height and not df[col].dtype.is_numeric():
            raise DataError(path, col, f"must be numbers (read as {df[col].dtype})")
    return df.with_columns(pl.col(c).cast(pl.Float64) for c in cols)


def _calibrated_weights(path: Path, countries: pl.DataFrame) -> pl.DataFrame:
    """Apply ``demand_weights.csv`` to the formula weights of ``countries.csv``.

    A territory listed in the file takes the file's weight. Every other territory keeps its formula
    weight (``countries.csv``, see sim/world/build/build_countries.py), scaled so that the unlisted
    territories together take 1 - (sum of the listed weights); the column then sums to 1. If no unlisted
    territory has a positive formula weight, the listed weights are rescaled to sum to 1 instead.

    Adds ``demand_weight_formula`` (the formula weight as read) and ``demand_weight_source``
    ("calibrated" or "formula"). The columns ``ci90_low`` and ``ci90_high`` (a 90 % interval per listed
    weight, which must bracket it) are sampled per trial (``demand_weight.<iso3>``, see sim/inputs.py)."""
    dw = _read(path, {"iso3", "demand_weight", "ci90_low", "ci90_high", "source"})
    dw = _numbers(dw, path, ("demand_weight", "ci90_low", "ci90_high"))
    dup = dw.filter(pl.col("iso3").is_duplicated())
    if dup.height:
        raise DataError(path, "iso3", f"duplicate territory {dup['iso3'][0]!r}")
    unknown = sorted(set(dw["iso3"]) - set(countries["iso3"]))
    if unknown:
        raise DataError(path, "iso3", f"unknown country {unknown[0]!r}")
    bad = dw.filter(pl.col("demand_weight").is_null() | (pl.col("demand_weight") < 0))
    if bad.height:
        raise DataError(path, f"{bad['iso3'][0]}.demand_weight", "must be a number >= 0")
    bad = dw.filter(pl.col("source").is_null() | (pl.col("source").cast(pl.Utf8).str.strip_chars() == ""))
    if bad.height:
        raise DataError(path, f"{bad['iso3'][0]}.source", "every weight needs a source")
    bad = dw.filter((pl.col("ci90_low") > pl.col("demand_weight")) | (pl.col("ci90_high") < pl.col("demand_weight")))
    if bad.height:
        raise DataError(path, f"{bad['iso3'][0]}.ci90_low", "the 90 % interval must contain demand_weight")
    listed = float(dw["demand_weight"].sum())
    if listed >= 1.0:
        raise DataError(path, "demand_weight", f"listed weights sum to {listed:.4g}; they must sum to less than 1")
    weights = dict(zip(dw["iso3"].to_list(), dw["demand_weight"].to_list()))
    is_listed = pl.col("iso3").is_in(list(weights))
    tail = float(countries.filter(~is_listed)["demand_weight"].sum())
    if tail <= 0 and listed <= 0:
        raise DataError(path, "demand_weight", "no territory has a positive demand weight")
    listed_scale, tail_scale = (1.0, (1.0 - listed) / tail) if tail > 0 else (1.0 / listed, 0.0)
    return countries.with_columns(
        pl.col("demand_weight").alias("demand_weight_formula"),
        pl.when(is_listed)
        .then(pl.col("iso3").replace_strict(weights, default=None, return_dtype=pl.Float64) * listed_scale)
        .otherwise(pl.col("demand_weight") * tail_scale)
        .alias("demand_weight"),
        pl.when(is_listed).then(pl.lit("calibrated")).otherwise(pl.lit("formula")).alias("demand_weight_source"),
    )


def _data_centres(path: Path, known: set[str]) -> dict[str, int]:
    """iso3 → operational data centres listed (buyers.csv): a whole number >= 0 with a source per row."""
    df = _read(path, {"iso3", "data_centres", "source"})
    out: dict[str, int] = {}
    for iso, n, src in df.select("iso3", "data_centres", "source").iter_rows():
        if iso not in known:
            raise DataError(path, "iso3", f"unknown country {iso!r}")
        if iso in out:
            raise DataError(path, "iso3", f"duplicate territory {iso!r}")
        count = _whole(n)
        if count is None or count < 0:
            raise DataError(path, f"{iso}.data_centres", f"must be a whole number >= 0, got {n!r}")
        if src is None or not str(src).strip():
            raise DataError(path, f"{iso}.source", "every count needs a source")
        out[iso] = count
    return out


def _whole(x: object) -> int | None:
    """``x`` as an int if it is a whole number (3, 3.0 or "3"), else None."""
    if isinstance(x, bool):
        return None
    if isinstance(x, int):
        return x
    if isinstance(x, float) and x.is_integer():
        return int(x)
    try:
        return int(x) if isinstance(x, str) else None
    except ValueError:
        return None


def load_world(directory: Path = WORLD_DIR) -> World:
    """Load and check the world data files; the demand weights are the formula weights of
    countries.csv with the calibrated weights of demand_weights.csv applied (see _calibrated_weights)."""
    cpath = directory / "countries.csv"
    countries = _read(cpath, {"iso3", "name", "demand_weight", "diversion_risk"})
    if countries["iso3"].is_duplicated().any():
        raise DataError(cpath, "iso3", "duplicate territory")
    for col in ("demand_weight", "diversion_risk"):
        bad = countries.filter(pl.col(col).is_null() | (pl.col(col) < 0))
        if bad.height:
            raise DataError(cpath, f"{bad['iso3'][0]}.{col}", "must be a number >= 0")
    if countries.filter(pl.col("diversion_risk") > 1).height:
        raise DataError(cpath, "diversion_risk", "must be a probability <= 1")
    countries = _calibrated_weights(directory / "demand_weights.csv", countries)
    gpath = directory / "country_groups.csv"
    groups = _read(gpath, {"iso3", "group", "start", "end", "source"})
    groups = groups.with_columns(
        pl.col("start").cast(pl.Utf8).map_elements(to_date, return_dtype=pl.Date),
        pl.col("end").cast(pl.Utf8).map_elements(to_date, return_dtype=pl.Date),
    )
    unknown = set(groups["iso3"]) - set(countries["iso3"])
    if unknown:
        raise DataError(gpath, "iso3", f"unknown country {sorted(unknown)[0]!r}")
    bad_groups = set(groups["group"]) - set(GROUPS)
    if bad_groups:
        raise DataError(gpath, "group", f"unknown group {sorted(bad_groups)[0]!r}")
    spath = directory / "hyperscaler_sites.csv"
    sites = _read(spath, {"hyperscaler", "hq_iso3", "site_iso3", "share_of_site_demand", "source"})
    unknown = (set(sites["site_iso3"]) | set(sites["hq_iso3"])) - set(countries["iso3"])
    if unknown:
        raise DataError(spath, "site_iso3", f"unknown country {sorted(unknown)[0]!r}")
    per_site = sites.group_by("site_iso3").agg(pl.col("share_of_site_demand").sum())
    if per_site.filter(pl.col("share_of_site_demand") > 0.95).height:
        raise DataError(spath, "share_of_site_demand", "hyperscalers take more than 95 % of a territory's demand")
    data_centres = _data_centres(directory / "buyers.csv", set(countries["iso3"]))
    dw = _read(directory / "demand_weights.csv", {"iso3", "ci90_low", "ci90_high"})
    ranges = {iso: (float(lo), float(hi)) for iso, lo, hi in dw.select("iso3", "ci90_low", "ci90_high").iter_rows()}
    return World(countries.sort("iso3"), groups, sites, data_centres, ranges)
