"""Global sensitivity (sim/sensitivity): known answers (SALib's Ishigami function through the same design
path as the simulator; an input the model never reads gets a total index near zero), design rows sharing one
trial's noise, block-independent results, and bad arguments refused in one line before anything is written."""

import numpy as np
import polars as pl
import pytest
from SALib.test_functions import Ishigami
from scripted import ROOT

from sim import uncertainty
from sim.cli import SENSITIVITY_METHODS, main
from sim.scenario import load_scenario
from sim.sensitivity_analysis import METHODS, sensitivity
from sim.sensitivity_analysis.evaluate import evaluate
from sim.sensitivity_analysis.methods import analyze, sample
from sim.sensitivity_analysis.problem import NOISE, Problem, problem
from sim.uncertainty import Design

DEFAULT = ROOT / "scenarios" / "default.toml"


def test_ishigami_through_the_design_path_matches_its_published_indices():
    """x1..x3 ~ U(-pi, pi) declared as distributions, the Sobol design's uniforms through their inverse CDFs
    (uncertainty.draw with a Design), then SALib: S1 = (0.314, 0.442, 0), ST = (0.558, 0.442, 0.244)."""
    names = ["x1", "x2", "x3"]
    dists = {n: uncertainty.parse({"uniform": [-np.pi, np.pi]}, "test", n) for n in names}
    prob = Problem(names, names)
    X = sample(prob, "sobol", 2048, seed=1)
    design = Design({n: X[:, i] for i, n in enumerate(names)}, np.zeros(len(X), np.int64))
    draws = uncertainty.draw(dists, 7, len(X), design)
    y = Ishigami.evaluate(np.column_stack([draws[n] for n in names]))
    got = {(r["factor"], r["index"]): r["estimate"] for r in analyze(prob, "sobol", X, y, seed=1)}
    for n, s1, st in zip(names, (0.3139, 0.4424, 0.0), (0.5576, 0.4424, 0.2437)):
        assert got[(n, "S1")] == pytest.approx(s1, abs=0.04)
        assert got[(n, "ST")] == pytest.approx(st, abs=0.04)


@pytest.fixture(scope="module")
def dummy_run(world):
    """Sobol (N = 32) over the world demand path and an input no part of the model reads, 4 quarters."""
    sc = load_scenario(DEFAULT, world=world).replace(quarters=4, start="2025Q1")
    sc.assumptions.dists["dummy.unused"] = uncertainty.parse({"uniform": [0.0, 1.0]}, "test", "dummy.unused")
    try:
        yield sensitivity(sc, "sobol", 32, groups=["paths"], inputs=["demand.world_h100e_per_quarter", "dummy.unused"])
    finally:
        del sc.assumptions.dists["dummy.unused"]


def test_an_input_the_model_never_reads_has_a_total_index_near_zero(dummy_run):
    res = dummy_run
    assert res.problem.factors == ["demand.world_h100e_per_quarter", "dummy.unused", NOISE]
    assert res.design.shape == (32 * 5, len(res.problem.names))
    st = res.indices.filter(
        (pl.col("metric") == "compute_h100e") & (pl.col("region") == "World") & (pl.col("index") == "ST")
    )
    by = dict(zip(st["factor"], st["estimate"]))
    assert abs(by["dummy.unused"]) < 0.02 and abs(by[NOISE]) < 0.02
    assert by["demand.world_h100e_per_quarter"] > 0.5


def test_rows_share_one_trials_noise_and_inputs_outside_the_design(world):
    """Two rows with the same design values give the same outputs (one noise), whatever their position; an
    input outside the design takes the noise trial's value in every row."""
    sc = load_scenario(DEFAULT, world=world).replace(quarters=2, start="2025Q1")
    name = "demand.world_h100e_per_quarter.start"
    u = np.array([0.2, 0.8, 0.2, 0.8])
    for noise in (0, 3):
        d = Design({name: u}, np.full(4, noise, np.int64))
        held = uncertainty.uniforms(sc.seed, "service_life_quarters", 4, d)
        assert np.all(held == uncertainty.uniforms(sc.seed, "service_life_quarters", noise + 1)[noise])
        out = evaluate(sc, d, ["2025Q2"], block=3)
        world_compute = out[("compute_h100e", "World", "2025Q2")]
        assert world_compute[0] == world_compute[2] and world_compute[1] == world_compute[3]
        assert world_compute[1] > world_compute[0]


def test_the_outputs_do_not_depend_on_the_block_size(world):
    sc = load_scenario(DEFAULT, world=world).replace(quarters=2, start="2025Q1")
    prob = problem(sc, ["paths", "demand_weight", "chips"])
    X = sample(prob, "pawn", 20, seed=3)
    d = Design({n: X[:, i] for i, n in enumerate(prob.names) if n != NOISE}, np.zeros(20, np.int64))
    a, b = evaluate(sc, d, ["2025Q2"], block=20), evaluate(sc, d, ["2025Q2"], block=6)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def test_the_cli_knows_every_method():
    assert SENSITIVITY_METHODS == METHODS


def test_the_command_writes_indices_and_a_tornado_per_output(tmp_path, capsys):
    code = main(
        [
            "sensitivity",
            str(DEFAULT),
            "--method",
            "morris",
            "--n",
            "2",
            "--inputs",
            "grey_market.share_of_nvidia_output,supply.huawei_h100e_per_quarter",
            "--groups",
            "paths",
            "--out",
            str(tmp_path),
            "--run-id",
            "m",
            "--no-progress",
        ]
    )
    assert code == 0
    folder = tmp_path / "sensitivity" / "m"
    idx = pl.read_csv(folder / "indices.csv")
    assert set(idx["factor"]) == {"grey_market.share_of_nvidia_output", "supply.huawei_h100e_per_quarter", NOISE}
    assert {"mu_star", "sigma"} <= set(idx["index"])
    assert (folder / "tornado_compute_h100e_China_2027Q4.png").stat().st_size > 0
    assert pl.read_parquet(folder / "design.parquet").height == 2 * 4
    assert "China compute_h100e 2027Q4" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args, field",
    [
        (["--method", "fast"], "--method"),
        (["--n", "100"], "--n"),  # Sobol needs a power of 2
        (["--groups", "paths,regions"], "--groups"),
        (["--inputs", "no.such.input"], "--inputs"),
        (["--quarters", "2040Q1"], "--quarters"),
        (["--method", "delta", "--groups", "paths"], "--groups"),
        (["--groups", ","], "--groups"),
    ],
)
def test_bad_arguments_exit_2_in_one_line_and_write_nothing(tmp_path, capsys, args, field):
    try:
        code = main(["sensitivity", str(DEFAULT), "--out", str(tmp_path), "--no-progress", *args])
    except SystemExit as e:  # argparse's own checks (a choice) exit from the parser
        code = e.code
    err = capsys.readouterr().err.strip()
    assert code == 2 and field in err and "\n" not in err
    assert not (tmp_path / "sensitivity").exists() or not any((tmp_path / "sensitivity").iterdir())


def _fake_run(folder, n=400):
    """A results folder whose trials.parquet has two inputs; the output is a function of ``a`` alone."""
    import json

    rng = np.random.default_rng(3)
    a, b = rng.random(n), rng.random(n)
    folder.mkdir(parents=True)
    man = {"scenario": {"name": "fake", "path": "fake.toml", "settings": {}}, "regime": {"name": "r"}, "seed": 1}
    (folder / "manifest.json").write_text(json.dumps({**man, "quarters": ["2030Q4"]}))
    pl.DataFrame(
        {"trial": np.arange(n), "input.a": a, "input.b": b, "output.compute_h100e|China|2030Q4": np.sin(6 * a) + a}
    ).write_parquet(folder / "trials.parquet")


@pytest.mark.parametrize("method", ["delta", "pawn"])
def test_delta_and_pawn_on_a_run_folder_find_the_input_that_matters(tmp_path, method):
    from sim.sensitivity_analysis.given_data import NOISE, given_data

    _fake_run(tmp_path / "run")
    res = given_data(tmp_path / "run", method)
    main_index = {"delta": "delta", "pawn": "median"}[method]
    by = dict(res.indices.filter(pl.col("index") == main_index).select("factor", "estimate").iter_rows())
    assert set(by) == {"a", "b", NOISE}
    assert by["a"] > 3 * max(by["b"], by[NOISE])


def test_the_command_reads_a_real_runs_trials(tmp_path, capsys):
    assert (
        main(
            [
                "run",
                str(DEFAULT),
                "--trials",
                "30",
                "--out",
                str(tmp_path),
                "--run-id",
                "r",
                "--no-progress",
                "--no-figures",
            ]
        )
        == 0
    )
    run = tmp_path / "default" / "r"
    cols = pl.read_parquet_schema(run / "trials.parquet")
    assert "output.compute_h100e|China|2027Q4" in cols and "output.largest_run_flop|China|2030Q4" in cols
    code = main(["sensitivity", str(run), "--method", "pawn", "--out", str(tmp_path), "--run-id", "p", "--no-progress"])
    assert code == 0
    idx = pl.read_csv(tmp_path / "sensitivity" / "p" / "indices.csv")
    assert {"median", "maximum"} <= set(idx["index"]) and idx.height > 0
    capsys.readouterr()
    assert main(["sensitivity", str(run), "--method", "sobol", "--out", str(tmp_path), "--no-progress"]) == 2
    assert "--method" in capsys.readouterr().err


def test_a_design_leaves_out_inputs_that_drive_revenue_only(world):
    """Chip prices feed revenue only: a design over the headline outputs leaves them out, unless named."""
    sc = load_scenario(DEFAULT, world=world)
    names = problem(sc).names
    assert not any(n.endswith(".price_usd") for n in names) and "smuggling.base_take_up" in names
    assert problem(sc, inputs=["chips.H100.price_usd"]).names == ["chips.H100.price_usd", NOISE]
