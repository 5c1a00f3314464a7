"""Figures: the data each figure shows, taken from the tables (fast); drawing them from a run and from a
results folder on disk (slow: matplotlib)."""

import json

import numpy as np
import polars as pl
import pytest
from scripted import ROOT

import sim
from sim import plots

FIGURES = ["compute_fan", "feasibility_1e26", "quota_exhaustion"]


@pytest.fixture(scope="module")
def res():
    """12 trials of the default scenario over 8 quarters (allocations used up in some trials)."""
    return sim.run(sim.load_scenario(ROOT / "scenarios" / "default.toml").replace(trials=12, quarters=8))


def test_fan_data_are_the_compute_quantiles_of_blocs_and_countries(res):
    s, countries = res.summary, res.scenario.countries
    fan = plots.fan_data(s, countries)
    assert list(fan) == plots.BLOCS + [c for c in countries if c != "USA"]
    for region, (lo, mid, hi) in fan.items():
        for q, series in zip(("p5", "p50", "p95"), (lo, mid, hi)):
            assert series == [res.value("compute_h100e", region, lab, q) for lab in res.compiled.labels]
        assert np.all(np.array(lo) <= np.array(mid)) and np.all(np.array(mid) <= np.array(hi))


def test_feasibility_data_show_the_countries_and_the_likeliest_others(res):
    s, countries, labels = res.summary, res.scenario.countries, res.compiled.labels
    data = plots.feasibility_data(s, countries, labels)
    assert list(data)[: len(countries)] == countries
    last = s.filter((pl.col("metric") == "p_train_1e26") & (pl.col("quarter") == labels[-1]))
    likely = last.filter(pl.col("value") > 0.05).sort("value", descending=True)["region"].head(8).to_list()
    assert set(data) == set(countries) | set(likely)
    for c, series in data.items():
        assert series == [res.value("p_train_1e26", c, lab, "probability") for lab in labels]


def test_exhaustion_rows_are_the_exhausted_territories(res):
    rows = plots.exhaustion_rows(res.exhaustion, top=5)
    exhausted = res.exhaustion.filter(pl.col("share_of_trials_exhausted") > 0)
    assert 0 < len(rows) <= 5 and rows == list(exhausted.head(5).iter_rows(named=True))


def assert_figures(files, folder) -> None:
    """Every figure as a non-empty PDF and PNG in ``folder``."""
    assert [p.name for p in files] == sorted(f"{n}.{ext}" for n in FIGURES for ext in ("pdf", "png"))
    for p in files:
        assert p.parent == folder and p.stat().st_size > 1000
        assert p.read_bytes()[:4] == (b"%PDF" if p.suffix == ".pdf" else b"\x89PNG")


@pytest.mark.slow
def test_figures_of_a_run_and_of_its_results_folder_are_the_same(res, tmp_path):
    drawn = plots.write_figures(res, tmp_path / "run" / "figures")
    assert_figures(drawn, tmp_path / "run" / "figures")
    folder = tmp_path / "folder"  # what redraw reads: the manifest, summary.parquet and exhaustion.csv
    folder.mkdir()
    res.summary.write_parquet(folder / "summary.parquet")
    res.exhaustion.write_csv(folder / "exhaustion.csv", float_precision=4)
    sc = res.scenario
    manifest = {"scenario": {"name": sc.name, "settings": sc.raw}, "quarters": res.compiled.labels}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    redrawn = plots.redraw(folder)
    assert_figures(redrawn, folder / "figures")
    for a, b in zip(drawn, redrawn):
        if a.suffix == ".png":  # Agg draws the same pixels from the same numbers
            assert a.read_bytes() == b.read_bytes(), a.name
