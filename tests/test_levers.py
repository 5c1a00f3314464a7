"""`sim levers` and docs/levers.md: every rule group of every regime file has a lever (how to switch it off,
the metric it targets, the expected sign), the committed table is current, and every rule that a shipped
scenario activates moves its metric in the expected direction."""

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from sim import examples, levers
from sim.chips import load_chips
from sim.cli import main
from sim.errors import DataError, SimInputError
from sim.kernel import layout as L
from sim.levers.spec import neutralised
from sim.regimes import load_regime
from sim.regimes.compile import compile_regime
from sim.runner import run
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
DOC, CSV = ROOT / "docs" / "levers.md", ROOT / "docs" / "levers.csv"


def test_the_levers_table_is_current():
    digest = levers.files_hash(levers.regime_names())
    assert f"sha256 `{digest}`" in DOC.read_text(), "regenerate: sim levers --out docs/levers.md"


def test_the_table_covers_every_rule_group_of_every_regime_file():
    table = pl.read_csv(CSV)
    for name in levers.regime_names():
        reg = load_regime(name)
        assert levers.uncovered(reg) == [], name
        want = [lv.group for lv in levers.levers(reg)]
        got = table.filter(pl.col("regime") == name)["group"].to_list()
        assert got == want, name
    assert set(table["regime"]) >= {"diffusion_2025", "chip_security_act", "controls_2022", "rescission_2025"}


def test_every_active_rule_moves_its_metric_the_expected_way():
    """Recomputed from the numbers, not from the status column: a zero median or the wrong sign fails,
    except for rules the regime file marks inactive, whose effect must be exactly zero."""
    bad = []
    for r in pl.read_csv(CSV, schema_overrides={"inactive": pl.Utf8}).iter_rows(named=True):
        sign = 1 if r["expect"] == "+" else -1
        if r["inactive"]:
            if r["effect_p5"] != 0 or r["effect_p95"] != 0:
                bad.append(f"{r['regime']} {r['group']}: marked inactive ({r['inactive']}) but moves its metric")
        elif r["effect_p50"] == 0 or np.sign(r["effect_p50"]) != sign:
            bad.append(f"{r['regime']} {r['group']}: median effect {r['effect_p50']:g}, expected sign {r['expect']}")
        elif r["share_expected_sign"] < 0.5:
            bad.append(f"{r['regime']} {r['group']}: expected sign in only {r['share_expected_sign']:.0%} of trials")
    assert not bad, "\n".join(bad)


def test_inactive_rules_are_those_no_shipped_scenario_grants():
    """The reasons given for inactive NVEU and G2G rules hold: no shipped scenario names a grant."""
    for name in examples.names():
        sc = load_scenario(examples.path(name))
        assert sc.g2g == {} and sc.nveu == [], name
    inactive = pl.read_csv(CSV, schema_overrides={"inactive": pl.Utf8}).filter(pl.col("inactive").is_not_null())
    assert {"caps.g2g_max_factor", "nveu.installed_base_tpp"} <= set(inactive["group"])


def test_the_effect_is_the_paired_difference_of_the_metric():
    """The location-verification lever at 20 trials: its 'with the rule' median is China's diverted and
    smuggled inflow over the run of the shipped scenario, computed here from a plain run."""
    row = levers.effects("chip_security_act", trials=20).row(0, named=True)
    res = run(load_scenario(examples.path("chip_security_act")).replace(trials=20))
    china = [res.scenario.world.index()[c] for c in ("CHN", "HKG", "MAC")]
    fl = res.outputs.flows[:, china][..., [L.FL_DIVERTED_IN, L.FL_SMUGGLED]].sum(axis=(1, 2, 3), dtype=np.float64)
    assert row["with_rule_p50"] == pytest.approx(float(np.median(fl)), rel=1e-9)
    assert row["effect_p95"] < 0 and row["status"] == "ok"


GOOD = 'neutral = false\nmetric = "grey"\nregion = "China"\nquarter = "2030Q4"\nexpect = "-"'


def _regime(tmp_path, lever: str, scenario: str = 'scenario = "chip_security_act"') -> Path:
    p = tmp_path / "my_rule.toml"
    p.write_text(
        'name = "my_rule"\nbase = "china_h200_2026"\n\n[enforcement.location_verification]\n'
        'description = "x"\nvalues = { 2026-12-28 = true }\nreference = [{ title = "S.1705" }]\n\n'
        f"[enforcement.location_verification.lever]\n{lever}\n{scenario}\n"
    )
    return p


@pytest.mark.parametrize(
    "lever, field, words",
    [
        ('metric = "grey"', "lever.neutral", "missing"),
        ('neutral = false\nmetric = "grey"\nregion = "China"\nquarter = "2030Q4"\nexpect = "down"', "expect", "'+'"),
        ('neutral = false\nmetric = "gray"\nregion = "China"\nquarter = "2030Q4"\nexpect = "-"', "metric", "unknown"),
        ('neutral = false\nmetric = "grey"\nregion = "China"\nquarter = "2030Q9"\nexpect = "-"', "quarter", "2025Q1"),
        ('neutral = false\nmetric = "grey"\nregion = "China"\nexpect = "-"', "lever.quarter", "missing"),
        (GOOD + "\nsize = 1", "size", "unknown"),
    ],
)
def test_a_bad_lever_names_its_file_and_field(tmp_path, lever, field, words):
    path = _regime(tmp_path, lever)
    with pytest.raises(DataError) as e:
        levers.levers(load_regime(path))
    assert "my_rule.toml" in str(e.value) and field in str(e.value) and words in str(e.value)


def test_a_lever_needs_a_shipped_scenario(tmp_path):
    path = _regime(tmp_path, GOOD, "")
    with pytest.raises(DataError, match="lever.scenario: no shipped scenario named 'my_rule'"):
        levers.levers(load_regime(path))


def test_sim_levers_refuses_an_unknown_regime(capsys):
    assert main(["levers", "no_such_rule", "--trials", "5"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no such regime" in err


def _derived(tmp_path, body: str, base: str = "rescission_2025") -> Path:
    p = tmp_path / "derived.toml"
    p.write_text(f'name = "derived"\nbase = "{base}"\n\n{body}\n')
    return p


def test_a_rule_group_without_a_lever_is_reported(tmp_path):
    path = _derived(
        tmp_path,
        '[chip_rules.more.chips]\ndescription = "x"\nvalues = { 2026-01-01 = ["H20"] }\nreference = [{ title = "t" }]\n'
        '[chip_rules.more.policy]\ndescription = "x"\nvalues = { 2026-01-01 = "deny" }\nreference = [{ title = "t" }]\n'
        '[eccn.a_tpp]\ndescription = "x"\nvalues = { 2026-01-01 = 5000 }\nreference = [{ title = "t" }]\n',
    )
    assert levers.uncovered(load_regime(path)) == ["chip_rules.more", "eccn.a_tpp"]
    with pytest.raises(DataError, match="no parameter of this file has a lever table"):
        levers.report([str(path)], trials=5)


def test_switching_a_rule_off_keeps_the_base_regimes_earlier_values(tmp_path):
    """A derived file that redefines a base rule from 2026 switches off its own values only."""
    path = _derived(
        tmp_path,
        '[chip_rules.h20_china.policy]\ndescription = "x"\nvalues = { 2026-01-01 = "deny" }\n'
        'reference = [{ title = "t" }]\n[chip_rules.h20_china.policy.lever]\nneutral = "none"\n'
        'metric = "family:h20_class"\nregion = "China"\nquarter = "2026Q4"\nexpect = "-"\n'
        'scenario = "rescission_2025"\n',
    )
    reg = load_regime(path)
    (lv,) = levers.levers(reg)
    sc = load_scenario(examples.path("rescission_2025"))
    off = neutralised(sc.replace(timeline=[(None, reg)], regime=reg), lv)
    values = off.timeline[0][1].params["chip_rules.h20_china.policy"].values
    want = [("2025-04-09", "deny"), ("2025-08-08", "licence"), ("2026-01-01", "none")]
    assert [(str(d), v) for d, v in values] == want
    assert reg.params["chip_rules.h20_china.policy"].values[-1][1] == "deny"  # the original is untouched
    with pytest.raises(DataError, match="lever.scenario: rescission_2025 does not run derived"):
        levers.report([str(path)], trials=5)  # checked before any run


@pytest.mark.parametrize(
    "edit, field, words",
    [
        (("neutral = 1e30", 'neutral = "none"'), "caps.country_allocation_tpp.lever.neutral", "a finite number"),
        (('region = "Other Tier 2"', 'region = "Atlantis"'), "caps.country_allocation_tpp.lever.region", "Atlantis"),
        (('quarter = "2027Q4"', 'quarter = "2035Q4"'), "caps.country_allocation_tpp.lever.quarter", "outside"),
        (('region = "Other Tier 2"', 'region = "class"'), "caps.country_allocation_tpp.lever.region", "class"),
    ],
)
def test_a_lever_is_checked_against_its_scenario_before_any_run(tmp_path, edit, field, words):
    text = (ROOT / "sim" / "regimes" / "diffusion_2025.toml").read_text()
    head = text.index("[caps.country_allocation_tpp.lever]")
    tail = text.index("[caps.counting_start]")
    block = text[head:tail]
    assert edit[0] in block
    path = tmp_path / "diffusion_2025.toml"
    path.write_text(text[:head] + block.replace(edit[0], edit[1], 1) + text[tail:])
    with pytest.raises(SimInputError) as e:
        levers.report([str(path)], trials=5)
    assert "diffusion_2025.toml" in str(e.value) and field in str(e.value) and words in str(e.value)


def test_g2g_assurances_are_held_to_the_rules_limit(world):
    """An allocation raised by G2G assurances never exceeds the rule's factor: switching the factor to 1
    removes the raise (the lever of caps.g2g_max_factor)."""
    reg = load_regime("diffusion_2025")
    labels, chips, ind = ["2026Q1"], load_chips(), world.index()["IND"]
    raised = compile_regime(reg, world, chips, labels, {"IND": 2.0}, []).alloc[0, ind]
    capped = reg.with_overrides({"caps.g2g_max_factor": 1.0}, "test")
    assert raised == 2 * 790e6
    assert compile_regime(capped, world, chips, labels, {"IND": 2.0}, []).alloc[0, ind] == 790e6


def test_sim_levers_writes_markdown_only(tmp_path, capsys):
    assert main(["levers", "chip_security_act", "--out", str(tmp_path / "levers.csv")]) == 2
    assert "expected a markdown file" in capsys.readouterr().err
