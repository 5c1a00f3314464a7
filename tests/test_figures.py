"""Figures (sim/figures): one style (fixed colours per bloc and scenario), the data each figure shows taken from
the run's tables; every figure drawn on a tiny run is not blank, labels every axis and writes its PDF, PNG and
CSV; ``sim plot`` redraws them from the folder, with --countries and --format."""

import json

import numpy as np
import polars as pl
import pytest
from PIL import Image
from scripted import ROOT

import sim
from sim.cli import main
from sim.figures import FIGURES, RunTables, draw_run
from sim.figures.quotas import exhaustion_rows
from sim.figures.style import BLOC_COLOURS, OKABE_ITO, SHIPPED_SCENARIOS, scenario_styles
from sim.figures.tilemap import tile_grid


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A results folder of 12 trials of the default scenario over 8 quarters (allocations used up in some)."""
    out = tmp_path_factory.mktemp("figures")
    sc = sim.load_scenario(ROOT / "scenarios" / "default.toml").replace(trials=12, quarters=8)
    from sim.results import write_run

    return write_run(sim.run(sc), out, run_id="t", figures=False)


@pytest.fixture(scope="module")
def tables(folder):
    return RunTables.of_folder(folder)


def test_each_bloc_and_each_shipped_scenario_keeps_one_colour_blind_safe_style():
    assert set(BLOC_COLOURS.values()) <= set(OKABE_ITO.values())
    assert len(set(BLOC_COLOURS.values())) == len(BLOC_COLOURS)
    styles = scenario_styles(SHIPPED_SCENARIOS)
    pairs = [(s["color"], s["linestyle"]) for s in styles.values()]
    assert len(set(pairs)) == len(pairs)  # every scenario its own look
    assert scenario_styles(["no_controls", "mine"])["no_controls"] == styles["no_controls"]  # whatever else is shown
    mine = scenario_styles(["mine", "theirs"])
    assert (mine["mine"]["color"], mine["mine"]["linestyle"]) not in pairs and mine["mine"] != mine["theirs"]


def test_the_tile_grid_places_every_territory_once(tables):
    grid = tile_grid()
    assert sorted(grid["iso3"]) == sorted(tables.names)
    assert grid.select("x", "y").is_unique().all() and grid["x"].min() == 0 and grid["y"].min() == 0
    assert {"SGP", "HKG", "MAC", "BHR"} <= set(grid["iso3"])
    assert grid["source"].null_count() == 0


def test_series_are_the_summary_values(tables):
    s = tables.summary
    for q in ("p5", "p50", "p95"):
        want = s.filter(
            (pl.col("metric") == "compute_h100e") & (pl.col("region") == "China") & (pl.col("quantile") == q)
        )
        np.testing.assert_array_equal(tables.series("compute_h100e", "China", q), want["value"].to_numpy())
    b = tables.band("largest_run_flop", "US")
    assert (b[0] <= b[1]).all() and (b[1] <= b[2]).all()


def test_the_quota_figure_shows_every_capped_territory_with_unmet_demand(tables):
    rows = exhaustion_rows(tables)
    e = tables.exhaustion
    want = e.filter((pl.col("unmet_h100e_p95") > 0) | (pl.col("share_of_trials_exhausted") > 0))
    assert rows.height == want.height > 0 and set(rows["iso3"]) == set(want["iso3"])


def _labelled(fig) -> list[str]:
    """The axes (by title) that lack an x or y label (their own, the figure's, or a sibling's they share)."""
    missing = []
    for ax in fig.axes:
        if not ax.axison or ax.get_label() == "<colorbar>":
            continue
        root = ax.get_figure(root=True) if hasattr(ax, "get_figure") else fig
        sup_x = any(getattr(f, "_supxlabel", None) for f in {fig, root, ax.figure})
        x = ax.get_xlabel() or sup_x
        y = ax.get_ylabel() or any(o.get_ylabel() for o in ax.get_shared_y_axes().get_siblings(ax))
        if not (x and y):
            missing.append(f"{ax.get_title(loc='left') or ax.get_title()!r}: x {bool(x)}, y {bool(y)}")
    return missing


def _empty(fig) -> list[str]:
    """The axes (by title) with nothing drawn in them: no line with a finite point, no patch, collection, image or text
    (maps draw patches with their axes off: the figure's patches are counted then)."""
    empty = []
    for ax in fig.axes:
        if ax.get_label() == "<colorbar>":
            continue
        lines = any(np.isfinite(np.asarray(line.get_ydata(), dtype=float)).any() for line in ax.get_lines())
        if not (lines or ax.patches or ax.collections or ax.images or ax.texts) and (
            ax.axison or ax.get_legend() is None
        ):
            empty.append(ax.get_title(loc="left") or ax.get_title() or "?")
    return empty


@pytest.mark.slow
def test_every_figure_is_drawn_labelled_and_not_blank(tables, tmp_path):
    from sim.figures import compute, quotas, tilemap, training

    drawn = {
        "compute_blocs": compute.compute_blocs(tables),
        "compute_countries": compute.compute_countries(tables, tables.countries),
        "map_compute": tilemap.map_compute(tables),
        "map_rules": tilemap.map_rules(tables),
        "map_training": tilemap.map_training(tables),
        "training_capability": training.training_capability(tables, tables.countries),
        "quota_exhaustion": quotas.quota_exhaustion(tables),
        "compute_sources": compute.compute_sources(tables),
        "chips_held_back": quotas.chips_held_back(tables),
    }
    assert set(drawn) == set(FIGURES)
    for name, (fig, data) in drawn.items():
        assert not _labelled(fig), (name, _labelled(fig))
        assert not _empty(fig), (name, _empty(fig))
        assert "seed 20250113" in " ".join(t.get_text() for t in fig.texts), name  # the source line
        assert data.height > 0, name
        import matplotlib.pyplot as plt

        plt.close(fig)
    files = draw_run(tables, tmp_path)
    assert sorted(p.name for p in files) == sorted(f"{n}.{e}" for n in FIGURES for e in ("pdf", "png", "csv"))
    for p in files:
        if p.suffix == ".png":
            with Image.open(p) as im:
                px = np.asarray(im.convert("L"))
            assert (px < 200).mean() > 0.01, f"{p.name} is blank"
        elif p.suffix == ".pdf":
            assert p.read_bytes()[:4] == b"%PDF"


@pytest.mark.slow
def test_sim_plot_redraws_a_folder_with_other_countries_and_formats(folder, capsys):
    assert main(["plot", str(folder), "--countries", "SGP,BHR", "--format", "svg"]) == 0
    figs = folder / "figures"
    assert (figs / "compute_countries.svg").exists() and not (figs / "compute_countries.pdf").exists()
    shown = pl.read_csv(figs / "compute_countries.csv")["iso3"].unique().to_list()
    assert sorted(shown) == ["BHR", "SGP"]
    capsys.readouterr()
    assert main(["plot", str(folder), "--countries", "XXX"]) == 2
    assert "--countries" in capsys.readouterr().err
    assert main(["plot", str(folder), "--format", "gif"]) == 2
    assert "--format" in capsys.readouterr().err
    man = json.loads((folder / "manifest.json").read_text())
    assert man["summary"]["method"] == "exact"


@pytest.mark.slow
def test_sim_plot_redraws_a_folder_written_before_these_figures(folder, tmp_path, capsys):
    import shutil

    old = tmp_path / "old"
    shutil.copytree(folder, old)
    (old / "rules.csv").unlink()  # an older sim wrote no rules.csv and other figures
    (old / "figures").mkdir(exist_ok=True)
    (old / "figures" / "compute_fan.png").write_bytes(b"old")
    assert main(["plot", str(old), "--format", "png"]) == 0
    figs = {p.name for p in (old / "figures").iterdir()}
    assert "compute_fan.png" not in figs and {f"{n}.png" for n in FIGURES} <= figs
    assert 'href="rules.csv"' not in (old / "report.html").read_text()  # the report lists only what is there


def test_a_broken_comparison_folder_is_refused_in_one_line(tmp_path, capsys):
    folder = tmp_path / "c"
    (folder / "scenarios").mkdir(parents=True)
    man = {"kind": "compare", "names": ["a"], "quarters": ["2025Q1"], "countries": [], "seed": 1, "trials": 2}
    man["version"] = "0"
    for broken, field in (({"names": "a"}, "names"), ({"names": ["../x"]}, "names"), ({"trials": "x"}, "trials")):
        (folder / "manifest.json").write_text(json.dumps({**man, **broken}))
        assert main(["plot", str(folder)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and field in err, err
    (folder / "manifest.json").write_text(json.dumps(man))
    assert main(["plot", str(folder)]) == 2  # no scenarios/a
    assert "missing" in capsys.readouterr().err
    (folder / "manifest.json").write_text(json.dumps({"scenarios": ["x.toml"], "seed": 1}))  # before 0.6
    assert main(["plot", str(folder)]) == 2
    assert "earlier version" in capsys.readouterr().err


def test_rules_csv_holds_spans_that_expand_to_every_quarter(world):
    from sim.figures.data import rules_by_quarter, rules_table
    from sim.inputs import compile_scenario
    from sim.kernel.layout import POLICY_CODES

    sc = sim.load_scenario(ROOT / "scenarios" / "history.toml", world=world).replace(trials=1)
    comp = compile_scenario(sc)
    spans = rules_table(comp)
    assert spans.height < len(comp.iso3) * len(comp.labels) / 4  # compact: a row per change
    full = rules_by_quarter(spans, comp.labels)
    assert full.height == len(comp.iso3) * len(comp.labels)
    c, q = comp.iso3.index("CHN"), len(comp.labels) - 1
    row = full.filter((pl.col("iso3") == "CHN") & (pl.col("quarter") == comp.labels[q])).row(0, named=True)
    assert POLICY_CODES[row["policy_3a090a"]] == comp.regime.policy[q, c, 0]
    assert row["destination_class"] == comp.regime.dest_class[q][c]
