"""The inbox in a real browser (Playwright on the system's Chromium): what an ops person does.

Screenshots land in var/screenshots/ for reviewers: the list, the detail page and the dashboard.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gateway.config import Config
from gateway.service import Gateway
from gateway.web import auth
from tests.browser import screenshot
from tests.conftest import make_config
from tests.live import LiveServer
from tests.x12_factory import order_file

PASSWORD = "correct horse battery staple"
# Playwright's sync API keeps an event loop running on this thread, and DBOS refuses its blocking
# calls there: the gateway is driven from a worker thread.
_WORKER = ThreadPoolExecutor(max_workers=1)


def off_loop(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return _WORKER.submit(fn, *args, **kwargs).result(timeout=120)


@dataclass
class Site:
    gw: Gateway
    config: Config
    base: str


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    monkeypatch.delenv("EDIGW_DATABASE_URL", raising=False)
    monkeypatch.delenv("EDIGW_API_TOKEN", raising=False)
    monkeypatch.setenv("EDIGW_COOKIE_SECURE", "0")  # plain http on loopback in tests only
    config = make_config(tmp_path)
    gw = off_loop(Gateway, config)
    off_loop(gw.start, channels=False)
    for name, role in (("olivia", "operator"), ("victor", "viewer"), ("ada", "admin")):
        auth.create_user(gw.engine, name, role, PASSWORD)
    live = LiveServer(gw)
    try:
        yield Site(gw, config, live.base)
    finally:
        live.close()
        off_loop(gw.stop)


def ingest(site: Site, raw: bytes) -> str:
    def run() -> str:
        received = site.gw.ingest(raw, channel="folder", partner_id="acme", source_name="po.edi")
        site.gw.pipeline.wait(received.item_id)
        return received.item_id

    return str(off_loop(run))


def login(browser: Any, site: Site, username: str) -> Any:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(site.base + "/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def test_an_operator_finds_fixes_and_resubmits_a_broken_order(browser: Any, site: Site) -> None:
    ingest(site, order_file("PO-GOOD-1", 701))
    ingest(site, order_file("PO-BROKEN-7", 702).replace(b"PO1*1*11*EA", b"PO1*1*11*XX"))
    page = login(browser, site, "olivia")

    # the list: the broken order is there with its error code
    row = page.locator("tr", has_text="PO-BROKEN-7")
    assert row.count() == 1
    assert "X12_INVALID_CODE" in row.inner_text()
    assert page.locator("tr", has_text="PO-GOOD-1").count() == 0
    screenshot(page, "inbox-list")

    # the detail: the failing element is highlighted in the raw X12
    row.locator("a").first.click()
    page.wait_for_load_state()
    marked = page.locator("tr.failing mark")
    assert marked.first.inner_text() == "XX"
    assert marked.first.is_visible()
    assert "PO103" in page.locator("#issues ~ *").first.inner_text() or "PO103" in page.content()
    screenshot(page, "inbox-detail")

    # correct the unit, resubmit, and the order reaches the ERP
    page.fill("#f-line-0-uom", "EA")
    page.fill("#resubmit-reason", "unit was a typo, confirmed with the buyer")
    page.click("form.edit button[type=submit]")
    page.wait_for_load_state()
    delivered = [json.loads(p.read_text()) for p in site.config.erp.path.glob("*.json")]
    assert sorted(d["number"] for d in delivered) == ["PO-BROKEN-7", "PO-GOOD-1"]
    fixed = next(d for d in delivered if d["number"] == "PO-BROKEN-7")
    assert fixed["lines"][0]["uom"] == "EA"

    # and it has left the inbox
    page.goto(site.base + "/")
    assert page.locator("tr", has_text="PO-BROKEN-7").count() == 0
    page.goto(site.base + "/dashboard")
    assert "documents received" in page.content()
    screenshot(page, "dashboard")
    page.close()


def test_an_operator_cannot_do_what_only_an_admin_may(browser: Any, site: Site) -> None:
    page = login(browser, site, "olivia")
    response = page.goto(site.base + "/admin/users")
    assert response is not None and response.status == 403
    admin = login(browser, site, "ada")
    response = admin.goto(site.base + "/admin/users")
    assert response is not None and response.status == 200 and "olivia" in admin.content()
    page.close()
    admin.close()


def test_a_viewer_sees_the_inbox_but_gets_no_action_buttons(browser: Any, site: Site) -> None:
    ingest(site, order_file("PO-BROKEN-8", 703).replace(b"PO1*1*11*EA", b"PO1*1*11*XX"))
    page = login(browser, site, "victor")
    page.locator("tr", has_text="PO-BROKEN-8").locator("a").first.click()
    page.wait_for_load_state()
    assert page.locator("tr.failing mark").count() >= 1
    assert page.locator("form.edit").count() == 0
    page.close()
