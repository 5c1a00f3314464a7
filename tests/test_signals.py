"""Issue 9, signals: Ctrl-C (SIGINT) during ``sim run`` exits 130 and SIGTERM 143, each with one last line
``sim: ...`` and no traceback, leaving no hidden ``.tmp-*`` folder, no partial results folder and no child
process (the forked figure process included). A later run removes the temporary folders of runs whose
process is gone, and leaves those of live processes alone.

The interrupted runs are real ``sim`` processes (the default scenario); Linux only (/proc is read to see
when the simulation runs and which processes are left).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sim.cli import main

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "scenarios" / "default.toml"
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; POSIX signals")
SMALL = """\
[run]
name = "small"
start = "2025Q1"
quarters = 4
trials = 2
seed = 1

[regime]
name = "diffusion_2025"

[firms]
total = 300
orders_per_quarter = 2
"""


class Sim:
    """A ``sim`` process in its own process group, stdout and stderr to files."""

    def __init__(self, argv: list, cwd: Path) -> None:
        self.err_path, self.out_path = cwd / "stderr.txt", cwd / "stdout.txt"
        with open(self.err_path, "w") as err, open(self.out_path, "w") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "sim.cli", *map(str, argv)],
                cwd=cwd,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        self.pid = self.proc.pid

    def cpu_seconds(self) -> float:
        """User + system CPU time of the main process (all its threads)."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def wait_for(self, predicate, timeout: float) -> bool:
        """Poll ``predicate`` until it holds (True), the process ends or ``timeout`` passes (False)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if predicate():
                return True
            if self.proc.poll() is not None:
                return False
            time.sleep(0.005)
        return False

    def finish(self, timeout: float = 120) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"sim did not exit within {timeout} s of the signal")

    @property
    def stderr(self) -> str:
        return self.err_path.read_text(errors="replace")

    def group_members(self) -> list[str]:
        """Live (non-zombie) processes of the process group, as "pid state cmdline"."""
        out = []
        for d in Path("/proc").iterdir():
            if not d.name.isdigit():
                continue
            try:
                fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
                cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            state, pgrp = fields[0], int(fields[2])
            if pgrp == self.pid and state != "Z":
                out.append(f"{d.name} {state} {cmd[:100]}")
        return out

    def kill(self) -> None:
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()


@pytest.fixture
def sim_process():
    started: list[Sim] = []

    def start(argv, cwd):
        s = Sim(argv, cwd)
        started.append(s)
        return s

    yield start
    for s in started:  # never leave a process behind, whatever the test's outcome
        if s.proc.poll() is None or s.group_members():
            s.kill()


def hidden(out: Path) -> list[str]:
    return sorted(str(p.relative_to(out)) for p in out.rglob(".*")) if out.exists() else []


def files(out: Path) -> list[str]:
    return sorted(str(p.relative_to(out)) for p in out.rglob("*") if not p.is_dir()) if out.exists() else []


def assert_clean_exit(s: Sim, rc: int, expected: int, out: Path) -> None:
    err = s.stderr
    assert rc == expected, f"exit {rc}, expected {expected}; stderr:\n{err[-3000:]}"
    assert "Traceback" not in err, f"a traceback on stderr:\n{err[-3000:]}"
    lines = [x for x in err.replace("\r", "\n").split("\n") if x.strip()]
    assert lines and lines[-1].startswith("sim: "), f"the last stderr line is not 'sim: ...': {lines[-3:]}"
    assert not hidden(out), f"hidden folders left under the output root: {hidden(out)}"
    assert not files(out), f"files written under the output root: {files(out)[:10]}"
    time.sleep(0.2)  # a child that was told to go gets a moment to exit
    left = s.group_members()
    assert not left, f"processes left after sim exited: {left}"


def _simulation_running(s: Sim, out: Path):
    """True once the process has burnt ~3 s of CPU (imports and inputs take ~1.5 s, the rest is the
    kernel's trials) or has created its temporary folder."""
    return lambda: s.cpu_seconds() >= 3.0 or bool(hidden(out))


@linux_only
@pytest.mark.slow
@pytest.mark.parametrize(
    "sig,to_group,code",
    [(signal.SIGINT, True, 130), (signal.SIGTERM, False, 143)],
    ids=["ctrl-c-to-the-group", "sigterm-to-the-process"],
)
def test_signal_during_the_simulation(sig, to_group, code, tmp_path, sim_process):
    out = tmp_path / "out"
    s = sim_process(["run", DEFAULT, "--trials", "400", "--no-progress", "--out", out], tmp_path)
    running = s.wait_for(_simulation_running(s, out), timeout=90)
    assert running, f"sim ended (exit {s.proc.poll()}) before the simulation was seen running:\n{s.stderr[-2000:]}"
    (os.killpg if to_group else os.kill)(s.pid, sig)
    rc = s.finish()
    assert_clean_exit(s, rc, code, out)


@linux_only
@pytest.mark.slow
@pytest.mark.parametrize(
    "sig,to_group,code",
    [(signal.SIGTERM, False, 143), (signal.SIGINT, True, 130)],
    ids=["sigterm-to-the-process", "ctrl-c-to-the-group"],
)
def test_signal_while_writing_the_results(sig, to_group, code, tmp_path, sim_process):
    """Caught while the figures are drawn (the fan chart in a forked child): no hidden partial folder, no
    child left writing, no results folder."""
    out = tmp_path / "out"
    s = sim_process(["run", DEFAULT, "--trials", "50", "--no-progress", "--out", out], tmp_path)
    group = out / "default"

    def writing() -> bool:
        return group.is_dir() and any((p / "figures").is_dir() for p in group.glob(".tmp-*"))

    if not s.wait_for(writing, timeout=240):
        rc = s.finish()
        pytest.skip(f"the writing phase was not caught (sim exit {rc}); timing-dependent")
    (os.killpg if to_group else os.kill)(s.pid, sig)
    rc = s.finish()
    assert_clean_exit(s, rc, code, out)
    assert not [p for p in group.iterdir() if not p.name.startswith(".")], "a results folder was published"


@linux_only
def test_a_later_run_removes_stale_temporary_folders(tmp_path, monkeypatch, capsys):
    """A run killed hard (SIGKILL, power loss) leaves <out>/<scenario>/.tmp-<id>-<pid>; the next run of that
    scenario removes it once its process is gone, and leaves a live process's folder alone."""
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        stale = out / "small" / f".tmp-20250101T000000Z-s1-{dead.pid}"
        busy = out / "small" / f".tmp-20250101T000000Z-s2-{live.pid}"
        for d in (stale, busy):
            (d / "figures").mkdir(parents=True)
            (d / "summary.csv").write_text("partial")
        scen = tmp_path / "small.toml"
        scen.write_text(SMALL)
        rc = main(["run", str(scen), "--out", str(out), "--run-id", "r1", "--no-progress", "--no-figures"])
        err = capsys.readouterr().err
        assert rc == 0, err
        assert (out / "small" / "r1" / "manifest.json").is_file()
        assert not stale.exists(), "the stale temporary folder of a dead process was not removed"
        assert (busy / "summary.csv").read_text() == "partial", "a live process's temporary folder was touched"
    finally:
        live.kill()
        live.wait()


@linux_only
def test_sigterm_is_not_left_handled_after_main_returns():
    """main() installs its SIGTERM handler for its own duration only (a library caller keeps its own)."""
    before = signal.getsignal(signal.SIGTERM)
    assert main(["feasibility", "--mfu", "0.4"]) == 0
    assert signal.getsignal(signal.SIGTERM) == before
