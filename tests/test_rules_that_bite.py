"""Rules that change what ships: embargoes (15 CFR 746), the 2023 rule's data-centre test, the H20 licence
requirement of April 2025, the January 2026 rule's per-product share of US volume and the GP10 guidance on
Ascend. Each rule with scripted orders (tests/scripted.py); the real-run checks are in
test_rules_on_real_runs.py."""

from __future__ import annotations

import pytest
from scripted import scripted

from sim.chips import CLASS_A, CLASS_NONE, Thresholds, classify, load_chips
from sim.kernel import layout as L

EMBARGOED = ("CUB", "IRN", "PRK", "SYR", "RUS", "BLR")
LEGAL = (L.CH_FREE, L.CH_LICENSED, L.CH_VEU)
H20_EVERYWHERE = """
[regime.overrides]
"chip_rules.h20_china.chips" = { 2025-01-01 = ["H20", "MI308X"] }
"chip_rules.h20_china.countries" = { 2025-01-01 = ["CHN", "HKG", "MAC"] }
"chip_rules.h20_china.policy" = { 2025-01-01 = "deny", 2025-08-08 = "deny" }
"""


@pytest.mark.parametrize("regime, start", [("diffusion_2025", "2025Q2"), ("controls_2023", "2024Q1")])
@pytest.mark.parametrize("chip", ["H100", "H20", "L20", "RTX4090D", "MI308X"])
def test_embargoed_destinations_receive_no_legal_chips_of_any_kind(tmp_path, world, regime, start, chip):
    """Even with every licence under a policy of denial approved, an embargo grants none; the refused
    demand reaches the grey market."""
    buyers = dict.fromkeys(EMBARGOED, 1.0)
    comp, out, _ = scripted(
        tmp_path, world, regime, buyers, chip, 6_000.0, approve=1.0, approve_denial=1.0, grey=600.0, start=start
    )
    idx = [comp.iso3.index(iso) for iso in EMBARGOED]
    fl = out.flows[0][idx]
    assert fl[..., L.FL_ORDERED].sum() > 0
    assert out.stock[0][idx][..., list(LEGAL)].max() == 0.0
    assert fl[..., L.FL_DENIED].sum() == pytest.approx(fl[..., L.FL_ORDERED].sum(), rel=1e-6)
    assert fl[..., L.FL_SMUGGLED].sum() == pytest.approx(600.0 * 4, rel=1e-6)  # the grey market serves them


def test_other_d5_destinations_need_no_licence_for_chips_outside_3a090(tmp_path, world):
    """Venezuela (D:5, not embargoed) gets H20 licence-free under Diffusion; its H100 orders are denied (it
    buys H20 instead)."""
    comp, out, c = scripted(tmp_path, world, "diffusion_2025", "VEN", "H20", 1_000.0, start="2025Q2")
    assert out.stock[0, c, -1, L.CH_FREE] == pytest.approx(4_000.0, rel=1e-6)
    comp, out, c = scripted(tmp_path, world, "diffusion_2025", "VEN", "H100", 1_000.0, start="2025Q2")
    assert out.flows[0, c, :, L.FL_DENIED].sum() == pytest.approx(4_000.0, rel=1e-6)
    assert out.family[0, c, -1, L.FAMILIES.index("nvidia")] == 0.0
    assert out.family[0, c, -1, L.FAMILIES.index("h20_class")] == pytest.approx(out.stock[0, c, -1, L.CH_FREE])


def test_a6_destinations_in_d5_need_no_licence_under_the_2023_rule(tmp_path, world):
    """Cyprus was in D:5 and A:6 until 30 May 2024: its H100 orders of 2024Q1 ship licence-free."""
    comp, out, c = scripted(tmp_path, world, "controls_2023", "CYP", "H100", 1_000.0, quarters=1, start="2024Q1")
    assert out.stock[0, c, 0, L.CH_FREE] == pytest.approx(1_000.0, rel=1e-6)


def test_macau_enters_the_2022_controls_on_17_january_2023(tmp_path, world):
    comp, out, c = scripted(tmp_path, world, "controls_2022", "MAC", "H100", 1_000.0, quarters=2, start="2022Q4")
    fl = out.flows[0, c]
    assert fl[0, L.FL_SHIPPED] == pytest.approx(1_000.0, rel=1e-6) and fl[0, L.FL_DENIED] == 0.0
    assert fl[1, L.FL_DENIED] == pytest.approx(1_000.0, rel=1e-6)


def test_chips_not_designed_for_data_centres_are_3a090_only_from_tpp_4800():
    """Note 2 to 3A090 (88 FR 73458): the performance-density prongs bind data-centre chips only."""
    th = Thresholds()
    assert classify(4_700.0, 7.7, 0.0, th, data_center=True) == CLASS_A
    assert classify(4_700.0, 7.7, 0.0, th, data_center=False) == CLASS_NONE
    assert classify(5_285.0, 8.7, 0.0, th, data_center=False) == CLASS_A
    chips = load_chips()
    eccn = dict(zip(chips["name"], chips["eccn_2023"], strict=True))
    assert eccn["RTX4090D"] == "not 3A090" and eccn["RTX4090"] == "3A090.a"
    assert eccn["H20"] == eccn["L20"] == eccn["MI308X"] == "not 3A090"


def _h20_china(tmp_path, world, regime, extra=""):
    comp, out, c = scripted(tmp_path, world, regime, "CHN", "H20", 1_000.0, extra=extra, quarters=4)
    return out.family[0, c, :, L.FAMILIES.index("h20_class")], out.flows[0, c]


def test_the_h20_licence_requirement_changes_chinas_h20_class_stock(tmp_path, world):
    """Under the rescission H20 ships licence-free in 2025Q1, is denied from 9 Apr 2025 and licensed from
    Aug 2025 (here always approved); denied throughout, China gets none."""
    fam, fl = _h20_china(tmp_path, world, "rescission_2025")
    assert fam[0] == pytest.approx(1_000.0, rel=1e-6)  # 2025Q1: no licence yet
    assert fl[1, L.FL_DENIED] == pytest.approx(1_000.0, rel=1e-6)  # 2025Q2: denied
    assert fam[3] == pytest.approx(3_000.0, rel=1e-6)  # 2025Q3-Q4: licensed
    fam_denied, _ = _h20_china(tmp_path, world, "rescission_2025", H20_EVERYWHERE)
    assert fam_denied.max() == 0.0


def _h200_china(tmp_path, world, us_chip="H200", extra=""):
    """A quarter of the demand in the US (``us_chip``), the rest in China (H200), 2025Q1-2026Q4 under the
    rules of 2026, licences always approved."""
    comp, out, c = scripted(
        tmp_path,
        world,
        "china_h200_2026",
        {"CHN": 3.0, "USA": 1.0},
        us_chip,
        4_000.0,
        quarters=8,
        extra=extra,
        china_chip="H200",
    )
    return out.family[0, c, :, L.FAMILIES.index("nvidia")], out.flows[0, comp.iso3.index("USA")]


def test_the_h200_share_counts_us_volume_per_product_since_its_introduction(tmp_path, world):
    """From 2026Q1 China may get up to 50 % of the H200s shipped to US customers since the run began (the
    US volume before the rule counts), case by case; orders arrive in random order within a quarter."""
    fam, us = _h200_china(tmp_path, world)
    assert fam[3] == 0.0  # 2025: presumption of denial
    us_cum = us[:, L.FL_SHIPPED].cumsum()
    for q in range(4, 8):  # within half the US volume up to the quarter before, or up to this quarter
        assert 0.5 * us_cum[q - 1] * (1 - 1e-6) <= fam[q] <= 0.5 * us_cum[q] * (1 + 1e-6)
    assert fam[4] >= 0.5 * 4_000.0 * (1 - 1e-6)  # 2025's US volume (1,000 a quarter) already counts
    other, _ = _h200_china(tmp_path, world, us_chip="H100")  # US customers buy another product
    assert other.max() == 0.0
    no_rule, _ = _h200_china(tmp_path, world, extra='[regime.overrides]\n"chip_rules.h200_china.policy" = "none"\n')
    assert no_rule.max() == 0.0


def test_the_gp10_guidance_closes_ascend_sales_abroad(tmp_path, world):
    """Saudi buyers' Ascend orders ship before the guidance of 13 May 2025 and are refused after it; without
    the guidance they keep shipping."""
    fam = {}
    for name, extra in (("gp10", ""), ("none", '[regime.overrides]\n"chip_rules.prc_chips_gp10.policy" = "none"\n')):
        comp, out, c = scripted(
            tmp_path, world, "rescission_2025", "SAU", "Ascend910B", 1_000.0, extra=extra, hw_share=1.0
        )
        fam[name] = out.family[0, c, :, L.FAMILIES.index("huawei")]
        assert out.stock[0, c, 0, L.CH_FREE] == pytest.approx(1_000.0, rel=1e-6)  # 2025Q1: before the guidance
    assert fam["gp10"][-1] == pytest.approx(1_000.0, rel=1e-6)
    assert fam["none"][-1] == pytest.approx(4_000.0, rel=1e-6)
