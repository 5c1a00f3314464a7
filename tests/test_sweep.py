"""sim sweep (sim/sweep): points of a grid and a Latin hypercube, every point on common random numbers, a
lever that moves its metric the expected way, the tidy table with Monte Carlo intervals, and bad arguments
refused in one line (exit 2) with nothing written."""

import numpy as np
import polars as pl
import pytest
from scripted import ROOT

from sim.cli import main
from sim.errors import SimInputError
from sim.metrics.mc_error import binomial_se, describe, probability, quantile_interval
from sim.scenario import load_scenario
from sim.sweeps import sweep
from sim.sweeps.points import apply, parse, points

DIFFUSION = ROOT / "scenarios" / "diffusion_2025.toml"


@pytest.fixture(scope="module")
def diffusion(world):
    return load_scenario(DIFFUSION, world=world).replace(trials=16, quarters=12)


def test_a_grid_is_the_product_and_a_hypercube_fills_its_ranges():
    grid = points(*parse(["a=1,2", "b=x,y,z"], []), None, 1)
    assert len(grid) == 6 and grid[0] == {"a": 1.0, "b": "x"} and grid[-1] == {"a": 2.0, "b": "z"}
    cube = points(*parse(["a=1,2"], ["c=0:10"]), 5, 1)
    assert len(cube) == 10
    c = sorted(p["c"] for p in cube if p["a"] == 1.0)
    assert all(2 * i <= x < 2 * (i + 1) for i, x in enumerate(c))  # one point per fifth of [0, 10]


def test_a_larger_allocation_raises_tier2_compute_on_common_random_numbers(diffusion):
    """Every point sees the same trials: at the same trial, Other Tier 2's compute never falls as the national
    allocation grows, and it rises in the median."""
    sw = sweep(diffusion, {"caps.country_allocation_tpp": [395e6, 1.58e9]}, block=8)
    key = "compute_h100e|Other Tier 2|2027Q4"
    small, large = sw.outputs["p0"][key], sw.outputs["p1"][key]
    assert np.median(large) > np.median(small)
    assert (large >= small * (1 - 1e-6)).mean() >= 0.9
    us = "compute_h100e|US|2025Q1"  # before the rule binds, identical trials
    np.testing.assert_allclose(sw.outputs["p0"][us], sw.outputs["p1"][us], rtol=1e-6)
    t = sw.table
    assert {"point", "caps.country_allocation_tpp", "metric", "region", "quarter", "statistic", "value"} <= set(
        t.columns
    )
    assert {"p5", "p50", "p95", "mean", "probability"} == set(t["statistic"])
    row = t.filter(
        (pl.col("point") == 1) & (pl.col("metric") == "compute_h100e") & (pl.col("region") == "Other Tier 2")
    ).filter((pl.col("quarter") == "2027Q4") & (pl.col("statistic") == "p50"))
    assert row["value"][0] == pytest.approx(np.quantile(large, 0.5))
    assert row["mc_low"][0] <= row["value"][0] <= row["mc_high"][0]


def test_monte_carlo_intervals():
    x = np.arange(1000.0)
    lo, hi = quantile_interval(x, 0.5)
    assert 460 <= lo < 500 < hi <= 540  # ±1.96 sqrt(1000 × 0.25) ≈ 31 ranks
    assert binomial_se(0.5, 100) == pytest.approx(0.05)
    p = probability(np.array([True] * 30 + [False] * 70))
    assert p["value"] == 0.3 and p["mc_low"] == pytest.approx(0.2189, abs=1e-3)  # Wilson, z = 1.96
    none = probability(np.zeros(1000, bool))
    assert none["mc_low"] == 0.0 and 0.003 < none["mc_high"] < 0.005  # not empty at 0 hits
    m = [r for r in describe(x) if r["statistic"] == "mean"][0]
    assert m["mc_low"] < 499.5 < m["mc_high"]


def test_levers_of_a_scenario(diffusion):
    sc = apply(diffusion, {"g2g.ARE": 2.0, "nveu": "ARE+IND"})
    assert sc.g2g == {"ARE": 2.0} and sc.nveu == ["ARE", "IND"]
    assert apply(diffusion, {"nveu": "none"}).nveu == []
    with pytest.raises(SimInputError, match="cannot hold NVEU"):
        apply(diffusion, {"nveu": "CHN"})
    assert apply(diffusion, {"uveu": "Microsoft+Google"}).uveu == ["Microsoft", "Google"]
    with pytest.raises(SimInputError, match="unknown hyperscaler"):
        apply(diffusion, {"uveu": "Nobody"})
    with pytest.raises(SimInputError, match="no contracted demand in SAU"):
        apply(diffusion, {"contracted_demand.SAU": 0.0})


def test_a_deal_is_a_lever_on_its_contracted_demand(world):
    gulf = load_scenario(ROOT / "scenarios" / "gulf_deals_2025.toml", world=world)
    base = sum(k.h100e_per_quarter for k in gulf.contracts if k.iso3 == "SAU")
    half = apply(gulf, {"contracted_demand.SAU": 0.5})
    assert sum(k.h100e_per_quarter for k in half.contracts if k.iso3 == "SAU") == pytest.approx(base / 2)
    assert sum(k.h100e_per_quarter for k in gulf.contracts if k.iso3 == "SAU") == base  # the scenario unchanged


@pytest.mark.parametrize(
    "args, field",
    [
        (["--set", "caps.no_such_thing=1,2"], "--set"),
        (["--set", "caps.country_allocation_tpp="], "--set"),
        ([], "--set"),  # an empty grid
        (["--range", "caps.country_allocation_tpp=5:1", "--lhs", "3"], "--range"),
        (["--range", "caps.country_allocation_tpp=1:5"], "--lhs"),
        (["--set", "caps.country_allocation_tpp=-5"], "--set"),
        (["--set", "g2g.ARE=9"], "--set"),
        (["--set", "caps.country_allocation_tpp=1e9", "--dask", "tcp://127.0.0.1:9"], "--dask"),
        (["--set", "caps.country_allocation_tpp=1e9", "--resume"], "--resume"),
    ],
)
def test_bad_arguments_exit_2_in_one_line_and_write_nothing(tmp_path, capsys, args, field):
    try:
        code = main(["sweep", str(DIFFUSION), "--trials", "2", "--out", str(tmp_path), "--no-progress", *args])
    except SystemExit as e:
        code = e.code
    err = capsys.readouterr().err.strip()
    assert code == 2 and field in err and "\n" not in err, err
    assert not (tmp_path / "sweep").exists() or not any((tmp_path / "sweep").iterdir())


def test_the_command_writes_the_table_points_and_figures(tmp_path):
    code = main(
        [
            "sweep",
            str(DIFFUSION),
            "--set",
            "caps.country_allocation_tpp=395e6,790e6",
            "--range",
            "lpp.allowance_tpp_per_year=0:2.6e7",
            "--lhs",
            "2",
            "--trials",
            "4",
            "--out",
            str(tmp_path),
            "--run-id",
            "s",
            "--no-progress",
        ]
    )
    assert code == 0
    folder = tmp_path / "sweep" / "s"
    assert pl.read_csv(folder / "points.csv").height == 4
    assert set(pl.read_parquet(folder / "sweep.parquet")["point"]) == {0, 1, 2, 3}
    for stem in ("sweep_caps_country_allocation_tpp", "heatmap_caps_country_allocation_tpp_lpp_allowance_tpp_per_year"):
        assert (folder / f"{stem}.png").stat().st_size > 0 and (folder / f"{stem}.csv").exists()


def test_a_swept_value_must_be_of_the_parameters_kind(world):
    """A switch takes true or false (not the string "false", which would read as on); a number a number."""
    csa = load_scenario(ROOT / "scenarios" / "chip_security_act.toml", world=world)
    off = apply(csa, {"enforcement.location_verification": "false"})
    assert [v for _, v in off.timeline[-1][1].params["enforcement.location_verification"].values] == [False]
    with pytest.raises(SimInputError, match="true or false"):
        apply(csa, {"enforcement.location_verification": "maybe"})
    with pytest.raises(SimInputError, match="expected a number"):
        apply(csa, {"eccn.a_tpp": "abc"})


def test_a_broken_invariant_exits_3_and_a_failed_block_exits_1(tmp_path, monkeypatch, capsys):
    import sim.comparison as comparison
    from sim.errors import InvariantError
    from sim.execution import ExecutionError

    def broken(*a, **k):
        raise InvariantError("diffusion_2025", "stock is negative")

    monkeypatch.setattr(comparison, "compare", broken)
    args = ["compare", str(DIFFUSION), str(ROOT / "scenarios" / "no_controls.toml"), "--out", str(tmp_path)]
    assert main(args) == 3
    monkeypatch.setattr(comparison, "compare", lambda *a, **k: (_ for _ in ()).throw(ExecutionError("task 0-0-1")))
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "please report this" in err and "task 0-0-1" in err
