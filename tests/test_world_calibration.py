"""The calibrated world data: demand weights from demand_weights.csv applied over the formula weights of
countries.csv, diversion priors, and the US hyperscaler shares."""

from __future__ import annotations

import shutil

import polars as pl
import pytest

from sim.errors import DataError
from sim.world import WORLD_DIR, load_world

DW = WORLD_DIR / "demand_weights.csv"


@pytest.fixture(scope="module")
def table() -> pl.DataFrame:
    return pl.read_csv(DW, infer_schema_length=None)


@pytest.fixture(scope="module")
def formula() -> pl.DataFrame:
    return pl.read_csv(WORLD_DIR / "countries.csv", infer_schema_length=None).select("iso3", "demand_weight")


def test_weights_sum_to_one(world):
    w = world.countries["demand_weight"]
    assert abs(w.sum() - 1.0) < 1e-12
    assert (w >= 0).all()


def test_listed_territories_take_the_file_weights(world, table):
    got = dict(world.countries.select("iso3", "demand_weight").iter_rows())
    listed = table["demand_weight"].sum()
    assert listed < 1
    for iso3, weight in table.select("iso3", "demand_weight").iter_rows():
        assert got[iso3] == pytest.approx(weight, abs=1e-12)  # the tail takes 1 - listed, so no rescaling


def test_unlisted_territories_keep_their_formula_shape(world, table, formula):
    c = world.countries.join(formula.rename({"demand_weight": "f"}), on="iso3")
    tail = c.filter(~pl.col("iso3").is_in(table["iso3"].to_list()))
    assert tail["demand_weight"].sum() == pytest.approx(1 - table["demand_weight"].sum())
    scale = (1 - table["demand_weight"].sum()) / tail["f"].sum()
    assert tail["demand_weight"].to_list() == pytest.approx((tail["f"] * scale).to_list(), abs=1e-15)
    assert (c["demand_weight_formula"] == c["f"]).all()


def test_weight_source_column_says_calibrated_or_formula(world, table):
    c = world.countries
    calibrated = set(c.filter(pl.col("demand_weight_source") == "calibrated")["iso3"])
    assert calibrated == set(table["iso3"])
    assert set(c["demand_weight_source"]) == {"calibrated", "formula"}


def test_demand_weights_file_is_sourced_and_intervals_bracket_the_weight(table):
    assert table["source"].str.strip_chars().str.len_chars().min() > 0
    assert (table["ci90_low"] <= table["demand_weight"]).all()
    assert (table["demand_weight"] <= table["ci90_high"]).all()


def test_diversion_priors_are_probabilities(world):
    d = world.countries["diversion_risk"]
    assert d.null_count() == 0 and ((d >= 0) & (d <= 1)).all()


def test_diversion_priors_are_zero_exactly_for_the_tier3_destinations(world):
    """Diversion is out of a territory towards China: the destinations themselves (D:5 when the Diffusion rule was
    published, plus Hong Kong and Macau, which take China's treatment) have a zero prior, every other one a positive
    prior."""
    import datetime as dt

    tier3 = world.groups_at(dt.date(2025, 1, 13))["D:5"] | {"CHN", "HKG", "MAC"}
    d = dict(world.countries.select("iso3", "diversion_risk").iter_rows())
    assert {c for c, p in d.items() if p == 0.0} == tier3


def test_every_prior_but_the_default_gives_its_reason(world):
    c = world.countries.select("iso3", "diversion_risk", "source_diversion_risk")
    p0, why0 = c.filter(pl.col("iso3") == "ISL").row(0)[1:]  # a territory with no named route
    assert (c.filter(pl.col("source_diversion_risk") == why0)["diversion_risk"] == p0).all()
    named = c.filter((pl.col("diversion_risk") > 0) & (pl.col("source_diversion_risk") != why0))
    assert named.height >= 10 and all(len(why) > 40 for why in named["source_diversion_risk"])
    assert (
        c.filter((pl.col("diversion_risk") > 0) & (pl.col("diversion_risk") != p0))["iso3"]
        .is_in(named["iso3"].to_list())
        .all()
    )


def test_countries_csv_diversion_priors_are_the_build_scripts(world):
    """Rebuilding countries.csv must not undo the calibration: its priors and their sources are the build
    script's DIVERSION table (read without running the script, which needs packages sim does not)."""
    import ast

    tree = ast.parse((WORLD_DIR / "build" / "build_countries.py").read_text())
    consts = {t.id: n.value for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if hasattr(t, "id")}
    table = ast.literal_eval(consts["DIVERSION"])
    got = {r[0]: r[1:] for r in world.countries.select("iso3", "diversion_risk", "source_diversion_risk").iter_rows()}
    assert {iso3: got[iso3] for iso3 in table} == {iso3: (p, why) for iso3, (p, why) in table.items()}


def test_hyperscaler_sites_leave_each_territory_a_domestic_share_and_are_sourced(world):
    s = world.sites
    per_site = s.group_by("site_iso3").agg(pl.col("share_of_site_demand").sum())
    assert per_site["share_of_site_demand"].max() <= 0.95  # the loader's limit: domestic firms keep the rest
    assert ((s["share_of_site_demand"] > 0) & (s["share_of_site_demand"] < 1)).all()
    assert all(src.strip() for src in s["source"])
    assert all("https://" in src for src in s.filter(pl.col("site_iso3") == "USA")["source"])  # the calibrated ones
    # the hyperscalers that design their own chips buy in the US, where the Diffusion rule's UVEU status matters
    in_house = {"Google", "Amazon"}
    assert in_house <= set(s.filter(pl.col("site_iso3") == "USA")["hyperscaler"])


# --- bad files: one DataError naming the file and the field ---------------------------------------------------


@pytest.fixture
def world_copy(tmp_path):
    d = tmp_path / "world"
    shutil.copytree(WORLD_DIR, d, ignore=shutil.ignore_patterns("build", "__pycache__", "*.py"))
    return d


def _edit(d, fn) -> None:
    p = d / "demand_weights.csv"
    fn(pl.read_csv(p, infer_schema_length=None)).write_csv(p)


def _set(iso3: str, col: str, value):
    return lambda t: t.with_columns(
        pl.when(pl.col("iso3") == iso3).then(pl.lit(value)).otherwise(pl.col(col)).alias(col)
    )


@pytest.mark.parametrize(
    "edit, field, words",
    [
        (_set("USA", "iso3", "XXX"), "iso3", "unknown country 'XXX'"),
        (_set("JPN", "iso3", "USA"), "iso3", "duplicate territory 'USA'"),
        (_set("JPN", "demand_weight", -0.01), "JPN.demand_weight", ">= 0"),
        (_set("USA", "demand_weight", 0.68), "demand_weight", "sum to"),  # inside its interval, total 1.057
        (_set("USA", "demand_weight", "lots"), "demand_weight", "must be numbers"),
        (_set("USA", "ci90_high", 0.55), "USA.ci90_low", "interval"),
        (_set("KOR", "source", ""), "KOR.source", "source"),
        (lambda t: t.drop("ci90_high"), "ci90_high", "missing column"),
    ],
)
def test_bad_demand_weights_file_names_the_field(world_copy, edit, field, words):
    _edit(world_copy, edit)
    with pytest.raises(DataError) as e:
        load_world(world_copy)
    assert e.value.field == field and "demand_weights.csv" in e.value.path
    assert words in str(e.value)


def test_missing_demand_weights_file_is_an_error(world_copy):
    (world_copy / "demand_weights.csv").unlink()
    with pytest.raises(DataError, match="demand_weights.csv: file not found"):
        load_world(world_copy)


def test_copy_of_the_world_loads_like_the_world(world_copy, world):
    assert load_world(world_copy).countries.equals(world.countries)


def test_hyperscalers_taking_nearly_all_of_a_territory_is_an_error(world_copy):
    p = world_copy / "hyperscaler_sites.csv"
    t = pl.read_csv(p, infer_schema_length=None)
    t.with_columns(
        pl.when(pl.col("hyperscaler") == "Google")
        .then(0.70)
        .otherwise(pl.col("share_of_site_demand"))
        .alias("share_of_site_demand")
    ).write_csv(p)
    with pytest.raises(DataError) as e:
        load_world(world_copy)
    assert e.value.field == "share_of_site_demand" and "hyperscaler_sites.csv" in e.value.path
