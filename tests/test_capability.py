"""Training capability from clusters: the arithmetic (100,000 H100 at 40 % MFU for 100 days = 3.4e26 FLOP), a
firm's cluster (one chip family, delivered within the build window, MFU-weighted), the two views (location and
headquarters) and the threshold crossings."""

import numpy as np
import polars as pl
import pytest
from scripted import scripted

from sim.kernel import layout as L
from sim.kernel.allocate import run_kernel
from sim.metrics.capability import (
    crossing_quantiles,
    first_crossing,
    group_max,
    largest_run_flop,
    weights_outcomes,
)
from sim.training import H100_FLOPS, training_flop


def test_100000_h100_at_40_percent_mfu_for_100_days_is_3_4e26_flop():
    assert training_flop(100_000, 0.40, 100) == pytest.approx(3.42e26, rel=1e-3)
    assert H100_FLOPS == pytest.approx(989.5e12, rel=1e-3)


def _draws(T=2, share=1.0, goodput=1.0, days=50.0):
    return {
        "cluster.run_share": np.full(T, share),
        "training.goodput": np.full(T, goodput),
        "training.max_days": np.full(T, days),
    }


def test_a_run_uses_the_run_share_and_goodput():
    run = np.full((2, 1, 1), 100_000 * 0.40, np.float32)  # H100e × MFU
    assert largest_run_flop(run, _draws())[0, 0, 0] == pytest.approx(3.42e26, rel=1e-3)
    scaled = largest_run_flop(run, _draws(share=0.8, goodput=0.9))[0, 0, 0]
    assert scaled == pytest.approx(3.42e26 * 0.8 * 0.9, rel=1e-3)
    assert largest_run_flop(run, _draws(days=50.0), days=None)[0, 0, 0] == pytest.approx(3.42e26 / 2, rel=1e-3)


def test_first_crossing_and_its_quantiles():
    flop = np.array([[[1e24, 2e26, 3e26]], [[1e24, 1e25, 1e25]], [[2e26, 2e26, 2e26]]])  # [T=3, C=1, Q=3]
    first = first_crossing(flop, 1e26)
    assert first[:, 0].tolist() == [1, 3, 0]  # 3 = never within the horizon
    assert crossing_quantiles(first)[:, 0].tolist() == [0, 1, 3]


def test_a_blocs_largest_run_is_its_largest_members():
    x = np.array([[[1.0], [5.0], [2.0]]])  # [T=1, C=3, Q=1]
    assert group_max(x, [[0, 2], [1], []])[0, :, 0].tolist() == [2.0, 5.0, 0.0]


class _Reg:
    weights_threshold = np.array([0.0, 1e26])
    tier1 = np.array([[1, 0], [1, 0]], np.uint8)  # [Q, C]: territory 0 in Tier 1


def test_weights_are_controlled_from_the_threshold_and_denied_outside_tier1():
    flop = np.full((1, 2, 2), 2e26)
    controlled, denial = weights_outcomes(flop, _Reg())
    assert controlled[0].tolist() == [[False, True], [False, True]]
    assert denial[0].tolist() == [[False, False], [False, True]]


def test_a_cluster_is_one_family_within_the_build_window(tmp_path, world):
    """One US firm buys 1,000 H100e of H100 a quarter: with a 2-quarter window its cluster is 2,000 H100e
    from the second quarter on (no installed base), and the run weighs it by the NVIDIA MFU."""
    comp, out, c = scripted(tmp_path, world, "no_controls", "USA", "H100", 1000.0, quarters=4, params={L.P_WINDOW: 2.0})
    mfu = comp.inputs.draws.mfu[0, L.FAMILIES.index("nvidia")]
    np.testing.assert_allclose(out.cluster[0, c], [1000.0, 2000.0, 2000.0, 2000.0], rtol=1e-5)
    np.testing.assert_allclose(out.run_loc[0, c], out.cluster[0, c] * mfu, rtol=1e-5)
    np.testing.assert_allclose(out.run_hq[0, c], out.run_loc[0, c], rtol=1e-5)  # a domestic firm: its own HQ


def test_a_cluster_is_the_colocated_share_up_to_the_largest_site(tmp_path, world):
    """The same firm with half its chips in one site and sites of at most 1,500 H100e in the last two
    quarters: 500, 1,000, then 1,000 and 1,000 (4,000 × 0.5 in a 4-quarter window, bounded by the site)."""
    comp, out, c = scripted(
        tmp_path, world, "no_controls", "USA", "H100", 1000.0, quarters=4, params={L.P_WINDOW: 4.0, L.P_COLOC: 0.5}
    )
    np.testing.assert_allclose(out.cluster[0, c], [500.0, 1000.0, 1500.0, 2000.0], rtol=1e-5)
    inp = comp.inputs
    inp.cluster_cap[:, 2:] = 1000.0
    capped = run_kernel(inp)
    np.testing.assert_allclose(capped.cluster[0, c], [500.0, 1000.0, 1000.0, 1000.0], rtol=1e-5)
    mfu = inp.draws.mfu[0, L.FAMILIES.index("nvidia")]
    np.testing.assert_allclose(capped.run_loc[0, c], capped.cluster[0, c] * mfu, rtol=1e-5)


def test_a_hyperscaler_site_abroad_counts_for_its_headquarters(tmp_path, world):
    """All of an Irish site's chips are the US hyperscaler's: its cluster is located in Ireland and counts
    toward the US by headquarters (Ireland's own firms have none)."""
    comp, out, c = scripted(
        tmp_path,
        world,
        "no_controls",
        "IRL",
        "H100",
        1000.0,
        quarters=3,
        sites=[("Microsoft", "IRL", 1.0)],
        params={L.P_WINDOW: 4.0},
    )
    us = comp.iso3.index("USA")
    assert out.run_loc[0, c, -1] > 0
    assert out.run_hq[0, us, -1] == pytest.approx(out.run_loc[0, c, -1], rel=1e-6)
    assert out.run_hq[0, c, -1] == 0


def test_a_comparison_shows_the_largest_run_the_threshold_quarters_and_the_us_china_gap(world):
    """sim compare's training rows on two scenarios: the largest run as p50 [p5, p95] of the per-trial runs, the
    first crossing quarters and the US lead at 1e26 (China's first crossing less the US's, per trial)."""
    from scripted import ROOT

    import sim
    from sim.compare_training import training_rows
    from sim.comparison import headline, tables
    from sim.scenario import load_scenario

    first = load_scenario(ROOT / "scenarios" / "no_controls.toml", world=world).replace(trials=12, quarters=12)
    other = load_scenario(ROOT / "scenarios" / "rescission_2025.toml", world=world)
    heads = [headline(sim.run(s)) for s in (first, other.replace(seed=first.seed, trials=12, quarters=12))]
    rows = training_rows(heads, ["2027Q4"])
    cell = {(r["metric"], r["region"], r["quarter"]): r for r in rows}
    run = heads[1].runs["CHN"][:, heads[1].labels.index("2027Q4")]
    p5, p50, p95 = np.percentile(run, (5, 50, 95))
    assert cell[("largest_run_flop_100d", "CHN", "2027Q4")]["rescission_2025"] == f"{p50:.2e} [{p5:.2e}, {p95:.2e}]"
    from sim.compare_differences import differences

    qi = heads[0].labels.index("2027Q4")
    arrays = [{"head|largest_run_flop|CHN|2027Q4": h.runs["CHN"][:, qi]} for h in heads]
    d = differences([h.name for h in heads], arrays)
    run_d = d.filter(pl.col("metric") == "largest_run_flop").row(0, named=True)
    base = heads[0].runs["CHN"][:, qi]
    assert run_d["diff_p50"] == pytest.approx(np.median(run - base))
    assert run_d["share_sign_holds"] == pytest.approx(np.mean(np.sign(run - base) == np.sign(np.median(run - base))))
    p26 = d.filter(pl.col("metric") == "p_train_1e26").row(0, named=True)  # a probability: its mean difference
    assert p26["diff_mean"] == pytest.approx(np.mean(run >= 1e26) - np.mean(base >= 1e26))
    us = first_crossing(heads[0].runs["USA"][:, None, :], 1e26)[:, 0]
    cn = first_crossing(heads[0].runs["CHN"][:, None, :], 1e26)[:, 0]
    lead = np.percentile(cn - us, (5, 50, 95))
    got = cell[("us_lead_quarters_1e26", "USA/China", "p50 [p5, p95]")]["no_controls"]
    assert got.startswith(f"{lead[1]:.0f} [{lead[0]:.0f}, {lead[2]:.0f}]; China never")
    assert ("crossing_quarter_1e27", "CHN", "p50 [p5, p95]") in cell
    side, _ = tables(heads)
    assert "largest_run_flop_100d" in set(side["metric"]) and "us_china_compute_ratio" in set(side["metric"])
    abroad = heads[1].abroad[:, heads[1].labels.index("2027Q4")]
    p5, p50, p95 = np.percentile(abroad, (5, 50, 95))
    assert (
        cell[("china_abroad_run_flop_100d", "CHN", "2027Q4")]["rescission_2025"] == f"{p50:.2e} [{p5:.2e}, {p95:.2e}]"
    )


@pytest.mark.slow
def test_territories_without_a_known_large_cluster_cannot_train_1e26_through_2027(world):
    """Bangladesh, Nigeria, Ethiopia and Kenya (no known large cluster, no sourced build-out): P(1e26 FLOP
    trainable in 100 days) below 10 % in every quarter to 2027Q4, by headquarters and by location."""
    from scripted import ROOT

    import sim
    from sim.scenario import load_scenario

    sc = load_scenario(ROOT / "scenarios" / "default.toml", world=world).replace(trials=100, quarters=12)
    res = sim.run(sc)
    idx = world.index()
    for iso in ("BGD", "NGA", "ETH", "KEN"):
        for flop in (res.metrics.largest_run_flop, res.metrics.largest_run_flop_location):
            p = (flop[:, idx[iso], :] >= 1e26).mean(axis=0)
            assert p.max() < 0.10, (iso, p.max())


class _Out:
    def __init__(self, run_hq, run_loc):
        self.run_hq, self.run_loc = run_hq, run_loc


class _Rules:
    def __init__(self, guidance, remote):
        self.train_guidance = np.array(guidance, np.uint8)
        self.remote_controlled = np.array(remote, np.uint8)


def test_chinese_developers_train_abroad_on_rented_clusters_and_by_remote_access():
    """China's run by headquarters is the largest of its own cluster, a share of the largest cluster in the
    rental territories and a share of the largest US cluster; guidance cuts the abroad channels, a remote-access
    control shuts them."""
    from sim.metrics.capability import run_by_headquarters

    china, us, mys = 0, 1, 2
    run_hq = np.zeros((1, 3, 3), np.float32)
    run_hq[0, china] = 100.0
    run_loc = np.zeros((1, 3, 3), np.float32)
    run_loc[0, mys] = 1_000.0
    run_loc[0, us] = 100_000.0
    draws = {
        "training_abroad.rented_share": np.array([0.5]),
        "training_abroad.remote_share": np.array([0.004]),
        "enforcement.training_guidance_cut": np.array([0.4]),
    }
    rules = _Rules([0, 1, 1], [0, 0, 1])  # quarter 1: guidance; quarter 2: remote access controlled
    got = run_by_headquarters(_Out(run_hq, run_loc), draws, rules, china, us, [mys])
    assert got[0, china].tolist() == pytest.approx([500.0, 300.0, 100.0])  # rent 500 > remote 400 > own 100
    assert got[0, us].tolist() == [0.0, 0.0, 0.0]  # the other territories keep their own clusters
    none = run_by_headquarters(_Out(run_hq, run_loc), draws, rules, china, us, [])
    assert none[0, china].tolist() == pytest.approx([400.0, 240.0, 100.0])  # remote access alone


def test_the_training_guidance_and_remote_access_control_are_dated_rules(world):
    from sim.chips import load_chips
    from sim.quarters import labels
    from sim.regimes import load_regime
    from sim.regimes.compile import compile_regime

    q = labels("2025Q1", 12)
    rescission = compile_regime(load_regime("rescission_2025"), world, load_chips(), q, {}, [])
    assert rescission.train_guidance.tolist() == [0] + [1] * 11 and not rescission.remote_controlled.any()
    rasa = compile_regime(load_regime("remote_access_security_act"), world, load_chips(), q, {}, [])
    assert rasa.remote_controlled.tolist() == [0] * 8 + [1] * 4  # from 2027Q1
    assert rasa.train_guidance.tolist() == [0] + [1] * 11  # inherited from the rescission
