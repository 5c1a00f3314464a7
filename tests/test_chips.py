"""Chip metrics: published TPP values, the hyperscaler and roadmap rows, and the ECCN 3A090 boundaries on
both sides of every threshold."""

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.chips import (
    CHIPS_CSV,
    CLASS_A,
    CLASS_B,
    CLASS_NONE,
    H100_FP16_TFLOPS,
    H100_TPP,
    PRECISIONS,
    Thresholds,
    classify,
    load_chips,
)
from sim.errors import DataError


@pytest.fixture(scope="module")
def chips():
    return {r["name"]: r for r in load_chips().iter_rows(named=True)}


def test_published_tpp_values(chips):
    assert chips["H100"]["tpp"] == pytest.approx(15_832, abs=1)  # 989.5 × 16 = 1,979 × 8
    assert chips["A100"]["tpp"] == pytest.approx(4_992, abs=1)  # 312 × 16 = 624 × 8
    assert chips["H20"]["tpp"] == pytest.approx(2_368, abs=1)  # 148 × 16
    assert chips["B300"]["tpp"] == pytest.approx(4 * chips["B300"]["fp4_dense_tflops"])  # FP4 sets it


def test_published_classes(chips):
    assert chips["H100"]["eccn_2023"] == "3A090.a"
    assert chips["A100"]["eccn_2023"] == "3A090.a"
    assert chips["H20"]["eccn_2023"] == "not 3A090"
    assert chips["H800"]["eccn_2022"] == "not 3A090"  # designed under the 600 GB/s interconnect prong
    assert chips["A800"]["eccn_2022"] == "not 3A090"
    assert chips["H800"]["eccn_2023"] == "3A090.a"  # caught by the 2023 TPP-only test
    assert chips["H100"]["h100e_flops"] == pytest.approx(1.0)
    assert chips["H100"]["h100e_tpp"] == pytest.approx(1.0)


def test_catalogue_has_the_required_chips(chips):
    need = {
        "A100",
        "A800",
        "H100",
        "H800",
        "H200",
        "H20",
        "B200",
        "B300",
        "MI300X",
        "MI308X",
        "Gaudi3",
        "Ascend910B",
        "Ascend910C",
    }
    assert need <= set(chips) and len(chips) >= 14
    assert not chips["Ascend910C"]["us_jurisdiction"] and chips["H20"]["us_jurisdiction"]


# hyperscaler-internal and roadmap rows: name -> vendor
NEW_CHIPS = {
    "TPUv6e": "Google",
    "TPUv7": "Google",
    "Trainium2": "Amazon",
    "Trainium3": "Amazon",
    "Rubin": "NVIDIA",
    "RubinUltra": "NVIDIA",
    "MI455X": "AMD",
    "Ascend950DT": "Huawei",
    "Ascend960": "Huawei",
}


@pytest.mark.parametrize("name", NEW_CHIPS)
def test_new_chips_load_with_tpp_from_their_dense_columns(chips, name):
    c = chips[name]
    assert c["vendor"] == NEW_CHIPS[name] and c["data_center"]
    dense = [c[col] * bits for col, bits in PRECISIONS if c[col] is not None]
    assert dense and c["tpp"] == pytest.approx(max(dense))
    assert c["h100e_tpp"] == pytest.approx(c["tpp"] / H100_TPP)
    if c["fp16_dense_tflops"] is None:  # 16-bit rate unpublished: half the FP8 rate, flagged, never counted in TPP
        assert c["fp16_derived"] and c["h100e_flops"] == pytest.approx(c["fp8_dense_tflops"] / 2 / H100_FP16_TFLOPS)
    else:
        assert not c["fp16_derived"]
        assert c["h100e_flops"] == pytest.approx(c["fp16_dense_tflops"] / H100_FP16_TFLOPS)


def test_new_chip_published_values(chips):
    assert chips["TPUv6e"]["tpp"] == pytest.approx(14_688)  # 918 x 16 = 1,836 INT8 x 8
    assert chips["TPUv7"]["tpp"] == pytest.approx(36_912)  # 2,307 x 16 = 4,614 FP8 x 8
    assert chips["TPUv7"]["h100e_flops"] == pytest.approx(2307 / 989.5)
    assert chips["Trainium2"]["h100e_flops"] == pytest.approx(667 / 989.5)
    assert chips["Rubin"]["tpp"] == pytest.approx(140_000)  # NVFP4 35,000 (dense, training) x 4
    assert chips["MI455X"]["tpp"] == pytest.approx(160_000)  # FP4 40,000 x 4 = FP8 20,000 x 8


def test_trainium3_counts_below_one_h100_for_training_but_above_it_for_the_rules(chips):
    """BF16 671 vs MXFP8 2,517 TFLOP/s: 16-bit H100e ~0.68 while the 8-bit rate alone puts TPP above the H100's."""
    t = chips["Trainium3"]
    assert t["h100e_flops"] < 1 and t["h100e_flops"] == pytest.approx(671 / 989.5)
    low_bit_tpp = max(t["fp8_dense_tflops"] * 8, t["fp4_dense_tflops"] * 4)
    assert low_bit_tpp == pytest.approx(20_136) and low_bit_tpp > H100_TPP
    assert t["tpp"] >= low_bit_tpp > chips["H100"]["tpp"] and t["h100e_tpp"] > 1
    assert t["eccn_2023"] == "3A090.a"


@pytest.mark.parametrize("name", ["Rubin", "RubinUltra", "MI455X", "TPUv7", "Trainium2", "Trainium3"])
def test_roadmap_and_hyperscaler_parts_are_3a090a_under_2023_rules(chips, name):
    assert chips[name]["eccn_2023"] == "3A090.a"
    assert chips[name]["us_jurisdiction"]


def test_ascend_roadmap_rows_are_chinese_and_consistent(chips):
    for name in ("Ascend950PR", "Ascend950DT", "Ascend960"):
        assert not chips[name]["us_jurisdiction"] and chips[name]["origin"] == "CHN"
    pr, dt, nxt = chips["Ascend950PR"], chips["Ascend950DT"], chips["Ascend960"]
    for col in ("fp4_dense_tflops", "fp8_dense_tflops", "tpp", "h100e_flops", "interconnect_gbps"):
        assert dt[col] == pytest.approx(pr[col])  # same die, different memory
    assert dt["memory_gb"] > pr["memory_gb"] and dt["memory_bw_tbs"] > pr["memory_bw_tbs"]
    assert nxt["tpp"] == pytest.approx(2 * dt["tpp"]) and nxt["year"] > dt["year"]


def test_every_row_cites_a_source_and_explains_itself(chips):
    for name, c in chips.items():
        assert c["source_spec"] and c["notes"], name
        if c["die_area_mm2"] is not None:
            assert c["source_die_area"], name


EPS = 1e-6
T = Thresholds()


@pytest.mark.parametrize(
    "tpp,pd,expected",
    [
        (4800, 0.0, CLASS_A),
        (4800 - EPS, 1.0, CLASS_NONE),  # .a TPP prong
        (1600, 5.92, CLASS_A),
        (1600 - EPS, 5.92, CLASS_NONE),  # .a density prong, TPP side
        (1600, 5.92 - EPS, CLASS_B),  # .a density prong, PD side → .b.2
        (2400, 1.6, CLASS_B),
        (2400 - EPS, 1.6, CLASS_NONE),  # .b.1 TPP lower bound
        (2400, 1.6 - EPS, CLASS_NONE),  # .b.1 PD lower bound
        (4800 - EPS, 5.92 - EPS, CLASS_B),  # .b.1 upper corner
        (1600, 3.2, CLASS_B),
        (1600, 3.2 - EPS, CLASS_NONE),  # .b.2 PD lower bound
        (1600 - EPS, 3.2, CLASS_NONE),  # .b.2 TPP lower bound
    ],
)
def test_2023_thresholds_on_both_sides(tpp, pd, expected):
    assert classify(tpp, pd, 0.0, T) == expected


@pytest.mark.parametrize(
    "tpp,ic,expected", [(4800, 600, CLASS_A), (4800 - EPS, 600, CLASS_NONE), (4800, 600 - EPS, CLASS_NONE)]
)
def test_2022_thresholds_need_interconnect(tpp, ic, expected):
    assert classify(tpp, 50.0, ic, Thresholds(vintage="2022")) == expected


@given(st.floats(0, 1e5), st.floats(0, 100), st.floats(0, 1e5))
def test_classification_is_monotone_in_tpp(tpp, pd, extra):
    """More TPP at the same density never lowers the control level (none < .b < .a)."""
    rank = {CLASS_NONE: 0, CLASS_B: 1, CLASS_A: 2}
    assert rank[classify(tpp + extra, pd, 0.0)] >= rank[classify(tpp, pd, 0.0)]


def test_every_chip_has_a_sourced_price_range():
    chips = load_chips()
    assert chips["price_usd"].null_count() == 0 and chips["source_price"].null_count() == 0
    assert (chips["price_low_usd"] <= chips["price_usd"]).all() and (
        chips["price_usd"] <= chips["price_high_usd"]
    ).all()


def test_a_price_outside_its_range_is_refused(tmp_path):
    df = pl.read_csv(CHIPS_CSV, infer_schema_length=None)
    bad = tmp_path / "chips.csv"
    df.with_columns(
        pl.when(pl.col("name") == "H100").then(1.0).otherwise(pl.col("price_high_usd")).alias("price_high_usd")
    ).write_csv(bad)
    with pytest.raises(DataError, match=r"H100\.price_usd"):
        load_chips(bad)
