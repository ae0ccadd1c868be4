"""Emailed PDFs in the web inbox, over HTTP on a real server: the page image with boxes, the correction
form that delivers and teaches, the learnt-hints page, the unknown-sender form, and the JSON API."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select

from gateway.service import Gateway
from gateway.store.db import session_scope
from gateway.store.models import DocumentRecord, ExceptionRecord, ExtractionHint, ReceivedItem
from gateway.web import auth
from tests.conftest import make_config
from tests.learning_pdfs import ODD_LABEL, po_email, po_pdf
from tests.live import LiveServer
from tests.test_inbox import PASSWORD, Browser, csrf


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """One gateway for the module (starting DBOS per test is most of a test's time); tests use their own POs."""
    mp = pytest.MonkeyPatch()
    for name in ("EDIGW_DATABASE_URL", "EDIGW_API_TOKEN", "EDIGW_AUTH_DISABLED"):
        mp.delenv(name, raising=False)
    mp.setenv("EDIGW_COOKIE_SECURE", "0")
    tmp = tmp_path_factory.mktemp("web_pdf")
    config = make_config(tmp)
    config.mail_out.outbox = tmp / "outbox"
    gateway = Gateway(config)
    gateway.start(channels=False)
    auth.create_user(gateway.engine, "olivia", "operator", PASSWORD)
    auth.create_user(gateway.engine, "victor", "viewer", PASSWORD)
    try:
        yield gateway
    finally:
        gateway.stop()
        mp.undo()


@pytest.fixture(scope="module")
def server(gw: Gateway) -> Iterator[LiveServer]:
    s = LiveServer(gw)
    yield s
    s.close()


@pytest.fixture
def olivia(server: LiveServer) -> Browser:
    b = Browser(server)  # type: ignore[arg-type]
    b.login("olivia")
    return b


def ingest_pdf(gw: Gateway, pdf: bytes) -> tuple[str, DocumentRecord]:
    received = gw.ingest(pdf, channel="folder", partner_id="northwind", source_name="po.pdf")
    gw.pipeline.wait(received.item_id)
    with session_scope(gw.engine) as s:
        return received.item_id, s.exec(select(DocumentRecord).where(DocumentRecord.item_id == received.item_id)).one()


def get_bytes(b: Browser, path: str) -> tuple[int, str, bytes]:
    try:
        with b.follow.open(urllib.request.Request(b.base + path), timeout=60) as resp:
            return resp.status, resp.headers.get("Content-Type", ""), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("Content-Type", ""), err.read()


def test_the_detail_page_draws_the_page_with_boxes_and_offers_the_correction(gw: Gateway, olivia: Browser) -> None:
    item_id, doc = ingest_pdf(gw, po_pdf("TK-101"))
    page = olivia.get(f"/items/{item_id}")
    assert page.status == 200
    assert f'<img src="/items/{item_id}/pages/1.png"' in page.body
    assert 'class="pdf-overlay" viewBox="0 0 595' in page.body
    for key in ("date", "currency", "total", "lines-0-quantity", "lines-1-amount"):
        assert f'id="box-{key}" class="box box-ok"' in page.body, key
    assert f'action="/documents/{doc.id}/correct"' in page.body
    assert 'id="c-number" name="c:number" size="24" value="" class="invalid"' in page.body  # MISSING_FIELD names it
    assert f'action="/documents/{doc.id}/resubmit"' not in page.body  # one correction form
    status, kind, png = get_bytes(olivia, f"/items/{item_id}/pages/1.png")
    assert status == 200 and kind == "image/png" and png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 2000
    assert get_bytes(olivia, f"/items/{item_id}/pages/2.png")[0] == 404

    viewer = Browser(olivia)  # type: ignore[arg-type]
    viewer.login("victor")
    seen = viewer.get(f"/items/{item_id}")
    assert "pdf-overlay" in seen.body and "/correct" not in seen.body
    assert viewer.post(f"/documents/{doc.id}/correct", {"csrf_token": csrf(seen.body), "c:number": "X"}).status == 403


def test_the_correction_form_delivers_learns_and_the_hint_can_be_removed(gw: Gateway, olivia: Browser) -> None:
    item_id, doc = ingest_pdf(gw, po_pdf("TK-202"))
    page = olivia.get(f"/items/{item_id}")
    done = olivia.post(f"/documents/{doc.id}/correct", {"csrf_token": csrf(page.body), "c:number": "TK-202",
                                                        "c:currency": "USD", "learn": "on",
                                                        "reason": "read off the page"})
    assert done.status == 200 and done.url.endswith(f"/items/{item_id}?document={doc.id}")
    assert "corrected (number -&gt; TK-202) and delivered; learnt po_number" in done.body
    with session_scope(gw.engine) as s:
        assert s.get(DocumentRecord, doc.id).state == "delivered"  # type: ignore[union-attr]
        hint = s.exec(select(ExtractionHint).where(ExtractionHint.example == "TK-202")).one()

    hints = olivia.get("/partners/northwind/hints")
    assert hints.status == 200 and ODD_LABEL in hints.body and "TK-202" in hints.body and "olivia" in hints.body
    assert "/partners/northwind/hints" in olivia.get("/partners").body
    removed = olivia.post(f"/hints/{hint.id}/remove", {"csrf_token": csrf(hints.body),
                                                        "back": "/partners/northwind/hints"})
    assert removed.status == 200 and "removed" in removed.body and f"hint-{hint.id}" not in removed.body
    with session_scope(gw.engine) as s:
        assert s.get(ExtractionHint, hint.id) is None


def test_a_correction_that_still_does_not_add_up_comes_back_with_the_edits(gw: Gateway, olivia: Browser) -> None:
    item_id, doc = ingest_pdf(gw, po_pdf("TK-303", label="PO Number:", amount_typo=True))
    page = olivia.get(f"/items/{item_id}")
    assert 'id="box-lines-0-amount" class="box box-issue"' in page.body  # the region is marked
    refused = olivia.post(f"/documents/{doc.id}/correct", {"csrf_token": csrf(page.body),
                                                           "c:lines.0.quantity": "11", "learn": "on"})
    assert refused.status == 422 and "Not corrected" in refused.body and "ARITHMETIC_MISMATCH" in refused.body
    assert 'name="c:lines.0.quantity" size="8" value="11" class="invalid"' in refused.body
    fixed = olivia.post(f"/documents/{doc.id}/correct", {"csrf_token": csrf(refused.body),
                                                         "c:lines.0.amount": "2.50"})
    assert fixed.status == 200 and "delivered" in fixed.body


def test_the_unknown_sender_form_binds_the_domain_and_replays_the_email(gw: Gateway, olivia: Browser) -> None:
    email = po_email(po_pdf("PO-404", label="PO Number:"), sender="Bea Buyer <bea@tailspin.example>",
                     subject="Order PO-404")
    received = gw.ingest(email, channel="smtp", source_name="mail")
    gw.pipeline.wait(received.item_id)
    page = olivia.get(f"/items/{received.item_id}")
    assert "bea@tailspin.example" in page.body and "Order PO-404" in page.body and "po.pdf" in page.body
    assert "please find our purchase order attached" in page.body
    assert 'value="@tailspin.example"' in page.body and 'value="bea@tailspin.example" checked' in page.body
    with session_scope(gw.engine) as s:
        exc = s.exec(select(ExceptionRecord).where(ExceptionRecord.item_id == received.item_id)).one()
    done = olivia.post(f"/exceptions/{exc.id}/bind-sender", {"csrf_token": csrf(page.body), "partner": "northwind",
                                                               "address": "@tailspin.example"})
    assert done.status == 200 and "@tailspin.example is now northwind" in done.body
    replay_id = done.url.rsplit("/", 1)[-1]
    gw.pipeline.wait(replay_id)
    with session_scope(gw.engine) as s:
        children = s.exec(select(ReceivedItem.id).where(ReceivedItem.parent_id == replay_id)).all()
    for child in children:
        gw.pipeline.wait(child)
    shown = olivia.get(f"/items/{replay_id}")
    assert f'href="/items/{children[0]}"' in shown.body
    assert "confirmation" in shown.body  # the reply the customer got
    child = olivia.get(f"/items/{children[0]}")
    assert "Came in this email" in child.body and "pdf-overlay" in child.body


def test_the_json_api_corrects_lists_and_removes_hints_and_binds_senders(gw: Gateway, server: LiveServer,
                                                                         tmp_path: Path) -> None:
    from tests.test_outbound_pipeline import Api

    api = Api.__new__(Api)
    api.base = server.base
    operator, viewer = auth.new_token(gw.engine, "olivia"), auth.new_token(gw.engine, "victor")
    _item_id, doc = ingest_pdf(gw, po_pdf("TK-505"))
    code, body = api.call("POST", f"/api/documents/{doc.id}/correct", {"corrections": {"number": "TK-505"}},
                          token=viewer)
    assert code == 403
    code, body = api.call("POST", f"/api/documents/{doc.id}/correct", {"corrections": {"date": "someday"}},
                          token=operator)
    assert code == 409 and "YYYY-MM-DD" in body["detail"]["message"]
    code, body = api.call("POST", f"/api/documents/{doc.id}/correct",
                          {"corrections": {"number": "TK-505"}, "reason": "api"}, token=operator)
    assert code == 200 and "delivered" in body["message"], body
    code, hints = api.call("GET", "/api/hints?partner=northwind", token=viewer)
    assert code == 200 and [(h["field"], h["label"], h["example"]) for h in hints] == \
        [("po_number", ODD_LABEL, "TK-505")]
    assert api.call("DELETE", f"/api/hints/{hints[0]['id']}", token=viewer)[0] == 403
    assert api.call("DELETE", f"/api/hints/{hints[0]['id']}", token=operator)[0] == 200
    assert api.call("GET", "/api/hints", token=viewer)[1] == []
    code, body = api.call("POST", "/api/senders", {"address": "ops@wingtip.example", "partner": "northwind"},
                          token=operator)
    assert code == 200 and "northwind" in body["message"]
    assert api.call("POST", "/api/senders", {"address": "x@y.example", "partner": "nobody"}, token=operator)[0] == 409
