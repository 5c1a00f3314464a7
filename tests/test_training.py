"""Training arithmetic against published runs, and `sim validate` (issue 5, items 2-3)."""

import pytest

from sim.cli import main
from sim.training import chip_h100e, chips_needed, published_runs, training_flop
from sim.validate import checks


def test_llama_31_405b_from_its_published_hardware_within_a_factor_of_1_5():
    flop = training_flop(16_384 * chip_h100e("H100"), mfu=0.40, days=54)
    assert 1 / 1.5 < flop / 3.8e25 < 1.5
    runs = published_runs()
    assert runs.height >= 3 and runs["ratio"].is_between(1 / 1.5, 1.5).all()


def test_inverse_is_consistent():
    n = chips_needed(1e26, 0.35, 120, h100e_per_chip=chip_h100e("B200"))
    assert training_flop(n * chip_h100e("B200"), 0.35, 120) == pytest.approx(1e26)


def test_validate_passes_and_would_fail_on_a_wrong_figure():
    cs = checks()
    assert len(cs) >= 10 and all(c.passed for c in cs), [c.name for c in cs if not c.passed]
    wrong = cs[0]
    wrong.computed *= 1.1  # a 10 % error in the LPP conversion must fail
    assert not wrong.passed


def test_cli_validate_and_feasibility(capsys):
    assert main(["validate"]) == 0
    assert "passed, 0 failed" in capsys.readouterr().out
    argv = ["feasibility", "--chip", "H100", "--count", "16384", "--days", "54", "--mfu", "0.4"]
    assert main([*argv, "--goodput", "1"]) == 0  # MFU alone, as published runs quote it
    out = capsys.readouterr().out
    assert "3.03e+25 FLOP" in out and "run length 54 days; utilisation 40.0%" in out
    assert main(argv) == 0  # the simulator's utilisation: MFU x the assumptions' median goodput (0.85)
    out = capsys.readouterr().out
    assert "2.57e+25 FLOP" in out and "goodput 85% (the assumptions' median)" in out
    assert main(["feasibility", "--chip", "Z9", "--count", "1"]) == 2
