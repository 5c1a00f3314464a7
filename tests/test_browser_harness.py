"""The real-browser harness (tests/browser.py) on small pages written here: it must pass a good page and catch a
missing image and a console error. Skipped, with find_browser()'s reason, where no Chromium and chromedriver are."""

import base64
import io
from pathlib import Path

import pytest
from browser import check_page, find_browser
from matplotlib.figure import Figure

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def _browser():
    browser, reason = find_browser()
    if browser is None:
        pytest.skip(reason)


def _png() -> bytes:
    """A small PNG figure drawn with matplotlib (Agg, no pyplot state)."""
    fig = Figure(figsize=(2, 1.5), dpi=50)
    fig.add_subplot().plot([0, 1, 2], [1, 0, 2])
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _page(folder: Path, body: str, title: str = "report") -> Path:
    path = folder / "report.html"
    path.write_text(
        f'<!doctype html><html><head><meta charset="utf-8"><title>{title}</title></head>\n<body>{body}</body></html>\n',
        encoding="utf-8",
    )
    return path


def test_good_page_passes(tmp_path):
    png = _png()
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "fig.png").write_bytes(png)
    uri = "data:image/png;base64," + base64.b64encode(png).decode()
    page = _page(
        tmp_path,
        f'<h1>Results</h1><p>All good.</p><img src="{uri}" alt="a"><img src="figures/fig.png">',
        title="Good report",
    )
    result = check_page(page, screenshot=tmp_path / "shot.png")
    assert result["title"] == "Good report"
    assert result["images"] == 2
    assert result["broken_images"] == []
    assert result["severe"] == []
    assert result["text_length"] >= len("Results") + len("All good.")
    shot = Path(result["screenshot"])
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 1000


def test_missing_image_is_reported(tmp_path):
    page = _page(tmp_path, '<p>Text</p><img src="figures/missing.png">')
    result = check_page(page)
    assert result["images"] == 1
    assert result["broken_images"] == ["figures/missing.png"]
    assert result["screenshot"] is None


def test_console_error_is_reported(tmp_path):
    page = _page(tmp_path, '<p>Text</p><script>console.error("boom")</script>')
    result = check_page(page)
    assert result["broken_images"] == []
    assert any("boom" in message for message in result["severe"]), result["severe"]
