"""Documents we send: the ERP submits canonical documents, the gateway writes the partner's X12.

A submission is stored raw first like anything received (direction "out"), then one workflow builds
the interchange by the partner's outbound profile, checks it against the guide (invalid outbound
data is an exception, not a transmission), sends it, and waits for the partner's 997/999/TA1:
`reconcile` matches those to what was sent, and `check_overdue` raises an exception for any
interchange whose acknowledgement is late.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from gateway.config import Config, PartnerConfig
from gateway.store import repo
from gateway.store.db import session_scope
from gateway.store.models import (
    DocumentRecord,
    IssueRecord,
    ItemState,
    OutboundMessage,
    OutboundSet,
    ReceivedItem,
    new_id,
    utcnow,
)
from mappings.canonical import Document
from mappings.x12.ack import AckedGroup, ParsedAck
from mappings.x12.outbound import OutboundInvalid, OutboundNumbers, OutboundProfile, build_outbound


def profile_for(config: Config, partner: PartnerConfig) -> OutboundProfile:
    out = partner.outbound
    receiver = out.receiver or (partner.identities[0] if partner.identities else None)
    if receiver is None:
        raise ValueError(f"partner {partner.id} has no identity to address an interchange to")
    us = config.gateway.identities[0]
    return OutboundProfile(sender=(us.qualifier or "ZZ", us.id), receiver=(receiver.qualifier or "ZZ", receiver.id),
                           version=out.version, element=out.element, component=out.component,
                           terminator=out.terminator, repetition=out.repetition, line_ending=out.line_ending,
                           charset=out.charset, usage=out.usage, ack_requested=out.ack_requested,
                           overlays=tuple(partner.guide_overlays()))


def parse_submission(raw: bytes) -> tuple[list[Document], list[str]]:
    """Canonical JSON (one document or a list) into documents; problems as plain sentences."""
    try:
        data: Any = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return [], [f"The submission is not JSON: {exc}. Send one canonical document or a list of them."]
    items = data if isinstance(data, list) else [data]
    documents: list[Document] = []
    problems: list[str] = []
    for n, entry in enumerate(items, 1):
        try:
            documents.append(Document.model_validate(entry))
        except ValidationError as exc:
            for e in exc.errors():
                where = ".".join(str(p) for p in e["loc"])
                problems.append(f"document {n}, field {where or '(document)'}: {e['msg']}")
    if not items:
        problems.append("The submission is an empty list; nothing to send.")
    return documents, problems


def analyse_outbound(session: Session, config: Config, item: ReceivedItem) -> tuple[list[str], list[str]]:
    """Build and store the interchange for a submission; returns (message ids to send, invoices released)."""
    partner = config.partner(item.partner_id)
    if partner is None:
        _fail(session, item, "UNKNOWN_PARTNER", f"Submission for partner {item.partner_id!r}, which is not "
              "configured. Add the partner or submit for a configured one.")
        return [], []
    documents, problems = parse_submission(item.raw)
    if problems:
        _fail(session, item, "CANONICAL_INVALID", "The submitted document is not a valid canonical document: "
              + "; ".join(problems[:5]) + (f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""))
        return [], []
    repo.set_item_state(session, item, ItemState.PARSED, f"{len(documents)} document(s) submitted for {partner.id}")
    records: list[DocumentRecord] = []
    for position, doc in enumerate(documents, 1):
        doc.source.channel = item.channel
        record = DocumentRecord(id=new_id("doc"), item_id=item.id, position=position, kind=doc.kind,
                                number=doc.number, po_number=doc.po_number, doc_date=doc.date,
                                partner_id=partner.id, content=doc.to_json(), state=ItemState.VALIDATED,
                                test=partner.outbound.usage != "P")
        session.add(record)
        records.append(record)
    session.flush()
    numbers = OutboundNumbers(interchange=repo.next_control_number(session, partner.id, "isa13"),
                              group=repo.next_control_number(session, partner.id, "gs06"))
    try:
        result = build_outbound(documents, profile_for(config, partner), numbers, dt.datetime.now(dt.UTC))
    except (OutboundInvalid, ValueError) as exc:
        issues = exc.issues if isinstance(exc, OutboundInvalid) else []
        for issue in issues:
            session.add(IssueRecord(item_id=item.id, stage="build", severity=issue.severity, code=issue.code,
                                    message=issue.message, location=issue.location))
        for record in records:
            repo.set_document_state(session, record, ItemState.EXCEPTION, "not sent: the X12 would be invalid")
        _fail(session, item, "OUTBOUND_INVALID", str(exc))
        return [], []
    # Further groups in the interchange used further group numbers: keep the counter ahead of them.
    for _ in range(numbers.group + 1, result.next_numbers.group):
        repo.next_control_number(session, partner.id, "gs06")
    now = utcnow()
    message = OutboundMessage(id=new_id("out"), item_id=item.id, partner_id=partner.id, isa13=result.isa13,
                              content=result.data,
                              ack_due_at=now + dt.timedelta(minutes=partner.outbound.ack_overdue_minutes))
    session.add(message)
    session.flush()
    for sent in result.sets:
        record = records[sent.document_index]
        session.add(OutboundSet(message_id=message.id, partner_id=partner.id, document_id=record.id,
                                set_id=sent.set_id, functional_id=sent.functional_id, gs06=sent.gs06,
                                st02=sent.st02))
        content = json.loads(record.content)
        content["source"] = {"format": "x12", "version": partner.outbound.version, "set": sent.set_id,
                             "control_numbers": sent.control_numbers, "channel": item.channel}
        record.content = json.dumps(content)
        session.add(record)
    for issue in result.warnings:
        session.add(IssueRecord(item_id=item.id, stage="build", severity=issue.severity, code=issue.code,
                                message=issue.message, location=issue.location))
    repo.audit(session, "outbound_built", item_id=item.id,
               detail=f"interchange {result.isa13} for {partner.id}: {len(result.sets)} set(s)")
    repo.set_item_state(session, item, ItemState.VALIDATED, f"interchange {result.isa13} built, to send")
    released: list[str] = []
    if partner.match_invoices and any(d.kind == "order" for d in documents):
        from gateway.matching import holds

        session.flush()  # an order change may settle invoices held against the order
        pos = [p for d in documents if d.kind == "order" for p in holds.po_numbers_of(d)]
        released = holds.reevaluate(session, config, partner.id, pos)
    return [message.id], released


def _fail(session: Session, item: ReceivedItem, code: str, message: str) -> None:
    session.add(IssueRecord(item_id=item.id, stage="build", severity="error", code=code, message=message))
    repo.open_exception(session, item_id=item.id, stage="build", code=code, message=message,
                        partner_id=item.partner_id)
    item.summary = message
    repo.set_item_state(session, item, ItemState.EXCEPTION, f"{code}: {message}")


def mark_sent(session: Session, message: OutboundMessage, where: str) -> None:
    message.sent_at = utcnow()
    message.sent_to = where
    message.state = "sent"
    session.add(message)
    repo.audit(session, "outbound_sent", item_id=message.item_id, detail=f"{message.isa13} -> {where}")
    sets = session.exec(select(OutboundSet).where(OutboundSet.message_id == message.id)).all()
    for s in sets:
        record = session.get(DocumentRecord, s.document_id)
        if record is not None and record.state == ItemState.VALIDATED:
            record.delivered_at = message.sent_at
            record.delivery_ref = where
            repo.set_document_state(session, record, ItemState.DELIVERED, f"sent to {message.partner_id}")


_SET_STATUS = {"A": "accepted", "E": "accepted_with_errors", "R": "rejected", "M": "rejected", "W": "rejected",
               "X": "rejected"}


def reconcile(session: Session, partner_id: str, ack_item_id: str, acks: list[ParsedAck]) -> list[str]:
    """Match a partner's TA1/997/999 to what we sent; returns plain-English findings (matched or not)."""
    findings: list[str] = []
    for parsed in acks:
        for ta1 in parsed.ta1:
            message = session.exec(select(OutboundMessage).where(OutboundMessage.partner_id == partner_id,
                                                                 OutboundMessage.isa13 == ta1.control_number)).first()
            if message is None:
                findings.append(f"TA1 for interchange {ta1.control_number}, which we never sent to {partner_id}")
                continue
            _record_ack(session, message, ack_item_id, f"TA1 {ta1.code} note {ta1.note}")
            if ta1.code == "R":
                _reject(session, message, None, f"The partner rejected interchange {message.isa13} (TA1 note "
                        f"{ta1.note}). Fix the envelope and resend.")
        for group in parsed.groups:
            for acked in group.sets:
                stmt = select(OutboundSet).where(OutboundSet.partner_id == partner_id,
                                                 OutboundSet.gs06 == group.group_control_number,
                                                 OutboundSet.st02 == acked.control_number)
                sent = session.exec(stmt).first()
                if sent is None:
                    findings.append(f"{group.kind} for group {group.group_control_number} set "
                                    f"{acked.control_number}, which we never sent to {partner_id}")
                    continue
                code = acked.code or group.code
                sent.status = _SET_STATUS.get(code, "rejected")
                sent.ack_codes = ",".join([code, *acked.error_codes])[:250]
                session.add(sent)
                message_row = session.get(OutboundMessage, sent.message_id)
                assert message_row is not None
                _record_ack(session, message_row, ack_item_id, f"{group.kind} AK5 {code} for set {sent.st02}")
                record = session.get(DocumentRecord, sent.document_id)
                if record is None:
                    continue
                if sent.status == "rejected":
                    detail = "; ".join(f"{s.segment_id} at {s.position}: code {s.code}" for s in acked.segments)
                    _reject(session, message_row, record,
                            f"The partner rejected {record.kind} {record.number} ({group.kind} AK5 {code}"
                            f"{', ' + detail if detail else ''}). Correct the document and resubmit.")
                else:
                    repo.set_document_state(session, record, ItemState.ACKNOWLEDGED,
                                            f"{group.kind} {code} from {partner_id}")
                findings.append(f"{record.kind} {record.number}: {sent.status}")
            findings += _settle_unlisted(session, partner_id, ack_item_id, group)
    return findings


def _settle_unlisted(session: Session, partner_id: str, ack_item_id: str, group: AckedGroup) -> list[str]:
    """Sets of the group the 997 has no AK2 for (partners that list only rejected sets): AK9 decides."""
    listed = {s.control_number for s in group.sets}
    pending = session.exec(select(OutboundSet).where(OutboundSet.partner_id == partner_id,
                                                     OutboundSet.gs06 == group.group_control_number,
                                                     OutboundSet.functional_id == group.functional_id,
                                                     OutboundSet.status == "pending")).all()
    findings: list[str] = []
    for sent in pending:
        if sent.st02 in listed:
            continue
        sent.status = "rejected" if group.code == "R" else "accepted"
        sent.ack_codes = f"AK9 {group.code}"
        session.add(sent)
        message = session.get(OutboundMessage, sent.message_id)
        record = session.get(DocumentRecord, sent.document_id)
        if message is None or record is None:
            continue
        _record_ack(session, message, ack_item_id, f"{group.kind} AK9 {group.code} for group {sent.gs06}")
        if sent.status == "rejected":
            _reject(session, message, record, f"The partner rejected the group holding {record.kind} "
                    f"{record.number} ({group.kind} AK9 R). Correct it and resubmit.")
        else:
            repo.set_document_state(session, record, ItemState.ACKNOWLEDGED, f"{group.kind} AK9 {group.code}")
        findings.append(f"{record.kind} {record.number}: {sent.status}")
    return findings


def _record_ack(session: Session, message: OutboundMessage, ack_item_id: str, detail: str) -> None:
    message.acked_at = utcnow()
    message.ack_item_id = ack_item_id
    message.ack_detail = (message.ack_detail + "; " if message.ack_detail else "") + detail
    if message.state in ("sent", "overdue", "built"):
        message.state = "accepted"
    session.add(message)
    repo.audit(session, "ack_matched", item_id=message.item_id, detail=f"{detail} (in item {ack_item_id})")


def _reject(session: Session, message: OutboundMessage, record: DocumentRecord | None, text: str) -> None:
    message.state = "rejected"
    session.add(message)
    if record is not None:
        repo.set_document_state(session, record, ItemState.REJECTED, text)
    repo.open_exception(session, item_id=message.item_id, document_id=record.id if record else None,
                        stage="acknowledge", code="OUTBOUND_REJECTED", message=text,
                        partner_id=message.partner_id)


def check_overdue(engine: Engine, now: dt.datetime | None = None) -> list[str]:
    """Sent interchanges past their acknowledgement deadline become exceptions (once each)."""
    now = now or utcnow()
    overdue: list[str] = []
    with session_scope(engine) as session:
        late = session.exec(select(OutboundMessage).where(OutboundMessage.state == "sent",
                                                          col(OutboundMessage.ack_due_at) < now)).all()
        for message in late:
            message.state = "overdue"
            session.add(message)
            sent_at = f"{message.sent_at:%Y-%m-%d %H:%M} UTC" if message.sent_at else "earlier"
            repo.open_exception(session, item_id=message.item_id, stage="acknowledge", code="ACK_OVERDUE",
                                message=f"No acknowledgement from {message.partner_id} for interchange "
                                        f"{message.isa13}, sent {sent_at}. Check with the partner or resend.",
                                partner_id=message.partner_id)
            overdue.append(message.id)
    return overdue
