"""The per-trial numbers of one compared scenario (``Headline``), enough to compare it with others: computed
from a run or block by block (sim/comparison.py ``ComparisonReducer``), as flat arrays that concatenate over
blocks, then assembled (``Headline.from_arrays``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import metrics
from .kernel import layout as L
from .kernel.layout import CAPPED
from .runner import RunResult

COUNTRIES = ["CHN", "USA", "ARE", "SAU", "IND", "MYS"]
FLOWS = (("diverted", L.FL_DIVERTED_IN), ("smuggled", L.FL_SMUGGLED), ("denied", L.FL_DENIED))


@dataclass
class Headline:
    """Per-trial headline numbers of one scenario, enough to compare it with others."""

    name: str
    labels: list[str]
    compute: dict[str, np.ndarray]  # region → [T, Q] installed H100e
    exhausted: list[str]  # territories whose allocation runs out in > 50 % of trials
    flows: dict[str, np.ndarray]  # flow name → [T] total over the run, world
    china_unmet: np.ndarray  # [T]
    revenue: dict[str, np.ndarray]  # "<vendor>" and "refused_usd_<vendor>" → [T] total over the run, world, USD
    revenue_by: dict[str, np.ndarray]  # region → [T, Q, vendor]: vendor revenue, USD (float64 sums)
    refused_by: dict[str, np.ndarray]  # region → [T, Q, vendor]: refused orders at price (gross), USD
    runs: dict[str, np.ndarray]  # iso3 → [T, Q]: largest run trainable in 100 days by headquarters, FLOP
    abroad: np.ndarray  # [T, Q]: largest run Chinese developers can train abroad in 100 days, FLOP

    @classmethod
    def from_arrays(cls, name: str, labels: list[str], iso3: list[str], a: dict[str, np.ndarray]) -> Headline:
        """From the flat per-trial arrays of ``headline_arrays`` (concatenated over blocks)."""

        def part(prefix: str) -> dict[str, np.ndarray]:
            return {k.split("|", 1)[1]: v for k, v in a.items() if k.startswith(prefix + "|")}

        share = a["exhausted"].mean(axis=0)  # [C]: share of trials in which a capped territory runs out
        return cls(
            name,
            labels,
            part("compute"),
            [iso3[c] for c in np.flatnonzero(share > 0.5)],
            part("flow"),
            a["china_unmet"],
            part("revenue"),
            part("revenue_by"),
            part("refused_by"),
            part("run"),
            a["abroad"],
        )


def headline_arrays(res: RunResult) -> dict[str, np.ndarray]:
    """The per-trial arrays of a Headline (one row per trial), named ``<part>|<key>``."""
    world, comp, out = res.scenario.world, res.compiled, res.outputs
    idx = world.index()
    compute = out.stock.sum(axis=3, dtype=np.float64)
    regions = {b: m for b, m in metrics.bloc_members(world).items()}
    regions.update({c: [idx[c]] for c in COUNTRIES})
    capped = (comp.regime.policy == CAPPED).any(axis=(0, 2))
    by = {**regions, "World": list(range(len(world.iso3)))}  # blocs, COUNTRIES, World
    rev, ref = (metrics.group_sums(arr, list(by.values())) for arr in (out.revenue, out.refused))  # [T, R, Q, V]
    a = {f"compute|{r}": compute[:, m, :].sum(axis=1) for r, m in regions.items()}
    a["exhausted"] = (out.exhaust >= 0) & capped[None, :]
    a.update({f"flow|{name}": out.flows[..., fl].sum(axis=(1, 2), dtype=np.float64) for name, fl in FLOWS})
    china = [idx[c] for c in ("CHN", "HKG", "MAC")]
    a["china_unmet"] = out.flows[..., L.FL_UNMET][:, china, :].sum(axis=(1, 2), dtype=np.float64)
    for k, v in enumerate(L.VENDORS):
        a[f"revenue|{v.lower()}"] = out.revenue[..., k].sum(axis=(1, 2), dtype=np.float64)
        a[f"revenue|refused_usd_{v.lower()}"] = out.refused[..., k].sum(axis=(1, 2), dtype=np.float64)
    a.update({f"revenue_by|{r}": rev[:, g] for g, r in enumerate(by)})
    a.update({f"refused_by|{r}": ref[:, g] for g, r in enumerate(by)})
    a.update({f"run|{c}": res.metrics.largest_run_flop[:, idx[c], :] for c in COUNTRIES})
    a["abroad"] = res.metrics.abroad_run_flop
    return a


def headline(res: RunResult) -> Headline:
    """The Headline of a whole run."""
    return Headline.from_arrays(res.scenario.name, res.compiled.labels, res.scenario.world.iso3, headline_arrays(res))
