"""Figure of training capability: the largest run trainable in 100 days by the firms headquartered in the US, China
and the scenario's countries, and the probability of a 1e26- and a 1e27-FLOP run by quarter, with the quarter each
passes 50 % marked."""

from __future__ import annotations

import numpy as np
import polars as pl

from .compute import log_axis
from .data import RunTables
from .style import BLOC_COLOURS, MM, OKABE_ITO, TWO_COLUMNS, figure, finish, quarter_axis, styled

THRESHOLDS = (("p_train_1e26", "1e26"), ("p_train_1e27", "1e27"))
# countries: the palette's colours no bloc uses, then grey, each with its own line style (blocs are solid)
COUNTRY_STYLES = [
    (c, ls) for ls in ("--", ":", "-.") for c in (OKABE_ITO["sky blue"], "#777777", "#B8860B")
]  # dark goldenrod: Okabe-Ito's yellow darkened to read as a line on white


def _styles(regions: list[str]) -> dict[str, dict]:
    """Blocs in their own colour, solid; each country its own colour and dashed, dotted or dash-dot line."""
    out, i = {}, 0
    for r in regions:
        if r in BLOC_COLOURS:
            out[r] = {"color": BLOC_COLOURS[r], "linestyle": "-", "lw": 1.4}
        else:
            colour, ls = COUNTRY_STYLES[i % len(COUNTRY_STYLES)]
            out[r] = {"color": colour, "linestyle": ls, "lw": 1.0}
            i += 1
    return out


@styled
def training_capability(t: RunTables, countries: list[str]):
    """a: the largest run (FLOP in 100 days, median; band p5-p95 for the blocs), log axis; b and c: the share of
    trials that can train 1e26 and 1e27 FLOP by quarter, linear, a dot where it first passes 50 %; one style per
    region in all three, the legend under them."""
    regions = ["US", "China"] + [c for c in countries if c not in ("USA", "CHN")]
    styles = _styles(regions)
    fig, (run, *probs) = figure(TWO_COLUMNS, 80 * MM, 1, 3, gridspec_kw={"width_ratios": [1.3, 1, 1]})
    x = np.arange(len(t.labels))
    rows = []
    for r in regions:
        b = t.band("largest_run_flop", r)
        label = r if r in BLOC_COLOURS else f"{t.names.get(r, r)}"
        if r in BLOC_COLOURS:  # bands for the blocs only: the countries' would hide each other
            run.fill_between(
                x, np.maximum(b[0], 1e18), np.maximum(b[2], 1e18), color=styles[r]["color"], alpha=0.15, lw=0
            )
        run.plot(x, np.maximum(b[1], 1e18), label=label, **styles[r])
        rows += [
            {"region": r, "quarter": q, "statistic": s, "value": v}
            for s, row in zip(("p5", "p50", "p95"), b)
            for q, v in zip(t.labels, row)
        ]
        for ax, (metric, name) in zip(probs, THRESHOLDS):
            p = t.series(metric, r, "probability")
            ax.plot(x, 100 * p, **styles[r])
            over = np.flatnonzero(p > 0.5)
            if over.size:
                ax.plot([over[0]], [100 * p[over[0]]], "o", color=styles[r]["color"], ms=3.2)
            rows += [
                {"region": r, "quarter": q, "statistic": f"P(>= {name} FLOP)", "value": v} for q, v in zip(t.labels, p)
            ]
    for th, name in ((1e26, "1e26"), (1e27, "1e27")):
        run.axhline(th, color="#777777", lw=0.6, ls=":")
        run.text(0, th, name, va="bottom", ha="left", fontsize=6, color="#555555")
    log_axis(run)
    run.set_ylabel("largest run in 100 days (FLOP)")
    run.set_title("a  Largest trainable run", loc="left")
    for ax, (_, name), letter in zip(probs, THRESHOLDS, "bc"):
        ax.axhline(50, color="#777777", lw=0.6, ls=":")
        ax.set_ylim(-2, 102)
        ax.set_ylabel(f"P(run ≥ {name} FLOP), % of trials")
        ax.set_title(f"{letter}  A {name}-FLOP run", loc="left")
    for a in (run, *probs):
        quarter_axis(a, t.labels, every=2)
    handles, labels = run.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncols=min(6, len(labels)), bbox_to_anchor=(0.5, -0.02))
    finish(
        fig,
        "Training capability by headquarters: one co-located cluster, 100 days",
        t.source,
        "a: median, band p5-p95 for blocs; b, c: share of trials, dot at the first quarter above 50 %",
    )
    fig.subplots_adjust(bottom=0.3)
    return fig, pl.DataFrame(rows)
