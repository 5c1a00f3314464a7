"""The sweep section of the benchmarks (issue 14): sensitivity designs, sweep throughput per executor and the
peak memory of a 100,000-trial run, on the 2-core machine.

    python -m benchmarks.sweeps            # everything (about 35 minutes on 2 cores)
    python -m benchmarks.sweeps --quick    # small sizes (a few minutes)
    python -m benchmarks.sweeps --parts throughput   # one part again, kept beside the others in sweeps.json

- Morris with 10 trajectories over every uncertain input of scenarios/default.toml (target: <= 5 minutes);
- Sobol with N = 256, grouped by time path, no second order, on scenarios/default.toml (target: <= 20 minutes);
- sweep throughput (trials/s) of a 2-point sweep of diffusion_2025 at 100 trials per task: in-process (1 and 2
  numba threads), 2 local processes, and a dask LocalCluster of 1 worker (in this process, 2 numba threads) and
  of 2 worker processes (1 thread each);
  the executor overhead is the LocalCluster's time over the in-process time on the whole machine (same
  trials; median of three; target <= 10 %); the cluster's start-up is reported apart;
- peak resident memory (Linux VmHWM) of a run of 10,000 and of 100,000 trials (a 1-quarter default scenario,
  blocks of 1,000): memory is bounded by the block, not by the trials;
- ``streamed``: ``sim run`` of the whole default scenario summarised as it goes (sim/streaming.py) at 2,000 and
  20,000 trials: wall time and peak memory (bounded by the summary's cells; the per-trial tables add ~14 kB a
  trial), and at 2,000 trials its summary against the exact one of the same trials: the share of quantile
  brackets that hold the exact value, and how far the streamed quantiles and intervals are from the exact ones.

Each measurement runs in its own subprocess; results go to benchmarks/results/sweeps.json and are printed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
TARGETS = {"morris_s": 300.0, "sobol_s": 1200.0, "overhead": 0.10}


def _child(code: str) -> dict:
    """Run ``code`` (which prints one JSON line last) in a fresh interpreter; returns that JSON."""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def sensitivity(method: str, n: int, groups: list[str]) -> dict:
    return _child(
        f"""
import json, time
from sim.scenario import load_scenario
from sim.sensitivity_analysis import sensitivity
sc = load_scenario("scenarios/default.toml")
t = time.perf_counter()
res = sensitivity(sc, {method!r}, {n}, {groups!r})
s = time.perf_counter() - t
cols = ["factor", "estimate", "conf"]
top = {{m: res.top(m, "China", "2027Q4")[cols].to_dicts() for m in ("compute_h100e", "largest_run_flop")}}
n = len(res.problem.factors)
print(json.dumps({{"seconds": s, "trials": int(res.design.shape[0]), "factors": n, "top": top}}))
"""
    )


def throughput(kind: str, workers: int, threads: int, trials: int) -> dict:
    """One sweep (2 points × ``trials``, 100 trials a task) on one executor; seconds excluding start-up."""
    return _child(
        f"""
import json, time
import numba
from sim.scenario import load_scenario
from sim.sweeps import sweep
from sim.execution import InProcess, Processes, Dask
numba.set_num_threads({threads})
sc = load_scenario("scenarios/diffusion_2025.toml").replace(trials={trials})
t0 = time.perf_counter()
make = {{"inprocess": InProcess, "processes": lambda: Processes({workers}), "dask": lambda: Dask("local", {workers})}}
runner = make[{kind!r}]()
start = time.perf_counter() - t0
sweep(sc.replace(trials=4), {{"caps.country_allocation_tpp": [395e6]}}, block=1, runner=runner)  # warm every worker
t = time.perf_counter()
sweep(sc, {{"caps.country_allocation_tpp": [395e6, 1.58e9]}}, block=100, runner=runner)
s = time.perf_counter() - t
runner.close()
print(json.dumps({{"seconds": s, "startup_s": start, "trials_per_s": 2 * {trials} / s}}))
"""
    )


def peak_memory(trials: int) -> dict:
    return _child(
        f"""
import json, re, time
from sim.scenario import load_scenario
from sim.api import Model
sc = load_scenario("scenarios/default.toml").replace(trials={trials}, quarters=1)
t = time.perf_counter()
table = Model(sc).run(block=1000)
s = time.perf_counter() - t
hwm = int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1)) / 1024
print(json.dumps({{"trials": {trials}, "seconds": s, "peak_mb": hwm, "rows": table.height}}))
"""
    )


def streamed_run(trials: int, stream: bool, out: str) -> dict:
    return _child(
        f"""
import json, re, time
from sim.cli import main
t = time.perf_counter()
args = ["run", "scenarios/default.toml", "--trials", "{trials}", "--out", {out!r}]
args += ["--run-id", "{"s" if stream else "e"}"]
rc = main(args + ["--replace", "--no-progress", "--no-figures"] + (["--stream"] if {stream} else []))
s = time.perf_counter() - t
hwm = int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1)) / 1024
print(json.dumps({{"trials": {trials}, "stream": {stream}, "rc": rc, "seconds": s, "peak_mb": hwm}}))
"""
    )


def streamed_accuracy(out: str) -> dict:
    """The streamed summary of 2,000 trials against the exact summary of the same trials."""
    import polars as pl

    e = pl.read_parquet(Path(out) / "default" / "e" / "summary.parquet")
    s = pl.read_parquet(Path(out) / "default" / "s" / "summary.parquet")
    j = e.with_columns(sv=s["value"], sl=s["mc_low"], sh=s["mc_high"]).filter(
        pl.col("quantile").is_in(["p5", "p50", "p95"]) & (pl.col("value").abs() > 0)
    )
    tol = 1e-6 * pl.col("value").abs()
    rel = ((pl.col("sv") - pl.col("value")).abs() / pl.col("value").abs()).alias("rel")
    width = ((pl.col("sh") - pl.col("sl")) / (pl.col("mc_high") - pl.col("mc_low"))).alias("width")
    j = j.with_columns(rel, width)
    covered = ((pl.col("sl") <= pl.col("value") + tol) & (pl.col("value") <= pl.col("sh") + tol)).mean()
    head = j.filter(
        pl.col("metric").is_in(["compute_h100e", "largest_run_flop"])
        & pl.col("region").is_in(["US", "China"])
        & pl.col("quarter").is_in(["2027Q4", "2030Q4"])
    )
    return {
        "cells": j.height,
        "brackets_holding_exact": j.select(covered).item(),
        "relative_difference": {q: j["rel"].quantile(q) for q in (0.5, 0.9, 0.99)},
        "interval_width_ratio_median": j.filter(pl.col("width").is_finite())["width"].median(),
        "headline": head.select("metric", "region", "quarter", "quantile", "value", "sv", "rel").to_dicts(),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.sweeps")
    ap.add_argument("--quick", action="store_true", help="small sizes (a few minutes)")
    ap.add_argument("--out", type=Path, default=RESULTS / "sweeps.json")
    ap.add_argument("--parts", default="morris,sobol,throughput,memory,streamed", help="which parts (comma list)")
    args = ap.parse_args(argv)
    q, parts = args.quick, args.parts.split(",")
    res: dict = json.loads(args.out.read_text()) if args.out.exists() and len(parts) < 5 else {}
    res["quick"] = q
    if "morris" in parts:
        print("Morris ...", flush=True)
        res["morris"] = sensitivity("morris", 2 if q else 10, [])
        print(f"  {res['morris']['trials']} trials, {res['morris']['seconds']:.0f} s", flush=True)
    if "sobol" in parts:
        print("Sobol ...", flush=True)
        res["sobol"] = sensitivity("sobol", 4 if q else 256, ["paths"])
        print(f"  {res['sobol']['trials']} trials, {res['sobol']['seconds']:.0f} s", flush=True)
    if "throughput" in parts:
        trials = 100 if q else 200
        configs = [("inprocess", 1, 1), ("inprocess", 1, 2), ("processes", 2, 1), ("dask", 1, 2), ("dask", 2, 1)]
        res["throughput"] = {}
        for kind, workers, threads in configs:
            runs = [throughput(kind, workers, threads, trials) for _ in range(1 if q else 3)]
            med = statistics.median(r["seconds"] for r in runs)
            key = f"{kind} {workers}x{threads}"
            res["throughput"][key] = {
                "seconds": med,
                "trials_per_s": 2 * trials / med,
                "startup_s": runs[0]["startup_s"],
            }
            print(f"  {key}: {2 * trials / med:.1f} trials/s (median of {len(runs)})", flush=True)
        base = res["throughput"]["inprocess 1x2"]["seconds"]
        res["overhead"] = {k: v["seconds"] / base - 1 for k, v in res["throughput"].items() if k.startswith("dask")}
    if "memory" in parts:
        res["memory"] = [peak_memory(n) for n in ((1000, 5000) if q else (10_000, 100_000))]
        for m in res["memory"]:
            print(f"  {m['trials']:,} trials: peak {m['peak_mb']:.0f} MB, {m['seconds']:.0f} s", flush=True)
    if "streamed" in parts:
        import tempfile

        with tempfile.TemporaryDirectory() as out:
            n = 300 if q else 2000
            res["streamed"] = {"exact": streamed_run(n, False, out), "runs": [streamed_run(n, True, out)]}
            res["streamed"]["accuracy"] = streamed_accuracy(out)
            if not q:
                res["streamed"]["runs"].append(streamed_run(20_000, True, out))
        for m in [res["streamed"]["exact"], *res["streamed"]["runs"]]:
            what = "streamed" if m["stream"] else "in memory"
            print(f"  {m['trials']:,} trials {what}: peak {m['peak_mb']:.0f} MB, {m['seconds']:.0f} s", flush=True)
        acc = res["streamed"]["accuracy"]
        print(
            f"  brackets holding the exact quantile: {acc['brackets_holding_exact']:.4f}; relative difference "
            f"p50 {acc['relative_difference'][0.5]:.2e}, p99 {acc['relative_difference'][0.99]:.2e}",
            flush=True,
        )
    res["targets"] = TARGETS
    res["when"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    args.out.write_text(json.dumps(res, indent=2))
    print(json.dumps({k: res[k] for k in ("overhead",) if k in res}, indent=2))
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
