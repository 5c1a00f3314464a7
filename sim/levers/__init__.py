"""`sim levers`: what each rule does. For every rule group of a regime file (a destination class, chip rule,
cap, allowance, LPP, UVEU, NVEU, enforcement, weights or ECCN entry), the paired effect of switching it off:
the regime's shipped scenario run twice with the same seed and trials (common random numbers), once as
written and once with the group's parameters at their neutral values, on the metric the rule targets.
The lever tables beside the rules say how (``spec.py``); the metrics are in ``measure.py``.
"""

from __future__ import annotations

import hashlib
import sys

import numpy as np
import polars as pl

from .. import __version__, examples
from ..assumptions import DEFAULT as ASSUMPTIONS
from ..errors import DataError
from ..inputs import compile_scenario
from ..kernel.allocate import run_kernel
from ..regimes import REGIME_DIR, load_regime
from ..world import WORLD_DIR
from .measure import describe, measure
from .spec import CATEGORIES, MEASURES, Lever, levers, neutralised, scenario_for, uncovered

__all__ = [
    "CATEGORIES",
    "MEASURES",
    "TRIALS",
    "Lever",
    "effects",
    "failures",
    "files_hash",
    "levers",
    "regime_names",
    "report",
    "uncovered",
]

# the world data a run reads (not the back-test's targets or the published runs of `sim validate`)
WORLD_INPUTS = (
    "countries.csv",
    "country_groups.csv",
    "demand_weights.csv",
    "hyperscaler_sites.csv",
    "buyers.csv",
    "chips.csv",
    "blocs.toml",
)
TRIALS = 200  # enough for a paired effect's sign and interval with common random numbers


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
    """sha256 of what the table's numbers follow from besides the code: the regime files, the scenario files
    their levers run in, the assumptions and the world data (chips, territories, groups, demand, blocs)."""
    h = hashlib.sha256()
    paths = []
    for name in regimes:
        reg = load_regime(name)
        paths += [reg.path] + sorted({examples.path(lv.scenario) for lv in levers(reg)})
    paths += [ASSUMPTIONS] + [WORLD_DIR / name for name in WORLD_INPUTS]
    for p in paths:
        h.update(p.name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()[:16]


def effects(regime: str, trials: int = TRIALS) -> pl.DataFrame:
    """One row per lever of ``regime``: the metric with the rule and without (medians of each run), the paired
    effect (rule − neutral, per trial) p5/p50/p95, the share of trials with the expected sign, and a status."""
    rows, runs = [], {}
    for lv in levers(load_regime(regime)):
        sc = scenario_for(lv, trials)
        if lv.scenario not in runs:
            comp = compile_scenario(sc)
            runs[lv.scenario] = (comp, run_kernel(comp.inputs))
        comp, out = runs[lv.scenario]
        alt = compile_scenario(neutralised(sc, lv))
        with_rule = measure(lv, out, comp, sc)
        without = measure(lv, run_kernel(alt.inputs), comp, sc, alt.regime)
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
                "status": status(d, lv),
                "inactive": lv.inactive,
            }
        )
    return pl.DataFrame(rows)


def status(d: np.ndarray, lv: Lever) -> str:
    """ "ok", "inactive" (no effect in any trial, as the regime file says), or what is wrong."""
    p50 = float(np.median(d))
    if lv.inactive:
        return "inactive" if not np.any(d) else "FAIL: effect where the file says inactive"
    if p50 == 0:
        return "FAIL: zero median effect"
    return "ok" if np.sign(p50) == lv.expect else "FAIL: wrong sign"


def _short(name: str, group: str) -> str:
    return name[len(group) + 1 :] if name.startswith(group + ".") else name.split(".")[-1]


def _show(v: object) -> str:
    if isinstance(v, float) and v >= 1e20:
        return "unbounded"
    return "[]" if v == [] else str(v).lower() if isinstance(v, bool) else str(v)


def _metric_text(r: dict) -> str:
    return describe(r["metric"], r["region"], r["quarter"])


def _num(x: float) -> str:
    return f"{x:,.3g}" if abs(x) < 100 else f"{x:.3g}" if abs(x) >= 1e12 else f"{x:,.0f}"


def markdown(table: pl.DataFrame, digest: str, trials: int, missing: dict[str, list[str]]) -> str:
    """docs/levers.md from ``effects`` rows of every regime."""
    out = [
        "# Levers: what each rule does",
        "",
        "Generated by `sim levers --out docs/levers.md` (with docs/levers.csv beside it); do not edit by hand.",
        f"Regime, scenario, assumption and world files sha256 `{digest}`; sim {__version__}; {trials} trials per run.",
        "",
        "Each row switches one rule group of a regime file off (the parameters and neutral values shown) and runs",
        "the regime's shipped scenario with and without it on common random numbers (same seed, same trials). The",
        "effect is the rule's: the metric with the rule less without it, per trial, as p5 / p50 / p95, and the",
        "share of trials whose effect has the expected sign (`expect`, written beside the rule in its file). A",
        "rule no shipped scenario activates (an NVEU or G2G grant no scenario names, a class already licence-free)",
        "is marked inactive with its reason and must show no effect. Flows are summed from the run's start; H100e",
        "by FLOP/s unless the metric says USD. The 'with rule' and 'without' columns are each run's median; the",
        "effect's median is the median of the per-trial differences, so the two can differ (even in sign where",
        "the effect is small against the spread).",
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
    """Run the levers of ``regimes`` (default: every shipped regime): (the rows, the markdown page). Every
    file, lever and scenario is checked before the first run."""
    regimes = regimes or regime_names()
    for name in regimes:
        reg = load_regime(name)
        found = levers(reg)
        if not found:
            raise DataError(reg.path, "lever", "no parameter of this file has a lever table (docs/architecture.md)")
        for lv in found:
            scenario_for(lv, trials)
    frames = []
    for name in regimes:
        if progress:
            print(f"levers: {name}", file=sys.stderr, flush=True)
        frames.append(effects(name, trials))
    table = pl.concat(frames, how="vertical")
    missing = {name: uncovered(load_regime(name)) for name in regimes}
    return table, markdown(table, files_hash(regimes), trials, missing)


def failures(table: pl.DataFrame) -> list[str]:
    """The rows whose status is a failure, as "regime group: status"."""
    return [
        f"{r['regime']} {r['group']}: {r['status']}"
        for r in table.iter_rows(named=True)
        if r["status"].startswith("FAIL")
    ]
