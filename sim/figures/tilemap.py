"""The world as a tile-grid map: one square per territory (all of sim's territories, Singapore, Hong Kong, Macau
and Bahrain included, which the offline shapes of country outlines lack), coloured by installed compute, by the
class of rules it falls under, and by training capability (layout: sim/world/tile_grid.csv, with its source)."""

from __future__ import annotations

from importlib import resources

import matplotlib.colors as mcolors
import numpy as np
import polars as pl
from matplotlib.patches import Patch, Rectangle

from .data import RunTables
from .style import MM, OKABE_ITO, TWO_COLUMNS, figure, finish, styled

POLICY_COLOURS = {  # the policy on 3A090.a chips, from open to closed (sim/kernel/layout.py POLICY_CODES)
    "free": OKABE_ITO["bluish green"],
    "licence_share": OKABE_ITO["sky blue"],
    "licence": OKABE_ITO["yellow"],
    "capped": OKABE_ITO["orange"],
    "deny": OKABE_ITO["vermillion"],
    "prohibited": OKABE_ITO["reddish purple"],
    "embargo": OKABE_ITO["black"],
}


def tile_grid() -> pl.DataFrame:
    """iso3, x (column, west to east), y (row, north to south) of every territory."""
    with resources.files("sim.world").joinpath("tile_grid.csv").open("rb") as fh:
        return pl.read_csv(fh)


def _draw(ax, grid: pl.DataFrame, colours: dict[str, str]) -> None:
    """Squares of ``grid`` in ``colours`` (iso3 → colour; white where missing), labelled with their iso3."""
    for iso, x, y in grid.select("iso3", "x", "y").iter_rows():
        face = colours.get(iso, "white")
        ax.add_patch(Rectangle((x, -y), 0.94, -0.94, facecolor=face, edgecolor="#999999", lw=0.25))
        rgb = mcolors.to_rgb(face)
        dark = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] < 0.45
        ax.text(x + 0.47, -y - 0.47, iso, ha="center", va="center", fontsize=4.6, color="white" if dark else "black")
    ax.set_xlim(-0.3, grid["x"].max() + 1.2)
    ax.set_ylim(-grid["y"].max() - 1.2, 0.3)
    ax.set_aspect("equal")
    ax.axis("off")


def _map(title: str):
    """A figure of one tile map across two columns, and its axes."""
    grid = tile_grid()
    aspect = (grid["y"].max() + 1) / (grid["x"].max() + 1)
    fig, ax = figure(TWO_COLUMNS, 0.9 * TWO_COLUMNS * aspect + 16 * MM)
    return fig, ax, grid


def _column(grid: pl.DataFrame, name: str, values: dict, dtype) -> pl.DataFrame:
    return grid.select("iso3", "x", "y").with_columns(
        pl.col("iso3").replace_strict(values, default=None, return_dtype=dtype).alias(name)
    )


@styled
def map_compute(t: RunTables, quarter: str | None = None):
    """Installed compute per territory at ``quarter`` (default: the run's last), median, log colour scale."""
    quarter = quarter or t.labels[-1]
    fig, ax, grid = _map("compute")
    compute = t.at("compute_h100e", quarter)
    positive = [v for v in compute.values() if v > 0]
    norm = mcolors.LogNorm(vmin=max(min(positive, default=1.0), 1.0), vmax=max(positive, default=10.0))
    cmap = matplotlib_cmap("viridis")
    _draw(ax, grid, {k: cmap(norm(v)) if v > 0 else "white" for k, v in compute.items()})
    bar = fig.colorbar(_mappable(norm, cmap), ax=ax, fraction=0.02, pad=0.01)
    bar.set_label("installed H100e (median; white: none)")
    finish(fig, f"Installed AI compute by territory, {quarter}", t.source)
    return fig, _column(grid, "compute_h100e_p50", compute, pl.Float64).with_columns(quarter=pl.lit(quarter))


@styled
def map_rules(t: RunTables, quarter: str | None = None):
    """The policy in force on 3A090.a chips per territory at ``quarter`` (default: the run's last)."""
    quarter = quarter or t.labels[-1]
    fig, ax, grid = _map("rules")
    rules = t.rules.filter(pl.col("quarter") == quarter)
    policies = [p for p in POLICY_COLOURS if p in set(rules["policy_3a090a"])]
    _draw(ax, grid, dict(zip(rules["iso3"], (POLICY_COLOURS[p] for p in rules["policy_3a090a"]))))
    handles = [Patch(facecolor=POLICY_COLOURS[p], edgecolor="#999999", label=p.replace("_", " ")) for p in policies]
    ax.legend(handles=handles, loc="lower left", ncols=min(4, max(1, len(policies))), title="policy on 3A090.a chips")
    regime = rules["regime"][0] if rules.height else "?"
    if rules.height == 0:  # a folder written before rules.csv
        ax.text(0.5, 0.5, "rules not recorded in this folder (rerun sim run)", transform=ax.transAxes, ha="center")
    finish(fig, f"Rules in force on the most capable chips, {quarter} (regime {regime})", t.source)
    data = _column(grid, "policy_3a090a", dict(zip(rules["iso3"], rules["policy_3a090a"])), pl.Utf8)
    classes = dict(zip(rules["iso3"], rules["destination_class"]))
    return fig, data.join(
        _column(grid, "destination_class", classes, pl.Utf8).select("iso3", "destination_class"), on="iso3"
    ).with_columns(quarter=pl.lit(quarter))


@styled
def map_training(t: RunTables, quarter: str | None = None):
    """The share of trials in which the firms headquartered in each territory can train a 1e26-FLOP run in 100
    days, at ``quarter`` (default: the run's last), linear colour scale."""
    quarter = quarter or t.labels[-1]
    fig, ax, grid = _map("training")
    p = t.at("p_train_1e26", quarter, "probability")
    norm, cmap = mcolors.Normalize(0, 1), matplotlib_cmap("cividis")
    _draw(ax, grid, {k: cmap(norm(v)) for k, v in p.items()})
    bar = fig.colorbar(_mappable(norm, cmap), ax=ax, fraction=0.02, pad=0.01)
    bar.set_label("P(1e26-FLOP run in 100 days)")
    finish(fig, f"Training capability by headquarters, {quarter}", t.source)
    return fig, _column(grid, "p_train_1e26", p, pl.Float64).with_columns(quarter=pl.lit(quarter))


def matplotlib_cmap(name: str):
    import matplotlib

    return matplotlib.colormaps[name]


def _mappable(norm, cmap):
    from matplotlib.cm import ScalarMappable

    m = ScalarMappable(norm=norm, cmap=cmap)
    m.set_array(np.array([]))
    return m
