"""Time paths (anchor level, growth per year, AR(1) noise), the chip-mix alias tables and the roadmap slip."""

import numpy as np
import pytest
from scripted import ROOT

from sim import paths as timepaths
from sim import uncertainty
from sim.errors import ScenarioError, SimInputError
from sim.inputs import alias_table, compile_scenario
from sim.kernel import layout as L
from sim.scenario import load_scenario

GOOD = (ROOT / "scenarios" / "default.toml").read_text()
LABELS = ["2024Q1", "2024Q2", "2024Q3", "2024Q4", "2025Q1", "2025Q2", "2025Q3", "2025Q4", "2026Q1", "2027Q1"]


def _path(spec: dict, T: int = 4, labels=LABELS, seed: int = 7):
    ps, dists = timepaths.parse("x", spec, "test.toml")
    draws = uncertainty.draw(dists, seed, T)
    return timepaths.level(ps, draws, seed, labels)


def test_level_follows_anchor_and_yearly_growth_without_noise():
    x = _path({"anchor": "2025Q1", "start": 100.0, "growth": {"2024": 4.0, "2025": 2.0, "2026": 3.0}})
    np.testing.assert_allclose(x[0, 4], 100.0)  # the anchor
    np.testing.assert_allclose(x[0, 0], 25.0)  # a year earlier, 2024's factor divided out
    np.testing.assert_allclose(x[0, 2], 100.0 / 4.0**0.5)  # two quarters before the anchor
    np.testing.assert_allclose(x[0, 6], 100.0 * 2.0**0.5)  # half of 2025's growth
    np.testing.assert_allclose(x[0, 8], 200.0)  # 2026Q1 = 2 × 2025Q1
    np.testing.assert_allclose(x[0, 9], 600.0)  # 2027Q1: 2026's factor
    assert (x == x[0]).all()  # fixed inputs: every trial the same


def test_years_after_the_last_entry_repeat_it():
    x = _path({"anchor": "2025Q1", "start": 1.0, "growth": {"2025": 2.0}}, labels=["2025Q1", "2028Q1", "2023Q1"])
    np.testing.assert_allclose(x[0], [1.0, 8.0, 0.25])


def test_ar1_noise_has_its_correlation_marginal_sd_and_mean_one():
    T, Q = 20_000, 12
    labels = [f"{2025 + q // 4}Q{q % 4 + 1}" for q in range(Q)]
    x = _path(
        {"anchor": "2025Q1", "start": 1.0, "growth": {"2025": 1.0}, "ar1": {"rho": 0.8, "sd": 0.2}}, T=T, labels=labels
    )
    e = np.log(x) + 0.5 * 0.2**2
    assert e.std(axis=0) == pytest.approx(np.full(Q, 0.2), rel=0.05)  # stationary from the first quarter
    r1 = np.corrcoef(e[:, 5], e[:, 6])[0, 1]
    r3 = np.corrcoef(e[:, 5], e[:, 8])[0, 1]
    assert r1 == pytest.approx(0.8, abs=0.02) and r3 == pytest.approx(0.8**3, abs=0.03)
    assert x.mean() == pytest.approx(1.0, abs=0.01)  # mean-one multiplicative noise


def test_a_trials_path_depends_only_on_seed_and_trial():
    spec = {
        "anchor": "2025Q1",
        "start": {"lognormal": {"ci90": [1.0, 2.0]}},
        "growth": {"2025": {"uniform": [1, 2]}},
        "ar1": {"rho": 0.5, "sd": 0.3},
    }
    np.testing.assert_array_equal(_path(spec, T=50)[:10], _path(spec, T=10))
    assert not np.array_equal(_path(spec, T=10), _path(spec, T=10, seed=8))


@pytest.mark.parametrize(
    "spec,field",
    [
        ({"start": 1.0, "ar1": {"rho": 1.5, "sd": 0.1}}, "x.ar1.rho"),
        ({"start": 1.0, "ar1": {"rho": 0.5, "sd": -0.1}}, "x.ar1.sd"),
        ({"start": -1.0}, "x.start"),
        ({"start": 1.0, "growth": {"2025": 0.0}}, "x.growth.2025"),
        ({"start": 1.0, "growth": {"next": 2.0}}, "x.path.growth.next"),
        ({"start": 1.0, "anchor": "2025Q9"}, "x.path.anchor"),
        ({"growth": {"2025": 2.0}}, "x.path"),
    ],
)
def test_bad_paths_name_the_field(spec, field):
    with pytest.raises(SimInputError) as e:
        ps, dists = timepaths.parse("x", spec, "test.toml")
        timepaths.check(ps, dists, "test.toml")
    assert e.value.field == field


def test_scenario_overrides_a_path_component_by_dotted_name(tmp_path, world):
    p = tmp_path / "s.toml"
    p.write_text(
        GOOD + '\n[assumptions]\n"supply.nvidia_h100e_per_quarter.growth.2026" = 1.0\n'
        '"supply.nvidia_h100e_per_quarter.ar1.sd" = 0.0\n"supply.nvidia_h100e_per_quarter.start" = 1e6\n'
        '"supply.nvidia_h100e_per_quarter.growth.2025" = 1.0\n'
    )
    inp = compile_scenario(load_scenario(p, world=world).replace(trials=3)).inputs
    nv = inp.quarterly[:, :, L.QT_SUPPLY + L.VENDORS.index("NVIDIA")]
    np.testing.assert_allclose(nv[:, :9], 1e6)  # 2025Q1-2027Q1: flat at the overridden level
    assert (nv[:, 9:] > 1e6).all()  # 2027 grows at its own (untouched) rate
    bad = tmp_path / "b.toml"
    bad.write_text(GOOD + '\n[assumptions]\n"demand.world_h100e_per_quarter.ar1.rho" = 1.0\n')
    with pytest.raises(ScenarioError) as e:
        load_scenario(bad, world=world)
    assert "assumptions.demand.world_h100e_per_quarter.ar1.rho" in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("w", [[1.0], [0.2, 0.8], [0.05, 0.0, 0.3, 0.65], list(np.arange(1.0, 21.0))])
def test_alias_table_reproduces_the_weights(w):
    prob, alias = alias_table(np.array(w))
    K = len(w)
    p = prob / K
    for i in range(K):
        p[alias[i]] += (1.0 - prob[i]) / K
    np.testing.assert_allclose(p, np.array(w) / np.sum(w), atol=1e-12)


def test_roadmap_slip_shifts_the_chip_mix_from_slip_from(world):
    sc = load_scenario(ROOT / "scenarios" / "default.toml", world=world).replace(trials=200)
    comp = compile_scenario(sc)
    prob, alias = comp.inputs.mix_prob, comp.inputs.mix_alias
    assert prob.shape[0] == 4  # slips 0..3 quarters
    labels = comp.labels
    q0 = labels.index(sc.assumptions.structure["chip_mix"]["slip_from"])
    for s in range(1, prob.shape[0]):
        np.testing.assert_array_equal(prob[s, :, :q0], prob[0, :, :q0])  # history does not move
        np.testing.assert_array_equal(prob[s, :, q0 + s :], prob[0, :, q0 : len(labels) - s])
        np.testing.assert_array_equal(prob[s, :, q0 : q0 + s], prob[0, :, [q0 - 1] * s].transpose(1, 0, 2))
        np.testing.assert_array_equal(alias[s, :, q0 + s :], alias[0, :, q0 : len(labels) - s])


def test_hyperscalers_with_their_own_chips_buy_them_and_nobody_else_does(world):
    comp = compile_scenario(load_scenario(ROOT / "scenarios" / "default.toml", world=world).replace(trials=1))
    inp, names = comp.inputs, comp.chips["name"].to_list()
    tpu = names.index("TPUv7")
    K = len(names)

    def share(g, q, k):
        p = inp.mix_prob[0, g, q] / K
        return p[k] + ((1.0 - inp.mix_prob[0, g, q]) / K)[inp.mix_alias[0, g, q] == k].sum()

    q26 = comp.labels.index("2026Q1")
    google = [f for f, n in enumerate(comp.firm_names) if n.startswith("Google@")]
    assert google and all(share(inp.firm_mix[f], q26, tpu) > 0.5 for f in google)
    others = {int(g) for f, g in enumerate(inp.firm_mix) if not comp.firm_names[f].startswith("Google@")}
    assert all(share(g, q26, tpu) == 0.0 for g in others)


def test_a_calendar_quarter_gets_the_same_noise_whatever_the_run_start_and_length():
    spec = {"anchor": "2025Q1", "start": 1.0, "growth": {"2024": 2.0, "2025": 1.5}, "ar1": {"rho": 0.7, "sd": 0.3}}
    long = _path(spec, labels=[f"{2024 + q // 4}Q{q % 4 + 1}" for q in range(12)])  # 2024Q1-2026Q4
    short = _path(spec, labels=["2025Q1", "2025Q2", "2025Q3"])
    np.testing.assert_allclose(short, long[:, 4:7])
