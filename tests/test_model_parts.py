"""The parts of the model around the rules: supply, grey market, retirement, installed base, Ascend,
diversion. Each is a scenario input; each test would fail if the part were missing or wrong."""

import numpy as np
import pytest
from scripted import ROOT, scripted

from sim.assumptions import load_assumptions
from sim.inputs import compile_scenario, supply_cost
from sim.kernel import layout as L
from sim.kernel.allocate import run_kernel
from sim.kernel.structures import Draws
from sim.scenario import load_scenario

pytestmark = pytest.mark.kernel


def test_orders_beyond_vendor_supply_wait_one_quarter_then_lapse(tmp_path, world):
    comp, out, c = scripted(tmp_path, world, "no_controls", "DEU", "H100", 1_000.0, supply=600.0)
    fl = out.flows[0, c]
    np.testing.assert_allclose(fl[:, L.FL_SHIPPED], 600.0, rtol=1e-6)  # capacity-bound
    # q0: 400 waits. q1: 1,400 asked, 600 served, the unserved 800 split pro rata: 400/1400 of it had waited
    np.testing.assert_allclose(fl[:2, L.FL_BACKLOG], [400.0, 800.0 * 1000 / 1400], rtol=1e-6)
    np.testing.assert_allclose(fl[:2, L.FL_LAPSED], [0.0, 800.0 * 400 / 1400], rtol=1e-6)
    assert fl[:, L.FL_DENIED].sum() == 0.0


def test_a_sold_out_vendor_does_not_hide_denials(tmp_path, world):
    """Tier-3 orders are denied (and go to the grey market and substitutes) even when the vendor is sold out."""
    comp, out, c = scripted(tmp_path, world, "diffusion_2025", "CHN", "H100", 10_000.0, supply=0.0)
    fl = out.flows[0, c]
    np.testing.assert_allclose(fl[:, L.FL_DENIED], 10_000.0, rtol=1e-6)
    assert fl[:, L.FL_BACKLOG].sum() == 0.0 and fl[:, L.FL_UNMET].sum() == pytest.approx(40_000.0, rel=1e-6)


def test_smugglers_serve_denied_tier3_demand_up_to_their_capacity(tmp_path, world):
    comp, out, c = scripted(tmp_path, world, "diffusion_2025", "CHN", "H100", 10_000.0, grey=3_000.0)
    fl = out.flows[0, c]
    np.testing.assert_allclose(fl[:, L.FL_SMUGGLED], 3_000.0, rtol=1e-6)
    np.testing.assert_allclose(out.stock[0, c, :, L.CH_SMUGGLED], 3_000.0 * np.arange(1, 5), rtol=1e-6)
    assert out.stock[0, c, :, L.CH_DIVERTED].max() == 0.0  # smuggled chips are not diverted ones
    h20 = comp.chips.filter(comp.chips["name"] == "H20")["h100e_flops"][0]  # the rest: H20 one for one
    np.testing.assert_allclose(fl[:, L.FL_UNMET], 7_000.0 * (1 - h20), rtol=1e-6)


def test_denied_buyers_spend_the_budget_on_several_fallback_chips(tmp_path, world):
    """With 2.5 H20 per refused H100, 7,000 refused H100 become 17,500 H20 (supply permitting)."""
    comp, out, c = scripted(tmp_path, world, "diffusion_2025", "CHN", "H100", 10_000.0, grey=3_000.0, subst=2.5)
    fl = out.flows[0, c]
    h20 = comp.chips.filter(comp.chips["name"] == "H20")["h100e_flops"][0]
    np.testing.assert_allclose(fl[:, L.FL_SUBSTITUTE], 7_000.0 * 2.5 * h20, rtol=1e-6)
    np.testing.assert_allclose(fl[:, L.FL_UNMET], 7_000.0 * (1 - 2.5 * h20), rtol=1e-6)
    np.testing.assert_allclose(fl[:, L.FL_ORDERED], 10_000.0 + 7_000.0 * 2.5 * h20, rtol=1e-6)


def test_chips_retire_after_their_service_life(tmp_path, world):
    comp, out, c = scripted(tmp_path, world, "no_controls", "DEU", "H100", 1_000.0, life=2.0)
    np.testing.assert_allclose(out.stock[0, c, :, L.CH_FREE], [1_000.0, 2_000.0, 2_000.0, 2_000.0], rtol=1e-6)


def test_installed_base_at_start_retires_linearly(tmp_path, world):
    comp, out, c = scripted(tmp_path, world, "no_controls", "DEU", "H100", 1.0, life=4.0, installed=1e6)
    shares = load_assumptions().structure["installed_base"]["shares"]["2025"]  # a 2025Q1 start
    share = comp.inputs.c_init_share[c]
    assert share == pytest.approx(1.0 - shares["USA"] - shares["CHN"])  # all but USA and CHN
    np.testing.assert_allclose(
        out.stock[0, c, :, L.CH_INITIAL], 1e6 * share * np.array([0.75, 0.5, 0.25, 0.0]), rtol=1e-6
    )
    usa = comp.iso3.index("USA")
    assert out.stock[0, usa, 0, L.CH_INITIAL] == pytest.approx(1e6 * shares["USA"] * 0.75, rel=1e-6)


def test_h20_costs_its_maker_a_full_h100_die(world):
    comp = compile_scenario(load_scenario(ROOT / "scenarios" / "default.toml", world=world).replace(trials=1))
    names = comp.chips["name"].to_list()
    cost = supply_cost(comp.chips)
    assert cost[names.index("H20")] == pytest.approx(1.0, rel=0.01)
    assert cost[names.index("B200")] == pytest.approx(2250 / 989.5)
    h100e = comp.chips["h100e_flops"].to_numpy()
    for k, v in enumerate(comp.chips["vendor"]):  # Huawei's output path is in FLOP terms
        if v == "Huawei":
            assert cost[k] == h100e[k]


def test_fallback_never_gives_more_compute_than_refused(tmp_path, world):
    """2.5 Ascend 910C (0.79 H100e each) per refused H100 would be ~2 H100e: capped at 1 H100e per H100."""
    comp, out, c = scripted(
        tmp_path, world, "controls_2023", "CHN", "H100", 10_000.0, subst=2.5, supply={"NVIDIA": 0.0}
    )
    fl = out.flows[0, c]
    np.testing.assert_allclose(fl[:, L.FL_SUBSTITUTE], 10_000.0, rtol=1e-6)  # all from Ascend, H100e for H100e
    np.testing.assert_allclose(fl[:, L.FL_UNMET], 0.0, atol=1e-6)


def test_ascend_is_no_fallback_outside_china(tmp_path, world):
    """A denied buyer in Russia cannot turn to Ascend when NVIDIA cannot supply H20."""
    comp, out, c = scripted(
        tmp_path, world, "controls_2023", "RUS", "H100", 10_000.0, subst=2.5, supply={"NVIDIA": 0.0}
    )
    fl = out.flows[0, c]
    assert fl[:, L.FL_SUBSTITUTE].sum() == 0.0
    np.testing.assert_allclose(fl[:, L.FL_UNMET], 10_000.0, rtol=1e-6)


@pytest.fixture(scope="module")
def default_small(world):
    sc = load_scenario(ROOT / "scenarios" / "default.toml", world=world)
    comp = compile_scenario(
        sc.replace(trials=2, quarters=6, firms_total=200, buyers_per_data_centre=0.01, orders_per_quarter=2)
    )
    return comp, run_kernel(comp.inputs)


def test_ascend_counts_as_domestic_supply_only_for_chinese_buyers(default_small):
    comp, out = default_small
    china = [comp.iso3.index(c) for c in ("CHN", "HKG", "MAC")]
    others = np.setdiff1d(np.arange(len(comp.iso3)), china)
    assert out.stock[:, china, :, L.CH_DOMESTIC].sum() > 0
    assert out.stock[:, others, :, L.CH_DOMESTIC].sum() == 0.0


def test_diversion_scales_with_the_multiplier(world):
    sc = load_scenario(ROOT / "scenarios" / "default.toml", world=world).replace(
        trials=1, quarters=4, firms_total=200, buyers_per_data_centre=0.01, orders_per_quarter=2
    )
    comp = compile_scenario(sc)
    comp.inputs.params[:, L.P_DIVERSION] = 0.0
    none = run_kernel(comp.inputs).flows[..., L.FL_DIVERTED_OUT].sum()
    comp.inputs.params[:, L.P_DIVERSION] = 5.0
    some = run_kernel(comp.inputs).flows[..., L.FL_DIVERTED_OUT].sum()
    assert none == 0.0 and some > 0.0


def test_roadmap_chips_have_uncertain_16bit_rates_and_published_ones_do_not(world):
    comp = compile_scenario(load_scenario(ROOT / "scenarios" / "default.toml", world=world).replace(trials=400))
    names = comp.chips["name"].to_list()
    h = comp.inputs.chip_h100e
    rubin = h[:, names.index("Rubin")] * 989.5
    assert np.percentile(rubin, 5) == pytest.approx(6000, rel=0.1)
    assert np.percentile(rubin, 95) == pytest.approx(12_500, rel=0.1)
    for chip in ("H100", "B300", "TPUv7", "Trainium3"):  # published rates: the same in every trial
        assert np.ptp(h[:, names.index(chip)]) == 0.0


def test_a_faster_roadmap_chip_ships_more_compute_from_the_same_vendor_capacity(tmp_path, world):
    """With NVIDIA's capacity binding, the H100e shipped scale with the trial's Rubin rate."""
    comp, out, c = scripted(tmp_path, world, "no_controls", "DEU", "Rubin", 1e7, quarters=1, supply=1_000.0)
    k = comp.chips["name"].to_list().index("Rubin")
    inp = comp.inputs
    d = inp.draws  # two trials with the same draws but Rubin's rate
    inp.draws = Draws(
        *(
            np.repeat(a, 2, axis=0)
            for a in (d.params, d.quarterly, d.chip_h100e, d.weight, d.chip_price, d.mfu, d.cluster_cap)
        ),
        np.zeros(2, np.int64),  # both rows use trial 0's random stream
    )
    inp.draws.chip_h100e[1, k] *= 1.5
    out = run_kernel(inp)
    shipped = out.flows[:, c, 0, L.FL_SHIPPED]
    assert shipped[1] == pytest.approx(1.5 * shipped[0], rel=1e-5)


def test_chip_counts_by_family_follow_the_chips_shipped(tmp_path, world):
    """1,000 H100e of H20 a quarter to China (Diffusion: licence-free) is 1,000 / 0.1496 H20 a quarter; a
    refused H100 order smuggled in full is one H100 per H100e."""
    comp, out, c = scripted(tmp_path, world, "diffusion_2025", "CHN", "H20", 1_000.0, start="2025Q2")
    h20 = comp.chips.filter(comp.chips["name"] == "H20")["h100e_flops"][0]
    j = L.FAMILIES.index("h20_class")
    np.testing.assert_allclose(out.units[0, c, :, j], 1_000.0 / h20 * np.arange(1, 5), rtol=1e-6)
    np.testing.assert_allclose(out.family[0, c, :, j], 1_000.0 * np.arange(1, 5), rtol=1e-6)
    comp, out, c = scripted(tmp_path, world, "diffusion_2025", "CHN", "H100", 1_000.0, grey=1e9, start="2025Q2")
    np.testing.assert_allclose(out.units[0, c, :, L.FAMILIES.index("nvidia")], 1_000.0 * np.arange(1, 5), rtol=1e-6)


def test_revenue_and_refused_orders_are_booked_at_the_trials_prices(tmp_path, world):
    """H20 to China ships licence-free (Diffusion): NVIDIA's revenue is chips × the trial's H20 price; H100
    orders are refused: their value at the H100 price is revenue forgone (gross); the smuggled part was sold
    to a legal buyer elsewhere, not to China."""
    nv = L.VENDORS.index("NVIDIA")
    comp, out, c = scripted(tmp_path, world, "diffusion_2025", "CHN", "H20", 1_000.0, start="2025Q2")
    k = comp.chips["name"].to_list().index("H20")
    h20, price = comp.chips["h100e_flops"][k], comp.inputs.draws.chip_price[0, k]
    assert 9_000 < price < 15_500
    np.testing.assert_allclose(out.revenue[0, c, :, nv], 1_000.0 / h20 * price, rtol=1e-5)
    assert out.refused[0].sum() == 0.0
    comp, out, c = scripted(
        tmp_path, world, "diffusion_2025", "CHN", "H100", 1_000.0, grey=1e9, smuggle=0.25, subst=0.0, start="2025Q2"
    )
    price = comp.inputs.draws.chip_price[0, comp.chips["name"].to_list().index("H100")]
    np.testing.assert_allclose(out.refused[0, c, :, nv], 1_000.0 * price, rtol=1e-5)
    assert out.flows[0, c, :, L.FL_SMUGGLED].sum() > 0 and out.revenue[0, c, :, nv].sum() == 0.0
