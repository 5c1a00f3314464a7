"""The headline outputs of each trial, the quantities that sweeps and sensitivity indices report: each bloc's,
the World's and some countries' installed compute (H100e), the largest run trainable in 100 days by the firms
headquartered in the US, China and those countries (FLOP), the chips smuggled into China since the start
(H100e), and the national allocations used by the capped territories together (H100e by TPP, cumulative), at
chosen quarters. ``HeadlineReducer`` computes them from one block's kernel outputs (sim/execution)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..kernel import layout as L

if TYPE_CHECKING:
    from .run import Metrics

Key = tuple[str, str, str]  # (metric, region, quarter)
SEP = "|"  # a key as one string: metric|region|quarter


def headline(m: Metrics, quarters: list[str], countries: list[str] = ()) -> dict[Key, np.ndarray]:
    """float64 [T] per (metric, region, quarter) for the quarters ``quarters`` (labels of the run) and the
    territories ``countries`` (iso3) beside the blocs."""
    regions = m.regions
    C = len(m.world.iso3)
    blocs = regions.names[C:]
    idx = m.world.index()
    qi = [m.labels.index(q) for q in quarters]
    out: dict[Key, np.ndarray] = {}

    def put(metric: str, region: str, series: np.ndarray) -> None:  # series [T, Q]
        for q, label in zip(qi, quarters):
            out[(metric, region, label)] = np.asarray(series[:, q], dtype=np.float64)

    for g, name in enumerate(blocs):
        put("compute_h100e", name, m.compute_groups[:, g])
    for c in countries:
        put("compute_h100e", c, m.compute[:, idx[c]])
    for name in ("US", "China"):
        put("largest_run_flop", name, m.largest_run_flop_groups[:, blocs.index(name)])
    for c in countries:
        put("largest_run_flop", c, m.largest_run_flop[:, idx[c]])
    china = regions.groups[blocs.index("China")]
    put(
        "smuggled_h100e",
        "China",
        np.cumsum(m.out.flows[..., L.FL_SMUGGLED][:, china].sum(axis=1, dtype=np.float64), axis=1),
    )
    capped = np.flatnonzero(m.capped)  # cumulative already; zero where no territory is capped
    used = m.out.flows[..., L.FL_CAP_USED][:, capped].sum(axis=1, dtype=np.float64)
    put("allocation_used_h100e_tpp", "capped territories", used)
    return out


@dataclass(frozen=True)
class HeadlineReducer:
    """A block's headline outputs (``headline``) as arrays named ``metric|region|quarter``; ``quarters``
    None: every quarter of the run."""

    quarters: tuple[str, ...] | None = None
    countries: tuple[str, ...] = ()

    def __call__(self, sc, comp, out) -> dict[str, np.ndarray]:
        from .run import Metrics

        m = Metrics(out, sc.world, comp.labels, comp.draws, comp.regime, comp.abroad)
        quarters = list(self.quarters) if self.quarters is not None else comp.labels
        return {SEP.join(k): v for k, v in headline(m, quarters, list(self.countries)).items()}
