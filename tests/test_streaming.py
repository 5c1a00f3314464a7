"""Streamed runs (sim/streaming.py, sim/metrics/streamed.py): the binning kernel agrees with its NumPy twin;
a streamed run's feasibility, exhaustion and trials tables equal the in-memory run's, its means and
probabilities match, and every quantile's bracket holds the exact value (equal to it when every pilot value is
a cut point); identical numbers on another executor and after an interrupted run is resumed."""

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scripted import ROOT

import sim
import sim.metrics.streamed as streamed
from sim.execution import BlockStore, Processes
from sim.kernel.binning import count_bins, count_bins_reference
from sim.scenario import load_scenario
from sim.streaming import StreamedRun, stream_run

TABLES = ("feasibility", "exhaustion", "trials")


@pytest.fixture(scope="module")
def small(world):
    return load_scenario(ROOT / "scenarios" / "rescission_2025.toml", world=world).replace(trials=24, quarters=4)


@pytest.fixture(scope="module")
def exact(small):
    res = sim.run(small)
    return {name: getattr(res, name) for name in ("summary", *TABLES)}


@pytest.mark.kernel
@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.sampled_from([0.0, 1.0, 2.5, 2.5, 7.0, -3.0, np.nan, 1e30]), min_size=1, max_size=30),
    st.lists(st.floats(-5, 10, allow_nan=False, width=32), min_size=1, max_size=8),
)
def test_the_binning_kernel_agrees_with_its_numpy_twin(values, cut_values):
    v = np.array([values, values[::-1]], np.float32)
    cuts = np.sort(np.array([cut_values, cut_values], np.float32), axis=1)
    K = cuts.shape[1]
    got = [np.zeros((2, 2 * K + 1), np.uint32), np.full((2, 2 * K + 1), np.inf, np.float32)]
    got.append(np.full((2, 2 * K + 1), -np.inf, np.float32))
    want = [a.copy() for a in got]
    count_bins(v, cuts, *got)
    count_bins_reference(v, cuts, *want)
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)
    assert got[0].sum() == np.isfinite(v).sum() + np.isinf(v).sum()  # every value but NaN counted once


def _joined(exact, summary):
    return exact.with_columns(s_value=summary["value"], s_low=summary["mc_low"], s_high=summary["mc_high"])


def test_a_streamed_run_brackets_the_exact_summary_and_keeps_the_other_tables(small, exact):
    res = sim.run(small, block=5, stream=True, pilot=10)
    assert res.outputs is None and res.summary_method["method"] == "streamed"
    for name in TABLES:
        assert getattr(res, name).equals(exact[name]), name
    s = res.summary
    assert s.select("metric", "region", "quarter", "quantile").equals(
        exact["summary"].select("metric", "region", "quarter", "quantile")
    )
    j = _joined(exact["summary"], s)
    p = j.filter(pl.col("quantile") == "probability")
    assert (p["value"] == p["s_value"]).all() and (p["mc_low"] == p["s_low"]).all()
    m = j.filter(pl.col("quantile") == "mean")
    np.testing.assert_allclose(m["s_value"], m["value"], rtol=1e-5, atol=1e-6)
    q = j.filter(pl.col("quantile").is_in(["p5", "p50", "p95"]))
    tol = 1e-6 * q["value"].abs() + 1e-6  # float32 values
    assert (q["s_low"] <= q["value"] + tol).all() and (q["value"] <= q["s_high"] + tol).all()
    assert (q["s_low"] <= q["mc_low"] + tol).all() and (q["mc_high"] <= q["s_high"] + tol).all()  # never narrower
    assert (q["s_low"] <= q["s_value"] + tol).all() and (q["s_value"] <= q["s_high"] + tol).all()


def test_with_every_pilot_value_a_cut_point_the_streamed_quantiles_are_exact(small, exact, monkeypatch):
    monkeypatch.setattr(streamed, "SPARSE", 1)
    res = sim.run(small, block=6, stream=True, pilot=small.trials)
    j = _joined(exact["summary"], res.summary).filter(pl.col("quantile").is_in(["p5", "p50", "p95"]))
    for a, b in (("value", "s_value"), ("mc_low", "s_low"), ("mc_high", "s_high")):
        np.testing.assert_allclose(j[b], j[a], rtol=1e-6, atol=1e-6, err_msg=a)


def test_a_streamed_run_is_the_same_on_local_processes(small):
    a = stream_run(small, 6, None, None, False, pilot=12)
    runner = Processes(2)
    try:
        b = stream_run(small, 6, runner, None, False, pilot=12)
    finally:
        runner.close()
    for x, y in zip(a.summary.statistics(), b.summary.statistics()):
        np.testing.assert_array_equal(x, y)


class Interrupting:
    """An in-process executor that stops (as Ctrl-C would) after ``after`` blocks."""

    name, workers = "threads", 1

    def __init__(self, after: int):
        self.after, self.done = after, 0

    def run(self, variants, reducer, tasks):
        from sim.execution import run_task

        for i, t in enumerate(tasks):
            if self.done == self.after:
                raise KeyboardInterrupt
            self.done += 1
            yield i, run_task(variants[t.variant], t, reducer)

    def close(self):
        pass


def test_an_interrupted_streamed_run_resumes_with_identical_numbers(small, tmp_path, monkeypatch):
    import sim.streaming

    monkeypatch.setattr(sim.streaming, "CHECKPOINT_S", 0.0)  # save the state after every block
    want = stream_run(small, 4, None, None, False, pilot=8)
    job = {"kind": "run", "trials": small.trials}
    with pytest.raises(KeyboardInterrupt):
        stream_run(small, 4, Interrupting(4), BlockStore(tmp_path / ".blocks-r", job, False), False, pilot=8)
    saved = StreamedRun.load(tmp_path / ".blocks-r", 8)
    assert saved is not None and saved.T == 16  # four blocks of four
    assert [p.name for p in (tmp_path / ".blocks-r").glob("state-*")] == ["state-16"]  # older states removed
    got = stream_run(small, 4, None, BlockStore(tmp_path / ".blocks-r", job, True), False, pilot=8)
    assert got.T == small.trials
    for x, y in zip(want.summary.statistics(), got.summary.statistics()):
        np.testing.assert_array_equal(x, y)
    for name in ("feasibility", "exhaustion"):
        a, b = getattr(want, name), getattr(got, name)
        from sim.metrics.tables import merge

        for k, v in merge(a).items():
            np.testing.assert_array_equal(merge(b)[k], v, err_msg=k)
    assert pl.concat(want.trials).equals(pl.concat(got.trials))


def test_sim_run_streams_when_the_trials_would_not_fit(tmp_path, capsys, monkeypatch):
    import sim.resources
    from sim.cli import main
    from sim.errors import SimInputError

    def too_big(sc, threads, source, field, available=None):
        raise SimInputError(source, field, "too big")

    monkeypatch.setattr(sim.resources, "check_memory", too_big)
    scen = ROOT / "scenarios" / "rescission_2025.toml"
    args = ["run", str(scen), "--trials", "4", "--out", str(tmp_path), "--no-progress", "--no-figures"]
    assert main([*args, "--run-id", "s", "--block", "2"]) == 0
    assert "do not fit in memory at once" in capsys.readouterr().err
    import json

    man = json.loads((tmp_path / "rescission_2025" / "s" / "manifest.json").read_text())
    assert man["summary"]["method"] == "streamed" and man["summary"]["pilot_trials"] == 4
    assert [p.name for p in (tmp_path / "rescission_2025").iterdir()] == ["s"]  # the store is gone
    assert main([*args, "--run-id", "t", "--resume"]) == 2
    assert "nothing to resume" in capsys.readouterr().err
    assert [p.name for p in (tmp_path / "rescission_2025").iterdir()] == ["s"]  # no store, no folder
    assert main([*args, "--run-id", "u", "--workers", "2", "--dask", "10.0.0.1:1"]) == 2  # bad input: nothing made
    assert [p.name for p in (tmp_path / "rescission_2025").iterdir()] == ["s"]


def test_cells_with_nan_read_nan_and_a_constant_cell_is_exact():
    from sim.metrics.stats import over_trials
    from sim.metrics.streamed import Cells

    x = np.array([[1.0, 5.0, np.nan], [2.0, 5.0, 1.0], [3.0, 5.0, 2.0], [4.0, 5.0, np.nan]], np.float32)
    cells = Cells.from_pilot(x[:2])
    cells.add(x)
    got = cells.statistics(len(x))
    assert np.isnan(got[:, :, 2]).all()  # a NaN trial makes the cell's statistics NaN, as in numpy
    want = over_trials(x[:, 1:2].astype(np.float64))[:, :, 0]
    np.testing.assert_array_equal(got[0, :, 1], want[0])  # the values exactly
    np.testing.assert_allclose(got[1:, :, 1], want[1:], rtol=2e-7)  # the interval, one float32 step outward


def test_the_cut_points_are_the_first_pilot_trials_whatever_the_blocks(small):
    a = stream_run(small, 4, None, None, False, pilot=10)
    b = stream_run(small, 6, None, None, False, pilot=10)
    for x, y in zip(a.summary.cells, b.summary.cells):
        if x is not None:
            np.testing.assert_array_equal(x.cuts, y.cuts)
            np.testing.assert_array_equal(x.counts, y.counts)
    assert a.method() == b.method() and a.method()["pilot_trials"] == 10


def test_a_broken_saved_state_is_not_resumed(small, tmp_path, monkeypatch):
    import json

    import sim.streaming

    monkeypatch.setattr(sim.streaming, "CHECKPOINT_S", 0.0)
    job = {"kind": "run", "trials": small.trials}
    store = BlockStore(tmp_path / ".blocks-b", job, False)
    with pytest.raises(KeyboardInterrupt):
        stream_run(small, 4, Interrupting(5), store, False, pilot=8)
    state = json.loads((store.path / "state.json").read_text())
    (store.path / state["folder"] / "trials.parquet").write_bytes(b"not parquet")  # died while saving
    assert StreamedRun.load(store.path, 8) is None
    want = stream_run(small, 4, None, None, False, pilot=8)
    got = stream_run(small, 4, None, BlockStore(store.path, job, True), False, pilot=8)  # starts again, whole
    assert got.T == small.trials == want.T
    for x, y in zip(want.summary.statistics(), got.summary.statistics()):
        np.testing.assert_array_equal(x, y)


class FailingOnce:
    """An in-process executor whose first task fails once; it records how many results wait at most."""

    name, workers = "threads", 1

    def __init__(self):
        self.failed = False

    def run(self, variants, reducer, tasks):
        from sim.execution import run_task

        for i, t in enumerate(tasks):
            if t.start == 0 and not self.failed:
                self.failed = True
                yield i, RuntimeError("a worker died")
                continue
            yield i, run_task(variants[t.variant], t, reducer)

    def close(self):
        pass


def test_a_retried_block_keeps_the_order_and_bounds_what_waits(small):
    from sim.execution import Variant, stream
    from sim.streaming import StreamReducer

    seen = []
    stream([Variant("v", small)], StreamReducer(), 2, FailingOnce(), lambda t, r: seen.append(t.start), 0)
    assert seen == list(range(0, small.trials, 2))  # in trial order, the failed block retried in its window
