"""Invoices held against their purchase orders and receipts before they reach the ERP.

The engine (`gateway.matching.engine`) is pure; this module gathers its inputs from the store (the
orders we sent the supplier, goods receipts the ERP reported or the partner sent as an 861 / 944,
ship notices where the partner's settings count them as receipts, the supplier's earlier invoices),
records the verdict on the invoice, and re-runs it when something changes for the purchase orders it
bills. Every PO an invoice bills, on its header or only on a line, is indexed (`invoice_po`), so a
receipt for any of them finds the invoice.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from gateway.config import Config, PartnerConfig
from gateway.matching.engine import MatchResult, Receipt, match
from gateway.matching.items import ItemModes
from gateway.matching.tolerances import Tolerances
from gateway.matching.uom import UnitConverter
from gateway.store import repo
from gateway.store.models import (
    DocumentRecord,
    ExceptionRecord,
    InvoicePO,
    ItemState,
    ReceiptRecord,
    ReceivedItem,
    utcnow,
)
from mappings.canonical import Document
from mappings.x12.map_861 import NOT_RECEIVED

HOLD_CODE = "MATCH_HOLD"
WAIT_CODE = "MATCH_AWAITING_RECEIPT"
ACCEPTED = (ItemState.VALIDATED, ItemState.DELIVERED, ItemState.ACKNOWLEDGED)


def po_numbers_of(doc: Document) -> list[str]:
    numbers = [doc.po_number] if doc.po_number else []
    numbers += [ln.po_number for ln in doc.lines if ln.po_number]
    return list(dict.fromkeys(n for n in numbers if n))


def index_invoice(session: Session, record: DocumentRecord, doc: Document) -> None:
    """Keep the invoice's rows in `invoice_po` to the POs it bills now (a correction may change them)."""
    if record.partner_id is None:
        return
    wanted = {po.strip()[:64] for po in po_numbers_of(doc) if po.strip()}
    existing = {row.po_number: row for row in session.exec(select(InvoicePO).where(
        InvoicePO.document_id == record.id)).all()}
    for po, row in existing.items():
        if po not in wanted:
            session.delete(row)
    for po in sorted(wanted - existing.keys()):
        session.add(InvoicePO(document_id=record.id, po_number=po, partner_id=record.partner_id))


def _orders(session: Session, partner_id: str, po_numbers: list[str]) -> list[Document]:
    """Orders we issued to this supplier (sent as 850s or submitted by the ERP), oldest first."""
    rows = session.exec(
        select(DocumentRecord.content)
        .join(ReceivedItem, col(ReceivedItem.id) == col(DocumentRecord.item_id))
        .where(DocumentRecord.partner_id == partner_id, DocumentRecord.kind == "order",
               col(DocumentRecord.po_number).in_(po_numbers), ReceivedItem.direction == "out",
               col(DocumentRecord.state).notin_([ItemState.EXCEPTION, ItemState.REJECTED]))
        .order_by(col(DocumentRecord.created_at))
    ).all()
    return [Document.from_json_dict(json.loads(c)) for c in rows]


def _receipts(session: Session, partner: PartnerConfig, po_numbers: list[str]) -> list[Receipt | Document]:
    out: list[Receipt | Document] = []
    for r in session.exec(select(ReceiptRecord).where(ReceiptRecord.partner_id == partner.id,
                                                      col(ReceiptRecord.po_number).in_(po_numbers))).all():
        out.append(Receipt(po_number=r.po_number, quantity=Decimal(r.quantity), uom=r.uom,
                           line_number=r.line_number, item_ids=json.loads(r.item_ids), date=r.received_on,
                           reference=r.reference))
    if partner.asn_counts_as_receipt:
        notices = session.exec(select(DocumentRecord.content).where(
            DocumentRecord.partner_id == partner.id, DocumentRecord.kind == "ship_notice",
            col(DocumentRecord.state).in_(ACCEPTED))).all()
        for content in notices:
            doc = Document.from_json_dict(json.loads(content))
            if set(po_numbers_of(doc)) & set(po_numbers):
                out.append(doc)
    return out


def _prior_invoices(session: Session, partner_id: str, po_numbers: list[str], exclude: str) -> list[Document]:
    # By header PO, and by any PO on the lines (invoices indexed when they were matched): two indexed
    # look-ups, since one query with OR would scan every document.
    accepted = [ItemState.DELIVERED, ItemState.ACKNOWLEDGED]
    rows = list(session.exec(select(DocumentRecord.id, DocumentRecord.content).where(
        DocumentRecord.partner_id == partner_id, DocumentRecord.kind == "invoice", DocumentRecord.id != exclude,
        col(DocumentRecord.state).in_(accepted), col(DocumentRecord.po_number).in_(po_numbers))).all())
    rows += session.exec(select(DocumentRecord.id, DocumentRecord.content)
                         .join(InvoicePO, col(InvoicePO.document_id) == col(DocumentRecord.id))
                         .where(InvoicePO.partner_id == partner_id, col(InvoicePO.po_number).in_(po_numbers),
                                DocumentRecord.id != exclude, col(DocumentRecord.state).in_(accepted))).all()
    return [Document.from_json_dict(json.loads(c)) for c in dict(rows).values()]


def evaluate(session: Session, config: Config, partner: PartnerConfig, record: DocumentRecord) -> MatchResult:
    """Match one stored invoice against what the store holds now (and keep its PO index current)."""
    invoice = Document.from_json_dict(json.loads(record.content))
    index_invoice(session, record, invoice)
    pos = po_numbers_of(invoice)
    tolerances = Tolerances.from_dict(config.matching.tolerances or None)
    units = UnitConverter.from_dict(config.matching.units or None)
    # Two- or three-way: the item's setting, else the partner's, else the global one (see ItemModes).
    modes = ItemModes.from_dict({k: v.get("mode") for k, v in config.matching.items.items()})
    return match(invoice, _orders(session, partner.id, pos), _receipts(session, partner, pos),
                 _prior_invoices(session, partner.id, pos, record.id), tolerances, units,
                 partner.match_mode or config.matching.mode, partner=partner.id, item_modes=modes)


def hold_message(result: MatchResult) -> tuple[str, str]:
    """The inbox code and message for a held or waiting invoice: every reason, in words."""
    if result.held:
        reasons = [r for r in result.all_reasons if r.code != "AWAITING_RECEIPT"]
        code = HOLD_CODE
        head = f"Invoice {result.invoice_number} is on hold: "
    else:
        reasons = result.all_reasons
        code = WAIT_CODE
        head = f"Invoice {result.invoice_number} waits for the goods: "
    text = "; ".join(r.message for r in reasons[:6]) + (f" (+{len(reasons) - 6} more)" if len(reasons) > 6 else "")
    return code, head + (text or "see the match result") + "."


def apply(session: Session, config: Config, partner: PartnerConfig, record: DocumentRecord,
          actor: str = "gateway") -> bool:
    """Match one invoice and record the verdict; True when it may go to the ERP now."""
    result = evaluate(session, config, partner, record)
    record.match = json.dumps(result.to_dict())
    session.add(record)
    if result.outcome in ("matched", "matched_within_tolerance"):
        _close_holds(session, record, actor, f"matched ({result.outcome})")
        if record.state == ItemState.ON_HOLD:
            repo.set_document_state(session, record, ItemState.VALIDATED, "hold released: the match is clean now",
                                    actor=actor)
        repo.audit(session, "matched", item_id=record.item_id, document_id=record.id, actor=actor,
                   detail=result.outcome)
        return True
    code, message = hold_message(result)
    open_hold = session.exec(select(ExceptionRecord).where(ExceptionRecord.document_id == record.id,
                                                           ExceptionRecord.status == "open",
                                                           col(ExceptionRecord.code).in_([HOLD_CODE, WAIT_CODE]))
                             ).first()
    if open_hold is not None and (open_hold.code, open_hold.message) != (code, message):
        open_hold.code, open_hold.message = code, message
        session.add(open_hold)
    elif open_hold is None:
        repo.open_exception(session, item_id=record.item_id, document_id=record.id, stage="match", code=code,
                            message=message, partner_id=record.partner_id)
    repo.set_document_state(session, record, ItemState.ON_HOLD, message, actor=actor)
    return False


def _close_holds(session: Session, record: DocumentRecord, actor: str, resolution: str) -> None:
    for exc in session.exec(select(ExceptionRecord).where(ExceptionRecord.document_id == record.id,
                                                          ExceptionRecord.status == "open",
                                                          col(ExceptionRecord.code).in_([HOLD_CODE, WAIT_CODE]))
                            ).all():
        exc.status, exc.resolved_at, exc.resolution = "resolved", utcnow(), resolution
        session.add(exc)
        repo.audit(session, "resolved", item_id=record.item_id, document_id=record.id, actor=actor,
                   detail=f"{exc.code}: {resolution}")


def reevaluate(session: Session, config: Config, partner_id: str, po_numbers: list[str]) -> list[str]:
    """Re-run matching for the held invoices billing these POs; returns the ids that may go on now."""
    partner = config.partner(partner_id)
    if partner is None or not partner.match_invoices:
        return []
    # Every invoice billing one of these POs, on its header or only on a line (the invoice_po index).
    held = session.exec(select(DocumentRecord).join(InvoicePO, col(InvoicePO.document_id) == col(DocumentRecord.id))
                        .where(InvoicePO.partner_id == partner_id, col(InvoicePO.po_number).in_(po_numbers),
                               DocumentRecord.kind == "invoice", DocumentRecord.state == ItemState.ON_HOLD)).all()
    released: list[str] = []
    for record in {r.id: r for r in held}.values():  # an invoice billing two of these POs is found twice
        doc = Document.from_json_dict(json.loads(record.content))
        if set(po_numbers_of(doc)) & set(po_numbers) and apply(session, config, partner, record):
            released.append(record.id)
    return released


def store_receipt(session: Session, partner_id: str, data: dict[str, Any]) -> list[str]:
    """Record the ERP's goods receipt lines; returns the PO numbers they touch."""
    from gateway.store.models import new_id

    touched: list[str] = []
    for line in data.get("lines", []):
        po = str(line.get("po_number") or data.get("po_number") or "")
        if not po:
            raise ValueError("every receipt line needs a po_number (on the line or the receipt)")
        quantity = Decimal(str(line["quantity"]))
        session.add(ReceiptRecord(id=new_id("rcp"), partner_id=partner_id, po_number=po,
                                  line_number=line.get("line_number"), item_ids=json.dumps(line.get("item_ids", {})),
                                  quantity=format(quantity, "f"), uom=line.get("uom"),
                                  received_on=data.get("date"), reference=data.get("reference")))
        touched.append(po)
    if not touched:
        raise ValueError("a receipt needs at least one line")
    return list(dict.fromkeys(touched))


def receive(session: Session, config: Config, partner_id: str, data: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Record goods received and re-run the held invoices on those POs; returns (POs, invoice ids released)."""
    pos = store_receipt(session, partner_id, data)
    session.flush()
    return pos, reevaluate(session, config, partner_id, pos)


def receive_document(session: Session, config: Config, partner: PartnerConfig, record: DocumentRecord,
                     doc: Document) -> list[str]:
    """A partner's receiving advice (861, 944) counted like the ERP's goods receipt; returns the invoices released.

    Rejected and questioned quantities are not goods received. The same advice replayed (same
    idempotency key, already accepted) is not counted twice.
    """
    again = session.exec(select(DocumentRecord.id).where(
        DocumentRecord.idempotency_key == record.idempotency_key, DocumentRecord.id != record.id,
        DocumentRecord.kind == "receipt", col(DocumentRecord.state).in_(ACCEPTED))).first()
    if again is not None:
        repo.audit(session, "receipt_not_counted", item_id=record.item_id, document_id=record.id,
                   detail=f"receiving advice {doc.number} was already counted as document {again}")
        return []
    lines = [{"po_number": (ln.po_number or doc.po_number or "")[:64] or None,
              "line_number": (ln.line_number or "")[:32] or None, "item_ids": ln.item_ids,
              "quantity": ln.quantity, "uom": (ln.uom or "")[:8] or None}
             for ln in doc.lines if ln.quantity is not None and ln.status not in NOT_RECEIVED
             and (ln.po_number or doc.po_number)]
    if not lines:
        return []
    pos, released = receive(session, config, partner.id, {"lines": lines, "date": doc.date,
                                                          "reference": (doc.number or "")[:64] or None})
    repo.audit(session, "receipt", item_id=record.item_id, document_id=record.id,
               detail=f"{partner.id}: goods received for {', '.join(pos)} ({doc.source.set or doc.source.format} "
                      f"{doc.number})")
    return released
