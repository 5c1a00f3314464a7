"""Country demand sampled per trial from its documented ranges, overridable by name; deals that carry
contracted demand (sim/contracts.py), a scenario input beside the regime."""

from __future__ import annotations

import numpy as np
import pytest
from scripted import ROOT, scripted

from sim.comparison import check_comparable
from sim.inputs import compile_scenario
from sim.kernel import layout as L
from sim.kernel.allocate import run_kernel
from sim.scenario import load_scenario

CONTRACT = """
[regime.contracted_demand.ARE]
h100e_per_quarter = 5_000
from = "2025Q2"
to = "2025Q3"
source = "test"
"""


@pytest.fixture(scope="module")
def default(world):
    return compile_scenario(load_scenario(ROOT / "scenarios" / "default.toml", world=world).replace(trials=400))


def test_country_weights_are_drawn_per_trial_and_sum_to_one(default, world):
    w = default.inputs.draws.weight
    np.testing.assert_allclose(w.sum(axis=1), 1.0, rtol=1e-12)
    are = world.index()["ARE"]
    lo, hi = world.demand_ranges["ARE"]
    assert w[:, are].std() > 0.1 * w[:, are].mean()  # sampled, not fixed
    assert lo * 0.7 < np.median(w[:, are]) < hi  # about its range (renormalised with the others' draws)
    unlisted = world.index()["PRT"]
    assert "PRT" not in world.demand_ranges and w[:, unlisted].std() > 0  # the others move with the renormalisation


def test_a_scenario_overrides_a_countrys_demand_weight_by_name(tmp_path, world):
    p = tmp_path / "s.toml"
    p.write_text((ROOT / "scenarios" / "default.toml").read_text() + '\n[assumptions]\n"demand_weight.ARE" = 0.1\n')
    comp = compile_scenario(load_scenario(p, world=world).replace(trials=50))
    are = comp.inputs.draws.weight[:, world.index()["ARE"]]
    assert are.min() > 0.08  # 0.1 before renormalisation, against ~0.02 in the default


def test_contracted_demand_adds_to_the_territorys_orders(tmp_path, world):
    comp, out, c = scripted(tmp_path, world, "gulf_deals_2025", "ARE", "H100", 1_000.0, regime_lines=CONTRACT)
    np.testing.assert_allclose(out.flows[0, c, :, L.FL_ORDERED], [1_000.0, 6_000.0, 6_000.0, 1_000.0], rtol=1e-6)


def test_scenarios_that_differ_only_in_contracted_demand_are_comparable(world):
    a = load_scenario(ROOT / "scenarios" / "gulf_deals_2025.toml", world=world)
    b = load_scenario(ROOT / "scenarios" / "gulf_deals_uae_framework.toml", world=world)
    assert [k.iso3 for k in b.contracts] == ["SAU", "ARE"] and [k.iso3 for k in a.contracts] == ["SAU"]
    check_comparable([a, b])


@pytest.mark.slow
def test_the_uae_framework_with_its_campus_raises_uae_compute_in_2030_by_a_quarter(world):
    out = {}
    for name in ("gulf_deals_2025", "gulf_deals_uae_framework"):
        comp = compile_scenario(load_scenario(ROOT / "scenarios" / f"{name}.toml", world=world).replace(trials=40))
        out[name] = run_kernel(comp.inputs).stock[:, comp.iso3.index("ARE"), -1].sum(axis=1, dtype=np.float64)
    ratio = np.median(out["gulf_deals_uae_framework"] / out["gulf_deals_2025"])
    assert ratio >= 1.25
