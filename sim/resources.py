"""Resource guard: estimate a run's peak memory from its size before allocating anything, and refuse a run
that would not fit in the machine's available memory (with the estimate and the largest trial count that
fits), rather than let the operating system kill it mid-run.

The outputs are O(trials × territories × quarters): per cell, 6 stock channels, 13 flows and 3 other
float32/uint8 arrays (sim/kernel/allocate.Outputs). Post-processing holds float64 sums of a few of them
(MEASURED_FACTOR: the default scenario peaked at 637 MB resident with 100 trials and a cold compile, and at
698 MB with 400 trials warm, i.e. ~0.5 MB a trial, its output arrays) and each kernel thread scratch arrays
of O(quarters × (firms + territories))."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import SimInputError
from .kernel.layout import CHANNELS, FAMILIES, FLOWS, VENDORS

# float32 stock channels, stock by chip family in H100e and in chips, revenue and refused value by vendor, flows,
# stock_tpp, largest; uint8 site
OUTPUT_BYTES_PER_CELL = 4 * (len(CHANNELS) + 2 * len(FAMILIES) + 2 * len(VENDORS) + len(FLOWS) + 1 + 1) + 1
MEASURED_FACTOR = 1.5  # peak resident memory per trial / output arrays per trial (measured ~1.0, +50 % margin)
BASE_BYTES = 700 * 2**20  # interpreter, numba (its cold compile peaks at ~640 MB), polars, scipy, world data
HEADROOM = 0.85  # share of the available memory a run may plan to use


def available_bytes() -> int:
    """Memory available to a new allocation: MemAvailable (Linux), else physical memory; no more than the
    process's address-space limit (``ulimit -v``), if it has one."""
    have = _system_available()
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY and soft > 0:
            have = min(have, soft)
    except (ImportError, OSError, ValueError):
        pass
    return have


def _system_available() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 2**40


def estimate_bytes(trials: int, territories: int, quarters: int, firms: int, threads: int) -> int:
    """Estimated peak resident memory of a run (bytes)."""
    per_trial = OUTPUT_BYTES_PER_CELL * territories * quarters * MEASURED_FACTOR
    scratch = threads * 8 * quarters * (2 * firms + (25 + 2 * len(FAMILIES) + 2 * len(VENDORS)) * territories)
    return int(BASE_BYTES + scratch + trials * per_trial)


def check_memory(sc, threads: int | None, source: object, field: str, available: int | None = None) -> int:
    """Refuse scenario ``sc`` if its estimated peak memory exceeds the available memory; returns the
    estimate (bytes). ``source``/``field`` name where the trial count came from."""
    threads = threads or os.cpu_count() or 1
    C, Q = len(sc.world.iso3), sc.quarters
    F = sc.firms_total + int(sc.buyers_per_data_centre * sum(sc.world.data_centres.values()))  # an upper bound
    need = estimate_bytes(sc.trials, C, Q, F, threads)
    have = int((available if available is not None else available_bytes()) * HEADROOM)
    if need > have:
        per_trial = estimate_bytes(1, C, Q, F, threads) - estimate_bytes(0, C, Q, F, threads)
        fits = max(0, (have - estimate_bytes(0, C, Q, F, threads)) // per_trial)
        gib = 2**30
        orders = F * sc.orders_per_quarter * Q
        raise SimInputError(
            source,
            field,
            f"{sc.trials:,} trials × {C} territories × {Q} quarters need ~{need / gib:.1f} GiB, more than the "
            f"{have / gib:.1f} GiB this machine can give a run; at most {fits:,} trials fit "
            f"({orders:,} orders per trial)",
        )
    return need


# a streamed run (sim/streaming.py) keeps, per cell of the summary, K cut points (float32) and 2K + 1 bins (a
# uint32 count and float32 smallest and largest value), and per trial its rows of the feasibility, exhaustion and
# trials tables (twice while a state is saved or the tables are made); its first PILOT_TRIALS trials' summary
# values wait (float32, twice while the cut points are set), and so may a window of blocks (sim/execution.stream)
SUMMARY_CELLS_PER_TERRITORY_QUARTER = 50  # the default scenario's summary: 300,312 cells / (261 regions × 24)
TABLE_BYTES_PER_TERRITORY = 2 * 8 + 8 * 2 + 2 * 2 + 8  # feasibility (last run ×2, first crossings ×8), exhaustion
TRIALS_ROW_BYTES = 8 * 420  # trials.parquet's columns


def estimate_streamed_bytes(
    trials: int, territories: int, quarters: int, firms: int, threads: int, block: int, workers: int = 1
) -> int:
    """Estimated peak resident memory of a streamed run (bytes)."""
    from .metrics.streamed import PILOT_TRIALS, cut_ranks

    K = len(cut_ranks(PILOT_TRIALS))
    cells = SUMMARY_CELLS_PER_TERRITORY_QUARTER * (territories + 12) * quarters
    running = estimate_bytes(min(block, trials), territories, quarters, firms, threads) - BASE_BYTES
    window = 4 * workers * min(block, trials) * 4 * cells  # reduced blocks waiting for those before them
    per_trial = territories * TABLE_BYTES_PER_TERRITORY + TRIALS_ROW_BYTES
    pilot = 2 * 4 * cells * min(trials, PILOT_TRIALS)
    return int(
        BASE_BYTES + 2 * running + window + pilot + cells * (4 * K + 12 * (2 * K + 1) + 40) + 2 * trials * per_trial
    )


def check_streamed_memory(sc, threads: int | None, block: int, source: object, field: str) -> int:
    """Refuse scenario ``sc`` if even a streamed run of it would not fit in the available memory; returns the
    estimate (bytes)."""
    threads = threads or os.cpu_count() or 1
    C, Q = len(sc.world.iso3), sc.quarters
    F = sc.firms_total + int(sc.buyers_per_data_centre * sum(sc.world.data_centres.values()))
    need = estimate_streamed_bytes(sc.trials, C, Q, F, threads, block)
    have = int(available_bytes() * HEADROOM)
    if need > have:
        at = [estimate_streamed_bytes(n, C, Q, F, threads, block) for n in (10**6, 2 * 10**6)]  # linear there
        per_trial = (at[1] - at[0]) / 10**6
        fits = max(0, int(10**6 + (have - at[0]) / per_trial))
        raise SimInputError(
            source,
            field,
            f"{sc.trials:,} trials need ~{need / 2**30:.1f} GiB even summarised as they run, more than the "
            f"{have / 2**30:.1f} GiB this machine can give a run; at most {fits:,} trials fit",
        )
    return need
