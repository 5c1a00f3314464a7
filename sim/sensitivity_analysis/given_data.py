"""delta and PAWN on a run that already exists: both are given-data methods, so a run folder's trials.parquet
(each trial's drawn inputs, ``input.<name>``, and its headline outputs per quarter, ``output.<metric>|<region>|
<quarter>``) is their design. The inputs are the uncertain inputs of the run's scenario that vary between its
trials, each over the range its draws span; inputs derived from others (``smuggling.take_up``) are left out.
A column of random numbers joins them as a factor (NOISE): no output depends on it, so its index is the level
the method reads from chance alone with this many trials, below which an input's index says nothing."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import polars as pl

from ..errors import SimInputError
from ..metrics.headline import SEP
from ..metrics.tables import OUTPUT
from .methods import check
from .problem import GROUPINGS, NOISE, Problem

GIVEN_DATA = ("delta", "pawn")
DERIVED = ("smuggling.take_up", "installed_base.world_h100e")  # computed from other inputs (sim/inputs.py)


def load(run_dir: Path) -> tuple[dict, pl.DataFrame]:
    """The manifest and trials table of a results folder, or SimInputError naming the file."""
    man_path, trials = run_dir / "manifest.json", run_dir / "trials.parquet"
    try:
        man = json.loads(man_path.read_text(encoding="utf-8"))
        man["scenario"]["name"]
    except (OSError, ValueError, KeyError, TypeError):
        raise SimInputError(man_path, "", "not a run's manifest") from None
    try:
        table = pl.read_parquet(trials)
    except (OSError, pl.exceptions.PolarsError) as e:
        raise SimInputError(trials, "", f"cannot be read ({str(e).splitlines()[0][:100]})") from None
    if not any(c.startswith(OUTPUT) for c in table.columns):
        raise SimInputError(trials, OUTPUT, "no per-quarter outputs (a run of sim before 0.6): run it again")
    return man, table


def given_data(run_dir: Path, method: str, groups: list[str] = (), quarters: list[str] | None = None, loaded=None):
    """The ``method`` (delta or PAWN) indices of a run's headline outputs at ``quarters`` (default 2027Q4 and
    the run's last) over its drawn inputs (``loaded``: the folder's ``load``, if read already). Returns a
    Sensitivity (sim.sensitivity_analysis)."""
    from . import Sensitivity, tidy

    t0 = time.perf_counter()
    if method not in GIVEN_DATA:
        what = " or ".join(GIVEN_DATA)
        raise SimInputError(
            "command line", "--method", f"a run folder takes {what} (given-data methods), not {method!r}"
        )
    for g in groups:
        if g not in GROUPINGS:
            raise SimInputError("command line", "--groups", f"unknown grouping {g!r} (one of {', '.join(GROUPINGS)})")
    man, table = loaded or load(run_dir)
    labels = man.get("quarters", [])
    quarters = quarters or list(dict.fromkeys([q for q in ("2027Q4",) if q in labels] + labels[-1:]))
    for q in quarters:
        if q not in labels:
            raise SimInputError("command line", "--quarters", f"{q!r} is not a quarter of the run")
    names = [
        c[len("input.") :]
        for c in table.columns
        if c.startswith("input.") and c[len("input.") :] not in DERIVED and table[c].n_unique() > 1
    ]
    prob = Problem(names, names)
    if groups:  # grouped PAWN: a time path's components, demand weights and chips as in a design
        from .problem import problem as design_problem

        try:
            from ..scenario import load_scenario

            full = design_problem(load_scenario(man["scenario"]["path"]), list(groups), inputs=names)
            of = dict(zip(full.names, full.groups))
            prob = Problem(names, [of.get(n, n) for n in names])
        except SimInputError:
            raise SimInputError("command line", "--groups", "the run's scenario file cannot be read") from None
    # a column of noise the outputs cannot depend on: its index is what the method reads from chance alone
    seed = int(man.get("seed", 0))
    noise = np.random.default_rng(np.random.SeedSequence([seed, 14])).random(table.height)
    prob = Problem(prob.names + [NOISE], prob.groups + [NOISE])
    check(prob, method, table.height)
    X = np.column_stack([table[f"input.{n}"].to_numpy().astype(np.float64) for n in names] + [noise])
    values = {}
    for c in table.columns:
        if c.startswith(OUTPUT):
            metric, region, quarter = c[len(OUTPUT) :].split(SEP)
            if quarter in quarters:
                values[(metric, region, quarter)] = table[c].to_numpy().astype(np.float64)
    lo, hi = X.min(axis=0), X.max(axis=0)
    spans = [(float(a), float(b)) for a, b in zip(lo, hi)]
    indices = tidy(method, Problem(prob.names, prob.groups, spans), X, values, seed)
    sc = man["scenario"]
    regime = man.get("regime")
    about = {
        "scenario": {"name": sc["name"], "path": sc.get("path"), "settings": sc.get("settings")},
        "regime": regime.get("name") if isinstance(regime, dict) else regime,
        "seed": seed,
        "rows": f"the trials of {run_dir}",
    }
    return Sensitivity(about, method, table.height, prob, X, values, indices, time.perf_counter() - t0)
