"""Corrections to emailed PDF documents, and what the gateway learns from them.

Ops corrects a field in the inbox; the corrected document is checked again (arithmetic, catalogue) so a
correction never sends the ERP an order that does not add up, and the gateway remembers how this
customer labels and places the field (an ExtractionHint row: data, visible and removable in the inbox),
so the customer's next PDF is read right without anyone writing a template. Unknown senders are taught
the same way: bind the address (or domain) to a customer once, and the email is replayed.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from gateway.config import Config
from gateway.emailed import bind_sender
from gateway.intake import Received
from gateway.intake import replay as replay_item
from gateway.pdf_documents import region_from_json, region_to_list
from gateway.processing import idempotency_key
from gateway.store import repo
from gateway.store.db import session_scope
from gateway.store.models import (
    DocumentRecord,
    ExceptionRecord,
    ExtractionHint,
    ItemState,
    PdfExtractionRecord,
    ReceivedItem,
    new_id,
    utcnow,
)
from mappings.canonical import Document, Party, Totals
from parsers.issues import Issue, error
from parsers.mime import unpack
from parsers.pdf.hints import learn_hint
from parsers.pdf.layout import parse_date
from parsers.pdf.model import Region, Word
from parsers.pdf.numbers import NumberFormat, parse_number

HEADER_FIELDS = ("number", "po_number", "date", "currency", "subtotal", "tax", "freight", "total",
                 "buyer", "ship_to", "bill_to")
LINE_CELLS = ("quantity", "unit_price", "amount", "uom", "description", "item", "buyer_part")
PARTY_FIELDS = ("buyer", "ship_to", "bill_to")
MONEY_FIELDS = ("subtotal", "tax", "freight", "total")
CORRECTABLE_STATES = (ItemState.EXCEPTION, ItemState.ON_HOLD, ItemState.VALIDATED)
CENT = Decimal("0.01")
_LINE_KEY = re.compile(r"^lines\.(\d+)\.([a-z_]+)$")
_PLAIN = re.compile(r"^-?\d+(?:[.,](\d+))?$")


class CorrectionRefused(ValueError):
    """The corrected document is still inconsistent; `issues` name each problem and its field."""

    def __init__(self, message: str, issues: list[Issue] | None = None) -> None:
        super().__init__(message)
        self.issues = issues or []


@dataclass(frozen=True)
class Corrected:
    """What a correction did: the documents to deliver now (none when an invoice went back on hold)."""

    item_id: str
    document_id: str
    deliver: list[str]
    changes: dict[str, tuple[str | None, str | None]]
    learnt: list[str]
    held: bool = False


# ----------------------------------------------------------------------------------------------- values
def read_amount(text: str, fmt: NumberFormat | None) -> Decimal:
    """A number as a person types it: the document's own format, or plain 1234.5 / 1234,5 whatever it is.

    A lone separator followed by other than three digits can only be a decimal mark; with three digits
    (1.234) the document's format decides, as it does on the page.
    """
    s = text.strip()
    m = _PLAIN.match(s)
    if m and m.group(1) is not None and len(m.group(1)) != 3:
        return Decimal(s.replace(",", "."))
    value = parse_number(s, fmt)
    if value is None:
        raise ValueError(f"\"{text}\" is not a number; type it as printed (e.g. 1,234.50 or 1234.50)")
    return value


def read_date(text: str) -> dt.date:
    s = text.strip()
    try:
        return dt.date.fromisoformat(s)
    except ValueError:
        pass
    iso = parse_date(s)
    if iso is None:
        raise ValueError(f"\"{text}\" is not a date we can read; type it as YYYY-MM-DD")
    return dt.date.fromisoformat(iso)


def _show(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


# ----------------------------------------------------------------------------------------------- apply
def _apply_header(doc: Document, name: str, text: str, fmt: NumberFormat | None) -> tuple[Any, Any]:
    """Set one header field; returns (old, new) as shown to people."""
    value = text.strip()
    if name in ("number", "po_number"):
        old = getattr(doc, name)
        new = value or None
        setattr(doc, name, new)
        # An order's number is its PO number (map_pdf reads one field for both): keep them together.
        other = "po_number" if name == "number" else "number"
        if doc.kind == "order" and getattr(doc, other) in (None, old):
            setattr(doc, other, new)
        return old, new
    if name == "date":
        old_date = doc.date
        doc.date = read_date(value) if value else None
        return old_date, doc.date
    if name == "currency":
        code = value.upper()
        if code and not re.fullmatch(r"[A-Z]{3}", code):
            raise ValueError(f"\"{text}\" is not a currency code; use three letters such as USD or EUR")
        old_cur = doc.currency
        doc.currency = code or None
        return old_cur, doc.currency
    if name in MONEY_FIELDS:
        data = doc.totals.model_dump()
        key = "amount" if name == "total" else name
        old_amount = data.get(key)
        data[key] = read_amount(value, fmt) if value else None
        doc.totals = Totals.model_validate(data)
        return old_amount, data[key]
    if name in PARTY_FIELDS:
        party = doc.party(name)
        old_name = party.name if party else None
        if party is None:
            if value:
                doc.parties.append(Party(role=name, name=value))
        else:
            party.name = value or None
        return old_name, value or None
    raise ValueError(f"\"{name}\" is not a field that can be corrected here")


def _apply_line(doc: Document, index: int, cell: str, text: str, fmt: NumberFormat | None,
                amounts: dict[int, Decimal | None]) -> tuple[Any, Any]:
    if index >= len(doc.lines):
        raise ValueError(f"the document has {len(doc.lines)} line(s); there is no line {index + 1}")
    line = doc.lines[index]
    value = text.strip()
    if cell in ("quantity", "unit_price"):
        old = getattr(line, cell)
        setattr(line, cell, read_amount(value, fmt) if value else None)
        return old, getattr(line, cell)
    if cell == "amount":  # the printed line amount: checked against, not part of the canonical line
        old_amount = amounts.get(index)
        amounts[index] = read_amount(value, fmt) if value else None
        return old_amount, amounts[index]
    if cell == "uom":
        old = line.uom
        line.uom = value.upper().rstrip(".") or None
        return old, line.uom
    if cell == "description":
        old = line.description
        line.description = value or None
        return old, line.description
    if cell in ("item", "buyer_part"):
        key = "vendor_part" if cell == "item" else "buyer_part"
        old = line.item_ids.get(key)
        if value:
            line.item_ids[key] = value
        else:
            line.item_ids.pop(key, None)
        return old, value or None
    raise ValueError(f"\"{cell}\" is not a line cell that can be corrected here")


def printed_amounts(extraction: dict[str, Any] | None, fmt: NumberFormat | None) -> dict[int, Decimal | None]:
    """Each line's amount as printed on the page (the extraction's amount cells)."""
    out: dict[int, Decimal | None] = {}
    for index, line in enumerate((extraction or {}).get("lines") or []):
        cell = (line.get("cells") or {}).get("amount")
        out[index] = parse_number(cell["text"], fmt) if cell else None
    return out


def check_corrected(doc: Document, amounts: dict[int, Decimal | None],
                    known_items: set[str] | None = None) -> list[Issue]:
    """What is still wrong with a corrected document: the checks map_pdf makes, on the person's values."""
    issues: list[Issue] = []
    if not doc.number:
        issues.append(error("MISSING_FIELD", f"The {'invoice' if doc.kind == 'invoice' else 'order'} still has "
                            "no number; enter it.", "number"))
    line_sum: Decimal | None = Decimal(0)
    for index, line in enumerate(doc.lines):
        where = f"Line {line.line_number or index + 1}"
        amount = amounts.get(index)
        if line.quantity is None:
            issues.append(error("MISSING_FIELD", f"{where} has no quantity; enter it.", f"lines.{index}.quantity"))
        if line.quantity is not None and line.unit_price is not None:
            expected = line.quantity * line.unit_price
            if amount is not None and abs(expected - amount) > CENT and \
                    abs(expected - amount) > abs(line.quantity) * Decimal("0.005"):
                issues.append(error("ARITHMETIC_MISMATCH", f"{where}: {line.quantity:,} x {line.unit_price:,} = "
                                    f"{expected:,}, but the amount printed is {amount:,}; correct the quantity or "
                                    "the price (or the amount, if it was misread).", f"lines.{index}.quantity"))
            amount = amount if amount is not None else expected
        if known_items is not None:
            ids = [v for k, v in line.item_ids.items() if k in ("vendor_part", "buyer_part")]
            if ids and not any(i in known_items for i in ids):
                issues.append(error("UNKNOWN_ITEM", f"{where}: item {' / '.join(ids)} is not in this customer's "
                                    "catalogue; correct the item number.", f"lines.{index}.item"))
        if amount is None or line_sum is None:
            line_sum = None
        else:
            line_sum += amount
    totals = doc.totals
    extra = totals.model_extra or {}
    subtotal = extra.get("subtotal")
    subtotal = Decimal(str(subtotal)) if subtotal is not None else None
    if line_sum is not None and doc.lines:
        extras = (totals.tax or Decimal(0)) + (totals.freight or Decimal(0))
        if subtotal is not None and abs(subtotal - line_sum) > CENT:
            issues.append(error("ARITHMETIC_MISMATCH", f"The lines add up to {line_sum:,} but the subtotal is "
                                f"{subtotal:,}; correct a line or the subtotal.", "subtotal"))
        if totals.amount is not None:
            base = subtotal if subtotal is not None else line_sum
            if abs(base + extras - totals.amount) > CENT and abs(line_sum + extras - totals.amount) > CENT:
                issues.append(error("ARITHMETIC_MISMATCH", f"Lines {line_sum:,}"
                                    + (f" + tax {totals.tax:,}" if totals.tax is not None else "")
                                    + (f" + freight {totals.freight:,}" if totals.freight is not None else "")
                                    + f" = {line_sum + extras:,}, but the total is {totals.amount:,}; correct a "
                                    "line, the tax, the freight or the total.", "total"))
    return issues


# ----------------------------------------------------------------------------------------------- correct
def layout_field(kind: str, name: str) -> str:
    """The extraction's name for a canonical header field (an order's number is read as its PO number)."""
    if name == "number":
        return "invoice_number" if kind == "invoice" else "po_number"
    return name


def stored_words(extraction: dict[str, Any]) -> list[Word]:
    return [Word(str(w[0]), int(w[1]), float(w[2]), float(w[3]), float(w[4]), float(w[5]),
                 float(w[6]) if len(w) > 6 else 1.0) for w in extraction.get("words") or []]


def _field_region(extraction: dict[str, Any], *names: str) -> Region | None:
    for name in names:
        f = (extraction.get("fields") or {}).get(name)
        if f and f.get("region"):
            return region_from_json(json.dumps(f["region"]))
    return None


def correct_document(engine: Engine, config: Config, document_id: str, corrections: dict[str, str], *,
                     actor: str, learn: bool = True, force: bool = False, reason: str = "") -> list[str]:
    """Apply a person's corrections, check, resolve, learn; returns the document ids to deliver now."""
    return correct(engine, config, document_id, corrections, actor=actor, learn=learn, force=force,
                   reason=reason).deliver


def correct(engine: Engine, config: Config, document_id: str, corrections: dict[str, str], *, actor: str,
            learn: bool = True, force: bool = False, reason: str = "") -> Corrected:
    """correct_document with the details (changes, hints learnt) for the inbox's message and the API.

    No corrections at all confirms the values as read (a low-confidence field that was right after all).
    """
    with session_scope(engine) as session:
        record = session.get(DocumentRecord, document_id)
        if record is None:
            raise LookupError(f"there is no document {document_id}")
        if record.state not in CORRECTABLE_STATES:
            raise CorrectionRefused(f"document {document_id} is {record.state}; only documents waiting in the "
                                    "inbox can be corrected")
        ext_row = session.get(PdfExtractionRecord, record.item_id)
        extraction: dict[str, Any] | None = json.loads(ext_row.content) if ext_row is not None else None
        fmt: NumberFormat | None = (extraction or {}).get("number_format")
        original = json.loads(record.content)
        doc = Document.model_validate(original)
        amounts = printed_amounts(extraction, fmt)
        changes: dict[str, tuple[str | None, str | None]] = {}
        for key, text in corrections.items():
            text = "" if text is None else str(text)
            m = _LINE_KEY.match(key)
            if m:
                if m.group(2) not in LINE_CELLS:
                    raise ValueError(f"\"{m.group(2)}\" is not a line cell; use one of {', '.join(LINE_CELLS)}")
                old, new = _apply_line(doc, int(m.group(1)), m.group(2), text, fmt, amounts)
            elif key in HEADER_FIELDS:
                old, new = _apply_header(doc, key, text, fmt)
            else:
                raise ValueError(f"\"{key}\" is not a field that can be corrected; use one of "
                                 f"{', '.join(HEADER_FIELDS)} or lines.<n>.<{'|'.join(LINE_CELLS)}>")
            if _show(old) != _show(new):
                changes[key] = (_show(old), _show(new))
        partner = config.partner(record.partner_id)
        known = set(partner.email.known_items) if partner and partner.email and partner.email.known_items else None
        problems = check_corrected(doc, amounts, known)
        if problems and not force:
            raise CorrectionRefused("the corrected document is still not consistent: "
                                    + "; ".join(p.message for p in problems), problems)
        doc = Document.model_validate(doc.model_dump())  # the corrected document is a valid canonical one
        record.content = doc.to_json()
        record.number, record.po_number, record.doc_date = doc.number, doc.po_number, doc.date
        record.idempotency_key = idempotency_key(record.partner_id, doc)
        learnt = _learn(session, record, doc, extraction, changes, actor) if learn and extraction else []
        why = reason or "corrected in the inbox"
        repo.audit(session, "corrected", item_id=record.item_id, document_id=record.id, actor=actor,
                   detail=json.dumps({"reason": why, "changes": {k: list(v) for k, v in changes.items()},
                                      "forced": bool(problems), "learnt": learnt, "original": original}))
        repo.set_document_state(session, record, ItemState.VALIDATED, f"corrected by {actor}: {why}", actor=actor)
        changed = ", ".join(f"{k} {o or '(none)'} -> {n or '(none)'}" for k, (o, n) in changes.items())
        resolution = f"corrected by {actor}: {changed or 'values confirmed'}" + (
            f" (checks overridden: {'; '.join(p.code for p in problems)})" if problems else "")
        for exc in session.exec(select(ExceptionRecord).where(ExceptionRecord.document_id == record.id,
                                                              ExceptionRecord.status == "open")).all():
            exc.status, exc.resolved_at, exc.resolution = "resolved", utcnow(), resolution[:2000]
            session.add(exc)
            repo.audit(session, "resolved", item_id=record.item_id, document_id=record.id, actor=actor,
                       detail=f"{exc.code}: {resolution}"[:2000])
        deliver = [record.id]
        held = False
        if partner is not None and partner.match_invoices and record.kind == "invoice":
            from gateway.matching import holds

            session.flush()
            if not holds.apply(session, config, partner, record, actor=actor):
                deliver, held = [], True
        return Corrected(record.item_id, record.id, deliver, changes, learnt, held)


def _learn(session: Session, record: DocumentRecord, doc: Document, extraction: dict[str, Any],
           changes: dict[str, tuple[str | None, str | None]], actor: str) -> list[str]:
    """One hint per corrected header field: how this customer labels it and where it sits."""
    if record.partner_id is None:
        return []
    words = stored_words(extraction)
    learnt: list[str] = []
    for key, (_old, new) in changes.items():
        if key not in HEADER_FIELDS or not new:
            continue
        name = layout_field(record.kind, key)
        if record.kind == "order" and name == "po_number" and "po_number" in learnt:
            continue  # number and PO number of an order are one field on the page
        near = _field_region(extraction, name, key)
        hint = learn_hint(words, name, new, near=near)
        if hint is None or (hint.label is None and hint.region is None):
            continue
        row = session.exec(select(ExtractionHint).where(ExtractionHint.partner_id == record.partner_id,
                                                        ExtractionHint.field == name)).first()
        if row is None:
            row = ExtractionHint(id=new_id("hnt"), partner_id=record.partner_id, field=name)
        row.label = hint.label[:256] if hint.label else None
        row.region = json.dumps(region_to_list(hint.region)) if hint.region else None
        row.example, row.source_item_id, row.created_by = new[:256], record.item_id, actor
        row.created_at, row.uses, row.last_used_at = utcnow(), 0, None
        session.add(row)
        repo.audit(session, "hint_learnt", item_id=record.item_id, document_id=record.id, actor=actor,
                   detail=f"{record.partner_id} {name}: label {hint.label or '(none)'!r}, region "
                          f"{hint.region.location() if hint.region else '(none)'}, example {new!r}")
        learnt.append(name)
    return learnt


# ----------------------------------------------------------------------------------------------- hints
def list_hints(session: Session, partner_id: str | None = None) -> list[ExtractionHint]:
    stmt = select(ExtractionHint)
    if partner_id is not None:
        stmt = stmt.where(ExtractionHint.partner_id == partner_id)
    return list(session.exec(stmt.order_by(col(ExtractionHint.partner_id), col(ExtractionHint.field))).all())


def delete_hint(session: Session, hint_id: str, actor: str) -> ExtractionHint:
    """Forget a learnt hint (a wrong correction must not keep steering extraction); audited."""
    hint = session.get(ExtractionHint, hint_id)
    if hint is None:
        raise LookupError(f"there is no learnt hint {hint_id}")
    session.delete(hint)
    repo.audit(session, "hint_removed", actor=actor,
               detail=f"{hint.partner_id} {hint.field}: label {hint.label or '(none)'!r}, example {hint.example!r}")
    return hint


# ----------------------------------------------------------------------------------------------- senders
def sender_of_item(session: Session, item: ReceivedItem) -> str | None:
    """The From address of an email item (or of the email an attachment came in)."""
    email = item if item.parent_id is None else session.get(ReceivedItem, item.parent_id)
    if email is None:
        return None
    try:
        return unpack(email.raw).from_address
    except Exception:  # not an email: nothing to bind
        return None


def bind_sender_and_replay(engine: Engine, config: Config, exception_or_item_id: str, address_or_domain: str,
                           partner_id: str, actor: str) -> Received:
    """Bind the sender to the customer (remembered for every later email) and replay the email with it.

    Returns the replayed item; the caller starts its pipeline workflow (gateway.actions.bind_sender does).
    """
    with session_scope(engine) as session:
        item_id = exception_or_item_id
        exc = session.get(ExceptionRecord, exception_or_item_id)
        if exc is not None:
            item_id = exc.item_id
        item = session.get(ReceivedItem, item_id)
        if item is None:
            raise LookupError(f"there is no exception or item {exception_or_item_id}")
        if item.parent_id is not None:  # an attachment: the email is what gets replayed
            item = session.get(ReceivedItem, item.parent_id) or item
        bind_sender(session, config, address_or_domain, partner_id, actor=actor,
                    note=f"taught from the inbox on item {item.id}")
        email_id = item.id
    return replay_item(engine, email_id, actor=actor,
                       reason=f"sender {address_or_domain.strip().lower()} bound to {partner_id}")
