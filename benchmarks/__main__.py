"""Benchmark suite (issue 4): the numba kernel (A) against a vectorised NumPy version of the same rules (B),
the plain-Python reference twin (C, on a subsample, scaled to orders/s) and a bare numba loop over the same
random draws (D), on the inputs of scenarios/default.toml; scaling with trials, territories, orders per
trial and threads; the end-to-end wall time of `sim run scenarios/default.toml` and the cold compile time.

    python -m benchmarks            # the full suite (about 10 minutes on 2 cores)
    python -m benchmarks --quick    # small sizes (under a minute)

Writes benchmarks/results/latest.json (and a dated copy), benchmarks/results/scaling.png/.pdf, and prints
the table. See benchmarks/README.md for how to read it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .suite import FULL, QUICK, RESULTS, run_suite, table


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks")
    ap.add_argument("--quick", action="store_true", help="small sizes (under a minute)")
    ap.add_argument("--out", type=Path, default=RESULTS, help="results folder (default benchmarks/results)")
    ap.add_argument("--no-end-to-end", action="store_true", help="skip the `sim run` wall-time measurement")
    args = ap.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    print(f"benchmark suite ({'quick' if args.quick else 'full'}):", flush=True)
    res = run_suite(sizes, out_dir=args.out, e2e=not args.no_end_to_end, log=lambda s: print(s, flush=True))
    print()
    print(table(res))
    print(f"\nwritten {args.out / 'latest.json'} and the scaling figure ({res['suite_seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
