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


def _draw(ax, grid: pl.DataFrame, colours: dict[str, str], labels: bool = True) -> None:
    """Squares of ``grid`` in ``colours`` (iso3 → colour; white where missing), labelled with their iso3."""
    for iso, x, y in grid.select("iso3", "x", "y").iter_rows():
        face = colours.get(iso, "white")
        ax.add_patch(Rectangle((x, -y), 0.92, -0.92, facecolor=face, edgecolor="#999999", lw=0.2))
        if labels:
            rgb = mcolors.to_rgb(face)
            dark = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] < 0.45
            ax.text(
                x + 0.46, -y - 0.46, iso, ha="center", va="center", fontsize=2.6, color="white" if dark else "black"
            )
    ax.set_xlim(-0.3, grid["x"].max() + 1.2)
    ax.set_ylim(-grid["y"].max() - 1.2, 0.3)
    ax.set_aspect("equal")
    ax.axis("off")


@styled
def world_map(t: RunTables, quarter: str | None = None):
    """Three tile maps at ``quarter`` (default: the run's last): a, installed compute (median, log colour scale);
    b, the policy in force on 3A090.a chips; c, the share of trials in which the firms headquartered there
    can train a 1e26-FLOP run in 100 days (linear)."""
    quarter = quarter or t.labels[-1]
    grid = tile_grid()
    aspect = (grid["y"].max() + 1) / (grid["x"].max() + 1)
    fig, axes = figure(TWO_COLUMNS, 3 * 0.8 * TWO_COLUMNS * aspect + 20 * MM, 3, 1)
    compute = t.at("compute_h100e", quarter)
    positive = [v for v in compute.values() if v > 0]
    norm = mcolors.LogNorm(vmin=max(min(positive, default=1.0), 1.0), vmax=max(positive, default=10.0))
    cmap = matplotlib_cmap("viridis")
    _draw(axes[0], grid, {k: cmap(norm(v)) if v > 0 else "white" for k, v in compute.items()})
    bar = fig.colorbar(_mappable(norm, cmap), ax=axes[0], fraction=0.025, pad=0.01)
    bar.set_label("installed H100e (median)", fontsize=6)
    axes[0].set_title(f"a  Installed compute, {quarter}", loc="left")
    rules = t.rules.filter(pl.col("quarter") == quarter)
    policies = [p for p in POLICY_COLOURS if p in set(rules["policy_3a090a"])]
    _draw(axes[1], grid, dict(zip(rules["iso3"], (POLICY_COLOURS[p] for p in rules["policy_3a090a"]))))
    axes[1].legend(
        handles=[Patch(facecolor=POLICY_COLOURS[p], edgecolor="#999999", label=p.replace("_", " ")) for p in policies],
        loc="lower left",
        ncols=min(4, max(1, len(policies))),
        title="policy on 3A090.a chips",
        fontsize=5.5,
    )
    regime = rules["regime"][0] if rules.height else "?"
    axes[1].set_title(f"b  Rules in force, {quarter} (regime {regime})", loc="left")
    p = t.at("p_train_1e26", quarter, "probability")
    pnorm = mcolors.Normalize(0, 1)
    pmap = matplotlib_cmap("cividis")
    _draw(axes[2], grid, {k: pmap(pnorm(v)) for k, v in p.items()})
    bar = fig.colorbar(_mappable(pnorm, pmap), ax=axes[2], fraction=0.025, pad=0.01)
    bar.set_label("P(1e26-FLOP run in 100 days)", fontsize=6)
    axes[2].set_title(f"c  Training capability by headquarters, {quarter}", loc="left")
    finish(fig, "The world at a glance (one square per territory)", t.source)
    data = grid.select("iso3", "x", "y").with_columns(
        compute_h100e_p50=pl.col("iso3").replace_strict(compute, default=None, return_dtype=pl.Float64),
        destination_class=pl.col("iso3").replace_strict(
            dict(zip(rules["iso3"], rules["destination_class"])), default=None, return_dtype=pl.Utf8
        ),
        policy_3a090a=pl.col("iso3").replace_strict(
            dict(zip(rules["iso3"], rules["policy_3a090a"])), default=None, return_dtype=pl.Utf8
        ),
        p_train_1e26=pl.col("iso3").replace_strict(p, default=None, return_dtype=pl.Float64),
        quarter=pl.lit(quarter),
    )
    return fig, data


def matplotlib_cmap(name: str):
    import matplotlib

    return matplotlib.colormaps[name]


def _mappable(norm, cmap):
    from matplotlib.cm import ScalarMappable

    m = ScalarMappable(norm=norm, cmap=cmap)
    m.set_array(np.array([]))
    return m
