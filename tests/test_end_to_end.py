"""`sim run` end to end on a few trials: every output file, figures, manifest, and the plot command."""

import json

import polars as pl
import pytest
from scripted import ROOT

import sim
from sim.cli import main


@pytest.mark.slow  # draws the figures
def test_sim_run_writes_a_complete_results_folder(tmp_path, capsys):
    out = tmp_path / "results"
    scen = ROOT / "scenarios" / "default.toml"
    assert main(["run", str(scen), "--trials", "3", "--out", str(out), "--run-id", "t", "--no-progress"]) == 0
    run = out / "default" / "t"
    names = {p.name for p in run.iterdir()}
    assert {
        "manifest.json",
        "summary.parquet",
        "summary.csv",
        "trials.parquet",
        "feasibility.csv",
        "exhaustion.csv",
        "figures",
        "rules.csv",
        "report.html",
    } <= names
    assert not [p for p in (out / "default").iterdir() if p.name.startswith(".tmp")]
    figs = {p.name for p in (run / "figures").iterdir()}
    from sim.figures import FIGURES

    for f in FIGURES:
        assert {f"{f}.pdf", f"{f}.png", f"{f}.csv"} <= figs
    man = json.loads((run / "manifest.json").read_text())
    assert man["seed"] == 20250113 and man["trials"] == 3
    assert man["orders_per_trial"] == man["firms"] * 4 * 24  # every firm orders 4 times a quarter for 24 quarters
    assert man["orders_processed"] == 3 * man["orders_per_trial"]
    assert man["versions"]["sim"] == sim.__version__
    assert man["regime"]["quarters_holding_last_values"][0] == "2028Q1"
    s = pl.read_parquet(run / "summary.parquet")
    assert set(s["quantile"]) == {"p5", "p50", "p95", "mean", "probability"}
    blocs = set(s.filter(pl.col("region_type") == "bloc")["region"])
    assert blocs == {"US", "Tier-1 partners", "China", "Other Tier 2", "Other Tier 3"}
    share = s.filter(
        (pl.col("metric") == "share_of_world_compute")
        & (pl.col("region_type") == "bloc")
        & (pl.col("quarter") == "2030Q4")
        & (pl.col("quantile") == "mean")
    )
    assert abs(share["value"].sum() - 1.0) < 1e-6  # blocs partition the world
    assert main(["plot", str(run)]) == 0
    assert "China" in capsys.readouterr().out
    csv = pl.read_csv(run / "summary.csv")
    assert {"p5", "p50", "p95", "mean"} <= set(csv.columns) and "CHN" in set(csv["region"])


@pytest.mark.slow  # draws the figures
def test_sim_compare_runs_scenarios_with_common_random_numbers(tmp_path, capsys):
    scen = [str(ROOT / "scenarios" / f"{n}.toml") for n in ("diffusion_2025", "no_controls")]
    assert main(["compare", *scen, "--trials", "2", "--out", str(tmp_path), "--run-id", "c", "--no-progress"]) == 0
    run = tmp_path / "compare" / "c"
    side = pl.read_csv(run / "comparison.csv")
    assert {"diffusion_2025", "no_controls"} <= set(side.columns)
    diff = pl.read_csv(run / "differences.csv")
    compute = diff.filter(pl.col("metric") == "compute_h100e")
    china = compute.filter((pl.col("region") == "China") & (pl.col("quarter") == "2030Q4"))
    assert china["diff_p50"][0] > 0  # no controls: China ends with more compute
    us_2025 = compute.filter((pl.col("region") == "US") & (pl.col("quarter") == "2025Q4"))
    assert abs(us_2025["diff_p50"][0]) < 0.2 * 8e6  # same draws: the US barely moves early on
    man = json.loads((run / "manifest.json").read_text())
    assert compute["quarter"].n_unique() == len(man["quarters"])  # every quarter
    assert set(man["countries"]) <= set(compute["region"])  # every compared country
    assert {"p_train_1e26", "largest_run_flop", "smuggled_h100e"} <= set(diff["metric"])
    assert diff["share_sign_holds"].is_between(0, 1).all()
    for name in ("diffusion_2025", "no_controls"):  # each scenario's own results, without per-trial rows
        own = run / "scenarios" / name
        assert (own / "report.html").exists() and (own / "summary.parquet").exists()
        assert not (own / "trials.parquet").exists() and (own / "figures" / "map_compute.png").exists()
    assert "The columns of differences.csv" in (run / "comparison.md").read_text()
    assert '<img src="data:image/png;base64,' in (run / "report.html").read_text()
    nvidia = diff.filter(pl.col("metric") == "revenue_usd_nvidia")  # net: what NVIDIA sells without controls
    assert nvidia["diff_p50"][0] > 0
    refused = side.filter(pl.col("metric") == "revenue_refused_usd_nvidia_total_p50")
    assert float(refused["diffusion_2025"][0]) > 0 and float(refused["no_controls"][0]) == 0.0
    from sim.figures.comparison import FIGURES as COMPARED

    assert all((run / "figures" / f"{n}.png").exists() for n in COMPARED)
    (run / "figures" / "compare_compute.png").unlink()
    assert main(["plot", str(run), "--format", "png"]) == 0  # redraws the comparison and its scenarios
    assert (run / "figures" / "compare_compute.png").exists()
    from browser import check_page, find_browser

    if find_browser()[0] is not None:  # the comparison's page in a real browser (tests/test_report.py: a run's)
        got = check_page(run / "report.html")
        assert got["images"] == len(COMPARED) and not got["broken_images"] and not got["severe"], got
    args = [*scen, "--trials", "2", "--out", str(tmp_path), "--no-progress", "--no-figures", "--seed", "7"]
    assert main(["compare", *args, "--run-id", "d"]) == 0
    other = tmp_path / "compare" / "d"
    assert not (other / "figures").exists() and json.loads((other / "manifest.json").read_text())["seed"] == 7
    assert not pl.read_csv(other / "differences.csv").equals(diff)  # another seed, other draws


def test_compare_headline_totals_are_per_trial_sums():
    import numpy as np

    from sim.comparison import headline
    from sim.kernel import layout as L

    res = sim.run(sim.load_scenario(ROOT / "scenarios" / "diffusion_2025.toml").replace(trials=2, quarters=4))
    h = headline(res)
    idx = res.scenario.world.index()
    china = [idx[c] for c in ("CHN", "HKG", "MAC")]
    expected = res.outputs.flows[:, china, :, :][..., L.FL_UNMET].sum(axis=(1, 2), dtype=np.float64)
    np.testing.assert_allclose(h.china_unmet, expected)
    assert h.china_unmet.shape == (2,) and (h.china_unmet > 0).all()


def test_docs_regimes_md_is_up_to_date():
    from sim.regimes.docs import regimes_markdown

    assert (ROOT / "docs" / "regimes.md").read_text() == regimes_markdown(), "run: sim regimes --out docs/regimes.md"


def test_training_arithmetic_matches_the_published_1e26_check():
    """1e26 / (989.5e12 × 0.40 × 100 days × 86,400 s) ≈ 29,000 H100 (DESIGN section 6)."""
    from sim.training import chips_needed, training_flop

    n = chips_needed(1e26, mfu=0.40, days=100)
    assert 29_000 < n < 29_500
    assert training_flop(n, 0.40, 100) == pytest.approx(1e26)
    assert chips_needed(1e26, 0.40, 100, h100e_per_chip=2250 / 989.5) == pytest.approx(n * 989.5 / 2250)


def test_countries_have_demand_and_groups(world):
    c = world.countries
    assert c.height == 249 and {"TWN", "HKG", "MAC"} <= set(c["iso3"])
    assert (c["demand_weight"] > 0).sum() >= 150
    assert abs(c["demand_weight"].sum() - 1.0) < 1e-9
    import datetime as dt

    g = world.groups_at(dt.date(2025, 1, 13))
    assert len(g["D:5"] - {"HKG"}) == 23 and "HKG" in g["D:5"]
    licence = (g["D:1"] | g["D:4"] | g["D:5"]) - g["A:5"] - g["A:6"] | {"MAC"}
    assert len(licence - {"HKG"}) == 46  # the Oct-2023 licence destinations in Jan 2025
    assert "KHM" not in world.groups_at(dt.date(2026, 3, 1))["D:5"]


def test_docs_calibration_md_is_up_to_date():
    from sim.assumptions.docs import calibration_markdown

    assert (ROOT / "docs" / "calibration.md").read_text() == calibration_markdown(), (
        "run: sim assumptions --out docs/calibration.md"
    )
