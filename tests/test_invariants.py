"""Run invariants: hold on a real multi-regime run, and each one catches the corruption it exists for."""

import numpy as np
import pytest
from scripted import ROOT

from sim.errors import InvariantError
from sim.invariants import check, effective_policy
from sim.kernel import layout as L
from sim.runner import run
from sim.scenario import load_scenario


@pytest.fixture(scope="module")
def history():
    """The dated history (2023 rules → Diffusion → rescission → later rules) on a small run."""
    sc = load_scenario(ROOT / "scenarios" / "history.toml").replace(trials=3, firms_total=400)
    return run(sc)


def test_a_real_multi_regime_run_satisfies_every_invariant(history):
    reg = history.compiled.regime
    assert len(set(reg.regime_name)) >= 2 and len({reg.policy[q].tobytes() for q in range(reg.policy.shape[0])}) >= 3
    check(history)


@pytest.mark.parametrize(
    "corrupt,expected",
    [
        (lambda o: o.stock.__setitem__((0, 5, 3, L.CH_LICENSED), np.nan), "not finite"),
        (lambda o: o.flows.__setitem__((1, 7, 2, L.FL_DENIED), -50.0), "negative"),
        (lambda o: o.flows.__setitem__((0, 3, 4, L.FL_ORDERED), o.flows[0, 3, 4, L.FL_ORDERED] + 1e4), "conservation"),
        (lambda o: o.exhaust.__setitem__((2, 9), 999), "out of range"),
        (lambda o: o.family.__setitem__((1, 4, 5, 2), o.family[1, 4, 5, 2] + 1e4), "stock by family"),
    ],
)
def test_each_corruption_is_caught(history, corrupt, expected):
    out = history.outputs
    saved = {k: getattr(out, k).copy() for k in ("stock", "flows", "exhaust", "family")}
    try:
        corrupt(out)
        with pytest.raises(InvariantError, match=expected):
            check(history)
    finally:
        for k, v in saved.items():
            getattr(out, k)[...] = v


def test_legal_stock_at_an_embargoed_destination_is_caught(history):
    """Iran is under an embargo for every US chip throughout the history: legal stock there is a bug."""
    out, c = history.outputs, history.compiled.iso3.index("IRN")
    assert out.stock[:, c, :, [L.CH_FREE, L.CH_LICENSED, L.CH_VEU]].max() == 0.0
    saved = out.stock.copy()
    try:
        out.stock[0, c, 3, L.CH_LICENSED] += 10.0
        out.family[0, c, 3, 0] += 10.0  # keep the family sums consistent, so the embargo check is reached
        with pytest.raises(InvariantError, match="embargoed"):
            check(history)
    finally:
        out.stock[...] = saved
        out.family[0, c, 3, 0] -= 10.0


def test_allocation_used_beyond_the_cap_is_caught():
    res = run(load_scenario(ROOT / "scenarios" / "diffusion_2025.toml").replace(trials=2, firms_total=400))
    check(res)
    reg = res.compiled.regime
    q, c = np.argwhere(np.isfinite(reg.alloc))[-1]
    res.outputs.flows[0, c, q, L.FL_CAP_USED] = reg.alloc[q, c] / L.H100_TPP * 1.01
    with pytest.raises(InvariantError, match="allocation exceeded"):
        check(res)


def test_nveu_and_pre_approved_volumes_beyond_their_caps_are_caught():
    """The Gulf deals' pre-approvals bind in a real run and stay within the deal; pushing either grant past
    its cap is caught."""
    res = run(load_scenario(ROOT / "scenarios" / "gulf_deals_2025.toml").replace(trials=2, firms_total=400))
    check(res)
    reg, out = res.compiled.regime, res.outputs
    c = res.compiled.iso3.index("SAU")
    assert 0 < out.allow_used[:, c].max() <= reg.allow_tpp[:, c].max() / L.H100_TPP
    out.allow_used[1, c] = reg.allow_tpp[:, c].max() / L.H100_TPP * 1.01
    with pytest.raises(InvariantError, match="pre-approved volume exceeded at trial 1, SAU"):
        check(res)
    out.allow_used[1, c] = 0.0
    out.nveu_used[0, c] = 1.0  # no NVEU cap in force under these rules
    with pytest.raises(InvariantError, match="NVEU cap exceeded at trial 0, SAU"):
        check(res)


def test_licence_free_stock_where_nothing_is_free_is_caught(history):
    """Make every chip need a licence in one territory: the run's licence-free additions there then break
    the invariant (and the check finds the quarter, not only the stock)."""
    reg = history.compiled.regime
    c = history.compiled.iso3.index("USA")
    saved = reg.chip_override.copy()
    try:
        reg.chip_override[:, :, c] = L.LICENCE
        pol = effective_policy(reg)
        assert (pol[:, :, c] == L.LICENCE).all()
        with pytest.raises(InvariantError, match="licence-free at trial 0, USA"):
            check(history)
    finally:
        reg.chip_override[...] = saved


def test_effective_policy_follows_chip_class_and_rules(history):
    reg = history.compiled.regime
    pol = effective_policy(reg)
    q, k = np.argwhere(reg.chip_class == 1)[0]
    for c in range(0, pol.shape[2], 37):
        want = reg.chip_override[q, k, c] if reg.chip_override[q, k, c] >= 0 else reg.policy[q, c, 0]
        assert pol[q, k, c] == want
    q0, k0 = np.argwhere(reg.chip_class == 0)[0]
    assert (pol[q0, k0][reg.chip_override[q0, k0] < 0] == L.FREE).all()
