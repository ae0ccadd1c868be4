"""The durable pipeline: one DBOS workflow per received item, keyed by the item's id.

Checkpoints sit at side-effect boundaries (DESIGN.md): analyse (parse + map + validate, persisted in
one transaction together with the acknowledgement to send), deliver each document, send each
acknowledgement, finish. Each step is idempotent on its own (it checks the store first, and the ERP
and outbound files are named by stable keys), so a crash anywhere and a restart finishes every item
exactly once: no item lost, no document delivered twice, no second acknowledgement.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dbos import DBOS, Queue, SetWorkflowID, WorkflowHandle
from sqlalchemy import Engine, create_engine, event
from sqlmodel import select

from gateway.channels.outbound import send_outbound
from gateway.config import Config
from gateway.erp import ErpAdapter
from gateway.intake import receive
from gateway.outbound import mark_sent
from gateway.processing import analyse_item, idempotency_key
from gateway.replies import prepare_reply, send_reply
from gateway.store import repo
from gateway.store.db import session_scope
from gateway.store.models import (
    Acknowledgement,
    DocumentRecord,
    ExceptionRecord,
    ItemState,
    OutboundMessage,
    ReceivedItem,
    utcnow,
)
from mappings.canonical import Document

log = logging.getLogger("edigw.pipeline")
QUEUE_NAME = "edigw-items"


@dataclass
class Runtime:
    """What the workflow steps need; set once per process by `Pipeline.start`."""

    config: Config
    engine: Engine
    adapter: ErpAdapter


_runtime: Runtime | None = None


def _rt() -> Runtime:
    if _runtime is None:
        raise RuntimeError("the pipeline is not started in this process")
    return _runtime


@DBOS.step(retries_allowed=True, max_attempts=5, interval_seconds=0.5)
def analyse_step(item_id: str) -> dict[str, list[str]]:
    rt = _rt()
    planned = analyse_item(rt.engine, rt.config, item_id)
    return {"deliver": planned.deliver, "acks": planned.acks, "send": planned.send, "respond": planned.respond,
            "children": planned.children, "reply": [item_id] if planned.reply else []}


@DBOS.step(retries_allowed=True, max_attempts=5, interval_seconds=0.5)
def respond_step(document_id: str) -> str:
    """Store the 855 answering a delivered order as a submission for its partner; returns that item's id.

    Idempotent: a re-run finds the response already stored for this order.
    """
    rt = _rt()
    name = f"855 for {document_id}"
    with session_scope(rt.engine) as session:
        existing = session.exec(select(ReceivedItem.id).where(ReceivedItem.source_name == name,
                                                              ReceivedItem.direction == "out")).first()
        if existing is not None:
            return existing
        record = session.get(DocumentRecord, document_id)
        if record is None or record.partner_id is None:
            raise LookupError(f"document {document_id} is not in the store")
        order = Document.from_json_dict(json.loads(record.content))
        partner_id = record.partner_id
    from mappings.x12.build_855 import order_response_from_order

    response = order_response_from_order(order, outcome="accepted")
    response.sender = response.receiver = None
    response.source.format, response.source.control_numbers = "canonical", {}
    received = receive(rt.engine, response.to_json().encode(), channel="auto", partner_id=partner_id,
                       source_name=name, direction="out")
    return received.item_id


@DBOS.step(retries_allowed=True, max_attempts=6, interval_seconds=1.0, backoff_rate=2.0)
def send_step(message_id: str) -> str:
    """Send one outbound interchange to its partner (idempotent: stable file name, sent once)."""
    rt = _rt()
    with session_scope(rt.engine) as session:
        message = session.get(OutboundMessage, message_id)
        if message is None:
            raise LookupError(f"outbound message {message_id} is not in the store")
        if message.sent_at is not None:
            return message.sent_to or ""
        partner_id, isa13, content = message.partner_id, message.isa13, message.content
    where = send_outbound(rt.config, partner_id, "folder", f"x12_{isa13}.x12", content)
    with session_scope(rt.engine) as session:
        message = session.get(OutboundMessage, message_id)
        assert message is not None
        mark_sent(session, message, where)
    return where


@DBOS.step(retries_allowed=True, max_attempts=6, interval_seconds=1.0, backoff_rate=2.0)
def deliver_step(document_id: str) -> str:
    rt = _rt()
    with session_scope(rt.engine) as session:
        record = session.get(DocumentRecord, document_id)
        if record is None:
            raise LookupError(f"document {document_id} is not in the store")
        if record.state == ItemState.DELIVERED:
            return record.delivery_ref or ""
        content = json.loads(record.content)
        key = record.idempotency_key or idempotency_key(record.partner_id, Document.from_json_dict(content))
        earlier = session.exec(select(DocumentRecord).where(DocumentRecord.idempotency_key == key,
                                                            DocumentRecord.id != document_id,
                                                            DocumentRecord.state == ItemState.DELIVERED)).first()
        if earlier is not None:
            # A replay of something the ERP already has: never a second delivery.
            record.delivered_at = earlier.delivered_at
            record.delivery_ref = earlier.delivery_ref
            repo.set_document_state(session, record, ItemState.DELIVERED,
                                    f"already delivered as {earlier.id} (key {key}); not sent again")
            return earlier.delivery_ref or ""
    if record.match:
        content["match"] = json.loads(record.match)  # matched invoices reach the ERP with their verdict
    ref = rt.adapter.deliver(content, key)
    with session_scope(rt.engine) as session:
        record = session.get(DocumentRecord, document_id)
        assert record is not None
        record.delivered_at = utcnow()
        record.delivery_ref = ref
        repo.set_document_state(session, record, ItemState.DELIVERED, f"{rt.adapter.name}: {ref}")
    return ref


def send_ack(rt: Runtime, ack_id: str) -> str:
    """Send one stored acknowledgement unless it was sent already (same file name, same bytes)."""
    with session_scope(rt.engine) as session:
        ack = session.get(Acknowledgement, ack_id)
        if ack is None:
            raise LookupError(f"acknowledgement {ack_id} is not in the store")
        if ack.sent_at is not None:
            return ack.sent_to or ""
        item = session.get(ReceivedItem, ack.item_id)
        channel = item.channel if item else "folder"
        name = f"{ack.kind}_{ack.control_number}.x12"
        partner_id, content = ack.partner_id, ack.content
    where = send_outbound(rt.config, partner_id or "unknown", channel, name, content)
    with session_scope(rt.engine) as session:
        ack = session.get(Acknowledgement, ack_id)
        assert ack is not None
        ack.sent_at = utcnow()
        ack.sent_to = where
        session.add(ack)
        repo.audit(session, "ack_sent", item_id=ack.item_id, detail=f"{ack.kind} {ack.control_number} -> {where}")
    return where


@DBOS.step(retries_allowed=True, max_attempts=6, interval_seconds=1.0, backoff_rate=2.0)
def acknowledge_and_finish_step(item_id: str, ack_ids: list[str], failures: list[str]) -> str:
    """Send the item's acknowledgements, then settle its state: the last side effect and the books, one step.

    Re-running it after a crash is harmless: sent acknowledgements are skipped, the state is derived.
    """
    rt = _rt()
    for ack_id in ack_ids:
        send_ack(rt, ack_id)
    return settle(rt, item_id, failures)


def settle(rt: Runtime, item_id: str, failures: list[str]) -> str:
    """Settle the item's state from its documents and acknowledgements."""
    with session_scope(rt.engine) as session:
        item = session.get(ReceivedItem, item_id)
        if item is None:
            raise LookupError(f"item {item_id} is not in the store")
        for failure in failures:
            doc_id, _, reason = failure.partition("|")
            record = session.get(DocumentRecord, doc_id)
            if record is not None and record.state != ItemState.EXCEPTION:
                message = f"Delivery to the ERP failed after retries: {reason}. Fix the ERP side, then replay."
                repo.set_document_state(session, record, ItemState.EXCEPTION, message)
                repo.open_exception(session, item_id=item_id, document_id=doc_id, stage="deliver",
                                    code="ERP_DELIVERY_FAILED", message=message, partner_id=record.partner_id)
        if item.state in (ItemState.DUPLICATE, ItemState.REJECTED, ItemState.UNPACKED):
            return item.state
        docs = session.exec(select(DocumentRecord).where(DocumentRecord.item_id == item_id)).all()
        acks = session.exec(select(Acknowledgement).where(Acknowledgement.item_id == item_id)).all()
        item_level_open = session.exec(select(ExceptionRecord.id).where(
            ExceptionRecord.item_id == item_id, ExceptionRecord.document_id == None,  # noqa: E711
            ExceptionRecord.status == "open")).first()
        delivered = [d for d in docs if d.state in (ItemState.DELIVERED, ItemState.ACKNOWLEDGED)]
        held = [d for d in docs if d.state == ItemState.EXCEPTION]
        if item_level_open is not None or (held and not delivered):
            repo.set_item_state(session, item, ItemState.EXCEPTION)
        elif acks and all(a.sent_at is not None for a in acks):
            if delivered and item.state != ItemState.DELIVERED:
                repo.set_item_state(session, item, ItemState.DELIVERED, f"{len(delivered)} document(s) delivered")
            repo.set_item_state(session, item, ItemState.ACKNOWLEDGED, f"{len(acks)} acknowledgement(s) sent")
        elif delivered:
            repo.set_item_state(session, item, ItemState.DELIVERED, f"{len(delivered)} document(s) delivered")
        return item.state


@DBOS.step(retries_allowed=True, max_attempts=5, interval_seconds=0.5)
def settle_step(item_id: str, failures: list[str]) -> str:
    return settle(_rt(), item_id, failures)


@DBOS.step(retries_allowed=True, max_attempts=6, interval_seconds=1.0, backoff_rate=2.0)
def reply_step(item_id: str) -> str:
    """Answer the sender of an emailed document with what was understood (stored first, sent once)."""
    rt = _rt()
    reply_id = prepare_reply(rt.engine, rt.config, item_id)
    return send_reply(rt.engine, rt.config, reply_id) if reply_id else ""


@DBOS.workflow()
def deliver_documents(item_id: str, document_ids: list[str]) -> str:
    """Deliver documents a person released or corrected, then settle the item (its own durable workflow)."""
    failures: list[str] = []
    for document_id in document_ids:
        try:
            deliver_step(document_id)
        except Exception as exc:
            failures.append(f"{document_id}|{exc}")
    state = settle_step(item_id, failures)
    reply_step(item_id)  # an emailed order a person corrected now gets its confirmation
    return state


@DBOS.workflow()
def process_item(item_id: str) -> str:
    planned = analyse_step(item_id)
    failures: list[str] = []
    for document_id in planned["deliver"]:
        try:
            deliver_step(document_id)
        except Exception as exc:  # retries exhausted: the document goes to the inbox, the item goes on
            failures.append(f"{document_id}|{exc}")
    for message_id in planned.get("send", []):
        send_step(message_id)
    for child_id in planned.get("children", []):
        with SetWorkflowID(child_id):  # each attachment of an email goes its own durable way
            DBOS.start_workflow(process_item, child_id)
    failed = {f.partition("|")[0] for f in failures}
    for document_id in planned.get("respond", []):
        if document_id not in failed:
            response_item = respond_step(document_id)
            with SetWorkflowID(response_item):  # the 855 goes its own durable way
                DBOS.start_workflow(process_item, response_item)
    state = acknowledge_and_finish_step(item_id, planned["acks"], failures)
    for reply_item in planned.get("reply", []):
        reply_step(reply_item)
    return state


def sqlite_system_engine(url: str) -> Engine:
    """DBOS's SQLite system database in WAL mode with synchronous=NORMAL.

    DBOS's own SQLite engine keeps the rollback journal and fsyncs every checkpoint, which caps a
    small machine at a few dozen items a second. WAL + NORMAL is still durable when the process is
    killed (only an OS crash or power loss can drop the last commits); PostgreSQL is the choice where
    that matters.
    """
    path = url.split("///", 1)[-1]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False}, pool_size=20, max_overflow=20)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = "IMMEDIATE"  # as DBOS does: serialise writers up front
        dbapi_conn.execute("PRAGMA journal_mode=WAL")
        dbapi_conn.execute("PRAGMA synchronous=NORMAL")
        dbapi_conn.execute("PRAGMA busy_timeout=30000")
        dbapi_conn.execute("PRAGMA foreign_keys=ON")

    return engine


class Pipeline:
    """Owns the DBOS runtime for this process."""

    def __init__(self, config: Config, engine: Engine, adapter: ErpAdapter) -> None:
        self.config = config
        self.engine = engine
        self.adapter = adapter
        self.queue: Queue | None = None

    def start(self) -> None:
        global _runtime
        _runtime = Runtime(self.config, self.engine, self.adapter)
        self.config.gateway.data_dir.mkdir(parents=True, exist_ok=True)
        dbos_config: Any = {
            "name": "edigw",
            "system_database_url": self.config.system_database_url,
            "run_admin_server": False,
            "log_level": "WARNING",
        }
        if self.config.system_database_url.startswith("sqlite"):
            dbos_config["system_database_engine"] = sqlite_system_engine(self.config.system_database_url)
        DBOS(config=dbos_config)
        DBOS.launch()
        self.queue = DBOS.register_queue(QUEUE_NAME, worker_concurrency=self.config.gateway.workers,
                                         polling_interval_sec=0.05, on_conflict="always_update")
        self.resume_received()

    def stop(self) -> None:
        global _runtime
        DBOS.destroy(workflow_completion_timeout_sec=5)
        _runtime = None

    def submit(self, item_id: str) -> None:
        """Start (or find already started) the workflow for an item; its id is the idempotency key."""
        assert self.queue is not None, "pipeline not started"
        with SetWorkflowID(item_id):
            self.queue.enqueue(process_item, item_id)

    def resume_received(self) -> int:
        """Items committed by intake whose workflow never started (crash in between): start them."""
        with session_scope(self.engine) as session:
            ids = session.exec(select(ReceivedItem.id).where(ReceivedItem.state == ItemState.RECEIVED)).all()
        for item_id in ids:
            self.submit(item_id)
        return len(ids)

    def wait(self, item_id: str) -> str:
        handle: WorkflowHandle[str] = DBOS.retrieve_workflow(item_id)
        return handle.get_result(polling_interval_sec=0.02)  # DBOS's default polls once a second
