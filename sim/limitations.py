"""The model's limitations, one source (sim/limitations.toml, shipped with the package): what each simplification
does instead, its bias on the headline results and the outputs it bears on. A run's report shows those that bear
on its outputs (``bearing_on``); docs/limitations.md's table is ``markdown_table()`` (``python -m sim.limitations``
prints it)."""

from __future__ import annotations

import tomllib
from importlib import resources

# the outputs an entry may bear on: the figures of a run's report (sim.figures.FIGURES) and the comparison
VOCABULARY = (
    "compute_blocs",
    "compute_countries",
    "map_compute",
    "map_rules",
    "map_training",
    "training_capability",
    "quota_exhaustion",
    "compute_sources",
    "chips_held_back",
    "comparison",
)
KEYS = ("name", "model", "bias", "bears_on")
HEADER = "| limitation | what the model does instead | bias on the headline results |\n|---|---|---|\n"
NOTE = "<!-- generated from sim/limitations.toml by sim.limitations.markdown_table(); edit the TOML, not this table -->"


def load() -> list[dict]:
    """The entries of the installed sim/limitations.toml, in file order, validated (``parse``)."""
    text = resources.files("sim").joinpath("limitations.toml").read_text(encoding="utf-8")
    return parse(text, "sim/limitations.toml")


def parse(text: str, where: str) -> list[dict]:
    """The ``[[limitation]]`` entries of TOML ``text`` (from ``where``). ValueError naming the entry and the key
    when a key is missing or unknown, a text is empty or would break a table row, or ``bears_on`` is empty, repeats
    an output or names one outside VOCABULARY."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"{where}: not valid TOML: {e}") from None
    entries, names = data.get("limitation"), set()
    ok = set(data) == {"limitation"} and isinstance(entries, list) and entries
    if not ok or not all(isinstance(e, dict) for e in entries):
        raise ValueError(f"{where}: expected only [[limitation]] entries")
    for i, e in enumerate(entries, 1):
        at = f"{where}: limitation {i} ({e.get('name', 'no name')!r})"
        wrong = [f"{k}: missing" for k in KEYS if k not in e] + [f"{k}: unknown key" for k in e if k not in KEYS]
        if wrong:
            raise ValueError(f"{at}: {wrong[0]} (keys: {', '.join(KEYS)})")
        for key in KEYS[:3]:
            v = e[key]
            if not isinstance(v, str) or not v.strip() or "|" in v or "\n" in v:
                raise ValueError(f"{at}: {key}: must be a non-empty one-line string without '|', got {v!r}")
        if e["name"] in names:
            raise ValueError(f"{at}: name: repeats an earlier entry's")
        names.add(e["name"])
        out = e["bears_on"]
        bad = [o for o in out if o not in VOCABULARY] if isinstance(out, list) else [out]
        if not isinstance(out, list) or not out or bad or len(set(out)) < len(out):
            raise ValueError(f"{at}: bears_on: {out!r}: not a non-empty list of distinct outputs from {VOCABULARY}")
    return entries


def bearing_on(outputs: set[str]) -> list[dict]:
    """The entries that bear on any of ``outputs`` (names from VOCABULARY), in file order."""
    unknown = sorted(set(outputs) - set(VOCABULARY))
    if unknown:
        raise ValueError(f"unknown outputs {', '.join(unknown)} (known: {', '.join(VOCABULARY)})")
    return [e for e in load() if set(outputs) & set(e["bears_on"])]


def markdown_table() -> str:
    """The markdown table of docs/limitations.md: one row per entry, its name in bold."""
    return HEADER + "".join(f"| **{e['name']}** | {e['model']} | {e['bias']} |\n" for e in load())


if __name__ == "__main__":
    print(markdown_table(), end="")
