"""``report.html``: one static page per results folder (no server, no script, no network: images embedded), with
the manifest, the headline table, every figure with what a reader learns from it, the definitions of the numbers
and the limitations that bear on them (sim/limitations.toml)."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import polars as pl

from .figures import FIGURES
from .figures.data import RunTables
from .figures.style import BLOCS
from .limitations import bearing_on

CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.9em;margin:.5em 0}td,th{border:1px solid #ddd;padding:.25em .5em;
text-align:left;vertical-align:top}th{background:#f4f4f4}td.n{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:1.5em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.9em;color:#444}.muted{color:#666;font-size:.85em}
"""


TABLES = ("summary.csv", "summary.parquet", "feasibility.csv", "exhaustion.csv", "trials.parquet", "rules.csv")


def _esc(x) -> str:
    return html.escape(str(x))


def _table(header: list[str], rows: list[list], numeric: set[int] = frozenset()) -> str:
    """An HTML table of ``rows`` (escaped; columns ``numeric`` right-aligned); no header row if ``header`` is
    all blank."""
    head = "".join(f"<th>{_esc(h)}</th>" for h in header) if any(header) else ""
    body = "".join(
        "<tr>" + "".join(f"<td{' class=n' if i in numeric else ''}>{_esc(v)}</td>" for i, v in enumerate(r)) + "</tr>"
        for r in rows
    )
    thead = f"<thead><tr>{head}</tr></thead>" if head else ""
    return f"<table>{thead}<tbody>{body}</tbody></table>"


def _num(x: float) -> str:
    if x != x:
        return "–"
    if abs(x) >= 1e15:
        return f"{x:.2e}"
    if abs(x) >= 1e6:
        return f"{x / 1e6:,.2f} M"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def _interval(t: RunTables, metric: str, region: str, quarter: str) -> str:
    kind = "bloc" if region in BLOCS else "country"
    v = {q: t.at(metric, quarter, q, kind).get(region, float("nan")) for q in ("p5", "p50", "p95")}
    return f"{_num(v['p50'])} [{_num(v['p5'])}, {_num(v['p95'])}]"


def headline_rows(t: RunTables) -> tuple[list[list[str]], list[str]]:
    """The headline table: per bloc and the scenario's countries, installed compute and the largest run at the
    middle and last quarter, and the first quarter a 1e26-FLOP run is trainable in over half the trials."""
    quarters = list(dict.fromkeys([t.labels[len(t.labels) // 2], t.labels[-1]]))
    first = t.feasibility.filter((pl.col("view") == "headquarters") & (pl.col("threshold_flop") == 1e26))
    first = dict(zip(first["iso3"], first["first_quarter_p_over_half"]))
    for bloc in BLOCS:  # a bloc's from its probability in the summary
        p = t.series("p_train_1e26", bloc, "probability")
        over = [q for q, v in zip(t.labels, p) if v > 0.5]
        first[bloc] = over[0] if over else None
    rows = []
    for region in BLOCS + [c for c in t.countries if c in t.names]:
        row = [region if region in BLOCS else f"{t.names[region]} ({region})"]
        row += [_interval(t, "compute_h100e", region, q) for q in quarters]
        row += [_interval(t, "largest_run_flop", region, q) for q in quarters[-1:]]
        row.append(first.get(region) or f"not by {t.labels[-1]}")
        rows.append(row)
    return rows, quarters


def _figure(folder: Path, name: str) -> str:
    return _figure_of(folder, name, FIGURES[name]) if (folder / "figures" / f"{name}.png").exists() else ""


def run_report(folder: Path) -> str:
    """The report page of a run's results folder, from its files."""
    folder = Path(folder)
    man = json.loads((folder / "manifest.json").read_text())
    t = RunTables.of_folder(folder)
    shown = [n for n in FIGURES if (folder / "figures" / f"{n}.png").exists()]
    rows, quarters = headline_rows(t)
    summary = man.get("summary", {"method": "exact"})
    facts = [
        ["scenario", f"{man['scenario']['name']} ({man['scenario']['path']})"],
        ["regime", f"{man['regime']['name']}: {man['regime']['title']}"],
        ["trials · seed", f"{man['trials']:,} · {man['seed']}"],
        ["quarters", f"{man['quarters'][0]} to {man['quarters'][-1]}"],
        ["summary", summary["method"] + (f" ({summary['note']})" if "note" in summary else "")],
        ["sim version · git commit", f"{man['versions']['sim']} · {man['git_commit']}"],
        ["created (UTC) · wall time", f"{man['created_utc']} · {man['wall_time_s']:.0f} s"],
    ]
    if man["regime"].get("quarters_holding_last_values"):
        facts.append(["rules held", man["regime"]["note"]])
    defs = [[k, v] for k, v in man.get("units", {}).items()]
    defs += [[f"flow: {k}", v] for k, v in man.get("flows", {}).items()]
    defs += [
        [
            "p5, p50, p95",
            "percentiles over trials of each region's per-trial value (a bloc's value is the sum of "
            "its members' in that trial); [p5, p95] spans 90 % of the trials, not a confidence interval",
        ],
        [
            "largest run",
            "FLOP a firm headquartered in the region can train on one co-located cluster in 100 days "
            "(by headquarters: its clusters wherever they are)",
        ],
        ["first quarter > 50 %", "the first quarter in which more than half the trials can train a 1e26-FLOP run"],
    ]
    limits = bearing_on(set(shown) | {"compute_blocs", "compute_countries", "training_capability"})  # and the table
    header = ["region"] + [f"installed H100e, {q}" for q in quarters] + [f"largest run, FLOP, {quarters[-1]}"]
    header.append("1e26 trainable in > 50 % of trials from")
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>{_esc(man['scenario']['name'])} · sim {_esc(man['versions']['sim'])}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>{_esc(man['scenario']['name'])}</h1><p class=muted>{_esc(man['regime']['title'])}</p>",
        "<h2>Run</h2>" + _table(["", ""], facts),
        "<h2>Headline numbers</h2><p class=muted>median [p5, p95] over trials</p>",
        _table(header, rows, set(range(1, len(header) - 1))),
        "<h2>Figures</h2>"
        + (
            "".join(_figure(folder, n) for n in shown)
            or "<p>Not drawn (--no-figures): <code>sim plot</code> draws them.</p>"
        ),
        "<h2>Definitions</h2>" + _table(["term", "meaning"], defs),
        "<h2>Limitations that bear on these outputs</h2>",
        _table(
            ["limitation", "what the model does instead", "bias"], [[x["name"], x["model"], x["bias"]] for x in limits]
        ),
        "<p class=muted>Tables: "
        + ", ".join(f'<a href="{f}">{f}</a>' for f in TABLES if (folder / f).exists())
        + "; the run's settings and versions: manifest.json.</p></body></html>",
    ]
    return "\n".join(parts)


def write_run_report(folder: Path) -> Path:
    """Write ``folder``/report.html."""
    path = Path(folder) / "report.html"
    path.write_text(run_report(folder), encoding="utf-8")
    return path


def compare_report(folder: Path) -> str:
    """The report page of a comparison folder, from its files."""
    from .compare_differences import COLUMNS
    from .comparison import NOTES, cell
    from .figures.comparison import FIGURES as COMPARE_FIGURES

    folder = Path(folder)
    man = json.loads((folder / "manifest.json").read_text())
    side = pl.read_csv(folder / "comparison.csv", infer_schema_length=None, infer_schema=False).fill_null("")
    diffs = pl.read_csv(folder / "differences.csv", infer_schema_length=None, schema_overrides={"quarter": pl.Utf8})
    links = " · ".join(
        f'<a href="scenarios/{_esc(n)}/report.html">{_esc(n)}</a>'
        for n in man["names"]
        if (folder / "scenarios" / n / "report.html").exists()
    )
    facts = [
        [
            "scenarios (regimes)",
            ", ".join(f"{n} ({r})" for n, r in zip(man["names"], man.get("regimes", [])))
            + f"; baseline: {man['names'][0]}",
        ],
        ["trials · seed", f"{man['trials']:,} · {man['seed']} (common random numbers)"],
        ["quarters", f"{man['quarters'][0]} to {man['quarters'][-1]}"],
        ["compared countries", ", ".join(man["countries"])],
        ["sim version · wall time", f"{man['version']} · {man['wall_time_s']:.0f} s"],
    ]
    figs = "".join(
        _figure_of(folder, n, COMPARE_FIGURES[n]) for n in COMPARE_FIGURES if (folder / "figures" / f"{n}.png").exists()
    )
    defs = [[k, v] for k, v in COLUMNS.items()]
    limits = bearing_on({"comparison"})
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>comparison · sim {_esc(man['version'])}</title><style>{CSS}</style></head><body>",
        f"<h1>Comparison of {len(man['names'])} scenarios</h1><p class=muted>{_esc(man['note'])}</p>",
        "<h2>Run</h2>" + _table(["", ""], facts),
        f"<p>Each scenario's own report: {links or 'not written'}</p>",
        "<h2>Headline numbers</h2>",
        _table(side.columns, [[cell(v) for v in r] for r in side.rows()], set(range(3, len(side.columns)))),
        "<h2>Paired differences, "
        + _esc(man["quarters"][-1])
        + "</h2><p class=muted>scenario − "
        + _esc(man["names"][0])
        + " in the same trials: median [p5, p95]; in brackets the share of trials where "
        "the sign holds (differences.csv has every quarter and country)</p>",
        _difference_table(diffs, man),
        "<p class=muted>" + _esc(NOTES).replace("\n- ", "<br>• ").replace("\n", " ") + "</p>",
        "<h2>Figures</h2>" + (figs or "<p>Not drawn (--no-figures): <code>sim plot</code> draws them.</p>"),
        "<h2>Definitions</h2><p>differences.csv: every headline output, quarter and compared country.</p>",
        _table(["column", "meaning"], defs),
        "<h2>Limitations that bear on the comparison</h2>",
        _table(
            ["limitation", "what the model does instead", "bias"], [[x["name"], x["model"], x["bias"]] for x in limits]
        ),
        "</body></html>",
    ]
    return "\n".join(parts)


def _difference_table(diffs: pl.DataFrame, man: dict) -> str:
    """Bloc compute and the US's and China's P(1e26) and P(1e27) at the last quarter, one column per scenario."""
    from .comparison import cell

    last, names = man["quarters"][-1], man["names"][1:]
    rows = []
    wanted = [("compute_h100e", r, "H100e") for r in BLOCS] + [
        (m, r, "percentage points") for m in ("p_train_1e26", "p_train_1e27") for r in ("US", "China")
    ]
    for metric, region, unit in wanted:
        row = [f"{metric} · {region} ({unit})"]
        for n in names:
            d = diffs.filter(
                (pl.col("metric") == metric)
                & (pl.col("region") == region)
                & (pl.col("quarter") == last)
                & (pl.col("scenario") == n)
            )
            if d.height == 0:
                row.append("–")
            elif unit == "percentage points":
                row.append(f"{100 * d['diff_mean'][0]:+.1f} ({d['share_sign_holds'][0]:.0%})")
            else:
                r = d.row(0, named=True)
                row.append(
                    f"{cell(r['diff_p50'])} [{cell(r['diff_p5'])}, {cell(r['diff_p95'])}] ({r['share_sign_holds']:.0%})"
                )
        rows.append(row)
    return _table(["output"] + names, rows, set(range(1, len(names) + 1)))


def _figure_of(folder: Path, name: str, caption: str) -> str:
    data = base64.b64encode((folder / "figures" / f"{name}.png").read_bytes()).decode()
    links = " · ".join(
        f'<a href="figures/{name}.{ext}">{ext.upper()}</a>'
        for ext in ("pdf", "svg", "csv")
        if (folder / "figures" / f"{name}.{ext}").exists()
    )
    return (
        f'<figure id="{name}"><img src="data:image/png;base64,{data}" alt="{_esc(caption)}">'
        f"<figcaption><b>{_esc(name)}</b>: {_esc(caption)} {links}</figcaption></figure>"
    )


def write_compare_report(folder: Path) -> Path:
    """Write ``folder``/report.html for a comparison."""
    path = Path(folder) / "report.html"
    path.write_text(compare_report(folder), encoding="utf-8")
    return path
