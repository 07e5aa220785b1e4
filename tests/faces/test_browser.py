"""A real browser (Debian's chromium, driven by Playwright) pastes a traceback into the search
page and reads the rendered answer. CI sets ERRORKB_REQUIRE_BROWSER=1 so a missing browser
fails there instead of skipping."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faces.conftest import running_server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
TRACEBACK = """Traceback (most recent call last):
  File "/srv/app/client.py", line 12, in fetch
    data = sock.recv(4096)
ConnectionResetError: [Errno 104] Connection reset by peer"""


@pytest.fixture(scope="module")
def browser_path() -> str:
    if CHROMIUM is None:
        if os.environ.get("ERRORKB_REQUIRE_BROWSER") == "1":
            pytest.fail("chromium is not installed (.ci/run installs Debian's chromium)")
        pytest.skip("chromium is not installed here")
    return CHROMIUM


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = {**os.environ, "ERRORKB_CACHE_DIR": str(tmp_path_factory.mktemp("cache"))}
    with running_server([], env, wait_seconds=300) as base:  # first start builds the index
        yield base


@pytest.mark.slow
def test_pasting_a_traceback_shows_dead_ends_first(browser_path: str, site: str,
                                                   tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=browser_path, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 390, "height": 844})  # phone width
        page.goto(site + "/")
        page.fill("textarea[name=q]", TRACEBACK)
        page.click("button[type=submit]")
        first = page.locator("section.match").first
        assert first.get_attribute("data-id") == "network/python-connection-reset-error"
        text = first.inner_text()
        assert text.index("Don't try") < text.index("What works")
        page.screenshot(path=str(tmp_path / "search.png"), full_page=True)
        page.click(".lang a:has-text('zh')")
        assert "不要尝试" in page.locator("section.match").first.inner_text()
        browser.close()
    assert (tmp_path / "search.png").stat().st_size > 10_000
