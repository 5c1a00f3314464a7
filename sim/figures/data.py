"""What a run's figures are drawn from: its tables as written in its results folder (so ``sim plot`` redraws them
from disk) or as a RunResult holds them before they are written."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from .style import Source

QUANTILES = ("p5", "p50", "p95")


@dataclass
class RunTables:
    """A run's tables and what its figures print about it."""

    summary: pl.DataFrame  # summary.parquet (sim/metrics/summary.py)
    feasibility: pl.DataFrame  # feasibility.csv
    exhaustion: pl.DataFrame  # exhaustion.csv
    rules: pl.DataFrame  # rules.csv: per territory and quarter, the destination class and policies
    labels: list[str]  # quarters
    countries: list[str]  # the scenario's outputs.countries (iso3)
    held: list[str]  # quarters whose rules hold the last values of a regime past its horizon
    source: Source
    names: dict[str, str]  # iso3 → name

    @classmethod
    def of_folder(cls, run_dir: Path) -> RunTables:
        run_dir = Path(run_dir)
        man = json.loads((run_dir / "manifest.json").read_text())
        from ..metrics.tables import EXHAUSTION_SCHEMA

        exhaustion = pl.read_csv(run_dir / "exhaustion.csv", schema=EXHAUSTION_SCHEMA)
        feasibility = pl.read_csv(run_dir / "feasibility.csv", infer_schema_length=None)
        rules = (
            rules_by_quarter(pl.read_csv(run_dir / "rules.csv"), man["quarters"])
            if (run_dir / "rules.csv").exists()
            else _no_rules()
        )
        settings = man["scenario"]["settings"]
        return cls(
            pl.read_parquet(run_dir / "summary.parquet"),
            feasibility,
            exhaustion,
            rules,
            man["quarters"],
            settings.get("outputs", {}).get("countries", ["USA", "CHN"]),
            man["regime"].get("quarters_holding_last_values", []),
            Source.of_manifest(man),
            dict(zip(feasibility["iso3"], feasibility["name"])),
        )

    def metric(self, metric: str) -> pl.DataFrame:
        """The summary's rows of ``metric`` (split by metric once)."""
        if "_by_metric" not in self.__dict__:
            self._by_metric = self.summary.partition_by("metric", as_dict=True)
        return self._by_metric.get((metric,), self.summary.clear())

    def series(self, metric: str, region: str, quantile: str = "p50") -> np.ndarray:
        """float64 [Q]: one statistic of ``metric`` in ``region`` by quarter (NaN where the summary has none)."""
        s = self.metric(metric).filter((pl.col("region") == region) & (pl.col("quantile") == quantile))
        out = np.full(len(self.labels), np.nan)
        pos = {q: i for i, q in enumerate(self.labels)}
        for q, v in zip(s["quarter"], s["value"]):
            out[pos[q]] = v
        return out

    def band(self, metric: str, region: str) -> np.ndarray:
        """float64 [3, Q]: p5, p50 and p95 of ``metric`` in ``region`` by quarter."""
        return np.stack([self.series(metric, region, q) for q in QUANTILES])

    def at(self, metric: str, quarter: str, quantile: str = "p50", kind: str = "country") -> dict[str, float]:
        """Region → value of ``metric`` at ``quarter`` for every region of ``kind`` (country, bloc, world)."""
        s = self.metric(metric).filter(
            (pl.col("quarter") == quarter) & (pl.col("quantile") == quantile) & (pl.col("region_type") == kind)
        )
        return dict(zip(s["region"], s["value"]))


def _no_rules() -> pl.DataFrame:
    """The rules of a folder written before rules.csv: none."""
    names = ("iso3", "quarter", "regime", "destination_class", "policy_3a090a", "policy_3a090b")
    return pl.DataFrame(schema={n: pl.Utf8 for n in names})


RULES = ("regime", "destination_class", "policy_3a090a", "policy_3a090b")


def rules_table(comp) -> pl.DataFrame:
    """rules.csv of a compiled scenario: per territory, each span of quarters (``first_quarter`` to
    ``last_quarter``) with the same regime in force, destination class and policy on 3A090.a and 3A090.b chips."""
    from ..kernel.layout import POLICY_CODES

    reg, labels = comp.regime, comp.labels
    names = {v: k for k, v in POLICY_CODES.items()}
    rows = []
    for c, iso in enumerate(comp.iso3):
        spans: list[dict] = []
        for q, label in enumerate(labels):
            rule = (
                reg.regime_name[q],
                reg.dest_class[q][c],
                names[int(reg.policy[q, c, 0])],
                names[int(reg.policy[q, c, 1])],
            )
            if spans and tuple(spans[-1][k] for k in RULES) == rule:
                spans[-1]["last_quarter"] = label
            else:
                spans.append({"iso3": iso, "first_quarter": label, "last_quarter": label, **dict(zip(RULES, rule))})
        rows += spans
    return pl.DataFrame(rows)


def rules_by_quarter(spans: pl.DataFrame, labels: list[str]) -> pl.DataFrame:
    """rules.csv's spans as one row per territory and quarter (iso3, quarter and the rules)."""
    q = pl.DataFrame({"quarter": labels})
    return (
        spans.join(q, how="cross")
        .filter((pl.col("quarter") >= pl.col("first_quarter")) & (pl.col("quarter") <= pl.col("last_quarter")))
        .select("iso3", "quarter", *RULES)
    )
