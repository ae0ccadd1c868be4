"""Store operations that keep the rules of the house: every state change comes with its audit entry."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text
from sqlmodel import Session, col, select

from gateway.store.models import (
    AuditEntry,
    DocumentRecord,
    EnvelopeSeen,
    ExceptionRecord,
    IssueRecord,
    ReceivedItem,
    new_id,
    utcnow,
)
from parsers.issues import Issue

MAX_CONTROL = 999_999_999


def audit(session: Session, action: str, *, item_id: str | None = None, document_id: str | None = None,
          from_state: str | None = None, to_state: str | None = None, detail: str = "",
          actor: str = "gateway") -> None:
    session.add(AuditEntry(actor=actor, item_id=item_id, document_id=document_id, action=action,
                           from_state=from_state, to_state=to_state, detail=detail))


def set_item_state(session: Session, item: ReceivedItem, state: str, detail: str = "",
                   actor: str = "gateway") -> None:
    if item.state == state:
        return
    audit(session, "state", item_id=item.id, from_state=item.state, to_state=state, detail=detail, actor=actor)
    item.state = state
    session.add(item)


def set_document_state(session: Session, doc: DocumentRecord, state: str, detail: str = "",
                       actor: str = "gateway") -> None:
    if doc.state == state:
        return
    audit(session, "state", item_id=doc.item_id, document_id=doc.id, from_state=doc.state, to_state=state,
          detail=detail, actor=actor)
    doc.state = state
    session.add(doc)


def open_exception(session: Session, *, item_id: str, stage: str, code: str, message: str,
                   document_id: str | None = None, partner_id: str | None = None) -> ExceptionRecord:
    exc = ExceptionRecord(id=new_id("exc"), item_id=item_id, document_id=document_id, partner_id=partner_id,
                          stage=stage, code=code, message=message)
    session.add(exc)
    audit(session, "exception", item_id=item_id, document_id=document_id, detail=f"{code}: {message}")
    return exc


def resolve_exceptions(session: Session, item_id: str, *, actor: str, resolution: str) -> int:
    """Close an item's open exceptions with a reason (one audit entry each)."""
    open_ = session.exec(select(ExceptionRecord).where(ExceptionRecord.item_id == item_id,
                                                       ExceptionRecord.status == "open")).all()
    for exc in open_:
        exc.status = "resolved"
        exc.resolved_at = utcnow()
        exc.resolution = resolution
        session.add(exc)
        audit(session, "resolved", item_id=item_id, document_id=exc.document_id, actor=actor,
              detail=f"{exc.code}: {resolution}")
    return len(open_)


def next_control_number(session: Session, partner_id: str, kind: str) -> int:
    """Allocate the next control number inside the caller's transaction (one UPSERT, race-free)."""
    value = session.execute(  # type: ignore[call-overload,unused-ignore]
        text(
            "INSERT INTO control_counter (partner_id, kind, value) VALUES (:p, :k, 1) "
            "ON CONFLICT (partner_id, kind) DO UPDATE SET value = "
            f"CASE WHEN control_counter.value >= {MAX_CONTROL} THEN 1 ELSE control_counter.value + 1 END "
            "RETURNING value"
        ),
        {"p": partner_id, "k": kind},
    ).scalar_one()
    return int(value)


def find_identical(session: Session, partner_id: str | None, sha256: str) -> ReceivedItem | None:
    """The first item with the same bytes from the same partner (the original of a duplicate).

    With the partner not known at intake (a shared folder), identical bytes carry the same ISA sender,
    so the same content from any partner is the same partner's.
    """
    stmt = select(ReceivedItem).where(ReceivedItem.sha256 == sha256, ReceivedItem.duplicate_of == None,  # noqa: E711
                                      ReceivedItem.replay_of == None)  # noqa: E711
    if partner_id is not None:
        stmt = stmt.where(ReceivedItem.partner_id == partner_id)
    return session.exec(stmt.order_by(col(ReceivedItem.received_at)).limit(1)).first()


def envelope_seen_before(session: Session, partner_key: str, kind: str, control: str, exclude: set[str],
                         window_days: int) -> str | None:
    """The item that already brought this control number within the window, if any.

    `exclude` holds the item itself and, for a replay, the original and its other replays.
    """
    since = utcnow() - dt.timedelta(days=window_days)
    stmt = (
        select(EnvelopeSeen.item_id)
        .where(EnvelopeSeen.partner_key == partner_key, EnvelopeSeen.kind == kind,
               EnvelopeSeen.control == control, col(EnvelopeSeen.item_id).not_in(exclude),
               col(EnvelopeSeen.seen_at) >= since)
        .limit(1)
    )
    return session.exec(stmt).first()


def replay_family(session: Session, item: ReceivedItem) -> set[str]:
    """The item, the original it replays and every replay of that original."""
    root = item.replay_of or item.id
    others = session.exec(select(ReceivedItem.id).where(ReceivedItem.replay_of == root)).all()
    return {item.id, root, *others}


def remember_envelope(session: Session, partner_key: str, kind: str, control: str, item_id: str) -> None:
    session.add(EnvelopeSeen(partner_key=partner_key, kind=kind, control=control, item_id=item_id))


def smtp_deliveries(session: Session, message_id: str) -> list[ReceivedItem]:
    """Earlier original (not duplicate, not replayed) SMTP items carrying this Message-ID (indexed)."""
    stmt = select(ReceivedItem).where(ReceivedItem.message_id == message_id[:255], ReceivedItem.channel == "smtp",
                                      ReceivedItem.duplicate_of == None,  # noqa: E711
                                      ReceivedItem.replay_of == None)  # noqa: E711
    return list(session.exec(stmt.order_by(col(ReceivedItem.received_at)).limit(20)).all())


def add_issue(session: Session, item_id: str, stage: str, issue: Issue, document_id: str | None = None) -> None:
    """Keep one finding with its item (and document), as the inbox and the API show it."""
    session.add(IssueRecord(item_id=item_id, document_id=document_id, stage=stage, severity=issue.severity,
                            code=issue.code, message=issue.message, location=issue.location))
