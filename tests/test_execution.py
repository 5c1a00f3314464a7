"""The execution layer (sim/execution): blocks give the plain run's numbers whatever the block size or the
executor, a failed task is retried once, an interrupted execution resumes from its store with identical
results, and a store of another job is refused."""

from dataclasses import dataclass

import numpy as np
import pytest
from scripted import ROOT

import sim
from sim.errors import SimInputError
from sim.execution import BlockStore, ExecutionError, InProcess, Processes, Variant, execute, executor, plan
from sim.metrics.headline import SEP, HeadlineReducer, headline
from sim.scenario import load_scenario

QUARTERS = ("2025Q2", "2025Q3")


@pytest.fixture(scope="module")
def small(world):
    return load_scenario(ROOT / "scenarios" / "rescission_2025.toml", world=world).replace(trials=9, quarters=3)


def _plain(sc):
    res = sim.run(sc)
    return {SEP.join(k): v for k, v in headline(res.metrics, list(QUARTERS), ["MYS"]).items()}


def test_blocks_give_the_plain_runs_numbers(small):
    """Rows [a, b) compiled alone (their draws, noise and kernel streams) are the plain run's trials a..b-1."""
    want = _plain(small)
    for block in (4, 9):
        got = execute([Variant("v", small)], HeadlineReducer(QUARTERS, ("MYS",)), block=block)["v"]
        assert got.keys() == want.keys()
        for k in want:
            np.testing.assert_array_equal(got[k], want[k], err_msg=k)


def test_local_processes_give_the_same_numbers(small):
    reducer = HeadlineReducer(QUARTERS)
    a = execute([Variant("v", small)], reducer, block=5)["v"]
    b = execute([Variant("v", small)], reducer, block=5, runner=Processes(2))["v"]
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


@dataclass(frozen=True)
class Flaky:
    """Fails on the rows starting at ``bad`` the first ``times`` times it sees them (counted in a file)."""

    bad: int
    times: int
    counter: str

    def __call__(self, sc, comp, out):
        import pathlib

        p = pathlib.Path(self.counter)
        n = int(p.read_text()) if p.exists() else 0
        if int(comp.inputs.draws.stream[0]) == self.bad and n < self.times:
            p.write_text(str(n + 1))
            raise RuntimeError("a worker died")
        return HeadlineReducer(QUARTERS)(sc, comp, out)


def test_a_failed_task_is_retried_once_then_reported(small, tmp_path):
    want = execute([Variant("v", small)], HeadlineReducer(QUARTERS), block=3)["v"]
    got = execute([Variant("v", small)], Flaky(3, 1, str(tmp_path / "once")), block=3)["v"]
    for k in want:
        np.testing.assert_array_equal(got[k], want[k])
    with pytest.raises(ExecutionError, match="task 0-3-6"):
        execute([Variant("v", small)], Flaky(3, 2, str(tmp_path / "twice")), block=3)


def test_an_interrupted_execution_resumes_with_identical_results(small, tmp_path):
    job = {"what": "test", "scenario": small.raw, "trials": small.trials}
    want = execute([Variant("v", small)], HeadlineReducer(QUARTERS), block=3)["v"]
    store = BlockStore(tmp_path / ".blocks-x", job, resume=False)
    with pytest.raises(ExecutionError):
        execute([Variant("v", small)], Flaky(6, 2, str(tmp_path / "n")), block=3, store=store)
    tasks = plan([Variant("v", small)], 3)
    assert [store.done(t) for t in tasks] == [True, True, False]  # the first two blocks were kept
    resumed = BlockStore(tmp_path / ".blocks-x", job, resume=True)
    got = execute([Variant("v", small)], Flaky(0, 5, str(tmp_path / "m")), block=3, store=resumed)["v"]
    assert not (tmp_path / "m").exists()  # the first block was read from the store, not run again
    for k in want:
        np.testing.assert_array_equal(got[k], want[k])
    with pytest.raises(SimInputError, match="another job"):
        BlockStore(tmp_path / ".blocks-x", {**job, "trials": 10}, resume=True)
    with pytest.raises(SimInputError, match="nothing to resume"):
        BlockStore(tmp_path / ".blocks-y", job, resume=True)


def test_the_executor_the_command_line_asks_for():
    assert isinstance(executor(), InProcess) and isinstance(executor(workers=1), InProcess)
    assert isinstance(executor(workers=2), Processes)
    with pytest.raises(SimInputError, match="--workers"):
        executor(workers=2, dask="tcp://127.0.0.1:1")


def test_an_unreachable_dask_scheduler_is_one_line_naming_the_argument():
    with pytest.raises(SimInputError) as e:
        executor(dask="tcp://127.0.0.1:9")
    assert "--dask" in str(e.value) and "\n" not in str(e.value)


@pytest.mark.slow
def test_a_local_dask_cluster_gives_the_same_numbers(small):
    reducer = HeadlineReducer(QUARTERS)
    a = execute([Variant("v", small)], reducer, block=4)["v"]
    runner = executor(workers=2, dask="local")
    try:
        b = execute([Variant("v", small)], reducer, block=4, runner=runner)["v"]
    finally:
        runner.close()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_a_block_jumps_to_its_rows_of_every_stream():
    """stream_rows gives rows of a stream (width draws a row) without drawing the rows before them."""
    from sim.uncertainty import name_seed, stream_rows

    full = np.random.Generator(np.random.PCG64(name_seed(5, "x"))).random((60, 7))
    rows = np.array([3, 4, 5, 9, 0, 0, 59, 10])
    np.testing.assert_array_equal(stream_rows(name_seed(5, "x"), rows, 7), full[rows])
    one = np.random.Generator(np.random.PCG64(name_seed(5, "x"))).random(60)
    np.testing.assert_array_equal(stream_rows(name_seed(5, "x"), rows)[:, 0], one[rows])


def test_a_run_on_local_processes_is_the_plain_run(small, tmp_path, capsys):
    """sim.run with an executor: every kernel output equal to the in-process run's; and the command line."""
    from sim.cli import main

    plain = sim.run(small)
    other = sim.run(small, block=4, runner=Processes(2))
    for name, a in plain.outputs._asdict().items():
        np.testing.assert_array_equal(getattr(other.outputs, name), a, err_msg=name)
    code = main(
        ["run", str(ROOT / "scenarios" / "rescission_2025.toml"), "--trials", "3", "--workers", "2"]
        + ["--out", str(tmp_path), "--run-id", "w", "--no-progress", "--no-figures"]
    )
    assert code == 0 and (tmp_path / "rescission_2025" / "w" / "summary.parquet").exists()
    capsys.readouterr()


def test_any_concurrent_futures_executor_serves(small):
    from concurrent.futures import ThreadPoolExecutor

    reducer = HeadlineReducer(QUARTERS)
    a = execute([Variant("v", small)], reducer, block=5)["v"]
    with ThreadPoolExecutor(1) as pool:
        b = execute([Variant("v", small)], reducer, block=5, runner=pool)["v"]
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


@dataclass(frozen=True)
class Broken:
    """Raises a broken invariant on every block (counted in a file)."""

    counter: str

    def __call__(self, sc, comp, out):
        import pathlib

        from sim.errors import InvariantError

        p = pathlib.Path(self.counter)
        p.write_text(str(int(p.read_text()) + 1 if p.exists() else 1))
        raise InvariantError(sc.name, "negative stock")


def test_a_broken_invariant_stops_at_once_without_a_retry(small, tmp_path):
    from sim.errors import InvariantError

    with pytest.raises(InvariantError):
        execute([Variant("v", small)], Broken(str(tmp_path / "n")), block=9)
    assert (tmp_path / "n").read_text() == "1"


@pytest.mark.slow
def test_the_default_local_dask_cluster_runs_in_this_process(small):
    """--dask local with no --workers: one worker thread in this process (its kernel on every core)."""
    reducer = HeadlineReducer(QUARTERS)
    a = execute([Variant("v", small)], reducer, block=4)["v"]
    runner = executor(dask="local")
    try:
        addresses = list(runner.client.scheduler_info()["workers"])
        assert runner.workers == 1 and addresses[0].startswith("inproc://")
        b = execute([Variant("v", small)], reducer, block=4, runner=runner)["v"]
    finally:
        runner.close()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_an_execution_whose_outputs_cannot_fit_is_refused_in_one_line(small, tmp_path, monkeypatch):
    """After the first block: rows × bytes per kept row against the memory available (here 1 MiB)."""
    import sim.resources as resources

    monkeypatch.setattr(resources, "available_bytes", lambda: 2**20)
    store = BlockStore(tmp_path / ".blocks-m", {"what": "memory"}, resume=False)
    with pytest.raises(SimInputError) as e:
        execute([Variant("v", small.replace(trials=20_000))], HeadlineReducer(None), block=1, store=store)
    assert "--trials" in str(e.value) and "fit" in str(e.value) and "\n" not in str(e.value)
    assert not (tmp_path / ".blocks-m").exists()
