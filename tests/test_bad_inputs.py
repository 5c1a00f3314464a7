"""Issue 9: bad input stops with one line naming the file and the field, exit 2, and nothing written.

The contract: every user error prints exactly one line on stderr, ``sim: error: <file>: <dotted.field>:
<message>``, exits 2, prints no traceback and writes nothing under the output root (no new file or folder,
no hidden ``.tmp-*`` folder). ``<file>`` is the file the user wrote (the scenario, also for its
``regime.overrides.<name>`` and ``assumptions.<name>`` entries), ``command line`` for arguments, or the
results folder for ``sim plot``.

The corpus (tests/bad_inputs/) holds small complete scenario files with exactly one defect each. Each starts
with comment lines::

    # expect: <field>          the field the message must name (empty: only the file is required)
    # args: <more arguments>   appended to ``sim run <file> --out <out> --no-progress --no-figures``;
                               ``{file}`` stands for the corpus file's path
    # file: command line       the file the message must name (default: the corpus file)
    # run: subprocess          run in a separate process (a worker): the input used to crash the interpreter

Cases run in-process (``sim.cli.main``) with the kernel replaced by a tripwire: bad input must be refused
before the first trial runs.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from test_cli_properties import Worker

from sim.cli import main

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(__file__).resolve().parent / "bad_inputs"
CMDLINE = "command line"

# The valid scenarios the corpus files are made from (each corpus file changes exactly one line of one).
BASE = """\
[run]
start = "2025Q1"
quarters = 4
trials = 2
seed = 1

[regime]
name = "diffusion_2025"
uveu = ["Microsoft"]
nveu = []
g2g = {}

[firms]
total = 300
orders_per_quarter = 2

[outputs]
countries = ["USA", "CHN"]
"""
REGIME_LINES = 'name = "diffusion_2025"\nuveu = ["Microsoft"]\nnveu = []\ng2g = {}'


def with_regime(lines: str, text: str = BASE) -> str:
    """``text`` with the [regime] table's lines replaced by ``lines``."""
    return text.replace(REGIME_LINES, lines)


BASES = {
    "diffusion": BASE,
    "rescission": with_regime('name = "rescission_2025"'),
    "gulf": with_regime('name = "gulf_deals_2025"'),
    "timeline": BASE.replace(
        REGIME_LINES,
        'timeline = [{ from = 2023-11-17, name = "controls_2023" }, { from = 2025-01-13, name = "diffusion_2025" }]',
    ),
    "overrides": BASE.replace(
        "g2g = {}\n", 'g2g = { ARE = 2.0 }\n\n[regime.overrides]\n"caps.country_allocation_tpp" = 1_580_000_000\n'
    )
    + '\n[assumptions]\n"training.mfu" = { uniform = [0.35, 0.45] }\n"licence.delay_quarters" = 1\n',
}


# ---- helpers ----------------------------------------------------------------------------------------------


class SimulationStarted(BaseException):
    """Raised by the kernel tripwire: the input was accepted and the simulation began."""


def tripwire(monkeypatch) -> None:
    """Make any trial of the kernel raise SimulationStarted (bad input must be refused before)."""

    def boom(*a, **k):
        raise SimulationStarted("the kernel ran: the bad input was accepted")

    import sim.kernel.allocate as allocate
    import sim.runner as runner

    for mod in (allocate, runner):
        if hasattr(mod, "run_kernel"):
            monkeypatch.setattr(mod, "run_kernel", boom)


def call_main(argv: list[str], capsys) -> tuple[int, str, str]:
    """``main(argv)`` in-process: (exit code, stdout, stderr). Anything escaping main() fails the test."""
    capsys.readouterr()
    try:
        rc = main([str(a) for a in argv])
    except SystemExit as e:  # argparse
        rc = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except SimulationStarted:
        cap = capsys.readouterr()
        pytest.fail(f"sim {shlex.join(map(str, argv))}: accepted, the simulation started\nstderr: {cap.err[-2000:]}")
    except Exception as e:  # noqa: BLE001 - any exception is the failure under test
        tb = traceback.format_exc()
        pytest.fail(f"sim {shlex.join(map(str, argv))}: {type(e).__name__} escaped main(): {e}\n{tb[-4000:]}")
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


@pytest.fixture(scope="module")
def worker():
    """A separate process running ``main()`` (a crash is reported, not fatal to pytest; 4 GiB address-space
    limit, so a runaway allocation fails fast)."""
    if os.name != "posix":
        pytest.skip("the worker needs POSIX")
    w = Worker()
    yield w
    w.stop()


def run_in_worker(worker, argv: list, cwd: Path) -> tuple[int, str, str]:
    res = worker.call([str(a) for a in argv], cwd)
    if res["exc"] is not None:
        pytest.fail(f"sim {shlex.join(map(str, argv))}: an exception escaped main():\n{res['exc']}")
    return res["rc"], res["out"], res["err"]


def snapshot(root: Path) -> dict[str, tuple]:
    """Every path under ``root`` (hidden ones too) with its kind, size and modification time."""
    out = {}
    if not root.exists():
        return out
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            kind = "dir" if p.is_dir() and not p.is_symlink() else "link" if p.is_symlink() else "file"
            out[str(p.relative_to(root))] = (kind, 0 if kind == "dir" else st.st_size, st.st_mtime_ns)
    return out


def assert_nothing_written(before: dict, after: dict, where: Path) -> None:
    new = sorted(set(after) - set(before))
    gone = sorted(set(before) - set(after))
    changed = sorted(k for k in set(before) & set(after) if before[k][0] != "dir" and before[k] != after[k])
    assert not new, f"written under {where}: {new[:10]}"
    assert not gone, f"deleted under {where}: {gone[:10]}"
    assert not changed, f"changed under {where}: {changed[:10]}"


def error_line(rc: int, err: str, argv: list) -> str:
    """The single clean error line of a refused command (exit 2, no traceback)."""
    cmd = shlex.join(map(str, argv))
    assert rc != 0, f"sim {cmd}: accepted (exit 0), expected exit 2"
    assert rc >= 0, f"sim {cmd}: killed by signal {-rc} (a crash); stderr:\n{err[-3000:]}"
    assert "Traceback" not in err, f"sim {cmd}: traceback on stderr:\n{err[-3000:]}"
    assert rc == 2, f"sim {cmd}: exit {rc}, expected 2; stderr:\n{err[-3000:]}"
    lines = err.strip("\n").split("\n")
    assert len(lines) == 1 and lines[0].strip(), (
        f"sim {cmd}: expected one line on stderr, got {len(lines)}:\n{err[-3000:]}"
    )
    assert lines[0].startswith("sim: error: "), f"sim {cmd}: {lines[0]!r} does not start with 'sim: error: '"
    return lines[0]


def assert_names(line: str, file: str, fld: str) -> None:
    """``line`` is ``sim: error: <file>: <field...>: <message>``; the field may extend ``fld`` by ``.x`` or
    ``[i]`` (e.g. regime.timeline[1].name for regime.timeline). An empty ``fld`` only requires the file."""
    prefix = f"sim: error: {file}: "
    if not fld:
        assert str(file) in line, f"the message does not name the file {file}: {line!r}"
        return
    assert line.startswith(prefix), f"the message does not start with {prefix!r}: {line!r}"
    got = line[len(prefix) :].split(": ", 1)[0]
    ok = got == fld or (got.startswith(fld) and got[len(fld)] in ".[ ")
    assert ok, f"the message names the field {got!r}, expected {fld!r}: {line!r}"


# ---- the corpus ---------------------------------------------------------------------------------------------


@dataclass
class Case:
    path: Path
    expect: str
    args: list[str] = field(default_factory=list)
    file: str = ""
    subprocess: bool = False

    @property
    def id(self) -> str:
        return self.path.stem


def read_case(path: Path) -> Case:
    """The header comments of a corpus file (read as bytes: some corpus files are not UTF-8)."""
    head = {}
    for raw in path.read_bytes().split(b"\n"):
        if not raw.startswith(b"#"):
            break
        text = raw.decode("latin-1")[1:].strip()
        key, sep, val = text.partition(":")
        if sep and key.strip() in ("expect", "args", "file", "run"):
            head[key.strip()] = val.strip()
    assert "expect" in head, f"{path.name}: the first line must be '# expect: <field>'"
    args = shlex.split(head.get("args", "").replace("{file}", str(path)))
    return Case(path, head["expect"], args, head.get("file", str(path)), head.get("run") == "subprocess")


CASES = [read_case(p) for p in sorted(CORPUS.iterdir()) if p.suffix == ".toml"]


def test_corpus_size_and_headers():
    assert len(CASES) >= 60, f"only {len(CASES)} corpus files"
    for c in CASES:
        assert c.path.read_bytes().startswith(b"# expect:"), c.path.name
    assert any(c.subprocess for c in CASES)
    assert any(c.file == CMDLINE for c in CASES)


@pytest.mark.parametrize("name", sorted(BASES))
def test_the_corpus_bases_are_valid(name, tmp_path, monkeypatch, capsys):
    """The scenarios the corpus is made from run: a corpus file is refused for its one defect."""
    monkeypatch.chdir(tmp_path)
    p = tmp_path / f"{name}.toml"
    p.write_text(BASES[name])
    out = tmp_path / "out"
    argv = ["run", p, "--out", out, "--no-progress", "--no-figures", "--run-id", "ok"]
    rc, _, err = call_main(argv, capsys)
    assert rc == 0, f"the valid base {name!r} was refused: {err}"
    assert (out / name / "ok" / "manifest.json").is_file()
    assert not [q for q in (out / name).iterdir() if q.name.startswith(".")], "a hidden folder was left"


def test_the_tripwire_stops_a_valid_run(tmp_path, monkeypatch):
    """The tests below rely on the tripwire: a valid run reaches the kernel and trips it."""
    monkeypatch.chdir(tmp_path)
    p = tmp_path / "ok.toml"
    p.write_text(BASE)
    tripwire(monkeypatch)
    with pytest.raises(SimulationStarted):
        main(["run", str(p), "--out", str(tmp_path / "out"), "--no-progress", "--no-figures"])
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*"))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_corpus_file_is_refused_with_one_line(case, tmp_path, monkeypatch, capsys, worker):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "w" / "d1" / "d2" / "out"
    out.mkdir(parents=True)
    (out / "other").mkdir()
    (out / "other" / "keep.txt").write_text("a sentinel")
    before, corpus_before = snapshot(tmp_path), case.path.read_bytes()
    argv = ["run", case.path, "--out", out, "--no-progress", "--no-figures", *case.args]
    if case.subprocess:
        rc, _, err = run_in_worker(worker, argv, tmp_path)
    else:
        tripwire(monkeypatch)
        rc, _, err = call_main(argv, capsys)
    line = error_line(rc, err, argv)
    assert_names(line, case.file, case.expect)
    assert_nothing_written(before, snapshot(tmp_path), tmp_path)
    assert case.path.read_bytes() == corpus_before
    assert not Path("/dev/null/sim-bad-input").exists()


# ---- arguments ------------------------------------------------------------------------------------------------


@pytest.fixture
def small(tmp_path) -> Path:
    """A valid small scenario file (scenario name 'small')."""
    p = tmp_path / "scen" / "small.toml"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(BASE)
    return p


def _pair(tmp_path: Path) -> tuple[Path, Path]:
    """Two comparable valid scenarios with different names and regimes."""
    d = tmp_path / "scen"
    d.mkdir(parents=True, exist_ok=True)
    a, b = d / "a.toml", d / "b.toml"
    a.write_text(BASE)
    b.write_text(with_regime('name = "no_controls"'))
    return a, b


# (id, argv template, expected file, expected field). {small}: the small scenario; {a}/{b}: a comparable pair;
# {out}: the results root; {file}: a regular file; {dir}: an empty folder; {mfu5}: a scenario with MFU 5.
ARG_CASES = [
    # sim run: arguments checked like the file's fields, before any simulation
    ("run-trials-minus-1", "run {small} --trials -1", CMDLINE, "--trials"),
    ("run-trials-0", "run {small} --trials 0", CMDLINE, "--trials"),
    ("run-trials-1e12", "run {small} --trials 1000000000000", CMDLINE, "--trials"),
    ("run-trials-not-int", "run {small} --trials abc", CMDLINE, "--trials"),
    ("run-trials-float", "run {small} --trials 1.5", CMDLINE, "--trials"),
    ("run-seed-minus-5", "run {small} --seed -5", CMDLINE, "--seed"),
    ("run-seed-2-63", "run {small} --seed 9223372036854775808", CMDLINE, "--seed"),
    ("run-threads-0", "run {small} --threads 0", CMDLINE, "--threads"),
    ("run-threads-minus-1", "run {small} --threads -1", CMDLINE, "--threads"),
    ("run-threads-too-many", "run {small} --threads 4096", CMDLINE, "--threads"),
    ("run-out-is-file", "run {small} --out {file}", CMDLINE, "--out"),
    ("run-out-under-file", "run {small} --out {file}/sub", CMDLINE, "--out"),
    ("run-run-id-dotdot", "run {small} --run-id ..", CMDLINE, "--run-id"),
    ("run-run-id-dot", "run {small} --run-id .", CMDLINE, "--run-id"),
    ("run-run-id-parent", "run {small} --run-id ../x", CMDLINE, "--run-id"),
    ("run-run-id-slash", "run {small} --run-id a/b", CMDLINE, "--run-id"),
    ("run-run-id-absolute", "run {small} --run-id {abs}", CMDLINE, "--run-id"),
    ("run-run-id-hidden", "run {small} --run-id .x", CMDLINE, "--run-id"),
    ("run-directory-as-scenario", "run {dir}", "{dir}", ""),
    ("run-missing-scenario", "run {dir}/nope.toml", "{dir}/nope.toml", ""),
    # sim compare
    ("compare-same-file-twice", "compare {a} {a}", "{a}", ""),
    ("compare-same-name", "compare {a} {a2}", "{a2}", ""),
    ("compare-same-run-name", "compare {a} {b_named_a}", "{b_named_a}", ""),
    ("compare-bad-second", "compare {a} {mfu5}", "{mfu5}", "assumptions.training.mfu"),
    ("compare-trials-minus-1", "compare {a} {b} --trials -1", CMDLINE, "--trials"),
    ("compare-trials-0", "compare {a} {b} --trials 0", CMDLINE, "--trials"),
    ("compare-run-id-dotdot", "compare {a} {b} --run-id ..", CMDLINE, "--run-id"),
    ("compare-run-id-dot", "compare {a} {b} --run-id .", CMDLINE, "--run-id"),
    ("compare-run-id-parent", "compare {a} {b} --run-id ../x", CMDLINE, "--run-id"),
    ("compare-out-is-file", "compare {a} {b} --out {file}", CMDLINE, "--out"),
    # sim feasibility
    ("feasibility-mfu-5", "feasibility --mfu 5", CMDLINE, "--mfu"),
    ("feasibility-mfu-0", "feasibility --mfu 0", CMDLINE, "--mfu"),
    ("feasibility-mfu-nan", "feasibility --mfu nan", CMDLINE, "--mfu"),
    ("feasibility-mfu-negative", "feasibility --mfu -0.4", CMDLINE, "--mfu"),
    ("feasibility-days-nan", "feasibility --days nan", CMDLINE, "--days"),
    ("feasibility-days-inf", "feasibility --days inf", CMDLINE, "--days"),
    ("feasibility-days-negative", "feasibility --days -1", CMDLINE, "--days"),
    ("feasibility-target-minus-1", "feasibility --target -1", CMDLINE, "--target"),
    ("feasibility-target-nan", "feasibility --target nan", CMDLINE, "--target"),
    ("feasibility-count-0", "feasibility --count 0", CMDLINE, "--count"),
    ("feasibility-chip-unknown", "feasibility --chip NoSuchChip", CMDLINE, "--chip"),
]


def _fill(template: str, tmp_path: Path) -> tuple[list[str], dict[str, str]]:
    a, b = _pair(tmp_path)
    d = tmp_path / "scen"
    (d / "same").mkdir(exist_ok=True)
    a2 = d / "same" / "a.toml"  # another file with the scenario name 'a'
    a2.write_text(with_regime('name = "no_controls"'))
    b_named_a = d / "b_named_a.toml"  # run.name = "a"
    b_named_a.write_text(
        '[run]\nname = "a"\n' + BASE.replace("[run]\n", "").replace(REGIME_LINES, 'name = "no_controls"')
    )
    mfu5 = d / "mfu5.toml"
    mfu5.write_text(BASE + '\n[assumptions]\n"training.mfu" = 5\n')
    small = d / "small.toml"
    small.write_text(BASE)
    plain = tmp_path / "a-file.txt"
    plain.write_text("not a folder")
    empty = tmp_path / "empty-dir"
    empty.mkdir(exist_ok=True)
    subs = {
        "small": small,
        "a": a,
        "b": b,
        "a2": a2,
        "b_named_a": b_named_a,
        "mfu5": mfu5,
        "file": plain,
        "dir": empty,
        "abs": tmp_path / "abs-target",
    }
    subs = {k: str(v) for k, v in subs.items()}
    return [part.format(**subs) for part in template.split()], subs


@pytest.mark.parametrize("template,file,fld", [c[1:] for c in ARG_CASES], ids=[c[0] for c in ARG_CASES])
def test_bad_arguments_are_refused_with_one_line(template, file, fld, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    argv, subs = _fill(template, tmp_path)
    out = tmp_path / "w" / "d1" / "d2" / "out"
    out.mkdir(parents=True)
    if argv[0] in ("run", "compare") and "--out" not in argv:
        argv += ["--out", str(out)]
    if argv[0] in ("run", "compare"):
        argv.append("--no-progress")
    if argv[0] == "run":
        argv.append("--no-figures")
    before = snapshot(tmp_path)
    tripwire(monkeypatch)
    rc, _, err = call_main(argv, capsys)
    line = error_line(rc, err, argv)
    assert_names(line, file.format(**subs), fld)
    assert_nothing_written(before, snapshot(tmp_path), tmp_path)


def test_trials_that_do_not_fit_in_memory_are_refused_up_front(tmp_path, worker):
    """--trials 1000000 on the default scenario (~470 GiB) is refused with the estimate and the largest
    trial count that fits, before anything is allocated (in the worker, with a 4 GiB address-space limit)."""
    argv = ["run", ROOT / "scenarios" / "default.toml", "--trials", "1000000", "--out", tmp_path / "out"]
    argv += ["--no-progress", "--no-figures"]
    rc, _, err = run_in_worker(worker, argv, tmp_path)
    line = error_line(rc, err, argv)
    assert_names(line, CMDLINE, "--trials")
    assert re.search(r"\d\s*[KMGT]i?B", line), f"no memory estimate in {line!r}"
    assert len(re.findall(r"\d[\d,]*", line)) >= 2, f"no trial count that fits in {line!r}"
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*"))


def test_trials_over_the_limit_are_refused_in_a_separate_process(tmp_path, small, worker):
    argv = ["run", small, "--trials", "1000001", "--out", tmp_path / "out", "--no-progress", "--no-figures"]
    rc, _, err = run_in_worker(worker, argv, tmp_path)
    assert_names(error_line(rc, err, argv), CMDLINE, "--trials")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*"))


# ---- the results root: nothing outside it is written, nothing in it deleted -------------------------------------

SENTINELS = [
    "w/keep.txt",
    "w/d1/keep.txt",
    "w/d1/d2/keep.txt",
    "w/d1/d2/out/keep.txt",
    "w/d1/d2/out/small/old-run/manifest.json",
    "w/d1/d2/out/small/old-run/summary.csv",
    "w/d1/d2/out/other/old-run/manifest.json",
    "w/d1/d2/out/compare/old-run/manifest.json",
]

# (id, run.name of the scenario or None, extra arguments, command, expected file ('scenario' or command line),
# expected field)
ROOT_CASES = [
    ("run-id-dotdot", None, ["--run-id", ".."], "run", CMDLINE, "--run-id"),
    ("run-id-dot", None, ["--run-id", "."], "run", CMDLINE, "--run-id"),
    ("run-id-parent", None, ["--run-id", "../x"], "run", CMDLINE, "--run-id"),
    ("run-id-grandparent", None, ["--run-id", "../../x"], "run", CMDLINE, "--run-id"),
    ("run-id-other-scenario", None, ["--run-id", "../other/old-run"], "run", CMDLINE, "--run-id"),
    ("run-id-absolute", None, ["--run-id", "{tmp}/w/d1"], "run", CMDLINE, "--run-id"),
    ("run-name-parent", "../x", [], "run", "scenario", "run.name"),
    ("run-name-dotdot", "..", [], "run", "scenario", "run.name"),
    ("run-name-dot", ".", [], "run", "scenario", "run.name"),
    ("run-name-absolute", "{tmp}/w/d1", [], "run", "scenario", "run.name"),
    ("run-name-other-scenario", "other/old-run", [], "run", "scenario", "run.name"),
    ("compare-run-id-dotdot", None, ["--run-id", ".."], "compare", CMDLINE, "--run-id"),
    ("compare-run-id-dot", None, ["--run-id", "."], "compare", CMDLINE, "--run-id"),
    ("compare-run-id-parent", None, ["--run-id", "../small/old-run"], "compare", CMDLINE, "--run-id"),
]


@pytest.mark.parametrize("run_name,extra,command,file,fld", [c[1:] for c in ROOT_CASES], ids=[c[0] for c in ROOT_CASES])
def test_results_root_is_safe(run_name, extra, command, file, fld, tmp_path, monkeypatch, capsys):
    """`--run-id ..` deleted every results folder, `--run-id .` the scenario's folder, run.name = "../x"
    wrote and deleted outside the root, `compare --run-id ..` emptied the root: now refused before any
    simulation, every sentinel kept and nothing created."""
    monkeypatch.chdir(tmp_path)
    for s in SENTINELS:
        (tmp_path / s).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / s).write_text(s)
    scen = tmp_path / "scen"
    scen.mkdir()
    text = (
        BASE if run_name is None else f'[run]\nname = "{run_name.format(tmp=tmp_path)}"\n' + BASE.replace("[run]\n", "")
    )
    small = scen / "small.toml"
    small.write_text(text)
    out = tmp_path / "w" / "d1" / "d2" / "out"
    extra = [x.format(tmp=tmp_path) for x in extra]
    if command == "run":
        argv = ["run", small, "--out", out, "--no-progress", "--no-figures", *extra]
    else:
        other = scen / "b.toml"
        other.write_text(with_regime('name = "no_controls"'))
        argv = ["compare", small, other, "--out", out, "--no-progress", *extra]
    before = snapshot(tmp_path)
    tripwire(monkeypatch)
    rc, _, err = call_main(argv, capsys)
    line = error_line(rc, err, argv)
    assert_names(line, str(small) if file == "scenario" else file, fld)
    for s in SENTINELS:
        assert (tmp_path / s).is_file(), f"{s} was deleted"
    assert_nothing_written(before, snapshot(tmp_path), tmp_path)


def _run_folder_files(p: Path) -> dict[str, bytes]:
    return {str(f.relative_to(p)): f.read_bytes() for f in sorted(p.rglob("*")) if f.is_file()}


def test_an_existing_run_id_is_refused_unless_replace(tmp_path, monkeypatch, capsys, small):
    """Two runs with the same run id silently overwrote each other: the second is refused (exit 2, field
    --run-id) and the first kept byte for byte; --replace replaces it."""
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    argv = ["run", small, "--out", out, "--run-id", "r1", "--no-progress", "--no-figures"]
    rc, _, err = call_main(argv, capsys)
    assert rc == 0, err
    first = _run_folder_files(out / "small" / "r1")
    assert "manifest.json" in first
    before = snapshot(tmp_path)
    rc, _, err = call_main([*argv, "--seed", "2"], capsys)
    assert_names(error_line(rc, err, argv), CMDLINE, "--run-id")
    assert_nothing_written(before, snapshot(tmp_path), tmp_path)
    assert _run_folder_files(out / "small" / "r1") == first
    rc, _, err = call_main([*argv, "--seed", "2", "--replace"], capsys)
    assert rc == 0, err
    assert json.loads((out / "small" / "r1" / "manifest.json").read_text())["seed"] == 2
    assert sorted(p.name for p in (out / "small").iterdir()) == ["r1"], "a hidden or extra folder was left"


def test_compare_refuses_an_existing_run_id_unless_replace(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    a, b = _pair(tmp_path)
    out = tmp_path / "out"
    argv = ["compare", a, b, "--out", out, "--run-id", "c1", "--no-progress"]
    rc, _, err = call_main(argv, capsys)
    assert rc == 0, err
    first = _run_folder_files(out / "compare" / "c1")
    before = snapshot(tmp_path)
    rc, _, err = call_main(argv, capsys)
    assert_names(error_line(rc, err, argv), CMDLINE, "--run-id")
    assert_nothing_written(before, snapshot(tmp_path), tmp_path)
    assert _run_folder_files(out / "compare" / "c1") == first
    rc, _, err = call_main([*argv, "--replace"], capsys)
    assert rc == 0, err
    assert sorted(p.name for p in (out / "compare").iterdir()) == ["c1"], "a hidden or extra folder was left"


def test_replace_does_not_delete_a_folder_that_is_not_a_run(tmp_path, monkeypatch, capsys, small):
    """--replace replaces a run, not any folder that happens to have the run id's name."""
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    keep = out / "small" / "r1" / "precious.txt"
    keep.parent.mkdir(parents=True)
    keep.write_text("not a run")
    argv = ["run", small, "--out", out, "--run-id", "r1", "--replace", "--no-progress", "--no-figures"]
    before = snapshot(tmp_path)
    tripwire(monkeypatch)
    rc, _, err = call_main(argv, capsys)
    line = error_line(rc, err, argv)
    assert line.startswith(f"sim: error: {CMDLINE}: "), line
    assert keep.read_text() == "not a run"
    assert_nothing_written(before, snapshot(tmp_path), tmp_path)


# ---- sim plot on broken results folders ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def good_run(tmp_path_factory) -> Path:
    """A results folder written by a small run (no figures)."""
    base = tmp_path_factory.mktemp("plot")
    p = base / "small.toml"
    p.write_text(BASE)
    rc = main(["run", str(p), "--out", str(base / "out"), "--run-id", "r", "--no-progress", "--no-figures"])
    assert rc == 0
    return base / "out" / "small" / "r"


def _break(run_dir: Path, how: str) -> str:
    """Damage a copy of a results folder; returns the name of the damaged file."""
    if how == "no-manifest":
        (run_dir / "manifest.json").unlink()
        return "manifest.json"
    if how == "manifest-not-json":
        (run_dir / "manifest.json").write_text("{ not json")
        return "manifest.json"
    if how == "manifest-a-list":
        (run_dir / "manifest.json").write_text("[]")
        return "manifest.json"
    if how == "manifest-without-quarters":
        man = json.loads((run_dir / "manifest.json").read_text())
        del man["quarters"]
        (run_dir / "manifest.json").write_text(json.dumps(man))
        return "manifest.json"
    if how == "manifest-not-utf8":
        (run_dir / "manifest.json").write_bytes(b'{"scenario": "caf\xe9"}')
        return "manifest.json"
    if how == "summary-garbage":
        (run_dir / "summary.parquet").write_bytes(b"PAR1 this is not a parquet file PAR1")
        return "summary.parquet"
    if how == "summary-empty":
        (run_dir / "summary.parquet").write_bytes(b"")
        return "summary.parquet"
    if how == "summary-missing":
        (run_dir / "summary.parquet").unlink()
        return "summary.parquet"
    if how == "summary-truncated":
        data = (run_dir / "summary.parquet").read_bytes()
        (run_dir / "summary.parquet").write_bytes(data[: len(data) // 2])
        return "summary.parquet"
    if how == "exhaustion-missing":
        (run_dir / "exhaustion.csv").unlink()
        return "exhaustion.csv"
    raise ValueError(how)


PLOT_BREAKS = [
    "no-manifest",
    "manifest-not-json",
    "manifest-a-list",
    "manifest-without-quarters",
    "manifest-not-utf8",
    "summary-garbage",
    "summary-empty",
    "summary-missing",
    "summary-truncated",
    "exhaustion-missing",
]


@pytest.mark.parametrize("how", PLOT_BREAKS)
def test_plot_on_a_broken_results_folder(how, good_run, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    run_dir = tmp_path / "r"
    shutil.copytree(good_run, run_dir)
    broken = _break(run_dir, how)
    before = snapshot(tmp_path)
    argv = ["plot", run_dir]
    rc, _, err = call_main(argv, capsys)
    line = error_line(rc, err, argv)
    assert line.startswith(f"sim: error: {run_dir}"), f"the message does not name the results folder: {line!r}"
    assert broken in line, f"the message does not name {broken}: {line!r}"
    assert_nothing_written(before, snapshot(tmp_path), tmp_path)


@pytest.mark.parametrize("how", ["missing", "a-file"])
def test_plot_on_something_that_is_not_a_folder(how, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "nothing-here"
    if how == "a-file":
        target.write_text("x")
    before = snapshot(tmp_path)
    argv = ["plot", target]
    rc, _, err = call_main(argv, capsys)
    line = error_line(rc, err, argv)
    assert str(target) in line, line
    assert_nothing_written(before, snapshot(tmp_path), tmp_path)


def test_plot_on_an_intact_results_folder_redraws(good_run, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    run_dir = tmp_path / "r"
    shutil.copytree(good_run, run_dir)
    rc, _, err = call_main(["plot", run_dir], capsys)
    assert rc == 0, err
    assert any((run_dir / "figures").glob("*.png"))
