"""The metrics tables against values computed here, independently, with plain numpy on a small run: every
summary metric (quantiles and means over trials of territories, bloc and world sums, shares, channels,
flows, the largest firm, feasibility probabilities), the feasibility, exhaustion and trials tables."""

from fractions import Fraction
from math import ceil
from typing import NamedTuple

import numpy as np
import polars as pl
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scripted import ROOT

import sim
from sim.kernel import layout as L
from sim.metrics import bloc_members, group_sums, over_trials
from sim.metrics import stats as metric_stats

H100_FLOPS = 989.5e12  # dense 16-bit FLOP/s of one H100 SXM
RTOL = 1e-6
STAT_PERCENTS = {"p5": 5.0, "p50": 50.0, "p95": 95.0}
CHINA_ETC = {"CHN", "HKG", "MAC"}


@pytest.fixture(scope="module")
def res():
    """24 trials of the default scenario over 8 quarters, two territories holding NVEU status: national
    allocations and NVEU caps used up in some trials, 1e26 feasibility in between."""
    sc = sim.load_scenario(ROOT / "scenarios" / "default.toml")
    return sim.run(sc.replace(trials=24, quarters=8, nveu=["ARE", "IND"]))


class PerTrial(NamedTuple):
    """Per-trial values of some regions: ``values[:, i]`` are those of ``regions[i]``, [T, R, Q, ...]."""

    regions: list[str]
    values: np.ndarray

    def of(self, region: str) -> np.ndarray:
        return self.values[:, self.regions.index(region)]

    def at(self, k: int) -> "PerTrial":
        return PerTrial(self.regions, self.values[..., k])


@pytest.fixture(scope="module")
def oracle(res):
    """Per-trial values of each metric, computed here: territories, then blocs and the World as sums of
    their members, added one at a time."""
    o, world = res.outputs, res.scenario.world
    blocs = bloc_members(world)
    groups = {**blocs, "World": list(range(len(world.iso3)))}

    def by_region(x: np.ndarray, countries: bool = True) -> PerTrial:
        x = x.astype(np.float64)
        sums = np.stack([sum(x[:, i] for i in members) for members in groups.values()], axis=1)
        if not countries:
            return PerTrial(list(groups), sums)
        return PerTrial(world.iso3 + list(groups), np.concatenate([x, sums], axis=1))

    compute = by_region(o.stock.astype(np.float64).sum(axis=3))
    draws = res.compiled.draws
    use = draws["cluster.run_share"] * draws["training.goodput"]
    per_day = (use * H100_FLOPS * 86_400.0)[:, None, None]
    flop = o.run_hq.astype(np.float64) * per_day * 100.0  # by headquarters, 100 days
    return {
        "blocs": blocs,
        "compute": compute,
        "tpp": by_region(o.stock_tpp),
        "share": PerTrial(compute.regions, compute.values / compute.of("World")[:, None]),
        "channels": by_region(o.stock, countries=False),
        "flows": by_region(o.flows),
        "largest": PerTrial(world.iso3, o.largest.astype(np.float64)),
        "flop": flop,
        "flop_regions": PerTrial(
            world.iso3 + list(groups),
            np.concatenate([flop, np.stack([flop[:, m].max(axis=1) for m in groups.values()], axis=1)], axis=1),
        ),
        "flop_location": o.run_loc.astype(np.float64) * per_day * 100.0,
        "flop_sampled": o.run_hq.astype(np.float64) * per_day * draws["training.max_days"][:, None, None],
        "cluster": o.cluster.astype(np.float64),
    }


def table(summary: pl.DataFrame, metric: str, regions: list[str], quantiles: list[str]) -> np.ndarray:
    """float64 [S, R, Q]: the summary's ``metric`` by quantile, region and quarter; fails unless the summary
    has exactly these regions and quantiles, each once a quarter."""
    s = summary.filter(pl.col("metric") == metric)
    quarters = sorted(s["quarter"].unique())
    assert s.height == len(quantiles) * len(regions) * len(quarters), metric
    index = {"quantile": quantiles, "region": regions, "quarter": quarters}
    at = tuple(
        s[col].replace_strict({v: i for i, v in enumerate(values)}, return_dtype=pl.Int64).to_numpy()
        for col, values in index.items()
    )
    out = np.full((len(quantiles), len(regions), len(quarters)), np.nan)
    out[at] = s["value"].to_numpy()
    assert not np.isnan(out).any(), metric
    return out


def assert_stats(summary: pl.DataFrame, metric: str, per_trial: PerTrial) -> None:
    """The summary's p5/p50/p95/mean of ``metric`` are those of ``per_trial``, for exactly its regions."""
    got = table(summary, metric, per_trial.regions, [*STAT_PERCENTS, "mean"])
    v = per_trial.values
    assert_allclose(got[:3], np.percentile(v, list(STAT_PERCENTS.values()), axis=0), rtol=RTOL, err_msg=metric)
    assert_allclose(got[3], v.mean(axis=0), rtol=RTOL, err_msg=metric)


# --- the summary ---------------------------------------------------------------------------------------


def test_the_run_is_not_degenerate(res, oracle):
    """The checks below compare numbers that vary across trials, territories and quarters."""
    china = oracle["compute"].of("China")
    assert np.ptp(china[:, -1]) > 0 and np.all(np.diff(china.mean(axis=0)) != 0)
    p = (oracle["flop"] >= 1e26).mean(axis=0)
    assert ((p > 0) & (p < 1)).any()  # some territory-quarters in between
    assert (res.outputs.exhaust >= 0).any() and (res.outputs.nveu_exhaust >= 0).any()


def test_compute_by_territory_bloc_and_world(res, oracle):
    assert_stats(res.summary, "compute_h100e", oracle["compute"])
    assert_stats(res.summary, "compute_h100e_tpp", oracle["tpp"])


def test_blocs_partition_the_world(res, oracle):
    blocs, iso3 = oracle["blocs"], res.scenario.world.iso3
    assert sorted(i for m in blocs.values() for i in m) == list(range(len(iso3)))
    assert {iso3[i] for i in blocs["China"]} == CHINA_ETC and [iso3[i] for i in blocs["US"]] == ["USA"]
    compute = oracle["compute"]
    assert_allclose(sum(compute.of(b) for b in blocs), compute.of("World"), rtol=1e-12)


def test_shares_of_world_compute(res, oracle):
    assert_stats(res.summary, "share_of_world_compute", oracle["share"])
    assert res.value("share_of_world_compute", "World", res.compiled.labels[-1], "p5") == pytest.approx(1.0)


def test_compute_by_channel_for_blocs_and_world(res, oracle):
    for k, name in enumerate(L.CHANNELS):
        assert_stats(res.summary, f"compute_h100e_{name}", oracle["channels"].at(k))
    world = oracle["channels"].of("World").sum(axis=-1)
    assert_allclose(world, oracle["compute"].of("World"), rtol=1e-12)


def test_flows_by_territory_bloc_and_world(res, oracle):
    for k, name in enumerate(L.FLOWS):
        assert_stats(res.summary, f"flow_{name}", oracle["flows"].at(k))
    units = dict(res.summary.select("metric", "unit").unique().iter_rows())
    assert units["flow_allocation_used_h100e_tpp"] == "H100e_tpp cumulative"
    assert units["flow_pending"] == "H100e outstanding" and units["flow_shipped"] == "H100e/quarter"


def test_largest_firm_by_territory(res, oracle):
    assert_stats(res.summary, "largest_firm_h100e", oracle["largest"])


def test_training_capability(res, oracle):
    """The largest run by headquarters (a bloc's: its largest member's), by location, over the sampled run
    length, and the largest cluster; P(run >= 1e25 ... 1e28) by territory and bloc."""
    iso3 = res.scenario.world.iso3
    assert_stats(res.summary, "largest_run_flop", oracle["flop_regions"])
    for metric, key in (
        ("largest_run_flop_location", "flop_location"),
        ("largest_run_flop_sampled_days", "flop_sampled"),
        ("largest_cluster_h100e", "cluster"),
    ):
        assert_stats(res.summary, metric, PerTrial(iso3, oracle[key]))
    regions = oracle["flop_regions"]
    for th, name in ((1e25, "p_train_1e25"), (1e26, "p_train_1e26"), (1e27, "p_train_1e27"), (1e28, "p_train_1e28")):
        got = table(res.summary, name, regions.regions, ["probability"])
        assert_allclose(got[0], (regions.values >= th).mean(axis=0), rtol=RTOL, err_msg=name)
    assert (oracle["flop"] >= 1e26).any() and not (oracle["flop"] >= 1e26).all()


def test_weights_outcomes_follow_the_headline_run(res, oracle):
    reg, iso3 = res.compiled.regime, res.scenario.world.iso3
    feasible = oracle["flop"] >= 1e26
    threshold = reg.weights_threshold[None, None, :]
    controlled = feasible & (threshold > 0) & (oracle["flop"] >= threshold)
    denial = controlled & (reg.tier1.T[None] == 0)  # by headquarters: the territory is the trainer's home
    assert controlled.any() and denial.any() and (controlled & ~denial).any()
    for metric, x in (
        ("p_train_1e26_weights_controlled", controlled),
        ("p_train_1e26_weights_export_presumption_of_denial", denial),
    ):
        got = table(res.summary, metric, iso3, ["probability"])
        assert_allclose(got[0], x.mean(axis=0), rtol=RTOL, err_msg=metric)


def test_summary_layout(res):
    s, labels, iso3 = res.summary, res.compiled.labels, res.scenario.world.iso3
    assert s.schema == pl.Schema(
        {
            "metric": pl.String,
            "unit": pl.String,
            "region": pl.String,
            "region_type": pl.String,
            "quarter": pl.String,
            "quantile": pl.String,
            "value": pl.Float64,
            "mc_low": pl.Float64,
            "mc_high": pl.Float64,
        }
    )
    assert s.select("metric", "region", "quarter", "quantile").is_unique().all()
    first = s.head(2 * len(labels))  # quantile-major, then region, then quarter
    assert first["metric"].unique().to_list() == ["compute_h100e"] and first["quantile"].unique().to_list() == ["p5"]
    assert first["region"].to_list() == [iso3[0]] * len(labels) + [iso3[1]] * len(labels)
    assert first["quarter"].to_list() == labels * 2
    kinds = dict(s.select("region", "region_type").unique().iter_rows())
    assert kinds["World"] == "world" and kinds["China"] == "bloc" and kinds["CHN"] == "country"
    metrics = s["metric"].unique(maintain_order=True).to_list()
    assert metrics[:3] == ["compute_h100e", "compute_h100e_tpp", "share_of_world_compute"]
    assert metrics[-1] == "p_train_1e26_weights_export_presumption_of_denial"
    fixed = 3 + len(L.CHANNELS) + 2 * len(L.FAMILIES) + 2 * len(L.VENDORS) + len(L.FLOWS) + 1
    assert len(metrics) == fixed + 4 + 4 + 2  # four run views, four thresholds, two weights outcomes
    h20 = res.outputs.family[:, res.scenario.world.index()["CHN"], -1, L.FAMILIES.index("h20_class")]
    assert res.value("compute_h100e_family_h20_class", "CHN", labels[-1], "p50") == pytest.approx(
        np.median(h20.astype(np.float64)), rel=RTOL
    )
    china = [res.scenario.world.index()[c] for c in CHINA_ETC]
    total = res.outputs.stock[:, china, -1].sum(axis=(1, 2), dtype=np.float64)
    assert res.value("compute_h100e", "China", labels[-1], "p50") == pytest.approx(np.median(total), rel=RTOL)


# --- the other tables ----------------------------------------------------------------------------------


def test_feasibility_table(res, oracle):
    """Per territory, view and threshold: probabilities, the first quarter above 50 %, each trial's first
    crossing (inverted-CDF quantiles; "never" past the horizon) and the largest run at the end."""
    labels, iso3 = res.compiled.labels, res.scenario.world.iso3
    f = res.feasibility
    assert f.height == len(iso3) * 2 * 4
    assert set(f["view"]) == {"headquarters", "location"} and sorted(set(f["threshold_flop"])) == [
        1e25,
        1e26,
        1e27,
        1e28,
    ]
    horizon = [*labels, "never"]
    for view, flop in (("headquarters", oracle["flop"]), ("location", oracle["flop_location"])):
        for th in (1e25, 1e26, 1e27):
            part = f.filter((pl.col("view") == view) & (pl.col("threshold_flop") == th))
            assert part["p_last_quarter"].to_list() == sorted(part["p_last_quarter"].to_list(), reverse=True)
            rows_ = {r["iso3"]: r for r in part.iter_rows(named=True)}
            p = (flop >= th).mean(axis=0)
            first = np.where((flop >= th).any(axis=2), (flop >= th).argmax(axis=2), len(labels))  # [T, C]
            for c, iso in enumerate(iso3):
                r = rows_[iso]
                assert r["p_first_quarter"] == pytest.approx(p[c, 0]) and r["p_last_quarter"] == pytest.approx(p[c, -1])
                over = [labels[q] for q in range(len(labels)) if p[c, q] > 0.5]
                assert r["first_quarter_p_over_half"] == (over[0] if over else None)
                q5, q50, q95 = np.percentile(first[:, c], (5, 50, 95), method="inverted_cdf").astype(int)
                assert (r["crossing_quarter_p5"], r["crossing_quarter_p50"], r["crossing_quarter_p95"]) == (
                    horizon[q5],
                    horizon[q50],
                    horizon[q95],
                )
                assert r["share_never"] == pytest.approx((first[:, c] == len(labels)).mean())
                assert r["largest_run_flop_p50_last"] == pytest.approx(np.median(flop[:, c, -1]), rel=RTOL)
    hq = f.filter((pl.col("view") == "headquarters") & (pl.col("threshold_flop") == 1e26))
    assert any(r["first_quarter_p_over_half"] not in (None, labels[0]) for r in hq.iter_rows(named=True)) or any(
        0 < r["share_never"] < 1 for r in hq.iter_rows(named=True)
    )
    controlled = table(res.summary, "p_train_1e26_weights_controlled", iso3, ["probability"])[0]
    rows_ = {r["iso3"]: r for r in hq.iter_rows(named=True)}
    assert any(r["p_weights_controlled_any_quarter"] > 0 for r in rows_.values())
    for c, iso in enumerate(iso3):  # P(any quarter) is at least every quarter's and at most their sum
        r, by_quarter = rows_[iso], controlled[c]
        assert by_quarter.max(initial=0) <= r["p_weights_controlled_any_quarter"] <= by_quarter.sum() + 1e-12
        assert r["p_weights_presumption_of_denial_any_quarter"] <= r["p_weights_controlled_any_quarter"]
    other = f.filter(pl.col("view") == "location")
    assert other["p_weights_controlled_any_quarter"].null_count() == other.height


def inverted_cdf(values: np.ndarray, pct: int) -> int:
    """The smallest value whose empirical CDF reaches ``pct`` %."""
    v = np.sort(values)
    return int(v[ceil(Fraction(pct, 100) * len(v)) - 1])


def test_exhaustion_table(res):
    o, labels, iso3 = res.outputs, res.compiled.labels, res.scenario.world.iso3
    capped = [iso3[c] for c in range(len(iso3)) if (res.compiled.regime.policy[:, c, :] == L.CAPPED).any()]
    e = res.exhaustion
    assert sorted(e["iso3"].to_list()) == sorted(capped) and e.schema["exhaustion_quarter_p50"] == pl.String
    assert (e["share_of_trials_exhausted"] > 0).any() and (e["share_of_trials_nveu_exhausted"] > 0).any()
    T = o.exhaust.shape[0]
    for r in e.iter_rows(named=True):
        c = iso3.index(r["iso3"])
        hit = o.exhaust[:, c][o.exhaust[:, c] >= 0]
        assert r["share_of_trials_exhausted"] == pytest.approx(len(hit) / T)
        for pct in (5, 50, 95):
            assert r[f"exhaustion_quarter_p{pct}"] == (labels[inverted_cdf(hit, pct)] if len(hit) else None)
        unmet = o.flows[:, c, :, L.FL_UNMET].astype(np.float64).sum(axis=1)
        assert r["unmet_h100e_p50"] == pytest.approx(np.percentile(unmet, 50), rel=RTOL, abs=1e-9)
        assert r["unmet_h100e_p95"] == pytest.approx(np.percentile(unmet, 95), rel=RTOL, abs=1e-9)
        assert r["share_of_trials_nveu_exhausted"] == pytest.approx((o.nveu_exhaust[:, c] >= 0).mean())
    shares = e["share_of_trials_exhausted"].to_list()
    assert shares == sorted(shares, reverse=True)


def test_trials_table(res, oracle):
    o, labels, draws = res.outputs, res.compiled.labels, res.compiled.draws
    t = res.trials
    assert t["trial"].to_list() == list(range(o.stock.shape[0]))
    for k, v in draws.items():
        assert_array_equal(t[f"input.{k}"].to_numpy(), v)
    for region in [*oracle["blocs"], "World"]:
        assert_allclose(t[f"compute_h100e_last.{region}"].to_numpy(), oracle["compute"].of(region)[:, -1], rtol=RTOL)
    china = (oracle["flop"] >= 1e26)[:, res.scenario.world.index()["CHN"]]
    expect = [labels[int(np.argmax(row))] if row.any() else None for row in china]
    assert t["china_first_feasible_quarter"].to_list() == expect
    assert_array_equal(t["countries_exhausted"].to_numpy(), (o.exhaust >= 0).sum(axis=1))
    grey = o.flows[..., L.FL_SMUGGLED].astype(np.float64).sum(axis=(1, 2))
    assert_allclose(t["smuggled_h100e"].to_numpy(), grey, rtol=RTOL)
    assert_allclose(t["diverted_h100e"].to_numpy(), o.flows[..., L.FL_DIVERTED_IN].sum(axis=(1, 2)), rtol=RTOL)


def test_tables_are_made_once_and_timed(res):
    assert res.summary is res.summary and res.trials is res.trials
    assert res.timings["metrics_s"] > 0


# --- the array helpers ---------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # inf - inf, as numpy
@pytest.mark.parametrize("T", [1, 2, 7, 101])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_over_trials_is_numpy_percentile_and_mean(T, dtype, monkeypatch):
    """Lognormal, constant, zero and -0.0, tied and NaN columns, over several blocks and threads."""
    rng = np.random.default_rng(T)
    x = rng.lognormal(0, 3, (T, 3, 700)).astype(dtype)
    x[:, 0, 1] = 7.0
    x[:, 0, 2] = -0.0
    x[::2, 0, 3] = -0.0
    x[:, 0, 4] = np.round(x[:, 0, 4])
    x[0, 1, 5] = np.nan
    v = x.astype(np.float64)
    monkeypatch.setattr(metric_stats, "BLOCK_BYTES", 8 * T * 64)  # 64 columns a block
    for threads in (1, 2):
        monkeypatch.setattr(metric_stats, "THREADS", threads)
        got = over_trials(x)
        assert got.shape == (3, 4, 3, 700) and got.dtype == np.float64
        for i, pct in enumerate(STAT_PERCENTS.values()):
            assert_allclose(got[0, i], np.percentile(v, pct, axis=0), rtol=1e-12, equal_nan=True)
            ok = ~np.isnan(got[0, i])
            assert (got[1, i][ok] <= got[0, i][ok]).all() and (got[0, i][ok] <= got[2, i][ok]).all()
        assert_allclose(got[0, 3], v.mean(axis=0), rtol=1e-12, equal_nan=True)
        assert np.isnan(got[:, :, 1, 5]).all() and not np.signbit(got[:, :, 0, 2]).any()


def test_group_sums_are_sums_over_members():
    rng = np.random.default_rng(1)
    x = rng.lognormal(0, 4, (37, 50, 5, 3)).astype(np.float32)
    groups = [[0], [1, 5, 9], list(range(10, 50, 3)), [], list(range(50))]
    got = group_sums(x, groups)
    assert got.shape == (37, 5, 5, 3) and got.dtype == np.float64
    for g, m in enumerate(groups):
        assert_allclose(got[:, g], x.astype(np.float64)[:, m].sum(axis=1), rtol=1e-12)


def test_every_summary_value_has_its_monte_carlo_interval(res):
    """A quantile lies within its order-statistic interval, the interval of China's median compute is the one
    mc_error gives, a mean's is ± 1.96 standard errors and a probability's stays within [0, 1]."""
    from sim.metrics.mc_error import quantile_interval

    s = res.summary
    assert (s["mc_low"] <= s["value"] * (1 + 1e-12) + 1e-9).all() and (
        s["mc_high"] >= s["value"] * (1 - 1e-12) - 1e-9
    ).all()
    last = res.compiled.labels[-1]
    m, q = res.metrics, len(res.compiled.labels) - 1
    china = m.compute_groups[:, m.regions.names[len(res.scenario.world.iso3) :].index("China"), q]
    row = s.filter((pl.col("metric") == "compute_h100e") & (pl.col("region") == "China") & (pl.col("quarter") == last))
    by = {r["quantile"]: r for r in row.iter_rows(named=True)}
    assert (by["p50"]["mc_low"], by["p50"]["mc_high"]) == pytest.approx(quantile_interval(china, 0.5), rel=1e-12)
    se = china.std(ddof=1) / np.sqrt(china.size)
    assert by["mean"]["mc_high"] - by["mean"]["value"] == pytest.approx(1.959964 * se, rel=1e-5)
    p = s.filter(pl.col("quantile") == "probability")
    assert p["mc_low"].min() >= 0 and p["mc_high"].max() <= 1
