"""Chip metrics: TPP, performance density, ECCN 3A090 class, H100-equivalents.

TPP (total processing performance) = dense TOPS or TFLOP/s × bit length of the operation, maximised
over precisions; sparse figures never count (15 CFR 774, 3A090 technical note; FR 2023-23055).
Performance density PD = TPP / applicable die area (mm²).
H100-equivalents come in two kinds: ``h100e_tpp`` (what the rules count: TPP / 15,832) and
``h100e_flops`` (what training uses: dense 16-bit FLOP/s / 989.5 TFLOP/s).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from .errors import DataError
from .kernel.layout import FAMILIES

CHIPS_CSV = Path(__file__).parent / "world" / "chips.csv"
H100_TPP = 15_832.0  # 989.5 dense BF16 TFLOP/s × 16 (NVIDIA H100 SXM datasheet)
H100_FP16_TFLOPS = 989.5

# (column, bit length): dense throughput columns of chips.csv that enter TPP
PRECISIONS = (
    ("fp4_dense_tflops", 4),
    ("fp8_dense_tflops", 8),
    ("int8_dense_tops", 8),
    ("fp16_dense_tflops", 16),
    ("tf32_dense_tflops", 32),
)

CLASS_NONE, CLASS_A, CLASS_B = 0, 1, 2
CLASS_NAMES = {CLASS_NONE: "not 3A090", CLASS_A: "3A090.a", CLASS_B: "3A090.b"}


@dataclass(frozen=True)
class Thresholds:
    """ECCN 3A090 thresholds. ``vintage`` "2023" (88 FR 73458) or "2022" (87 FR 62186)."""

    vintage: str = "2023"
    a_tpp: float = 4800.0  # 3A090.a: TPP ≥ 4,800 ...
    a_tpp_with_pd: float = 1600.0  # ... or TPP ≥ 1,600 and PD ≥ 5.92
    a_pd: float = 5.92
    b_tpp_low: float = 2400.0  # 3A090.b: 2,400 ≤ TPP < 4,800 and 1.6 ≤ PD < 5.92 ...
    b_pd_low: float = 1.6
    b_pd_mid: float = 3.2  # ... or TPP ≥ 1,600 and 3.2 ≤ PD < 5.92
    interconnect_gbps: float = 600.0  # 2022 vintage only: TPP ≥ 4,800 and interconnect ≥ 600 GB/s


def tpp(row: dict) -> float:
    """TPP of a chip row: max over published dense precisions of throughput × bit length."""
    vals = [float(row[c]) * bits for c, bits in PRECISIONS if row.get(c) is not None]
    return max(vals) if vals else 0.0


def classify(
    tpp_value: float, pd: float, interconnect_gbps: float, th: Thresholds = Thresholds(), data_center: bool = True
) -> int:
    """ECCN 3A090 class (CLASS_NONE, CLASS_A, CLASS_B) under thresholds ``th``. Under the 2023 rule a chip
    not designed or marketed for data centres is controlled only from TPP 4,800 (``th.a_tpp``): the
    performance-density prongs and 3A090.b apply to data-centre chips alone (ECCN 3A090, 88 FR 73458)."""
    if th.vintage == "2022":
        return CLASS_A if tpp_value >= th.a_tpp and interconnect_gbps >= th.interconnect_gbps else CLASS_NONE
    if not data_center:
        return CLASS_A if tpp_value >= th.a_tpp else CLASS_NONE
    if tpp_value >= th.a_tpp or (tpp_value >= th.a_tpp_with_pd and pd >= th.a_pd):
        return CLASS_A
    if (th.b_tpp_low <= tpp_value < th.a_tpp and th.b_pd_low <= pd < th.a_pd) or (
        tpp_value >= th.a_tpp_with_pd and th.b_pd_mid <= pd < th.a_pd
    ):
        return CLASS_B
    return CLASS_NONE


def load_chips(path: Path = CHIPS_CSV) -> pl.DataFrame:
    """The chip catalogue with computed columns: tpp, pd, h100e_tpp, h100e_flops (fp16_derived: 16-bit rate
    taken as half the FP8 rate where the vendor publishes none), eccn_2022, eccn_2023."""
    if not Path(path).exists():
        raise DataError(path, "", "file not found")
    df = pl.read_csv(path, infer_schema_length=None)
    need = {
        "name",
        "vendor",
        "us_jurisdiction",
        "data_center",
        "family",
        "fp16_dense_tflops",
        "die_area_mm2",
        "interconnect_gbps",
    }
    missing = need - set(df.columns)
    if missing:
        raise DataError(path, ",".join(sorted(missing)), "missing column")
    if df["name"].is_duplicated().any():
        raise DataError(path, "name", f"duplicate chip {df.filter(pl.col('name').is_duplicated())['name'][0]!r}")
    rows = []
    for r in df.iter_rows(named=True):
        fp16 = r["fp16_dense_tflops"]
        derived = fp16 is None and r.get("fp8_dense_tflops") is not None
        if derived:  # roadmap parts announced with FP8 only: 16-bit taken as half the FP8 rate
            fp16 = r["fp8_dense_tflops"] / 2
        if fp16 is None or fp16 <= 0:
            raise DataError(path, f"{r['name']}.fp16_dense_tflops", "must be a positive number")
        t = tpp(r)
        area = r["die_area_mm2"]
        pd = t / area if area else None
        ic = r["interconnect_gbps"] or 0.0
        dc = r.get("data_center")
        dc = True if dc is None else str(dc).lower() == "true"
        prices = [r.get(k) for k in ("price_low_usd", "price_usd", "price_high_usd")]
        if "price_usd" in df.columns and not (None not in prices and 0 < prices[0] <= prices[1] <= prices[2]):
            raise DataError(path, f"{r['name']}.price_usd", "needs 0 < price_low_usd <= price_usd <= price_high_usd")
        if "family" in df.columns and r["family"] not in FAMILIES:
            raise DataError(path, f"{r['name']}.family", f"unknown family {r['family']!r}; expected one of {FAMILIES}")
        rows.append(
            {
                "name": r["name"],
                "tpp": t,
                "pd": pd,
                "h100e_tpp": t / H100_TPP,
                "h100e_flops": fp16 / H100_FP16_TFLOPS,
                "fp16_derived": derived,
                "eccn_2022": CLASS_NAMES[classify(t, pd, ic, Thresholds(vintage="2022"))],
                "eccn_2023": CLASS_NAMES[classify(t, pd, ic, data_center=dc)],
            }
        )
    return df.join(pl.DataFrame(rows), on="name", how="left", maintain_order="left")
