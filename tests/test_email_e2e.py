"""Emailed purchase orders end to end: real SMTP conversations with the running gateway, PDFs attached,
orders found at the ERP and replies in the outbox (issue 5)."""

from __future__ import annotations

import json
import smtplib
import zlib
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from gateway.config import Config
from gateway.service import Gateway
from gateway.store.db import session_scope
from gateway.store.models import ExceptionRecord, ItemState, MailReply, ReceivedItem
from tests import pdf_factory
from tests.conftest import make_config
from tests.test_reliability import wait_for


@pytest.fixture
def gateway(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Gateway]:
    monkeypatch.delenv("EDIGW_DATABASE_URL", raising=False)
    config = make_config(tmp_path, database_url)
    config.smtp.port = 0  # any free port on 127.0.0.1
    config.mail_out.outbox = tmp_path / "outbox"
    gw = Gateway(config)
    gw.start()
    try:
        yield gw
    finally:
        gw.stop()


def mail_with(sender: str, subject: str, attachments: list[tuple[str, bytes]], *, to: str = "orders@edigw.local",
              headers: dict[str, str] | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{subject.replace(' ', '-')}@customer.example>"
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content("Please find our purchase order attached.\n")
    for filename, data in attachments:
        maintype, subtype = ("application", "pdf") if filename.endswith(".pdf") else ("application", "octet-stream")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg


def send(gw: Gateway, msg: EmailMessage) -> None:
    assert gw.smtp is not None
    with smtplib.SMTP("127.0.0.1", gw.smtp.port, timeout=30) as client:
        client.send_message(msg)


def erp_orders(config: Config) -> dict[str, dict[str, Any]]:
    docs = [json.loads(p.read_text()) for p in config.erp.path.glob("*.json")] if config.erp.path.exists() else []
    return {d["number"]: d for d in docs}


def outbox(config: Config) -> list[EmailMessage]:
    folder = config.mail_out.outbox
    files = sorted(folder.glob("*.eml")) if folder.exists() else []
    return [BytesParser(policy=policy.default).parsebytes(p.read_bytes()) for p in files]  # type: ignore[misc]


def test_emailed_pdf_orders_reach_the_erp_and_the_customer_gets_a_confirmation(gateway: Gateway) -> None:
    config = gateway.config
    typed = [pdf_factory.make_order(seed, layout) for seed, layout in
             ((11, "en_classic_ruled"), (12, "de_ruled_dejavu"))]
    send(gateway, mail_with("Pat Buyer <purchasing@northwind.example>", "PO 1 and 2",
                            [(f"po{n}.pdf", pdf_factory.render(layout, doc)) for n, (layout, doc) in
                             enumerate(zip(("en_classic_ruled", "de_ruled_dejavu"), typed, strict=True))]))
    wanted = {doc.number for doc in typed}
    wait_for(lambda: wanted <= set(erp_orders(config)), 120, "both orders at the ERP")
    delivered = erp_orders(config)
    for doc in typed:
        got = delivered[doc.number or ""]
        assert got["kind"] == "order" and got["source"]["format"] == "pdf"
        assert got["sender"] == {"qualifier": "email", "id": "purchasing@northwind.example"}
        assert [ln["quantity"] for ln in got["lines"]] == [format(ln.quantity, "f") for ln in doc.lines]
        assert got["totals"]["amount"] == format(doc.totals.amount, "f")
    wait_for(lambda: len(outbox(config)) == 2, 60, "two confirmations in the outbox")
    replies = outbox(config)
    for reply in replies:
        assert reply["To"].addresses[0].addr_spec == "purchasing@northwind.example"
        assert reply["Auto-Submitted"] == "auto-replied"
        assert reply["In-Reply-To"] == "<PO-1-and-2@customer.example>"
        assert reply["Subject"] == "Re: PO 1 and 2"
    bodies = "\n".join(r.get_content() for r in replies)
    for doc in typed:
        assert doc.number in bodies
        assert f"{len(doc.lines)} line" in bodies


def test_unknown_sender_waits_for_a_person_and_gets_no_reply(gateway: Gateway) -> None:
    doc = pdf_factory.make_order(21, "en_classic_ruled")
    send(gateway, mail_with("someone@stranger.example", "Order", [("po.pdf", pdf_factory.render("en_classic_ruled",
                                                                                                  doc))]))

    def exception_codes() -> list[str]:
        with session_scope(gateway.engine) as session:
            return list(session.exec(select(ExceptionRecord.code)).all())

    wait_for(lambda: "UNKNOWN_SENDER" in exception_codes(), 60, "an UNKNOWN_SENDER exception")
    assert erp_orders(gateway.config) == {}
    with session_scope(gateway.engine) as session:
        assert session.exec(select(MailReply)).all() == []


def test_an_email_without_an_order_is_an_exception_and_the_customer_is_told(gateway: Gateway) -> None:
    send(gateway, mail_with("purchasing@northwind.example", "Our order", [("notes.txt", b"see phone call\n")]))

    def email_state() -> str | None:
        with session_scope(gateway.engine) as session:
            item = session.exec(select(ReceivedItem)).first()
            return item.state if item else None

    wait_for(lambda: email_state() == ItemState.EXCEPTION, 60, "the email as an exception")
    wait_for(lambda: len(outbox(gateway.config)) == 1, 60, "one reply in the outbox")
    body = outbox(gateway.config)[0].get_content()
    assert "could not read" in body and "notes.txt" in body


def test_a_low_confidence_scan_goes_to_a_person_and_the_customer_hears_it_is_being_checked(
        gateway: Gateway) -> None:
    customer = gateway.config.partner("northwind")
    assert customer is not None and customer.email is not None
    customer.email.confidence_threshold = 1.0  # nothing read from a scan is that sure
    doc = pdf_factory.make_order(31, "en_classic_ruled")
    scanned = pdf_factory.scan(pdf_factory.render("en_classic_ruled", doc), 31)
    send(gateway, mail_with("purchasing@northwind.example", "Scanned PO", [("scan.pdf", scanned)]))

    def codes() -> list[str]:
        with session_scope(gateway.engine) as session:
            return list(session.exec(select(ExceptionRecord.code).where(ExceptionRecord.status == "open")).all())

    wait_for(lambda: "LOW_CONFIDENCE" in codes(), 120, "a LOW_CONFIDENCE exception")
    assert erp_orders(gateway.config) == {}
    wait_for(lambda: len(outbox(gateway.config)) == 1, 60, "one reply in the outbox")
    assert "checking" in outbox(gateway.config)[0].get_content()


def test_hostile_attachments_end_as_exceptions_without_harming_the_good_one(gateway: Gateway) -> None:
    from tests.test_pdf_safety import JS_ACTION, _encrypted, build_pdf, simple_pdf, stream

    bomb = zlib.compressobj(9)
    bomb_stream = bomb.compress(bytes(300 * 1024 * 1024)) + bomb.flush()
    bad = {
        "locked.pdf": _encrypted("secret"),
        "script.pdf": simple_pdf(catalog=b"<< /Type /Catalog /Pages 2 0 R /OpenAction " + JS_ACTION + b" >>"),
        "bomb.pdf": simple_pdf(extra={4: stream(bomb_stream, b"/Filter /FlateDecode")}),
        "truncated.pdf": build_pdf({1: b"<< /Type /Catalog /Pages 2 0 R >>"})[:60],
    }
    good = pdf_factory.make_order(41, "en_classic_ruled")
    send(gateway, mail_with("purchasing@northwind.example", "Mixed bag",
                            [*bad.items(), ("good.pdf", pdf_factory.render("en_classic_ruled", good))]))
    wait_for(lambda: good.number in erp_orders(gateway.config), 120, "the good order at the ERP")

    def outcomes() -> dict[str, str]:
        with session_scope(gateway.engine) as session:
            rows = session.exec(select(ReceivedItem.source_name, ExceptionRecord.code).join(
                ExceptionRecord, ExceptionRecord.item_id == ReceivedItem.id)).all()
            return {name.split(" in ", 1)[0]: code for name, code in rows}

    wait_for(lambda: len(outcomes()) == len(bad), 120, "an exception for every bad attachment")
    found = outcomes()
    assert found["locked.pdf"] == "PDF_ENCRYPTED"
    assert found["script.pdf"] == "PDF_JAVASCRIPT"
    assert found["bomb.pdf"] == "PDF_DECOMPRESSION_BOMB"
    assert found["truncated.pdf"] == "PDF_CORRUPT"
    wait_for(lambda: len(outbox(gateway.config)) == len(bad) + 1, 60, "a reply for every attachment")
    bodies = [r.get_content() for r in outbox(gateway.config)]
    assert sum("could not read" in b for b in bodies) == len(bad)
    assert not any("Traceback" in b for b in bodies)


def test_a_suppliers_emailed_pdf_invoice_reaches_the_erp_as_an_invoice(gateway: Gateway) -> None:
    invoice = pdf_factory.make_invoice(51, "inv_en_ruled")
    send(gateway, mail_with("billing@contoso.example", f"Invoice {invoice.number}",
                            [("invoice.pdf", pdf_factory.render("inv_en_ruled", invoice))],
                            to="invoices@edigw.local"))
    wait_for(lambda: invoice.number in erp_orders(gateway.config), 120, "the invoice at the ERP")
    got = erp_orders(gateway.config)[invoice.number or ""]
    assert got["kind"] == "invoice" and got["po_number"] == invoice.po_number
    assert got["totals"]["amount"] == format(invoice.totals.amount, "f")
    assert got["sender"] == {"qualifier": "email", "id": "billing@contoso.example"}
