"""A scenario's uncertain inputs as a sensitivity problem: each input's stream name and group, over the
uniforms in (0, 1) that the scenario's inverse CDFs turn into draws (sim/uncertainty.py), so a design point
is one trial with the same distributions the scenario declares."""

from __future__ import annotations

from dataclasses import dataclass

from ..chips import load_chips
from ..errors import SimInputError
from ..inputs import chip_dists
from ..scenario import Scenario

# how inputs may be grouped (``--groups``): a time path's components (start, growth per year, AR(1)) as the path;
# the calibrated territories' demand weights as one input; the chip catalogue's prices and roadmap FLOP/s as two
GROUPINGS = ("paths", "demand_weight", "chips")
# inputs the kernel reads for revenue only (a chip's price: Outputs.revenue and .refused, sim/kernel/shipping.py),
# left out of a design over the headline outputs (sim/metrics/headline.py), whose indices for them are zero; a
# design that names them (``inputs``) keeps them
REVENUE_ONLY = (".price_usd",)
# a factor no part of the model reads (a design column the trials ignore; a random column of a run's trials): its
# index is the level a method reads from chance alone with this many trials, below which an input's says nothing
NOISE = "noise floor (an input nothing reads)"


@dataclass(frozen=True)
class Problem:
    """The inputs of a design: ``names`` (stream names, one column of the design each) and each one's group
    (its own name where ungrouped)."""

    names: list[str]
    groups: list[str]
    spans: list[tuple[float, float]] | None = None  # each input's range where it is not a uniform (given data)

    @property
    def grouped(self) -> bool:
        return self.groups != self.names

    @property
    def factors(self) -> list[str]:
        """The factors the indices are reported for: the groups, in order of first appearance."""
        return list(dict.fromkeys(self.groups))

    def salib(self, bounds: tuple[float, float] = (0.0, 1.0)) -> dict:
        """SALib's problem dictionary over the uniforms (``bounds`` for each input)."""
        spans = self.spans or [bounds] * len(self.names)
        p = {"num_vars": len(self.names), "names": list(self.names), "bounds": [list(b) for b in spans]}
        if self.grouped:
            p["groups"] = list(self.groups)
        return p


def uncertain_inputs(sc: Scenario) -> list[str]:
    """The stream names of every input of ``sc`` that varies between trials: the assumptions' distributions
    (time-path components included) and the chip catalogue's intervals, fixed values left out."""
    dists = {**sc.assumptions.dists, **chip_dists(load_chips())}
    return [name for name, d in dists.items() if d.kind != "fixed" and _varies(d)]


def _varies(d) -> bool:
    lo, hi = d.support()
    return hi > lo


def problem(sc: Scenario, groups: list[str] = (), inputs: list[str] | None = None) -> Problem:
    """The sensitivity problem of scenario ``sc``, its inputs grouped by the rules ``groups`` (GROUPINGS);
    ``inputs``: the inputs to vary, by name or by time path (default every uncertain input but those that
    drive revenue only, REVENUE_ONLY; the others are held at the values of the trial whose noise the design
    uses). The last factor is NOISE, the noise floor."""
    for g in groups:
        if g not in GROUPINGS:
            raise SimInputError("command line", "--groups", f"unknown grouping {g!r} (one of {', '.join(GROUPINGS)})")
    names = uncertain_inputs(sc)
    of_path = {comp: p.name for p in sc.assumptions.paths.values() for comp in p.components()}
    if inputs is None:  # the headline outputs cannot depend on inputs that drive revenue only
        names = [n for n in names if not n.endswith(REVENUE_ONLY)]
    else:
        for x in inputs:
            if x not in names and x not in of_path.values():
                raise SimInputError("command line", "--inputs", f"{x!r} is not an uncertain input of {sc.name}")
        names = [n for n in names if n in inputs or of_path.get(n) in inputs]
    out = []
    for n in names:
        if "paths" in groups and n in of_path:
            out.append(of_path[n])
        elif "demand_weight" in groups and n.startswith("demand_weight."):
            out.append("demand_weight")
        elif "chips" in groups and n.startswith("chips."):
            out.append("chips.price_usd" if n.endswith(".price_usd") else "chips.fp16_dense_tflops")
        else:
            out.append(n)
    return Problem(names + [NOISE], out + [NOISE])
