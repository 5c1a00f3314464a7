"""docs/calibration.md: every uncertain input with its distribution, 5th/50th/95th percentiles, sources
and rationale, generated from sim/assumptions/default.toml by ``sim assumptions --out docs/calibration.md``."""

from __future__ import annotations

import numpy as np

from ..chips import load_chips
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


def _refs(m: dict) -> str:
    return (
        "<br>".join(f"[{r['title']}]({r['href']})" if r.get("href") else r["title"] for r in m.get("reference", []))
        or "judgement"
    )


def calibration_markdown() -> str:
    a = load_assumptions()
    out = [
        "# Calibration: the uncertain inputs and their sources",
        "",
        "Generated from `sim/assumptions/default.toml` by `sim assumptions --out docs/calibration.md`; do not",
        "edit by hand. Every input is drawn once per trial by inverse CDF from a stream keyed by (seed, name);",
        "a scenario overrides any of them by name in its `[assumptions]` table.",
        "",
        "## Time paths",
        "",
        "Level at the anchor quarter, growth factor per calendar year (Q1 to Q1; later years repeat the last",
        "entry) and persistent multiplicative noise, AR(1) with quarter-to-quarter correlation rho and log-sd sd",
        "(sim/paths.py). Each component is overridable by its dotted name.",
        "",
    ]
    for name, spec in a.paths.items():
        m = a.meta[f"{name}.start"]
        out += [
            f"### `{name}`",
            "",
            f"{m['description'].split(':')[0]} ({a.meta[name + '.start']['unit']}).",
            "",
            "| component | distribution | p5 | p50 | p95 |",
            "|---|---|---|---|---|",
        ]
        for comp in spec.components():
            d = a.dists[comp]
            p5, p50, p95 = d.ppf(np.array([0.05, 0.5, 0.95]))
            out.append(f"| `{comp[len(name) + 1 :]}` | {_spec(d)} | {_fmt(p5)} | {_fmt(p50)} | {_fmt(p95)} |")
        out += ["", f"Rationale: {m.get('rationale', '')}", "", f"Sources: {_refs(m)}", ""]
    out += [
        "## Per-trial inputs",
        "",
        "| parameter | unit | distribution | p5 | p50 | p95 | sources | rationale |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, d in a.dists.items():
        m = a.meta[name]
        if "path" in m:
            continue
        p5, p50, p95 = d.ppf(np.array([0.05, 0.5, 0.95]))
        out.append(
            f"| `{name}` | {m.get('unit', '')} | {_spec(d)} | {_fmt(p5)} | {_fmt(p50)} | {_fmt(p95)} | "
            f"{_refs(m)} | {m.get('rationale', '').replace('|', '/')} |"
        )
    chips = load_chips()
    out += [
        "",
        "## Chips with uncertain specifications",
        "",
        "Roadmap parts whose dense 16-bit rate is not published: each trial draws it (lognormal with this",
        "90 % interval, stream `chips.<name>.fp16_dense_tflops`) from `sim/world/chips.csv`; TPP and rule",
        "classes use the published figures.",
        "",
        "| chip | vendor | year | catalogue TFLOP/s | p5 | p95 | source |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in chips.filter(chips["fp16_ci90_low"].is_not_null()).iter_rows(named=True):
        out.append(
            f"| {r['name']} | {r['vendor']} | {r['year']} | {r['h100e_flops'] * 989.5:,.0f} | "
            f"{r['fp16_ci90_low']:,} | {r['fp16_ci90_high']:,} | {r['source_fp16_range']} |"
        )
    out += ["", "## Fixed structure", ""]
    for key, table in a.structure.items():
        desc = table.get("description", "")
        out.append(f"- **{key}**: {desc}. {table.get('rationale', '')}".rstrip())
    return "\n".join(out) + "\n"
