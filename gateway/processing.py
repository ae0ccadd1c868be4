"""From a stored item to stored documents, issues, exceptions and acknowledgements, in one transaction.

This is the pipeline's first checkpoint: parse, map and validate are pure computation, so their
results are persisted together, once. Running it again for the same item (after a crash between the
commit and the workflow checkpoint) finds the item already past `received` and returns what is
stored instead of doing the work twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from gateway.config import Config, PartnerConfig
from gateway.emailed import analyse_email
from gateway.matching import holds
from gateway.outbound import analyse_outbound, reconcile
from gateway.pdf_documents import IMAGE_KINDS, analyse_pdf
from gateway.store import repo
from gateway.store.db import session_scope
from gateway.store.models import (
    Acknowledgement,
    DocumentRecord,
    IssueRecord,
    ItemState,
    OutboundMessage,
    ReceivedItem,
    new_id,
)
from mappings.canonical import Document
from mappings.x12.ack import AckNumbers, AckSettings, build_ack, parse_ack
from mappings.x12.process import InterchangeOutcome, SetOutcome, X12Analysis, analyse_x12
from parsers.detect import detect_format
from parsers.issues import Issue, error, warning
from parsers.mime import describe, sniff
from parsers.x12.segments import Segment
from parsers.x12.tokenizer import tokenize

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_READABLE = frozenset({"x12", "eml", "pdf", "png", "jpeg", "tiff"})


@dataclass
class Planned:
    """What the remaining pipeline steps must do for an item."""

    deliver: list[str] = field(default_factory=list)  # document ids
    acks: list[str] = field(default_factory=list)  # acknowledgement ids
    send: list[str] = field(default_factory=list)  # outbound message ids (documents we send a partner)
    respond: list[str] = field(default_factory=list)  # orders to answer with an 855 once delivered
    children: list[str] = field(default_factory=list)  # items unpacked from this one (email attachments)
    reply: bool = False  # answer the sender by email once the documents are on their way


def idempotency_key(partner_id: str | None, doc: Document) -> str:
    """A delivery key stable across replays of the same input: kind, number and envelope identity."""
    cn = doc.source.control_numbers
    basis = "|".join([partner_id or "", doc.sender.id if doc.sender else "", doc.kind, doc.number or "",
                      cn.get("isa13", ""), cn.get("gs06", ""), cn.get("st02", "")])
    digest = hashlib.sha256(basis.encode("utf-8")).hexdigest()[:16]
    number = _SAFE.sub("_", doc.number or "none")[:40]
    return f"{partner_id or 'unknown'}-{doc.kind}-{number}-{digest}"


def plan_for(session: Session, item_id: str) -> Planned:
    """What is still to do for an already analysed item (re-run after a crash)."""
    docs = session.exec(select(DocumentRecord.id).where(DocumentRecord.item_id == item_id,
                                                        DocumentRecord.state == ItemState.VALIDATED,
                                                        DocumentRecord.test == False)  # noqa: E712
                        .order_by(col(DocumentRecord.position))).all()
    acks = session.exec(select(Acknowledgement.id).where(Acknowledgement.item_id == item_id)
                        .order_by(col(Acknowledgement.position))).all()
    send = session.exec(select(OutboundMessage.id).where(OutboundMessage.item_id == item_id)).all()
    item = session.get(ReceivedItem, item_id)
    if item is not None and item.direction == "out":
        return Planned([], [], list(send))
    children = session.exec(select(ReceivedItem.id).where(ReceivedItem.parent_id == item_id,
                                                          ReceivedItem.state == ItemState.RECEIVED)).all()
    reply = item is not None and item.format in ("pdf", "eml", *IMAGE_KINDS)
    return Planned(list(docs), list(acks), list(send), children=list(children), reply=reply)


def analyse_item(engine: Engine, config: Config, item_id: str) -> Planned:
    with session_scope(engine) as session:
        item = session.get(ReceivedItem, item_id)
        if item is None:
            raise LookupError(f"item {item_id} is not in the store")
        if item.state != ItemState.RECEIVED:
            return plan_for(session, item_id)
        if item.direction == "out":
            item.format = "canonical"
            send, released = analyse_outbound(session, config, item)
            return Planned(deliver=released, send=send)
        kind = sniff(item.raw[:8192])
        item.format = kind if kind in _READABLE else detect_format(item.raw[:8192])
        if kind == "eml":
            return Planned(children=analyse_email(session, config, item), reply=True)
        if kind == "x12":
            return _analyse_x12(session, config, item)
        if kind not in ("pdf", *IMAGE_KINDS):
            reason = ("the file is empty" if not item.raw.strip() else
                      f"its content is not a format the gateway reads (it looks like {describe(kind)})")
            _fail_item(session, item, "parse", "UNSUPPORTED_FORMAT",
                       f"The gateway could not read {item.source_name or 'this item'}: {reason}. "
                       "Send an X12 interchange (starting with ISA), a PDF or a scanned image.")
            return Planned()
    # PDFs and scans: extracted outside any transaction (seconds of work on untrusted bytes).
    deliver, respond = analyse_pdf(engine, config, item_id, kind)
    return Planned(deliver=deliver, respond=respond, reply=True)


def _fail_item(session: Session, item: ReceivedItem, stage: str, code: str, message: str) -> None:
    session.add(IssueRecord(item_id=item.id, stage=stage, severity="error", code=code, message=message,
                            location=""))
    repo.open_exception(session, item_id=item.id, stage=stage, code=code, message=message,
                        partner_id=item.partner_id)
    item.summary = message
    repo.set_item_state(session, item, ItemState.EXCEPTION, f"{code}: {message}")


def _resolve_partner(config: Config, item: ReceivedItem, analysis: X12Analysis) -> tuple[PartnerConfig | None,
                                                                                        Issue | None]:
    if not analysis.interchanges:
        return config.partner(item.partner_id), None
    isa = analysis.interchanges[0].interchange
    qualifier, sender = isa.sender
    by_content = config.partner_for(qualifier, sender)
    if item.partner_id is None:
        if by_content is None:
            return None, error("UNKNOWN_PARTNER",
                               f"The interchange sender {qualifier}/{sender} (ISA05/ISA06) is not a configured "
                               "partner. Add it to a partner's identities in the configuration, then replay.",
                               isa.isa.location(6))
        return by_content, None
    partner = config.partner(item.partner_id)
    if partner is None:
        return None, error("UNKNOWN_PARTNER", f"Partner {item.partner_id!r} is not configured.", "")
    if not partner.owns(qualifier, sender):
        return partner, error("PARTNER_MISMATCH",
                              f"The interchange sender {qualifier}/{sender} (ISA05/ISA06) is not one of "
                              f"partner {partner.id}'s identities, yet it arrived on that partner's channel. "
                              "Check the sender ID or add it to the partner's identities.",
                              isa.isa.location(6))
    return partner, None


def sniff_partner(config: Config, partner_id: str | None, raw: bytes) -> PartnerConfig | None:
    """The partner whose guide applies: the channel's, else the first ISA sender's."""
    if partner_id is not None:
        return config.partner(partner_id)
    for token in tokenize(raw[:4096]):
        if isinstance(token, Segment) and token.tag == "ISA":
            return config.partner_for(token.get(5), token.get(6))
        if isinstance(token, Segment):
            break
    return None


def _analyse_x12(session: Session, config: Config, item: ReceivedItem) -> Planned:
    guide_partner = sniff_partner(config, item.partner_id, item.raw)
    analysis = analyse_x12(item.raw, guide_partner.guide_overlays() if guide_partner else ())
    repo.set_item_state(session, item, ItemState.PARSED,
                        f"{len(analysis.interchanges)} interchange(s), {len(analysis.sets)} transaction set(s)")
    partner, partner_problem = _resolve_partner(config, item, analysis)
    if partner is not None and item.partner_id is None:
        item.partner_id = partner.id
    item_issues: list[Issue] = list(analysis.file_issues)
    if partner_problem is not None:
        item_issues.append(partner_problem)

    # Envelope duplicates against what this partner sent before (identical bytes were caught at intake).
    duplicate_interchanges: set[int] = set()
    partner_key = partner.id if partner else "unknown"
    family = repo.replay_family(session, item)
    window = config.gateway.duplicate_window_days
    remembered: set[tuple[str, str]] = set()  # once per item, however often a file repeats a number
    for ic in analysis.interchanges:
        isa = ic.interchange
        for g in ic.groups:
            group = g.group
            gs_key = f"{group.sender_id}:{group.control_number}"
            earlier_group = repo.envelope_seen_before(session, partner_key, "gs", gs_key, family, window)
            if earlier_group is not None:
                item_issues.append(warning(
                    "X12_GROUP_CONTROL_REUSED",
                    f"Group control number {group.control_number} from {group.sender_id} was already used in "
                    f"item {earlier_group}; the group is processed, but ask the partner to keep GS06 unique.",
                    group.gs.location(6)))
            remembered.add(("gs", gs_key))
        if not isa.control_number:
            continue
        earlier = repo.envelope_seen_before(session, partner_key, "isa", isa.control_number, family, window)
        if earlier is not None:
            isa.issues.append(error("X12_DUPLICATE_INTERCHANGE",
                                    f"Interchange control number {isa.control_number} was already received "
                                    f"from this partner in item {earlier}; this interchange is not processed. "
                                    "If it is a genuine new interchange, ask the partner to send it with a new "
                                    "ISA13, or replay it from the inbox.", isa.isa.location(13)))
        remembered.add(("isa", isa.control_number))
        if any(i.code == "X12_DUPLICATE_INTERCHANGE" for i in isa.issues):
            duplicate_interchanges.add(id(isa))

    for kind, control in sorted(remembered):
        repo.remember_envelope(session, partner_key, kind, control, item.id)
    for issue in item_issues:
        repo.add_issue(session, item.id, "parse", issue)
    for ic in analysis.interchanges:
        for issue in ic.interchange.issues:
            repo.add_issue(session, item.id, "envelope", issue)
        for g in ic.groups:
            for issue in g.group.issues:
                repo.add_issue(session, item.id, "envelope", issue)

    planned = Planned()
    failed_docs = 0
    for outcome in analysis.sets:
        failed_docs += _store_set(session, config, item, partner, outcome, duplicate_interchanges,
                                  bool(partner_problem), planned)

    envelope_errors = [i for ic in analysis.interchanges for i in ic.interchange.envelope_errors]
    envelope_errors += [i for ic in analysis.interchanges for g in ic.groups for i in g.group.issues
                        if i.is_error]
    blocking = [i for i in item_issues if i.is_error] + envelope_errors
    if blocking:
        first = blocking[0]
        more = f" (+{len(blocking) - 1} more)" if len(blocking) > 1 else ""
        repo.open_exception(session, item_id=item.id, stage="envelope" if envelope_errors else "parse",
                            code=first.code, message=f"{first.message}{more}", partner_id=item.partner_id)

    if partner is not None and partner_problem is None and partner.ack.enabled:
        for position, ic in enumerate(analysis.interchanges):
            ack_id = _store_ack(session, partner, item, ic, position)
            if ack_id:
                planned.acks.append(ack_id)

    acks_only = bool(analysis.interchanges) and all(s.set_id in ("997", "999") for s in analysis.sets) and (
        bool(analysis.sets) or any(ic.interchange.ta1s for ic in analysis.interchanges))
    if acks_only and not blocking:
        findings = reconcile(session, partner.id, item.id, parse_ack(item.raw)) if partner else []
        item.summary = ("Acknowledgement(s) from the partner: " + "; ".join(findings[:10])) if findings else \
            "Acknowledgement(s) from the partner received; they acknowledge nothing we sent."
        unmatched = [f for f in findings if "never sent" in f]
        if unmatched:
            repo.open_exception(session, item_id=item.id, stage="acknowledge", code="ACK_UNMATCHED",
                                message="The partner acknowledged something we have no record of sending: "
                                        + "; ".join(unmatched[:5]), partner_id=item.partner_id)
        repo.set_item_state(session, item, ItemState.ACKNOWLEDGED, item.summary[:500])
        return planned

    summary = f"{len(analysis.sets)} transaction set(s), {len(planned.deliver)} to deliver"
    if failed_docs or blocking:
        summary += f", {failed_docs + (1 if blocking else 0)} exception(s)"
    item.summary = summary
    state = ItemState.VALIDATED if planned.deliver or (not blocking and not failed_docs and analysis.sets) \
        else ItemState.EXCEPTION
    if state == ItemState.EXCEPTION and not (blocking or failed_docs):
        _fail_item(session, item, "parse", "X12_NO_DOCUMENTS",
                   "The interchange holds no transaction set the gateway could turn into a document.")
        return planned
    repo.set_item_state(session, item, state, summary)
    return planned


def _store_set(session: Session, config: Config, item: ReceivedItem, partner: PartnerConfig | None,
               outcome: SetOutcome, duplicate_interchanges: set[int], partner_problem: bool,
               planned: Planned) -> int:
    """Persist one transaction set's document and issues; return 1 if it became an exception."""
    isa = outcome.interchange
    doc = outcome.document
    issues = list(outcome.issues)
    if doc is None:
        if outcome.set_id in ("997", "999"):
            repo.audit(session, "ack_received", item_id=item.id,
                       detail=f"{outcome.set_id} {outcome.control_number} received; not acknowledged back")
            for issue in issues:
                repo.add_issue(session, item.id, "validate", issue)
            return 0
        for issue in issues:
            repo.add_issue(session, item.id, "map", issue)
        errors = [i for i in issues if i.is_error] or issues
        message = (errors[0].message if errors else
                   f"Transaction set {outcome.set_id} {outcome.control_number} could not be mapped.")
        repo.open_exception(session, item_id=item.id, stage="map",
                            code=errors[0].code if errors else "X12_SET_NOT_MAPPED",
                            message=message, partner_id=item.partner_id)
        return 1
    doc.source.channel = item.channel
    envelope_blocked = id(isa) in duplicate_interchanges or partner_problem or bool(isa.envelope_errors)
    _, failed = store_document(
        session, config, item, partner, doc, issues, outcome.position, planned, test=isa.usage != "P",
        blocked=("its interchange was not accepted" if envelope_blocked else None),
        test_reason=f"test interchange (ISA15={isa.usage})",
        origin=f"set {outcome.set_id} {outcome.control_number}")
    return failed


def store_document(session: Session, config: Config, item: ReceivedItem, partner: PartnerConfig | None,
                   doc: Document, issues: list[Issue], position: int, planned: Planned, *, test: bool = False,
                   blocked: str | None = None, test_reason: str = "", origin: str = "",
                   stage: str = "validate") -> tuple[DocumentRecord, int]:
    """Persist one document and its issues and decide its way: the inbox, on hold, or the ERP.

    Returns the record and 1 if it became an exception (0 otherwise). `blocked` names an item-level
    reason that already has its own inbox entry, so the document waits without a second one.
    """
    record = DocumentRecord(id=new_id("doc"), item_id=item.id, position=position, kind=doc.kind,
                            number=doc.number, po_number=doc.po_number, doc_date=doc.date,
                            partner_id=partner.id if partner else None, test=test,
                            content=doc.to_json(), state=ItemState.VALIDATED,
                            idempotency_key=idempotency_key(partner.id if partner else None, doc))
    session.add(record)
    session.flush()
    repo.audit(session, "document", item_id=item.id, document_id=record.id, to_state=ItemState.VALIDATED,
               detail=f"{doc.kind} {doc.number or '(no number)'} from {origin}".strip())
    for issue in issues:
        repo.add_issue(session, item.id, stage, issue, record.id)
    errors = [i for i in issues if i.is_error]
    if errors:
        first = errors[0]
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        message = f"{first.message}{more}"
        repo.set_document_state(session, record, ItemState.EXCEPTION, f"{first.code}: {message}")
        repo.open_exception(session, item_id=item.id, document_id=record.id, stage=stage, code=first.code,
                            message=message, partner_id=record.partner_id)
        return record, 1
    if blocked:
        # The item-level exception (unknown partner, duplicate or broken envelope) says why; one inbox entry.
        repo.set_document_state(session, record, ItemState.EXCEPTION,
                                f"{doc.kind} {doc.number} not delivered: {blocked}")
        return record, 0
    if record.test:
        repo.audit(session, "not_delivered", item_id=item.id, document_id=record.id,
                   detail=f"{test_reason}; test data never reaches the ERP")
        return record, 0
    if partner is not None and partner.match_invoices and doc.kind == "invoice":
        session.flush()
        if not holds.apply(session, config, partner, record):
            return record, 0  # on hold or awaiting receipt: the inbox shows why; a receipt or a person releases it
    if partner is not None and doc.kind in ("ship_notice", "invoice") and (
            partner.match_invoices and (doc.kind == "invoice" or partner.asn_counts_as_receipt)):
        # goods arrived or an invoice was accepted: held invoices on the same POs may now match
        session.flush()
        planned.deliver.extend(i for i in holds.reevaluate(session, config, partner.id, holds.po_numbers_of(doc))
                               if i != record.id)
    if partner is not None and partner.match_invoices and doc.kind == "receipt":
        # --- a partner's receiving advice (861 / 944) counts as goods received, like the ERP's (issue 6) ---
        session.flush()
        planned.deliver.extend(holds.receive_document(session, config, partner, record, doc))
    planned.deliver.append(record.id)
    if doc.kind == "order" and partner is not None and partner.order_response == "on_delivery":
        planned.respond.append(record.id)
    return record, 0


def _store_ack(session: Session, partner: PartnerConfig, item: ReceivedItem, ic: InterchangeOutcome,
               position: int) -> str | None:
    settings = AckSettings(kind=partner.ack.kind, ak2=partner.ack.ak2, ta1=partner.ack.ta1)
    numbers = AckNumbers(interchange=repo.next_control_number(session, partner.id, "isa13"),
                         group=repo.next_control_number(session, partner.id, "gs06"))
    content = build_ack(ic.interchange, ic.groups, numbers, settings, dt.datetime.now(dt.UTC))
    if content is None:
        return None
    accepted = not ic.interchange.envelope_errors and all(
        not any(i.is_error for i in s.issues) for g in ic.groups for s in g.sets)
    ack = Acknowledgement(id=new_id("ack"), item_id=item.id, position=position, partner_id=partner.id,
                          kind=settings.kind, control_number=f"{numbers.interchange:09d}", accepted=accepted,
                          content=content)
    session.add(ack)
    repo.audit(session, "ack_built", item_id=item.id,
               detail=f"{settings.kind} interchange {numbers.interchange:09d} for inbound "
                      f"{ic.interchange.control_number} ({'accepted' if accepted else 'with errors'})")
    return ack.id
