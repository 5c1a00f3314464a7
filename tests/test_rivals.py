"""Benchmark tests (slow): the benchmark's rivals in benchmarks/rivals/ against the kernel. (B) the
vectorised NumPy version gives the kernel's numbers on every rule path it covers; (D) the bare loop draws
the kernel's random numbers, whatever the thread count; the suite runs and its table reads right."""

import numba
import numpy as np
import pytest
from scripted import ROOT, binding_inputs

from sim.inputs import compile_scenario
from sim.kernel import layout as L
from sim.kernel.allocate import run_kernel
from sim.scenario import load_scenario

pytestmark = pytest.mark.slow


def _small(world, name, trials=2, **kw):
    sc = load_scenario(ROOT / "scenarios" / f"{name}.toml", world=world)
    opts = dict(
        trials=trials, quarters=10, start="2025Q1", firms_total=60, buyers_per_data_centre=0.01, orders_per_quarter=2
    )
    opts.update(kw)
    comp = compile_scenario(sc.replace(**opts))
    comp.inputs.quarterly[:, :, L.QT_GREY] = 2e4
    return comp.inputs


def _assert_same(a, b):
    for k in ("stock", "stock_tpp", "largest", "flows"):
        np.testing.assert_allclose(getattr(b, k), getattr(a, k), rtol=2e-6, atol=1e-3, err_msg=k)
    for k in ("exhaust", "nveu_exhaust", "largest_site"):
        np.testing.assert_array_equal(getattr(b, k), getattr(a, k), err_msg=k)


@pytest.mark.parametrize(
    "name",
    [
        "default",
        "history",
        "china_h200_2026",
        "gulf_deals_2025",
        "rescission_2025",
        "controls_2022",
        "chip_security_act",
    ],
)
def test_vectorised_equals_the_kernel_under_every_rule_path(world, name):
    from benchmarks.rivals.vectorised import run_vectorised

    inp = _small(world, name)
    _assert_same(run_kernel(inp), run_vectorised(inp))


def test_vectorised_equals_the_kernel_with_embargoes_and_huawei_sales_abroad(world):
    from benchmarks.rivals.vectorised import run_vectorised

    inp = _small(world, "diffusion_2025", firms_total=400)
    inp.params[:, L.P_HW_ABROAD] = 0.2
    a = run_kernel(inp)
    assert a.family[..., L.FAMILIES.index("huawei")].sum() > 0
    _assert_same(a, run_vectorised(inp))


def test_vectorised_equals_the_kernel_when_supply_allocations_and_nveu_bind(world):
    """Vendors sold out (backlog, lapses), allocations and NVEU caps used up, UVEU shares, several trial
    blocks and chunks of slots."""
    from benchmarks.rivals.vectorised import run_vectorised

    inp = binding_inputs(world, trials=3)
    a = run_kernel(inp)
    assert (a.exhaust >= 0).any() and (a.nveu_exhaust >= 0).any()
    assert a.flows[..., L.FL_LAPSED].sum() > 0 and a.stock[..., L.CH_VEU].sum() > 0
    _assert_same(a, run_vectorised(inp, block=2, chunk=300))
    # a slice of trials gives the same trials
    b = run_vectorised(inp, start=1, stop=3)
    for k in ("stock", "flows"):
        np.testing.assert_allclose(getattr(b, k)[1:], getattr(a, k)[1:], rtol=2e-6, atol=1e-3)


def test_bare_loop_draws_the_kernels_orders_whatever_the_thread_count(world):
    from benchmarks.rivals.bare_loop import run_bare

    inp = _small(world, "no_controls", trials=4, quarters=4)
    a = run_kernel(inp)
    assert a.flows[..., L.FL_SUBSTITUTE].sum() == 0.0  # then "ordered" is the orders' own volume
    before = numba.get_num_threads()
    try:
        outs = []
        for th in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
            numba.set_num_threads(th)
            outs.append(run_bare(inp))
    finally:
        numba.set_num_threads(before)
    (d1, h1), (d2, h2) = outs
    np.testing.assert_array_equal(d1.flows, d2.flows)
    np.testing.assert_array_equal(h1, h2)
    np.testing.assert_allclose(d1.flows[..., L.FL_ORDERED], a.flows[..., L.FL_ORDERED], rtol=1e-6)


def test_the_bare_loops_cache_is_keyed_on_the_kernel_modules_and_its_own_file():
    from benchmarks.rivals import bare_loop
    from sim.kernel import cache

    if hasattr(bare_loop._bare, "_cache"):
        stamp = bare_loop._bare._cache._cache_file._source_stamp
        assert stamp == ("sim.kernel", cache.digest((bare_loop.__file__,)))


def test_the_benchmark_suite_runs(tmp_path):
    from benchmarks.suite import TINY, run_suite, table

    res = run_suite(TINY, out_dir=tmp_path, isolate=False, e2e=False, figure=False, log=lambda s: None)
    rows = res["measurements"]
    assert {r["impl"] for r in rows} == {"A", "B", "C", "D"}
    for r in rows:  # every measurement counted the orders of its inputs and took time
        assert r["orders"] == r["orders_per_trial"] * r["trials"] and r["seconds"] > 0
        assert r["orders_per_s"] == pytest.approx(r["orders"] / r["seconds"])
    s = res["summary"]
    a = next(r for r in rows if r["impl"] == "A" and r["axis"] == "headline")
    c = next(r for r in rows if r["impl"] == "C" and r["axis"] == "subsample_C")
    assert s["A_over_C"] == pytest.approx(a["orders_per_s"] / c["orders_per_s"])
    assert (tmp_path / "latest.json").exists() and "A / B" in table(res)
