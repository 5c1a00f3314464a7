"""`sim levers`: what each rule does. For every rule group of a regime file (a destination class, chip rule,
cap, allowance, LPP, UVEU, NVEU, enforcement, weights or ECCN entry), the paired effect of switching it off:
the regime's shipped scenario run twice with the same seed and trials (common random numbers), once as
written and once with the group's parameters set to their neutral values, on the metric the rule targets.

The regime file says, beside each rule, how to switch it off and what to look at (a parameter's ``lever``
table): ``neutral`` on every parameter of the group; ``metric``, ``region``, ``quarter`` and ``expect`` (the
sign of the rule's effect, rule minus neutral) on one of them; optionally ``scenario`` (the shipped scenario
to run, default the regime's name), ``group`` (default: the parameter's table, e.g. ``destinations.tier2``,
or the parameter itself for two-part names such as ``caps.country_allocation_tpp``) and ``inactive`` (why
no shipped scenario activates the rule: its effect must then be zero).

Metrics (``metric``; all H100e by FLOP/s unless said): ``stock`` installed at the quarter, all channels;
``legal`` the licence-free, licensed and VEU channels; ``grey``, ``smuggled``, ``diverted`` inflows summed
from the run's start to the quarter; ``family:<name>`` stock of a chip family delivered during the run;
``revenue:<vendor>`` legal sales summed to the quarter (USD); ``weights_controlled`` the number of territories
whose largest 1e26-FLOP run would have controlled weights (ECCN 4E091). Regions: ``class`` (the territories
in the group's destination class that quarter), a reporting bloc, ``World``, an ISO3 code or a country-set
list (``["*", "-CHN"]``).
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from . import __version__, examples, quarters
from .errors import DataError
from .inputs import compile_scenario
from .kernel import layout as L
from .kernel.allocate import run_kernel
from .metrics import bloc_members
from .metrics.feasibility import largest_run_flop, weights_outcomes
from .regimes import REGIME_DIR, Regime, load_regime
from .scenario import Scenario, load_scenario

TRIALS = 200  # enough for a paired effect's sign and interval with common random numbers
CATEGORIES = ("destinations", "chip_rules", "caps", "allowances", "lpp", "uveu", "nveu", "enforcement", "weights")
FLOW_MEASURES = {
    "grey": (L.FL_DIVERTED_IN, L.FL_SMUGGLED),
    "smuggled": (L.FL_SMUGGLED,),
    "diverted": (L.FL_DIVERTED_IN,),
}
MEASURES = ("stock", "legal", *FLOW_MEASURES, "weights_controlled")  # and family:<name>, revenue:<vendor>
_GROUP_KEYS = ("metric", "region", "quarter", "expect")


@dataclass(frozen=True)
class Lever:
    """One rule group of a regime file and how to switch it off."""

    regime: str
    group: str
    neutral: dict[str, object]  # parameter → neutral value
    kept: tuple[str, ...]  # parameters of the group left as they are (e.g. a cap's counting start)
    metric: str
    region: object
    quarter: str
    expect: int  # +1 or -1: the sign of (with the rule − without it)
    scenario: str
    inactive: str  # why no shipped scenario activates it ("" if one does)
    path: Path


def group_of(name: str, lever: dict | None) -> str:
    """The rule group of parameter ``name``: ``lever.group``, else its table (three-part names) or itself."""
    if lever and "group" in lever:
        return str(lever["group"])
    parts = name.split(".")
    return ".".join(parts[:-1]) if len(parts) > 2 else name


def _check_metric(metric: object, path: Path, fld: str) -> str:
    m = str(metric)
    kind, _, arg = m.partition(":")
    ok = m in MEASURES or (kind == "family" and arg in L.FAMILIES) or (kind == "revenue" and arg in L.VENDORS)
    if not ok:
        raise DataError(
            path, fld, f"unknown metric {m!r} (one of {', '.join(MEASURES)}, family:<name>, revenue:<vendor>)"
        )
    return m


def levers(regime: Regime) -> list[Lever]:
    """The rule groups its own file declares a lever for, in file order (checked: one metric per group)."""
    members: dict[str, list[str]] = {}
    for name in regime.own:
        lever = regime.params[name].lever
        if lever is not None:
            members.setdefault(group_of(name, lever), []).append(name)
    out = []
    for group, names in members.items():
        levs = {n: regime.params[n].lever for n in names}
        heads = [n for n, lv in levs.items() if "metric" in lv]
        if len(heads) != 1:
            raise DataError(
                regime.path,
                f"{names[0]}.lever",
                f"group {group!r} needs metric, region, quarter and expect on one parameter, found {len(heads)}",
            )
        head, meta = heads[0], levs[heads[0]]
        for k in _GROUP_KEYS:
            if k not in meta:
                raise DataError(regime.path, f"{head}.lever.{k}", "missing")
        neutral = {n: lv["neutral"] for n, lv in levs.items() if "neutral" in lv}
        if not neutral:
            raise DataError(regime.path, f"{head}.lever.neutral", f"group {group!r} switches nothing off")
        scenario = str(meta.get("scenario", regime.name))
        if scenario not in examples.names():
            raise DataError(regime.path, f"{head}.lever.scenario", f"no shipped scenario named {scenario!r}")
        try:
            quarters.parse_label(str(meta["quarter"]))
        except ValueError as e:
            raise DataError(regime.path, f"{head}.lever.quarter", str(e)) from None
        out.append(
            Lever(
                regime.name,
                group,
                neutral,
                tuple(n for n in names if n not in neutral),
                _check_metric(meta["metric"], regime.path, f"{head}.lever.metric"),
                meta["region"],
                str(meta["quarter"]),
                1 if meta["expect"] == "+" else -1,
                scenario,
                str(meta.get("inactive", "")),
                regime.path,
            )
        )
    return out


def uncovered(regime: Regime) -> list[str]:
    """Rule groups of the regime's own file (CATEGORIES) that carry no lever."""
    have = {lv.group for lv in levers(regime)}
    nested = ("destinations", "chip_rules", "allowances")  # groups are their sub-tables (not destinations.order)
    groups = [
        group_of(n, regime.params[n].lever)
        for n in regime.own
        if n.split(".")[0] in CATEGORIES and (n.count(".") >= 2 or n.split(".")[0] not in nested)
    ]
    return [g for g in dict.fromkeys(groups) if g not in have]


def _region(lever: Lever, sc: Scenario, comp, q: int) -> list[int]:
    world, r = sc.world, lever.region
    if r == "class":
        cls = lever.group.split(".")[1] if lever.group.startswith("destinations.") else None
        if cls is None:
            raise DataError(lever.path, f"{lever.group}.lever.region", "'class' needs a destination class")
        return [c for c, name in enumerate(comp.regime.dest_class[q]) if name == cls]
    if r == "World":
        return list(range(len(world.iso3)))
    blocs = bloc_members(world)
    if isinstance(r, str) and r in blocs:
        return blocs[r]
    items = [r] if isinstance(r, str) else list(r)
    idx = world.index()
    date = quarters.midpoint(lever.quarter)
    return sorted(idx[c] for c in world.resolve(items, date, lever.path, f"{lever.group}.lever.region"))


def measure(lever: Lever, out, comp, sc: Scenario, rules=None) -> np.ndarray:
    """float64 [T]: the lever's metric in each trial of kernel outputs ``out``; ``comp`` (the compiled
    scenario with the rule) fixes the region, ``rules`` (the compiled regime ``out`` ran under, default
    ``comp.regime``) the weights threshold."""
    if lever.quarter not in comp.labels:
        raise DataError(lever.path, f"{lever.group}.lever.quarter", f"{lever.quarter} is outside {sc.path.name}")
    q = comp.labels.index(lever.quarter)
    idx = _region(lever, sc, comp, q)
    kind, _, arg = lever.metric.partition(":")
    f8 = np.float64
    if kind == "stock":
        return out.stock[:, idx, q, :].sum(axis=(1, 2), dtype=f8)
    if kind == "legal":
        return out.stock[:, idx, q][..., [L.CH_FREE, L.CH_LICENSED, L.CH_VEU]].sum(axis=(1, 2), dtype=f8)
    if kind in FLOW_MEASURES:
        return out.flows[:, idx, : q + 1][..., list(FLOW_MEASURES[kind])].sum(axis=(1, 2, 3), dtype=f8)
    if kind == "family":
        return out.family[:, idx, q, L.FAMILIES.index(arg)].sum(axis=1, dtype=f8)
    if kind == "revenue":
        return out.revenue[:, idx, : q + 1, L.VENDORS.index(arg)].sum(axis=(1, 2), dtype=f8)
    flop = largest_run_flop(out.largest, comp.draws)  # weights_controlled
    controlled, _ = weights_outcomes(flop, out.largest_site, comp.regime if rules is None else rules)
    return controlled[:, idx, q].sum(axis=1, dtype=f8)


def regime_names() -> list[str]:
    """The shipped regime files, in the order of their bases (a base before the regimes built on it)."""
    names, order = sorted(p.stem for p in REGIME_DIR.glob("*.toml")), []

    def visit(name: str) -> None:
        base = load_regime(name).base
        if base is not None:
            visit(base.name)
        if name not in order:
            order.append(name)

    for n in names:
        visit(n)
    return order


def files_hash(regimes: list[str]) -> str:
    """sha256 of the regime files and of the scenario files their levers run in."""
    h = hashlib.sha256()
    for name in regimes:
        reg = load_regime(name)
        paths = [reg.path] + sorted({examples.path(lv.scenario) for lv in levers(reg)})
        for p in paths:
            h.update(p.name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()[:16]


def effects(regime: str, trials: int = TRIALS) -> pl.DataFrame:
    """One row per lever of ``regime``: the metric with the rule and without (medians), the paired effect
    (rule − neutral) p5/p50/p95, the share of trials with the expected sign, and a status."""
    reg = load_regime(regime)
    rows, base_runs = [], {}
    for lv in levers(reg):
        if lv.scenario not in base_runs:
            sc = load_scenario(examples.path(lv.scenario)).replace(trials=trials)
            comp = compile_scenario(sc)
            base_runs[lv.scenario] = (sc, comp, run_kernel(comp.inputs))
        sc, comp, out = base_runs[lv.scenario]
        alt_sc = sc.with_params(lv.neutral, lv.path)
        alt_comp = compile_scenario(alt_sc)
        with_rule = measure(lv, out, comp, sc)
        without = measure(lv, run_kernel(alt_comp.inputs), comp, sc, alt_comp.regime)
        d = with_rule - without
        p5, p50, p95 = np.percentile(d, [5, 50, 95])
        rows.append(
            {
                "regime": lv.regime,
                "group": lv.group,
                "neutralised": ", ".join(f"{_short(n, lv.group)}={_show(v)}" for n, v in lv.neutral.items()),
                "scenario": lv.scenario,
                "metric": lv.metric,
                "region": lv.region if isinstance(lv.region, str) else " ".join(lv.region),
                "quarter": lv.quarter,
                "expect": "+" if lv.expect > 0 else "-",
                "with_rule_p50": float(np.median(with_rule)),
                "neutral_p50": float(np.median(without)),
                "effect_p5": float(p5),
                "effect_p50": float(p50),
                "effect_p95": float(p95),
                "share_expected_sign": float(np.mean(np.sign(d) == lv.expect)),
                "status": status(float(p50), lv),
                "inactive": lv.inactive,
            }
        )
    return pl.DataFrame(rows)


def status(p50: float, lv: Lever) -> str:
    """ "ok", "inactive" (a zero effect, as the regime file says), or what is wrong."""
    if lv.inactive:
        return "inactive" if p50 == 0 else "FAIL: effect where the file says inactive"
    if p50 == 0:
        return "FAIL: zero median effect"
    return "ok" if np.sign(p50) == lv.expect else "FAIL: wrong sign"


def _short(name: str, group: str) -> str:
    return name[len(group) + 1 :] if name.startswith(group + ".") else name.split(".")[-1]


def _show(v: object) -> str:
    if isinstance(v, float) and v >= 1e20:
        return "unbounded"
    return "[]" if v == [] else str(v).lower() if isinstance(v, bool) else str(v)


_MEASURE_TEXT = {
    "stock": "installed stock",
    "legal": "legal stock (licence-free, licensed, VEU)",
    "grey": "diverted and smuggled inflow to date",
    "smuggled": "smuggled inflow to date",
    "diverted": "diverted inflow to date",
    "weights_controlled": "territories whose 1e26 run would have controlled weights",
}


def _metric_text(r: dict) -> str:
    kind, _, arg = r["metric"].partition(":")
    what = {"family": f"{arg} stock delivered", "revenue": f"{arg} revenue to date (USD)"}.get(kind)
    region = "the class's territories" if r["region"] == "class" else r["region"]
    return f"{what or _MEASURE_TEXT[kind]}, {region}, {r['quarter']}"


def _num(x: float) -> str:
    return f"{x:,.3g}" if abs(x) < 100 else f"{x:,.0f}"


def markdown(table: pl.DataFrame, digest: str, trials: int, missing: dict[str, list[str]]) -> str:
    """docs/levers.md from ``effects`` rows of every regime."""
    out = [
        "# Levers: what each rule does",
        "",
        "Generated by `sim levers --out docs/levers.md` (with docs/levers.csv beside it); do not edit by hand.",
        f"Regime and scenario files sha256 `{digest}`; sim {__version__}; {trials} trials per run.",
        "",
        "Each row switches one rule group of a regime file off (the parameters and neutral values shown) and runs",
        "the regime's shipped scenario with and without it on common random numbers (same seed, same trials). The",
        "effect is the rule's: the metric with the rule less without it, per trial, as p5 / p50 / p95, and the",
        "share of trials whose effect has the expected sign (`expect`, written beside the rule in its file). A",
        "rule no shipped scenario activates (an NVEU or G2G grant no scenario names, a class already licence-free)",
        "is marked inactive with its reason and must show no effect. Flows are summed from the run's start; H100e",
        "by FLOP/s unless the metric says USD.",
        "",
    ]
    for regime in table["regime"].unique(maintain_order=True):
        rows = table.filter(pl.col("regime") == regime)
        out += [
            f"## {regime}",
            "",
            "| rule group | switched off | metric | expect | with rule | without | effect p5 / p50 / p95 "
            "| expected sign | status |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for r in rows.iter_rows(named=True):
            eff = " / ".join(_num(r[k]) for k in ("effect_p5", "effect_p50", "effect_p95"))
            st = f"inactive: {r['inactive']}" if r["status"] == "inactive" else r["status"]
            scen = "" if r["scenario"] == regime else f" (in {r['scenario']})"
            out.append(
                f"| `{r['group']}` | {r['neutralised']} | {_metric_text(r)}{scen} | {r['expect']} | "
                f"{_num(r['with_rule_p50'])} | {_num(r['neutral_p50'])} | {eff} | "
                f"{r['share_expected_sign']:.0%} | {st} |"
            )
        out.append("")
    if any(missing.values()):
        out += ["Rule groups without a lever:", ""]
        out += [f"- {reg}: {', '.join(gs)}" for reg, gs in missing.items() if gs]
        out.append("")
    return "\n".join(out)


def report(regimes: list[str] | None = None, trials: int = TRIALS, progress: bool = False) -> tuple[pl.DataFrame, str]:
    """Run the levers of ``regimes`` (default: every shipped regime): (the rows, the markdown page)."""
    regimes = regimes or regime_names()
    for name in regimes:  # every file and lever checked before the first run
        levers(load_regime(name))
    frames = []
    for name in regimes:
        if progress:
            print(f"levers: {name}", file=sys.stderr, flush=True)
        frames.append(effects(name, trials))
    table = pl.concat([f for f in frames if f.height], how="vertical")
    missing = {name: uncovered(load_regime(name)) for name in regimes}
    return table, markdown(table, files_hash(regimes), trials, missing)
