"""Training capability in a comparison: per scenario, the largest run trainable in 100 days by the firms
headquartered in each compared country (FLOP, p50 [p5, p95]) at the compared quarters, the first quarter its
probability passes 50 % and each trial's first crossing quarter for 1e26 and 1e27 FLOP, the largest run Chinese
developers can train abroad (rented clusters, remote access; part of China's view), and the US-China gap:
the ratio of installed compute and of the largest run, and the US lead in quarters at 1e26 and 1e27 (China's
first crossing less the US's, per trial; a country that never crosses counts as crossing just after the run).
"""

from __future__ import annotations

import numpy as np

from .metrics.capability import first_crossing

GAP_THRESHOLDS = (1e26, 1e27)


def _interval(x: np.ndarray, fmt: str = "{:.2e}") -> str:
    p5, p50, p95 = np.percentile(x, (5, 50, 95))
    return f"{fmt.format(p50)} [{fmt.format(p5)}, {fmt.format(p95)}]"


def _crossing(first: np.ndarray, labels: list[str]) -> str:
    """Each trial's first crossing quarter index (Q = never) as "p50 [p5, p95]" quarter labels."""
    horizon = [*labels, "never"]
    q5, q50, q95 = np.percentile(first, (5, 50, 95), method="inverted_cdf").astype(int)
    return f"{horizon[q50]} [{horizon[q5]}, {horizon[q95]}]"


def training_rows(heads, quarters: list[str]) -> list[dict]:
    """Rows of the side-by-side table, as strings, for ``heads`` (compare.Headline, whose ``runs`` hold [T, Q]
    FLOP per compared country; the paired differences are sim/compare_differences.py's)."""
    base, labels = heads[0], heads[0].labels
    rows: list[dict] = []
    for c in base.runs:
        for q in quarters:
            qi = labels.index(q)
            rows.append(
                {
                    "metric": "largest_run_flop_100d",
                    "region": c,
                    "quarter": q,
                    **{h.name: _interval(h.runs[c][:, qi]) for h in heads},
                }
            )
        for th in GAP_THRESHOLDS:
            tag = f"{th:.0e}".replace("+", "")
            row = {"metric": f"first_quarter_p_over_half_{tag}", "region": c, "quarter": ""}
            for h in heads:
                over = (h.runs[c] >= th).mean(axis=0) > 0.5
                row[h.name] = labels[int(over.argmax())] if over.any() else "never"
            rows.append(row)
            rows.append(
                {
                    "metric": f"crossing_quarter_{tag}",
                    "region": c,
                    "quarter": "p50 [p5, p95]",
                    **{h.name: _crossing(first_crossing(h.runs[c][:, None, :], th)[:, 0], labels) for h in heads},
                }
            )
    for q in quarters:  # the channels by which Chinese developers train abroad (rented clusters, remote access)
        qi = labels.index(q)
        rows.append(
            {
                "metric": "china_abroad_run_flop_100d",
                "region": "CHN",
                "quarter": q,
                **{h.name: _interval(h.abroad[:, qi]) for h in heads},
            }
        )
    if {"USA", "CHN"} <= set(base.runs):
        rows += _gap_rows(heads, quarters)
    return rows


def _gap_rows(heads, quarters: list[str]) -> list[dict]:
    labels = heads[0].labels
    rows = []
    for q in quarters:
        qi = labels.index(q)
        for metric, num, den in (
            ("us_china_compute_ratio", lambda h: h.compute["US"], lambda h: h.compute["China"]),
            ("us_china_largest_run_ratio", lambda h: h.runs["USA"], lambda h: h.runs["CHN"]),
        ):
            cells = {}
            for h in heads:
                ratio = num(h)[:, qi] / np.maximum(den(h)[:, qi], 1e-30)
                cells[h.name] = _interval(ratio, "{:.3g}")
            rows.append({"metric": metric, "region": "USA/China", "quarter": q, **cells})
    for th in GAP_THRESHOLDS:
        tag = f"{th:.0e}".replace("+", "")
        cells = {}
        for h in heads:
            us = first_crossing(h.runs["USA"][:, None, :], th)[:, 0]
            cn = first_crossing(h.runs["CHN"][:, None, :], th)[:, 0]
            lead = cn - us
            never = (cn == len(labels)).mean()
            cells[h.name] = f"{_interval(lead, '{:.0f}')}; China never {never:.0%}"
        rows.append({"metric": f"us_lead_quarters_{tag}", "region": "USA/China", "quarter": "p50 [p5, p95]", **cells})
    return rows
