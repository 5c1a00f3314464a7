"""A real-browser check of a static HTML page: does it render, does every image load, is the console clean?

Headless Chromium driven by Selenium 4 through the system chromedriver (Debian's ``chromium`` and
``chromium-driver`` packages, which ``.ci/run`` installs). Nothing is downloaded at run time: Selenium Manager
is bypassed by naming the driver and the browser explicitly.

    browser, reason = find_browser()  # (None, "why not") when there is no usable browser
    result = check_page(Path("results/x/report.html"), screenshot=Path("shot.png"))
    assert not result["broken_images"] and not result["severe"]

Images with ``loading="lazy"`` below the first screen may not have loaded yet and are then reported broken.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path
from typing import NamedTuple

BROWSERS = ("chromium", "chromium-browser")
OPTIONS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1024")


class Browser(NamedTuple):
    chromium: str  # path of the browser
    chromedriver: str  # path of the matching driver


def _major(exe: str) -> str:
    """The major version in ``exe --version`` ("Chromium 156.0..." -> "156"), or "" when it cannot be read."""
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return ""
    return next((w.split(".")[0] for w in out.split() if w[:1].isdigit() and "." in w), "")


def find_browser() -> tuple[Browser | None, str]:
    """``(Browser(chromium, chromedriver), "")`` when a usable pair is on PATH, else ``(None, reason)``."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return None, "selenium is not installed (pip install -e '.[dev]')"
    chromium = next((p for p in map(shutil.which, BROWSERS) if p), None)
    driver = shutil.which("chromedriver")
    if chromium is None or driver is None:
        missing = " and ".join(n for n, p in (("chromium", chromium), ("chromedriver", driver)) if p is None)
        return None, f"no {missing} on PATH (apt-get install chromium chromium-driver)"
    if (b := _major(chromium)) != (d := _major(driver)):
        return None, f"chromium {b or '?'} and chromedriver {d or '?'} differ in major version"
    return Browser(chromium, driver), ""


def check_page(path: Path, screenshot: Path | None = None, timeout: float = 30.0) -> dict:
    """Open the local page ``path`` in headless Chromium and report what a reader would see.

    Returns a dict: ``title``; ``images`` (how many <img>); ``broken_images`` (src, cut to 80 characters, of each
    image that did not load); ``severe`` and ``warnings`` (console messages of level SEVERE and WARNING, which
    include failed resource loads and uncaught exceptions); ``text_length`` (of the body's visible text);
    ``screenshot`` (the path of a full-page PNG when ``screenshot`` is given, else None).
    Raises RuntimeError when there is no usable browser.
    """
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    browser, reason = find_browser()
    if browser is None:
        raise RuntimeError(reason)
    options = webdriver.ChromeOptions()
    options.binary_location = browser.chromium
    for option in OPTIONS:
        options.add_argument(option)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=browser.chromedriver), options=options)
    try:
        driver.set_page_load_timeout(timeout)
        driver.get(Path(path).resolve().as_uri())
        WebDriverWait(driver, timeout).until(lambda d: d.execute_script("return document.readyState") == "complete")
        broken = driver.execute_script(
            "return Array.from(document.images)"
            ".filter(i => !i.complete || i.naturalWidth === 0).map(i => i.getAttribute('src') || '')"
        )
        result = {
            "title": driver.title,
            "images": driver.execute_script("return document.images.length"),
            "broken_images": [src[:80] for src in broken],
            "text_length": driver.execute_script("return document.body ? document.body.innerText.length : 0"),
            "screenshot": None,
        }
        log = driver.get_log("browser")
        result["severe"] = [e["message"] for e in log if e["level"] == "SEVERE"]
        result["warnings"] = [e["message"] for e in log if e["level"] == "WARNING"]
        if screenshot is not None:
            size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
            clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
            shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"captureBeyondViewport": True, "clip": clip})
            Path(screenshot).write_bytes(base64.b64decode(shot["data"]))
            result["screenshot"] = str(screenshot)
        return result
    finally:
        driver.quit()
