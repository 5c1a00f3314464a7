"""sim: a Monte Carlo simulator of AI-chip export-control regimes.

import sim
r = sim.run(sim.load_scenario("scenarios/default.toml"))
r.summary            # polars DataFrame: metric × region × quarter × quantile
"""

__version__ = "0.1.0"

from .runner import RunResult, run  # noqa: E402
from .scenario import Scenario, load_scenario  # noqa: E402

__all__ = ["RunResult", "Scenario", "load_scenario", "run", "__version__"]
