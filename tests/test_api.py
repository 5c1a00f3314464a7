"""The Python API (sim/api.py): a Model's uncertainties, levers and outcomes; a run with a lever; compare,
sweep and sensitivity as polars frames; and the example script under examples/, executed."""

import runpy

import polars as pl
import pytest
from scripted import ROOT

import sim

DIFFUSION = ROOT / "scenarios" / "diffusion_2025.toml"


@pytest.fixture(scope="module")
def model(world):
    return sim.Model(sim.load_scenario(DIFFUSION, world=world).replace(quarters=12))


def test_a_model_lists_its_uncertainties_levers_and_outcomes(model):
    u = model.uncertainties
    row = u.filter(pl.col("name") == "smuggling.base_take_up").row(0, named=True)
    assert row["p5"] < row["p50"] < row["p95"] and row["description"]
    assert "chips.Rubin.fp16_dense_tflops" in set(u["name"])
    lv = model.levers
    assert {"caps.country_allocation_tpp", "nveu"} <= set(lv["name"])
    assert {"compute_h100e", "largest_run_flop", "p_train_1e26"} <= set(model.outcomes["metric"])


def test_a_run_with_a_lever_moves_its_metric(model):
    def tier2(t):
        return t.filter(
            (pl.col("metric") == "compute_h100e")
            & (pl.col("region") == "Other Tier 2")
            & (pl.col("quarter") == "2027Q4")
            & (pl.col("statistic") == "p50")
        )["value"][0]

    base = model.run(trials=12)
    more = model.run(trials=12, levers={"caps.country_allocation_tpp": 4 * 790e6})
    assert tier2(more) > tier2(base)
    assert {"statistic", "value", "mc_low", "mc_high"} <= set(base.columns)


def test_compare_gives_levels_and_paired_differences(world):
    a = sim.load_scenario(DIFFUSION, world=world).replace(quarters=8)
    b = sim.load_scenario(ROOT / "scenarios" / "no_controls.toml", world=world).replace(quarters=8)
    t = sim.compare([a, b], trials=10)
    cell = t.filter(
        (pl.col("scenario") == "no_controls")
        & (pl.col("metric") == "compute_h100e")
        & (pl.col("region") == "China")
        & (pl.col("quarter") == "2026Q4")
    )
    by = dict(zip(cell["statistic"], cell["value"]))
    assert by["diff_p50"] > 0 and by["share_positive"] > 0.5  # no controls: more compute in China
    level = lambda name: t.filter(  # noqa: E731
        (pl.col("scenario") == name)
        & (pl.col("metric") == "compute_h100e")
        & (pl.col("region") == "China")
        & (pl.col("quarter") == "2026Q4")
        & (pl.col("statistic") == "mean")
    )["value"][0]
    assert by["diff_mean"] == pytest.approx(level("no_controls") - level("diffusion_2025"), rel=1e-9)


def test_the_example_script_runs(capsys):
    runpy.run_path(str(ROOT / "examples" / "python_api.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "compute_h100e" in out and "mu_star" in out
