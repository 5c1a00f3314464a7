"""The Python API, in the style of EMA Workbench and SALib: a scenario as a ``Model`` with its uncertainties,
levers and outcomes, and runs, comparisons, sweeps and sensitivity analyses that return polars frames. All of
them run on the execution layer (sim/execution): ``runner`` takes an executor (``sim.execution.executor(
workers=2)`` or ``executor(dask="local")``), and the numbers do not depend on it.

    import sim
    model = sim.Model("scenarios/diffusion_2025.toml")
    model.uncertainties          # one row per uncertain input: its distribution's p5, p50, p95, unit
    model.levers                 # regime parameters and scenario levers with their current values
    model.outcomes               # the headline outcomes: metric, unit
    model.run(trials=200, levers={"caps.country_allocation_tpp": 790e6})   # tidy outcomes with MC error
    sim.compare(["scenarios/diffusion_2025.toml", "scenarios/rescission_2025.toml"], trials=200)
    sim.sweep("scenarios/diffusion_2025.toml", {"caps.country_allocation_tpp": [395e6, 1.58e9]}, trials=100)
    sim.sensitivity("scenarios/default.toml", method="morris", n=4, groups=["paths", "demand_weight", "chips"])
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from .chips import load_chips
from .execution import Variant, execute
from .inputs import chip_dists
from .metrics.headline import SEP, HeadlineReducer
from .metrics.mc_error import describe, probability
from .scenario import Scenario, load_scenario
from .sensitivity_analysis import sensitivity as _sensitivity
from .sensitivity_analysis.problem import uncertain_inputs
from .sweeps import sweep as _sweep
from .sweeps import tidy
from .sweeps.points import apply

OUTCOMES = {  # the headline outcomes (sim/metrics/headline.py) and their units
    "compute_h100e": "H100e installed (dense 16-bit FLOP/s)",
    "largest_run_flop": "FLOP of the largest run trainable in 100 days (by headquarters)",
    "p_train_1e26": "probability that a 1e26-FLOP run is trainable in 100 days",
    "smuggled_h100e": "H100e smuggled into China since the start",
    "allocation_used_h100e_tpp": "H100e by TPP of national allocations used (capped territories together)",
}


def _scenario(s: str | Path | Scenario) -> Scenario:
    return s if isinstance(s, Scenario) else load_scenario(s)


def _settings(sc: Scenario, trials: int | None, seed: int | None) -> Scenario:
    return sc.replace(**{k: v for k, v in (("trials", trials), ("seed", seed)) if v is not None})


class Model:
    """A scenario as a model: its uncertain inputs, the levers a user may set and the outcomes it reports."""

    def __init__(self, scenario: str | Path | Scenario):
        self.scenario = _scenario(scenario)

    @property
    def uncertainties(self) -> pl.DataFrame:
        """One row per input that varies between trials: name, kind, p5, p50, p95 (its distribution's), unit,
        description (the assumption files' and the chip catalogue's)."""
        sc = self.scenario
        dists = {**sc.assumptions.dists, **chip_dists(load_chips())}
        rows = []
        for name in uncertain_inputs(sc):
            d, meta = dists[name], sc.assumptions.meta.get(name, {})
            p5, p50, p95 = d.ppf(np.array([0.05, 0.5, 0.95]))
            unit = meta.get(
                "unit", "USD" if name.endswith(".price_usd") else "TFLOP/s" if name.startswith("chips.") else ""
            )
            rows.append(
                {
                    "name": name,
                    "kind": d.kind,
                    "p5": p5,
                    "p50": p50,
                    "p95": p95,
                    "unit": unit,
                    "description": meta.get("description", ""),
                }
            )
        return pl.DataFrame(rows)

    @property
    def levers(self) -> pl.DataFrame:
        """One row per lever: every parameter of the scenario's regimes (its latest value, unit, regime) and
        the scenario levers ``g2g.<ISO3>``, ``nveu``, ``uveu`` and ``contracted_demand.<ISO3>`` (their values in
        the scenario; sim/sweeps/points.py)."""
        rows, seen = [], set()
        for _, reg in self.scenario.timeline:
            for name, p in reg.params.items():
                if name in seen:
                    continue
                seen.add(name)
                rows.append({"name": name, "value": str(p.values[-1][1]), "unit": p.unit, "source": reg.name})
        for iso, f in self.scenario.g2g.items():
            rows.append({"name": f"g2g.{iso}", "value": str(f), "unit": "x allocation", "source": "scenario"})
        sc = self.scenario
        rows.append({"name": "nveu", "value": "+".join(sc.nveu) or "none", "unit": "", "source": "scenario"})
        rows.append({"name": "uveu", "value": "+".join(sc.uveu) or "none", "unit": "", "source": "scenario"})
        for iso in dict.fromkeys(k.iso3 for k in sc.contracts):
            rows.append(
                {"name": f"contracted_demand.{iso}", "value": "1.0", "unit": "x contracted", "source": "scenario"}
            )
        return pl.DataFrame(rows)

    @property
    def outcomes(self) -> pl.DataFrame:
        """The outcomes ``run`` reports: metric and unit (regions: blocs, the World and the scenario's countries)."""
        return pl.DataFrame({"metric": list(OUTCOMES), "unit": list(OUTCOMES.values())})

    def run(
        self, trials: int | None = None, levers: dict | None = None, seed: int | None = None, runner=None, block=100
    ):
        """The outcomes with the ``levers`` set (name → value): one row per metric × region × quarter ×
        statistic (p5, p50, p95, mean; a probability for p_train_1e26) with its Monte Carlo interval."""
        sc = apply(_settings(self.scenario, trials, seed), dict(levers or {}))
        reducer = HeadlineReducer(None, tuple(c for c in sc.countries if c in sc.world.index()))
        out = execute([Variant("p0", sc)], reducer, block, runner)
        return tidy([dict(levers or {})], out).drop("point")


def compare(
    scenarios: list, trials: int | None = None, seed: int | None = None, runner=None, block=100
) -> pl.DataFrame:
    """Scenarios on common random numbers (the first one's seed and trials): per scenario, metric, region,
    quarter, the levels (statistic p5/p50/p95/mean) and, after the first, the paired per-trial differences
    against it (diff_p5 ... diff_mean, and share_positive: the share of trials where the difference is > 0),
    each with its Monte Carlo interval."""
    from .comparison import check_comparable

    scs = [_scenario(s) for s in scenarios]
    first = _settings(scs[0], trials, seed)
    scs = [first] + [s.replace(seed=first.seed, trials=first.trials) for s in scs[1:]]
    check_comparable(scs)
    countries = tuple(dict.fromkeys(c for s in scs for c in s.countries if c in s.world.index()))
    out = execute([Variant(str(i), s) for i, s in enumerate(scs)], HeadlineReducer(None, countries), block, runner)
    names = [s.name for s in scs]
    names = [n if names.count(n) == 1 else f"{n}#{i}" for i, n in enumerate(names)]  # a scenario and its variant
    rows = []
    for i in range(len(scs)):
        for key, x in out[str(i)].items():
            metric, region, quarter = key.split(SEP)
            base = {"scenario": names[i], "metric": metric, "region": region, "quarter": quarter}
            rows += [{**base, **r} for r in describe(x)]
            if i and key in out["0"]:  # a paired difference where the first scenario has the output too
                d = x - out["0"][key]
                rows += [{**base, **r, "statistic": f"diff_{r['statistic']}"} for r in describe(d)]
                rows.append({**base, **probability(d > 0), "statistic": "share_positive"})
    return pl.DataFrame(rows)


def sweep(
    scenario,
    grid: dict | None = None,
    box: dict | None = None,
    lhs: int | None = None,
    trials: int | None = None,
    seed: int | None = None,
    runner=None,
    block=100,
) -> pl.DataFrame:
    """The tidy table of ``sim sweep`` (sim.sweeps.sweep): the product of ``grid`` (name → values), times
    ``lhs`` Latin-hypercube points over ``box`` (name → (lo, hi)), on common random numbers."""
    return _sweep(_settings(_scenario(scenario), trials, seed), grid, box, lhs, block, runner=runner).table


def sensitivity(
    scenario,
    method: str = "sobol",
    n: int | None = None,
    groups=(),
    inputs=None,
    quarters=None,
    seed: int | None = None,
    runner=None,
) -> pl.DataFrame:
    """The tidy indices of ``sim sensitivity`` (sim.sensitivity_analysis.sensitivity)."""
    sc = _settings(_scenario(scenario), None, seed)
    return _sensitivity(sc, method, n, list(groups), inputs, quarters, runner=runner).indices
