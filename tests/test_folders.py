"""Results folders: written only under the output root, never over another run, replaced only on request."""

import os
import subprocess
import sys

import pytest

from sim.errors import SimInputError
from sim.folders import check_component, plan, remove_stale


@pytest.mark.parametrize("bad", ["..", ".", "a/b", "../x", "/abs", "", ".hidden", "a b", "x" * 101, 5, None])
def test_unsafe_names_are_refused(bad):
    with pytest.raises(SimInputError, match="--run-id"):
        check_component(bad, "command line", "--run-id")


@pytest.mark.parametrize("good", ["reference", "2026-11-30T120000Z-s7", "a.b_c-1"])
def test_safe_names_pass(good):
    assert check_component(good, "command line", "--run-id") == good


def test_an_existing_run_is_refused_and_replaced_only_on_request(tmp_path):
    old = tmp_path / "sc" / "r1"
    old.mkdir(parents=True)
    (old / "manifest.json").write_text("{}")
    with pytest.raises(SimInputError, match="--replace"):
        plan(tmp_path, "sc", "r1", seed=1)
    folder = plan(tmp_path, "sc", "r1", seed=1, replace=True)
    with folder.atomic() as (tmp, final):
        (tmp / "manifest.json").write_text('{"new": 1}')
    assert (final / "manifest.json").read_text() == '{"new": 1}'
    assert sorted(p.name for p in (tmp_path / "sc").iterdir()) == ["r1"]


def test_replace_never_deletes_a_folder_that_is_not_a_run(tmp_path):
    (tmp_path / "sc" / "r1").mkdir(parents=True)
    (tmp_path / "sc" / "r1" / "thesis.tex").write_text("precious")
    with pytest.raises(SimInputError, match="not a results folder"):
        plan(tmp_path, "sc", "r1", seed=1, replace=True)
    assert (tmp_path / "sc" / "r1" / "thesis.tex").read_text() == "precious"


def test_a_failed_run_leaves_nothing_and_keeps_the_old_run(tmp_path):
    old = tmp_path / "sc" / "r1"
    old.mkdir(parents=True)
    (old / "manifest.json").write_text("old")
    folder = plan(tmp_path, "sc", "r1", seed=1, replace=True)
    with pytest.raises(RuntimeError), folder.atomic() as (tmp, _):
        (tmp / "half.csv").write_text("x")
        raise RuntimeError("boom")
    assert sorted(p.name for p in (tmp_path / "sc").iterdir()) == ["r1"]
    assert (old / "manifest.json").read_text() == "old"


def test_default_ids_never_collide(tmp_path):
    a, b = plan(tmp_path, "sc", None, seed=3), plan(tmp_path, "sc", None, seed=3)
    with a.atomic():
        pass
    with b.atomic():  # same second, same seed: the second run takes the next free suffix
        pass
    names = sorted(p.name for p in (tmp_path / "sc").iterdir())
    assert len(names) == 2 and names[1] == names[0] + "-2"


def test_two_runs_with_one_explicit_id_never_share_a_folder(tmp_path):
    a, b = plan(tmp_path, "sc", "same", seed=1), plan(tmp_path, "sc", "same", seed=1)
    with a.atomic() as (tmp, _):
        (tmp / "manifest.json").write_text("a")
    with pytest.raises(SimInputError, match="another run"), b.atomic() as (tmp, _):
        (tmp / "manifest.json").write_text("b")
    assert (tmp_path / "sc" / "same" / "manifest.json").read_text() == "a"
    assert [p.name for p in (tmp_path / "sc").iterdir()] == ["same"]


def test_stale_temporary_folders_of_dead_processes_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    stale = tmp_path / f".tmp-r1-{pid}"
    live = tmp_path / f".tmp-r2-{os.getppid()}"
    other = tmp_path / ".tmp-notours"
    for p in (stale, live, other):
        p.mkdir()
    assert remove_stale(tmp_path) == [stale]
    assert not stale.exists() and live.exists() and other.exists()


def test_out_must_be_a_writable_folder(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(SimInputError, match="--out"):
        plan(f, "sc", "r", seed=1)
    with pytest.raises(SimInputError, match="--out"):
        plan(f / "below", "sc", "r", seed=1)


def test_a_replaced_run_whose_replacement_never_arrived_is_restored(tmp_path):
    """A run killed between moving the old run aside and publishing its own: the next run renames the old
    one back instead of deleting it; a moved-aside run whose replacement did arrive is deleted."""
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    (tmp_path / f".old-r1-{pid}").mkdir()
    (tmp_path / f".old-r1-{pid}" / "manifest.json").write_text("old")
    (tmp_path / f".old-r2-{pid}").mkdir()
    (tmp_path / "r2").mkdir()
    (tmp_path / f".tmp-r3-{10**20}").mkdir()  # not a process id: left alone
    assert remove_stale(tmp_path) == [tmp_path / f".old-r2-{pid}"]
    assert (tmp_path / "r1" / "manifest.json").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == [f".tmp-r3-{10**20}", "r1", "r2"]


def test_a_group_folder_that_is_a_broken_link_is_refused_before_the_run(tmp_path):
    (tmp_path / "sc").symlink_to(tmp_path / "nowhere")
    with pytest.raises(SimInputError, match="--out"):
        plan(tmp_path, "sc", "r", seed=1)
