"""The rules of test_rules_that_bite.py on real runs (slow): shipped scenarios at a fixed seed, each against
a variant without the rule (paired: common random numbers), on the whole world."""

from __future__ import annotations

import numpy as np
import pytest
from scripted import ROOT

from sim.inputs import compile_scenario
from sim.kernel import layout as L
from sim.kernel.allocate import run_kernel
from sim.scenario import load_scenario

pytestmark = pytest.mark.slow

EMBARGOED = ("CUB", "IRN", "PRK", "SYR", "RUS", "BLR")
NO_H20 = """
[regime.overrides]
"chip_rules.h20_china.chips" = { 2025-01-01 = ["H20", "MI308X"] }
"chip_rules.h20_china.countries" = { 2025-01-01 = ["CHN", "HKG", "MAC"] }
"chip_rules.h20_china.policy" = { 2025-01-01 = "deny", 2025-08-08 = "deny" }
"""


def _run(tmp_path, world, name: str, extra: str = "", trials: int = 16, quarters: int = 12):
    path = tmp_path / f"{name}-{abs(hash(extra))}.toml"
    path.write_text((ROOT / "scenarios" / f"{name}.toml").read_text() + extra)
    sc = load_scenario(path, world=world).replace(trials=trials, quarters=quarters)
    comp = compile_scenario(sc)
    return comp, run_kernel(comp.inputs)


def _family(comp, out, iso3, family):
    """Median over trials of the family's stock at the run's end, summed over ``iso3``."""
    idx = [comp.iso3.index(i) for i in iso3]
    return float(np.median(out.family[:, idx, -1, L.FAMILIES.index(family)].sum(axis=1)))


@pytest.mark.parametrize("name", ["diffusion_2025", "controls_2023"])
def test_embargoed_destinations_receive_no_legal_chips_on_a_real_run(tmp_path, world, name):
    comp, out = _run(tmp_path, world, name)
    idx = [comp.iso3.index(i) for i in EMBARGOED]
    assert out.flows[:, idx, :, L.FL_ORDERED].sum() > 0
    assert out.stock[:, idx][..., [L.CH_FREE, L.CH_LICENSED, L.CH_VEU]].max() == 0.0
    assert out.flows[:, idx, :, L.FL_SMUGGLED].sum() > 0  # refused demand reaches the smuggling channel


def test_the_h20_rules_change_chinas_h20_class_stock_on_a_real_run(tmp_path, world):
    comp, out = _run(tmp_path, world, "rescission_2025")
    _, denied = _run(tmp_path, world, "rescission_2025", NO_H20)
    got, without = _family(comp, out, ["CHN"], "h20_class"), _family(comp, denied, ["CHN"], "h20_class")
    assert got > 1.2 * without > 0  # H20 in 2025Q1, RTX 4090 D throughout


def test_the_h200_rule_changes_chinas_nvidia_stock_on_a_real_run(tmp_path, world):
    """Paired (common random numbers): the rule raises China's NVIDIA-flagship stock in nearly every trial."""
    comp, out = _run(tmp_path, world, "china_h200_2026")
    _, none = _run(
        tmp_path, world, "china_h200_2026", '\n[regime.overrides]\n"chip_rules.h200_china.policy" = "none"\n'
    )
    c, j = comp.iso3.index("CHN"), L.FAMILIES.index("nvidia")
    gain = out.family[:, c, -1, j].astype(np.float64) - none.family[:, c, -1, j]
    assert (gain > 0).mean() >= 0.9 and np.median(gain) > 0.1 * np.median(none.family[:, c, -1, j])


def test_the_gp10_guidance_changes_ascend_sales_abroad_on_a_real_run(tmp_path, world):
    comp, out = _run(tmp_path, world, "rescission_2025")
    _, none = _run(
        tmp_path, world, "rescission_2025", '\n[regime.overrides]\n"chip_rules.prc_chips_gp10.policy" = "none"\n'
    )
    abroad = [iso for iso, g in zip(comp.iso3, comp.inputs.terr.group, strict=True) if g == L.GROUP_WORLD]
    with_gp10, without = _family(comp, out, abroad, "huawei"), _family(comp, none, abroad, "huawei")
    assert without > 3 * with_gp10 and without > 0
