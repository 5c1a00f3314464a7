"""Chip metrics: published TPP values and the ECCN 3A090 boundaries on both sides of every threshold."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.chips import CLASS_A, CLASS_B, CLASS_NONE, Thresholds, classify, load_chips


@pytest.fixture(scope="module")
def chips():
    return {r["name"]: r for r in load_chips().iter_rows(named=True)}


def test_published_tpp_values(chips):
    assert chips["H100"]["tpp"] == pytest.approx(15_832, abs=1)     # 989.5 × 16 = 1,979 × 8
    assert chips["A100"]["tpp"] == pytest.approx(4_992, abs=1)      # 312 × 16 = 624 × 8
    assert chips["H20"]["tpp"] == pytest.approx(2_368, abs=1)       # 148 × 16
    assert chips["B300"]["tpp"] == pytest.approx(4 * chips["B300"]["fp4_dense_tflops"])  # FP4 sets it


def test_published_classes(chips):
    assert chips["H100"]["eccn_2023"] == "3A090.a"
    assert chips["A100"]["eccn_2023"] == "3A090.a"
    assert chips["H20"]["eccn_2023"] == "not 3A090"
    assert chips["H800"]["eccn_2022"] == "not 3A090"     # designed under the 600 GB/s interconnect prong
    assert chips["A800"]["eccn_2022"] == "not 3A090"
    assert chips["H800"]["eccn_2023"] == "3A090.a"       # caught by the 2023 TPP-only test
    assert chips["H100"]["h100e_flops"] == pytest.approx(1.0)
    assert chips["H100"]["h100e_tpp"] == pytest.approx(1.0)


def test_catalogue_has_the_required_chips(chips):
    need = {"A100", "A800", "H100", "H800", "H200", "H20", "B200", "B300", "MI300X", "MI308X", "Gaudi3",
            "Ascend910B", "Ascend910C"}
    assert need <= set(chips) and len(chips) >= 14
    assert not chips["Ascend910C"]["us_jurisdiction"] and chips["H20"]["us_jurisdiction"]


EPS = 1e-6
T = Thresholds()


@pytest.mark.parametrize("tpp,pd,expected", [
    (4800, 0.0, CLASS_A), (4800 - EPS, 1.0, CLASS_NONE),               # .a TPP prong
    (1600, 5.92, CLASS_A), (1600 - EPS, 5.92, CLASS_NONE),             # .a density prong, TPP side
    (1600, 5.92 - EPS, CLASS_B),                                       # .a density prong, PD side → .b.2
    (2400, 1.6, CLASS_B), (2400 - EPS, 1.6, CLASS_NONE),               # .b.1 TPP lower bound
    (2400, 1.6 - EPS, CLASS_NONE),                                     # .b.1 PD lower bound
    (4800 - EPS, 5.92 - EPS, CLASS_B),                                 # .b.1 upper corner
    (1600, 3.2, CLASS_B), (1600, 3.2 - EPS, CLASS_NONE),               # .b.2 PD lower bound
    (1600 - EPS, 3.2, CLASS_NONE),                                     # .b.2 TPP lower bound
])
def test_2023_thresholds_on_both_sides(tpp, pd, expected):
    assert classify(tpp, pd, 0.0, T) == expected


@pytest.mark.parametrize("tpp,ic,expected", [
    (4800, 600, CLASS_A), (4800 - EPS, 600, CLASS_NONE), (4800, 600 - EPS, CLASS_NONE)])
def test_2022_thresholds_need_interconnect(tpp, ic, expected):
    assert classify(tpp, 50.0, ic, Thresholds(vintage="2022")) == expected


@given(st.floats(0, 1e5), st.floats(0, 100), st.floats(0, 1e5))
def test_classification_is_monotone_in_tpp(tpp, pd, extra):
    """More TPP at the same density never lowers the control level (none < .b < .a)."""
    rank = {CLASS_NONE: 0, CLASS_B: 1, CLASS_A: 2}
    assert rank[classify(tpp + extra, pd, 0.0)] >= rank[classify(tpp, pd, 0.0)]
