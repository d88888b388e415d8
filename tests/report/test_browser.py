"""The report in a real browser: headless Debian Chromium driven by Selenium.

Skipped, with the reason, where Chromium, its driver or Selenium is missing (``.ci/run``
installs them with apt-get). Nothing here downloads a browser.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from vecae.report import write_html

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")

PLOTS = ("loss", "map", "anomaly", "evaluation-intrinsic", "evaluation-wordsim")


def _find(*names: str) -> str | None:
    for name in names:
        if found := shutil.which(name):
            return found
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    binary = _find("chromium", "chromium-browser", "google-chrome")
    driver_path = _find("chromedriver")
    if binary is None or driver_path is None:
        pytest.skip("no Chromium and chromedriver (apt-get install chromium chromium-driver)")
    options = Options()
    options.binary_location = binary
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_argument("--window-size=1280,4000")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def opened(browser: Any, report_html: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = write_html(tmp_path_factory.mktemp("browser") / "report.html", report_html)
    browser.get(path.as_uri())
    return path


@pytest.mark.slow
def test_page_loads_without_console_errors(browser: Any, opened: Path) -> None:
    assert browser.title.startswith("VariationalAutoencoder")
    problems = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    assert problems == []


@pytest.mark.slow
@pytest.mark.parametrize("plot", PLOTS)
def test_every_plot_is_rendered_with_data(browser: Any, opened: Path, plot: str) -> None:
    figure = browser.find_element("css selector", f'figure[data-plot="{plot}"]')
    box = browser.execute_script(
        "const r = arguments[0].querySelector('svg').getBoundingClientRect();"
        "return [r.width, r.height];",
        figure,
    )
    assert box[0] > 100 and box[1] > 100
    marks = browser.execute_script(
        "return Array.from(arguments[0].querySelectorAll('[data-role]'))"
        ".filter(e => { const b = e.getBBox(); return b.width > 0 || b.height > 0; }).length;",
        figure,
    )
    assert marks > 0


@pytest.mark.slow
def test_screenshot_is_taken(browser: Any, opened: Path) -> None:
    shot = opened.with_suffix(".png")
    assert browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 50_000  # a page of plots, not a blank canvas
