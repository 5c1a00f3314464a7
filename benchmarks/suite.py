"""The benchmark suite of issue 4: the numba kernel (A) against a vectorised NumPy version of the same rules
(B), the plain-Python reference twin (C, on a subsample) and a bare numba loop over the same random draws
(D), on the inputs of scenarios/default.toml.

Every measurement runs in a worker subprocess (one per implementation) on a freshly compiled
``KernelInputs``; numba kernels are warmed up on one trial first, so compile time never counts toward
throughput. Peak memory is the resident-set high-water mark during the measurement (Linux VmHWM, reset
before each measurement), with the resident size before it (inputs, outputs, libraries) alongside.
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
SCENARIO = ROOT / "scenarios" / "default.toml"

IMPLS = {"A": "numba kernel", "B": "vectorised NumPy", "C": "reference twin", "D": "bare numba loop"}
TARGETS = {"A_over_C": 100.0, "A_over_B": 3.0, "A_over_D_max": 2.5, "A_orders_per_s": 20e6, "end_to_end_s": 60.0}

# orders per trial (24 quarters) → (firms.total, orders_per_quarter): about 10^4 ... 10^7
ORDER_SIZES = {1e4: (120, 1), 1e5: (800, 4), 1e6: (10_000, 4), 1e7: (100_000, 4)}


@dataclass
class Sizes:
    """What the suite measures; ``FULL`` is ``python -m benchmarks``, ``QUICK`` is ``--quick``."""

    headline_trials: int  # A and D on the default scenario, all 24 quarters
    sub_trials: int  # A and B on this subsample (first sub_quarters quarters)
    sub_quarters: int
    c_trials: int  # C on this subsample
    c_quarters: int
    trials_axis: list[int]  # A, D: all quarters; B: b_axis_quarters
    b_trials_axis: list[int]
    territories_axis: list[int | None]  # demand only in the N largest territories (None: all)
    territories_trials: int
    b_territories_trials: int
    orders_axis: list[float]
    orders_trials: int  # A, D: trials per size (fixed, so memory compares orders alone)
    b_orders_trials: int
    threads_trials: int
    b_axis_quarters: int = 1  # B's scaling runs use the first quarters only (throughput scales)
    b_block: int = 512
    e2e_trials: int | None = None  # None: the scenario's 1,000
    cold_compile: bool = True
    firms_total: int | None = None  # override the scenario's firms (tests)
    orders_per_quarter: int | None = None
    quarters: int | None = None  # override the scenario's 24 quarters (tests)


FULL = Sizes(
    headline_trials=1000,
    sub_trials=512,
    sub_quarters=4,
    c_trials=1,
    c_quarters=2,
    trials_axis=[1, 10, 100, 1000],
    b_trials_axis=[1, 10, 100, 1000],
    territories_axis=[10, 30, 100, None],
    territories_trials=50,
    b_territories_trials=128,
    orders_axis=[1e4, 1e5, 1e6, 1e7],
    orders_trials=20,
    b_orders_trials=64,
    threads_trials=50,
)
QUICK = Sizes(
    headline_trials=20,
    sub_trials=64,
    sub_quarters=1,
    c_trials=1,
    c_quarters=1,
    trials_axis=[1, 10, 20],
    b_trials_axis=[1, 16, 64],
    territories_axis=[10, None],
    territories_trials=10,
    b_territories_trials=32,
    orders_axis=[1e4, 1e5, 1e6],
    orders_trials=10,
    b_orders_trials=32,
    threads_trials=10,
    e2e_trials=20,
    cold_compile=False,
)
TINY = Sizes(
    headline_trials=2,
    sub_trials=2,
    sub_quarters=1,
    c_trials=1,
    c_quarters=1,
    trials_axis=[1],
    b_trials_axis=[2],
    territories_axis=[10],
    territories_trials=2,
    b_territories_trials=2,
    orders_axis=[1e4],
    orders_trials=2,
    b_orders_trials=2,
    threads_trials=2,
    e2e_trials=2,
    cold_compile=False,
    firms_total=60,
    orders_per_quarter=1,
    quarters=2,
)


# ----------------------------------------------------------------------------------------------------
# worker side: build inputs, run one implementation, measure
# ----------------------------------------------------------------------------------------------------


def _mem() -> tuple[float, float]:
    """(resident MB now, high-water MB) of this process."""
    try:
        s = Path("/proc/self/status").read_text()
        rss = int(re.search(r"VmRSS:\s+(\d+)", s).group(1)) / 1024
        hwm = int(re.search(r"VmHWM:\s+(\d+)", s).group(1)) / 1024
        return rss, hwm
    except (OSError, AttributeError):
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return float("nan"), peak


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


_INPUTS: dict = {}


def _inputs(case: dict):
    """KernelInputs of the default scenario with the case's changes (cached per variant)."""
    key = json.dumps(
        {k: case.get(k) for k in ("trials", "quarters", "firms_total", "orders_per_quarter", "territories")},
        sort_keys=True,
    )
    if key not in _INPUTS:
        from sim.inputs import compile_scenario
        from sim.scenario import load_scenario

        world = None
        if case.get("territories"):
            import polars as pl

            from sim.world import World, load_world

            w = load_world()
            top = w.countries.sort("demand_weight", descending=True)["iso3"].head(case["territories"]).to_list()
            c = w.countries.with_columns(
                pl.when(pl.col("iso3").is_in(top)).then(pl.col("demand_weight")).otherwise(0.0).alias("demand_weight")
            )
            world = World(c, w.groups, w.sites)
        sc = load_scenario(SCENARIO, world=world)
        ch = {k: case[k] for k in ("trials", "quarters", "firms_total", "orders_per_quarter") if case.get(k)}
        _INPUTS[key] = compile_scenario(sc.replace(**ch)).inputs
    return _INPUTS[key]


def measure(case: dict, collect: bool = True) -> dict:
    """Run one case: {"impl": A|B|C|D, "trials", "quarters", "firms_total", "orders_per_quarter",
    "territories", "threads", "block"}; returns the case with seconds, orders, orders_per_s, memory."""
    import gc

    import numba

    inp = _inputs(case)
    impl = case["impl"]
    T, C, Q = inp.shape
    F, m = len(inp.firms.country), inp.consts.m
    orders = F * m * Q * T
    threads = case.get("threads") or numba.config.NUMBA_NUM_THREADS
    numba.set_num_threads(threads)
    if impl == "A":
        from sim.kernel.allocate import run_kernel

        run_kernel(inp.subset(1))  # compile or load the cache: not timed

        def go():
            return run_kernel(inp)
    elif impl == "D":
        from benchmarks.rivals.bare_loop import run_bare

        run_bare(inp.subset(1))

        def go():
            return run_bare(inp)
    elif impl == "B":
        from benchmarks.rivals.vectorised import run_vectorised

        threads = 1

        def go():
            return run_vectorised(inp, block=case.get("block") or 512)
    elif impl == "C":
        from sim.kernel.reference import simulate_trial

        threads = 1

        def go():
            return [simulate_trial(inp, t) for t in range(T)]
    else:
        raise ValueError(impl)
    if collect:
        gc.collect()
    base, _ = _mem()
    reset = _reset_peak()
    t0 = time.perf_counter()
    res = go()
    seconds = time.perf_counter() - t0
    _, peak = _mem()
    del res
    if collect:
        gc.collect()
    return {
        **case,
        "threads": threads,
        "trials": T,
        "quarters": Q,
        "firms": F,
        "territories_total": C,
        "orders_per_quarter": int(m),
        "orders": int(orders),
        "orders_per_trial": int(F * m * Q),
        "orders_per_trial_24q": int(F * m * 24),
        "seconds": seconds,
        "orders_per_s": orders / seconds,
        "rss_before_mb": base,
        "peak_mb": peak,
        "added_mb": peak - base,
        "peak_reset": reset,
    }


def _worker() -> None:
    cases = json.loads(sys.stdin.read())
    out = []
    for case in cases:
        out.append(measure(case))
        print(
            f"    {case['impl']} {case.get('axis', '')} trials={out[-1]['trials']} "
            f"quarters={out[-1]['quarters']} {out[-1]['orders_per_s'] / 1e6:.2f} M orders/s "
            f"({out[-1]['seconds']:.2f} s)",
            file=sys.stderr,
            flush=True,
        )
    sys.stdout.write(json.dumps(out))


# ----------------------------------------------------------------------------------------------------
# driver side
# ----------------------------------------------------------------------------------------------------


def _child(cmd: list[str], env: dict | None = None, stdin: str | None = None) -> tuple[str, float, float]:
    """Run a subprocess from the repository root; returns (stdout, wall s, peak RSS MB of that child)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdin=subprocess.PIPE if stdin is not None else None, stdout=subprocess.PIPE, text=True
    )
    if stdin is not None:
        p.stdin.write(stdin)
        p.stdin.close()
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])}... exited with {p.returncode}")
    return out, wall, ru.ru_maxrss / 1024


def _run_cases(cases: list[dict], isolate: bool) -> list[dict]:
    if not cases:
        return []
    if not isolate:
        return [measure(c, collect=False) for c in cases]
    out, _, _ = _child([sys.executable, "-m", "benchmarks.suite", "--worker"], stdin=json.dumps(cases))
    return json.loads(out)


def plan(sz: Sizes) -> dict[str, list[dict]]:
    """The cases of every implementation (one worker each)."""
    base = {
        k: v
        for k, v in (
            ("firms_total", sz.firms_total),
            ("orders_per_quarter", sz.orders_per_quarter),
            ("quarters", sz.quarters),
        )
        if v
    }
    nq = sz.quarters or 24
    A, B, C, D = [], [], [], []
    A.append({**base, "impl": "A", "axis": "headline", "trials": sz.headline_trials})
    D.append({**base, "impl": "D", "axis": "headline", "trials": sz.headline_trials})
    sub = {**base, "axis": "subsample_B", "trials": sz.sub_trials, "quarters": min(nq, sz.sub_quarters)}
    A.append({**sub, "impl": "A"})
    A.append({**sub, "impl": "A", "axis": "subsample_B_1thread", "threads": 1})
    B.append({**sub, "impl": "B", "block": sz.b_block})
    C.append({**base, "impl": "C", "axis": "subsample_C", "trials": sz.c_trials, "quarters": min(nq, sz.c_quarters)})
    for t in sz.trials_axis:
        if t != sz.headline_trials:
            A.append({**base, "impl": "A", "axis": "trials", "trials": t})
            D.append({**base, "impl": "D", "axis": "trials", "trials": t})
    for t in sz.b_trials_axis:
        B.append(
            {
                **base,
                "impl": "B",
                "axis": "trials",
                "trials": t,
                "quarters": min(nq, sz.b_axis_quarters),
                "block": min(t, sz.b_block),
            }
        )
    for n in sz.territories_axis:
        for impl, lst in (("A", A), ("D", D)):
            lst.append({**base, "impl": impl, "axis": "territories", "territories": n, "trials": sz.territories_trials})
        B.append(
            {
                **base,
                "impl": "B",
                "axis": "territories",
                "territories": n,
                "trials": sz.b_territories_trials,
                "quarters": min(nq, sz.b_axis_quarters),
                "block": sz.b_block,
            }
        )
    for size in sz.orders_axis:
        firms, m = ORDER_SIZES[size] if not sz.firms_total else (sz.firms_total, sz.orders_per_quarter or 1)
        t = sz.orders_trials
        for impl, lst in (("A", A), ("D", D)):
            lst.append(
                {
                    **base,
                    "impl": impl,
                    "axis": "orders",
                    "target_orders_per_trial": size,
                    "firms_total": firms,
                    "orders_per_quarter": m,
                    "trials": t,
                }
            )
        B.append(
            {
                **base,
                "impl": "B",
                "axis": "orders",
                "target_orders_per_trial": size,
                "firms_total": firms,
                "orders_per_quarter": m,
                "trials": sz.b_orders_trials,
                "quarters": min(nq, sz.b_axis_quarters),
                "block": sz.b_block,
            }
        )
    for th in (1, 2):
        for impl, lst in (("A", A), ("D", D)):
            lst.append({**base, "impl": impl, "axis": "threads", "threads": th, "trials": sz.threads_trials})
    return {"A": A, "B": B, "C": C, "D": D}


def end_to_end(sz: Sizes) -> dict:
    """`sim run scenarios/default.toml` in a subprocess, warm compile cache: load, compile, run, metrics, write."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            sys.executable,
            "-c",
            "import sys; from sim.cli import main; sys.exit(main())",
            "run",
            str(SCENARIO),
            "--no-progress",
            "--out",
            tmp,
            "--run-id",
            "bench",
        ]
        if sz.e2e_trials:
            cmd += ["--trials", str(sz.e2e_trials)]
        out, wall, peak = _child(cmd)
        man = json.loads(next(Path(tmp).rglob("bench/manifest.json")).read_text())
    return {
        "wall_s": wall,
        "peak_rss_mb": peak,
        "trials": man.get("trials") or sz.e2e_trials or 1000,
        "manifest": {
            k: man.get(k)
            for k in ("wall_time_s", "orders_processed", "orders_per_s", "threads", "timings_s")
            if k in man
        },
        "stdout": out.strip().splitlines()[:1],
    }


_COLD = """
import time, sys
t0 = time.perf_counter()
from sim.scenario import load_scenario
from sim.inputs import compile_scenario
inp = compile_scenario(load_scenario(sys.argv[1]).replace(trials=1, quarters=1, firms_total=60,
                                                          orders_per_quarter=1)).inputs
from sim.kernel.allocate import run_kernel
from benchmarks.rivals.bare_loop import run_bare
t = time.perf_counter(); run_kernel(inp); a = time.perf_counter() - t
t = time.perf_counter(); run_bare(inp); d = time.perf_counter() - t
print(a, d)
"""


def compile_times() -> dict:
    """First call of the kernels with an empty numba cache (cold compile) and with the warm cache."""
    res = {}
    for name in ("warm", "cold"):
        env = dict(os.environ)
        with tempfile.TemporaryDirectory() as tmp:
            if name == "cold":
                env["NUMBA_CACHE_DIR"] = tmp
            out, wall, _ = _child([sys.executable, "-c", _COLD, str(SCENARIO)], env=env)
        a, d = (float(x) for x in out.split())
        res[name] = {"A_first_call_s": a, "D_first_call_s": d, "process_wall_s": wall}
    res["A_cold_compile_s"] = res["cold"]["A_first_call_s"] - res["warm"]["A_first_call_s"]
    res["D_cold_compile_s"] = res["cold"]["D_first_call_s"] - res["warm"]["D_first_call_s"]
    return res


def _pick(rows, impl, axis):
    return [r for r in rows if r["impl"] == impl and r.get("axis") == axis]


def summarise(rows: list[dict], e2e: dict | None, comp: dict | None) -> dict:
    one = lambda impl, axis: (_pick(rows, impl, axis) or [None])[0]  # noqa: E731
    a, d = one("A", "headline"), one("D", "headline")
    a_sub, b_sub = one("A", "subsample_B"), one("B", "subsample_B")
    c = one("C", "subsample_C")
    a1 = one("A", "subsample_B_1thread")
    s = {
        "A_orders_per_s": a["orders_per_s"] if a else None,
        "B_orders_per_s": b_sub["orders_per_s"] if b_sub else None,
        "C_orders_per_s": c["orders_per_s"] if c else None,
        "D_orders_per_s": d["orders_per_s"] if d else None,
        "A_over_B": a_sub["orders_per_s"] / b_sub["orders_per_s"] if a_sub and b_sub else None,
        "A1_over_B": a1["orders_per_s"] / b_sub["orders_per_s"] if a1 and b_sub else None,
        "A_over_C": a["orders_per_s"] / c["orders_per_s"] if a and c else None,
        "A_over_D": d["orders_per_s"] / a["orders_per_s"] if a and d else None,
        "A_peak_mb": a["peak_mb"] if a else None,
        "end_to_end_s": e2e["wall_s"] if e2e else None,
        "end_to_end_trials": e2e["trials"] if e2e else None,
        "end_to_end_kernel_s": (e2e["manifest"].get("timings_s") or {}).get("kernel_s") if e2e else None,
        "end_to_end_kernel_orders_per_s": e2e["manifest"].get("orders_per_s") if e2e else None,
        "A_cold_compile_s": comp["A_cold_compile_s"] if comp else None,
    }
    s["targets"] = {
        "A >= 100x C": None if s["A_over_C"] is None else s["A_over_C"] >= TARGETS["A_over_C"],
        "A >= 3x B": None if s["A_over_B"] is None else s["A_over_B"] >= TARGETS["A_over_B"],
        "A within 2.5x of D": None if s["A_over_D"] is None else s["A_over_D"] <= TARGETS["A_over_D_max"],
        ">= 20 M orders/s": None if s["A_orders_per_s"] is None else s["A_orders_per_s"] >= TARGETS["A_orders_per_s"],
        "end to end <= 60 s (1,000 trials, warm)": None
        if not e2e or e2e["trials"] != 1000
        else e2e["wall_s"] <= TARGETS["end_to_end_s"],
    }
    return s


def table(res: dict) -> str:
    rows = res["measurements"]
    lines = [
        f"{'impl':4s} {'axis':20s} {'variant':>14s} {'trials':>6s} {'qtrs':>4s} {'thr':>3s} {'orders':>14s} "
        f"{'seconds':>8s} {'M ord/s':>8s} {'peak MB':>8s} {'+MB':>7s}"
    ]
    for r in rows:
        var = ""
        if r.get("axis") == "territories":
            var = f"top {r['territories']}" if r.get("territories") else "all"
        elif r.get("axis") == "orders":
            var = f"{r['orders_per_trial_24q']:,}/trial"
        lines.append(
            f"{r['impl']:4s} {r.get('axis', ''):20s} {var:>14s} {r['trials']:6d} {r['quarters']:4d} "
            f"{r['threads']:3d} {r['orders']:14,d} {r['seconds']:8.2f} {r['orders_per_s'] / 1e6:8.2f} "
            f"{r['peak_mb']:8.0f} {r['added_mb']:7.0f}"
        )
    s = res["summary"]
    f = lambda x, fmt: "n/a" if x is None else format(x, fmt)  # noqa: E731
    e2e_rate = s["end_to_end_kernel_orders_per_s"]
    lines += [
        "",
        f"A numba kernel     {f(s['A_orders_per_s'] and s['A_orders_per_s'] / 1e6, '8.2f')} M orders/s "
        f"(default scenario, all quarters, peak {f(s['A_peak_mb'], '.0f')} MB)",
        f"B vectorised NumPy {f(s['B_orders_per_s'] and s['B_orders_per_s'] / 1e6, '8.2f')} M orders/s (1 core)",
        f"C reference twin   {f(s['C_orders_per_s'] and s['C_orders_per_s'] / 1e6, '8.3f')} M orders/s",
        f"D bare numba loop  {f(s['D_orders_per_s'] and s['D_orders_per_s'] / 1e6, '8.2f')} M orders/s",
        f"A / B {f(s['A_over_B'], '.1f')}x on the same subsample (A with 1 thread / B: {f(s['A1_over_B'], '.1f')}x)"
        f"   A / C {f(s['A_over_C'], ',.0f')}x   D / A {f(s['A_over_D'], '.2f')}x",
        f"end to end (sim run, warm cache, {s['end_to_end_trials']} trials): {f(s['end_to_end_s'], '.1f')} s "
        f"(kernel {f(s['end_to_end_kernel_s'], '.1f')} s at {f(e2e_rate and e2e_rate / 1e6, '.1f')} M orders/s)   "
        f"cold numba compile of the kernel: {f(s['A_cold_compile_s'], '.1f')} s",
        f"load average at start / end: {res['machine']['load_average_at_start'][0]:.2f} / "
        f"{res['machine']['load_average_at_end'][0]:.2f}",
        "",
    ]
    for k, v in s["targets"].items():
        lines.append(f"  [{'met' if v else ('n/a' if v is None else 'NOT met')}] {k}")
    return "\n".join(lines)


def run_suite(
    sz: Sizes, out_dir: Path = RESULTS, isolate: bool = True, e2e: bool = True, figure: bool = True, log=print
) -> dict:
    import numba

    t_start = time.perf_counter()
    load_start = os.getloadavg()
    rows = []
    for impl, cases in plan(sz).items():
        log(f"  {impl} {IMPLS[impl]}: {len(cases)} measurements")
        rows += _run_cases(cases, isolate)
    e = None
    if e2e:
        log("  end to end: sim run scenarios/default.toml")
        e = end_to_end(sz)
    comp = None
    if sz.cold_compile:
        log("  compile times (empty and warm numba cache)")
        comp = compile_times()
    res = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "numba": numba.__version__,
            "numpy": __import__("numpy").__version__,
            "cpus": os.cpu_count(),
            "numba_threads": numba.config.NUMBA_NUM_THREADS,
            "processor": platform.processor() or platform.machine(),
            "load_average_at_start": load_start,
            "load_average_at_end": os.getloadavg(),
        },
        "sizes": sz.__dict__,
        "measurements": rows,
        "end_to_end": e,
        "compile": comp,
    }
    res["summary"] = summarise(rows, e, comp)
    res["suite_seconds"] = time.perf_counter() - t_start
    out_dir.mkdir(parents=True, exist_ok=True)
    text = json.dumps(res, indent=2, default=str)
    (out_dir / "latest.json").write_text(text)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%SZ")
    (out_dir / f"{stamp}.json").write_text(text)
    (out_dir / "latest.txt").write_text(table(res) + "\n")
    if figure:
        from .plot import scaling_figure

        res["figures"] = [str(p) for p in scaling_figure(res, out_dir)]
    return res


if __name__ == "__main__" and "--worker" in sys.argv:
    _worker()
