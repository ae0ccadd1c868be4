"""Playwright driving the system's Chromium (Debian's `chromium` package; no browser downloads here)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("EDIGW_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[1] / "var" / "screenshots"
# As the machine's own probe runs it: no GPU, no sandbox as root, and no background traffic to the
# outside (the network is closed here; those connections would only be refused).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


def chromium_available() -> bool:
    return Path(CHROMIUM).exists()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """One Chromium per test module: Playwright's sync API runs an event loop on this thread while it
    lives, and tests that drive DBOS directly must not run under it."""
    if not chromium_available():
        if os.environ.get("CI"):
            pytest.fail("CI must run the browser tests: Chromium is missing (scripts/setup.sh installs it)")
        pytest.skip("no Chromium (apt-get install chromium; `make test` does it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def screenshot(page: object, name: str) -> Path:
    """Save a full-page screenshot for reviewers under var/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path
