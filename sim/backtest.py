"""`sim backtest`: run the rules as they happened over 2024-2025 (scenarios/backtest_2024.toml) and compare the model
with published estimates (sim/world/backtest_targets.csv): installed AI compute of the world, the US and
China, their shares, chips smuggled to China, China's H20-class chips, NVIDIA's legal sales to China and
Huawei's output, and the share of a territory's stock held by its largest actor (the calibration
target of the firm-size distribution). Each row gives the model's 5th/50th/95th percentiles over trials, the published
interval and the ratio of medians; the issue's rule is that a ratio beyond 2× calls for recalibration
where a source supports it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from .errors import DataError, SimInputError
from .inputs import compile_scenario
from .kernel import layout as L
from .kernel.allocate import run_kernel
from .metrics.capability import cluster_h100e, largest_run_flop, run_by_headquarters
from .scenario import Scenario

TARGETS = Path(__file__).parent / "world" / "backtest_targets.csv"
MEASURES = (
    "installed",
    "share",
    "smuggled",
    "substitute",
    "legal",
    "domestic",
    "share_new",
    "largest_share",
    "largest_run",
    "largest_cluster",
)
# "largest_run": the largest run trainable in 100 days by the firms headquartered in the region at the period's
# end (FLOP), against the largest run known to be trained there that year: capability is never below achievement,
# so its rule is "at_least" (model median >= published median), not "within_2x". "largest_cluster": the largest
# co-located cluster located in the region (H100e). For these two, a year before the run stands for the run's
# first quarter (capability at its start: an upper bound of the year's end).
RULES = ("within_2x", "at_least")
CAPABILITY = ("largest_run", "largest_cluster")
# plus "family:<name>": additions to the territory's stock of a chip family (layout.FAMILIES) over the period, and
# "revenue_lost:<vendor>": the vendor's revenue from the territory over the period in a variant without a rule
# (the target's `variant`: "<parameter>=none", a chip rule neutralised) less in the back-test run, paired
TOLERANCE = 2.0


def load_targets(path: Path = TARGETS) -> pl.DataFrame:
    if not path.exists():
        raise DataError(path, "", "file not found")
    df = pl.read_csv(path)
    if "variant" not in df.columns:
        df = df.with_columns(pl.lit(None, dtype=pl.Utf8).alias("variant"))
    if "rule" not in df.columns:
        df = df.with_columns(pl.lit(None, dtype=pl.Utf8).alias("rule"))
    df = df.with_columns(pl.col("rule").fill_null("within_2x"))
    for i, rule in enumerate(df["rule"].to_list()):
        if rule not in RULES:
            raise DataError(path, f"rule (row {i + 2})", f"unknown rule {rule!r}; expected one of {RULES}")
    for i, (m, variant) in enumerate(zip(df["measure"].to_list(), df["variant"].to_list(), strict=True)):
        fam = m.split(":", 1)[1] if m.startswith(("family:", "revenue_lost:")) else None
        if m.startswith("revenue_lost:") and (fam not in L.VENDORS or not variant or "=" not in variant):
            raise DataError(path, f"measure (row {i + 2})", "revenue_lost:<vendor> needs a vendor and a variant")
        if m not in MEASURES and fam not in L.FAMILIES and not m.startswith("revenue_lost:"):
            raise DataError(
                path, f"measure (row {i + 2})", f"unknown measure {m!r}; expected one of {MEASURES} or family:<name>"
            )
    return df


def _span(labels: list[str], period: str, before_is_start: bool = False) -> tuple[int, int]:
    """Quarter indices [first, last] of a period ("2024" or "2024Q4") within the run (a year before the run:
    its first quarter, if ``before_is_start``)."""
    qs = [i for i, lab in enumerate(labels) if lab.startswith(period)]
    if not qs and before_is_start and period.isdigit() and int(period) < int(labels[0][:4]):
        return 0, 0
    if not qs:
        raise DataError(TARGETS, "period", f"{period} is outside the run ({labels[0]}-{labels[-1]})")
    return qs[0], qs[-1]


def _added(x: np.ndarray, a: int, b: int) -> np.ndarray:
    """Additions over quarters a..b of a [T, C, Q] stock (the run is shorter than any service life)."""
    return x[:, :, b] - (x[:, :, a - 1] if a > 0 else 0.0)


def model_values(
    out, labels: list[str], iso3: list[str], targets: pl.DataFrame, draws=None, run_hq=None
) -> dict[str, np.ndarray]:
    """Per-trial model value of every target (kernel Outputs of the back-test run; ``draws``: the run's
    per-trial inputs, and ``run_hq``: its largest MFU-weighted cluster by headquarters [T, C, Q], for the
    training-capability measures)."""
    total = out.stock.sum(axis=3, dtype=np.float64)  # [T, C, Q]
    world = total.sum(axis=1)
    new = out.stock[..., L.CH_FREE :].sum(axis=3, dtype=np.float64)  # all but the initial base
    vals = {}
    for row in targets.iter_rows(named=True):
        m = row["measure"]
        a, b = _span(labels, str(row["period"]), m in CAPABILITY)
        c = None if row["region"] == "world" else iso3.index(row["region"])
        if m == "installed":
            v = world[:, b] if c is None else total[:, c, b]
        elif m == "share":
            v = total[:, c, b] / world[:, b]
        elif m == "smuggled":
            fl = out.flows[:, c, a : b + 1]
            v = fl[..., L.FL_DIVERTED_IN].sum(axis=1, dtype=np.float64) + fl[..., L.FL_SMUGGLED].sum(
                axis=1, dtype=np.float64
            )
        elif m == "substitute":
            v = out.flows[:, c, a : b + 1, L.FL_SUBSTITUTE].sum(axis=1, dtype=np.float64)
        elif m == "legal":
            st = out.stock[..., [L.CH_FREE, L.CH_LICENSED, L.CH_VEU]].sum(axis=3, dtype=np.float64)
            v = _added(st, a, b)[:, c]
        elif m == "domestic":
            v = _added(out.stock[..., L.CH_DOMESTIC].astype(np.float64), a, b)[:, c]
        elif m.startswith("family:"):
            j = L.FAMILIES.index(m.split(":", 1)[1])
            v = _added(out.family[..., j].astype(np.float64), a, b)[:, c]
        elif m == "largest_run":
            v = largest_run_flop(run_hq[:, c : c + 1, b : b + 1], draws)[:, 0, 0]
        elif m == "largest_cluster":
            v = cluster_h100e(out.cluster[:, c : c + 1, b : b + 1])[:, 0, 0]
        elif m == "largest_share":
            v = out.largest[:, c, b].astype(np.float64) / total[:, c, b]
        else:  # share_new
            add = _added(new, a, b)
            v = add[:, c] / add.sum(axis=1)
        vals[row["target"]] = v
    return vals


def _without(sc: Scenario, variant: str) -> Scenario:
    """``sc`` with the parameter of ``variant`` ("<name>=<value>") overridden in every regime that has it."""
    name, value = variant.split("=", 1)
    try:
        return sc.with_params({name: value}, TARGETS)
    except SimInputError as e:
        raise DataError(TARGETS, "variant", e.message) from None


def revenue_lost(sc: Scenario, out, comp, row: dict) -> np.ndarray:
    """Per trial: the vendor's revenue from the region over the period in the variant, less in ``out``
    (same seed: common random numbers)."""
    a, b = _span(comp.labels, str(row["period"]))
    v = L.VENDORS.index(row["measure"].split(":", 1)[1])
    region = ["CHN", "HKG", "MAC"] if row["region"] == "CHN" else [row["region"]]
    idx = [comp.iso3.index(c) for c in region]
    alt = run_kernel(compile_scenario(_without(sc, row["variant"])).inputs)

    def total(o):
        return o.revenue[:, :, a : b + 1, v][:, idx].sum(axis=(1, 2), dtype=np.float64)  # [T]

    return total(alt) - total(out)


def backtest(sc: Scenario, targets: pl.DataFrame | None = None) -> pl.DataFrame:
    """Run ``sc`` and compare with the targets: one row per target, with the ratio of medians."""
    targets = load_targets() if targets is None else targets
    comp = compile_scenario(sc)
    out = run_kernel(comp.inputs)
    plain = targets.filter(~pl.col("measure").str.starts_with("revenue_lost:"))
    idx = sc.world.index()
    run_hq = run_by_headquarters(out, comp.draws, comp.regime, idx["CHN"], idx["USA"], comp.abroad)
    vals = model_values(out, comp.labels, comp.iso3, plain, comp.draws, run_hq)
    for row in targets.filter(pl.col("measure").str.starts_with("revenue_lost:")).iter_rows(named=True):
        vals[row["target"]] = revenue_lost(sc, out, comp, row)
    rows = []
    for row in targets.iter_rows(named=True):
        p5, p50, p95 = np.percentile(vals[row["target"]], [5, 50, 95])
        ratio = p50 / row["p50"]
        rows.append(
            {
                "target": row["target"],
                "unit": row["unit"],
                "model_p5": p5,
                "model_p50": p50,
                "model_p95": p95,
                "published_p5": row["p5"],
                "published_p50": row["p50"],
                "published_p95": row["p95"],
                "ratio": float(ratio),
                "rule": row["rule"],
                "within_2x": bool(1 / TOLERANCE <= ratio <= TOLERANCE),
                "passes": bool(ratio >= 1.0 if row["rule"] == "at_least" else 1 / TOLERANCE <= ratio <= TOLERANCE),
                "published_in_model_90": bool(p5 <= row["p50"] <= p95),
                "source": row["source"],
                "note": row["note"] or "",
            }
        )
    return pl.DataFrame(rows)


def _fmt(x: float) -> str:
    return f"{x:.3f}" if abs(x) < 10 else f"{x:.3g}" if abs(x) >= 1e15 else f"{x:,.0f}"


def markdown(df: pl.DataFrame, sc: Scenario) -> str:
    out = [
        f"# Back-test: {sc.name}",
        "",
        f"Generated by `sim backtest` ({sc.trials} trials, seed {sc.seed}, {sc.labels[0]}-{sc.labels[-1]}, "
        f"regime {' then '.join(f'`{r.name}`' for _, r in sc.timeline)}). Model: 5th/50th/95th percentiles over "
        "trials; published: the source's interval.",
        "Ratio = model median / published median; the calibration rule: beyond 2x, adjust where a source supports it.",
        "Rows with the rule 'at least' compare a capability with an achievement (the largest run known to be trained",
        "in a year against the largest the model says was trainable in 100 days): they pass at a ratio of 1 or more,",
        "and the ratio says how far capability ran ahead of what was trained.",
        "",
        "| target | unit | model p50 [p5, p95] | published p50 [p5, p95] | ratio | rule | passes | source |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in df.iter_rows(named=True):
        out.append(
            f"| {r['target']} | {r['unit']} | {_fmt(r['model_p50'])} [{_fmt(r['model_p5'])}, {_fmt(r['model_p95'])}] | "
            f"{_fmt(r['published_p50'])} [{_fmt(r['published_p5'])}, {_fmt(r['published_p95'])}] | "
            f"{r['ratio']:.2f} | {r['rule'].replace('_', ' ')} | {'yes' if r['passes'] else 'NO'} | {r['source']} |"
        )
    out += ["", "Notes (how the model measures each target):", ""]
    out += [f"- `{r['target']}`: {r['note']}" for r in df.iter_rows(named=True) if r["note"]]
    return "\n".join(out) + "\n"
