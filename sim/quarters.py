"""Quarters as labels ("2025Q1"), indices and dates. A dated rule applies to a quarter when it is in
force at the quarter's midpoint (so 2025-01-13 falls in 2025Q1 and 2025-05-13 in 2025Q2)."""

from __future__ import annotations

import datetime as dt
import re

_LABEL = re.compile(r"^(\d{4})Q([1-4])$")


def parse_label(label: str) -> tuple[int, int]:
    """``"2025Q1"`` → ``(2025, 1)``; ValueError otherwise."""
    m = _LABEL.match(str(label))
    if not m:
        raise ValueError(f"expected a quarter like 2025Q1, got {label!r}")
    return int(m.group(1)), int(m.group(2))


def labels(start: str, n: int) -> list[str]:
    """``n`` consecutive quarter labels from ``start``."""
    y, q = parse_label(start)
    out = []
    for i in range(n):
        k = (q - 1) + i
        out.append(f"{y + k // 4}Q{k % 4 + 1}")
    return out


def midpoint(label: str) -> dt.date:
    """The date in the middle of a quarter (the 15th of its second month)."""
    y, q = parse_label(label)
    return dt.date(y, 3 * q - 1, 15)


def to_date(x: object) -> dt.date:
    """A TOML date or an ISO string → date."""
    if isinstance(x, dt.datetime):
        return x.date()
    if isinstance(x, dt.date):
        return x
    return dt.date.fromisoformat(str(x))
