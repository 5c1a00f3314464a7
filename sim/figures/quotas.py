"""Figures of what the rules hold back: national allocations used up (every capped territory with unmet demand),
and the chips refused, bought as substitutes and smuggled, by bloc."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import polars as pl

from .data import RunTables
from .style import BLOC_COLOURS, BLOCS, MM, OKABE_ITO, TWO_COLUMNS, figure, finish, quarter_axis, styled

FLOWS = (
    ("flow_denied", "refused by the rules", OKABE_ITO["vermillion"], "-"),
    ("flow_substitute", "substitute chips bought", OKABE_ITO["bluish green"], "--"),
    ("flow_smuggled", "smuggled (grey market)", OKABE_ITO["black"], ":"),
    ("flow_unmet", "unmet (refused, not replaced)", OKABE_ITO["orange"], "-."),
)


def exhaustion_rows(t: RunTables) -> pl.DataFrame:
    """Every capped territory with unmet demand or a used-up allocation, the earliest exhaustion first."""
    e = t.exhaustion.filter((pl.col("unmet_h100e_p95") > 0) | (pl.col("share_of_trials_exhausted") > 0))
    return e.with_columns(name=pl.col("iso3").replace_strict(t.names, default=pl.col("iso3")))


SPLIT = 40  # more rows than this go in two blocks side by side


@styled
def quota_exhaustion(t: RunTables):
    """a: the quarter each allocation is used up (p5-p95 line, median dot; open dot where under half the trials
    use it up), over the run's quarters, the quarters whose rules hold past the regime's horizon shaded;
    b: the unmet demand over the run (median, line to p95), log axis. Many rows go in two blocks side by side."""
    rows = exhaustion_rows(t)
    blocks = 2 if rows.height > SPLIT else 1
    per = max(1, -(-rows.height // blocks))
    fig = plt.figure(figsize=(TWO_COLUMNS, (34 + 2.9 * per) * MM), layout="constrained")
    subfigs = fig.subfigures(1, blocks, wspace=0.03, squeeze=False)[0]
    first, unmets = None, []
    for b, sub in enumerate(subfigs):
        when, unmet = sub.subplots(1, 2, sharey=True, gridspec_kw={"width_ratios": [3, 2]})
        first = first or when
        unmets.append(unmet)
        _exhaustion_block(t, rows.slice(b * per, per), when, unmet, per)
    lo = min(ax.get_xlim()[0] for ax in unmets)
    hi = max(ax.get_xlim()[1] for ax in unmets)
    for ax in unmets:  # one scale for the unmet demand of both blocks
        ax.set_xlim(lo, hi)
    if rows.height == 0:
        first.text(0.5, 0.5, "no capped territory has unmet demand", transform=first.transAxes, ha="center")
    finish(
        fig,
        "National allocations: when they run out, and the demand they leave unmet (every capped territory with unmet "
        "demand)",
        t.source,
        "a: line p5-p95 of the quarter the allocation is used up, dot the median (open: used up in under half the "
        "trials; the share printed where not all); shaded: quarters whose rules hold a regime's last values past its "
        "horizon. b: square the median unmet demand over the run, line to p95",
    )
    return fig, rows


def _exhaustion_block(t: RunTables, rows: pl.DataFrame, when, unmet, n: int) -> None:
    pos = {q: i for i, q in enumerate(t.labels)}
    held = [pos[q] for q in t.held if q in pos]
    if held:
        when.axvspan(min(held) - 0.5, len(t.labels) - 0.5, color="#E4E4E4", lw=0)
        when.text(min(held), -0.8, "held", fontsize=5.5, color="#555555", va="bottom")
    for i, r in enumerate(rows.iter_rows(named=True)):
        share = r["share_of_trials_exhausted"]
        if r["exhaustion_quarter_p50"] is not None:
            lo, mid, hi = (pos[r[f"exhaustion_quarter_{p}"]] for p in ("p5", "p50", "p95"))
            when.plot([lo, hi], [i, i], color=OKABE_ITO["vermillion"], lw=2, alpha=0.45, solid_capstyle="butt")
            face = OKABE_ITO["vermillion"] if share >= 0.5 else "white"
            when.plot([mid], [i], "o", mfc=face, mec=OKABE_ITO["vermillion"], ms=3.2)
            if share < 0.995:
                text = f"{share:.0%}" if share >= 0.005 else "<1%"
                when.text(hi + 0.4, i, text, va="center", fontsize=5, color="#555555", clip_on=True)
        else:
            when.text(0, i, "never used up", va="center", fontsize=5, color="#777777")
        med, p95 = r["unmet_h100e_p50"], r["unmet_h100e_p95"]
        unmet.plot([max(med, 1), max(p95, 1)], [i, i], color="#555555", lw=0.8)
        unmet.plot([max(med, 1)], [i], "s", color=OKABE_ITO["blue"], ms=2.8)
    when.set_yticks(range(rows.height), [f"{r['name']} ({r['iso3']})" for r in rows.iter_rows(named=True)])
    when.tick_params(axis="y", labelsize=5.5)
    when.set_ylabel("capped territory")
    for ax in (when, unmet):
        ax.set_ylim(n - 0.5, -1.2)
    unmet.tick_params(axis="y", labelleft=False)
    quarter_axis(when, t.labels, every=2, label=False)
    when.set_xlabel("quarter used up")
    when.set_title("a  Used up", loc="left")
    unmet.set_xscale("log")
    unmet.set_xlabel("unmet, H100e")
    unmet.set_title("b  Unmet demand", loc="left")


@styled
def chips_held_back(t: RunTables):
    """Per bloc, the chips refused by the rules, bought as substitutes, smuggled, and left unmet, each quarter (mean
    over trials, thousand H100e per quarter, linear)."""
    fig, axes = figure(TWO_COLUMNS, 95 * MM, 2, 3, sharex=True, squeeze=False)
    x = np.arange(len(t.labels))
    rows = []
    for ax, bloc in zip(axes.flat, BLOCS):
        for metric, name, colour, ls in FLOWS:
            v = t.series(metric, bloc, "mean")
            ax.plot(x, v / 1e3, color=colour, linestyle=ls, label=name)
            rows += [
                {"region": bloc, "flow": metric[5:], "quarter": q, "mean_h100e": float(s)} for q, s in zip(t.labels, v)
            ]
        ax.set_ylim(bottom=0)
        ax.set_title(bloc, loc="left", color=BLOC_COLOURS[bloc])
        ax.set_ylabel("thousand H100e per quarter")
        quarter_axis(ax, t.labels, every=2, label=False)
    legend = axes.flat[-1]
    legend.axis("off")
    legend.legend(*axes.flat[0].get_legend_handles_labels(), loc="center")
    fig.supxlabel("quarter", fontsize=7)
    finish(fig, "Chips refused, substituted and smuggled (mean over trials)", t.source)
    return fig, pl.DataFrame(rows)
