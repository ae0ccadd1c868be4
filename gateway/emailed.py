"""Emailed documents: one email item becomes one item per usable attachment, from a known sender.

The email itself is kept as received (the raw bytes were stored before the SMTP `250`); each PDF,
scan, X12 or cXML attachment becomes a child item processed by its own format's path, so a person
sees, corrects and replays one purchase order at a time. The customer is the sender: addresses and
domains in the configuration, plus bindings ops taught from the inbox (stored, visible, removable).
"""

from __future__ import annotations

import hashlib

from sqlmodel import Session, col, select

from gateway.config import Config, PartnerConfig
from gateway.store import repo
from gateway.store.models import ItemState, ReceivedItem, SenderBinding, new_id
from parsers.mime import Attachment, Mail, unpack

# Attachments whose partner is the email's sender; X12 and cXML name their partner themselves.
SENDER_KINDS = frozenset({"pdf", "png", "jpeg", "tiff"})


def partner_for_sender(session: Session, config: Config, address: str | None) -> PartnerConfig | None:
    """Exact addresses before domains; at each level what ops taught before what the file says."""
    if not address:
        return None
    address = address.strip().lower()
    domain = address.rpartition("@")[2]

    def bound(key: str) -> PartnerConfig | None:
        binding = session.exec(select(SenderBinding).where(SenderBinding.address == key)).first()
        return config.partner(binding.partner_id) if binding is not None else None

    exact = next((p for p in config.partners if p.email and address in (a.lower() for a in p.email.addresses)),
                 None)
    return bound(address) or exact or bound("@" + domain) or config.partner_for_email(address)


def bind_sender(session: Session, config: Config, address: str, partner_id: str, *, actor: str,
                note: str = "") -> SenderBinding:
    """Teach the gateway that an address (or "@domain") is this customer's; replaces an earlier binding."""
    address = address.strip().lower()
    if config.partner(partner_id) is None:
        raise LookupError(f"there is no partner {partner_id!r} in the configuration")
    if not address or ("@" not in address):
        raise ValueError(f"{address!r} is not an email address or @domain")
    binding = session.exec(select(SenderBinding).where(SenderBinding.address == address)).first()
    if binding is None:
        binding = SenderBinding(address=address, partner_id=partner_id, created_by=actor, note=note)
    else:
        binding.partner_id, binding.created_by, binding.note = partner_id, actor, note
    session.add(binding)
    repo.audit(session, "sender_bound", actor=actor, detail=f"{address} -> {partner_id}{': ' + note if note else ''}")
    return binding


def sender_of(session: Session, item: ReceivedItem) -> Mail | None:
    """The email an attachment item came in (unpacked again: the raw bytes are the record)."""
    if item.parent_id is None:
        return None
    parent = session.get(ReceivedItem, item.parent_id)
    return unpack(parent.raw) if parent is not None else None


def analyse_email(session: Session, config: Config, item: ReceivedItem) -> list[str]:
    """Unpack the email into child items; returns their ids (the pipeline starts one workflow each)."""
    mail = unpack(item.raw)
    attachments = ", ".join(f"{a.filename or a.path} ({a.sniffed})" for a in mail.attachments) or "no attachments"
    summary = f"Email from {mail.from_address or 'an unknown sender'}: {mail.subject!r}; {attachments}"
    repo.set_item_state(session, item, ItemState.PARSED, summary[:500])
    item.summary = summary[:2000]
    for issue in mail.issues:
        if not issue.is_error:
            repo.add_issue(session, item.id, "parse", issue)
    partner = partner_for_sender(session, config, mail.from_address)
    if partner is not None:
        item.partner_id = partner.id
    errors = [i for i in mail.issues if i.is_error]
    if errors:
        for issue in errors:
            repo.add_issue(session, item.id, "parse", issue)
        _fail(session, item, errors[0].code, errors[0].message)
        return []
    if partner is None:
        who = mail.from_address or "(no From address)"
        _fail(session, item, "UNKNOWN_SENDER",
              f"The email from {who} ({mail.subject!r}) is not from a known customer, so the gateway does not "
              "know whose order it is. Assign the sender to a customer in the inbox (the address is "
              "remembered for next time), or add it to the customer's [email] addresses in the configuration; "
              "then replay.")
        return []
    children: list[str] = []
    for attachment in mail.usable:
        children.append(_child(session, item, attachment, partner if attachment.sniffed in SENDER_KINDS else None,
                               mail))
    repo.set_item_state(session, item, ItemState.UNPACKED,
                        f"{len(children)} attachment(s) to process from {mail.from_address}")
    return children


def _child(session: Session, parent: ReceivedItem, attachment: Attachment, partner: PartnerConfig | None,
           mail: Mail) -> str:
    digest = hashlib.sha256(attachment.data).hexdigest()
    name = f"{attachment.filename or attachment.path} in {mail.message_id or parent.id}"
    child = ReceivedItem(id=new_id("itm"), partner_id=partner.id if partner else None, channel=parent.channel,
                         source_name=name[:1024], sha256=digest, size=len(attachment.data), raw=attachment.data,
                         parent_id=parent.id, archived=True)
    if parent.replay_of is not None:
        # A replayed email replays its attachments: they run again rather than count as duplicates.
        earlier = session.exec(select(ReceivedItem.id).where(ReceivedItem.parent_id == parent.replay_of,
                                                             ReceivedItem.sha256 == digest)
                               .order_by(col(ReceivedItem.received_at))).first()
        child.replay_of = earlier
    else:
        original = repo.find_identical(session, child.partner_id, digest)
        if original is not None:
            child.state = ItemState.DUPLICATE
            child.duplicate_of = original.id
            child.summary = (f"{attachment.filename or 'This attachment'} is identical to item {original.id} "
                             f"received {original.received_at:%Y-%m-%d %H:%M:%S} UTC; not processed again.")
    session.add(child)
    session.flush()
    repo.audit(session, "received", item_id=child.id, to_state=ItemState.RECEIVED,
               detail=f"{attachment.sniffed} attachment {attachment.path} of email {parent.id}")
    if child.state == ItemState.DUPLICATE:
        repo.audit(session, "state", item_id=child.id, from_state=ItemState.RECEIVED, to_state=ItemState.DUPLICATE,
                   detail=child.summary)
    return child.id


def _fail(session: Session, item: ReceivedItem, code: str, message: str) -> None:
    repo.open_exception(session, item_id=item.id, stage="parse", code=code, message=message,
                        partner_id=item.partner_id)
    repo.set_item_state(session, item, ItemState.EXCEPTION, f"{code}: {message}"[:500])
