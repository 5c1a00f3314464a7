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
    assert got["USA"] == pytest.approx(0.58)


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


def test_calibrated_diversion_priors_and_their_sources(world):
    named = ["USA", "MYS", "SGP", "THA", "TWN", "ARE", "VNM", "IDN", "IND", "SAU"]
    c = world.countries.filter(pl.col("iso3").is_in(named))
    got = dict(c.select("iso3", "diversion_risk").iter_rows())
    assert got == {
        "USA": 0.002,
        "MYS": 0.10,
        "SGP": 0.05,
        "THA": 0.08,
        "TWN": 0.02,
        "ARE": 0.03,
        "VNM": 0.04,
        "IDN": 0.03,
        "IND": 0.01,
        "SAU": 0.01,
    }
    src = dict(c.select("iso3", "source_diversion_risk").iter_rows())
    for iso3 in ("USA", "MYS", "SGP", "THA", "ARE"):
        assert "https://" in src[iso3]


def test_us_hyperscaler_shares_follow_the_2025_purchase_mix(world):
    us = world.sites.filter(pl.col("site_iso3") == "USA")
    shares = dict(us.select("hyperscaler", "share_of_site_demand").iter_rows())
    assert shares == pytest.approx(
        {
            "Microsoft": 0.17,
            "Google": 0.30,
            "Amazon": 0.15,
            "Meta": 0.12,
            "Oracle": 0.07,
            "xAI": 0.05,
            "CoreWeave": 0.055,
        }
    )
    assert sum(shares.values()) < 0.95  # a domestic remainder is left
    assert us.filter(pl.col("hyperscaler") == "CoreWeave")["hq_iso3"].to_list() == ["USA"]


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
