"""The fast post-processing (sorted-once quantiles, trial-block sums, one polars build) writes exactly the
numbers of the former straightforward code, kept below as reference."""

import numpy as np
import polars as pl
import pytest
from scripted import ROOT

import sim
from sim import metrics
from sim.kernel import layout as L
from sim.metrics import QUANTILES, bloc_members, feasible, weights_outcomes
from sim.training import utilisation

# --- the former implementation (sim/metrics.py before the speed-up), the reference ---------------------


def old_regions(world):
    names, kinds, members = [], [], []
    for i, iso in enumerate(world.iso3):
        names.append(iso)
        kinds.append("country")
        members.append([i])
    for bloc, idx in bloc_members(world).items():
        names.append(bloc)
        kinds.append("bloc")
        members.append(idx)
    names.append("World")
    kinds.append("world")
    members.append(list(range(len(world.iso3))))
    return names, kinds, members


def old_aggregate(x, members):
    return np.stack([x[:, m, :].sum(axis=1) for m in members], axis=1)


def old_long(metric, unit, values, regions, kinds, labels):
    stats = {name: np.percentile(values, q, axis=0) for name, q in QUANTILES}
    stats["mean"] = values.mean(axis=0)
    R, Q = values.shape[1], values.shape[2]
    return pl.concat(
        [
            pl.DataFrame(
                {
                    "metric": metric,
                    "unit": unit,
                    "region": np.repeat(regions, Q),
                    "region_type": np.repeat(kinds, Q),
                    "quarter": np.tile(labels, R),
                    "quantile": qname,
                    "value": arr.reshape(-1).astype(np.float64),
                }
            )
            for qname, arr in stats.items()
        ]
    )


def old_summary(out, world, labels, draws, reg):
    regions, kinds, members = old_regions(world)
    rows = []
    compute = out.stock.sum(axis=3, dtype=np.float64)
    agg = old_aggregate(compute, members)
    rows.append(old_long("compute_h100e", "H100e", agg, regions, kinds, labels))
    rows.append(
        old_long(
            "compute_h100e_tpp",
            "H100e_tpp",
            old_aggregate(out.stock_tpp.astype(np.float64), members),
            regions,
            kinds,
            labels,
        )
    )
    world_total = np.maximum(agg[:, -1:, :], 1e-12)
    rows.append(old_long("share_of_world_compute", "fraction", agg / world_total, regions, kinds, labels))
    blocs = [i for i, k in enumerate(kinds) if k != "country"]
    for ch, name in enumerate(L.CHANNELS):
        x = old_aggregate(out.stock[..., ch].astype(np.float64), members)[:, blocs]
        rows.append(
            old_long(
                f"compute_h100e_{name}", "H100e", x, [regions[i] for i in blocs], [kinds[i] for i in blocs], labels
            )
        )
    for fl, name in enumerate(L.FLOWS):
        unit = "H100e_tpp cumulative" if fl == L.FL_CAP_USED else "H100e/quarter"
        if fl == L.FL_PENDING:
            unit = "H100e outstanding"
        rows.append(
            old_long(
                f"flow_{name}",
                unit,
                old_aggregate(out.flows[..., fl].astype(np.float64), members),
                regions,
                kinds,
                labels,
            )
        )
    C = len(world.iso3)
    rows.append(old_long("largest_firm_h100e", "H100e", out.largest.astype(np.float64), regions[:C], kinds[:C], labels))
    feas = feasible(out.largest.astype(np.float64), utilisation(draws), draws["training.max_days"])
    controlled, denial = weights_outcomes(out, reg, feas, draws)
    for metric, x in (
        ("p_feasible_1e26", feas),
        ("p_feasible_1e26_weights_controlled", controlled),
        ("p_feasible_1e26_weights_export_presumption_of_denial", denial),
    ):
        rows.append(
            pl.DataFrame(
                {
                    "metric": metric,
                    "unit": "probability",
                    "region": np.repeat(regions[:C], len(labels)),
                    "region_type": "country",
                    "quarter": np.tile(labels, C),
                    "quantile": "probability",
                    "value": x.mean(axis=0).reshape(-1).astype(np.float64),
                }
            )
        )
    return pl.concat(rows)


def old_feasibility_table(out, world, labels, draws, reg):
    f = feasible(out.largest.astype(np.float64), utilisation(draws), draws["training.max_days"])
    controlled, denial = weights_outcomes(out, reg, f, draws)
    feas = f.mean(axis=0)
    first = [next((labels[q] for q in range(len(labels)) if feas[c, q] > 0.5), None) for c in range(feas.shape[0])]
    return pl.DataFrame(
        {
            "iso3": world.iso3,
            "name": world.countries["name"],
            "p_first_quarter": feas[:, 0],
            "p_last_quarter": feas[:, -1],
            "first_quarter_p_over_half": first,
            "p_weights_controlled_any_quarter": controlled.any(axis=2).mean(axis=0),
            "p_weights_presumption_of_denial_any_quarter": denial.any(axis=2).mean(axis=0),
            "largest_firm_h100e_p50_last": np.median(out.largest[:, :, -1], axis=0).astype(np.float64),
        }
    ).sort("p_last_quarter", descending=True)


def old_trials_table(out, world, labels, draws):
    blocs = bloc_members(world)
    compute = out.stock.sum(axis=3, dtype=np.float64)
    feas = feasible(out.largest.astype(np.float64), utilisation(draws), draws["training.max_days"])
    china = world.index()["CHN"]
    first_cn = np.where(feas[:, china].any(axis=1), feas[:, china].argmax(axis=1), -1)
    cols = {"trial": np.arange(out.stock.shape[0])}
    cols.update({f"input.{k}": v for k, v in draws.items()})
    for name, idx in blocs.items():
        cols[f"compute_h100e_last.{name}"] = compute[:, idx, -1].sum(axis=1)
    cols["compute_h100e_last.World"] = compute[:, :, -1].sum(axis=1)
    cols["china_first_feasible_quarter"] = [labels[i] if i >= 0 else None for i in first_cn]
    cols["countries_exhausted"] = (out.exhaust >= 0).sum(axis=1)
    cols["grey_market_h100e"] = out.flows[..., L.FL_GREY_IN].sum(axis=(1, 2), dtype=np.float64)
    cols["diverted_h100e"] = out.flows[..., L.FL_DIVERTED_IN].sum(axis=(1, 2), dtype=np.float64)
    return pl.DataFrame(cols)


# --- helpers -------------------------------------------------------------------------------------------


def assert_identical(new: pl.DataFrame, old: pl.DataFrame) -> None:
    """Same schema, rows and order, and every float the same bits (so also the same sign of zero)."""
    assert new.schema == old.schema
    assert new.height == old.height
    for col, dtype in old.schema.items():
        a, b = new[col], old[col]
        if dtype == pl.Float64:
            assert np.array_equal(a.to_numpy().view(np.int64), b.to_numpy().view(np.int64)), col
        else:
            assert a.equals(b), col


def bits_equal(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a.view(np.uint8), b.view(np.uint8))


@pytest.fixture(scope="module")
def res():
    """24 trials of the default scenario over 8 quarters: allocations exhausted, feasibility in between."""
    return sim.run(sim.load_scenario(ROOT / "scenarios" / "default.toml").replace(trials=24, quarters=8))


# --- the tables ----------------------------------------------------------------------------------------


def test_summary_trials_and_feasibility_tables_equal_the_former_code(res):
    c, w, o = res.compiled, res.scenario.world, res.outputs
    assert_identical(res.summary, old_summary(o, w, c.labels, c.draws, c.regime))
    assert_identical(res.trials, old_trials_table(o, w, c.labels, c.draws))
    assert_identical(res.feasibility, old_feasibility_table(o, w, c.labels, c.draws, c.regime))
    # without a shared cache, and with fewer threads, the same
    alone = metrics.summary(o, w, c.labels, c.draws, c.regime)
    assert_identical(alone, res.summary)
    assert_identical(metrics.trials_table(o, w, c.labels, c.draws), res.trials)


def test_summary_of_some_metrics_is_the_full_summary_filtered(res):
    names = ("compute_h100e", "flow_unmet", "p_feasible_1e26")
    c, o = res.compiled, res.outputs
    part = metrics.summary(o, res.scenario.world, c.labels, c.draws, c.regime, only=names)
    assert_identical(part, res.summary.filter(pl.col("metric").is_in(names)))
    assert_identical(res.summary_of(names), part)


# --- the array kernels ---------------------------------------------------------------------------------


def tricky(rng, T: int, N: int, dtype) -> np.ndarray:
    """[T, N]: lognormal columns, constant ones, zeros and -0.0, ties, a NaN column and an inf column."""
    x = rng.lognormal(0, 3, (T, N)).astype(dtype)
    x[:, 1] = 7.0
    x[:, 2] = -0.0
    x[::2, 3] = -0.0
    x[:, 4] = np.round(x[:, 4])
    if N > 6:
        x[0, 5] = np.nan
        x[-1, 6] = np.inf
    return x


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # inf - inf, as numpy
@pytest.mark.parametrize("T", [1, 2, 7, 24, 101])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_stats_equal_numpy_percentile_and_mean(T, dtype, monkeypatch):
    x = tricky(np.random.default_rng(T), T, 3000, dtype)
    v = x.astype(np.float64)
    for workers in (1, 2):
        monkeypatch.setattr(metrics, "_WORKERS", workers)
        got = metrics._stats(x, summed=False)
        for i, (_, q) in enumerate(QUANTILES):
            assert bits_equal(got[i], np.percentile(v, q, axis=0))
        assert bits_equal(got[-1], v.mean(axis=0))
        summed = metrics._stats(x[:, None, :].reshape(T, 1, -1))  # as a sum over one territory
        want = x[:, None, :].astype(np.float64)[:, [0], :].sum(axis=1)
        assert bits_equal(summed[:3, 0], np.percentile(want, [q for _, q in QUANTILES], axis=0))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_group_and_channel_sums_equal_numpy_sums(dtype, monkeypatch):
    rng = np.random.default_rng(1)
    x = rng.lognormal(0, 4, (37, 50, 5, 3)).astype(dtype)  # float64: full mantissas, so the order shows
    x[:, ::7] = -0.0
    groups = [[0], [1, 5, 9], list(range(10, 50, 3)), [], list(range(50))]
    for workers in (1, 2):
        monkeypatch.setattr(metrics, "_WORKERS", workers)
        got = metrics._group_sums(x, groups)
        for g, m in enumerate(groups):
            assert bits_equal(got[:, g], x.astype(np.float64)[:, m].sum(axis=1))
        stock = rng.lognormal(0, 4, (37, 50, 5, len(L.CHANNELS))).astype(np.float32)
        assert bits_equal(metrics._channel_sum(stock), stock.sum(axis=3, dtype=np.float64))
