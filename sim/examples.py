"""The example scenarios: the checkout's ``scenarios/*.toml``, shipped in the wheel as ``sim/scenarios/``.

``sim run --example default`` runs one after ``pip install``; ``names()`` lists them and ``path(name)`` gives
the file. Installed, the files come from the package; in a checkout (editable install, or tests run from the
source tree) from the top-level ``scenarios/`` folder, the one the README and the Makefile use.
"""

from __future__ import annotations

from pathlib import Path

from .errors import SimInputError

_HERE = Path(__file__).resolve().parent
_PACKAGED = _HERE / "scenarios"  # pyproject.toml maps the package sim.scenarios onto scenarios/
_CHECKOUT = _HERE.parent / "scenarios"


def directory() -> Path:
    """The folder holding the example scenario files."""
    if _PACKAGED.is_dir():
        return _PACKAGED
    if _CHECKOUT.is_dir() and (_HERE.parent / "pyproject.toml").is_file():
        return _CHECKOUT
    raise FileNotFoundError(f"no example scenarios next to {_HERE} (neither sim/scenarios/ nor ../scenarios/)")


def names() -> list[str]:
    """The example names, sorted: the file stems, e.g. ``default``, ``no_controls``."""
    return sorted(p.stem for p in directory().glob("*.toml"))


def path(name: str) -> Path:
    """The scenario file of example ``name``; a ``SimInputError`` naming the known ones if there is none."""
    known = names()
    if name not in known:
        raise SimInputError("command line", "--example", f"unknown example {name!r} (known: {', '.join(known)})")
    return directory() / f"{name}.toml"
