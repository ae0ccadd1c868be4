"""Store tables: received items (raw bytes first), canonical documents, issues, exceptions, audit, counters.

Times are timezone-aware UTC. Every change of state is written together with its audit entry.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import Column, DateTime, Index, LargeBinary, Text, TypeDecorator, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC in and out, on SQLite (which drops the zone) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use timezone-aware UTC")
        return value.astimezone(dt.UTC) if value is not None else None

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _ts(nullable: bool = False, index: bool = False) -> Column:  # type: ignore[type-arg,unused-ignore]
    return Column(UTCDateTime(), nullable=nullable, index=index)


class ItemState:
    """The states a received item moves through (DESIGN.md, "The flow")."""

    RECEIVED = "received"
    PARSED = "parsed"
    VALIDATED = "validated"
    ON_HOLD = "on_hold"
    DELIVERED = "delivered"
    ACKNOWLEDGED = "acknowledged"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"
    EXCEPTION = "exception"
    UNPACKED = "unpacked"  # an email whose attachments became items of their own


class ReceivedItem(SQLModel, table=True):
    __tablename__ = "received_item"

    id: str = Field(primary_key=True, max_length=40)
    partner_id: str | None = Field(default=None, index=True, max_length=64)
    channel: str = Field(max_length=32)
    source_name: str = Field(default="", max_length=1024)
    sha256: str = Field(index=True, max_length=64)
    size: int
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    received_at: dt.datetime = Field(default_factory=utcnow, sa_column=_ts(index=True))
    state: str = Field(default=ItemState.RECEIVED, index=True, max_length=16)
    format: str | None = Field(default=None, max_length=16)
    duplicate_of: str | None = Field(default=None, max_length=40)
    replay_of: str | None = Field(default=None, index=True, max_length=40)  # the original item, for replays
    direction: str = Field(default="in", max_length=3)  # "out": documents the ERP submitted for a partner
    # The email an attachment came in (attachments are items of their own, processed by their format).
    parent_id: str | None = Field(default=None, index=True, max_length=40)
    # An email's Message-ID, so another delivery of the same message is found by an index.
    message_id: str | None = Field(default=None, index=True, max_length=255)
    archived: bool = False
    summary: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class DocumentRecord(SQLModel, table=True):
    __tablename__ = "document"
    __table_args__ = (UniqueConstraint("item_id", "position", name="uq_document_item_position"),)

    id: str = Field(primary_key=True, max_length=40)
    item_id: str = Field(foreign_key="received_item.id", index=True, max_length=40)
    position: int
    kind: str = Field(index=True, max_length=20)
    number: str | None = Field(default=None, index=True, max_length=64)
    po_number: str | None = Field(default=None, index=True, max_length=64)
    doc_date: dt.date | None = None
    partner_id: str | None = Field(default=None, index=True, max_length=64)
    state: str = Field(default=ItemState.VALIDATED, index=True, max_length=16)
    test: bool = False
    content: str = Field(sa_column=Column(Text, nullable=False))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=_ts())
    delivered_at: dt.datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    delivery_ref: str | None = Field(default=None, max_length=1024)
    # Stable across replays of the same input: the ERP gets one delivery per key, ever.
    idempotency_key: str | None = Field(default=None, index=True, max_length=160)
    # For invoices: the last 3-way match result (JSON), attached to what the ERP receives.
    match: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class IssueRecord(SQLModel, table=True):
    __tablename__ = "issue"

    id: int | None = Field(default=None, primary_key=True)
    item_id: str = Field(foreign_key="received_item.id", index=True, max_length=40)
    document_id: str | None = Field(default=None, max_length=40)
    stage: str = Field(max_length=16)
    severity: str = Field(max_length=8)
    code: str = Field(index=True, max_length=64)
    message: str = Field(sa_column=Column(Text, nullable=False))
    location: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class ExceptionRecord(SQLModel, table=True):
    """An inbox item: something the gateway could not finish on its own."""

    __tablename__ = "exception"

    id: str = Field(primary_key=True, max_length=40)
    item_id: str = Field(foreign_key="received_item.id", index=True, max_length=40)
    document_id: str | None = Field(default=None, index=True, max_length=40)
    partner_id: str | None = Field(default=None, index=True, max_length=64)
    stage: str = Field(max_length=16)
    code: str = Field(index=True, max_length=64)
    message: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="open", index=True, max_length=16)
    assignee: str | None = Field(default=None, max_length=64)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=_ts(index=True))
    resolved_at: dt.datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    resolution: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = Field(default_factory=utcnow, sa_column=_ts(index=True))
    actor: str = Field(default="gateway", max_length=64)
    item_id: str | None = Field(default=None, index=True, max_length=40)
    document_id: str | None = Field(default=None, index=True, max_length=40)
    action: str = Field(max_length=32)
    from_state: str | None = Field(default=None, max_length=16)
    to_state: str | None = Field(default=None, max_length=16)
    detail: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class ControlCounter(SQLModel, table=True):
    """Per-partner control numbers for what we send (ISA13, GS06); never repeat, never skip back."""

    __tablename__ = "control_counter"

    partner_id: str = Field(primary_key=True, max_length=64)
    kind: str = Field(primary_key=True, max_length=16)
    value: int = 0


class EnvelopeSeen(SQLModel, table=True):
    """Control numbers a partner has sent, to recognise a re-sent interchange or group."""

    __tablename__ = "envelope_seen"
    __table_args__ = (UniqueConstraint("partner_key", "kind", "control", "item_id", name="uq_envelope_seen"),)

    id: int | None = Field(default=None, primary_key=True)
    partner_key: str = Field(index=True, max_length=128)
    kind: str = Field(max_length=8)
    control: str = Field(max_length=16)
    item_id: str = Field(max_length=40)
    seen_at: dt.datetime = Field(default_factory=utcnow, sa_column=_ts())


class Acknowledgement(SQLModel, table=True):
    """An acknowledgement built for a received item, stored before it is sent so a resend is the same bytes."""

    __tablename__ = "acknowledgement"
    __table_args__ = (UniqueConstraint("item_id", "position", name="uq_ack_item_position"),)

    id: str = Field(primary_key=True, max_length=40)
    item_id: str = Field(foreign_key="received_item.id", index=True, max_length=40)
    position: int = 0
    partner_id: str | None = Field(default=None, index=True, max_length=64)
    kind: str = Field(max_length=16)
    control_number: str = Field(max_length=16)
    accepted: bool = True
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=_ts())
    sent_at: dt.datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    sent_to: str | None = Field(default=None, max_length=1024)


class OutboundMessage(SQLModel, table=True):
    """An interchange we send a partner (documents the ERP submitted), kept until its acknowledgement."""

    __tablename__ = "outbound_message"

    id: str = Field(primary_key=True, max_length=40)
    item_id: str = Field(foreign_key="received_item.id", index=True, max_length=40)
    partner_id: str = Field(index=True, max_length=64)
    isa13: str = Field(index=True, max_length=16)
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    state: str = Field(default="built", index=True, max_length=16)  # built, sent, accepted, rejected, overdue
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=_ts())
    sent_at: dt.datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    sent_to: str | None = Field(default=None, max_length=1024)
    ack_due_at: dt.datetime | None = Field(default=None, sa_column=_ts(nullable=True, index=True))
    acked_at: dt.datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    ack_item_id: str | None = Field(default=None, max_length=40)
    ack_detail: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class OutboundSet(SQLModel, table=True):
    """One transaction set of an outbound interchange: what an inbound 997's AK1/AK2 point at."""

    __tablename__ = "outbound_set"

    id: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(foreign_key="outbound_message.id", index=True, max_length=40)
    partner_id: str = Field(index=True, max_length=64)
    document_id: str = Field(index=True, max_length=40)
    set_id: str = Field(max_length=8)
    functional_id: str = Field(max_length=4)
    gs06: str = Field(max_length=16)
    st02: str = Field(max_length=16)
    status: str = Field(default="pending", max_length=16)  # pending, accepted, accepted_with_errors, rejected
    ack_codes: str = Field(default="", max_length=256)


class User(SQLModel, table=True):
    """A person who may use the web inbox or the API; roles rank viewer < operator < admin."""

    __tablename__ = "app_user"  # "user" is a reserved word in PostgreSQL

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, index=True, max_length=64)
    role: str = Field(max_length=16)
    # "scrypt$n$r$p$salt$hash" (base64): the parameters travel with the hash so they can be raised later.
    password_hash: str = Field(max_length=256)
    disabled: bool = False
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=_ts())
    password_changed_at: dt.datetime = Field(default_factory=utcnow, sa_column=_ts())
    last_login_at: dt.datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class WebSession(SQLModel, table=True):
    """A browser session, kept server-side so logout and password changes end it at once."""

    __tablename__ = "web_session"

    # sha256 of the cookie value: a copy of this table does not let anyone sign in.
    id: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    csrf_token: str = Field(max_length=64)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=_ts(index=True))
    last_seen_at: dt.datetime = Field(default_factory=utcnow, sa_column=_ts())
    client_ip: str = Field(default="", max_length=64)


class ApiToken(SQLModel, table=True):
    """A bearer token for the API; only its sha256 is stored, and it acts with its user's current role."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    token_sha256: str = Field(unique=True, index=True, max_length=64)
    label: str = Field(default="", max_length=128)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=_ts())
    last_used_at: dt.datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    revoked_at: dt.datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class LoginAttempt(SQLModel, table=True):
    """One sign-in attempt, stored so rate limiting survives restarts and holds across workers."""

    __tablename__ = "login_attempt"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(index=True, max_length=64)
    client_ip: str = Field(index=True, max_length=64)
    at: dt.datetime = Field(default_factory=utcnow, sa_column=_ts(index=True))
    outcome: str = Field(default="pending", max_length=16)  # pending, failure, success, refused


class ReceiptRecord(SQLModel, table=True):
    """Goods received against a purchase order line, as the ERP reports it (for 3-way matching)."""

    __tablename__ = "goods_receipt"

    id: str = Field(primary_key=True, max_length=40)
    partner_id: str = Field(index=True, max_length=64)
    po_number: str = Field(index=True, max_length=64)
    line_number: str | None = Field(default=None, max_length=32)
    item_ids: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    quantity: str = Field(max_length=32)  # a Decimal as text: never a float
    uom: str | None = Field(default=None, max_length=8)
    received_on: dt.date | None = None
    reference: str | None = Field(default=None, max_length=64)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=_ts())


class SenderBinding(SQLModel, table=True):
    """An email address or domain ops taught the gateway belongs to a customer (besides the config file)."""

    __tablename__ = "sender_binding"

    id: int | None = Field(default=None, primary_key=True)
    address: str = Field(unique=True, index=True, max_length=320)  # "buyer@acme.example" or "@acme.example"
    partner_id: str = Field(index=True, max_length=64)
    created_by: str = Field(default="", max_length=64)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=_ts())
    note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class ExtractionHint(SQLModel, table=True):
    """How one customer labels and places one field on its PDFs, learnt from an ops correction."""

    __tablename__ = "extraction_hint"

    id: str = Field(primary_key=True, max_length=40)
    partner_id: str = Field(index=True, max_length=64)
    field: str = Field(max_length=64)
    label: str | None = Field(default=None, max_length=256)
    # The value's box on the page where it was corrected: page, x0, top, x1, bottom in points (JSON).
    region: str | None = Field(default=None, max_length=256)
    example: str = Field(default="", max_length=256)  # the corrected value, to show ops what was taught
    source_item_id: str | None = Field(default=None, max_length=40)
    created_by: str = Field(default="", max_length=64)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=_ts())
    uses: int = 0
    last_used_at: dt.datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class PdfExtractionRecord(SQLModel, table=True):
    """What extraction read off a PDF item: fields with confidence and region, line cells, page sizes (JSON)."""

    __tablename__ = "pdf_extraction"

    item_id: str = Field(primary_key=True, foreign_key="received_item.id", max_length=40)
    method: str = Field(max_length=8)
    content: str = Field(sa_column=Column(Text, nullable=False))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=_ts())


class MailReply(SQLModel, table=True):
    """A reply to the sender of an emailed document: stored before it is sent, sent once."""

    __tablename__ = "mail_reply"

    id: str = Field(primary_key=True, max_length=40)
    item_id: str = Field(foreign_key="received_item.id", index=True, max_length=40)
    kind: str = Field(max_length=16)  # confirmation, review, problem
    to_address: str = Field(default="", max_length=320)
    subject: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    state: str = Field(default="built", max_length=16)  # built, sent, suppressed
    reason: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=_ts())
    sent_at: dt.datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    sent_to: str | None = Field(default=None, max_length=1024)


class InvoicePO(SQLModel, table=True):
    """Every purchase order an invoice bills (header and lines): how a receipt finds the invoices it may release.

    An invoice billing several POs on its lines carries one of them (or none) in its header; a receipt
    for any of the others must still re-run its match, so each (invoice, PO) pair is a row.
    """

    __tablename__ = "invoice_po"
    __table_args__ = (Index("ix_invoice_po_partner_po", "partner_id", "po_number"),)

    document_id: str = Field(primary_key=True, foreign_key="document.id", max_length=40)
    po_number: str = Field(primary_key=True, max_length=64)
    partner_id: str = Field(max_length=64)
