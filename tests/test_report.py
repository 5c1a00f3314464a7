"""report.html: one static page per results folder with the manifest, the headline table, every figure
(embedded), the definitions and the limitations that bear on the figures shown; opened in a real browser
(headless Chromium, tests/browser.py), it renders, every image loads and the console stays clean."""

import re

import pytest
from browser import check_page, find_browser
from scripted import ROOT

import sim
from sim.figures import FIGURES
from sim.results import write_run


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """Results folders of 10 trials of the default scenario over 8 quarters, without and with figures."""
    out = tmp_path_factory.mktemp("report")
    res = sim.run(sim.load_scenario(ROOT / "scenarios" / "default.toml").replace(trials=10, quarters=8))
    return write_run(res, out, run_id="bare", figures=False), res, out


def test_the_report_of_a_run_without_figures_has_every_section(folders):
    folder, res, _ = folders
    page = (folder / "report.html").read_text()
    for section in ("Run", "Headline numbers", "Figures", "Definitions", "Limitations that bear on these outputs"):
        assert f"<h2>{section}</h2>" in page
    assert "Not drawn (--no-figures)" in page and "<img" not in page
    assert "20250113" in page  # the seed
    assert "China" in page and "(CHN)" in page  # a bloc and a scenario country in the headline table
    assert "H100e" in page and "flow: smuggled" in page  # definitions from the manifest
    assert not re.search(r"https?://", page.split("<h2>Limitations")[0])  # nothing to fetch


@pytest.mark.slow
def test_the_report_renders_in_a_real_browser_with_every_figure(folders, tmp_path):
    _, res, out = folders
    folder = write_run(res, out, run_id="full")
    page = (folder / "report.html").read_text()
    assert page.count('<img src="data:image/png;base64,') == len(FIGURES)  # embedded: the page stands alone
    browser, reason = find_browser()
    if browser is None:
        pytest.skip(f"no browser for the page test: {reason}")
    got = check_page(folder / "report.html", screenshot=tmp_path / "report.png")
    assert got["images"] == len(FIGURES) and not got["broken_images"], got["broken_images"]
    assert not got["severe"], got["severe"]
    assert got["text_length"] > 2000 and "default" in got["title"]
