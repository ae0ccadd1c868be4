"""What a person can do to an inbox item: correct and resubmit, replay, reject, resolve, assign.

Every action is one audit entry (who, when, what, why). Deliveries stay exactly-once whatever is
replayed or resubmitted: documents go to the ERP under their idempotency key, and a key already
delivered is never sent again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from dbos import DBOS, SetWorkflowID
from pydantic import ValidationError
from sqlmodel import Session, select

from gateway.intake import Received
from gateway.intake import replay as replay_item
from gateway.processing import idempotency_key
from gateway.service import Gateway
from gateway.store import repo
from gateway.store.db import session_scope
from gateway.store.models import DocumentRecord, ExceptionRecord, ItemState, ReceivedItem, utcnow
from mappings.canonical import Document
from mappings.x12.guide import load_guide
from mappings.x12.outbound import KIND_TO_SET, builder_for
from mappings.x12.validate import validate_set
from parsers.issues import Issue, error
from parsers.x12.reader import SetRead, read_x12
from parsers.x12.segments import Delimiters
from parsers.x12.writer import Element, GroupData, build_isa, write_interchange


class ActionRefused(Exception):
    """The action cannot be done as asked; `issues` (or the message) says why and what to change."""

    def __init__(self, message: str, issues: list[Issue] | None = None) -> None:
        super().__init__(message)
        self.issues = issues or []


@dataclass(frozen=True)
class ActionResult:
    message: str
    item_id: str | None = None
    document_id: str | None = None


def check_document(doc: Document, partner_overlays: Any = ()) -> list[Issue]:
    """Check a corrected canonical document the way its X12 would be checked: build the set, run the guide.

    A person's correction is held to the same rules as the partner's original, so nothing reaches the
    ERP that the gateway would have refused had it arrived that way.
    """
    if doc.source.format != "x12":
        return []
    set_id = doc.source.set or KIND_TO_SET.get(doc.kind, "")
    builder = builder_for(set_id)
    version = doc.source.version or "004010"
    guide, _ = load_guide(set_id, version)
    if builder is None or guide is None:
        return []
    for overlay in partner_overlays:
        if overlay.applies(set_id, guide.version):
            guide = guide.with_overlay(overlay.spec)
    try:
        body = builder(doc, version)
    except ValueError as exc:
        problems = getattr(exc, "problems", None)
        if problems:
            return [error("CORRECTION_INVALID", f"{p.field}: {p.message}", p.field) for p in problems]
        return [error("CORRECTION_INVALID", str(exc))]
    delimiters = Delimiters("*", ">", "~", "^" if version >= "00402" else None)
    try:
        isa = build_isa(sender=("ZZ", "CHECK"), receiver=("ZZ", "CHECK"), control_number=1, now=utcnow(),
                        delimiters=delimiters, version=version[:5] if version[:5].isdigit() else "00401")
        segments: list[list[Element]] = [["ST", set_id, "0001"]]
        segments += [list[Element](seg) for seg in body]
        gs: list[Element] = ["GS", "PO", "CHECK", "CHECK", "20000101", "0000", "1", "X", version]
        data = write_interchange(isa, [GroupData(gs, [segments])], delimiters)
    except ValueError as exc:
        return [error("CORRECTION_INVALID", f"the corrected document cannot be written as X12: {exc}")]
    issues: list[Issue] = []
    for event in read_x12(data):
        if isinstance(event, SetRead):
            issues.extend(i for i in validate_set(event.transaction_set, guide) if i.is_error)
    return issues


def resubmit(gw: Gateway, document_id: str, corrected: dict[str, Any], *, actor: str, reason: str) -> ActionResult:
    """Replace a held document by a person's correction, check it again, and deliver it.

    The original stays: the raw input is untouched and the document as first understood is kept in
    the audit entry. Delivery runs as its own durable workflow keyed by the document and the revision.
    """
    try:
        doc = Document.model_validate(corrected)
    except ValidationError as exc:
        issues = [error("CORRECTION_INVALID", f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}",
                        ".".join(str(p) for p in e["loc"])) for e in exc.errors()]
        raise ActionRefused("the correction is not a valid canonical document", issues) from exc
    with session_scope(gw.engine) as session:
        record = _document(session, document_id)
        if record.state not in (ItemState.EXCEPTION, ItemState.ON_HOLD, ItemState.VALIDATED):
            raise ActionRefused(f"document {document_id} is {record.state}; only held documents can be resubmitted")
        partner = gw.config.partner(record.partner_id)
        original = json.loads(record.content)
        doc.source = Document.model_validate(original).source  # where it came from does not change
        issues = check_document(doc, partner.guide_overlays() if partner else ())
        if issues:
            raise ActionRefused("the corrected document still breaks the partner's guide", issues)
        record.content = doc.to_json()
        record.number, record.po_number, record.doc_date = doc.number, doc.po_number, doc.date
        record.idempotency_key = idempotency_key(record.partner_id, doc)
        repo.audit(session, "resubmit", item_id=record.item_id, document_id=record.id, actor=actor,
                   detail=json.dumps({"reason": reason, "original": original}))
        repo.set_document_state(session, record, ItemState.VALIDATED, f"corrected by {actor}: {reason}", actor=actor)
        _resolve_document_exceptions(session, record, actor, f"corrected and resubmitted: {reason}")
        if partner is not None and partner.match_invoices and record.kind == "invoice":
            from gateway.matching import holds

            session.flush()
            if not holds.apply(session, gw.config, partner, record, actor=actor):
                return ActionResult(f"invoice {doc.number} corrected; it is on hold again: see the match result",
                                    record.item_id, document_id)
        revision = len(session.exec(select(ExceptionRecord.id).where(ExceptionRecord.document_id == record.id))
                       .all())
        item_id = record.item_id
    from gateway.pipeline import deliver_documents

    with SetWorkflowID(f"{document_id}:resubmit:{revision}:{utcnow():%Y%m%d%H%M%S%f}"):
        handle = DBOS.start_workflow(deliver_documents, item_id, [document_id])
    handle.get_result(polling_interval_sec=0.05)
    return ActionResult(f"document {doc.number} corrected and delivered", item_id, document_id)


def replay(gw: Gateway, item_id: str, *, actor: str, reason: str) -> ActionResult:
    """Run the raw input again with the current mappings and settings (after a configuration fix)."""
    try:
        received: Received = replay_item(gw.engine, item_id, actor=actor, reason=reason)
    except LookupError as exc:
        raise ActionRefused(str(exc)) from exc
    gw.pipeline.submit(received.item_id)
    return ActionResult(f"item {item_id} replayed as {received.item_id}", received.item_id)


def bulk_replay(gw: Gateway, item_ids: list[str], *, actor: str, reason: str) -> list[ActionResult]:
    return [replay(gw, item_id, actor=actor, reason=reason) for item_id in item_ids]


def reject(gw: Gateway, document_id: str, *, actor: str, reason: str) -> ActionResult:
    """Refuse a document; a customer's order gets an 855 rejection on its own channel."""
    with session_scope(gw.engine) as session:
        record = _document(session, document_id)
        if record.state in (ItemState.DELIVERED, ItemState.ACKNOWLEDGED):
            raise ActionRefused(f"document {document_id} was already delivered to the ERP; it cannot be rejected")
        repo.set_document_state(session, record, ItemState.REJECTED, f"rejected by {actor}: {reason}", actor=actor)
        _resolve_document_exceptions(session, record, actor, f"rejected: {reason}")
        repo.audit(session, "reject", item_id=record.item_id, document_id=record.id, actor=actor, detail=reason)
        doc = Document.model_validate(json.loads(record.content))
        item = session.get(ReceivedItem, record.item_id)
        inbound_order = doc.kind == "order" and item is not None and item.direction == "in"
        partner_id = record.partner_id
    message = f"{doc.kind} {doc.number} rejected"
    if inbound_order and partner_id and gw.config.partner(partner_id) is not None:
        from mappings.x12.build_855 import order_response_from_order

        response = order_response_from_order(doc, outcome="rejected")
        # Rejected without line detail (BAK02 RJ): the lines may be what was wrong with the order.
        response.lines = []
        response.totals = type(response.totals)()
        response.sender, response.receiver = None, None
        response.source.format, response.source.control_numbers = "canonical", {}
        sent = gw.submit(response.to_json().encode(), partner_id=partner_id, channel="inbox",
                         source_name=f"855 rejecting {doc.number}")
        message += f"; 855 rejection queued as item {sent.item_id}"
    return ActionResult(message, None, document_id)


def resolve(gw: Gateway, exception_id: str, *, actor: str, reason: str) -> ActionResult:
    if not reason.strip():
        raise ActionRefused("say why the exception is resolved")
    with session_scope(gw.engine) as session:
        exc = session.get(ExceptionRecord, exception_id)
        if exc is None:
            raise ActionRefused(f"no exception {exception_id}")
        if exc.status != "open":
            raise ActionRefused(f"exception {exception_id} is already {exc.status}")
        exc.status, exc.resolved_at, exc.resolution = "resolved", utcnow(), reason
        session.add(exc)
        repo.audit(session, "resolved", item_id=exc.item_id, document_id=exc.document_id, actor=actor,
                   detail=f"{exc.code}: {reason}")
    return ActionResult(f"exception {exception_id} resolved", exc.item_id, exc.document_id)


def assign(gw: Gateway, exception_id: str, assignee: str | None, *, actor: str) -> ActionResult:
    with session_scope(gw.engine) as session:
        exc = session.get(ExceptionRecord, exception_id)
        if exc is None:
            raise ActionRefused(f"no exception {exception_id}")
        before = exc.assignee
        exc.assignee = assignee or None
        session.add(exc)
        repo.audit(session, "assign", item_id=exc.item_id, document_id=exc.document_id, actor=actor,
                   detail=f"{before or 'nobody'} -> {assignee or 'nobody'}")
    return ActionResult(f"exception {exception_id} assigned to {assignee or 'nobody'}", exc.item_id)


def _document(session: Session, document_id: str) -> DocumentRecord:
    record = session.get(DocumentRecord, document_id)
    if record is None:
        raise ActionRefused(f"no document {document_id}")
    return record


def _resolve_document_exceptions(session: Session, record: DocumentRecord, actor: str, resolution: str) -> None:
    for exc in session.exec(select(ExceptionRecord).where(ExceptionRecord.document_id == record.id,
                                                          ExceptionRecord.status == "open")).all():
        exc.status, exc.resolved_at, exc.resolution = "resolved", utcnow(), resolution
        session.add(exc)
        repo.audit(session, "resolved", item_id=record.item_id, document_id=record.id, actor=actor,
                   detail=f"{exc.code}: {resolution}")


def release(gw: Gateway, document_id: str, *, actor: str, reason: str) -> ActionResult:
    """Let a held invoice go to the ERP although its match is not clean (a person's decision, with a reason)."""
    if not reason.strip():
        raise ActionRefused("say why the hold is released")
    with session_scope(gw.engine) as session:
        record = _document(session, document_id)
        if record.state != ItemState.ON_HOLD:
            raise ActionRefused(f"document {document_id} is {record.state}, not on hold")
        repo.audit(session, "release", item_id=record.item_id, document_id=record.id, actor=actor, detail=reason)
        repo.set_document_state(session, record, ItemState.VALIDATED, f"hold released by {actor}: {reason}",
                                actor=actor)
        _resolve_document_exceptions(session, record, actor, f"released: {reason}")
        item_id, number = record.item_id, record.number
    deliver_now(gw, item_id, [document_id], "release")
    return ActionResult(f"invoice {number} released and delivered", item_id, document_id)


def deliver_now(gw: Gateway, item_id: str, document_ids: list[str], why: str) -> None:
    """Deliver documents that became ready outside their item's workflow, in a durable workflow of their own."""
    from gateway.pipeline import deliver_documents

    with SetWorkflowID(f"{document_ids[0]}:{why}:{utcnow():%Y%m%d%H%M%S%f}"):
        handle = DBOS.start_workflow(deliver_documents, item_id, document_ids)
    handle.get_result(polling_interval_sec=0.05)


def record_receipt(gw: Gateway, partner_id: str, receipt: dict[str, Any], *, actor: str) -> list[str]:
    """Store the ERP's goods receipt and release the held invoices it completes; returns their ids."""
    from gateway.matching import holds

    if gw.config.partner(partner_id) is None:
        raise ActionRefused(f"unknown partner {partner_id!r}")
    with session_scope(gw.engine) as session:
        try:
            pos, released = holds.receive(session, gw.config, partner_id, receipt)
        except (ValueError, KeyError, ArithmeticError) as exc:
            raise ActionRefused(f"the receipt cannot be recorded: {exc}") from exc
        repo.audit(session, "receipt", actor=actor, detail=f"{partner_id}: goods received for {', '.join(pos)}")
        by_item = [(session.get(DocumentRecord, d).item_id, d) for d in released]  # type: ignore[union-attr]
    for item_id, document_id in by_item:
        deliver_now(gw, item_id, [document_id], "receipt")
    return released


# --- emailed PDFs: corrections that teach, senders that are remembered ---------------------------------

def correct(gw: Gateway, document_id: str, corrections: dict[str, str], *, actor: str, reason: str = "",
            learn: bool = True, force: bool = False) -> ActionResult:
    """Correct fields of a PDF document, learn the customer's layout from it, and deliver it."""
    from gateway.learning import CorrectionRefused
    from gateway.learning import correct as correct_fields

    try:
        done = correct_fields(gw.engine, gw.config, document_id, corrections, actor=actor, learn=learn,
                              force=force, reason=reason)
    except CorrectionRefused as exc:
        raise ActionRefused(str(exc), exc.issues) from exc
    except (ValueError, LookupError) as exc:
        raise ActionRefused(str(exc).strip("'\"")) from exc
    changed = ", ".join(f"{k} -> {new or '(none)'}" for k, (_old, new) in done.changes.items()) or "no changes"
    learnt = f"; learnt {', '.join(done.learnt)} for next time" if done.learnt else ""
    if done.held:
        return ActionResult(f"document corrected ({changed}){learnt}; the invoice is on hold again: see the "
                            "match result", done.item_id, document_id)
    deliver_now(gw, done.item_id, done.deliver, "correct")
    return ActionResult(f"document corrected ({changed}) and delivered{learnt}", done.item_id, document_id)


def bind_sender(gw: Gateway, exception_or_item_id: str, address: str, partner_id: str, *,
                actor: str) -> ActionResult:
    """Remember that a sender (address or @domain) is a customer's, and replay the email with that knowledge."""
    from gateway.learning import bind_sender_and_replay

    try:
        received = bind_sender_and_replay(gw.engine, gw.config, exception_or_item_id, address, partner_id, actor)
    except (ValueError, LookupError) as exc:
        raise ActionRefused(str(exc).strip("'\"")) from exc
    gw.pipeline.submit(received.item_id)
    return ActionResult(f"{address.strip().lower()} is now {partner_id}'s; the email was replayed as "
                        f"{received.item_id}", received.item_id)


def remove_hint(gw: Gateway, hint_id: str, *, actor: str) -> ActionResult:
    """Forget a learnt layout hint; the customer's next PDF is read without it."""
    from gateway.learning import delete_hint

    try:
        with session_scope(gw.engine) as session:
            hint = delete_hint(session, hint_id, actor)
            text = f"hint for {hint.partner_id} {hint.field} ({hint.label or 'region only'}) removed"
    except LookupError as exc:
        raise ActionRefused(str(exc).strip("'\"")) from exc
    return ActionResult(text)
