"""Emailed documents in the inbox: the PDF page with boxes where each value was read, the correction
form that teaches the gateway, learnt hints per customer, the email itself and the replies sent.

A person checks a PDF order against the page, not against a guess: every extracted field is drawn where
it was found, coloured by how sure the reader was, and the fields an issue names are marked. The view
models here are plain data; the templates escape every value.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import Engine
from sqlmodel import col, select
from starlette.concurrency import run_in_threadpool

from gateway import actions
from gateway.config import Config
from gateway.isolation import IsolationError
from gateway.learning import HEADER_FIELDS, list_hints, printed_amounts
from gateway.pdf_documents import IMAGE_KINDS
from gateway.replies import replies_for
from gateway.service import Gateway
from gateway.store.db import session_scope
from gateway.store.models import (
    ExceptionRecord,
    ExtractionHint,
    IssueRecord,
    MailReply,
    PdfExtractionRecord,
    ReceivedItem,
)
from gateway.web.auth import Principal, principal, templates
from mappings.canonical import Document
from parsers.mime import Mail, unpack

PDF_KINDS = frozenset({"pdf", *IMAGE_KINDS})
HEADER_LABELS = {"number": "Number", "po_number": "PO number", "date": "Date", "currency": "Currency",
                 "subtotal": "Subtotal", "tax": "Tax", "freight": "Freight", "total": "Total",
                 "buyer": "Buyer", "ship_to": "Ship to", "bill_to": "Bill to"}
CELL_LABELS = {"quantity": "Qty", "uom": "Unit", "unit_price": "Unit price", "amount": "Amount (printed)",
               "description": "Description", "item": "Item", "buyer_part": "Buyer part"}
ALWAYS_SHOWN = ("number", "date", "currency", "total")
_MM = re.compile(r"page (\d+), (\d+) mm from left, (\d+) mm from top")


# ----------------------------------------------------------------------------------------------- view models
@dataclass
class Box:
    key: str  # the correction key: "total", "lines.0.quantity"
    label: str
    text: str
    confidence: float
    x: float
    y: float
    w: float
    h: float
    state: str  # ok | low | issue
    found_by: str = ""


@dataclass
class PageView:
    number: int
    width: float
    height: float
    url: str
    boxes: list[Box] = field(default_factory=list)


@dataclass
class FieldRow:
    key: str
    label: str
    value: str  # the document's current value, as the form shows it
    printed: str | None  # what extraction read off the page
    confidence: float | None
    low: bool
    flagged: bool
    has_box: bool


@dataclass
class PdfView:
    method: str
    threshold: float
    pages: list[PageView]
    header: list[FieldRow]
    lines: list[list[FieldRow]]
    hints: int
    partner_id: str | None

    @property
    def cells(self) -> list[str]:
        return [r.label for r in self.lines[0]] if self.lines else []


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def current_values(doc: Document, amounts: dict[int, Decimal | None]) -> dict[str, str]:
    """Every correctable value of the document as the form shows it (and compares it, to send changes only)."""
    extra = doc.totals.model_extra or {}
    values = {"number": _text(doc.number), "po_number": _text(doc.po_number), "date": _text(doc.date),
              "currency": _text(doc.currency), "subtotal": _text(extra.get("subtotal")),
              "tax": _text(doc.totals.tax), "freight": _text(doc.totals.freight), "total": _text(doc.totals.amount)}
    for role in ("buyer", "ship_to", "bill_to"):
        party = doc.party(role)
        values[role] = _text(party.name if party else None)
    for i, line in enumerate(doc.lines):
        for cell, value in (("quantity", line.quantity), ("uom", line.uom), ("unit_price", line.unit_price),
                            ("amount", amounts.get(i)), ("description", line.description),
                            ("item", line.item_ids.get("vendor_part")),
                            ("buyer_part", line.item_ids.get("buyer_part"))):
            values[f"lines.{i}.{cell}"] = _text(value)
    return values


def changed_fields(doc: Document, extraction: dict[str, Any] | None, form: dict[str, str]) -> dict[str, str]:
    """The form's values that differ from the document's: only what the person changed is a correction."""
    amounts = printed_amounts(extraction, (extraction or {}).get("number_format"))
    now = current_values(doc, amounts)
    out = {}
    for key, value in form.items():
        if key.startswith("c:"):
            name = key[2:]
            if name in now and value.strip() != now[name].strip():
                out[name] = value
    return out


def _extraction_fields(extraction: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    """Extraction fields by correction key (an order's number is its PO number field)."""
    fields: dict[str, dict[str, Any]] = dict(extraction.get("fields") or {})
    out: dict[str, dict[str, Any]] = {}
    for key in HEADER_FIELDS:
        names = [key] + (["invoice_number" if kind == "invoice" else "po_number"] if key == "number" else [])
        f = next((fields[n] for n in names if n in fields), None)
        if f is not None:
            out[key] = f
    for i, line in enumerate(extraction.get("lines") or []):
        for cell, f in (line.get("cells") or {}).items():
            out[f"lines.{i}.{cell}"] = f
    return out


def flagged_keys(extraction: dict[str, Any], kind: str, issues: list[IssueRecord]) -> set[str]:
    """The fields the document's error issues point at.

    An issue stores its place as text ("page 1, 159 mm from left, 39 mm from top", from the region the
    value came from), so the field or line whose region starts there is the one it names.
    """
    fields = _extraction_fields(extraction, kind)
    flagged: set[str] = set()
    for issue in issues:
        if issue.severity != "error":
            continue
        m = _MM.search(issue.location or "")
        if issue.code == "MISSING_FIELD" and re.search(r"\b(PO|invoice) number\b", issue.message):
            flagged.add("number")
        if m is None:
            continue
        place = (int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if place[1:] == (0, 0):
            continue  # the whole page: nothing in particular
        for key, f in fields.items():
            if _at(f.get("region"), place):
                flagged.add(key)
        for i, line in enumerate(extraction.get("lines") or []):
            if _at(line.get("region"), place):
                flagged.update(f"lines.{i}.{c}" for c in ("quantity", "unit_price", "amount"))
    return flagged


def _at(region: list[float] | None, place: tuple[int, int, int]) -> bool:
    """Whether a region starts where an issue's text location says (page, mm from left, mm from top)."""
    if not region:
        return False
    return (int(region[0]), int(f"{region[1] * 25.4 / 72:.0f}"), int(f"{region[2] * 25.4 / 72:.0f}")) == place


def pdf_view(engine: Engine, config: Config, item: ReceivedItem, doc: Document | None, document_id: str | None,
             held: bool) -> PdfView | None:
    """The page images with their boxes and the correction rows, for a PDF or scan item."""
    if item.format not in PDF_KINDS:
        return None
    with session_scope(engine) as s:
        row = s.get(PdfExtractionRecord, item.id)
        if row is None:
            return None
        extraction: dict[str, Any] = json.loads(row.content)
        issues = list(s.exec(select(IssueRecord).where(IssueRecord.item_id == item.id)
                             .order_by(col(IssueRecord.id))).all())
        hints = len(list_hints(s, item.partner_id)) if item.partner_id else 0
    partner = config.partner(item.partner_id)
    threshold = partner.email.confidence_threshold if partner and partner.email else 0.9
    kind = doc.kind if doc is not None else (extraction.get("kind") or "order")
    fields = _extraction_fields(extraction, kind)
    mine = [i for i in issues if i.document_id in (None, document_id)]
    flagged = flagged_keys(extraction, kind, mine) if held else set()

    sizes = extraction.get("page_sizes") or []
    pages = [PageView(n, float(w), float(h), f"/items/{item.id}/pages/{n}.png")
             for n, (w, h) in enumerate(sizes, 1)]
    for key, f in fields.items():
        region = f.get("region")
        if not region or not 1 <= int(region[0]) <= len(pages):
            continue
        page, x0, top, x1, bottom = region
        conf = float(f.get("confidence") or 0)
        state = "issue" if key in flagged else ("low" if conf < threshold else "ok")
        pages[int(page) - 1].boxes.append(Box(key, _label(key), str(f.get("text") or ""), conf, x0, top,
                                              max(x1 - x0, 1.0), max(bottom - top, 1.0), state,
                                              str(f.get("found_by") or "")))
    for p in pages:
        p.boxes.sort(key=lambda b: (b.state == "issue", b.state == "low"))  # marked boxes drawn on top

    header: list[FieldRow] = []
    lines: list[list[FieldRow]] = []
    if doc is not None:
        amounts = printed_amounts(extraction, extraction.get("number_format"))
        values = current_values(doc, amounts)
        shown = [k for k in HEADER_FIELDS if k in ALWAYS_SHOWN or values.get(k) or k in fields]
        if doc.kind == "order":
            shown = [k for k in shown if k != "po_number"]  # an order's number is its PO number
        header = [_row(k, values, fields, threshold, flagged) for k in shown]
        if doc.kind == "order":
            header[0].label = "PO number"
        for i in range(len(doc.lines)):
            lines.append([_row(f"lines.{i}.{c}", values, fields, threshold, flagged) for c in CELL_LABELS])
    return PdfView(str(extraction.get("method") or row.method), threshold, pages, header, lines, hints,
                   item.partner_id)


def _label(key: str) -> str:
    if key.startswith("lines."):
        _, index, cell = key.split(".", 2)
        return f"Line {int(index) + 1} {CELL_LABELS.get(cell, cell.replace('_', ' ')).lower()}"
    return HEADER_LABELS.get(key, key.replace("_", " ").capitalize())


def _row(key: str, values: dict[str, str], fields: dict[str, dict[str, Any]], threshold: float,
         flagged: set[str]) -> FieldRow:
    f = fields.get(key)
    conf = float(f["confidence"]) if f and f.get("confidence") is not None else None
    label = CELL_LABELS.get(key.rsplit(".", 1)[-1], key) if key.startswith("lines.") else _label(key)
    return FieldRow(key, label, values.get(key, ""), str(f.get("text")) if f else None, conf,
                    conf is not None and conf < threshold, key in flagged, bool(f and f.get("region")))


# ----------------------------------------------------------------------------------------------- email
@dataclass
class EmailView:
    email_id: str
    mail: Mail | None
    error: str | None
    attachments: list[tuple[str, str, int, str | None, str | None]]  # name, kind, size, skipped, child item
    children: list[ReceivedItem]
    replies: list[MailReply]
    is_attachment: bool


def email_view(engine: Engine, item: ReceivedItem) -> EmailView | None:
    """The email an item is (or came in): sender, subject, body, attachments and the replies sent."""
    with session_scope(engine) as s:
        email = item if item.parent_id is None else s.get(ReceivedItem, item.parent_id)
        if email is None or (email.format != "eml" and item.parent_id is None):
            return None
        children = list(s.exec(select(ReceivedItem).where(ReceivedItem.parent_id == email.id)
                               .order_by(col(ReceivedItem.received_at))).all())
        ids = [item.id] if item.parent_id is not None else [email.id, *(c.id for c in children)]
        replies = replies_for(s, ids)
        raw = email.raw
        email_id = email.id
    try:
        mail: Mail | None = unpack(raw)
        error = None
    except Exception as exc:  # a mail we cannot take apart is still shown as far as it goes
        mail, error = None, f"{type(exc).__name__}: {exc}"
    by_sha = {c.sha256: c.id for c in children}
    attachments = []
    if mail is not None:
        import hashlib

        for a in mail.attachments:
            child = by_sha.get(hashlib.sha256(a.data).hexdigest())
            attachments.append((a.filename or a.path, a.sniffed, a.size, a.skipped, child))
    return EmailView(email_id, mail, error, attachments, children, replies, item.parent_id is not None)


@dataclass
class SenderForm:
    exception_id: str
    address: str
    domain: str
    partners: list[tuple[str, str]]


def sender_form(config: Config, exceptions: list[ExceptionRecord], email: EmailView | None) -> SenderForm | None:
    """The "this sender belongs to customer ..." form, on an open UNKNOWN_SENDER exception."""
    exc = next((e for e in exceptions if e.status == "open" and e.code == "UNKNOWN_SENDER"), None)
    if exc is None or email is None or email.mail is None or not email.mail.from_address:
        return None
    address = email.mail.from_address.strip().lower()
    partners = sorted(((p.id, p.name or p.id) for p in config.partners), key=lambda p: (p[1].lower(), p[0]))
    return SenderForm(exc.id, address, "@" + address.rpartition("@")[2], partners)


def detail_context(gateway: Gateway, d: Any) -> dict[str, Any]:
    """What the item detail page adds for PDFs, scans and emails."""
    held = d.document is not None and d.document.state in ("exception", "on_hold", "validated") and \
        any(e.status == "open" for e in d.exceptions if e.document_id == d.document.id)
    pdf = pdf_view(gateway.engine, gateway.config, d.item, d.canonical, d.document.id if d.document else None,
                   held)
    email = email_view(gateway.engine, d.item)
    return {"pdf": pdf, "pdf_correctable": bool(pdf and pdf.header and held), "email": email,
            "sender_form": sender_form(gateway.config, d.exceptions, email)}


# ----------------------------------------------------------------------------------------------- routes
Viewer = Annotated[Principal, Depends(principal("viewer"))]
Operator = Annotated[Principal, Depends(principal("operator"))]


def _page_png(engine: Engine, item_id: str, page: int) -> bytes:
    from gateway.web.page_images import page_png

    with session_scope(engine) as s:
        item = s.get(ReceivedItem, item_id)
        row = s.get(PdfExtractionRecord, item_id)
        if item is None or row is None:
            raise HTTPException(404, f"item {item_id} has no readable pages")
        extraction = json.loads(row.content)
        data = item.raw
    count = len(extraction.get("page_sizes") or [])
    if not 1 <= page <= count:
        raise HTTPException(404, f"item {item_id} has {count} page(s); there is no page {page}")
    ocr_pages = {int(p.get("page", 0)): p for p in extraction.get("pages") or [] if isinstance(p, dict)}
    seen = ocr_pages.get(page, {})
    try:
        return page_png(item_id, data, page, skew=float(seen.get("skew") or 0.0),
                        rotation=int(seen.get("rotation") or 0))
    except IsolationError as exc:
        raise HTTPException(422, f"page {page} could not be drawn: {exc}") from exc


def _hints(engine: Engine, partner_id: str | None) -> list[ExtractionHint]:
    with session_scope(engine) as s:
        return list_hints(s, partner_id)


def pdf_router(gateway: Gateway) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    engine = gateway.engine

    @router.get("/items/{item_id}/pages/{page}.png")
    async def page_image(who: Viewer, item_id: str, page: int) -> Response:
        png = await run_in_threadpool(_page_png, engine, item_id, page)
        return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})

    def hints_page(request: Request, partner_id: str | None, who: Principal) -> Response:
        if partner_id is not None and gateway.config.partner(partner_id) is None:
            raise HTTPException(404, f"no partner {partner_id}")
        from gateway.web.inbox import _page

        names = {p.id: p.name or p.id for p in gateway.config.partners}
        rows = []
        for h in _hints(engine, partner_id):
            region = json.loads(h.region) if h.region else None
            where = (f"page {int(region[0])}, {region[1] * 25.4 / 72:.0f} mm from left, "
                     f"{region[2] * 25.4 / 72:.0f} mm from top") if region else ""
            rows.append({"hint": h, "where": where, "partner": names.get(h.partner_id, h.partner_id)})
        back = f"/partners/{partner_id}/hints" if partner_id else "/hints"
        return _page(request, "hints.html", {"rows": rows, "partner_id": partner_id,
                                             "partner_name": names.get(partner_id or "", partner_id),
                                             "can_act": who.can("operator"), "back": back})

    @router.get("/hints")
    def all_hints(request: Request, who: Viewer) -> Response:
        return hints_page(request, None, who)

    @router.get("/partners/{partner_id}/hints")
    def partner_hints(request: Request, who: Viewer, partner_id: str) -> Response:
        return hints_page(request, partner_id, who)

    @router.post("/hints/{hint_id}/remove")
    async def remove_hint(request: Request, who: Operator, hint_id: str) -> Response:
        from gateway.web.inbox import _done, _refused_text, _safe_back

        form = await request.form()
        back = _safe_back(form.get("back"), "/hints")
        try:
            result = await run_in_threadpool(actions.remove_hint, gateway, hint_id, actor=who.username)
        except actions.ActionRefused as exc:
            return _done(request, back, _refused_text(exc), "error")
        return _done(request, back, result.message + "; the customer's next PDF is read without it.")

    @router.post("/exceptions/{exception_id}/bind-sender")
    async def bind_sender(request: Request, who: Operator, exception_id: str) -> Response:
        from gateway.web.inbox import _done, _refused_text, _safe_back, _text

        form = await request.form()
        back = _safe_back(form.get("back"), f"/exceptions/{exception_id}")
        partner_id = _text(form, "partner")
        address = _text(form, "address")
        if not partner_id or not address:
            return _done(request, back, "Choose the customer and whether to remember the address or the domain.",
                         "error")
        try:
            result = await run_in_threadpool(actions.bind_sender, gateway, exception_id, address, partner_id,
                                             actor=who.username)
        except actions.ActionRefused as exc:
            return _done(request, back, _refused_text(exc), "error")
        return _done(request, f"/items/{result.item_id}" if result.item_id else back, result.message)

    return router


def install_pdf_views(app: FastAPI, gateway: Gateway) -> None:
    """Page images, learnt hints and sender binding (install_auth must have run)."""
    app.include_router(pdf_router(gateway))


__all__ = ["detail_context", "install_pdf_views", "templates"]
