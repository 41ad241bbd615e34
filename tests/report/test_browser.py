"""The report in a real headless browser at phone width: no horizontal scroll, every image loaded,
no external request, text contrast >= 4.5:1 (WCAG AA), computed from the page's own styles.

Needs Chromium (Debian: ``apt-get install -y chromium``); skipped, saying so, where it is absent.
"""

import pytest

from tests.report.cdp import CHECKS_JS, Browser, find_chromium

pytestmark = pytest.mark.realdata
CHROMIUM = find_chromium()


@pytest.fixture(scope="module")
def page(real_run):
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (Debian: apt-get install -y chromium)")
    res, out, cfg = real_run
    with Browser(CHROMIUM) as browser:
        browser.open(out / "report.html", width=390, height=844)
        checks = browser.evaluate(CHECKS_JS)
        urls = browser.requested_urls()
    return checks, urls


def test_no_horizontal_scroll_at_390px(page):
    checks, _ = page
    assert checks["viewport"] and checks["innerWidth"] == 390
    assert checks["scrollWidth"] <= 390 and checks["bodyScrollWidth"] <= 390, checks


def test_every_image_loads_and_has_real_alt_text(page):
    checks, _ = page
    assert checks["images"] >= 10 and checks["broken"] == [] and checks["missingAlt"] == 0


def test_no_external_request(page):
    _, urls = page
    external = [u for u in urls if not u.startswith(("file:", "data:"))]
    assert urls and not external, external


def test_text_contrast_is_at_least_4_5(page):
    checks, _ = page
    assert checks["contrastChecked"] > 100
    assert checks["nLowContrast"] == 0, checks["lowContrast"]


def test_checks_are_able_to_fail(tmp_path):
    """The same checks on a bad page (no viewport, wide table, grey text, broken image) do fail."""
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (Debian: apt-get install -y chromium)")
    bad = tmp_path / "bad.html"
    bad.write_text('<html><body><p style="color:#aaa">faint</p><table><tr>' + "<td>wide cell</td>" * 60
                   + '</tr></table><img src="missing.png" alt="x"></body></html>')
    with Browser(CHROMIUM) as browser:
        browser.open(bad, width=390)
        c = browser.evaluate(CHECKS_JS)
    assert not c["viewport"] and c["scrollWidth"] > 390 and c["nLowContrast"] >= 1 and c["broken"]
