"""The numba kernel against its reference twin (the oracle) on every rule path; reproducibility and
conservation; indices bounded whatever the draws; input checks; the input structures; the cache key."""

import math

import numba
import numpy as np
import pytest
from scripted import ROOT, binding_inputs

from sim.inputs import compile_scenario
from sim.kernel import cache
from sim.kernel import layout as L
from sim.kernel.allocate import Outputs, _allocate, _trial, check_inputs, run_kernel
from sim.kernel.reference import feistel_order, simulate_trial, whole
from sim.kernel.structures import ALIASES, Draws, KernelInputs, plain
from sim.scenario import load_scenario

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def small(world):
    """The default scenario on a small firm population: every territory, 8 quarters, 3 trials."""
    sc = load_scenario(ROOT / "scenarios" / "default.toml", world=world)
    return compile_scenario(
        sc.replace(trials=3, quarters=8, firms_total=60, buyers_per_data_centre=0.01, orders_per_quarter=3)
    )


def _paths(world, name, trials=2, **kw):
    """A small world of scenario ``name`` with grey-market capacity, so every refusal path runs."""
    sc = load_scenario(ROOT / "scenarios" / f"{name}.toml", world=world)
    opts = dict(
        trials=trials, quarters=10, start="2025Q1", firms_total=60, buyers_per_data_centre=0.01, orders_per_quarter=2
    )
    opts.update(kw)
    inp = compile_scenario(sc.replace(**opts)).inputs
    inp.quarterly[:, :, L.QT_GREY] = 2e4
    return inp


def _binding(world):
    return binding_inputs(world, trials=2)


def assert_equals_reference(inp, out):
    for t in range(inp.shape[0]):
        ref = simulate_trial(inp, t)
        for name in (
            "stock",
            "stock_tpp",
            "largest",
            "flows",
            "nveu_used",
            "allow_used",
            "family",
            "units",
            "revenue",
            "refused",
            "cluster",
            "run_loc",
            "run_hq",
        ):
            np.testing.assert_allclose(getattr(out, name)[t], ref[name], rtol=2e-6, atol=1e-3, err_msg=name)
        for name in ("largest_site", "exhaust", "nveu_exhaust"):
            np.testing.assert_array_equal(getattr(out, name)[t], ref[name], err_msg=name)


def test_numba_kernel_equals_reference_implementation(small):
    out = run_kernel(small.inputs)
    assert_equals_reference(small.inputs, out)
    assert (out.exhaust >= 0).any(), "the small world should exhaust some allocation (the test must bite)"
    assert out.flows[..., L.FL_DENIED].sum() > 0


def test_kernel_equals_reference_where_the_largest_site_binds(small):
    """Sites bounded at the median cluster of an unbounded run: half the clusters are cut, and the kernel and
    the oracle still agree on every cluster and run."""
    inp = small.inputs
    free = run_kernel(inp)
    bound = float(np.median(free.cluster[free.cluster > 0]))
    old = inp.cluster_cap.copy()
    try:
        inp.cluster_cap[:] = bound
        out = run_kernel(inp)
        assert out.cluster.max() <= bound * (1 + 1e-6) and (free.cluster > bound).any()
        assert_equals_reference(inp, out)
    finally:
        inp.cluster_cap[:] = old


@pytest.mark.parametrize(
    "name, flow",  # a flow the scenario's rules must move, so the comparison bites
    [
        ("history", L.FL_SMUGGLED),  # licence_share, pre-approved volumes, prohibited destinations
        ("china_h200_2026", L.FL_SUBSTITUTE),
        ("gulf_deals_2025", L.FL_SHIPPED),
        ("rescission_2025", L.FL_DENIED),
        ("controls_2022", L.FL_DENIED),
        ("chip_security_act", L.FL_DIVERTED_OUT),
    ],
)
def test_kernel_equals_reference_on_every_rule_path(world, name, flow):
    inp = _paths(world, name)
    out = run_kernel(inp)
    assert out.flows[..., flow].sum() > 0
    assert_equals_reference(inp, out)


def test_kernel_equals_reference_with_embargoes_and_huawei_sales_abroad(world):
    """Diffusion (embargoed destinations, China parts bought directly) with a fifth of eligible orders asking
    for Ascend: the second hash, the Huawei-abroad row and the chip families agree with the oracle."""
    inp = _paths(world, "diffusion_2025", firms_total=400)
    inp.params[:, L.P_HW_ABROAD] = 0.2
    out = run_kernel(inp)
    china = [i for i, g in enumerate(inp.terr.group) if g == L.GROUP_CHINA]
    abroad = np.delete(out.family[..., L.FAMILIES.index("huawei")], china, axis=1)
    assert abroad.sum() > 0 and out.family[..., L.FAMILIES.index("h20_class")].sum() > 0
    assert_equals_reference(inp, out)


def test_kernel_equals_reference_when_supply_allocations_and_nveu_bind(world):
    inp = _binding(world)
    out = run_kernel(inp)
    assert (out.exhaust >= 0).any() and (out.nveu_exhaust >= 0).any()
    assert out.flows[..., L.FL_LAPSED].sum() > 0 and out.stock[..., L.CH_VEU].sum() > 0
    assert_equals_reference(inp, out)


def test_same_seed_same_numbers_for_1_and_2_threads_and_any_block_size(small):
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = run_kernel(small.inputs)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = run_kernel(small.inputs)
    finally:
        numba.set_num_threads(before)
    blocks = Outputs.empty(*one.largest.shape)
    for start in range(3):
        run_kernel(small.inputs, blocks, start, start + 1)
    for a, b, c in zip(one.arrays(), two.arrays(), blocks.arrays()):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)


def test_a_block_of_trials_keeps_the_global_trials_random_streams(small):
    """Trials 1-2 run alone (a Draws slice whose streams are 1 and 2) give rows 1-2 of the full run."""
    full = run_kernel(small.inputs)
    inp = KernelInputs(**{**small.inputs.__dict__, "draws": small.inputs.draws.slice(1, 3)})
    assert inp.draws.stream.tolist() == [1, 2] and inp.shape[0] == 2
    part = run_kernel(inp)
    for a, b in zip(full.arrays(), part.arrays()):
        np.testing.assert_array_equal(a[1:], b)


def test_conservation_ordered_equals_shipped_denied_pending(small):
    """Per territory and quarter, cumulated: ordered = shipped + denied + lapsed + pending + backlog."""
    out = run_kernel(small.inputs)
    fl = out.flows.astype(np.float64)
    lhs = np.cumsum(fl[..., L.FL_ORDERED], axis=2)
    rhs = (
        np.cumsum(fl[..., L.FL_SHIPPED] + fl[..., L.FL_DENIED] + fl[..., L.FL_LAPSED], axis=2)
        + fl[..., L.FL_PENDING]
        + fl[..., L.FL_BACKLOG]
    )
    np.testing.assert_allclose(lhs, rhs, rtol=1e-5, atol=1.0)
    for flow in (L.FL_PENDING, L.FL_BACKLOG, L.FL_LAPSED, L.FL_DENIED):
        assert fl[..., flow].max() > 0  # every term is exercised


def test_diverted_chips_leave_the_transit_country_and_reach_china(small):
    out = run_kernel(small.inputs)
    fl = out.flows
    assert fl[..., L.FL_DIVERTED_OUT].sum() == pytest.approx(fl[..., L.FL_DIVERTED_IN].sum(), rel=1e-5)
    china = small.iso3.index("CHN")
    assert fl[:, china, :, L.FL_DIVERTED_IN].sum() == pytest.approx(fl[..., L.FL_DIVERTED_IN].sum(), rel=1e-6)


def test_different_seeds_differ(world):
    sc = load_scenario(ROOT / "scenarios" / "default.toml", world=world).replace(
        trials=1, quarters=2, firms_total=30, buyers_per_data_centre=0.01, orders_per_quarter=2
    )
    a = run_kernel(compile_scenario(sc).inputs)
    b = run_kernel(compile_scenario(sc.replace(seed=sc.seed + 1)).inputs)
    assert not np.array_equal(a.flows, b.flows)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 64, 1000, 1025])
def test_arrival_order_is_a_permutation(n):
    assert sorted(feistel_order(n, [11, 22, 33, 44])) == list(range(n))


# ---- every index derived from a per-trial draw is bounded --------------------------------------------


@pytest.mark.parametrize(
    "x, lo, hi, want",
    [(2.6, 0, 8, 3), (2.5, 0, 8, 2), (-30.0, 0, 8, 0), (-0.4, 0, 8, 0), (math.nan, 0, 8, 0), (1e30, 0, 8, 8)],
)
def test_a_draw_used_as_an_index_is_a_bounded_whole_number(x, lo, hi, want):
    assert whole(x, lo, hi) == want


@pytest.fixture(scope="module")
def ranges(world):
    """A small capped world, 4 quarters: delays, lives and slips outside their ranges, one per trial."""
    sc = load_scenario(ROOT / "scenarios" / "diffusion_2025.toml", world=world)
    return compile_scenario(
        sc.replace(trials=4, quarters=4, firms_total=40, buyers_per_data_centre=0.01, orders_per_quarter=1)
    ).inputs


def _with(inp, **columns):
    """``inp`` with some per-trial draws replaced (column name → one value per trial)."""
    inp = KernelInputs(**inp.__dict__)
    inp.params = inp.params.copy()
    for name, values in columns.items():
        inp.params[:, getattr(L, name)] = values
    return inp


def test_licence_delays_outside_0_to_q_act_as_the_nearest_bound(ranges):
    """A negative or NaN delay (which once indexed before the first quarter) acts as no delay; a delay
    beyond the horizon keeps the licensed volume pending."""
    odd = _with(ranges, P_DELAY=[-30.0, math.nan, -1.0, 1e30])
    out = run_kernel(odd)
    assert_equals_reference(odd, out)
    bounds = run_kernel(_with(ranges, P_DELAY=[0.0, 0.0, 0.0, 4.0]))
    for a, b in zip(out.arrays(), bounds.arrays()):
        np.testing.assert_array_equal(a, b)
    assert bounds.flows[3, :, -1, L.FL_PENDING].sum() > 0  # a delay of Q quarters: still pending at the end
    assert bounds.flows[0, :, -1, L.FL_PENDING].sum() == 0  # no delay: nothing pending


def test_service_lives_and_roadmap_slips_outside_their_ranges_are_bounded(ranges):
    S = ranges.tables.mix_prob.shape[0]
    odd = _with(ranges, P_LIFE=[math.nan, -5.0, 0.0, 1e300], P_SLIP=[math.nan, -3.0, 1e9, 0.0])
    out = run_kernel(odd)
    assert_equals_reference(odd, out)
    bounds = run_kernel(_with(ranges, P_LIFE=[1.0, 1.0, 1.0, 1 << 20], P_SLIP=[0.0, 0.0, S - 1, 0.0]))
    for a, b in zip(out.arrays(), bounds.arrays()):
        np.testing.assert_array_equal(a, b)


# ---- input checks, structures, cache key ---------------------------------------------------------------


@pytest.mark.parametrize(
    "field, value",
    [
        ("firm_country", 10_000),
        ("firm_parent", -1),
        ("firm_mix", 99),
        ("chip_vendor", 6),
        ("fallback", 999),
        ("mix_alias", 999),
        ("chip_class", 3),
        ("hs_sites", 10**6),
    ],
)
def test_out_of_range_indices_in_the_inputs_are_refused_before_the_kernel_runs(small, field, value):
    inp = KernelInputs(**small.inputs.__dict__)
    a = getattr(inp, field).copy()
    a.flat[0] = value
    setattr(inp, field, a)
    group, name = ALIASES[field]
    with pytest.raises(ValueError, match=f"{group}.{name}"):
        run_kernel(inp)


def test_mismatched_shapes_and_trials_are_refused(small):
    inp = KernelInputs(**small.inputs.__dict__)
    out = Outputs.empty(*inp.shape)
    with pytest.raises(ValueError, match="trials"):
        run_kernel(inp, out, 0, 4)
    inp.ztab = inp.ztab[:100]
    with pytest.raises(ValueError, match="tables.ztab"):
        check_inputs(inp, out)
    inp = KernelInputs(**small.inputs.__dict__)
    inp.c_div = inp.c_div[:3]
    with pytest.raises(ValueError, match="terr.div"):
        check_inputs(inp, out)


def test_the_flat_names_of_earlier_versions_read_and_assign_the_groups(small):
    inp = KernelInputs(**small.inputs.__dict__)
    assert inp.firm_country is inp.firms.country and inp.m == inp.consts.m and inp.policy is inp.rules.policy
    inp.params = inp.params[:2]
    assert inp.draws.params.shape[0] == 2 and inp.shape[0] == 2
    again = KernelInputs.from_flat(**inp.flat())
    for name in ALIASES:
        assert getattr(again, name) is getattr(inp, name)
    assert again.draws.stream.tolist() == [0, 1] and isinstance(again.draws, Draws)
    assert inp.subset(1).draws.params.shape[0] == 1


def test_the_cache_key_covers_every_numba_module_of_the_kernel(tmp_path):
    names = {p.name for p in cache.kernel_modules()}
    assert {"allocate.py", "primitives.py", "layout.py", "shipping.py", "trial.py", "structures.py"} <= names
    assert "reference.py" not in names  # pure Python: editing the oracle recompiles nothing
    extra = tmp_path / "rival.py"
    extra.write_text("x = 1\n")
    first = cache.digest((extra,))
    assert cache.digest((extra,)) == first
    extra.write_text("x = 2\n")
    assert cache.digest((extra,)) != first != cache.digest()
    if hasattr(_allocate, "_cache"):  # compiled (not under NUMBA_DISABLE_JIT=1): both kernels use the key
        for d in (_allocate, _trial):
            assert isinstance(d._cache, cache._KeyedCache)
            assert d._cache._cache_file._source_stamp == ("sim.kernel", cache.digest())


def test_inputs_are_made_plain_so_every_source_shares_one_compiled_kernel(small):
    """numba types an array's layout and writability: a strided or read-only array is copied C-contiguous
    and writable; a plain one is passed as is."""
    d = small.inputs.draws
    odd = np.asfortranarray(d.quarterly)
    ro = d.params.copy()
    ro.flags.writeable = False
    p = plain(Draws(ro, odd, d.chip_h100e, d.weight, d.chip_price, d.mfu, d.cluster_cap, d.stream))
    assert p.chip_h100e is d.chip_h100e and p.stream is d.stream
    for a, b in ((p.params, ro), (p.quarterly, odd)):
        assert a.flags.c_contiguous and a.flags.writeable and np.array_equal(a, b)
    inp = KernelInputs(
        **{
            **small.inputs.__dict__,
            "draws": Draws(ro, odd, d.chip_h100e, d.weight, d.chip_price, d.mfu, d.cluster_cap, d.stream),
        }
    )
    for a, b in zip(run_kernel(inp).arrays(), run_kernel(small.inputs).arrays()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("field", ["revenue", "units", "family", "refused", "stock_tpp"])
def test_a_wrong_shaped_output_is_refused_before_the_kernel_writes(small, field):
    """numba does not check bounds: an output of the wrong shape would be written out of bounds."""
    out = Outputs.empty(*small.inputs.shape)
    a = getattr(out, field)
    bad = out._replace(**{field: np.zeros(a.shape[:-1] + (1,), a.dtype)})
    with pytest.raises(ValueError, match=f"out.{field}"):
        run_kernel(small.inputs, bad)
