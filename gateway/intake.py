"""Intake: the raw bytes are committed to the store before anything else happens.

A channel calls `receive` and answers its transport only after it returns. Identical bytes from the
same partner are recorded as a duplicate of the first item and never processed again. A file that
the same channel hands in again because the gateway stopped before archiving it (same name, same
bytes, original not yet archived) resumes the original item instead of creating a duplicate.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import Session

from gateway.store import repo
from gateway.store.db import session_scope
from gateway.store.models import ItemState, ReceivedItem, new_id


@dataclass(frozen=True)
class Received:
    item_id: str
    state: str
    duplicate_of: str | None = None
    resumed: bool = False

    @property
    def needs_processing(self) -> bool:
        return self.state == ItemState.RECEIVED


def receive(engine: Engine, raw: bytes, *, channel: str, partner_id: str | None = None,
            source_name: str = "", resumable: bool = False, direction: str = "in",
            same_as: Callable[[Session], ReceivedItem | None] | None = None,
            message_id: str | None = None) -> Received:
    """Store the bytes; `resumable` channels (folders) may hand in a file again that was stored but not archived.

    `same_as` lets a channel recognise its own kind of repeat (an email relayed twice differs only in
    trace headers), looked up in the same transaction as the insert so no crash can split the two.
    """
    digest = hashlib.sha256(raw).hexdigest()
    with session_scope(engine) as session:
        original = repo.find_identical(session, partner_id, digest)
        if original is None and same_as is not None:
            original = same_as(session)
        if resumable and original is not None and not original.archived and original.channel == channel \
                and original.source_name == source_name:
            return Received(original.id, original.state, resumed=True)
        item = ReceivedItem(id=new_id("itm"), partner_id=partner_id, channel=channel, source_name=source_name,
                            sha256=digest, size=len(raw), raw=raw, direction=direction,
                            message_id=message_id[:255] if message_id else None)
        if original is not None:
            item.state = ItemState.DUPLICATE
            item.duplicate_of = original.id
            same = ("Identical to" if original.sha256 == digest else
                    "Another delivery of the same message (only relay trace headers differ) as")
            item.summary = (f"{same} item {original.id} received "
                            f"{original.received_at:%Y-%m-%d %H:%M:%S} UTC from the same sender; "
                            "not processed again.")
        session.add(item)
        session.flush()
        repo.audit(session, "received", item_id=item.id, to_state=ItemState.RECEIVED,
                   detail=f"{len(raw)} bytes via {channel} {source_name}".strip())
        if original is not None:
            repo.audit(session, "state", item_id=item.id, from_state=ItemState.RECEIVED,
                       to_state=ItemState.DUPLICATE, detail=item.summary)
        return Received(item.id, item.state, duplicate_of=item.duplicate_of)


def mark_archived(engine: Engine, item_id: str, where: str) -> None:
    with session_scope(engine) as session:
        item = session.get(ReceivedItem, item_id)
        if item is not None and not item.archived:
            item.archived = True
            session.add(item)
            repo.audit(session, "archived", item_id=item_id, detail=where)


def replay(engine: Engine, item_id: str, *, actor: str = "cli", reason: str = "") -> Received:
    """A new item with the original's raw bytes, run again with the current mappings and configuration.

    The original's open exceptions are resolved in the same transaction. Deliveries stay exactly-once:
    documents are keyed by content and envelope, so what the ERP already has is not sent again.
    """
    with session_scope(engine) as session:
        original = session.get(ReceivedItem, item_id)
        if original is None:
            raise LookupError(f"no item {item_id}")
        root = original.replay_of or original.id
        item = ReceivedItem(id=new_id("itm"), partner_id=original.partner_id, channel=original.channel,
                            source_name=original.source_name, sha256=original.sha256, size=original.size,
                            raw=original.raw, replay_of=root, archived=True, direction=original.direction)
        session.add(item)
        session.flush()
        why = f" ({reason})" if reason else ""
        repo.audit(session, "replay", item_id=original.id, actor=actor, detail=f"replayed as {item.id}{why}")
        repo.audit(session, "received", item_id=item.id, actor=actor, to_state=ItemState.RECEIVED,
                   detail=f"replay of {original.id}{why}")
        repo.resolve_exceptions(session, original.id, actor=actor, resolution=f"replayed as {item.id}{why}")
        return Received(item.id, item.state)


def record_refused(engine: Engine, note: bytes, *, channel: str, code: str, message: str,
                   source_name: str = "", partner_id: str | None = None) -> str:
    """An inbox entry for something a channel refused without keeping its bytes (too large to store).

    The sender's side already has the refusal (an SMTP 552, say); this tells ops it happened. `note`
    (what is known: envelope sender, recipients) stands in for the raw bytes, and the item never enters
    the pipeline.
    """
    with session_scope(engine) as session:
        item = ReceivedItem(id=new_id("itm"), partner_id=partner_id, channel=channel, source_name=source_name,
                            sha256=hashlib.sha256(note).hexdigest(), size=len(note), raw=note, archived=True,
                            summary=message[:2000])
        session.add(item)
        session.flush()
        repo.audit(session, "refused", item_id=item.id, detail=message[:500])
        repo.open_exception(session, item_id=item.id, stage="intake", code=code, message=message,
                            partner_id=partner_id)
        repo.set_item_state(session, item, ItemState.EXCEPTION, f"{code}: {message}"[:500])
        return item.id
