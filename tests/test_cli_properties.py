"""Issue 9, property tests: whatever scenario file and arguments a user writes, ``sim`` either succeeds and
writes one results folder where it should, or refuses with one clean line and writes nothing; never a
traceback, another exit code, or a crash.

Hypothesis generates small scenario files (a valid base perturbed by wrong types, nan/inf, out-of-range
numbers, unknown names and countries, unsafe folder names, missing and unknown fields) and argument lists.
Each input runs in a worker process (this file run as a script, ``main()`` called in-process there) so a
segmentation fault is reported as a failure instead of killing pytest; the worker restarts after a crash.
Sizes stay bounded: trials <= 2, quarters <= 6, firms.total <= 300, no figures (compare draws its figures).
Settings: 40 inputs for ``sim run`` (marked slow) and ``sim feasibility``, 20 pairs for ``sim compare``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import math
import os
import queue
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import traceback
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

MARK = "@@sim-worker@@ "
TIMEOUT = 180  # seconds for one command
MEMORY_LIMIT = 4 << 30  # address-space limit of the worker: a runaway allocation fails fast
SETTINGS = settings(
    max_examples=40,
    deadline=None,
    derandomize=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# ---- the worker -------------------------------------------------------------------------------------------


def _serve() -> None:
    """Worker loop: one JSON request per line on stdin ({"argv", "cwd"}), one marked JSON reply per line on
    stdout ({"rc", "out", "err", "exc"})."""
    from sim.cli import main

    reply_to = os.fdopen(os.dup(1), "w", buffering=1)
    for line in sys.stdin:
        req = json.loads(line)
        os.chdir(req["cwd"])
        out, err, exc = io.StringIO(), io.StringIO(), None
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = main(req["argv"])
            except SystemExit as e:
                rc = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            except BaseException as e:  # noqa: BLE001 - reported to the test, which fails
                rc, exc = None, f"{type(e).__name__}: {e}\n{traceback.format_exc()[-4000:]}"
        reply_to.write(
            MARK + json.dumps({"rc": rc, "out": out.getvalue()[-2000:], "err": err.getvalue(), "exc": exc}) + "\n"
        )


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


class Worker:
    """A ``sim`` worker process; ``call`` restarts it when it has died."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.lines: queue.Queue = queue.Queue()

    def _start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            bufsize=1,
            preexec_fn=_limit_memory,
            start_new_session=True,
        )
        self.lines = queue.Queue()
        self.stderr: list[str] = []
        threading.Thread(target=self._pump, args=(self.proc.stdout, self.lines), daemon=True).start()
        threading.Thread(target=self._drain, args=(self.proc.stderr, self.stderr), daemon=True).start()

    @staticmethod
    def _pump(stream, q: queue.Queue) -> None:
        for line in stream:
            q.put(line)
        q.put(None)

    @staticmethod
    def _drain(stream, sink: list) -> None:
        for line in stream:
            sink.append(line)
            del sink[:-50]

    def call(self, argv: list[str], cwd: Path) -> dict:
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        cmd = "sim " + shlex.join(argv)
        self.proc.stdin.write(json.dumps({"argv": argv, "cwd": str(cwd)}) + "\n")
        self.proc.stdin.flush()
        while True:
            try:
                line = self.lines.get(timeout=TIMEOUT)
            except queue.Empty:
                self.stop()
                pytest.fail(f"{cmd}: no answer after {TIMEOUT} s (hung)")
            if line is None:  # the worker died
                code = self.proc.wait()
                tail = "".join(self.stderr)[-3000:]
                self.proc = None
                pytest.fail(f"{cmd}: the process crashed (exit {code}, signal {-code if code < 0 else '-'})\n{tail}")
            if line.startswith(MARK):
                return json.loads(line[len(MARK) :])

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, 9)
            self.proc.wait()
        self.proc = None


@pytest.fixture(scope="module")
def worker():
    if os.name != "posix":
        pytest.skip("the worker needs fork/exec, setrlimit and process groups (POSIX)")
    w = Worker()
    yield w
    w.stop()


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("props")


# ---- TOML writing ---------------------------------------------------------------------------------------------


def toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)  # JSON string escapes are TOML basic-string escapes
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{json.dumps(str(k))} = {toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(v)


def toml_document(sc: dict) -> str:
    parts = []
    for section, table in sc.items():
        lines = [f"[{section}]"] + [f"{json.dumps(k)} = {toml_value(v)}" for k, v in table.items()]
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


# ---- strategies ---------------------------------------------------------------------------------------------------

REGIMES = [
    "diffusion_2025",
    "rescission_2025",
    "no_controls",
    "controls_2022",
    "controls_2023",
    "gulf_deals_2025",
    "china_h200_2026",
    "chip_security_act",
]
COUNTRIES = ["ARE", "SAU", "IND", "MYS", "MEX", "CHN", "USA", "DEU", "XXX", "", "are"]
HYPERSCALERS = ["Microsoft", "Google", "Amazon", "Meta", "Oracle", "Initech", ""]
NAMES_SAFE = ["s", "run-1", "a.b_c", "x" * 100]
NAMES_UNSAFE = [
    "..",
    ".",
    "../x",
    "a/b",
    ".hidden",
    "",
    "x" * 300,
    "a\u0000b",
    "a\\b",
    " ",
    "../../escape",
    "/dev/null/abs",
]
NUMBERS = [
    0,
    1,
    2,
    -1,
    -30,
    5,
    1000,
    10**12,
    2**63,
    0.0,
    1e-9,
    0.3,
    0.5,
    0.99,
    1.0,
    1.5,
    2.0,
    -0.4,
    1e308,
    -1e308,
    math.nan,
    math.inf,
    -math.inf,
]
WRONG_TYPES = [True, False, "0.4", "", "nan", [], [1, 2], {}, {"x": 1}, dt.date(2025, 1, 1)]
ASSUMPTIONS = [
    "training.mfu",
    "training.goodput",
    "training.max_days",
    "licence.delay_quarters",
    "licence.approval_probability",
    "licence.approval_probability_denial",
    "diversion.multiplier",
    "grey_market.share_of_nvidia_output",
    "service_life_quarters",
    "roadmap.slip_quarters",
    "substitution.chips_per_refused_chip",
    "enforcement.guidance_diversion_cut",
    "enforcement.location_verification_cut",
    "firms.size_exponent",
    "orders.size_sigma",
    "demand.world_h100e_per_quarter.start",
    "demand.world_h100e_per_quarter.growth.2025",
    "demand.world_h100e_per_quarter.ar1.rho",
    "demand.world_h100e_per_quarter.ar1.sd",
    "supply.nvidia_h100e_per_quarter.growth.2026",
    "training.nonsense",
    "",
]
OVERRIDES = [
    "caps.country_allocation_tpp",
    "lpp.allowance_tpp_per_year",
    "weights.threshold_operations",
    "caps.g2g_max_factor",
    "caps.counting_start",
    "destinations.tier1.countries",
    "destinations.tier2.policy_a",
    "uveu.max_share_single_country",
    "nveu.installed_base_tpp",
    "eccn.a_tpp",
    "caps.no_such_cap",
]

numbers = st.sampled_from(NUMBERS)
anything = st.one_of(numbers, st.sampled_from(WRONG_TYPES))


@st.composite
def distributions(draw):
    """A distribution spec as a user might write it, valid or not."""
    pair = st.lists(numbers, min_size=2, max_size=2).map(sorted_if_possible)
    kind = draw(st.sampled_from(["number", "fixed", "uniform", "lognormal", "normal", "clipped", "wrong"]))
    if kind == "number":
        return draw(numbers)
    if kind == "fixed":
        return {"fixed": draw(numbers)}
    if kind == "uniform":
        return {"uniform": draw(pair)}
    if kind in ("lognormal", "normal"):
        return {kind: {"ci90": draw(pair)}}
    if kind == "clipped":
        return {"normal": {"ci90": draw(pair)}, "clip": draw(pair)}
    return draw(st.sampled_from(WRONG_TYPES + [{"beta": [1, 2]}, {"uniform": [0.1, 0.2], "fixed": 1}]))


def sorted_if_possible(xs: list) -> list:
    finite = all(isinstance(x, (int, float)) and not math.isnan(x) for x in xs)
    return sorted(xs) if finite else xs


def _set(sc: dict, section: str, key: str, value) -> None:
    sc.setdefault(section, {})[key] = value


MUTATIONS = {
    "run.trials": lambda d: d(st.sampled_from([-1, 0, 1_000_001, 10**12, 2.0, True, "2", math.nan, 1, 2])),
    "run.quarters": lambda d: d(st.sampled_from([-1, 0, 81, 1000, 2.5, "4", True, 1, 6])),
    "run.seed": lambda d: d(st.sampled_from([-5, 2**63, 2**64, 1.5, "1", True, 0, 2**63 - 1])),
    "run.start": lambda d: d(st.sampled_from(["0001Q1", "2070Q1", "2025Q5", "2025q1", "", 2025, "2024Q3", "2026Q2"])),
    "run.name": lambda d: d(st.sampled_from(NAMES_SAFE + NAMES_UNSAFE + [5, ["a"], True])),
    "run.colour": lambda d: 3,  # an unknown field
    "regime.name": lambda d: d(st.sampled_from(REGIMES + ["diffusion_2099", "", 5, ["diffusion_2025"], "../x"])),
    "regime.nveu": lambda d: d(st.one_of(st.lists(st.sampled_from(COUNTRIES), max_size=3), anything)),
    "regime.uveu": lambda d: d(st.one_of(st.lists(st.sampled_from(HYPERSCALERS), max_size=3), anything)),
    "regime.g2g": lambda d: d(st.dictionaries(st.sampled_from(COUNTRIES), anything, max_size=2)),
    "regime.overrides": lambda d: d(
        st.dictionaries(
            st.sampled_from(OVERRIDES),
            st.one_of(
                anything,
                st.lists(st.sampled_from(COUNTRIES + ["free", "capped", "deny"]), max_size=2),
                st.dictionaries(st.sampled_from([dt.date(2025, 7, 1), "2026-01-01", "soon"]), anything, max_size=1),
            ),
            max_size=2,
        )
    ),
    "regime.timeline": lambda d: d(
        st.lists(
            st.fixed_dictionaries(
                {
                    "from": st.sampled_from([dt.date(2023, 11, 17), dt.date(2025, 1, 13), "soon", 5]),
                    "name": st.sampled_from(REGIMES[:4] + ["nope", 5]),
                }
            ),
            max_size=3,
        )
    ),
    "firms.total": lambda d: d(st.sampled_from([-1, 0, 1, 2, 10**7, 1.5, "300", True, 300])),
    "firms.orders_per_quarter": lambda d: d(st.sampled_from([-1, 0, 1, 3, 1001, 2.5, "2", True])),
    "assumptions": lambda d: d(st.dictionaries(st.sampled_from(ASSUMPTIONS), distributions(), min_size=1, max_size=3)),
    "outputs.countries": lambda d: d(st.one_of(st.lists(st.sampled_from(COUNTRIES), max_size=3), anything)),
    "bogus.x": lambda d: 1,  # an unknown section
}


@st.composite
def scenarios(draw) -> dict:
    """A small valid scenario perturbed by up to three mutations (sections as dicts, in file order)."""
    regime = draw(st.sampled_from(REGIMES))
    sc = {
        "run": {
            "start": draw(st.sampled_from(["2025Q1", "2025Q3", "2024Q4"])),
            "quarters": draw(st.integers(1, 6)),
            "trials": draw(st.integers(1, 2)),
            "seed": draw(st.integers(0, 2**32)),
        },
        "regime": {"name": regime},
        "firms": {"total": draw(st.integers(1, 300)), "orders_per_quarter": draw(st.integers(1, 3))},
    }
    if regime == "diffusion_2025" and draw(st.booleans()):
        sc["regime"]["uveu"] = draw(st.lists(st.sampled_from(HYPERSCALERS[:5]), max_size=2, unique=True))
        sc["regime"]["g2g"] = draw(st.sampled_from([{}, {"ARE": 2.0}, {"IND": 1.5}]))
        sc["regime"]["nveu"] = draw(st.sampled_from([[], ["ARE"], ["IND", "SAU"]]))
    if draw(st.booleans()):
        sc["assumptions"] = draw(
            st.sampled_from(
                [
                    {"training.mfu": {"uniform": [0.35, 0.45]}},
                    {"licence.delay_quarters": 1},
                    {"diversion.multiplier": {"lognormal": {"ci90": [0.5, 2.0]}}},
                    {"demand.world_h100e_per_quarter.ar1.rho": 0.9},
                ]
            )
        )
    if draw(st.booleans()):
        sc["outputs"] = {"countries": ["USA", "CHN", "ARE"]}
    n = draw(st.sampled_from([0, 0, 1, 1, 2, 3]))  # a third of the files stay valid
    for name in draw(st.lists(st.sampled_from(sorted(MUTATIONS)), min_size=n, max_size=n, unique=True)):
        value = MUTATIONS[name](draw)
        if name == "assumptions":
            sc.setdefault("assumptions", {}).update(value)
        elif name == "regime.timeline":
            sc["regime"].pop("name", None)
            sc["regime"]["timeline"] = value
        else:
            section, key = name.split(".", 1)
            _set(sc, section, key, value)
    if draw(st.integers(0, 9)) == 0:  # a required field missing
        section, key = draw(st.sampled_from([("run", "start"), ("run", "seed"), ("run", "trials"), ("regime", "name")]))
        sc.get(section, {}).pop(key, None)
    return sc


def _str_keys(x):
    """``x`` with every mapping key a string (a generated table may have a date as a key)."""
    if isinstance(x, dict):
        return {str(k): _str_keys(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_str_keys(v) for v in x]
    return x


@st.composite
def scenario_pairs(draw) -> tuple[dict, dict]:
    """Two scenarios to compare: mostly the same run, firms and assumptions with another regime (comparable),
    sometimes two unrelated perturbed scenarios."""
    first = draw(scenarios())
    if draw(st.integers(0, 2)) == 0:
        return first, draw(scenarios())
    second = json.loads(json.dumps(_str_keys(first), default=str))  # a deep copy (dates become strings: fine in TOML)
    second["regime"] = {"name": draw(st.sampled_from(REGIMES))}
    second.get("run", {}).pop("name", None)
    return first, second


# argument: (valid values, invalid values); each is drawn valid or invalid with equal chance
RUN_ARGS = {
    "--trials": ([1, 2], [0, -1, 1_000_001, 10**12, "abc", "1.5"]),
    "--seed": ([0, 7, 2**63 - 1], [-5, 2**63, 2**64, "x"]),
    "--threads": ([1, 2], [0, -1, 4096, "two"]),
    "--run-id": (["r1", "a.b_c-1", "existing"], NAMES_UNSAFE),
    "--replace": ([None], [None]),
    "--out": (["OUT"], ["FILE", "FILE/sub"]),
}


@st.composite
def run_arguments(draw) -> list[tuple[str, object]]:
    n = draw(st.sampled_from([0, 0, 1, 1, 2, 3]))
    names = draw(st.lists(st.sampled_from(sorted(RUN_ARGS)), min_size=n, max_size=n, unique=True))
    return [(a, draw(st.sampled_from(RUN_ARGS[a][draw(st.integers(0, 1))]))) for a in names]


# ---- the oracle -------------------------------------------------------------------------------------------------


def snapshot(root: Path) -> dict[str, tuple]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st_ = p.lstat()
            kind = "dir" if p.is_dir() and not p.is_symlink() else "file"
            out[str(p.relative_to(root))] = (kind, 0 if kind == "dir" else st_.st_size, st_.st_mtime_ns)
    return out


def check_outcome(
    res: dict, cmd: str, before: dict, after: dict, group: str | None, run_id: str | None = None, replace: bool = False
):
    """Exit 0 having written one new, visible run folder ``group/<run_id>`` (any id when None) and nothing
    else, or exit 2 with one clean line having changed nothing. Anything else fails. With ``replace`` an
    existing ``group/<run_id>`` may be replaced; with ``group`` None a success writes nothing."""
    err = res["err"]
    assert res["exc"] is None, f"{cmd}: an exception escaped main():\n{res['exc']}"
    assert "Traceback" not in err, f"{cmd}: traceback on stderr:\n{err[-3000:]}"
    rc = res["rc"]
    event(f"exit {rc}")
    new, gone = set(after) - set(before), set(before) - set(after)
    changed = {k for k in set(before) & set(after) if before[k][0] == "file" and before[k] != after[k]}
    if rc == 2:
        lines = err.strip("\n").split("\n")
        assert len(lines) == 1, f"{cmd}: exit 2 with {len(lines)} lines on stderr:\n{err[-3000:]}"
        assert lines[0].startswith("sim: error: "), f"{cmd}: {lines[0]!r}"
        assert lines[0].split(": ", 2)[-1].strip(), f"{cmd}: an empty message: {lines[0]!r}"
        assert not (new or gone or changed), (
            f"{cmd}: refused, but wrote {sorted(new)[:5]}, deleted {sorted(gone)[:5]}, changed {sorted(changed)[:5]}"
        )
        return
    assert rc == 0, f"{cmd}: exit {rc}, expected 0 or 2; stderr:\n{err[-3000:]}"
    if group is None:
        assert not (new or gone or changed), f"{cmd}: wrote {sorted(new)[:5]}, deleted {sorted(gone | changed)[:5]}"
        return
    tops = {k[len(group) + 1 :].split("/")[0] for k in new if k.startswith(group + "/")}
    if run_id is not None:
        assert tops <= {run_id}, f"{cmd}: wrote {sorted(tops)} under {group}, expected only {run_id}"
    assert len(tops) <= 1, f"{cmd}: wrote several folders under {group}: {sorted(tops)}"
    assert not [t for t in tops if t.startswith(".")], f"{cmd}: left a hidden folder {sorted(tops)}"
    stray = {k for k in new if not k.startswith(group + "/") and k != group}
    assert not stray, f"{cmd}: wrote outside {group}/<run id>: {sorted(stray)[:10]}"
    target = f"{group}/{run_id}" if run_id is not None else None
    touched = {k for k in gone | changed if not (replace and target and k.startswith(target + "/"))}
    assert not touched, f"{cmd}: deleted or changed {sorted(touched)[:10]}"
    assert tops or (replace and target and any(k.startswith(target + "/") for k in changed | gone | new)), (
        f"{cmd}: exit 0 but no run folder was written under {group}"
    )
    run_dir = next(iter(tops)) if tops else run_id
    assert f"{group}/{run_dir}/manifest.json" in after, f"{cmd}: exit 0 but {group}/{run_dir} has no manifest.json"


# ---- the properties ------------------------------------------------------------------------------------------------


def _example_dir(base: Path) -> Path:
    d = Path(tempfile.mkdtemp(dir=base))
    out = d / "w" / "d1" / "d2" / "out"
    for rel in ("w/keep.txt", "w/d1/d2/keep.txt", "w/d1/d2/out/other/r0/manifest.json"):
        (d / rel).parent.mkdir(parents=True, exist_ok=True)
        (d / rel).write_text(rel)
    (out / "s" / "existing").mkdir(parents=True)
    (out / "s" / "existing" / "manifest.json").write_text("{}")
    (d / "scen").mkdir()
    (d / "a-file").write_text("not a folder")
    return d


@pytest.mark.slow  # ~10 s on an idle machine, 40 s and more on a busy one (a third of the inputs run)
@SETTINGS
@given(sc=scenarios(), args=run_arguments())
def test_sim_run_succeeds_or_refuses_cleanly(worker, base_dir, sc, args):
    d = _example_dir(base_dir)
    try:
        path = d / "scen" / "s.toml"
        path.write_text(toml_document(sc))
        note(path.read_text())
        out = d / "w" / "d1" / "d2" / "out"
        argv = ["run", str(path), "--out", str(out), "--no-progress", "--no-figures"]
        for name, value in args:
            if name == "--replace":
                argv.append(name)
            elif name == "--out":
                argv += [
                    name,
                    {"FILE": str(d / "a-file"), "FILE/sub": str(d / "a-file" / "sub"), "OUT": str(out)}[value],
                ]
            else:
                argv += [name, str(value)]
        before = snapshot(d)
        res = worker.call(argv, d)
        # a successful run writes <out>/<scenario name>/<run id> (any new id when none is given)
        name = sc.get("run", {}).get("name", "s")
        group = f"w/d1/d2/out/{name}" if isinstance(name, str) else "w/d1/d2/out/<not a name>"
        run_id = dict(args).get("--run-id")
        check_outcome(res, "sim " + shlex.join(argv), before, snapshot(d), group, run_id, "--replace" in argv)
    finally:
        shutil.rmtree(d, ignore_errors=True)


FEASIBILITY_ARGS = {
    "--mfu": st.sampled_from([0.4, 1.0, 5, 0, -0.4, "nan", "inf", "x", 1e-9]),
    "--days": st.sampled_from([54, 100.5, 0, -1, "nan", "inf", "-inf", 1e300]),
    "--target": st.sampled_from([1e26, 1, 0, -1, "nan", "inf", 1e300]),
    "--count": st.sampled_from([1, 16384, 0, -5, 1.5, 10**30]),
    "--chip": st.sampled_from(["H100", "B200", "Ascend910C", "NoSuchChip", ""]),
}


@SETTINGS
@given(
    args=st.lists(st.sampled_from(sorted(FEASIBILITY_ARGS)), max_size=4, unique=True).flatmap(
        lambda names: st.tuples(*[st.tuples(st.just(n), FEASIBILITY_ARGS[n]) for n in names])
    )
)
def test_sim_feasibility_succeeds_or_refuses_cleanly(worker, base_dir, args):
    d = Path(tempfile.mkdtemp(dir=base_dir))
    try:
        argv = ["feasibility"] + [x for n, v in args for x in (n, str(v))]
        before = snapshot(d)
        res = worker.call(argv, d)
        check_outcome(res, "sim " + shlex.join(argv), before, snapshot(d), None)
        if res["rc"] == 0:
            assert "nan" not in res["out"] and "inf" not in res["out"], f"printed a non-finite result: {res['out']}"
    finally:
        shutil.rmtree(d, ignore_errors=True)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(pair=scenario_pairs(), run_id=st.sampled_from([None, "c1", "existing", "..", ".", "../x"]))
def test_sim_compare_succeeds_or_refuses_cleanly(worker, base_dir, pair, run_id):
    first, second = pair
    d = _example_dir(base_dir)
    (d / "w" / "d1" / "d2" / "out" / "compare" / "existing").mkdir(parents=True)
    (d / "w" / "d1" / "d2" / "out" / "compare" / "existing" / "manifest.json").write_text("{}")
    try:
        a, b = d / "scen" / "a.toml", d / "scen" / "b.toml"
        a.write_text(toml_document(first))
        b.write_text(toml_document(second))
        note(a.read_text())
        note(b.read_text())
        out = d / "w" / "d1" / "d2" / "out"
        argv = ["compare", str(a), str(b), "--out", str(out), "--no-progress"]
        if run_id is not None:
            argv += ["--run-id", run_id]
        before = snapshot(d)
        res = worker.call(argv, d)
        group = "w/d1/d2/out/compare"
        check_outcome(res, "sim " + shlex.join(argv), before, snapshot(d), group, run_id, False)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_toml_writer_round_trips():
    import tomllib

    sc = {
        "run": {"name": 'a\u0000b\\c"d', "x": math.nan, "y": -math.inf, "z": [1, 2.5, True]},
        "regime": {"g2g": {"ARE": 2.0, "": "x"}, "d": dt.date(2025, 1, 1), "e": {dt.date(2025, 7, 1): 1}},
    }
    back = tomllib.loads(toml_document(sc))
    assert back["run"]["name"] == 'a\u0000b\\c"d'
    assert math.isnan(back["run"]["x"]) and back["run"]["y"] == -math.inf
    assert back["regime"]["g2g"] == {"ARE": 2.0, "": "x"} and back["regime"]["d"] == dt.date(2025, 1, 1)
    assert back["regime"]["e"] == {"2025-07-01": 1}


if __name__ == "__main__" and sys.argv[1:] == ["--worker"]:
    _serve()
