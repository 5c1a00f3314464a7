"""Smuggling responds to the rules: a share of refused demand (the take-up), cut by enforcement, within a
capacity; booked on its own stock channel and flow. Scripted orders, then shipped scenarios (slow)."""

from __future__ import annotations

import numpy as np
import pytest
from scripted import ROOT, scripted

from sim.inputs import compile_scenario, smuggling_take_up
from sim.kernel import layout as L
from sim.kernel.allocate import run_kernel
from sim.scenario import load_scenario


def test_smugglers_serve_their_take_up_of_refused_demand(tmp_path, world):
    comp, out, c = scripted(tmp_path, world, "diffusion_2025", "CHN", "H100", 10_000.0, grey=1e9, smuggle=0.25)
    fl = out.flows[0, c]
    np.testing.assert_allclose(fl[:, L.FL_SMUGGLED], 2_500.0, rtol=1e-6)
    np.testing.assert_allclose(out.stock[0, c, :, L.CH_SMUGGLED], 2_500.0 * np.arange(1, 5), rtol=1e-6)


def test_no_refusals_no_smuggling(tmp_path, world):
    comp, out, c = scripted(tmp_path, world, "no_controls", "CHN", "H100", 10_000.0, grey=1e9, smuggle=1.0)
    assert out.flows[0, c, :, L.FL_SMUGGLED].sum() == 0.0


def test_location_verification_and_guidance_cut_the_take_up(tmp_path, world):
    """The Chip Security Act's mandate (from 28 Dec 2026) cuts the take-up by the trial's cut; the rescission's
    diversion guidance (from 13 May 2025) by its own."""
    lv = {L.P_CUT_LV: 0.6}
    comp, out, c = scripted(
        tmp_path,
        world,
        "chip_security_act",
        "CHN",
        "B300",
        1_000.0,
        grey=1e9,
        smuggle=0.5,
        quarters=9,
        params=lv,
        start="2025Q1",
    )
    fl = out.flows[0, c, :, L.FL_SMUGGLED]
    assert fl[0] == pytest.approx(500.0, rel=1e-6)  # 2025Q1: no guidance yet
    assert fl[7] == pytest.approx(500.0, rel=1e-6)  # 2026Q4: guidance (cut 0 here), no mandate yet
    assert fl[8] == pytest.approx(500.0 * 0.4, rel=1e-6)  # 2027Q1: location verification
    comp, out, c = scripted(
        tmp_path,
        world,
        "rescission_2025",
        "CHN",
        "B300",
        1_000.0,
        grey=1e9,
        smuggle=0.5,
        params={L.P_CUT_GUIDANCE: 0.3},
    )
    fl = out.flows[0, c, :, L.FL_SMUGGLED]
    assert fl[0] == pytest.approx(500.0, rel=1e-6) and fl[1] == pytest.approx(350.0, rel=1e-6)


def test_the_take_up_falls_with_the_premium():
    draws = {
        "smuggling.base_take_up": np.array([0.6, 0.6, 0.6, 2.0]),
        "smuggling.price_premium": np.array([0.0, 0.5, 1.0, 0.0]),
        "smuggling.price_elasticity": np.array([1.0, 1.0, 1.0, 1.0]),
    }
    np.testing.assert_allclose(smuggling_take_up(draws), [0.6, 0.4, 0.3, 1.0])


@pytest.mark.slow
def test_smuggled_volume_follows_the_regime_on_real_runs(world):
    def smuggled(name):
        sc = load_scenario(ROOT / "scenarios" / f"{name}.toml", world=world).replace(trials=16)
        comp = compile_scenario(sc)
        return np.median(run_kernel(comp.inputs).flows[..., L.FL_SMUGGLED].sum(axis=(1, 2), dtype=np.float64))

    s = {n: smuggled(n) for n in ("no_controls", "controls_2022", "controls_2023", "diffusion_2025", "china_h200_2026")}
    s["chip_security_act"] = smuggled("chip_security_act")
    assert s["no_controls"] == 0.0
    regimes = [s[n] for n in ("controls_2022", "controls_2023", "diffusion_2025", "china_h200_2026")]
    assert len({round(x) for x in regimes}) == 4 and min(regimes) > 0
    assert s["chip_security_act"] < 0.8 * s["china_h200_2026"]
