"""Figure of training capability: the largest run trainable in 100 days by the firms headquartered in the US, China
and the scenario's countries, and the probability of a 1e26- and a 1e27-FLOP run by quarter, with the quarter each
passes 50 % marked."""

from __future__ import annotations

import numpy as np
import polars as pl

from .compute import log_axis
from .data import RunTables
from .style import BLOC_COLOURS, MM, OKABE_ITO, TWO_COLUMNS, figure, finish, quarter_axis, styled

THRESHOLDS = (("p_train_1e26", "1e26 FLOP", "-"), ("p_train_1e27", "1e27 FLOP", "--"))


COUNTRY_COLOURS = [OKABE_ITO[k] for k in ("sky blue", "bluish green", "orange", "reddish purple", "black")] + [
    "#888888"
]


def _styles(regions: list[str]) -> dict[str, dict]:
    """Blocs in their own colour, solid; countries in the palette's other colours, then dashed."""
    out, i = {}, 0
    for r in regions:
        if r in BLOC_COLOURS:
            out[r] = {"color": BLOC_COLOURS[r], "linestyle": "-"}
        else:
            out[r] = {"color": COUNTRY_COLOURS[i % len(COUNTRY_COLOURS)], "linestyle": "-" if i < 6 else "--"}
            i += 1
    return out


@styled
def training_capability(t: RunTables, countries: list[str]):
    """a: the largest run (FLOP in 100 days, median and p5-p95), log axis; b: P(largest run ≥ 1e26 and ≥ 1e27) by
    quarter, linear, a marker where it first passes 50 %."""
    regions = ["US", "China"] + [c for c in countries if c not in ("USA", "CHN")]
    styles = _styles(regions)
    fig, (run, prob) = figure(TWO_COLUMNS, 72 * MM, 1, 2)
    x = np.arange(len(t.labels))
    rows = []
    for r in regions:
        b = t.band("largest_run_flop", r)
        c = styles[r]["color"]
        label = r if r in BLOC_COLOURS else f"{t.names.get(r, r)}"
        if r in BLOC_COLOURS:  # bands for the blocs only: the countries' would hide each other
            run.fill_between(x, np.maximum(b[0], 1e18), np.maximum(b[2], 1e18), color=c, alpha=0.15, lw=0)
        run.plot(x, np.maximum(b[1], 1e18), label=label, **styles[r])
        rows += [
            {"region": r, "quarter": q, "statistic": s, "value": v}
            for s, row in zip(("p5", "p50", "p95"), b)
            for q, v in zip(t.labels, row)
        ]
        for metric, name, ls in THRESHOLDS:
            p = t.series(metric, r, "probability")
            prob.plot(x, 100 * p, color=c, linestyle=ls, lw=1.4 if r in BLOC_COLOURS else 0.9)
            over = np.flatnonzero(p > 0.5)
            if over.size:
                prob.plot([over[0]], [100 * p[over[0]]], "o", color=c, ms=3.5)
            rows += [{"region": r, "quarter": q, "statistic": f"P(>= {name})", "value": v} for q, v in zip(t.labels, p)]
    for th, name in ((1e26, "1e26"), (1e27, "1e27")):
        run.axhline(th, color="#777777", lw=0.6, ls=":")
        run.text(len(t.labels) - 0.6, th, name, va="bottom", ha="right", fontsize=6, color="#555555")
    log_axis(run)
    run.set_ylabel("largest run trainable in 100 days (FLOP)")
    run.set_title("a  Largest trainable run, by headquarters (median; band p5-p95 for blocs)", loc="left")
    run.legend(loc="upper left")
    prob.axhline(50, color="#777777", lw=0.6, ls=":")
    prob.set_ylim(-2, 102)
    prob.set_ylabel("share of trials that can train it (%)")
    prob.set_title("b  P(run ≥ 1e26 FLOP) solid, ≥ 1e27 dashed; ● first quarter > 50 %", loc="left")
    for a in (run, prob):
        quarter_axis(a, t.labels)
    finish(fig, "Training capability: one co-located cluster, 100 days", t.source)
    return fig, pl.DataFrame(rows)
