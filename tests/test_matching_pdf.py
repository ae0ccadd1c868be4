"""A supplier's PDF invoice goes through the same matching as an 810: held on a price over tolerance, released
when the order is corrected, and a clean one delivered matched (partner contoso emails PDF invoices)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from gateway import actions
from gateway.config import PartnerIdentity
from gateway.service import Gateway
from gateway.store.db import session_scope
from gateway.store.models import DocumentRecord, ExceptionRecord
from mappings.canonical import Document
from tests import pdf_factory
from tests.conftest import make_config

LAYOUT = "inv_en_ruled"
# The PO is X12 (units from the X12 code list); the PDF prints PCE and BOX, which matching folds to EA and BX.
X12_UNITS = {"PCE": "EA", "BOX": "BX"}


@pytest.fixture
def gateway(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Gateway]:
    monkeypatch.delenv("EDIGW_DATABASE_URL", raising=False)
    config = make_config(tmp_path, database_url)
    config.smtp.enabled = False  # the PDF bytes are ingested directly: no SMTP conversation needed
    contoso = config.partner("contoso")
    assert contoso is not None
    contoso.match_invoices = True  # three-way, the default mode
    contoso.identities = [PartnerIdentity(qualifier="ZZ", id="CONTOSO")]  # we send it X12 850s
    gw = Gateway(config)
    gw.start()
    try:
        yield gw
    finally:
        gw.stop()


def order_for(invoice: Document, price_factor: Decimal = Decimal(1), purpose: str = "original") -> dict[str, Any]:
    """The purchase order the invoice bills, as the ERP submits it (prices scaled by `price_factor`)."""
    lines = [{"line_number": ln.line_number, "quantity": format(ln.quantity, "f"),
              "uom": X12_UNITS.get(ln.uom or "", ln.uom),
              "unit_price": format((ln.unit_price or Decimal(0)) * price_factor, "f"), "description": ln.description,
              "item_ids": ln.item_ids, "po_number": invoice.po_number, "package": None, "status": None}
             for ln in invoice.lines]
    return {"kind": "order", "number": invoice.po_number, "date": invoice.date.isoformat() if invoice.date else None,
            "po_number": invoice.po_number, "purpose": purpose, "currency": invoice.currency, "sender": None,
            "receiver": None, "parties": [], "lines": lines, "dates": {},
            "totals": {k: format(v, "f") for k, v in (("tax", invoice.totals.tax), ("freight", invoice.totals.freight))
                       if v is not None}, "references": {},
            "source": {"format": "canonical", "version": None, "set": None, "control_numbers": {}, "channel": None}}


def submit_order(gw: Gateway, order: dict[str, Any]) -> None:
    received = gw.submit(json.dumps(order).encode(), partner_id="contoso")
    gw.pipeline.wait(received.item_id)


def receive_all(gw: Gateway, invoice: Document) -> list[str]:
    receipt = {"po_number": invoice.po_number,
               "lines": [{"line_number": ln.line_number, "quantity": ln.quantity, "uom": ln.uom}
                         for ln in invoice.lines]}
    return actions.record_receipt(gw, "contoso", receipt, actor="receiving")


def ingest_pdf(gw: Gateway, invoice: Document) -> None:
    received = gw.ingest(pdf_factory.render(LAYOUT, invoice), channel="smtp", partner_id="contoso",
                         source_name=f"{invoice.number}.pdf")
    gw.pipeline.wait(received.item_id)


def delivered(gw: Gateway) -> dict[str, dict[str, Any]]:
    path = gw.config.erp.path
    docs = [json.loads(p.read_text()) for p in path.glob("*.json")] if path.exists() else []
    return {d["number"]: d for d in docs if d["kind"] == "invoice"}


def dump(gw: Gateway) -> str:
    with session_scope(gw.engine) as s:
        out = [f"{d.kind} {d.number} {d.state} {(d.match or '')[:300]}" for d in s.exec(select(DocumentRecord)).all()]
        out += [f"{e.code}: {e.message[:300]}" for e in s.exec(select(ExceptionRecord)).all()]
    return "\n".join(out)


def record_of(gw: Gateway, number: str) -> tuple[str, list[tuple[str, str]]]:
    with session_scope(gw.engine) as s:
        doc = s.exec(select(DocumentRecord).where(DocumentRecord.number == number,
                                                  DocumentRecord.kind == "invoice")).one()
        holds = s.exec(select(ExceptionRecord).where(ExceptionRecord.document_id == doc.id,
                                                     ExceptionRecord.status == "open")).all()
        return doc.state, [(h.code, h.message) for h in holds]


def test_a_pdf_invoice_is_matched_held_on_price_and_released_by_the_corrected_order(gateway: Gateway) -> None:
    clean = pdf_factory.make_invoice(62, LAYOUT)  # seeds whose units all have an X12 code
    dear = pdf_factory.make_invoice(55, LAYOUT)
    assert clean.number and dear.number and clean.po_number != dear.po_number
    submit_order(gateway, order_for(clean))
    submit_order(gateway, order_for(dear, Decimal("0.9")))  # the PO says 10 % less than the supplier bills
    assert receive_all(gateway, clean) == [] and receive_all(gateway, dear) == []

    ingest_pdf(gateway, clean)
    assert clean.number in delivered(gateway), dump(gateway)
    assert delivered(gateway)[clean.number]["match"]["outcome"] == "matched"

    ingest_pdf(gateway, dear)
    state, holds = record_of(gateway, dear.number)
    assert state == "on_hold" and dear.number not in delivered(gateway)
    [(code, message)] = holds
    assert code == "MATCH_HOLD" and "unit price" in message and "over the price on PO" in message
    assert "the limit is" in message

    # The buyer agrees the supplier's price: the ERP sends the PO change, the hold releases itself.
    submit_order(gateway, order_for(dear, purpose="replace"))
    state, holds = record_of(gateway, dear.number)
    assert state != "on_hold" and holds == []
    assert delivered(gateway)[dear.number]["match"]["outcome"] == "matched"
