"""Metrics from the kernel's per-trial outputs, as tidy polars frames.

- attainable compute: installed H100e (dense 16-bit FLOP/s; and by TPP) per territory, bloc and
  quarter, split by channel, with p5/p50/p95 and mean over trials; each bloc's share of world compute;
- 1e26 feasibility: probability per territory and quarter that its largest single firm (its stock
  located there) can train a 1e26-FLOP model within the run-length limit, and the first quarter it
  passes 50 %;
- quota exhaustion: per capped territory, the share of trials that use up the national allocation,
  the quarter they do, and the unmet demand;
- flows: ordered, shipped, denied, pending, unmet, grey market, diverted.
Labels: every quantity is "calculated" by the model from "estimated" inputs.
Units: H100e = H100-equivalents by dense 16-bit FLOP/s (989.5 TFLOP/s each); H100e_tpp = by TPP (15,832).
Quantiles are numpy's linear percentiles over trials, bit for bit, from each column's trials sorted once;
bloc and world totals are numpy's float64 sums, over blocks of trials (tests/test_metrics_speed_equivalence.py).
"""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import numpy as np
import polars as pl

from .kernel import layout as L
from .training import training_flop, utilisation
from .world import WORLD_DIR, World

QUANTILES = (("p5", 5.0), ("p50", 50.0), ("p95", 95.0))
FLOW_UNITS = {L.FL_CAP_USED: "H100e_tpp cumulative", L.FL_PENDING: "H100e outstanding"}  # else H100e/quarter
BLOC_DATE = dt.date(2025, 1, 13)
_WORKERS = max(1, min(4, os.cpu_count() or 1))  # threads sorting trials (results do not depend on it)


def bloc_members(world: World) -> dict[str, list[int]]:
    """Bloc name → territory indices (blocs.toml)."""
    spec = tomllib.loads((WORLD_DIR / "blocs.toml").read_text())
    idx, taken, out = world.index(), set(), {}
    for name in spec["order"]:
        items = spec["blocs"][name]["countries"]
        if items == ["rest"]:
            members = set(world.iso3) - taken
        else:
            members = world.resolve(items, BLOC_DATE, WORLD_DIR / "blocs.toml", f"blocs.{name}") - taken
        taken |= members
        out[name] = sorted(idx[c] for c in members)
    return out


def feasible(largest: np.ndarray, mfu: np.ndarray, days: np.ndarray, target: float = 1e26) -> np.ndarray:
    """bool [T, C, Q]: the largest firm can train ``target`` FLOP (per-trial utilisation, i.e. MFU ×
    goodput, and run length)."""
    return training_flop(largest, mfu[:, None, None], days[:, None, None]) >= target


def weights_outcomes(out, reg, feas: np.ndarray, draws: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """For feasible 1e26 runs (bool [T, C, Q]): (a) the run reaches the regime's weights threshold
    (ECCN 4E091: ``weights.threshold_operations`` in force that quarter), so its weights would be
    controlled if closed (an upper bound: open weights and models below the most capable published
    one are not controlled); (b) and its trainer is headquartered outside Tier 1, so exporting the
    weights faces a presumption of denial. A hyperscaler site's firm is headquartered in the US; a
    domestic firm where it is located."""
    flop = training_flop(
        out.largest.astype(np.float64), utilisation(draws)[:, None, None], draws["training.max_days"][:, None, None]
    )
    th = reg.weights_threshold[None, None, :]
    hq_tier1 = np.where(
        out.largest_site == 1, reg.tier1[:, reg.us_index][None, None, :] == 1, reg.tier1.T[None, :, :] == 1
    )
    controlled = feas & (th > 0) & (flop >= th)
    return controlled, controlled & ~hq_tier1


def _cached(cache: dict | None, key: str, make):
    """``make()``, kept in ``cache`` (when given) under ``key`` so the tables of a run share it."""
    if cache is None:
        return make()
    if key not in cache:
        cache[key] = make()
    return cache[key]


def _feasibility(out, draws: dict[str, np.ndarray], reg, cache: dict | None) -> tuple[np.ndarray, ...]:
    """bool [T, C, Q] ×3: ``feasible`` (1e26) and ``weights_outcomes`` (controlled, presumption of denial),
    computed over blocks of trials (elementwise, so as on the whole; small temporaries), kept in ``cache``."""

    def make() -> tuple[np.ndarray, ...]:
        feas, controlled, denial = (np.empty(out.largest.shape, bool) for _ in range(3))

        def work(t: slice) -> None:
            part = SimpleNamespace(largest=out.largest[t], largest_site=out.largest_site[t])
            d = {k: draws[k][t] for k in ("training.mfu", "training.goodput", "training.max_days")}
            feas[t] = feasible(part.largest.astype(np.float64), utilisation(d), d["training.max_days"])
            controlled[t], denial[t] = weights_outcomes(part, reg, feas[t], d)

        _parallel(work, out.largest.shape[0], max(1, 2**15 // max(1, out.largest[0].size)))
        return feas, controlled, denial

    return _cached(cache, "feasibility", make)


def _regions(world: World) -> tuple[list[str], list[str], list[list[int]]]:
    """Region names, kinds (country, bloc, world) and member territories: territories, blocs, World."""
    iso3 = world.iso3
    names, kinds, members = list(iso3), ["country"] * len(iso3), [[i] for i in range(len(iso3))]
    for bloc, idx in bloc_members(world).items():
        names.append(bloc)
        kinds.append("bloc")
        members.append(idx)
    names.append("World")
    kinds.append("world")
    members.append(list(range(len(iso3))))
    return names, kinds, members


def _parallel(work, n: int, size: int) -> None:
    """Call ``work(slice)`` on consecutive slices of ``size`` of range(n), over ``_WORKERS`` threads (numpy
    releases the GIL). Slices are small enough to stay in cache; each gives what the whole would."""
    slices = [slice(a, min(n, a + size)) for a in range(0, n, max(1, size))]
    if len(slices) <= 1 or _WORKERS == 1:
        for s in slices:
            work(s)
        return
    with ThreadPoolExecutor(_WORKERS) as ex:
        list(ex.map(work, slices))


def _group_sums(x: np.ndarray, groups: list[list[int]]) -> np.ndarray:
    """[T, C, ...] → float64 [T, G, ...]: each group's ``x[:, m].sum(axis=1)`` in float64 (numpy adds the
    territories one at a time, in index order), over blocks of trials that stay in cache."""
    out = np.empty((x.shape[0], len(groups)) + x.shape[2:])
    everyone = list(range(x.shape[1]))

    def work(t: slice) -> None:
        xt = x[t].astype(np.float64)
        for g, m in enumerate(groups):
            out[t, g] = (xt if m == everyone else xt[:, m]).sum(axis=1)

    _parallel(work, x.shape[0], max(1, 2**18 // max(1, x[0].size)))
    return out


def _channel_sum(stock: np.ndarray) -> np.ndarray:
    """float32 [T, C, Q, channel] → float64 [T, C, Q]: ``stock.sum(axis=3, dtype=np.float64)`` bit for bit.
    Numpy sums fewer than 8 items from 0.0 one at a time, so with 6 channels this is that loop, over blocks of
    trials (faster than numpy's buffered reduction)."""
    if stock.shape[-1] >= 8:  # numpy would sum pairwise
        return stock.sum(axis=-1, dtype=np.float64)
    total = np.zeros(stock.shape[:-1])

    def work(t: slice) -> None:
        acc = total[t]
        for k in range(stock.shape[-1]):
            acc += stock[t, ..., k]

    _parallel(work, stock.shape[0], max(1, 2**17 // max(1, total[0].size)))
    return total


def _stats(x: np.ndarray, summed: bool = True) -> np.ndarray:
    """Per-trial values [T, ...] (float32 or float64) → float64 [4, ...]: p5, p50, p95 and mean over trials,
    bit for bit ``np.percentile(v, q, axis=0)`` (linear) and ``v.mean(axis=0)`` of v = x as float64 (plus
    0.0 when ``summed``: a numpy sum starts from 0.0, so -0.0 reads 0.0). Each non-constant column's
    trials are sorted once, in cache-sized blocks of columns over threads."""
    T, shape = x.shape[0], x.shape[1:]
    x2 = x.reshape(T, -1)
    virt = (T - 1) * (np.array([q for _, q in QUANTILES]) / 100)  # numpy's linear method, its _lerp below
    prev = np.floor(virt).astype(np.intp)
    nxt = prev + 1
    prev[virt >= T - 1] = nxt[virt >= T - 1] = -1
    gamma = (virt - prev)[:, None]
    res = np.empty((len(QUANTILES) + 1, x2.shape[1]))

    def work(cols: slice) -> None:
        xc = x2[:, cols]
        lo, hi = xc.min(axis=0), xc.max(axis=0)
        a = np.repeat(lo[None, :].astype(np.float64), len(QUANTILES), axis=0)
        b = a.copy()
        vary = np.flatnonzero(~(lo == hi))  # NaN columns too: sorted, then set to NaN
        if vary.size:
            rows = xc.T[vary]  # [V, T], C-contiguous
            rows.sort(axis=1)
            a[:, vary], b[:, vary] = rows[:, prev].T, rows[:, nxt].T
        if summed:
            a += 0.0
            b += 0.0
        diff = b - a
        q = res[:-1, cols]
        np.add(a, diff * gamma, out=q)
        np.subtract(b, diff * (1 - gamma), out=q, where=np.broadcast_to(gamma >= 0.5, q.shape))
        q[:, np.isnan(hi)] = np.nan
        np.mean(xc, axis=0, dtype=np.float64, out=res[-1, cols])

    _parallel(work, x2.shape[1], max(8, 2**18 // T))
    return res.reshape((len(QUANTILES) + 1,) + shape)


class _Long:
    """Accumulates the long summary as code arrays; ``frame()`` builds the polars table once."""

    def __init__(self, regions: list[str], kinds: list[str], labels: list[str]):
        self.regions, self.kinds, self.labels = regions, kinds, labels
        self.metrics: list[str] = []
        self.units: list[str] = []
        self.quantiles = [n for n, _ in QUANTILES] + ["mean", "probability"]
        self.parts: list[tuple] = []

    def add(self, metric: str, unit: str, stats: np.ndarray, region_idx, quantiles=(0, 1, 2, 3)) -> None:
        """``stats`` [S, R, Q] (S quantiles, R regions ``region_idx``) → rows quantile-major, then region, quarter."""
        S, R, Q = stats.shape
        self.metrics.append(metric)
        if unit not in self.units:
            self.units.append(unit)
        n = S * R * Q
        self.parts.append(
            (
                np.full(n, len(self.metrics) - 1, np.int32),
                np.full(n, self.units.index(unit), np.int32),
                np.tile(np.repeat(np.asarray(region_idx, np.int32), Q), S),
                np.tile(np.arange(Q, dtype=np.int32), S * R),
                np.repeat(np.asarray(quantiles, np.int32), R * Q),
                stats.reshape(-1),
            )
        )

    def frame(self) -> pl.DataFrame:
        if not self.parts:
            self.add("", "", np.empty((0, 0, 0)), [])
        m, u, r, q, s, v = (np.concatenate(c) for c in zip(*self.parts))
        kinds = np.array([("country", "bloc", "world").index(k) for k in self.kinds], np.int32)

        def col(name, values, codes):
            return pl.Series(name, values, dtype=pl.String).gather(codes)

        return pl.DataFrame(
            [
                col("metric", self.metrics, m),
                col("unit", self.units, u),
                col("region", self.regions, r),
                col("region_type", ["country", "bloc", "world"], kinds[r]),
                col("quarter", self.labels, q),
                col("quantile", self.quantiles, s),
                pl.Series("value", v, dtype=pl.Float64),
            ]
        )


def summary(
    out,
    world: World,
    labels: list[str],
    draws: dict[str, np.ndarray],
    reg,
    cache: dict | None = None,
    only: Collection[str] | None = None,
) -> pl.DataFrame:
    """The long summary table of a run (``reg``: the compiled RegimeArrays; ``cache``: arrays shared with the
    other tables and later calls; ``only``: just these metrics, rows as in the full table). Quantiles over
    trials of per-trial values; probabilities are shares of trials."""
    cache = {} if cache is None else cache
    regions, kinds, members = _regions(world)
    C = len(world.iso3)
    groups = members[C:]  # blocs, then World
    everywhere, countries, blocs = range(len(regions)), range(C), range(C, len(regions))

    def once(key: str, make):
        return lambda: _cached(cache, key, make)

    def everywhere_stats(x: np.ndarray, grouped: np.ndarray | None = None) -> np.ndarray:
        """[4, R, ...]: stats of the territories' per-trial values ``x``, then of their groups' sums."""
        return np.concatenate([_stats(x), _stats(_group_sums(x, groups) if grouped is None else grouped)], axis=1)

    compute = once("compute", lambda: _channel_sum(out.stock))
    grouped = once("compute_groups", lambda: _group_sums(compute(), groups))
    total = once("world_compute", lambda: np.maximum(grouped()[:, -1:, :], 1e-12))
    channels = once("stats.channels", lambda: _stats(_group_sums(out.stock, groups)))  # [4, G, Q, channel]
    flows = once("stats.flows", lambda: everywhere_stats(out.flows))  # [4, R, Q, flow]
    rows = [  # metric, unit, regions, quantiles (indices into _Long.quantiles), stats [S, R, Q]
        ("compute_h100e", "H100e", everywhere, (0, 1, 2, 3), lambda: everywhere_stats(compute(), grouped())),
        ("compute_h100e_tpp", "H100e_tpp", everywhere, (0, 1, 2, 3), lambda: everywhere_stats(out.stock_tpp)),
        (
            "share_of_world_compute",
            "fraction",
            everywhere,
            (0, 1, 2, 3),
            lambda: everywhere_stats(compute() / total(), grouped() / total()),
        ),
    ]
    rows += [
        (f"compute_h100e_{name}", "H100e", blocs, (0, 1, 2, 3), lambda ch=ch: channels()[..., ch])
        for ch, name in enumerate(L.CHANNELS)
    ]
    rows += [
        (f"flow_{name}", FLOW_UNITS.get(fl, "H100e/quarter"), everywhere, (0, 1, 2, 3), lambda fl=fl: flows()[..., fl])
        for fl, name in enumerate(L.FLOWS)
    ]
    rows.append(("largest_firm_h100e", "H100e", countries, (0, 1, 2, 3), lambda: _stats(out.largest, summed=False)))
    rows += [
        (
            name,
            "probability",
            countries,
            (4,),
            lambda i=i: _feasibility(out, draws, reg, cache)[i].mean(axis=0)[None].astype(np.float64),
        )
        for i, name in enumerate(
            (
                "p_feasible_1e26",
                "p_feasible_1e26_weights_controlled",
                "p_feasible_1e26_weights_export_presumption_of_denial",
            )
        )
    ]
    long = _Long(regions, kinds, labels)
    for metric, unit, where, quantiles, stats in rows:
        if only is None or metric in only:
            long.add(metric, unit, _cached(cache, f"summary.{metric}", stats), where, quantiles)
    return long.frame()


def feasibility_table(
    out, world: World, labels: list[str], draws: dict[str, np.ndarray], reg, cache: dict | None = None
) -> pl.DataFrame:
    """Per territory: probability of a 1e26 run at the first and last quarter, first quarter P > 50 %, and
    for feasible runs whether their closed weights would be controlled (ECCN 4E091) and face a
    presumption of denial for export (trainer headquartered outside Tier 1)."""
    f, controlled, denial = _feasibility(out, draws, reg, cache)
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


def exhaustion_table(out, world: World, labels: list[str], capped: np.ndarray) -> pl.DataFrame:
    """Per territory under a national allocation at some quarter: share of trials that exhaust it, the
    quarter (p5/p50/p95 over those trials), and unmet demand over the run (H100e, p50/p95)."""
    rows = []
    unmet = out.flows[..., L.FL_UNMET].sum(axis=2, dtype=np.float64)
    for c in np.flatnonzero(capped):
        ex = out.exhaust[:, c]
        hit = ex[ex >= 0]
        q = lambda pct: labels[int(np.percentile(hit, pct, method="inverted_cdf"))] if hit.size else None  # noqa: E731
        nv = out.nveu_exhaust[:, c]
        rows.append(
            {
                "iso3": world.iso3[c],
                "share_of_trials_exhausted": hit.size / ex.size,
                "exhaustion_quarter_p5": q(5),
                "exhaustion_quarter_p50": q(50),
                "exhaustion_quarter_p95": q(95),
                "unmet_h100e_p50": float(np.median(unmet[:, c])),
                "unmet_h100e_p95": float(np.percentile(unmet[:, c], 95)),
                "share_of_trials_nveu_exhausted": float((nv >= 0).mean()),
            }
        )
    schema = {
        "iso3": pl.Utf8,
        "share_of_trials_exhausted": pl.Float64,
        "exhaustion_quarter_p5": pl.Utf8,
        "exhaustion_quarter_p50": pl.Utf8,
        "exhaustion_quarter_p95": pl.Utf8,
        "unmet_h100e_p50": pl.Float64,
        "unmet_h100e_p95": pl.Float64,
        "share_of_trials_nveu_exhausted": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema).sort(
        ["share_of_trials_exhausted", "exhaustion_quarter_p50", "iso3"],
        descending=[True, False, False],
        nulls_last=True,
    )


def trials_table(
    out, world: World, labels: list[str], draws: dict[str, np.ndarray], cache: dict | None = None
) -> pl.DataFrame:
    """One row per trial: the uncertain inputs drawn and headline outputs."""
    blocs = bloc_members(world)
    compute = _cached(cache, "compute", lambda: _channel_sum(out.stock))
    feas = (
        cache["feasibility"][0]
        if cache and "feasibility" in cache
        else feasible(out.largest.astype(np.float64), utilisation(draws), draws["training.max_days"])
    )
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
