"""Training arithmetic: training FLOP = chips × dense 16-bit peak FLOP/s × MFU × seconds, and its inverse
(chips needed for a target in a given time). Peaks come from the chip catalogue (sim/world/chips.csv)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from .chips import H100_FP16_TFLOPS, load_chips
from .errors import DataError
from .kernel.layout import FAMILIES

H100_FLOPS = H100_FP16_TFLOPS * 1e12  # dense BF16 FLOP/s of one H100 SXM
SECONDS_PER_DAY = 86_400.0
RUNS_CSV = Path(__file__).parent / "world" / "training_runs.csv"


def training_flop(h100e, mfu, days):
    """FLOP that ``h100e`` H100-equivalents (dense 16-bit) deliver at ``mfu`` over ``days``."""
    return h100e * H100_FLOPS * mfu * days * SECONDS_PER_DAY


def utilisation(draws: dict) -> np.ndarray:
    """Per-trial share of dense peak a frontier run achieves over its wall-clock time: MFU while training
    (``training.mfu``) × goodput, the share of the time spent training rather than restarting from
    failures (``training.goodput``)."""
    return draws["training.mfu"] * draws["training.goodput"]


def mfu_by_family(draws: dict) -> np.ndarray:
    """float64 [T, family]: per-trial MFU of a training run on each chip family (layout.FAMILIES): the trial's
    MFU on NVIDIA parts (``training.mfu``) × the family's relative factor (``training.mfu_factor.<family>``;
    1 for NVIDIA)."""
    base = np.asarray(draws["training.mfu"], dtype=np.float64)
    cols = [draws.get(f"training.mfu_factor.{fam}", np.ones_like(base)) for fam in FAMILIES]
    return np.minimum(1.0, base[:, None] * np.column_stack(cols))


def chips_needed(target_flop: float, mfu: float, days: float, h100e_per_chip: float = 1.0) -> float:
    """Chips of ``h100e_per_chip`` H100e needed to train ``target_flop`` at ``mfu`` within ``days``."""
    return target_flop / (h100e_per_chip * H100_FLOPS * mfu * days * SECONDS_PER_DAY)


def chip_h100e(chip: str) -> float:
    """Dense 16-bit FLOP/s of ``chip`` in H100e; DataError for an unknown chip."""
    chips = load_chips()
    row = chips.filter(pl.col("name") == chip)
    if row.height == 0:
        raise DataError("sim/world/chips.csv", "name", f"unknown chip {chip!r} (known: {', '.join(chips['name'])})")
    return float(row["h100e_flops"][0])


def published_runs(path: Path = RUNS_CSV) -> pl.DataFrame:
    """Published training runs with the hardware arithmetic's estimate and its ratio to the stated FLOP.
    Uses GPU-hours where published, else chips × days."""
    runs = pl.read_csv(path)
    est = []
    for r in runs.iter_rows(named=True):
        h = chip_h100e(r["chip"])
        if r["gpu_hours"] is not None:
            est.append(r["gpu_hours"] * 3600.0 * h * H100_FLOPS * r["mfu"])
        else:
            est.append(training_flop(r["chips"] * h, r["mfu"], r["days"]))
    return runs.with_columns(pl.Series("estimated_flop", est)).with_columns(
        (pl.col("estimated_flop") / pl.col("training_flop")).alias("ratio")
    )
