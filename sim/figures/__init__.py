"""The figures of a run, drawn from the tables of its results folder (so ``sim plot`` redraws them from disk), in
one style (style.py): each as PDF, PNG and its data as CSV.

``FIGURES`` names each figure with a sentence on what a reader learns from it (the report page prints them)."""

from __future__ import annotations

from pathlib import Path

from .compute import compute_blocs, compute_countries, compute_sources
from .data import RunTables, rules_table
from .quotas import chips_held_back, quota_exhaustion
from .style import Source, save
from .tilemap import map_compute, map_rules, map_training
from .training import training_capability

FIGURES = {
    "compute_blocs": "How much AI compute each bloc can install each quarter, with the spread over trials, and its "
    "share of the world's.",
    "compute_countries": "The same for the scenario's countries, on one shared axis so their sizes compare.",
    "map_compute": "Every territory's installed compute at the last quarter, on a tile grid of all 249.",
    "map_rules": "The policy each territory's buyers face for the most capable chips at the last quarter.",
    "map_training": "How likely the firms headquartered in each territory can train a 1e26-FLOP run at the last "
    "quarter.",
    "training_capability": "The largest run the firms of each bloc and country can train in 100 days, and the "
    "quarter by which they can train 1e26 and 1e27 FLOP in most trials.",
    "quota_exhaustion": "When each national allocation runs out and how much demand the caps leave unmet.",
    "compute_sources": "Where each bloc's chips come from: the initial base, licence-free and licensed exports, "
    "validated end users, diversion, domestic production and smuggling.",
    "chips_held_back": "How many chips the rules refuse each quarter, and how much of that returns as substitutes "
    "or smuggled chips.",
}

__all__ = ["FIGURES", "RunTables", "Source", "draw_run", "redraw", "rules_table"]


def draw_run(t: RunTables, outdir: Path, countries: list[str] | None = None, formats=("pdf", "png")) -> list[Path]:
    """Draw every figure of ``FIGURES`` from ``t`` into ``outdir``; ``countries``: the countries to show (default:
    the scenario's). Returns the files written."""
    countries = [c for c in (countries or t.countries) if c in t.names]
    drawn = {
        "compute_blocs": compute_blocs(t),
        "compute_countries": compute_countries(t, countries or ["USA", "CHN"]),
        "map_compute": map_compute(t),
        "map_rules": map_rules(t),
        "map_training": map_training(t),
        "training_capability": training_capability(t, countries),
        "quota_exhaustion": quota_exhaustion(t),
        "compute_sources": compute_sources(t),
        "chips_held_back": chips_held_back(t),
    }
    files = []
    for name, (fig, data) in drawn.items():
        files += save(fig, outdir, name, data, formats)
    return files


OLD = (
    "compute_fan",
    "feasibility_1e26",
    "world_map",
)  # figures of sim before 0.6 (replaced by compute_*, training_capability)
FORMATS = ("pdf", "png", "svg")


def redraw(run_dir: Path, countries: list[str] | None = None, formats=("pdf", "png")) -> list[Path]:
    """Redraw the figures of a results folder from its files into its figures/ folder: the PNG always (the report
    embeds it), the other ``formats`` asked for; older files of the same figures, and figures of earlier
    versions, are removed so that every file left shows the same numbers."""
    run_dir = Path(run_dir)
    outdir = run_dir / "figures"
    for name in (*FIGURES, *OLD):
        for ext in (*FORMATS, "csv"):
            (outdir / f"{name}.{ext}").unlink(missing_ok=True)
    return draw_run(RunTables.of_folder(run_dir), outdir, countries, tuple(dict.fromkeys(("png", *formats))))
