"""Inbox actions on the running pipeline: correct and resubmit, reject, resolve, assign, bulk replay."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlmodel import select

from gateway import actions
from gateway.config import Config, PartnerIdentity
from gateway.service import Gateway
from gateway.store.db import session_scope
from gateway.store.models import AuditEntry, DocumentRecord, ExceptionRecord, ReceivedItem
from tests.x12_factory import order_file


@pytest.fixture
def gateway(config: Config, monkeypatch: pytest.MonkeyPatch) -> Iterator[Gateway]:
    monkeypatch.delenv("EDIGW_DATABASE_URL", raising=False)
    gw = Gateway(config)
    gw.start(channels=False)
    try:
        yield gw
    finally:
        gw.stop()


def run(gw: Gateway, raw: bytes, partner: str | None = "acme") -> str:
    received = gw.ingest(raw, channel="folder", partner_id=partner, source_name="in.edi")
    gw.pipeline.wait(received.item_id)
    return received.item_id


def held_document(gw: Gateway, item_id: str) -> DocumentRecord:
    with session_scope(gw.engine) as s:
        return s.exec(select(DocumentRecord).where(DocumentRecord.item_id == item_id)).one()


def open_exceptions(gw: Gateway, item_id: str) -> list[ExceptionRecord]:
    with session_scope(gw.engine) as s:
        return list(s.exec(select(ExceptionRecord).where(ExceptionRecord.item_id == item_id,
                                                          ExceptionRecord.status == "open")).all())


def erp_numbers(config: Config) -> list[str]:
    return sorted(json.loads(p.read_text())["number"] for p in config.erp.path.glob("*.json")) \
        if config.erp.path.exists() else []


BAD_UOM = order_file("PO-FIX", 801).replace(b"PO1*1*11*EA", b"PO1*1*11*XX")


def test_a_corrected_order_is_checked_again_delivered_and_audited(gateway: Gateway, config: Config) -> None:
    item_id = run(gateway, BAD_UOM)
    record = held_document(gateway, item_id)
    assert record.state == "exception" and erp_numbers(config) == []
    corrected = json.loads(record.content)
    corrected["lines"][0]["uom"] = "EA"
    result = actions.resubmit(gateway, record.id, corrected, actor="dana", reason="unit was a typo")
    assert "delivered" in result.message
    assert held_document(gateway, item_id).state == "delivered"
    assert erp_numbers(config) == ["PO-FIX"]
    assert open_exceptions(gateway, item_id) == []
    with session_scope(gateway.engine) as s:
        item = s.get(ReceivedItem, item_id)
        assert item is not None and item.state == "acknowledged"
        entry = s.exec(select(AuditEntry).where(AuditEntry.action == "resubmit")).one()
    assert entry.actor == "dana" and json.loads(entry.detail)["original"]["lines"][0]["uom"] == "XX"


def test_a_correction_that_still_breaks_the_guide_is_refused(gateway: Gateway, config: Config) -> None:
    item_id = run(gateway, BAD_UOM)
    record = held_document(gateway, item_id)
    corrected = json.loads(record.content)
    corrected["lines"][0]["uom"] = "XY"
    with pytest.raises(actions.ActionRefused) as refused:
        actions.resubmit(gateway, record.id, corrected, actor="dana", reason="try")
    assert [i.code for i in refused.value.issues] == ["X12_INVALID_CODE"]
    with pytest.raises(actions.ActionRefused):
        actions.resubmit(gateway, record.id, {"kind": "order"}, actor="dana", reason="try")
    assert held_document(gateway, item_id).state == "exception" and erp_numbers(config) == []


def test_rejecting_an_order_sends_the_customer_an_855_rejection(gateway: Gateway, config: Config) -> None:
    item_id = run(gateway, BAD_UOM)
    record = held_document(gateway, item_id)
    result = actions.reject(gateway, record.id, actor="lee", reason="customer account on hold")
    assert held_document(gateway, item_id).state == "rejected"
    assert open_exceptions(gateway, item_id) == []
    assert result.message.startswith("order PO-FIX rejected; 855 rejection queued as item ")
    response_item = result.message.rsplit(" ", 1)[-1]
    gateway.pipeline.wait(response_item)
    sent = [p.read_bytes() for p in (config.partner_dir("acme") / "outbound").glob("x12_*.x12")]
    assert len(sent) == 1 and b"ST*855*" in sent[0] and b"BAK*00*R" in sent[0] and b"PO-FIX" in sent[0]
    with pytest.raises(actions.ActionRefused):
        actions.resubmit(gateway, record.id, json.loads(record.content), actor="lee", reason="changed my mind")


def test_resolve_needs_a_reason_and_assign_is_audited(gateway: Gateway) -> None:
    item_id = run(gateway, order_file("PO-U", 802, sender="STRANGER"), partner=None)
    [exc] = open_exceptions(gateway, item_id)
    actions.assign(gateway, exc.id, "sam", actor="lee")
    with pytest.raises(actions.ActionRefused):
        actions.resolve(gateway, exc.id, actor="sam", reason="  ")
    actions.resolve(gateway, exc.id, actor="sam", reason="test file from a prospect, nothing to do")
    assert open_exceptions(gateway, item_id) == []
    with pytest.raises(actions.ActionRefused):
        actions.resolve(gateway, exc.id, actor="sam", reason="again")
    with session_scope(gateway.engine) as s:
        done = [(a.actor, a.action) for a in s.exec(select(AuditEntry).where(AuditEntry.item_id == item_id)).all()]
    assert ("lee", "assign") in done and ("sam", "resolved") in done


def test_bulk_replay_after_a_configuration_fix_delivers_each_once(gateway: Gateway, config: Config) -> None:
    first = run(gateway, order_file("PO-B1", 811, sender="NEWCO"), partner=None)
    second = run(gateway, order_file("PO-B2", 812, sender="NEWCO"), partner=None)
    config.partners[0].identities.append(PartnerIdentity(qualifier="ZZ", id="NEWCO"))
    results = actions.bulk_replay(gateway, [first, second], actor="lee", reason="NEWCO added to acme")
    for r in results:
        assert r.item_id is not None
        gateway.pipeline.wait(r.item_id)
    assert erp_numbers(config) == ["PO-B1", "PO-B2"]
    again = actions.bulk_replay(gateway, [first, second], actor="lee", reason="once more")
    for r in again:
        assert r.item_id is not None
        gateway.pipeline.wait(r.item_id)
    assert erp_numbers(config) == ["PO-B1", "PO-B2"]  # never twice
