"""The commands behind ``sim`` (sim/cli.py parses and checks the arguments). Each command checks every
input (scenario files, output location, memory) before the first trial runs."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from .errors import SimInputError

CMDLINE = "command line"
BLOCS = ("US", "Tier-1 partners", "China", "Other Tier 2", "Other Tier 3")


def _scenario_path(args) -> Path:
    if (args.scenario is None) == (args.example is None):
        raise SimInputError(CMDLINE, "scenario", "give a scenario file or --example NAME (one of them)")
    if args.example is not None:
        from .examples import path as example_path

        return example_path(args.example)
    return Path(args.scenario)


def _with_args(sc, args):
    """The scenario with its run settings overridden by the command line."""
    changes = {k: getattr(args, k) for k in ("trials", "seed") if getattr(args, k, None) is not None}
    return sc.replace(**changes) if changes else sc


def _guard(sc, args) -> None:
    from .resources import check_memory

    src, fld = (CMDLINE, "--trials") if getattr(args, "trials", None) is not None else (sc.path, "run.trials")
    check_memory(sc, getattr(args, "threads", None), src, fld)


def _stream(sc, args) -> bool:
    """Whether a run summarises as it goes (``--stream``, or when its trials would not fit in memory at once:
    sim/streaming.py); either way, refuse one that cannot fit."""
    from .resources import check_memory, check_streamed_memory

    src, fld = (CMDLINE, "--trials") if getattr(args, "trials", None) is not None else (sc.path, "run.trials")
    if args.stream:
        check_streamed_memory(sc, args.threads, args.block, src, fld)
        return True
    try:
        check_memory(sc, args.threads, src, fld)
        return False
    except SimInputError:
        check_streamed_memory(sc, args.threads, args.block, src, fld)
        print(
            f"sim: {sc.trials:,} trials do not fit in memory at once: the run is summarised as its blocks finish "
            "(quantiles bracketed within bins; see the manifest's summary entry)",
            file=sys.stderr,
        )
        return True


def _check_threads(threads: int | None) -> None:
    if threads is None:
        return
    from numba import config

    if threads > config.NUMBA_NUM_THREADS:
        raise SimInputError(CMDLINE, "--threads", f"at most {config.NUMBA_NUM_THREADS} on this machine, got {threads}")


FORMATS = ("pdf", "png", "svg")


def run(args) -> int:
    from . import __version__
    from .execution import BlockStore, executor
    from .folders import plan
    from .results import write_run
    from .runner import run as simulate
    from .scenario import load_scenario

    t0 = time.perf_counter()
    sc = _with_args(load_scenario(_scenario_path(args)), args)
    _check_threads(args.threads)
    folder = plan(args.out, sc.name, args.run_id, sc.seed, args.replace)
    if args.resume and args.run_id is None:
        raise SimInputError(CMDLINE, "--resume", "give the --run-id of the run to resume")
    path = folder.parent / f".blocks-{folder.run_id}"
    if args.resume:  # a streamed run resumes with the settings it started with
        saved = BlockStore.saved_job(path)
        if saved is None or not saved.get("stream"):
            what = "only a streamed run resumes (an in-memory run starts again)"
            raise SimInputError(CMDLINE, "--resume", f"nothing to resume at {path}: {what}")
        args.stream, args.block = True, saved["block"]
    stream = _stream(sc, args)
    runner = executor(args.workers, args.dask) if args.workers or args.dask else None
    store = None
    try:
        if stream and args.run_id is not None:  # the saved states of a streamed run (an in-memory one keeps none)
            job = {"kind": "run", "version": __version__, "scenario": sc.raw, "seed": sc.seed, "trials": sc.trials}
            job.update({"stream": True, "block": args.block})
            store = BlockStore(path, job, args.resume)
        res = simulate(sc, not args.no_progress, args.threads, args.block, runner, store, stream)
    finally:
        if runner is not None:
            runner.close()
    path = write_run(res, folder, figures=not args.no_figures, wall_s=time.perf_counter() - t0)
    if store is not None:
        store.remove()
    tm = res.timings
    print(
        f"{path}  ({sc.trials} trials, {tm['orders_processed']:,} orders, "
        f"{tm['orders_per_s'] / 1e6:.1f} M orders/s, compile {tm['compile_and_first_trial_s']:.1f} s, "
        f"wall {time.perf_counter() - t0:.1f} s)"
    )
    last = res.compiled.labels[-1]
    for region in BLOCS:
        med = res.value("compute_h100e", region, last)
        share = res.value("share_of_world_compute", region, last)
        print(f"  {region:16s} {last}: {med / 1e6:8.2f} M H100e (median), {share:6.1%} of world")
    return 0


def check_run_dir(run_dir: Path) -> dict:
    """The manifest of a results folder, after checking every file ``sim plot`` reads; SimInputError
    naming the file otherwise."""
    import polars as pl

    if not run_dir.is_dir():
        raise SimInputError(run_dir, "", "not a results folder")
    man_path = run_dir / "manifest.json"
    if not man_path.is_file():
        raise SimInputError(run_dir, "manifest.json", "not a results folder (no manifest.json)")
    try:
        man = json.loads(man_path.read_text(encoding="utf-8"))
        ok = (
            isinstance(man, dict)
            and isinstance(man["scenario"]["name"], str)
            and isinstance(man["scenario"]["settings"], dict)
            and isinstance(man["quarters"], list)
            and all(isinstance(q, str) for q in man["quarters"])
        )
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):
        ok = False
    if not ok:
        raise SimInputError(man_path, "", "broken manifest (not the JSON a run writes)")
    need = {"metric": pl.Utf8, "region": pl.Utf8, "quarter": pl.Utf8, "quantile": pl.Utf8}
    for name in ("summary.parquet", "exhaustion.csv", "feasibility.csv"):
        f = run_dir / name
        try:
            if name.endswith(".parquet"):
                schema = pl.read_parquet_schema(f)
                if any(schema.get(k) not in (v, pl.Categorical, pl.Enum) for k, v in need.items()):
                    raise ValueError("missing columns")
            else:
                pl.read_csv(f, n_rows=1)
        except (OSError, ValueError, pl.exceptions.PolarsError) as e:
            raise SimInputError(f, "", f"cannot be read ({str(e).splitlines()[0][:120]})") from None
    return man


def _compare_dir(run_dir: Path) -> dict | None:
    """The manifest of a comparison folder (None for a run's folder), after checking what ``sim plot`` reads
    there; SimInputError naming the file and field otherwise."""
    import polars as pl

    from .folders import check_component

    path = run_dir / "manifest.json"
    try:
        man = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(man, dict) or "scenario" in man:
        return None
    if man.get("kind") != "compare":
        what = "written by an earlier version of sim (rerun sim compare)" if "scenarios" in man else "not sim's"
        raise SimInputError(path, "kind", f"not a comparison this sim can redraw: {what}")
    kinds = {"names": list, "quarters": list, "countries": list, "seed": int, "trials": int, "version": str}
    for key, kind in kinds.items():
        if not isinstance(man.get(key), kind) or (kind is list and not man[key] and key != "countries"):
            raise SimInputError(path, key, f"missing or not a {kind.__name__} (not the JSON a comparison writes)")
    for name in man["names"]:
        check_component(name, path, "names")
        if not (run_dir / "scenarios" / str(name)).is_dir():
            raise SimInputError(run_dir / "scenarios", str(name), "the scenario's results folder is missing")
    need = {"metric", "region", "quarter", "scenario", "baseline", "diff_p50", "diff_mean"}
    for name, cols in (("differences.csv", need), ("comparison.csv", {"metric", "region", "quarter"})):
        try:
            have = set(pl.read_csv(run_dir / name, n_rows=1).columns)
        except (OSError, pl.exceptions.PolarsError) as e:
            raise SimInputError(run_dir / name, "", f"cannot be read ({str(e).splitlines()[0][:120]})") from None
        if not cols <= have:
            raise SimInputError(run_dir / name, sorted(cols - have)[0], "missing column")
    return man


def plot(args) -> int:
    from .figures import redraw
    from .report import write_compare_report, write_run_report

    run_dir = Path(args.run_dir)
    if not run_dir.is_dir():
        raise SimInputError(run_dir, "", "not a results folder")
    compared = _compare_dir(run_dir)
    runs = [run_dir / "scenarios" / n for n in compared["names"]] if compared else [run_dir]
    for r in runs:
        check_run_dir(r)
    countries = _list(args.countries, "--countries")
    if countries is not None:
        import polars as pl

        known = set(pl.read_csv(runs[0] / "feasibility.csv", columns=["iso3"])["iso3"]) if runs else set()
        for c in countries:
            if c not in known:
                raise SimInputError(CMDLINE, "--countries", f"unknown territory {c!r} (ISO 3166-1 alpha-3)")
    formats = _list(args.format, "--format") or ["pdf", "png"]
    for f in formats:
        if f not in FORMATS:
            raise SimInputError(CMDLINE, "--format", f"unknown format {f!r} (one of {', '.join(FORMATS)})")
    for r in runs:
        for p in redraw(r, countries, tuple(formats)):
            print(p)
        print(write_run_report(r))
    if compared:
        from .figures.comparison import draw_comparison

        for p in draw_comparison(run_dir, tuple(dict.fromkeys(("png", *formats))), countries):
            print(p)
        print(write_compare_report(run_dir))
    return 0


def compare(args) -> int:
    from .comparison import compare as run_compare
    from .scenario import load_scenario

    seen: dict[object, str] = {}
    scenarios = []
    for p in args.scenarios:
        sc = load_scenario(p)
        for key, what in ((Path(p).resolve(), "the same file"), (sc.name, f"the scenario name {sc.name!r}")):
            if key in seen:
                raise SimInputError(p, "run.name" if isinstance(key, str) else "", f"{what} as {seen[key]}")
            seen[key] = p
        scenarios.append(sc)
    changes = {k: getattr(args, k) for k in ("trials", "seed") if getattr(args, k) is not None}
    if changes:
        scenarios[0] = scenarios[0].replace(**changes)
    folder, store, runner = _execution(args, scenarios[0], "compare")
    try:
        path = run_compare(
            scenarios,
            folder,
            progress=not args.no_progress,
            runner=runner,
            block=args.block,
            store=store,
            resume=args.resume,
            draw=not args.no_figures,
        )
    finally:
        runner.close()
    print(path)
    print((path / "comparison.md").read_text())
    return 0


def _writable(out: str) -> None:
    """Check before a long computation that ``out`` can be written."""
    parent = Path(out).parent
    if (parent.exists() and not os.access(parent, os.W_OK)) or Path(out).is_dir():
        raise SimInputError(CMDLINE, "--out", f"{out} cannot be written")


def _emit(text: str, out: str | None) -> int:
    """Write ``text`` to the file ``out`` (and print its name), or print it."""
    if out:
        target = Path(out)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        except OSError as e:
            raise SimInputError(CMDLINE, "--out", f"{out} cannot be written ({e.strerror})") from None
        print(out)
    else:
        print(text)
    return 0


def regimes(args) -> int:
    from .regimes.docs import regimes_markdown

    return _emit(regimes_markdown(), args.out)


def assumptions(args) -> int:
    from .assumptions.docs import calibration_markdown

    return _emit(calibration_markdown(), args.out)


def levers(args) -> int:
    import sys

    from . import levers as lv

    if args.out and Path(args.out).suffix != ".md":
        raise SimInputError(CMDLINE, "--out", f"expected a markdown file (.md; the CSV goes beside it), got {args.out}")
    if args.out:
        _writable(args.out)
    table, text = lv.report([args.regime] if args.regime else None, args.trials or lv.TRIALS, not args.no_progress)
    _emit(text, args.out)
    if args.out:
        table.write_csv(Path(args.out).with_suffix(".csv"), float_precision=4)
    bad = lv.failures(table)
    if bad:
        print(f"sim: levers: {len(bad)} rule(s) fail: {'; '.join(bad)}", file=sys.stderr)
        return 1
    return 0


def _list(text: str | None, field: str) -> list[str] | None:
    """A comma-separated option as a list (None when not given); an empty list is refused."""
    if text is None:
        return None
    items = [x.strip() for x in text.split(",") if x.strip()]
    if not items:
        raise SimInputError(CMDLINE, field, "expected a comma-separated list, got nothing")
    return items


def _execution(args, sc, group: str):
    """The results folder, block store and executor of an execution command (sweep, sensitivity), checked."""
    from .execution import executor
    from .folders import plan
    from .runner import set_threads

    _check_threads(args.threads)
    folder = plan(args.out, group, args.run_id, sc.seed, args.replace)
    if args.resume and args.run_id is None:
        raise SimInputError(CMDLINE, "--resume", "give the --run-id of the execution to resume")
    set_threads(args.threads)
    store = folder.parent / f".blocks-{folder.run_id}" if args.run_id is not None else None
    return folder, store, executor(args.workers, args.dask)


def sweep(args) -> int:
    from .scenario import load_scenario
    from .sweeps import sweep as run_sweep
    from .sweeps.points import parse

    t0 = time.perf_counter()
    sc = _with_args(load_scenario(args.scenario), args)
    grid, box = parse(args.set, args.range)
    folder, store, runner = _execution(args, sc, "sweep")
    try:
        res = run_sweep(sc, grid, box, args.lhs, args.block, not args.no_progress, runner, store, args.resume)
    finally:
        runner.close()
    path = res.write(folder, figures=not args.no_figures)
    n = len(res.points)
    print(f"{path}  ({n} points × {sc.trials} trials, {time.perf_counter() - t0:.0f} s)")
    last = sc.labels[-1]
    for r in res.table.iter_rows(named=True):
        if (r["metric"], r["region"], r["quarter"], r["statistic"]) == ("compute_h100e", "China", last, "p50"):
            values = ", ".join(f"{k}={r[k]}" for k in res.points[0])
            mc = f"{r['mc_low'] / 1e6:.2f}-{r['mc_high'] / 1e6:.2f}"
            print(f"  {values}: China {last} {r['value'] / 1e6:.2f} M H100e (median; Monte Carlo 95 %: {mc})")
    return 0


def sensitivity(args) -> int:
    from .scenario import load_scenario
    from .sensitivity_analysis import sensitivity as analyse

    t0 = time.perf_counter()
    if Path(args.scenario).is_dir():  # delta or PAWN on a run's own trials
        return _sensitivity_of_run(args, t0)
    sc = _with_args(load_scenario(args.scenario), args)
    folder, store, runner = _execution(args, sc, "sensitivity")
    try:
        res = analyse(
            sc,
            args.method,
            args.n,
            _list(args.groups, "--groups") or [],
            _list(args.inputs, "--inputs"),
            _list(args.quarters, "--quarters"),
            block=args.block,
            progress=not args.no_progress,
            runner=runner,
            store=store,
            resume=args.resume,
        )
    finally:
        runner.close()
    return _report(res, res.write(folder, figures=not args.no_figures), t0)


def _sensitivity_of_run(args, t0: float) -> int:
    from .folders import plan
    from .sensitivity_analysis.given_data import given_data, load

    for opt in ("n", "inputs", "workers", "dask", "seed"):
        if getattr(args, opt, None) is not None:
            raise SimInputError(CMDLINE, f"--{opt}", "not with a run folder (its trials are the design)")
    run_dir = Path(args.scenario)
    loaded = load(run_dir)
    folder = plan(args.out, "sensitivity", args.run_id, int(loaded[0].get("seed", 0)), args.replace)
    groups, quarters = _list(args.groups, "--groups") or [], _list(args.quarters, "--quarters")
    res = given_data(run_dir, args.method, groups, quarters, loaded)
    return _report(res, res.write(folder, figures=not args.no_figures), t0)


def _report(res, path, t0: float) -> int:
    wall = time.perf_counter() - t0
    print(f"{path}  ({res.design.shape[0]:,} trials, {len(res.problem.factors)} factors, {wall:.0f} s)")
    q = sorted({k[2] for k in res.outputs})[0]
    for metric in ("compute_h100e", "largest_run_flop"):
        top = res.top(metric, "China", q)
        print(f"  China {metric} {q}, top factors by {res.method} {top['index'][0] if top.height else ''}:")
        for r in top.iter_rows(named=True):
            print(f"    {r['factor']:55s} {r['estimate']:10.3g} ± {r['conf']:.2g}")
    return 0


def feasibility(args) -> int:
    from .assumptions import load_assumptions
    from .training import chip_h100e, chips_needed, training_flop

    try:
        h = chip_h100e(args.chip)
    except SimInputError as e:
        raise SimInputError(CMDLINE, "--chip", e.message) from None
    goodput = args.goodput if args.goodput is not None else load_assumptions().dists["training.goodput"].median
    use = args.mfu * goodput  # the simulator's utilisation: MFU while training × goodput
    print(
        f"run length {args.days:g} days; utilisation {use:.1%} of dense 16-bit peak = MFU {args.mfu:.0%} "
        f"x goodput {goodput:.0%}" + ("" if args.goodput is not None else " (the assumptions' median)")
    )
    if args.count:
        flop = training_flop(args.count * h, use, args.days)
        print(f"{args.count:,} {args.chip} x {args.days:g} days: {flop:.3g} FLOP")
    n = chips_needed(args.target, use, args.days, h)
    print(f"{args.target:.3g} FLOP in {args.days:g} days needs {n:,.0f} {args.chip} ({n * h:,.0f} H100e)")
    return 0


def validate(args) -> int:
    import polars as pl

    from .validate import table

    t = table()
    with pl.Config(tbl_rows=100, tbl_width_chars=200, fmt_str_lengths=70, float_precision=4):
        print(t.drop("source"))
    failed = t.filter(~pl.col("pass")).height
    print(f"{t.height - failed} passed, {failed} failed")
    return 1 if failed else 0


def backtest(args) -> int:
    from .backtest import backtest as run_backtest
    from .backtest import markdown
    from .scenario import load_scenario

    sc = _with_args(load_scenario(Path(args.scenario)), args)
    _guard(sc, args)
    text = markdown(run_backtest(sc), sc)
    if args.out:
        return _emit(text, args.out)
    print(text, end="")
    return 0


def chips(args) -> int:
    import polars as pl

    from .chips import load_chips

    cols = ("name", "vendor", "us_jurisdiction", "fp16_dense_tflops", "tpp", "pd", "h100e_flops", "h100e_tpp")
    df = load_chips().select(*cols, "eccn_2022", "eccn_2023")
    with pl.Config(tbl_rows=100, tbl_cols=20, float_precision=2, tbl_width_chars=160):
        print(df)
    return 0
