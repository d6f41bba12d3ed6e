"""The HTML report in a real headless Chromium: loads cleanly, draws its charts, and is captured.

Runs against Debian's ``chromium`` + ``chromium-driver`` through Selenium. It skips only when
Chromium (or its driver) is not installed; CI installs both. The full-page screenshot lands in
``test-artifacts/report.png`` (git-ignored) for a person to look at.
"""

from __future__ import annotations

import base64
import json
import shutil
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from pipeline.report import write_reports
from tests.unit.test_report_helpers import codebook, rich_store

pytestmark = pytest.mark.integration

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = next((p for p in (shutil.which("chromium"), shutil.which("chromium-browser"),
                             shutil.which("google-chrome")) if p), None)
DRIVER = shutil.which("chromedriver")
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1280,900", "--hide-scrollbars"]


@pytest.fixture()
def driver():
    if CHROMIUM is None or DRIVER is None:
        pytest.skip("chromium and chromedriver are not installed "
                    "(apt-get install -y chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="kracht-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [*FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    try:
        yield browser
    finally:
        browser.quit()
        shutil.rmtree(profile, ignore_errors=True)


def test_report_renders_in_chromium(tmp_path: Path, driver) -> None:
    store = rich_store(tmp_path)
    paths = write_reports(store, SimpleNamespace(report_language="nl"), codebook(),
                          tmp_path / "out")
    page = paths["html"]
    assert "http://" not in page.read_text().replace('xmlns="http://www.w3.org/2000/svg"', "")

    driver.get(page.as_uri())
    assert driver.execute_script("return document.readyState") == "complete"
    assert "Gemeenschapskracht" in driver.title

    errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == [], json.dumps(errors, indent=1)

    sizes = driver.execute_script(
        "return Array.from(document.querySelectorAll('svg.chart')).map(function (s) {"
        " var r = s.getBoundingClientRect();"
        " return [r.width, r.height, s.querySelectorAll('rect.bar, rect.cell, polyline').length]"
        "; });"
    )
    assert len(sizes) >= 5, sizes
    assert all(w > 0 and h > 0 for w, h, _ in sizes), sizes
    assert all(marks > 0 for _, _, marks in sizes), sizes
    broken = driver.execute_script(
        "return Array.from(document.images).filter(function (i) { return !i.complete ||"
        " i.naturalWidth === 0; }).length;"
    )
    assert broken == 0

    ARTIFACTS.mkdir(exist_ok=True)
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "scale": 1,
                 "width": driver.execute_script("return document.documentElement.scrollWidth"),
                 "height": driver.execute_script(
                     "return document.documentElement.scrollHeight")},
    })
    target = ARTIFACTS / "report.png"
    target.write_bytes(base64.b64decode(shot["data"]))
    assert target.stat().st_size > 10_000
