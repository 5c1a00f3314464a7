"""docs/regimes.md: every parameter of every regime file, with its dated values and references, so a
reader can check each figure against its source. Regenerate with ``sim regimes --out docs/regimes.md``."""

from __future__ import annotations

import tomllib

from . import REGIME_DIR, Param, _walk, load_regime


def _cell(x: object) -> str:
    s = ", ".join(map(str, x)) if isinstance(x, list) else str(x)
    return s.replace("|", "\\|")


def _row(p: Param) -> str:
    values = "<br>".join(f"{d}: {_cell(v)}" for d, v in p.values)
    refs = "<br>".join(
        f"[{_cell(r['title'])}]({r['href']})" if r.get("href") else _cell(r["title"]) for r in p.reference
    )
    return f"| `{p.name}` | {_cell(p.description)} | {values} | {_cell(p.unit)} | {refs} |"


def regimes_markdown() -> str:
    out = [
        "# Regimes: every parameter and its source",
        "",
        "Generated from `sim/regimes/*.toml` by `sim regimes --out docs/regimes.md`; do not edit by hand.",
        "A dated value holds from its date until the next one; a quarter takes the value in force at its",
        "midpoint. A regime with a base inherits the base's parameters and lists here only its own.",
        "",
    ]
    for path in sorted(REGIME_DIR.glob("*.toml")):
        reg = load_regime(path)
        data = tomllib.loads(path.read_text())
        own: dict[str, Param] = {}
        _walk({k: v for k, v in data.items() if isinstance(v, dict)}, "", path, own)
        own = {n: reg.params[n] for n in own}  # with the base's earlier values where it redefines one
        out += [f"## {reg.name}: {reg.title}", ""]
        if "base" in data:
            out += [f"Base: `{data['base']}` (its parameters apply unless redefined here).", ""]
        if reg.horizon_end:
            out += [f"Horizon: {reg.horizon_end}. {reg.horizon_note}", ""]
        out += ["| parameter | what | values | unit | reference |", "|---|---|---|---|---|"]
        out += [_row(p) for p in own.values()]
        out.append("")
    return "\n".join(out)
