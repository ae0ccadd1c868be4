"""PDF and scanned purchase orders (and invoices): from a stored item to a document or a person's task.

Extraction is slow (seconds for a scan) and runs on untrusted bytes, so it happens outside any store
transaction and in an isolated child process: the item is read in one short transaction, extracted,
then the results are written in another, after checking nobody finished the item meanwhile.
What was read (every field with its confidence and page region) is stored with the item, so the
inbox can show where a value came from and ops can correct it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, select

from gateway.config import Config, PartnerConfig
from gateway.emailed import sender_of
from gateway.isolation import IsolationError, Limits, run_isolated
from gateway.store import repo
from gateway.store.db import session_scope
from gateway.store.models import ExtractionHint, ItemState, PdfExtractionRecord, ReceivedItem, utcnow
from mappings.canonical import Document, Identity
from parsers.issues import Issue, error
from parsers.pdf.model import Extraction, Field, Hint, Region

IMAGE_KINDS = frozenset({"png", "jpeg", "tiff"})


@dataclass
class PdfOutcome:
    document: Document | None
    issues: list[Issue]
    extraction: Extraction | None


def load_hints(session: Session, partner_id: str | None) -> list[Hint]:
    if partner_id is None:
        return []
    rows = session.exec(select(ExtractionHint).where(ExtractionHint.partner_id == partner_id)).all()
    return [Hint(field=r.field, label=r.label, region=region_from_json(r.region), id=r.id) for r in rows]


def region_from_json(text: str | None) -> Region | None:
    if not text:
        return None
    page, x0, top, x1, bottom = json.loads(text)
    return Region(int(page), float(x0), float(top), float(x1), float(bottom))


def region_to_list(region: Region | None) -> list[float] | None:
    if region is None:
        return None
    return [region.page, round(region.x0, 2), round(region.top, 2), round(region.x1, 2), round(region.bottom, 2)]


def _field_json(f: Field) -> dict[str, Any]:
    return {"text": f.text, "confidence": round(f.confidence, 3), "region": region_to_list(f.region),
            "label": f.label, "found_by": f.found_by}


def extraction_json(extraction: Extraction) -> dict[str, Any]:
    """What the inbox needs to show and correct a PDF: fields, line cells, regions, page sizes."""
    return {
        "method": extraction.method, "kind": extraction.kind, "page_count": extraction.page_count,
        "page_sizes": [list(s) for s in extraction.page_sizes], "number_format": extraction.number_format,
        "xml_flavor": extraction.xml_flavor,
        "pages": extraction.ocr_pages,
        "fields": {name: _field_json(f) for name, f in extraction.fields.items()},
        "lines": [{"cells": {role: _field_json(c) for role, c in line.cells.items()},
                   "region": region_to_list(line.region)} for line in extraction.lines],
        # every word read, so a correction can find the value and its label on the page
        "words": [[w.text, w.page, round(w.x0, 1), round(w.top, 1), round(w.x1, 1), round(w.bottom, 1),
                   round(w.confidence, 3)] for w in extraction.words],
    }


def extract_and_map(data: bytes, kind: str, hints: list[Hint], partner: PartnerConfig | None,
                    channel: str | None) -> PdfOutcome:
    """Extraction plus mapping: pure, so it can run in the isolated child process."""
    from mappings.pdf.map_pdf import to_document
    from parsers.pdf.extract import extract_image, extract_pdf

    extraction = extract_image(data, hints=hints) if kind in IMAGE_KINDS else extract_pdf(data, hints=hints)
    if not extraction.words and any(i.is_error for i in extraction.issues):
        return PdfOutcome(None, list(extraction.issues), extraction)  # refused or unreadable: nothing to map
    email = partner.email if partner is not None else None
    document, issues = to_document(
        extraction, kind_default=email.document_kind if email else "order",
        confidence_threshold=email.confidence_threshold if email else 0.9,
        known_items=email.known_items or None if email else None, channel=channel)
    return PdfOutcome(document, list(extraction.issues) + [i for i in issues if i not in extraction.issues],
                      extraction)


def analyse_pdf(engine: Engine, config: Config, item_id: str, kind: str,
                limits: Limits | None = None) -> tuple[list[str], list[str]]:
    """Extract, map and store one PDF or image item; returns (documents to deliver, orders to answer)."""
    from gateway.processing import Planned, store_document

    with session_scope(engine) as session:
        item = session.get(ReceivedItem, item_id)
        if item is None:
            raise LookupError(f"item {item_id} is not in the store")
        data, partner_id, channel = item.raw, item.partner_id, item.channel
        hints = load_hints(session, partner_id)
    partner = config.partner(partner_id)
    try:
        outcome: PdfOutcome = run_isolated(extract_and_map, data, kind, hints, partner, channel,
                                           limits=limits or Limits())
    except IsolationError as exc:
        outcome = PdfOutcome(None, [error(exc.code, f"The file could not be read: {exc}. Ask the sender for a "
                                                    "clean copy (a PDF saved from their system), then replay.",
                                          "file")], None)
    with session_scope(engine) as session:
        item = session.get(ReceivedItem, item_id)
        if item is None or item.state != ItemState.RECEIVED:
            return [], []  # someone (a crash's re-run) already stored this item
        item.format = kind
        planned = Planned()
        if outcome.extraction is not None:
            session.add(PdfExtractionRecord(item_id=item.id, method=outcome.extraction.method,
                                            content=json.dumps(extraction_json(outcome.extraction))))
        _count_hint_uses(session, partner_id, outcome)
        doc = outcome.document
        if doc is None:
            for issue in outcome.issues:
                repo.add_issue(session, item.id, "extract", issue)
            errors = [i for i in outcome.issues if i.is_error]
            first = errors[0] if errors else error("PDF_NOTHING_FOUND", "No purchase order or invoice was found "
                                                   "in the file.", "file")
            more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
            repo.open_exception(session, item_id=item.id, stage="extract", code=first.code,
                                message=f"{first.message}{more}", partner_id=item.partner_id)
            repo.set_item_state(session, item, ItemState.EXCEPTION, f"{first.code}: {first.message}"[:500])
            return [], []
        mail = sender_of(session, item)
        if mail is not None and mail.from_address:
            doc.sender = Identity(qualifier="email", id=mail.from_address)
        doc.source.control_numbers = {"sha256": item.sha256[:16]}
        repo.set_item_state(session, item, ItemState.PARSED,
                            f"{doc.kind} {doc.number or '(no number)'}: {len(doc.lines)} line(s) read "
                            f"({outcome.extraction.method if outcome.extraction else 'pdf'})")
        _, failed = store_document(session, config, item, partner, doc, outcome.issues, 0, planned,
                                        stage="extract", origin=f"{kind} {item.source_name}".strip())
        item.summary = (f"{doc.kind} {doc.number or '(no number)'} with {len(doc.lines)} line(s)"
                        + (", needs review" if failed else ""))
        repo.set_item_state(session, item, ItemState.EXCEPTION if failed else ItemState.VALIDATED, item.summary)
        return planned.deliver, planned.respond


def _count_hint_uses(session: Session, partner_id: str | None, outcome: PdfOutcome) -> None:
    if partner_id is None or outcome.extraction is None:
        return
    used = {f.name for f in outcome.extraction.fields.values() if f.found_by == "hint"}
    if not used:
        return
    for hint in session.exec(select(ExtractionHint).where(ExtractionHint.partner_id == partner_id)).all():
        if hint.field in used:
            hint.uses += 1
            hint.last_used_at = utcnow()
            session.add(hint)
