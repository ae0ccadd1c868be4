"""An emailed PDF order in a real browser: ops opens the exception, sees the page with the boxes, types
the PO number the extractor could not find, and the order reaches the ERP. Screenshots in var/screenshots/."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import select

from gateway.store.db import session_scope
from gateway.store.models import ExtractionHint
from tests.browser import screenshot
from tests.learning_pdfs import ODD_LABEL, po_pdf
from tests.test_browser import Site, login, off_loop, site  # noqa: F401  (the fixture)


def ingest_pdf(s: Site, pdf: bytes) -> str:
    def run() -> str:
        received = s.gw.ingest(pdf, channel="folder", partner_id="northwind", source_name="po-from-northwind.pdf")
        s.gw.pipeline.wait(received.item_id)
        return received.item_id

    return str(off_loop(run))


def test_an_operator_corrects_a_pdf_order_against_the_page(browser: Any, site: Site) -> None:  # noqa: F811
    item_id = ingest_pdf(site, po_pdf("TK-88001"))
    page = login(browser, site, "olivia")

    row = page.locator("tr", has_text="po-from-northwind.pdf")
    assert row.count() == 1 and "MISSING_FIELD" in row.inner_text()
    row.locator("a").first.click()
    page.wait_for_load_state()
    assert f"/items/{item_id}" in page.url

    # the page image is drawn, with the boxes over it
    image = page.locator("figure#page-1 img")
    image.scroll_into_view_if_needed()
    page.wait_for_function("document.querySelector('figure#page-1 img').naturalWidth > 0")
    assert image.evaluate("img => img.naturalWidth") > 500
    assert page.locator("svg.pdf-overlay rect.box").count() >= 8
    assert page.locator("#c-number.invalid").is_visible()
    screenshot(page, "pdf-exception-detail")

    # type the PO number as printed, submit, and the order is delivered
    page.fill("#c-number", "TK-88001")
    page.fill("#correct-reason", "PO number read off the page")
    page.click("#correct-submit")
    page.wait_for_load_state()
    assert "delivered" in page.locator(".flash").inner_text()
    assert page.locator("h1 .state").inner_text() == "delivered"
    delivered = [json.loads(p.read_text()) for p in site.config.erp.path.glob("*.json")]
    assert [d["number"] for d in delivered] == ["TK-88001"]
    screenshot(page, "pdf-corrected")

    # what was learnt is on the customer's hints page
    page.goto(site.base + "/partners/northwind/hints")
    assert ODD_LABEL in page.locator("table.hints").inner_text()
    screenshot(page, "pdf-learnt-hints")
    with session_scope(site.gw.engine) as s:
        assert s.exec(select(ExtractionHint.example)).all() == ["TK-88001"]
    page.close()
