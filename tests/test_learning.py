"""Learning from corrections: hints found from hand-made word lists, and in the store, a customer's odd
label read right on the next PDF only because ops corrected it once (and not once the hint is removed)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import select

from gateway import actions
from gateway.config import Config
from gateway.learning import CorrectionRefused, correct, list_hints, read_amount, read_date
from gateway.service import Gateway
from gateway.store.db import session_scope
from gateway.store.models import (
    AuditEntry,
    DocumentRecord,
    ExceptionRecord,
    ExtractionHint,
    PdfExtractionRecord,
    ReceivedItem,
)
from parsers.pdf.hints import learn_hint
from parsers.pdf.model import Region, Word
from tests.conftest import make_config
from tests.learning_pdfs import ODD_LABEL, po_email, po_pdf


def words(*rows: tuple[float, list[tuple[str, float]]], page: int = 1) -> list[Word]:
    """Words on lines: (top, [(text, x0)]); each word 6 pt per character wide, 10 pt high."""
    return [Word(t, page, x, top, x + 6 * len(t), top + 10) for top, ws in rows for t, x in ws]


# ----------------------------------------------------------------------------------------------- learn_hint
def test_the_label_is_the_words_just_left_of_the_value() -> None:
    ws = words((100, [("Northwind", 40), ("Traders", 100), ("Procurement", 300), ("ticket:", 372),
                      ("TK-55012", 450)]))
    hint = learn_hint(ws, "po_number", "TK-55012")
    assert hint is not None and hint.field == "po_number"
    assert hint.label == "Procurement ticket:"  # stops at the gap before it: the company name is not the label
    assert hint.region == Region(1, 450, 100, 450 + 48, 110)


def test_case_and_spacing_do_not_matter() -> None:
    ws = words((100, [("Ticket", 300), ("PO", 450), ("-", 464), ("4711", 472)]))
    hint = learn_hint(ws, "po_number", "po-4711")
    assert hint is not None and hint.label == "Ticket"
    assert hint.region is not None and (hint.region.x0, hint.region.x1) == (450, 472 + 24)


def test_numbers_match_by_value_in_either_format() -> None:
    ws = words((500, [("Endsumme", 300), ("EUR", 354), ("1.234,50", 450)]))
    hint = learn_hint(ws, "total", "1234.50")
    assert hint is not None and hint.region is not None and hint.region.x0 == 450
    assert hint.label == "Endsumme EUR"
    assert learn_hint(ws, "total", "1,234.50") == hint


def test_dates_match_in_common_forms() -> None:
    ws = words((120, [("Issued", 300), ("on:", 340), ("05.03.2024", 450)]))
    hint = learn_hint(ws, "date", "2024-03-05")
    assert hint is not None and hint.label == "Issued on:" and hint.region is not None
    assert learn_hint(words((120, [("Placed", 300), ("March", 450), ("5,", 484), ("2024", 500)])), "date",
                      "2024-03-05") is not None


def test_a_label_above_the_value_when_nothing_is_left_of_it() -> None:
    ws = words((100, [("Vendor", 40), ("Procurement", 300), ("ticket", 372)]),
               (113, [("Acme", 40), ("TK-9", 320)]))
    hint = learn_hint(ws, "po_number", "TK-9")
    assert hint is not None and hint.label == "Procurement ticket"


def test_a_number_left_of_the_value_is_another_value_not_a_label() -> None:
    ws = words((200, [("Qty", 300), ("Amount", 400)]), (214, [("10", 300), ("25.00", 400)]))
    hint = learn_hint(ws, "total", "25.00")
    assert hint is not None and hint.label == "Amount"


def test_the_occurrence_nearest_the_extractors_region_wins() -> None:
    ws = words((100, [("Ref", 40), ("A-1", 80)]), (400, [("Order", 300), ("ref", 340), ("A-1", 450)]))
    assert learn_hint(ws, "po_number", "A-1") is not None
    assert learn_hint(ws, "po_number", "A-1").label == "Ref"  # type: ignore[union-attr]
    hint = learn_hint(ws, "po_number", "A-1", near=Region(1, 440, 395, 500, 415))
    assert hint is not None and hint.label == "Order ref" and hint.region is not None and hint.region.top == 400


def test_nothing_to_learn_when_the_value_is_not_on_the_page() -> None:
    ws = words((100, [("PO", 380), ("4711", 450)]))
    assert learn_hint(ws, "po_number", "9999") is None
    near = Region(1, 448, 98, 480, 112)
    hint = learn_hint(ws, "po_number", "9999", near=near)
    assert hint is not None and hint.region == near and hint.label == "PO"


def test_typed_values_are_read_for_people() -> None:
    assert read_amount("1234.5", "comma") == Decimal("1234.5")
    assert read_amount("1.234,50", "comma") == Decimal("1234.50")
    assert read_amount("1,5", "dot") == Decimal("1.5")
    assert str(read_date("5 March 2024")) == "2024-03-05"
    with pytest.raises(ValueError, match="not a number"):
        read_amount("ten", "dot")
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        read_date("soon")


# ----------------------------------------------------------------------------------------------- in the store
@pytest.fixture
def gw(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Gateway]:
    monkeypatch.delenv("EDIGW_DATABASE_URL", raising=False)
    config = make_config(tmp_path)
    config.mail_out.outbox = tmp_path / "outbox"  # replies to the test emails stay in the test's folder
    gateway = Gateway(config)
    gateway.start(channels=False)
    try:
        yield gateway
    finally:
        gateway.stop()


def ingest_pdf(gw: Gateway, pdf: bytes, name: str = "po.pdf") -> str:
    received = gw.ingest(pdf, channel="folder", partner_id="northwind", source_name=name)
    gw.pipeline.wait(received.item_id)
    return received.item_id


def document_of(gw: Gateway, item_id: str) -> DocumentRecord:
    with session_scope(gw.engine) as s:
        return s.exec(select(DocumentRecord).where(DocumentRecord.item_id == item_id)).one()


def open_codes(gw: Gateway, item_id: str) -> list[str]:
    with session_scope(gw.engine) as s:
        return [e.code for e in s.exec(select(ExceptionRecord).where(ExceptionRecord.item_id == item_id,
                                                                      ExceptionRecord.status == "open")).all()]


def erp_numbers(config: Config) -> list[str]:
    return sorted(json.loads(p.read_text())["number"] for p in config.erp.path.glob("*.json")) \
        if config.erp.path.exists() else []


def test_a_correction_teaches_the_customers_label_for_the_next_pdf(gw: Gateway) -> None:
    first = ingest_pdf(gw, po_pdf("TK-55012"))
    record = document_of(gw, first)
    assert record.state == "exception" and record.number is None
    assert open_codes(gw, first) == ["MISSING_FIELD"]

    result = actions.correct(gw, record.id, {"number": "TK-55012"}, actor="olivia", reason="read off the PDF")
    assert "delivered" in result.message and "learnt po_number" in result.message
    assert document_of(gw, first).state == "delivered" and erp_numbers(gw.config) == ["TK-55012"]
    assert open_codes(gw, first) == []
    with session_scope(gw.engine) as s:
        hints = list_hints(s, "northwind")
        assert [(h.field, h.label, h.example, h.created_by) for h in hints] == \
            [("po_number", ODD_LABEL, "TK-55012", "olivia")]
        assert json.loads(hints[0].region or "[]")[0] == 1
        audit = s.exec(select(AuditEntry).where(AuditEntry.action == "corrected")).one()
        assert json.loads(audit.detail)["changes"] == {"number": [None, "TK-55012"]}
        delivered = json.loads(s.exec(select(DocumentRecord.content)
                                      .where(DocumentRecord.id == record.id)).one())
        assert delivered["po_number"] == "TK-55012"

    # the next PDF: same odd label, another number, printed further down the page: read by the hint's label
    second = ingest_pdf(gw, po_pdf("TK-60001", y_shift=40))
    assert document_of(gw, second).state == "delivered"
    assert erp_numbers(gw.config) == ["TK-55012", "TK-60001"]
    with session_scope(gw.engine) as s:
        ext = json.loads(s.get(PdfExtractionRecord, second).content)  # type: ignore[union-attr]
        assert ext["fields"]["number"]["found_by"] == "hint"
        assert ext["fields"]["number"]["label"] == ODD_LABEL
        hint = s.exec(select(ExtractionHint)).one()
        assert hint.uses == 1 and hint.last_used_at is not None

    # forget it, and the label means nothing again
    actions.remove_hint(gw, hint.id, actor="olivia")
    third = ingest_pdf(gw, po_pdf("TK-70002", y_shift=40))
    assert document_of(gw, third).state == "exception" and open_codes(gw, third) == ["MISSING_FIELD"]
    with session_scope(gw.engine) as s:
        assert list_hints(s) == []
        assert s.exec(select(AuditEntry).where(AuditEntry.action == "hint_removed")).one().actor == "olivia"


def test_a_correction_that_does_not_add_up_is_refused_unless_forced(gw: Gateway) -> None:
    item_id = ingest_pdf(gw, po_pdf("TK-1", label="PO Number:", amount_typo=True))
    record = document_of(gw, item_id)
    assert record.number == "TK-1" and open_codes(gw, item_id) == ["ARITHMETIC_MISMATCH"]
    with pytest.raises(CorrectionRefused) as refused:
        correct(gw.engine, gw.config, record.id, {"lines.0.quantity": "11"}, actor="olivia")
    assert [i.code for i in refused.value.issues] == ["ARITHMETIC_MISMATCH", "ARITHMETIC_MISMATCH"]
    with pytest.raises(actions.ActionRefused, match="not a number"):
        actions.correct(gw, record.id, {"lines.0.quantity": "eleven"}, actor="olivia")
    with pytest.raises(actions.ActionRefused, match="no line 10"):
        actions.correct(gw, record.id, {"lines.9.quantity": "1"}, actor="olivia")
    # the printed amount was misread: correcting it makes the order consistent
    result = actions.correct(gw, record.id, {"lines.0.amount": "2.50"}, actor="olivia")
    assert "delivered" in result.message and erp_numbers(gw.config) == ["TK-1"]
    assert document_of(gw, item_id).state == "delivered"


def test_forced_correction_is_delivered_and_says_so(gw: Gateway) -> None:
    item_id = ingest_pdf(gw, po_pdf("TK-2", label="PO Number:", amount_typo=True))
    record = document_of(gw, item_id)
    actions.correct(gw, record.id, {"currency": "eur"}, actor="olivia", force=True, reason="buyer confirmed")
    with session_scope(gw.engine) as s:
        exc = s.exec(select(ExceptionRecord).where(ExceptionRecord.item_id == item_id)).one()
        assert exc.status == "resolved" and "checks overridden: ARITHMETIC_MISMATCH" in (exc.resolution or "")
    assert json.loads(document_of(gw, item_id).content)["currency"] == "EUR"
    assert erp_numbers(gw.config) == ["TK-2"]


def test_an_unknown_sender_is_bound_once_and_the_email_replayed(gw: Gateway) -> None:
    email = po_email(po_pdf("PO-778", label="PO Number:"), sender="buyer@fabrikam.example")
    received = gw.ingest(email, channel="smtp", source_name="mail")
    gw.pipeline.wait(received.item_id)
    with session_scope(gw.engine) as s:
        exc = s.exec(select(ExceptionRecord).where(ExceptionRecord.item_id == received.item_id)).one()
    assert exc.code == "UNKNOWN_SENDER"
    result = actions.bind_sender(gw, exc.id, "@fabrikam.example", "northwind", actor="olivia")
    assert result.item_id is not None
    gw.pipeline.wait(result.item_id)
    with session_scope(gw.engine) as s:
        replayed = s.get(ReceivedItem, result.item_id)
        assert replayed is not None and replayed.partner_id == "northwind" and replayed.state == "unpacked"
        children = s.exec(select(ReceivedItem.id).where(ReceivedItem.parent_id == result.item_id)).all()
        assert s.get(ExceptionRecord, exc.id).status == "resolved"  # type: ignore[union-attr]
    for child in children:
        gw.pipeline.wait(child)
    assert erp_numbers(gw.config) == ["PO-778"]
    with pytest.raises(actions.ActionRefused, match="no partner"):
        actions.bind_sender(gw, exc.id, "@fabrikam.example", "nobody", actor="olivia")
