"""docs/calibration.md: every uncertain input with its distribution, 5th/50th/95th percentiles, sources
and rationale, generated from sim/assumptions/default.toml by ``sim assumptions --out docs/calibration.md``."""

from __future__ import annotations

import numpy as np

from . import load_assumptions


def _fmt(x: float) -> str:
    return f"{x:.3g}" if abs(x) < 1e4 else f"{x:,.0f}"


def _spec(d) -> str:
    if d.kind == "fixed":
        return f"fixed {_fmt(d.a)}"
    if d.kind == "uniform":
        return f"uniform [{_fmt(d.a)}, {_fmt(d.b)}]"
    lo, hi = d.ppf(np.array([0.05, 0.95]))
    return f"{d.kind}, 90 % interval [{_fmt(lo)}, {_fmt(hi)}]"


def calibration_markdown() -> str:
    a = load_assumptions()
    out = ["# Calibration: the uncertain inputs and their sources", "",
           "Generated from `sim/assumptions/default.toml` by `sim assumptions --out docs/calibration.md`; do not",
           "edit by hand. Every input is drawn once per trial by inverse CDF from a stream keyed by (seed, name);",
           "a scenario overrides any of them by name in its `[assumptions]` table.", "",
           "| parameter | unit | distribution | p5 | p50 | p95 | sources | rationale |", "|---|---|---|---|---|---|---|---|"]
    for name, d in a.dists.items():
        m = a.meta[name]
        p5, p50, p95 = d.ppf(np.array([0.05, 0.5, 0.95]))
        refs = "<br>".join(f"[{r['title']}]({r['href']})" if r.get("href") else r["title"]
                           for r in m.get("reference", [])) or "judgement"
        out.append(f"| `{name}` | {m.get('unit', '')} | {_spec(d)} | {_fmt(p5)} | {_fmt(p50)} | {_fmt(p95)} | "
                   f"{refs} | {m.get('rationale', '').replace('|', '/')} |")
    out += ["", "## Fixed structure", ""]
    for key, table in a.structure.items():
        desc = table.get("description", "")
        out.append(f"- **{key}**: {desc}. {table.get('rationale', '')}".rstrip())
    return "\n".join(out) + "\n"
