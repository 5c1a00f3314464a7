"""Benchmark the numba kernel (A) against the plain-Python reference twin (C) on the default scenario's
inputs, and write benchmarks/results/latest.json.

    python -m benchmarks [--trials 200] [--reference-quarters 2]

The reference runs one trial on the first ``--reference-quarters`` quarters (same firms, same orders
per quarter), and its orders/s is compared with the kernel's: both process every order of the default
scenario's firm population. Issue 4 adds the vectorised NumPy rival, the bare RNG loop and scaling curves.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numba

from sim.inputs import compile_scenario
from sim.kernel.allocate import run_kernel
from sim.kernel.reference import simulate_trial
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks")
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--reference-quarters", type=int, default=2)
    args = ap.parse_args()
    sc = load_scenario(ROOT / "scenarios" / "default.toml").replace(trials=args.trials)
    inp = compile_scenario(sc).inputs
    per_q = len(inp.firm_country) * inp.m
    t0 = time.perf_counter()
    run_kernel(inp.subset(1))
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    run_kernel(inp)
    a_s = time.perf_counter() - t0
    a_rate = per_q * sc.quarters * args.trials / a_s
    small = compile_scenario(sc.replace(trials=1, quarters=args.reference_quarters)).inputs
    t0 = time.perf_counter()
    simulate_trial(small, 0)
    c_s = time.perf_counter() - t0
    c_rate = per_q * args.reference_quarters / c_s
    res = {
        "machine": {"python": platform.python_version(), "numba": numba.__version__,
                    "threads": numba.get_num_threads(), "processor": platform.processor() or platform.machine()},
        "orders_per_trial": per_q * sc.quarters, "trials": args.trials,
        "A_numba": {"seconds": a_s, "orders_per_s": a_rate, "cold_compile_or_cache_load_s": compile_s},
        "C_reference": {"seconds": c_s, "orders_per_s": c_rate, "quarters": args.reference_quarters},
        "ratio_A_over_C": a_rate / c_rate,
    }
    out = ROOT / "benchmarks" / "results" / "latest.json"
    out.write_text(json.dumps(res, indent=2))
    print(f"A numba kernel    {a_rate / 1e6:8.2f} M orders/s  ({args.trials} trials, {numba.get_num_threads()} threads)")
    print(f"C reference twin  {c_rate / 1e6:8.3f} M orders/s  (1 trial, {args.reference_quarters} quarters)")
    print(f"A / C             {a_rate / c_rate:8.0f} x")
    print(f"written {out}")


if __name__ == "__main__":
    main()
