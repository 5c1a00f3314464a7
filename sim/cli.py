"""The ``sim`` command: run, compare, plot, regimes, assumptions, feasibility, validate, backtest, levers,
sensitivity, sweep, chips.

Every argument is checked before any work. A user error prints one line, ``sim: error: <file>: <field>:
<problem>``, and exits 2; Ctrl-C exits 130 and SIGTERM 143 with one line, leaving no partial results
folder; a broken run invariant exits 3. The commands themselves live in sim/commands.py; this module
imports nothing heavy, so ``sim --help`` starts fast.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import signal
import sys

from . import __version__
from .errors import InvariantError, SimInputError

MAX_TRIALS = 1_000_000  # as run.trials in a scenario file (sim/scenario.py)
CMDLINE = "command line"


class Terminated(BaseException):
    """SIGTERM, raised in the main thread like KeyboardInterrupt so every cleanup handler runs."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2 (argparse prints the usage too)
        m = re.match(r"argument (-[-\w]+|\w+)(?:/\S+)?: (.*)", message)
        where = f"{m.group(1)}: {m.group(2)}" if m else message
        print(f"sim: error: {CMDLINE}: {where} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(2)


def _int_in(lo: int, hi: int):
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if not lo <= v <= hi:
            raise argparse.ArgumentTypeError(f"must be in [{lo:,}, {hi:,}], got {v:,}")
        return v

    return parse


def _float_in(lo: float, hi: float, lo_open: bool = False):
    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not math.isfinite(v) or v > hi or v < lo or (lo_open and v == lo):
            raise argparse.ArgumentTypeError(f"must be in {'(' if lo_open else '['}{lo:g}, {hi:g}], got {text}")
        return v

    return parse


TRIALS = _int_in(1, MAX_TRIALS)
SEED = _int_in(0, 2**63 - 1)
THREADS = _int_in(1, 1024)  # checked against numba's thread limit when the run starts
SENSITIVITY_METHODS = (
    "sobol",
    "morris",
    "delta",
    "pawn",
)  # sim.sensitivity_analysis.METHODS (SALib loads only when used)


def _add_run_args(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--trials", type=TRIALS, help=f"override run.trials (1 to {MAX_TRIALS:,}){what}")
    p.add_argument("--out", default="results", help="results root (default: results)")
    p.add_argument("--run-id", help="name of the run folder (default: UTC time and seed)")
    p.add_argument("--replace", action="store_true", help="replace an existing run folder of the same id")
    p.add_argument("--no-progress", action="store_true")


def _add_execution_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--threads", type=THREADS, help="numba threads in this process (results do not depend on it)")
    p.add_argument("--workers", type=_int_in(1, 1024), help="run blocks of trials in N local processes")
    p.add_argument(
        "--dask", metavar="ADDRESS", help="run blocks on a dask.distributed scheduler ('local': a LocalCluster)"
    )
    p.add_argument("--resume", action="store_true", help="resume the interrupted execution of --run-id (same numbers)")
    p.add_argument("--block", type=_int_in(1, 100_000), default=100, help="trials per task (default 100)")


def _add_output_args(p: argparse.ArgumentParser, group: str) -> None:
    p.add_argument("--out", default="results", help="results root (default: results)")
    p.add_argument("--run-id", help=f"name of the folder under <out>/{group} (default: UTC time and seed)")
    p.add_argument("--replace", action="store_true", help="replace an existing folder of the same id")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--no-figures", action="store_true")


def parser() -> argparse.ArgumentParser:
    from . import commands as c

    ap = _Parser(prog="sim", description="Monte Carlo simulator of AI-chip export-control regimes")
    ap.add_argument("--version", action="version", version=f"sim {__version__}")
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run a scenario file and write its results folder")
    r.add_argument("scenario", nargs="?", help="a scenario file (or give --example NAME)")
    r.add_argument("--example", help="run a scenario shipped with sim (e.g. default, diffusion_2025)")
    _add_run_args(r, "")
    r.add_argument("--seed", type=SEED, help="override run.seed")
    r.add_argument("--threads", type=THREADS, help="numba threads (results do not depend on it)")
    r.add_argument("--workers", type=_int_in(1, 1024), help="run blocks of trials in N local processes")
    r.add_argument("--dask", metavar="ADDRESS", help="run blocks on a dask.distributed scheduler ('local')")
    r.add_argument("--resume", action="store_true", help="resume the interrupted run of --run-id (same numbers)")
    r.add_argument("--block", type=_int_in(1, 100_000), default=100, help="trials per task (default 100)")
    r.add_argument(
        "--stream",
        action="store_true",
        help="summarise as blocks finish, keeping no kernel outputs (automatic when the trials would not fit)",
    )
    r.add_argument("--no-figures", action="store_true")
    r.set_defaults(func=c.run)
    p = sub.add_parser("plot", help="redraw the figures of a results folder")
    p.add_argument("run_dir")
    p.add_argument("--countries", help="comma list of ISO3 codes to show (default: the scenario's outputs.countries)")
    p.add_argument("--format", help="comma list of pdf, png, svg (default: pdf,png)")
    p.set_defaults(func=c.plot)
    k = sub.add_parser("compare", help="run scenarios with common random numbers and compare them")
    k.add_argument("scenarios", nargs="+")
    _add_run_args(k, ", of the first scenario, used by all")
    k.add_argument("--seed", type=SEED, help="override run.seed of the first scenario, used by all")
    k.add_argument("--no-figures", action="store_true")
    _add_execution_args(k)
    k.set_defaults(func=c.compare)
    g = sub.add_parser("regimes", help="the table of every regime parameter and its reference (markdown)")
    g.add_argument("--out", help="write to this file (docs/regimes.md) instead of printing")
    g.set_defaults(func=c.regimes)
    a = sub.add_parser("assumptions", help="the table of every uncertain input and its sources (markdown)")
    a.add_argument("--out", help="write to this file (docs/calibration.md) instead of printing")
    a.set_defaults(func=c.assumptions)
    f = sub.add_parser("feasibility", help="training FLOP of a cluster, and the chips needed for a target")
    f.add_argument("--chip", default="H100")
    f.add_argument("--count", type=_int_in(1, 10**9), help="number of chips")
    f.add_argument("--days", type=_float_in(0, 36_500, lo_open=True), default=100.0)
    f.add_argument("--mfu", type=_float_in(0, 1, lo_open=True), default=0.40, help="MFU while training (0.40)")
    f.add_argument(
        "--goodput",
        type=_float_in(0, 1, lo_open=True),
        help="share of wall-clock time spent training (default: the median of training.goodput, 0.85)",
    )
    f.add_argument("--target", type=_float_in(0, 1e35, lo_open=True), default=1e26, help="training FLOP (1e26)")
    f.set_defaults(func=c.feasibility)
    v = sub.add_parser("validate", help="recompute the sources' published arithmetic and reference runs")
    v.set_defaults(func=c.validate)
    b = sub.add_parser("backtest", help="the 2023 rules over 2024-2025 against published estimates (markdown)")
    b.add_argument("scenario", nargs="?", default="scenarios/backtest_2024.toml")
    b.add_argument("--trials", type=TRIALS, help="override run.trials")
    b.add_argument("--out", help="write to this file (docs/backtest.md) instead of printing")
    b.set_defaults(func=c.backtest)
    lv = sub.add_parser("levers", help="the effect of switching off each rule of each regime file (markdown)")
    lv.add_argument("regime", nargs="?", help="one regime name or file (default: every shipped regime)")
    lv.add_argument("--trials", type=TRIALS, help="trials per run (default 200; common random numbers)")
    lv.add_argument("--out", help="write to this file (docs/levers.md), and its rows as CSV beside it")
    lv.add_argument("--no-progress", action="store_true")
    lv.set_defaults(func=c.levers)
    se = sub.add_parser("sensitivity", help="which uncertain inputs drive the headline outputs (SALib)")
    se.add_argument("scenario", help="a scenario file, or a run folder (delta and PAWN on its trials)")
    se.add_argument("--method", choices=SENSITIVITY_METHODS, default="sobol", help="(default: sobol)")
    se.add_argument(
        "--n",
        type=_int_in(2, 1_000_000),
        help="Sobol base samples (a power of 2; default 256), Morris trajectories (10), delta/PAWN points (1,000)",
    )
    se.add_argument("--groups", help="group inputs: a comma list of paths, demand_weight, chips")
    se.add_argument("--inputs", help="vary only these inputs or time paths (comma list; default: all)")
    se.add_argument("--quarters", help="comma list of quarters (default: 2027Q4 and the run's last)")
    se.add_argument("--seed", type=SEED, help="override run.seed (the design's seed too)")
    _add_execution_args(se)
    _add_output_args(se, "sensitivity")
    se.set_defaults(func=c.sensitivity)
    sw = sub.add_parser("sweep", help="a grid or Latin hypercube over regime parameters and levers (CRN)")
    sw.add_argument("scenario")
    sw.add_argument("--set", action="append", default=[], metavar="NAME=v1,v2", help="grid values of a name")
    sw.add_argument("--range", action="append", default=[], metavar="NAME=LO:HI", help="an interval (with --lhs)")
    sw.add_argument("--lhs", type=_int_in(1, 100_000), help="Latin-hypercube points over the --range intervals")
    sw.add_argument("--trials", type=TRIALS, help="trials per point (default: run.trials)")
    sw.add_argument("--seed", type=SEED, help="override run.seed (common to every point)")
    _add_execution_args(sw)
    _add_output_args(sw, "sweep")
    sw.set_defaults(func=c.sweep)
    ch = sub.add_parser("chips", help="print the chip catalogue with TPP, PD and ECCN class")
    ch.set_defaults(func=c.chips)
    return ap


def _on_sigterm(signum, frame):
    raise Terminated()


def main(argv: list[str] | None = None) -> int:
    """Run the ``sim`` command; returns its exit code (0 ok, 1 a block of trials failed twice, 2 bad input,
    3 broken invariant, 130/143 interrupted/terminated)."""
    try:
        old = signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main thread: leave signals alone
        old = None
    try:
        args = parser().parse_args(argv)
        return args.func(args)
    except SimInputError as e:
        print(f"sim: error: {e}", file=sys.stderr)
        return 2
    except InvariantError as e:  # before RuntimeError, which it is
        print(f"sim: error: {e} (nothing was written; please report this)", file=sys.stderr)
        return 3
    except RuntimeError as e:  # sim.execution.ExecutionError: a block failed twice (no import of the heavy layer)
        if type(e).__name__ != "ExecutionError":
            raise
        print(f"sim: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("sim: interrupted; nothing was written", file=sys.stderr)
        return 130
    except Terminated:
        print("sim: terminated; nothing was written", file=sys.stderr)
        return 143
    except BrokenPipeError:  # the reader of our output went away (`sim chips | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        if old is not None:
            signal.signal(signal.SIGTERM, old)


if __name__ == "__main__":
    sys.exit(main())
