"""Legislated cases: one small scripted world each, asserting what the rule text says happens. The
Diffusion rule binds from its compliance date (15 May 2025), so these cases start in 2025Q2."""

import numpy as np
import pytest
from scripted import scripted

from sim.kernel import layout as L

pytestmark = pytest.mark.kernel

H100_LPP = 26_900_000 / 15_832  # 1,699.1 H100 per consignee per calendar year (§ 740.29)
H100_ALLOC = 790_000_000 / 15_832  # 49,899 H100 per Tier-2 country, 2025-2027 (§ 742.6(b)(10)(iii)(B))


def test_lpp_sized_order_in_portugal_ships_without_touching_the_cap(tmp_path, world):
    comp, out, c = scripted(tmp_path, world, "diffusion_2025", "PRT", "H100", 1_000.0, quarters=1, start="2025Q2")
    fl = out.flows[0, c, 0]
    assert fl[L.FL_SHIPPED] == pytest.approx(1_000.0, rel=1e-6)
    assert fl[L.FL_LPP] == pytest.approx(1_000.0, rel=1e-6)  # under License Exception LPP
    assert fl[L.FL_CAP_USED] == 0.0  # the allocation is untouched
    assert fl[L.FL_DENIED] == 0.0
    assert out.stock[0, c, 0, L.CH_FREE] == pytest.approx(1_000.0, rel=1e-6)


def test_beyond_lpp_the_rest_is_licensed_against_the_allocation(tmp_path, world):
    comp, out, c = scripted(tmp_path, world, "diffusion_2025", "PRT", "H100", 1_000.0, quarters=3, start="2025Q2")
    fl = out.flows[0, c]
    assert fl[:, L.FL_LPP].sum() == pytest.approx(H100_LPP, rel=1e-6)
    assert fl[-1, L.FL_CAP_USED] == pytest.approx(3_000.0 - H100_LPP, rel=1e-6)
    assert out.stock[0, c, -1, L.CH_LICENSED] == pytest.approx(3_000.0 - H100_LPP, rel=1e-6)


def test_before_its_compliance_date_the_diffusion_rule_does_not_bind(tmp_path, world):
    comp, out, c = scripted(tmp_path, world, "diffusion_2025", "PRT", "H100", 5_000.0, quarters=2)
    fl = out.flows[0, c]
    assert fl[0, L.FL_LPP] == 0.0 and fl[0, L.FL_SHIPPED] == pytest.approx(5_000.0, rel=1e-6)  # 2023 rules
    assert fl[1, L.FL_LPP] == pytest.approx(H100_LPP, rel=1e-6)  # 2025Q2


def test_lpp_allowance_resets_each_calendar_year(tmp_path, world):
    comp, out, c = scripted(tmp_path, world, "diffusion_2025", "PRT", "H100", 1_000.0, quarters=7, start="2025Q2")
    lpp = out.flows[0, c, :, L.FL_LPP]
    assert lpp[:3].sum() == pytest.approx(H100_LPP, rel=1e-6)  # 2025: 1,699 H100 under LPP
    assert lpp[3:].sum() == pytest.approx(H100_LPP, rel=1e-6)  # 2026: a fresh allowance


def test_mexico_60k_h100_a_year_exhausts_its_allocation_in_the_first_year(tmp_path, world):
    comp, out, c = scripted(tmp_path, world, "diffusion_2025", "MEX", "H100", 20_000.0, quarters=3, start="2025Q2")
    fl = out.flows[0, c]
    licensed = fl[:, L.FL_SHIPPED].sum() - fl[:, L.FL_LPP].sum()
    assert fl[-1, L.FL_CAP_USED] == pytest.approx(H100_ALLOC, rel=1e-6)  # used up exactly
    assert licensed == pytest.approx(H100_ALLOC, rel=1e-6)
    assert comp.labels[out.exhaust[0, c]] == "2025Q4"  # 18,301 + 20,000, then a partial fill
    assert fl[2, L.FL_SHIPPED] > 0 and fl[2, L.FL_DENIED] > 0  # partly filled, then denied
    assert fl[:, L.FL_DENIED].sum() == pytest.approx(60_000 - H100_LPP - H100_ALLOC, rel=1e-6)


def test_g2g_arrangement_doubles_the_allocation(tmp_path, world):
    comp, out, c = scripted(
        tmp_path, world, "diffusion_2025", "MEX", "H100", 30_000.0, start="2025Q2", extra="[regime.g2g]\nMEX = 2.0\n"
    )
    assert out.flows[0, c, -1, L.FL_CAP_USED] == pytest.approx(2 * H100_ALLOC, rel=1e-6)
    assert out.exhaust[0, c] == 3


def test_tier3_orders_of_controlled_us_chips_never_ship_legally(tmp_path, world):
    comp, out, c = scripted(tmp_path, world, "diffusion_2025", "CHN", "H100", 10_000.0, approve=1.0, start="2025Q2")
    fl = out.flows[0, c]
    assert fl[:, L.FL_DENIED].sum() == pytest.approx(40_000.0, rel=1e-6)  # every H100 order is denied
    for ch in (L.CH_LICENSED, L.CH_VEU):
        assert out.stock[0, c, :, ch].max() == 0.0
    # what does ship is the uncontrolled fallback (H20, one for one), never an H100
    h20 = comp.chips.filter(comp.chips["name"] == "H20")["h100e_flops"][0]
    assert fl[:, L.FL_SHIPPED].sum() == pytest.approx(40_000.0 * h20, rel=1e-6)


def test_no_controls_meets_chinas_demand(tmp_path, world):
    comp, out, c = scripted(tmp_path, world, "no_controls", "CHN", "H100", 10_000.0)
    fl = out.flows[0, c]
    assert fl[:, L.FL_SHIPPED].sum() == pytest.approx(40_000.0, rel=1e-6)
    assert fl[:, L.FL_DENIED].sum() == 0.0


def test_uncontrolled_chip_ships_to_china_under_diffusion(tmp_path, world):
    comp, out, c = scripted(tmp_path, world, "diffusion_2025", "CHN", "H20", 1_000.0, start="2025Q2")
    fl = out.flows[0, c]
    assert fl[:, L.FL_SHIPPED].sum() == pytest.approx(4_000.0, rel=1e-6)
    assert fl[:, L.FL_DENIED].sum() == 0.0


def test_ascend_counts_as_domestic_supply_for_chinese_buyers(tmp_path, world):
    comp, out, c = scripted(tmp_path, world, "diffusion_2025", "CHN", "Ascend910C", 1_000.0)
    assert out.stock[0, c, -1, L.CH_DOMESTIC] == pytest.approx(4_000.0, rel=1e-6)


def _microsoft_in_mexico(tmp_path, world, **kw):
    """40,000 H100 ordered in Mexico (2025Q2) where Microsoft has a site; its US site holds half the US base."""
    sites = [("Microsoft", "USA", 0.5), ("Microsoft", "MEX", 0.5)]
    return scripted(
        tmp_path,
        world,
        "diffusion_2025",
        "MEX",
        "H100",
        40_000.0,
        quarters=1,
        start="2025Q2",
        sites=sites,
        installed=200_000.0,
        init_shares={"USA": 1.0},
        **kw,
    )


def test_uveu_ships_up_to_7_percent_of_its_fleet_in_one_tier2_country_outside_the_cap(tmp_path, world):
    """Supp. 10 to Part 748 para. 6: a UVEU may install at most 7 % of its TPP in any one non-Tier-1
    country; UVEU shipments do not count against the country allocation."""
    comp, out, c = _microsoft_in_mexico(tmp_path, world, regime_lines='uveu = ["Microsoft"]')
    fleet = 0.5 * 200_000.0  # Microsoft's US site holds half the US base
    veu = fleet * 0.07 / (1 - 0.07)  # x ≤ 7 % of (fleet + x)
    assert out.stock[0, c, 0, L.CH_VEU] == pytest.approx(veu, rel=1e-6)
    lpp = 2 * H100_LPP  # Microsoft and the domestic firm, one each
    assert out.flows[0, c, 0, L.FL_CAP_USED] == pytest.approx(40_000.0 - veu - lpp, rel=1e-6)


def test_without_uveu_status_the_hyperscaler_uses_lpp_and_the_cap(tmp_path, world):
    comp, out, c = _microsoft_in_mexico(tmp_path, world)
    assert out.stock[0, c, 0, L.CH_VEU] == 0.0
    assert out.flows[0, c, 0, L.FL_CAP_USED] == pytest.approx(40_000.0 - 2 * H100_LPP, rel=1e-6)


def test_nveu_follows_the_quarterly_installed_base_schedule(tmp_path, world):
    """§ 748.15(a)(2)(iii)(B) Table 1: 633M TPP in 2025Q1, +316.5M a quarter through 2025, 1,899M in 2026Q1."""
    comp, out, c = scripted(
        tmp_path,
        world,
        "diffusion_2025",
        "ARE",
        "H100",
        100_000.0,
        quarters=4,
        regime_lines='nveu = ["ARE"]',
        start="2025Q2",
    )
    schedule = np.array([949.5, 1266.0, 1582.5, 1899.0]) * 1e6 / 15_832
    np.testing.assert_allclose(out.stock[0, c, :, L.CH_VEU], schedule, rtol=1e-6)
    assert comp.labels[out.nveu_exhaust[0, c]] == "2025Q2"
    # NVEU volume does not count against the allocation: the rest of the first order is LPP, then licensed
    assert out.flows[0, c, 0, L.FL_CAP_USED] == pytest.approx(100_000.0 - schedule[0] - H100_LPP, rel=1e-6)
