"""Figures of attainable compute: the blocs on one shared axis, the scenario's countries as small multiples on a
shared axis, and where each bloc's compute comes from (stacked by channel)."""

from __future__ import annotations

import numpy as np
import polars as pl
from matplotlib.ticker import LogLocator, NullFormatter

from ..kernel.layout import CHANNELS
from .data import RunTables
from .style import BLOC_COLOURS, BLOCS, CHANNEL_COLOURS, MM, TWO_COLUMNS, figure, finish, quarter_axis, styled

H100E = "installed H100e (dense 16-bit FLOP/s)"


def log_axis(ax) -> None:
    """A log y axis with ticks at powers of ten only (no cluttered minor labels)."""
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10, numticks=8))
    ax.yaxis.set_minor_locator(LogLocator(base=10, subs=np.arange(2, 10) * 0.1, numticks=12))
    ax.yaxis.set_minor_formatter(NullFormatter())


def _tidy(rows: dict[str, np.ndarray], labels: list[str], key: str = "region") -> pl.DataFrame:
    """{name: [3, Q] p5/p50/p95} → a tidy frame (key, quarter, p5, p50, p95) for the figure's CSV."""
    frames = [
        pl.DataFrame({key: [k] * len(labels), "quarter": labels, "p5": v[0], "p50": v[1], "p95": v[2]})
        for k, v in rows.items()
    ]
    return pl.concat(frames)


@styled
def compute_blocs(t: RunTables):
    """The five blocs' installed compute (median and p5-p95) on one log axis, and their shares of world compute
    (medians, linear)."""
    fig, (ax, share) = figure(TWO_COLUMNS, 68 * MM, 1, 2, gridspec_kw={"width_ratios": [3, 2]})
    x = np.arange(len(t.labels))
    data, shares = {}, {}
    for bloc in BLOCS:
        b = t.band("compute_h100e", bloc)
        data[bloc], shares[bloc] = b, t.series("share_of_world_compute", bloc)
        c = BLOC_COLOURS[bloc]
        ax.fill_between(x, b[0], b[2], color=c, alpha=0.18, lw=0)
        ax.plot(x, b[1], color=c, label=bloc)
        share.plot(x, 100 * shares[bloc], color=c)
    log_axis(ax)
    ax.set_ylabel(H100E)
    ax.set_title("a  Installed compute by bloc (median, band p5-p95)", loc="left")
    ax.legend(loc="upper left", ncols=2)
    share.set_ylabel("share of world compute (%, median)")
    share.set_ylim(0, 100)
    share.set_title("b  Share of world compute", loc="left")
    for a in (ax, share):
        quarter_axis(a, t.labels)
    finish(fig, "Attainable AI compute by bloc", t.source)
    share_p50 = np.concatenate([shares[b] for b in BLOCS])
    return fig, _tidy(data, t.labels).with_columns(share_of_world_p50=pl.Series(share_p50))


@styled
def compute_countries(t: RunTables, countries: list[str]):
    """The countries' installed compute (median and p5-p95) as small multiples on one shared log axis."""
    n = len(countries)
    ncol = min(4, max(1, n))
    nrow = -(-n // ncol)
    fig, axes = figure(TWO_COLUMNS, (30 + 34 * nrow) * MM, nrow, ncol, sharex=True, sharey=True, squeeze=False)
    x = np.arange(len(t.labels))
    data = {}
    for ax, iso in zip(axes.flat, countries):
        b = t.band("compute_h100e", iso)
        data[iso] = b
        ax.fill_between(x, np.maximum(b[0], 1e-3), np.maximum(b[2], 1e-3), color="#444444", alpha=0.2, lw=0)
        ax.plot(x, np.maximum(b[1], 1e-3), color="#222222")
        ax.set_title(f"{t.names.get(iso, iso)} ({iso})", loc="left")
        quarter_axis(ax, t.labels, every=2 if ncol > 2 else 1, label=False)
    log_axis(axes.flat[0])
    for ax in axes.flat[n:]:
        ax.axis("off")
    for r in range(nrow):
        axes[r, 0].set_ylabel("installed H100e")
    fig.supxlabel("quarter", fontsize=7)
    finish(fig, "Attainable AI compute by country (median, band p5-p95; one shared axis)", t.source)
    return fig, _tidy(data, t.labels, "iso3")


@styled
def compute_sources(t: RunTables):
    """Where each bloc's compute comes from: the mean over trials of its stock by channel (initial, licence-free,
    licensed, VEU, diverted, domestic, smuggled), stacked by quarter (means add up; medians do not)."""
    fig, axes = figure(TWO_COLUMNS, 95 * MM, 2, 3, sharex=True, squeeze=False)
    x = np.arange(len(t.labels))
    rows = []
    for ax, bloc in zip(axes.flat, BLOCS):
        parts = [t.series(f"compute_h100e_{ch}", bloc, "mean") / 1e6 for ch in CHANNELS]
        ax.stackplot(x, parts, colors=[CHANNEL_COLOURS[ch] for ch in CHANNELS], labels=CHANNELS, lw=0)
        ax.set_title(bloc, loc="left", color=BLOC_COLOURS[bloc])
        ax.set_ylabel("million H100e (mean)")
        quarter_axis(ax, t.labels, every=2, label=False)
        rows += [
            {"region": bloc, "channel": ch, "quarter": q, "mean_h100e": float(v * 1e6)}
            for ch, p in zip(CHANNELS, parts)
            for q, v in zip(t.labels, p)
        ]
    legend = axes.flat[-1]
    legend.axis("off")
    handles, names = axes.flat[0].get_legend_handles_labels()
    legend.legend(handles[::-1], [n.replace("_", "-") for n in names[::-1]], loc="center", title="channel")
    fig.supxlabel("quarter", fontsize=7)
    finish(fig, "Where each bloc's compute comes from (installed H100e by channel, mean over trials)", t.source)
    return fig, pl.DataFrame(rows)
