"""sim: a Monte Carlo simulator of AI-chip export-control regimes.

import sim
r = sim.run(sim.load_scenario("scenarios/default.toml"))
r.summary            # polars DataFrame: metric × region × quarter × quantile
model = sim.Model("scenarios/diffusion_2025.toml")   # uncertainties, levers, outcomes; model.run(...)
sim.compare([...]), sim.sweep(...), sim.sensitivity(...)   # polars frames (sim/api.py)

``import sim`` is cheap: numba, polars and matplotlib load when ``run``, ``load_scenario``, ``RunResult`` or
``Scenario`` is first used, so ``sim --help`` and ``sim --version`` start fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

# The single source of the version (pyproject.toml reads it). It moves with every change to the model or its
# inputs, and CHANGELOG.md records each version's headline reference numbers.
__version__ = "0.6.0"

__all__ = ["Model", "RunResult", "Scenario", "compare", "load_scenario", "run", "sensitivity", "sweep", "__version__"]

_LAZY = {
    "run": "runner",
    "RunResult": "runner",
    "load_scenario": "scenario",
    "Scenario": "scenario",
    **{name: "api" for name in ("Model", "compare", "sweep", "sensitivity")},
}

if TYPE_CHECKING:
    from .api import Model, compare, sensitivity, sweep
    from .runner import RunResult, run
    from .scenario import Scenario, load_scenario


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
