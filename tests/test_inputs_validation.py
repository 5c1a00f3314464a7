"""Bad input gives one line naming the file and the field, a non-zero exit, and no results folder."""

import numpy as np
import pytest
from scipy import stats
from scripted import ROOT

from sim import uncertainty
from sim.cli import main
from sim.errors import ScenarioError, SimInputError
from sim.regimes import load_regime
from sim.scenario import load_scenario

GOOD = (ROOT / "scenarios" / "default.toml").read_text()


def write(tmp_path, text):
    p = tmp_path / "s.toml"
    p.write_text(text)
    return p


@pytest.mark.parametrize(
    "text,field",
    [
        (GOOD.replace("trials = 1000", "trials = -3"), "run.trials"),
        (GOOD.replace('start = "2025Q1"', 'start = "2025Q5"'), "run.start"),
        (GOOD + "\n[bogus]\nx = 1\n", "bogus"),
        (GOOD.replace("orders_per_quarter = 4", "orders_per_quarter = 4\ncolour = 3"), "firms.colour"),
        (GOOD.replace('name = "diffusion_2025"', 'name = "diffusion_2099"'), "regime.name"),
        (GOOD.replace('"MEX", "SGP"]', '"MEX", "XXX"]'), "outputs.countries"),
        (GOOD.replace("nveu = []", 'nveu = ["ZZZ"]'), "regime.nveu"),
        (GOOD.replace('"Oracle"]', '"Oracle", "Initech"]'), "regime.uveu"),
        (GOOD.replace("g2g = {}", "g2g = { MEX = 3.0 }"), "regime.g2g.MEX"),
        (GOOD + '\n[assumptions]\n"training.mfu" = { uniform = [0.6, 0.4] }\n', "assumptions.training.mfu.uniform"),
        (GOOD + '\n[assumptions]\n"training.nonsense" = 3\n', "assumptions.training.nonsense"),
        (
            GOOD + '\n[regime.overrides]\n"caps.country_allocation_tpp" = -1\n',
            "regime.overrides.caps.country_allocation_tpp",
        ),
        (GOOD + '\n[regime.overrides]\n"caps.no_such_cap" = 1\n', "regime.overrides.caps.no_such_cap"),
        ("[run\nstart=", ""),
    ],
)
def test_bad_scenarios_name_file_and_field(tmp_path, world, text, field):
    p = write(tmp_path, text)
    with pytest.raises(ScenarioError) as e:
        load_scenario(p, world=world)
    msg = str(e.value)
    assert msg.startswith(str(p)) and "\n" not in msg
    assert f": {field}:" in msg or (not field and "TOML syntax" in msg)


def test_cli_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys):
    p = write(tmp_path, GOOD.replace("trials = 1000", "trials = 0"))
    out = tmp_path / "results"
    assert main(["run", str(p), "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "run.trials" in err and str(p) in err
    assert not out.exists()


def test_cli_missing_file(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nope.toml")]) == 2
    assert "file not found" in capsys.readouterr().err


def test_reform_override_changes_only_that_parameter(tmp_path, world):
    p = write(tmp_path, GOOD + '\n[regime.overrides]\n"caps.country_allocation_tpp" = 1_580_000_000\n')
    sc = load_scenario(p, world=world)
    base = load_regime("diffusion_2025")
    import datetime as dt

    d = dt.date(2025, 6, 1)
    assert sc.regime.at("caps.country_allocation_tpp", d) == 1_580_000_000
    assert base.at("caps.country_allocation_tpp", d) == 790_000_000  # the baseline is not mutated
    assert sc.regime.at("lpp.allowance_tpp_per_year", d) == 26_900_000


def test_lognormal_ci90_hits_its_percentiles():
    d = uncertainty.parse({"lognormal": {"ci90": [10.0, 1000.0]}}, "f", "x")
    assert d.ppf(np.array([0.05, 0.5, 0.95])) == pytest.approx([10.0, 100.0, 1000.0], rel=1e-9)
    n = uncertainty.parse({"normal": {"ci90": [-1.0, 3.0]}, "clip": [0.0, 2.0]}, "f", "x")
    assert n.ppf(np.array([0.05, 0.5, 0.99])) == pytest.approx([0.0, 1.0, 2.0], abs=1e-9)
    assert uncertainty.parse(3, "f", "x").median == 3.0
    assert stats.norm.ppf(0.95) == pytest.approx(1.6449, abs=1e-4)


@pytest.mark.parametrize(
    "spec",
    [
        {"uniform": [2, 1]},
        {"lognormal": {"ci90": [0, 1]}},
        {"beta": [1, 2]},
        {"uniform": [0, 1], "fixed": 3},
        "abc",
        True,
        {"lognormal": [1, 2]},
    ],
)
def test_bad_distributions_are_refused(spec):
    with pytest.raises(SimInputError):
        uncertainty.parse(spec, "f", "x")


def test_draws_are_keyed_by_parameter_name():
    """Common random numbers: adding a parameter does not reshuffle another's draws."""
    a = uncertainty.draw({"x": uncertainty.Dist("uniform", 0, 1)}, seed=5, n_trials=50)
    b = uncertainty.draw(
        {"y": uncertainty.Dist("uniform", 0, 1), "x": uncertainty.Dist("uniform", 0, 1)}, seed=5, n_trials=50
    )
    np.testing.assert_array_equal(a["x"], b["x"])
    assert not np.array_equal(b["x"], b["y"])
    c = uncertainty.draw({"x": uncertainty.Dist("uniform", 0, 1)}, seed=5, n_trials=20)
    np.testing.assert_array_equal(a["x"][:20], c["x"])  # trial i depends only on (seed, i)


def test_an_override_that_breaks_the_rules_names_the_scenarios_override(tmp_path, world):
    """The overridden rules are compiled once at load: a 'capped' policy without any allocation (the 2023
    rules have none) is blamed on the scenario's regime.overrides, not on the regime file."""
    text = (
        GOOD.replace('name = "diffusion_2025"', 'name = "controls_2023"')
        .replace('uveu = ["Microsoft", "Google", "Amazon", "Meta", "Oracle"]', "uveu = []")
        .replace("g2g = {}", 'g2g = {}\noverrides = { "destinations.licence.policy_a" = "capped" }')
    )
    p = write(tmp_path, text)
    with pytest.raises(ScenarioError) as e:
        load_scenario(p, world=world)
    assert str(e.value).startswith(f"{p}: regime.overrides: a 'capped' policy is in force without an allocation")
