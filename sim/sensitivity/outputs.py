"""The headline outputs of each trial, the quantities sensitivity indices are computed for: each bloc's and
the World's installed compute (H100e), the largest run trainable in 100 days by US and Chinese firms (FLOP,
by headquarters), the chips smuggled into China since the start (H100e), and the national allocations used
by the capped territories together (H100e by TPP, cumulative), each at the chosen quarters."""

from __future__ import annotations

import numpy as np

from ..kernel import layout as L
from ..metrics.run import Metrics

Key = tuple[str, str, str]  # (metric, region, quarter)


def headline(m: Metrics, quarters: list[str]) -> dict[Key, np.ndarray]:
    """float64 [T] per (metric, region, quarter) for the quarters ``quarters`` (labels of the run)."""
    regions = m.regions
    C = len(m.world.iso3)
    blocs = regions.names[C:]
    qi = [m.labels.index(q) for q in quarters]
    out: dict[Key, np.ndarray] = {}
    for g, name in enumerate(blocs):
        for q, label in zip(qi, quarters):
            out[("compute_h100e", name, label)] = m.compute_groups[:, g, q]
    for name in ("US", "China"):
        g = blocs.index(name)
        for q, label in zip(qi, quarters):
            out[("largest_run_flop", name, label)] = m.largest_run_flop_groups[:, g, q]
    china = regions.groups[blocs.index("China")]
    smuggled = np.cumsum(m.out.flows[..., L.FL_SMUGGLED][:, china].sum(axis=1, dtype=np.float64), axis=1)
    for q, label in zip(qi, quarters):
        out[("smuggled_h100e", "China", label)] = smuggled[:, q]
    capped = np.flatnonzero(m.capped)
    if capped.size:
        used = m.out.flows[..., L.FL_CAP_USED][:, capped].sum(axis=1, dtype=np.float64)  # cumulative already
        for q, label in zip(qi, quarters):
            out[("allocation_used_h100e_tpp", "capped territories", label)] = used[:, q]
    return out
