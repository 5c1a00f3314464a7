"""Legislated cases for every shipped regime, one small scripted world each (issue 3)."""

import numpy as np
import pytest
from scripted import ROOT, rerun, scripted

from sim.kernel import layout as L
from sim.regimes import load_regime
from sim.regimes.compile import compile_regime
from sim.scenario import load_scenario

REGIMES = [
    "controls_2022",
    "controls_2023",
    "diffusion_2025",
    "rescission_2025",
    "gulf_deals_2025",
    "china_h200_2026",
    "chip_security_act",
    "no_controls",
]


@pytest.mark.parametrize("name", REGIMES)
def test_every_regime_loads_and_every_parameter_is_cited(name):
    r = load_regime(name)
    for p in r.params.values():
        assert p.reference and all("title" in ref for ref in p.reference), p.name
        assert p.values


def test_under_rescission_a_malaysian_buyer_gets_no_ascend_while_a_chinese_buyer_does(tmp_path, world):
    comp, out, c = scripted(tmp_path, world, "rescission_2025", "MYS", "Ascend910C", 1_000.0, quarters=3)
    fl = out.flows[0, c]
    assert fl[0, L.FL_SHIPPED] == pytest.approx(1_000.0, rel=1e-6)  # 2025Q1: before the guidance
    assert fl[1:, L.FL_SHIPPED].sum() == 0.0  # from 2025Q2: prohibited
    assert fl[1:, L.FL_UNMET].sum() == pytest.approx(2_000.0, rel=1e-6)
    assert fl[1:, L.FL_SMUGGLED].sum() == 0.0 and fl[1:, L.FL_SUBSTITUTE].sum() == 0.0
    comp, out, c = scripted(tmp_path, world, "rescission_2025", "CHN", "Ascend910C", 1_000.0, quarters=3)
    assert out.flows[0, c, :, L.FL_SHIPPED] == pytest.approx([1_000.0] * 3, rel=1e-6)
    assert out.stock[0, c, -1, L.CH_DOMESTIC] == pytest.approx(3_000.0, rel=1e-6)


def test_h20_to_china_free_then_licence_required_then_licensed_again(tmp_path, world):
    comp, out, c = scripted(tmp_path, world, "rescission_2025", "CHN", "H20", 100.0, quarters=3)
    fl = out.flows[0, c]
    assert comp.inputs.chip_class[0, comp.chips["name"].to_list().index("H20")] == 0  # not 3A090
    assert fl[0, L.FL_DENIED] == 0.0 and fl[0, L.FL_SHIPPED] == pytest.approx(100.0, rel=1e-6)
    assert fl[1, L.FL_DENIED] == pytest.approx(100.0, rel=1e-6)  # 9 Apr 2025: licence, none issued
    assert fl[2, L.FL_DENIED] == 0.0  # Aug 2025: licences issued
    assert out.stock[0, c, 2, L.CH_LICENSED] == pytest.approx(100.0, rel=1e-6)


def test_2022_rule_lets_h800_through_to_china_and_2023_rule_stops_it(tmp_path, world):
    comp, out, c = scripted(tmp_path, world, "controls_2022", "CHN", "H800", 1_000.0, quarters=1)
    assert out.flows[0, c, 0, L.FL_SHIPPED] == pytest.approx(1_000.0, rel=1e-6)
    comp, out, c = scripted(tmp_path, world, "controls_2022", "CHN", "H100", 1_000.0, quarters=1)
    fl = out.flows[0, c, 0]
    assert fl[L.FL_DENIED] == pytest.approx(1_000.0, rel=1e-6)  # H100 (NVLink 900 GB/s) denied
    assert fl[L.FL_SUBSTITUTE] == pytest.approx(1_000.0, rel=1e-6)  # ... and an H800 bought instead
    comp, out, c = scripted(tmp_path, world, "controls_2023", "CHN", "H800", 1_000.0, quarters=1)
    assert out.flows[0, c, 0, L.FL_DENIED] == pytest.approx(1_000.0, rel=1e-6)


@pytest.mark.parametrize(
    "buyer,approve,shipped",
    [("VNM", 1.0, 1_000.0), ("VNM", 0.0, 0.0), ("KAZ", 1.0, 1_000.0), ("ISR", 0.0, 1_000.0), ("PRT", 0.0, 1_000.0)],
)
def test_2023_rule_licences_d1_d4_outside_a5_a6(tmp_path, world, buyer, approve, shipped):
    """Vietnam (D:1) and Kazakhstan (D:1) need a licence; Israel (D:4 but A:6) and Portugal do not."""
    comp, out, c = scripted(tmp_path, world, "controls_2023", buyer, "H100", 1_000.0, quarters=1, approve=approve)
    assert out.flows[0, c, 0, L.FL_SHIPPED] == pytest.approx(shipped, rel=1e-6, abs=1e-6)


def test_january_2026_rule_caps_china_h200_at_half_of_us_volume_and_denies_b200(tmp_path, world):
    comp, out, c = scripted(
        tmp_path, world, "china_h200_2026", {"CHN": 0.5, "USA": 0.5}, "H200", 2_000.0, quarters=4, start="2025Q4"
    )
    usa = comp.iso3.index("USA")
    fl = out.flows[0]
    assert fl[c, 0, L.FL_DENIED] == pytest.approx(1_000.0, rel=1e-6)  # 2025Q4: presumption of denial
    h200 = fl[c, 1:, L.FL_SHIPPED] - fl[c, 1:, L.FL_SUBSTITUTE]  # H200 licensed from 2026Q1
    china, us = h200.sum(), fl[usa, 1:, L.FL_SHIPPED].sum()
    assert 0.0 < china <= 0.5 * us + 1e-6 and china >= 0.5 * us - 1_000.0  # within one order of the limit
    assert out.stock[0, c, -1, L.CH_LICENSED] == pytest.approx(china, rel=1e-6)
    comp, out, c = scripted(
        tmp_path, world, "china_h200_2026", {"CHN": 0.5, "USA": 0.5}, "B200", 2_000.0, quarters=2, start="2026Q1"
    )
    fl = out.flows[0, c]
    assert fl[:, L.FL_DENIED].sum() == pytest.approx(2_000.0, rel=1e-6)  # above the thresholds: denied
    assert out.stock[0, c, -1, L.CH_LICENSED] == 0.0


def test_gulf_allowance_ships_without_licence_risk(tmp_path, world):
    gb300 = 2500 / 989.5  # H100e per GB300
    comp, out, c = scripted(
        tmp_path, world, "gulf_deals_2025", "SAU", "GB300", 10_000 * gb300, quarters=2, start="2025Q3", approve=0.0
    )
    fl = out.flows[0, c]
    assert fl[:, L.FL_SHIPPED].sum() == pytest.approx(18_000 * gb300, rel=1e-6)  # the May-2025 approval
    assert fl[:, L.FL_DENIED].sum() == pytest.approx(2_000 * gb300, rel=1e-6)  # beyond: licence refused
    comp, out, c = scripted(
        tmp_path, world, "rescission_2025", "SAU", "GB300", 10_000 * gb300, quarters=2, start="2025Q3", approve=0.0
    )
    assert out.flows[0, c, :, L.FL_SHIPPED].sum() == 0.0


def test_location_verification_cuts_diversion_from_its_date(tmp_path, world):
    comp, out, c = scripted(tmp_path, world, "chip_security_act", "MYS", "H100", 1_000.0, quarters=4, start="2026Q3")
    comp.inputs.c_div[c] = 0.1
    out = rerun(comp, P_DIVERSION=1.0, P_CUT_GUIDANCE=0.0, P_CUT_LV=0.5)
    div = out.flows[0, c, :, L.FL_DIVERTED_OUT]
    assert div == pytest.approx([100.0, 100.0, 50.0, 50.0], rel=1e-6)  # from 2027Q1 (28 Dec 2026)
    china = comp.iso3.index("CHN")
    assert out.flows[0, china, :, L.FL_DIVERTED_IN] == pytest.approx(div, rel=1e-6)


def test_history_switches_rules_at_quarter_boundaries_without_restarting(world, tmp_path):
    sc = load_scenario(ROOT / "scenarios" / "history.toml", world=world)
    from sim.chips import load_chips

    reg = compile_regime(sc.timeline, world, load_chips(), sc.labels, {}, [])
    # the Diffusion rule was rescinded two days before its compliance date: it never binds
    assert reg.regime_name[:3] == ["controls_2023", "china_h200_2026", "china_h200_2026"]
    idx = world.index()
    are, khm = idx["ARE"], idx["KHM"]
    assert reg.policy[5, are, 0] == L.LICENCE and reg.policy[6, are, 0] == L.FREE  # UAE into A:5, mid-2026
    assert reg.policy[4, khm, 0] == L.LICENCE and reg.policy[3, khm, 0] == L.DENY  # Cambodia out of D:5 2026Q1
    # a Mexican buyer under 2023 rules, then the Diffusion rule from its compliance date: the LPP counter
    # and the allocation run on across the switch
    timeline = [("2023-11-17", "controls_2023"), ("2025-01-13", "diffusion_2025")]
    comp, out, c = scripted(tmp_path, world, timeline, "MEX", "H100", 10_000.0, quarters=3)
    fl = out.flows[0, c]
    assert comp.regime.regime_name == ["controls_2023", "diffusion_2025", "diffusion_2025"]
    assert fl[0, L.FL_LPP] == 0.0 and fl[0, L.FL_CAP_USED] == 0.0  # 2025Q1: no licence needed
    assert fl[1:, L.FL_LPP].sum() == pytest.approx(26_900_000 / 15_832, rel=1e-6)  # one allowance for 2025
    assert fl[2, L.FL_CAP_USED] == pytest.approx(20_000 - 26_900_000 / 15_832, rel=1e-6)


def test_the_h200_rule_leaves_chinese_purchases_of_ascend_alone(tmp_path, world):
    comp, out, c = scripted(
        tmp_path, world, "china_h200_2026", "CHN", "Ascend910C", 1_000.0, quarters=1, start="2026Q1"
    )
    assert out.flows[0, c, 0, L.FL_DENIED] == 0.0
    assert out.stock[0, c, 0, L.CH_DOMESTIC] == pytest.approx(1_000.0, rel=1e-6)


def test_refused_h200_class_orders_go_to_the_grey_market_and_substitutes(tmp_path, world):
    comp, out, c = scripted(
        tmp_path, world, "china_h200_2026", "CHN", "H200", 1_000.0, quarters=1, start="2026Q1", grey=300.0
    )
    fl = out.flows[0, c, 0]  # no US volume yet: the 50 % share leaves no room
    assert fl[L.FL_DENIED] == pytest.approx(1_000.0, rel=1e-6)
    assert fl[L.FL_SMUGGLED] == pytest.approx(300.0, rel=1e-6)
    # what the grey market leaves goes to fallback chips, which never give more H100e than the refused chips;
    # the rest stays unmet
    rest = fl[L.FL_DENIED] - fl[L.FL_SMUGGLED]
    assert 0.0 < fl[L.FL_SUBSTITUTE] <= rest
    assert fl[L.FL_SUBSTITUTE] + fl[L.FL_UNMET] == pytest.approx(rest, rel=1e-6)
    assert fl[L.FL_SHIPPED] == pytest.approx(fl[L.FL_SUBSTITUTE], rel=1e-6)  # only the fallback chips ship


def test_the_2022_rule_still_embargoes_russia(tmp_path, world):
    comp, out, c = scripted(tmp_path, world, "controls_2022", "RUS", "B200", 1_000.0, quarters=1)
    assert out.flows[0, c, 0, L.FL_DENIED] == pytest.approx(1_000.0, rel=1e-6)


def test_gulf_allowance_is_a_one_off_total(tmp_path, world):
    gb300 = 2500 / 989.5
    comp, out, c = scripted(
        tmp_path, world, "gulf_deals_2025", "SAU", "GB300", 10_000 * gb300, quarters=8, start="2025Q3", approve=0.0
    )
    assert out.flows[0, c, :, L.FL_SHIPPED].sum() == pytest.approx(53_000 * gb300, rel=1e-6)


def test_a_compare_of_scenarios_that_differ_beyond_the_regime_is_refused(tmp_path, world):
    from sim.comparison import check_comparable
    from sim.errors import ScenarioError

    a = load_scenario(ROOT / "scenarios" / "diffusion_2025.toml", world=world)
    b = a.replace(firms_total=a.firms_total + 1)
    with pytest.raises(ScenarioError, match="firms"):
        check_comparable([a, b])
    check_comparable([a, load_scenario(ROOT / "scenarios" / "no_controls.toml", world=world)])


@pytest.mark.kernel
@pytest.mark.parametrize(
    "name",
    ["history", "chip_security_act", "gulf_deals_uae_framework", "controls_2022", "rescission_2025", "china_h200_2026"],
)
def test_kernel_equals_reference_under_every_rule_path(world, name):
    from sim.inputs import compile_scenario
    from sim.kernel.allocate import run_kernel
    from sim.kernel.reference import simulate_trial

    sc = load_scenario(ROOT / "scenarios" / f"{name}.toml", world=world)
    comp = compile_scenario(
        sc.replace(
            trials=1, quarters=10, start="2025Q3", firms_total=60, buyers_per_data_centre=0.01, orders_per_quarter=2
        )
    )
    comp.inputs.quarterly[:, :, L.QT_GREY] = 2e4
    out = run_kernel(comp.inputs)
    ref = simulate_trial(comp.inputs, 0)
    for k in ("stock", "stock_tpp", "largest", "flows"):
        np.testing.assert_allclose(getattr(out, k)[0], ref[k], rtol=2e-6, atol=1e-3, err_msg=k)
    np.testing.assert_array_equal(out.exhaust[0], ref["exhaust"])
