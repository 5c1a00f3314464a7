"""The ``sim`` command: run, compare, plot, regimes, feasibility, validate, backtest, chips. User errors print one
line and exit 2."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .errors import SimInputError


def _run(args) -> int:
    from .results import write_run
    from .runner import run
    from .scenario import load_scenario

    t0 = time.perf_counter()
    sc = load_scenario(args.scenario)
    changes = {k: v for k, v in (("trials", args.trials), ("seed", args.seed)) if v is not None}
    if changes:
        sc = sc.replace(**changes)
    res = run(sc, progress=not args.no_progress, threads=args.threads)
    path = write_run(res, args.out, args.run_id, figures=not args.no_figures, wall_s=time.perf_counter() - t0)
    tm = res.timings
    print(
        f"{path}  ({sc.trials} trials, {tm['orders_processed']:,} orders, "
        f"{tm['orders_per_s'] / 1e6:.1f} M orders/s, compile {tm['compile_and_first_trial_s']:.1f} s, "
        f"wall {time.perf_counter() - t0:.1f} s)"
    )
    last = res.compiled.labels[-1]
    for region in ("US", "Tier-1 partners", "China", "Other Tier 2", "Other Tier 3"):
        med = res.value("compute_h100e", region, last)
        share = res.value("share_of_world_compute", region, last)
        print(f"  {region:16s} {last}: {med / 1e6:8.2f} M H100e (median), {share:6.1%} of world")
    return 0


def _plot(args) -> int:
    from .plots import redraw

    run_dir = Path(args.run_dir)
    if not (run_dir / "manifest.json").exists():
        raise SimInputError(run_dir, "manifest.json", "not a results folder (no manifest.json)")
    for p in redraw(run_dir):
        print(p)
    return 0


def _compare(args) -> int:
    from .compare import compare
    from .scenario import load_scenario

    scenarios = [load_scenario(p) for p in args.scenarios]
    if args.trials:
        scenarios[0] = scenarios[0].replace(trials=args.trials)
    path = compare(scenarios, args.out, args.run_id, progress=not args.no_progress)
    print(path)
    print((path / "comparison.md").read_text())
    return 0


def _regimes(args) -> int:
    from .regimes.docs import regimes_markdown

    return _emit(regimes_markdown(), args.out)


def _emit(text: str, out: str | None) -> int:
    """Write ``text`` to the file ``out`` (and print its name), or print it."""
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(text)
        print(out)
    else:
        print(text)
    return 0


def _feasibility(args) -> int:
    from .training import chip_h100e, chips_needed, training_flop

    h = chip_h100e(args.chip)
    for name in ("count", "days", "mfu"):
        if getattr(args, name) is not None and getattr(args, name) <= 0:
            raise SimInputError("command line", f"--{name}", "must be positive")
    if args.count:
        flop = training_flop(args.count * h, args.mfu, args.days)
        print(f"{args.count:,} {args.chip} x {args.days:g} days at {args.mfu:.0%} MFU: {flop:.3g} FLOP")
    n = chips_needed(args.target, args.mfu, args.days, h)
    print(
        f"{args.target:.3g} FLOP in {args.days:g} days at {args.mfu:.0%} MFU needs {n:,.0f} {args.chip} "
        f"({n * h:,.0f} H100e)"
    )
    return 0


def _validate(args) -> int:
    import polars as pl

    from .validate import table

    t = table()
    with pl.Config(tbl_rows=100, tbl_width_chars=200, fmt_str_lengths=70, float_precision=4):
        print(t.drop("source"))
    failed = t.filter(~pl.col("pass")).height
    print(f"{t.height - failed} passed, {failed} failed")
    return 1 if failed else 0


def _backtest(args) -> int:
    from .backtest import backtest, markdown
    from .scenario import load_scenario

    sc = load_scenario(Path(args.scenario))
    if args.trials:
        sc = sc.replace(trials=args.trials)
    df = backtest(sc)
    text = markdown(df, sc)
    if args.out:
        return _emit(text, args.out)
    print(text, end="")
    return 0


def _assumptions(args) -> int:
    from .assumptions.docs import calibration_markdown

    return _emit(calibration_markdown(), args.out)


def _chips(args) -> int:
    import polars as pl

    from .chips import load_chips

    df = load_chips().select(
        "name",
        "vendor",
        "us_jurisdiction",
        "fp16_dense_tflops",
        "tpp",
        "pd",
        "h100e_flops",
        "h100e_tpp",
        "eccn_2022",
        "eccn_2023",
    )
    with pl.Config(tbl_rows=100, tbl_cols=20, float_precision=2, tbl_width_chars=160):
        print(df)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="sim", description="Monte Carlo simulator of AI-chip export-control regimes")
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run a scenario file and write its results folder")
    r.add_argument("scenario")
    r.add_argument("--trials", type=int, help="override run.trials")
    r.add_argument("--seed", type=int, help="override run.seed")
    r.add_argument("--out", default="results", help="results root (default: results)")
    r.add_argument("--run-id", help="name of the run folder (default: UTC time and seed)")
    r.add_argument("--threads", type=int, help="numba threads (results do not depend on it)")
    r.add_argument("--no-progress", action="store_true")
    r.add_argument("--no-figures", action="store_true")
    r.set_defaults(func=_run)
    p = sub.add_parser("plot", help="redraw the figures of a results folder")
    p.add_argument("run_dir")
    p.set_defaults(func=_plot)
    k = sub.add_parser("compare", help="run scenarios with common random numbers and compare them")
    k.add_argument("scenarios", nargs="+")
    k.add_argument("--trials", type=int, help="override run.trials (of the first scenario, used by all)")
    k.add_argument("--out", default="results")
    k.add_argument("--run-id")
    k.add_argument("--no-progress", action="store_true")
    k.set_defaults(func=_compare)
    g = sub.add_parser("regimes", help="the table of every regime parameter and its reference (markdown)")
    g.add_argument("--out", help="write to this file (docs/regimes.md) instead of printing")
    g.set_defaults(func=_regimes)
    a = sub.add_parser("assumptions", help="the table of every uncertain input and its sources (markdown)")
    a.add_argument("--out", help="write to this file (docs/calibration.md) instead of printing")
    a.set_defaults(func=_assumptions)
    f = sub.add_parser("feasibility", help="training FLOP of a cluster, and the chips needed for a target")
    f.add_argument("--chip", default="H100")
    f.add_argument("--count", type=int, help="number of chips")
    f.add_argument("--days", type=float, default=100.0)
    f.add_argument("--mfu", type=float, default=0.40)
    f.add_argument("--target", type=float, default=1e26, help="target training FLOP (default 1e26)")
    f.set_defaults(func=_feasibility)
    v = sub.add_parser("validate", help="recompute the sources' published arithmetic and reference runs")
    v.set_defaults(func=_validate)
    b = sub.add_parser("backtest", help="the 2023 rules over 2024-2025 against published estimates (markdown)")
    b.add_argument("scenario", nargs="?", default="scenarios/backtest_2024.toml")
    b.add_argument("--trials", type=int, help="override run.trials")
    b.add_argument("--out", help="write to this file (docs/backtest.md) instead of printing")
    b.set_defaults(func=_backtest)
    c = sub.add_parser("chips", help="print the chip catalogue with TPP, PD and ECCN class")
    c.set_defaults(func=_chips)
    args = ap.parse_args(argv)
    try:
        return args.func(args)
    except SimInputError as e:
        print(f"sim: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
