"""Figures of a comparison, drawn from its differences.csv (so ``sim plot`` redraws them): the median paired
difference against the first scenario by quarter, on linear axes, each scenario in its fixed style
(style.scenario_styles), the legend in a panel of its own."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from .style import BLOCS, MM, TWO_COLUMNS, figure, finish, quarter_axis, save, scenario_styles, styled

FIGURES = {
    "compare_compute": "How much each scenario adds to or takes from each bloc's installed compute against the "
    "first scenario, in the same trials.",
    "compare_countries": "The same for every compared country.",
    "compare_training": "How each scenario moves the chance that the US and China can train a 1e26- and a "
    "1e27-FLOP run, in percentage points.",
}


def _panels(
    diffs: pl.DataFrame,
    metric: str,
    regions: list[str],
    labels: list[str],
    scale: float,
    ylabel: str,
    title: str,
    source: str,
    titles: dict[str, str] | None = None,
    column: str = "diff_p50",
    note: str = "median over trials of the paired difference (same trials, common random numbers)",
):
    """Small multiples: one panel per region, one line per scenario (``column`` of the paired differences ×
    ``scale``)."""
    names = list(dict.fromkeys(diffs["scenario"].to_list()))
    styles = scenario_styles(names)
    n = len(regions) + 1  # and the legend
    ncol = min(3, n)
    nrow = -(-n // ncol)
    fig, axes = figure(TWO_COLUMNS, (22 + 44 * nrow) * MM, nrow, ncol, sharex=True, squeeze=False)
    pos = {q: i for i, q in enumerate(labels)}
    rows = diffs.filter((pl.col("metric") == metric) & pl.col("region").is_in(regions))
    for ax, region in zip(axes.flat, regions):
        for name in names:
            s = rows.filter((pl.col("region") == region) & (pl.col("scenario") == name))
            y = np.full(len(labels), np.nan)
            for q, v in zip(s["quarter"], s[column]):
                if q in pos:
                    y[pos[q]] = v * scale
            ax.plot(np.arange(len(labels)), y, label=name, **styles[name])
        ax.axhline(0, color="#555555", lw=0.6)
        ax.set_title((titles or {}).get(region, region), loc="left")
        ax.set_ylabel(ylabel)
        quarter_axis(ax, labels, every=2, label=False)
    legend = axes.flat[len(regions)]
    legend.axis("off")
    handles, names_ = axes.flat[0].get_legend_handles_labels()
    base = diffs["baseline"][0] if diffs.height else "?"
    legend.legend(handles, names_, loc="center", title=f"scenario − {base}")
    for ax in axes.flat[len(regions) + 1 :]:
        ax.axis("off")
    fig.supxlabel("quarter", fontsize=7)
    finish(fig, title, source, note)
    return fig, rows


@styled
def compare_compute(diffs, labels, source):
    return _panels(
        diffs,
        "compute_h100e",
        BLOCS,
        labels,
        1e-6,
        "million H100e",
        "Installed compute against the first scenario, by bloc",
        source,
    )


@styled
def compare_countries(diffs, labels, source, countries: list[str], names: dict[str, str]):
    return _panels(
        diffs,
        "compute_h100e",
        countries,
        labels,
        1e-3,
        "thousand H100e",
        "Installed compute against the first scenario, by country",
        source,
        {c: f"{names.get(c, c)} ({c})" for c in countries},
    )


@styled
def compare_training(diffs, labels, source):
    d = diffs.filter(pl.col("metric").is_in(["p_train_1e26", "p_train_1e27"]) & pl.col("region").is_in(["US", "China"]))
    d = d.with_columns(region=pl.col("region") + " · " + pl.col("metric").str.replace("p_train_", "P(≥ ") + ")")
    d = d.with_columns(metric=pl.lit("p"))
    regions = [f"{r} · P(≥ {t})" for t in ("1e26", "1e27") for r in ("US", "China")]
    title = "Training capability against the first scenario: the share of trials that can train a run in 100 days"
    note = "difference of the two shares of trials (the mean paired difference of 0/1 outcomes; same trials)"
    return _panels(d, "p", regions, labels, 100.0, "percentage points", title, source, None, "diff_mean", note)


def draw_comparison(folder: Path, formats=("pdf", "png"), countries: list[str] | None = None) -> list[Path]:
    """Draw the comparison's figures into ``folder``/figures from its differences.csv and manifest;
    ``countries``: those to show (default: every compared country)."""
    import json

    folder = Path(folder)
    man = json.loads((folder / "manifest.json").read_text())
    diffs = pl.read_csv(folder / "differences.csv", infer_schema_length=None, schema_overrides={"quarter": pl.Utf8})
    labels, countries = man["quarters"], countries or man["countries"]
    runs = ", ".join(f"{n} ({r})" for n, r in zip(man["names"], man.get("regimes", ["?"] * len(man["names"]))))
    source = f"sim {man['version']} · scenarios (regimes) {runs} · seed {man['seed']} · {man['trials']:,} trials"
    drawn = {
        "compare_compute": compare_compute(diffs, labels, source),
        "compare_countries": compare_countries(diffs, labels, source, countries, man.get("country_names", {})),
        "compare_training": compare_training(diffs, labels, source),
    }
    files = []
    for name, (fig, data) in drawn.items():
        files += save(fig, folder / "figures", name, data, formats)
    return files
