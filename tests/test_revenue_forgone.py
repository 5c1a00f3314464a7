"""Revenue forgone by vendor, destination and quarter (`sim compare` → revenue_forgone.csv): gross (refused
orders at price) and net (baseline revenue − scenario revenue, paired per trial on common random numbers)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from scripted import ROOT

import sim
from sim.comparison import COUNTRIES, compare, headline, revenue_forgone
from sim.kernel import layout as L
from sim.scenario import load_scenario

TRIALS = 20
COLUMNS = [
    "scenario",
    "baseline",
    "vendor",
    "region",
    "quarter",
    "gross_usd_p5",
    "gross_usd_p50",
    "gross_usd_p95",
    "net_usd_p5",
    "net_usd_p50",
    "net_usd_p95",
    "net_share_positive",
]


def _scenarios(world, *names: str, **kw):
    first = load_scenario(ROOT / "scenarios" / f"{names[0]}.toml", world=world).replace(trials=TRIALS, **kw)
    rest = [load_scenario(ROOT / "scenarios" / f"{n}.toml", world=world) for n in names[1:]]
    return [first, *(s.replace(seed=first.seed, trials=TRIALS, **kw) for s in rest)]


@pytest.fixture(scope="module")
def runs(world):
    """no_controls and rescission_2025 on common random numbers: (run results, headlines, table)."""
    res = [sim.run(s) for s in _scenarios(world, "no_controls", "rescission_2025")]
    heads = [headline(r) for r in res]
    return res, heads, revenue_forgone(heads)


def _row(table: pl.DataFrame, scenario: str, vendor: str, region: str, quarter: str) -> dict:
    rows = table.filter(
        (pl.col("scenario") == scenario)
        & (pl.col("vendor") == vendor)
        & (pl.col("region") == region)
        & (pl.col("quarter") == quarter)
    )
    assert rows.height == 1
    return rows.row(0, named=True)


@pytest.mark.slow  # draws the figures
def test_compare_writes_revenue_forgone_csv(tmp_path, world):
    scenarios = _scenarios(world, "no_controls", "controls_2022", quarters=8)
    path = compare(scenarios, tmp_path, run_id="r")
    t = pl.read_csv(path / "revenue_forgone.csv", infer_schema_length=None)
    assert t.columns == COLUMNS
    regions = {"US", "Tier-1 partners", "China", "Other Tier 2", "Other Tier 3", *COUNTRIES, "World"}
    assert set(t["region"]) == regions and set(t["vendor"]) == set(L.VENDORS)
    assert set(t["quarter"]) == {"2025", "2026", "all"}  # the CSV: years and the run; quarters in the parquet
    assert t.height == 2 * len(L.VENDORS) * len(regions) * (2 + 1)
    full = pl.read_parquet(path / "revenue_forgone.parquet")
    assert full.height == 2 * len(L.VENDORS) * len(regions) * (8 + 2 + 1)
    assert full.filter(~pl.col("quarter").str.contains("Q")).equals(t.cast(full.schema))
    base, other = t.filter(pl.col("scenario") == "no_controls"), t.filter(pl.col("scenario") == "controls_2022")
    assert base["baseline"].null_count() == base.height and base["net_usd_p50"].null_count() == base.height
    assert (other["baseline"] == "no_controls").all() and other["net_usd_p50"].null_count() == 0
    assert (base["gross_usd_p95"] == 0).all()  # nothing is refused without controls
    china = _row(t, "controls_2022", "NVIDIA", "China", "all")
    assert china["gross_usd_p50"] > 0 and china["net_usd_p50"] > 0
    assert 0.0 <= other["net_share_positive"].min() and other["net_share_positive"].max() <= 1.0
    # shares are written with 3 decimals, USD in whole dollars
    line = next(x for x in (path / "revenue_forgone.csv").read_text().splitlines()[1:] if x.startswith("controls"))
    assert len(line.rsplit(",", 1)[1].split(".")[-1]) <= 3 and "." not in line.split(",")[5]
    # the world-total rows of comparison.csv are still there
    side = pl.read_csv(path / "comparison.csv")
    assert "revenue_usd_nvidia_total_p50" in set(side["metric"])


def test_china_nvidia_net_revenue_forgone_is_positive_under_controls(runs):
    _, _, t = runs
    row = _row(t, "rescission_2025", "NVIDIA", "China", "all")
    print({k: row[k] for k in COLUMNS})
    assert row["baseline"] == "no_controls"
    assert row["net_usd_p50"] > 0 and row["net_share_positive"] > 0.5
    assert row["gross_usd_p50"] > 0
    assert row["net_usd_p5"] <= row["net_usd_p50"] <= row["net_usd_p95"]
    assert row["gross_usd_p5"] <= row["gross_usd_p50"] <= row["gross_usd_p95"]
    # the US is not refused its own NVIDIA chips
    assert _row(t, "rescission_2025", "NVIDIA", "USA", "all")["gross_usd_p95"] == 0


def test_headline_arrays_are_per_trial_sums_of_the_kernel_outputs(runs):
    res, heads, _ = runs
    for r, h in zip(res, heads):
        world = r.scenario.world
        idx = world.index()
        china = [idx[c] for c in ("CHN", "HKG", "MAC")]
        for by, arr in ((h.revenue_by, r.outputs.revenue), (h.refused_by, r.outputs.refused)):
            assert by["World"].shape == (TRIALS, len(h.labels), len(L.VENDORS))
            np.testing.assert_allclose(by["World"], arr.sum(axis=1, dtype=np.float64), rtol=1e-9)
            np.testing.assert_allclose(by["China"], arr[:, china].sum(axis=1, dtype=np.float64), rtol=1e-9)
            np.testing.assert_allclose(by["CHN"], arr[:, idx["CHN"]].astype(np.float64), rtol=1e-9)
            blocs = sum(by[b] for b in ("US", "Tier-1 partners", "China", "Other Tier 2", "Other Tier 3"))
            np.testing.assert_allclose(blocs, by["World"], rtol=1e-9)  # the blocs partition the world
        for k, v in enumerate(L.VENDORS):  # and agree with the world totals of comparison.csv
            np.testing.assert_allclose(h.revenue_by["World"][..., k].sum(axis=1), h.revenue[v.lower()], rtol=1e-9)


def test_all_is_the_run_sum_and_world_the_sum_of_territories(runs):
    res, (base, other), t = runs
    k = L.VENDORS.index("NVIDIA")
    for region, net in (
        ("China", base.revenue_by["China"] - other.revenue_by["China"]),
        ("World", (res[0].outputs.revenue - res[1].outputs.revenue).sum(axis=1, dtype=np.float64)),
    ):
        total = net[..., k].sum(axis=1)  # [T]: over the run, per trial, then the percentiles
        row = _row(t, "rescission_2025", "NVIDIA", region, "all")
        for p in (5, 50, 95):
            assert row[f"net_usd_p{p}"] == pytest.approx(np.percentile(total, p), abs=1.0, rel=1e-6)
        assert row["net_share_positive"] == pytest.approx(np.mean(total > 0), abs=5e-4)
    refused = res[1].outputs.refused[..., k].sum(axis=(1, 2), dtype=np.float64)  # every territory, every quarter
    row = _row(t, "rescission_2025", "NVIDIA", "World", "all")
    assert row["gross_usd_p50"] == pytest.approx(np.median(refused), abs=1.0, rel=1e-6)
    # a single quarter: that quarter's per-trial values
    q = base.labels.index("2026Q1")
    net = base.revenue_by["CHN"][:, q, k] - other.revenue_by["CHN"][:, q, k]
    assert _row(t, "rescission_2025", "NVIDIA", "CHN", "2026Q1")["net_usd_p50"] == pytest.approx(
        np.median(net), abs=1.0, rel=1e-6
    )
    # a calendar year: the per-trial sum of its quarters
    in_2026 = [i for i, lab in enumerate(base.labels) if lab.startswith("2026")]
    net = (base.revenue_by["CHN"][:, in_2026, k] - other.revenue_by["CHN"][:, in_2026, k]).sum(axis=1)
    assert _row(t, "rescission_2025", "NVIDIA", "CHN", "2026")["net_usd_p50"] == pytest.approx(
        np.median(net), abs=1.0, rel=1e-6
    )


def test_a_scenario_against_itself_forgoes_nothing(world):
    a, b = _scenarios(world, "rescission_2025", "rescission_2025", quarters=4)
    heads = [headline(sim.run(a)), headline(sim.run(b.replace(name="rescission_again")))]
    t = revenue_forgone(heads)
    again = t.filter(pl.col("scenario") == "rescission_again")
    assert (again["net_usd_p5"] == 0).all() and (again["net_usd_p95"] == 0).all()  # common random numbers
    assert (again["net_share_positive"] == 0).all()
    first = t.filter(pl.col("scenario") == "rescission_2025")
    assert again["gross_usd_p50"].to_list() == first["gross_usd_p50"].to_list()
    assert _row(t, "rescission_again", "NVIDIA", "China", "all")["gross_usd_p50"] > 0
