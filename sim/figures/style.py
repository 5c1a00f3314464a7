"""The one style of every figure sim draws: journal column widths, a colour-blind-safe palette fixed per bloc and
per scenario, units on every axis, a source line, and files written as PDF (vector), PNG and the figure's data
as CSV beside them.

- Widths: one column 89 mm, two columns 183 mm (Nature's figure widths; most journals are within a few mm).
- Palette: Okabe and Ito's eight colours (Okabe, M. and Ito, K. (2008), "Color Universal Design (CUD): how to
  make figures and presentations that are friendly to colorblind people", https://jfly.uni-koeln.de/color/),
  the same bloc always in the same colour; each scenario a fixed (colour, line style) pair, the shipped scenarios
  first, so a scenario looks the same in every figure of every comparison.
- Source line: under each figure, the sim version, scenario, regime, seed and trials (``Source``).
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import polars as pl  # noqa: E402

MM = 1 / 25.4  # inches
ONE_COLUMN = 89 * MM
TWO_COLUMNS = 183 * MM
DPI = 150  # PNG resolution

OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky blue": "#56B4E9",
    "bluish green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish purple": "#CC79A7",
}
BLOC_COLOURS = {
    "US": OKABE_ITO["blue"],
    "China": OKABE_ITO["vermillion"],
    "Tier-1 partners": OKABE_ITO["bluish green"],
    "Other Tier 2": OKABE_ITO["orange"],
    "Other Tier 3": OKABE_ITO["reddish purple"],
    "World": OKABE_ITO["black"],
}
BLOCS = ["US", "Tier-1 partners", "China", "Other Tier 2", "Other Tier 3"]
# scenario styles: colours (yellow left out: too light for a line on white) × line styles; the shipped
# scenarios keep the first ones in this order, any other scenario takes the next free one
LINE_COLOURS = [OKABE_ITO[k] for k in ("black", "blue", "vermillion", "bluish green", "orange", "reddish purple")]
LINE_COLOURS.append(OKABE_ITO["sky blue"])
LINE_STYLES = ["-", "--", ":", "-."]
SHIPPED_SCENARIOS = [
    "diffusion_2025",
    "controls_2022",
    "controls_2023",
    "rescission_2025",
    "gulf_deals_2025",
    "gulf_deals_uae_framework",
    "china_h200_2026",
    "chip_security_act",
    "remote_access_security_act",
    "history",
    "no_controls",
    "default",
    "backtest_2024",
]
# the categories of a channel, flow or rule, in a fixed order and colour
CHANNEL_COLOURS = {
    "initial": "#BBBBBB",
    "licence_free": OKABE_ITO["sky blue"],
    "licensed": OKABE_ITO["blue"],
    "veu": OKABE_ITO["bluish green"],
    "diverted": OKABE_ITO["orange"],
    "domestic": OKABE_ITO["reddish purple"],
    "smuggled": OKABE_ITO["vermillion"],
}

RC = {
    "font.size": 7,
    "axes.titlesize": 7.5,
    "axes.labelsize": 7,
    "xtick.labelsize": 6.5,
    "ytick.labelsize": 6.5,
    "legend.fontsize": 6.5,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.25,
    "grid.linewidth": 0.5,
    "lines.linewidth": 1.2,
    "pdf.fonttype": 42,  # TrueType in the PDF: text stays text
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.03,
}


def scenario_styles(names: list[str]) -> dict[str, dict]:
    """Each scenario's matplotlib line keywords (colour, line style): the shipped scenarios' are fixed, the others
    take the next free ones in the order given."""
    slots = [(c, ls) for ls in LINE_STYLES for c in LINE_COLOURS]
    taken = {n: slots[i] for i, n in enumerate(SHIPPED_SCENARIOS)}
    free = [s for s in slots if s not in taken.values()]
    out = {}
    for n in names:
        if n not in taken:
            taken[n] = free.pop(0) if free else slots[len(taken) % len(slots)]
        colour, ls = taken[n]
        out[n] = {"color": colour, "linestyle": ls}
    return out


@dataclass(frozen=True)
class Source:
    """What a figure was drawn from, printed under it."""

    version: str
    scenario: str
    regime: str
    seed: int
    trials: int

    @classmethod
    def of_manifest(cls, man: dict) -> Source:
        return cls(man["versions"]["sim"], man["scenario"]["name"], man["regime"]["name"], man["seed"], man["trials"])

    def line(self) -> str:
        return (
            f"sim {self.version} · scenario {self.scenario} · regime {self.regime} · seed {self.seed} · "
            f"{self.trials:,} trials"
        )


def styled(draw):
    """Run a figure function in the house style (matplotlib's settings only for its duration)."""

    @functools.wraps(draw)
    def wrapper(*args, **kwargs):
        with plt.rc_context(RC):
            return draw(*args, **kwargs)

    return wrapper


def figure(width: float = TWO_COLUMNS, height: float = 60 * MM, nrows: int = 1, ncols: int = 1, **kw):
    """A figure in the house style (its axes as ``plt.subplots`` returns them, squeezed)."""
    with plt.rc_context(RC):
        return plt.subplots(nrows, ncols, figsize=(width, height), **kw)


def quarter_axis(ax, labels: list[str], every: int = 1, label: bool = True) -> None:
    """Quarters on the x axis, a tick at the first quarter of every ``every``-th year (labelled by its year)."""
    firsts = [i for i, lab in enumerate(labels) if lab.endswith("Q1")] or list(range(0, len(labels), 4))
    ticks = firsts[::every]
    ax.set_xticks(ticks, [labels[i][:4] for i in ticks])
    ax.set_xlim(-0.5, len(labels) - 0.5)
    if label:
        ax.set_xlabel("quarter (tick: first quarter of the year)")


def finish(fig, title: str, source: Source | str | None, note: str = "") -> None:
    """Title (top left), and the source line (a Source or its text; with an optional note) under the figure."""
    with plt.rc_context(RC):
        fig.suptitle(title, x=0.01, ha="left", fontsize=8, fontweight="bold")
        if fig.get_layout_engine() is None:
            fig.tight_layout()
        line = source.line() if isinstance(source, Source) else (source or "")
        text = " · ".join(t for t in (note, line) if t)
        if text:
            fig.text(0.01, -0.01, text, ha="left", va="top", fontsize=5.5, color="#555555", wrap=True)


CONTINUOUS = ("map_compute", "map_training")  # colour scales a 256-colour palette would band: full colour


def save(fig, outdir: Path, name: str, data: pl.DataFrame | None = None, formats=("pdf", "png")) -> list[Path]:
    """Write ``fig`` as outdir/name.pdf (vector) and .png (``DPI``, a 256-colour palette: a third of full colour's
    size, so committed figures stay small; full colour for ``CONTINUOUS`` scales) and its data as name.csv; close
    it; return the files."""
    from PIL import Image

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    files = []
    with plt.rc_context(RC):
        if "pdf" in formats:
            fig.savefig(outdir / f"{name}.pdf")
            files.append(outdir / f"{name}.pdf")
        if "svg" in formats:
            fig.savefig(outdir / f"{name}.svg")
            files.append(outdir / f"{name}.svg")
        if "png" in formats:
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=DPI)
            buf.seek(0)
            with Image.open(buf) as im:
                rgb = im.convert("RGB")
                (rgb if name in CONTINUOUS else rgb.quantize(256)).save(outdir / f"{name}.png", optimize=True)
            files.append(outdir / f"{name}.png")
    plt.close(fig)
    if data is not None:
        data.write_csv(outdir / f"{name}.csv", float_precision=6)
        files.append(outdir / f"{name}.csv")
    return files
