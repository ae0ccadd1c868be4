"""Answering the sender of an emailed document: what was understood, what a person is checking, or
what could not be read.

A reply is built from the store (the item's documents and issues), stored, then sent: one reply of
each kind per item, ever, so a re-run after a crash sends nothing twice. The rules that keep us from
answering machines (auto-replies, no-reply senders, our own replies coming back) live in
gateway.mail; a cap on replies per address and hour, counted in the store, stops any loop that
slips past them.
"""

from __future__ import annotations

import datetime as dt
import json
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from gateway.config import Config
from gateway.store import repo
from gateway.store.db import session_scope
from gateway.store.models import (
    DocumentRecord,
    ExceptionRecord,
    IssueRecord,
    ItemState,
    MailReply,
    ReceivedItem,
    new_id,
    utcnow,
)
from mappings.canonical import Document
from parsers.mime import unpack

# What the sender is told, in their terms, for problems found in what they sent; other problems are told
# in the issue's own words (they are written to name the place and the value found).
FOR_THE_SENDER = {
    "PDF_ENCRYPTED": "The PDF is protected with a password, so we cannot open it. Please send it without a password.",
    "PDF_JAVASCRIPT": "The PDF contains scripts (active content), which we do not open for safety reasons. Please "
                      "send it saved or printed as a plain PDF.",
    "PDF_DECOMPRESSION_BOMB": "The PDF unpacks to far more data than an order needs, so we did not open it. Please "
                              "send it saved or printed as a plain PDF.",
    "PDF_TOO_LARGE": "The file is larger than we accept. Please send a smaller PDF (a scan at 300 dpi is plenty).",
    "PDF_IMAGE_TOO_LARGE": "The PDF holds an image larger than we accept. Please scan at 300 dpi.",
    "PDF_TOO_MANY_PAGES": "The PDF has more pages than an order we can read automatically.",
    "PDF_CORRUPT": "The file is damaged or incomplete, so it could not be opened. Please send it again.",
    "PDF_EMPTY": "The PDF has no pages.",
    "EXTRACTION_TIMEOUT": "Reading the file took too long. Please send it again as a PDF saved from your system.",
    "EXTRACTION_MEMORY": "The file is too large to read. Please send it again as a PDF saved from your system.",
    "EXTRACTION_CRASHED": "The file could not be read. Please send it again as a PDF saved from your system.",
    "MISSING_FIELD": "We could not find the purchase order number or the order lines in it.",
    "MIME_UNREADABLE": "Your email could not be read. Please send it again with the order attached as a PDF.",
}


def _kind(session: Session, item: ReceivedItem) -> tuple[str, list[Document], list[str]]:
    """confirmation (on its way to the ERP), review (a person checks it first) or problem (not readable)."""
    docs = session.exec(select(DocumentRecord).where(DocumentRecord.item_id == item.id)).all()
    documents = [Document.from_json_dict(json.loads(d.content)) for d in docs]
    if docs and all(d.state in (ItemState.DELIVERED, ItemState.ACKNOWLEDGED) for d in docs):
        return "confirmation", documents, []
    if docs:
        return "review", documents, []
    found = session.exec(select(IssueRecord.code, IssueRecord.message).where(
        IssueRecord.item_id == item.id, IssueRecord.severity == "error").order_by(col(IssueRecord.id))).all()
    if not found:
        found = session.exec(select(ExceptionRecord.code, ExceptionRecord.message).where(
            ExceptionRecord.item_id == item.id)).all()
    messages: list[str] = []
    for code, message in found:
        said = FOR_THE_SENDER.get(code, message)
        if said not in messages:
            messages.append(said)
    return "problem", [], messages


def prepare_reply(engine: Engine, config: Config, item_id: str) -> str | None:
    """Store the reply this item calls for now and return its id; None when no reply is due."""
    from gateway.mail import build_reply, confirmation_text, problem_text

    with session_scope(engine) as session:
        item = session.get(ReceivedItem, item_id)
        if item is None or item.direction != "in":
            return None
        partner = config.partner(item.partner_id)
        if partner is None or partner.email is None or not partner.email.reply:
            return None  # an unknown sender gets no answer: replying to strangers is backscatter
        email_item = item if item.parent_id is None else session.get(ReceivedItem, item.parent_id)
        if email_item is None or email_item.format != "eml":
            return None  # not emailed (a folder or API drop): the partner gets no mail
        if item.state in (ItemState.RECEIVED, ItemState.DUPLICATE, ItemState.UNPACKED):
            return None
        kind, documents, problems = _kind(session, item)
        if kind == "problem" and item.id == email_item.id and item.state != ItemState.EXCEPTION:
            return None
        existing = session.exec(select(MailReply).where(MailReply.item_id == item.id,
                                                        MailReply.kind == kind)).first()
        if existing is not None:
            return existing.id if existing.state == "built" else None
        mail = unpack(email_item.raw)
        attachment = item.source_name.split(" in ", 1)[0] if item.parent_id else ""
        if kind == "problem":
            body = problem_text(mail, problems, attachment=attachment)
        else:
            body = confirmation_text(mail, documents, attachment=attachment, under_review=kind == "review")
        subject = mail.subject or "your email"
        ours = [config.mail_out.from_address, *(a for a in config.smtp.accept if not a.startswith("@"))]
        message, why_not = build_reply(mail, from_address=config.mail_out.from_address, subject=subject, body=body,
                                       reply_to_id=mail.message_id, own_addresses=ours)
        to = (mail.reply_address or "").lower()
        cap = config.mail_out.max_replies_per_hour
        if message is not None and _recent_replies(session, to) >= cap:
            message, why_not = None, (f"{to} already had {cap} replies in the last hour; "
                                      "no more are sent, in case two mail robots are answering each other")
        reply = MailReply(id=new_id("rpl"), item_id=item.id, kind=kind, to_address=to[:320],
                          subject=message["Subject"] if message is not None else subject,
                          content=bytes(message) if message is not None else b"",
                          state="built" if message is not None else "suppressed", reason=why_not or "")
        session.add(reply)
        repo.audit(session, "reply_built" if message is not None else "reply_suppressed", item_id=item.id,
                   detail=f"{kind} reply to {to or '(nobody)'}" + (f": {why_not}" if why_not else ""))
        return reply.id if message is not None else None


def _recent_replies(session: Session, address: str) -> int:
    since = utcnow() - dt.timedelta(hours=1)
    count = session.exec(select(func.count()).select_from(MailReply).where(
        MailReply.to_address == address, MailReply.state == "sent", MailReply.created_at >= since)).one()
    return int(count)


def send_reply(engine: Engine, config: Config, reply_id: str) -> str:
    """Send a stored reply once; returns where it went (relay or outbox file)."""
    with session_scope(engine) as session:
        reply = session.get(MailReply, reply_id)
        if reply is None:
            raise LookupError(f"reply {reply_id} is not in the store")
        if reply.state == "sent":
            return reply.sent_to or ""
        message = BytesParser(policy=default_policy).parsebytes(reply.content)
    assert isinstance(message, EmailMessage)
    from gateway.mail import send_mail

    where = send_mail(message, config.mail_out)
    with session_scope(engine) as session:
        reply = session.get(MailReply, reply_id)
        assert reply is not None
        reply.state, reply.sent_at, reply.sent_to = "sent", utcnow(), where[:1024]
        session.add(reply)
        repo.audit(session, "reply_sent", item_id=reply.item_id, detail=f"{reply.kind} reply -> {where}")
    return where


def replies_for(session: Session, item_ids: list[str]) -> list[MailReply]:
    return list(session.exec(select(MailReply).where(col(MailReply.item_id).in_(item_ids))
                             .order_by(col(MailReply.created_at))).all())


__all__ = ["prepare_reply", "replies_for", "send_reply"]
