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
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import numpy as np
import polars as pl

from .kernel import layout as L
from .training import training_flop
from .world import WORLD_DIR, World

QUANTILES = (("p5", 5.0), ("p50", 50.0), ("p95", 95.0))
BLOC_DATE = dt.date(2025, 1, 13)


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
    """bool [T, C, Q]: the largest firm can train ``target`` FLOP (per-trial MFU and run length)."""
    return training_flop(largest, mfu[:, None, None], days[:, None, None]) >= target


def weights_outcomes(out, reg, feas: np.ndarray, draws: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """For feasible 1e26 runs (bool [T, C, Q]): (a) the run reaches the regime's weights threshold
    (ECCN 4E091: ``weights.threshold_operations`` in force that quarter), so its weights would be
    controlled if closed (an upper bound: open weights and models below the most capable published
    one are not controlled); (b) and its trainer is headquartered outside Tier 1, so exporting the
    weights faces a presumption of denial. A hyperscaler site's firm is headquartered in the US; a
    domestic firm where it is located."""
    flop = training_flop(out.largest.astype(np.float64), draws["training.mfu"][:, None, None],
                         draws["training.max_days"][:, None, None])
    th = reg.weights_threshold[None, None, :]
    hq_tier1 = np.where(out.largest_site == 1, reg.tier1[:, reg.us_index][None, None, :] == 1,
                        reg.tier1.T[None, :, :] == 1)
    controlled = feas & (th > 0) & (flop >= th)
    return controlled, controlled & ~hq_tier1


def _regions(world: World) -> tuple[list[str], list[str], list[list[int]]]:
    names, kinds, members = [], [], []
    for i, iso in enumerate(world.iso3):
        names.append(iso); kinds.append("country"); members.append([i])
    for bloc, idx in bloc_members(world).items():
        names.append(bloc); kinds.append("bloc"); members.append(idx)
    names.append("World"); kinds.append("world"); members.append(list(range(len(world.iso3))))
    return names, kinds, members


def _aggregate(x: np.ndarray, members: list[list[int]]) -> np.ndarray:
    """[T, C, Q] → [T, R, Q] summed over each region's territories."""
    return np.stack([x[:, m, :].sum(axis=1) for m in members], axis=1)


def _long(metric: str, unit: str, values: np.ndarray, regions, kinds, labels) -> pl.DataFrame:
    """[T, R, Q] per-trial values → long rows (metric, unit, region, region_type, quarter, quantile, value)."""
    stats = {name: np.percentile(values, q, axis=0) for name, q in QUANTILES}
    stats["mean"] = values.mean(axis=0)
    R, Q = values.shape[1], values.shape[2]
    frames = []
    for qname, arr in stats.items():
        frames.append(pl.DataFrame({
            "metric": metric, "unit": unit,
            "region": np.repeat(regions, Q), "region_type": np.repeat(kinds, Q),
            "quarter": np.tile(labels, R), "quantile": qname, "value": arr.reshape(-1).astype(np.float64),
        }))
    return pl.concat(frames)


def summary(out, world: World, labels: list[str], draws: dict[str, np.ndarray], reg) -> pl.DataFrame:
    """The long summary table of a run (``reg``: the compiled RegimeArrays)."""
    regions, kinds, members = _regions(world)
    rows = []
    compute = out.stock.sum(axis=3, dtype=np.float64)
    agg = _aggregate(compute, members)
    rows.append(_long("compute_h100e", "H100e", agg, regions, kinds, labels))
    rows.append(_long("compute_h100e_tpp", "H100e_tpp", _aggregate(out.stock_tpp.astype(np.float64), members),
                      regions, kinds, labels))
    world_total = np.maximum(agg[:, -1:, :], 1e-12)
    rows.append(_long("share_of_world_compute", "fraction", agg / world_total, regions, kinds, labels))
    blocs = [i for i, k in enumerate(kinds) if k != "country"]
    for ch, name in enumerate(L.CHANNELS):
        x = _aggregate(out.stock[..., ch].astype(np.float64), members)[:, blocs]
        rows.append(_long(f"compute_h100e_{name}", "H100e", x,
                          [regions[i] for i in blocs], [kinds[i] for i in blocs], labels))
    for fl, name in enumerate(L.FLOWS):
        unit = "H100e_tpp cumulative" if fl == L.FL_CAP_USED else "H100e/quarter"
        if fl == L.FL_PENDING:
            unit = "H100e outstanding"
        rows.append(_long(f"flow_{name}", unit, _aggregate(out.flows[..., fl].astype(np.float64), members),
                          regions, kinds, labels))
    C = len(world.iso3)
    rows.append(_long("largest_firm_h100e", "H100e", out.largest.astype(np.float64),
                      regions[:C], kinds[:C], labels))
    feas = feasible(out.largest.astype(np.float64), draws["training.mfu"], draws["training.max_days"])
    controlled, denial = weights_outcomes(out, reg, feas, draws)
    for metric, x in (("p_feasible_1e26", feas), ("p_feasible_1e26_weights_controlled", controlled),
                      ("p_feasible_1e26_weights_export_presumption_of_denial", denial)):
        rows.append(pl.DataFrame({
            "metric": metric, "unit": "probability",
            "region": np.repeat(regions[:C], len(labels)), "region_type": "country",
            "quarter": np.tile(labels, C), "quantile": "probability",
            "value": x.mean(axis=0).reshape(-1).astype(np.float64),
        }))
    return pl.concat(rows)


def feasibility_table(out, world: World, labels: list[str], draws: dict[str, np.ndarray], reg) -> pl.DataFrame:
    """Per territory: probability of a 1e26 run at the first and last quarter, first quarter P > 50 %, and
    for feasible runs whether their closed weights would be controlled (ECCN 4E091) and face a
    presumption of denial for export (trainer headquartered outside Tier 1)."""
    f = feasible(out.largest.astype(np.float64), draws["training.mfu"], draws["training.max_days"])
    controlled, denial = weights_outcomes(out, reg, f, draws)
    feas = f.mean(axis=0)
    first = [next((labels[q] for q in range(len(labels)) if feas[c, q] > 0.5), None) for c in range(feas.shape[0])]
    return pl.DataFrame({
        "iso3": world.iso3, "name": world.countries["name"],
        "p_first_quarter": feas[:, 0], "p_last_quarter": feas[:, -1], "first_quarter_p_over_half": first,
        "p_weights_controlled_any_quarter": controlled.any(axis=2).mean(axis=0),
        "p_weights_presumption_of_denial_any_quarter": denial.any(axis=2).mean(axis=0),
        "largest_firm_h100e_p50_last": np.median(out.largest[:, :, -1], axis=0).astype(np.float64),
    }).sort("p_last_quarter", descending=True)


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
        rows.append({
            "iso3": world.iso3[c], "share_of_trials_exhausted": hit.size / ex.size,
            "exhaustion_quarter_p5": q(5), "exhaustion_quarter_p50": q(50), "exhaustion_quarter_p95": q(95),
            "unmet_h100e_p50": float(np.median(unmet[:, c])), "unmet_h100e_p95": float(np.percentile(unmet[:, c], 95)),
            "share_of_trials_nveu_exhausted": float((nv >= 0).mean()),
        })
    schema = {"iso3": pl.Utf8, "share_of_trials_exhausted": pl.Float64, "exhaustion_quarter_p5": pl.Utf8,
              "exhaustion_quarter_p50": pl.Utf8, "exhaustion_quarter_p95": pl.Utf8, "unmet_h100e_p50": pl.Float64,
              "unmet_h100e_p95": pl.Float64, "share_of_trials_nveu_exhausted": pl.Float64}
    return pl.DataFrame(rows, schema=schema).sort(
        ["share_of_trials_exhausted", "exhaustion_quarter_p50", "iso3"], descending=[True, False, False], nulls_last=True)


def trials_table(out, world: World, labels: list[str], draws: dict[str, np.ndarray]) -> pl.DataFrame:
    """One row per trial: the uncertain inputs drawn and headline outputs."""
    blocs = bloc_members(world)
    compute = out.stock.sum(axis=3, dtype=np.float64)
    feas = feasible(out.largest.astype(np.float64), draws["training.mfu"], draws["training.max_days"])
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
