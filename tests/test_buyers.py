"""Buyers per territory: max(3, round(r × listed data centres)) from sim/world/buyers.csv, r the scenario's
``firms.buyers_per_data_centre``; China (the 'china' buyer group) and territories without a count keep the
demand-weight split of ``firms.total``. Bad ratios and bad buyers.csv rows name the file and the field."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from scripted import ROOT

from sim.errors import DataError, ScenarioError
from sim.firms import buyer_counts
from sim.inputs import compile_scenario
from sim.scenario import load_scenario
from sim.world import WORLD_DIR, World, load_world

BUYERS = WORLD_DIR / "buyers.csv"
SCENARIO = """\
[run]
start = "2025Q1"
quarters = 1
trials = 1
seed = 1

[regime]
name = "diffusion_2025"

[firms]
total = 12000
{line}
"""


@pytest.fixture(scope="module")
def sc(world):
    return load_scenario(ROOT / "scenarios" / "diffusion_2025.toml", world=world)


def _weights(sc) -> np.ndarray:
    w = sc.world.countries["demand_weight"].to_numpy().astype(float)
    return w / w.sum()


def _counts(sc, **kw) -> dict[str, int]:
    n = buyer_counts(sc.replace(**kw), _weights(sc))
    return dict(zip(sc.world.iso3, n.tolist()))


# --- the rule ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("r, uae", [(0.3, 17), (1.0, 57), (3.0, 171)])
def test_a_listed_territory_has_r_buyers_per_data_centre(sc, r, uae):
    n = _counts(sc, buyers_per_data_centre=r)
    assert sc.world.data_centres["ARE"] == 57
    assert n["ARE"] == uae == max(3, round(r * 57))
    for iso in ("SAU", "IND", "MYS", "USA", "KEN"):
        assert n[iso] == max(3, round(r * sc.world.data_centres[iso])), iso


def test_a_listed_territory_has_at_least_three_buyers(sc):
    n = _counts(sc, buyers_per_data_centre=0.01)
    assert n["KEN"] == 3 and n["ARE"] == 3 and n["USA"] == 40


def test_china_and_unlisted_territories_keep_the_demand_split(sc):
    w = dict(zip(sc.world.iso3, _weights(sc)))
    china = sc.assumptions.structure["buyers"]["china"]
    assert {"CHN", "HKG"} <= set(sc.world.data_centres)  # listed, yet not used
    unlisted = [c for c in sc.world.iso3 if c not in sc.world.data_centres and c not in china and w[c] > 0]
    assert "QAT" in unlisted
    for r in (0.3, 3.0):
        n = _counts(sc, buyers_per_data_centre=r, firms_total=9000)
        for iso in [*china, *unlisted]:
            want = max(1, round(9000 * w[iso])) if w[iso] > 0 else 0
            assert n[iso] == want, iso
    assert _counts(sc)["CHN"] == round(12000 * w["CHN"])


def test_a_territory_without_demand_has_no_buyers(sc):
    w = _weights(sc)
    zero = [c for c, x in zip(sc.world.iso3, w) if x <= 0]
    n = _counts(sc, buyers_per_data_centre=3.0)
    assert all(n[c] == 0 for c in zero)


def test_a_world_without_counts_splits_firms_total_by_demand_weight(sc):
    bare = sc.world
    sc0 = sc.replace(world=World(bare.countries, bare.groups, bare.sites))
    w = _weights(sc)
    n = buyer_counts(sc0, w)
    assert n.tolist() == [max(1, round(12000 * x)) if x > 0 else 0 for x in w]
    assert n[sc.world.index()["ARE"]] == 240  # the uncalibrated count this input replaces


def test_the_compiled_firms_follow_the_counts(sc):
    comp = compile_scenario(sc.replace(trials=1, quarters=1, buyers_per_data_centre=0.3))
    domestic = [f.split("#")[0] for f in comp.firm_names if "#" in f]
    want = _counts(sc, buyers_per_data_centre=0.3)
    assert {c: domestic.count(c) for c in ("ARE", "SAU", "CHN", "QAT")} == {
        c: want[c] for c in ("ARE", "SAU", "CHN", "QAT")
    }
    assert len(domestic) == sum(want.values())


# --- the scenario input -----------------------------------------------------------------------------------------


def _scenario(tmp_path, world, line: str):
    p = tmp_path / "s.toml"
    p.write_text(SCENARIO.format(line=line))
    return load_scenario(p, world=world)


def test_the_ratio_defaults_to_one_and_is_read(tmp_path, world):
    assert _scenario(tmp_path, world, "").buyers_per_data_centre == 1.0
    assert _scenario(tmp_path, world, "buyers_per_data_centre = 0.3").buyers_per_data_centre == 0.3
    assert _scenario(tmp_path, world, "buyers_per_data_centre = 3").buyers_per_data_centre == 3.0


@pytest.mark.parametrize("value", ["0", "-0.3", '"1"', "true", "nan", "inf", "1000", "[1]"])
def test_a_bad_ratio_is_refused_naming_the_field(tmp_path, world, value):
    with pytest.raises(ScenarioError) as e:
        _scenario(tmp_path, world, f"buyers_per_data_centre = {value}")
    assert e.value.field == "firms.buyers_per_data_centre"
    assert str(e.value).startswith(f"{tmp_path / 's.toml'}: firms.buyers_per_data_centre: ")
    assert "\n" not in str(e.value)


# --- the data file ----------------------------------------------------------------------------------------------


def test_the_counts_are_sourced_whole_numbers(world):
    assert len(world.data_centres) == 55
    assert world.data_centres["USA"] == 3960 and world.data_centres["MYS"] == 109
    assert all(isinstance(n, int) and n >= 0 for n in world.data_centres.values())
    rows = BUYERS.read_text(encoding="utf-8").splitlines()
    assert rows[0] == "iso3,data_centres,source"
    assert all("Data Center Map" in row and "https://" in row for row in rows[1:])


@pytest.fixture
def world_copy(tmp_path):
    d = tmp_path / "world"
    shutil.copytree(WORLD_DIR, d, ignore=shutil.ignore_patterns("build", "__pycache__", "*.py"))
    return d


@pytest.mark.parametrize(
    "old, new, field",
    [
        ("ARE,57,", "XXX,57,", "iso3"),
        ("ARE,57,", "SAU,57,", "iso3"),
        ("ARE,57,", "ARE,-57,", "ARE.data_centres"),
        ("ARE,57,", "ARE,57.5,", "ARE.data_centres"),
        ("ARE,57,", "ARE,many,", "ARE.data_centres"),
        ("ARE,57,", "ARE,,", "ARE.data_centres"),
        ("ARE,57,", 'ARE,57,"",', "ARE.source"),
        ("ARE,57,", "ARE,57,a,b,", ""),
        ("iso3,data_centres,source", "iso3,count,source", "data_centres"),
    ],
)
def test_a_malformed_row_is_refused_naming_the_file(world_copy, old, new, field):
    p = world_copy / "buyers.csv"
    text = p.read_text(encoding="utf-8")
    if new.endswith('"",'):  # an empty source: drop the row's own
        row = next(r for r in text.splitlines() if r.startswith(old))
        text = text.replace(row, 'ARE,57,""')
    else:
        text = text.replace(old, new, 1)
    p.write_text(text, encoding="utf-8")
    with pytest.raises(DataError) as e:
        load_world(world_copy)
    assert e.value.path == str(p) and e.value.field == field
    assert str(e.value).startswith(f"{p}: ") and "\n" not in str(e.value)


def test_a_missing_buyers_file_is_refused(world_copy):
    (world_copy / "buyers.csv").unlink()
    with pytest.raises(DataError, match="buyers.csv: file not found"):
        load_world(world_copy)
