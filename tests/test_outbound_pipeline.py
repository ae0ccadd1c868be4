"""Documents we send: ERP submission -> partner X12 -> partner's 997 reconciled (or overdue), in-process."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import select

from gateway.config import Config
from gateway.outbound import check_overdue
from gateway.service import Gateway
from gateway.store.db import session_scope
from gateway.store.models import DocumentRecord, ExceptionRecord, OutboundMessage, ReceivedItem
from mappings.x12.ack import AckNumbers, AckSettings, build_ack
from mappings.x12.process import analyse_x12
from tests.conftest import SAMPLES
from tests.live import LiveServer

API_TOKEN = "test-api-token"


@pytest.fixture
def gateway(config: Config, monkeypatch: pytest.MonkeyPatch) -> Iterator[Gateway]:
    monkeypatch.delenv("EDIGW_DATABASE_URL", raising=False)
    monkeypatch.setenv("EDIGW_API_TOKEN", API_TOKEN)  # the API needs credentials (see gateway/web/auth.py)
    gw = Gateway(config)
    gw.start(channels=False)
    try:
        yield gw
    finally:
        gw.stop()


def order(number: str = "PO-OUT-1") -> dict[str, Any]:
    """A canonical order as the ERP would submit it to a supplier (no envelope identities of its own)."""
    doc: dict[str, Any] = json.loads((SAMPLES / "x12" / "acme_850_004010.json").read_text())[0]
    doc["number"] = doc["po_number"] = number
    for line in doc["lines"]:
        line["po_number"] = number
    doc["sender"] = doc["receiver"] = None
    doc["source"] = {"format": "canonical", "version": None, "set": None, "control_numbers": {}, "channel": None}
    return doc


def submit(gw: Gateway, payload: Any, partner: str = "acme") -> str:
    received = gw.submit(json.dumps(payload).encode(), partner_id=partner)
    if received.needs_processing:
        gw.pipeline.wait(received.item_id)
    return received.item_id


def sent_files(config: Config, partner: str = "acme") -> list[bytes]:
    folder = config.partner_dir(partner) / "outbound"
    return [p.read_bytes() for p in sorted(folder.glob("x12_*.x12"))] if folder.exists() else []


def doc_states(gw: Gateway, item_id: str) -> list[str]:
    with session_scope(gw.engine) as s:
        return [d.state for d in s.exec(select(DocumentRecord).where(DocumentRecord.item_id == item_id)).all()]


def exception_codes(gw: Gateway, item_id: str) -> list[str]:
    with session_scope(gw.engine) as s:
        return [e.code for e in s.exec(select(ExceptionRecord).where(ExceptionRecord.item_id == item_id)).all()]


def partner_997(sent: bytes, corrupt: bool = False) -> bytes:
    """The 997 the partner would send back for what we sent (optionally rejecting the order)."""
    raw = sent.replace(b"PO1*1*24*EA", b"PO1*1*24*XX") if corrupt else sent
    analysis = analyse_x12(raw)
    ic = analysis.interchanges[0]
    ack = build_ack(ic.interchange, ic.groups, AckNumbers(900, 900), AckSettings(), dt.datetime.now(dt.UTC))
    assert ack is not None
    return ack


def test_a_submitted_order_is_sent_as_x12_and_its_997_reconciled(gateway: Gateway, config: Config) -> None:
    item_id = submit(gateway, order())
    with session_scope(gateway.engine) as s:
        item = s.get(ReceivedItem, item_id)
        assert item is not None and item.direction == "out" and item.state == "delivered"
    [sent] = sent_files(config)
    back = analyse_x12(sent)
    assert not [i for i in back.issues if i.is_error]
    [doc] = [s.document for s in back.sets if s.document]
    assert doc.number == "PO-OUT-1" and len(doc.lines) == len(order()["lines"])
    assert doc.sender is not None and doc.sender.id == "EDIGW" and doc.receiver is not None
    assert doc_states(gateway, item_id) == ["delivered"]

    ack_item = gateway.ingest(partner_997(sent), channel="folder", partner_id="acme")
    gateway.pipeline.wait(ack_item.item_id)
    assert doc_states(gateway, item_id) == ["acknowledged"]
    with session_scope(gateway.engine) as s:
        message = s.exec(select(OutboundMessage).where(OutboundMessage.item_id == item_id)).one()
        assert message.state == "accepted" and message.ack_item_id == ack_item.item_id
    assert exception_codes(gateway, ack_item.item_id) == []


def test_a_negative_997_makes_the_document_an_exception(gateway: Gateway, config: Config) -> None:
    item_id = submit(gateway, order("PO-OUT-2"))
    [sent] = sent_files(config)
    ack_item = gateway.ingest(partner_997(sent, corrupt=True), channel="folder", partner_id="acme")
    gateway.pipeline.wait(ack_item.item_id)
    assert doc_states(gateway, item_id) == ["rejected"]
    assert exception_codes(gateway, item_id) == ["OUTBOUND_REJECTED"]


def test_an_unanswered_interchange_becomes_overdue_once(gateway: Gateway, config: Config) -> None:
    item_id = submit(gateway, order("PO-OUT-3"))
    assert check_overdue(gateway.engine) == []  # not late yet
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    assert len(check_overdue(gateway.engine, later)) == 1
    assert check_overdue(gateway.engine, later) == []  # reported once
    assert exception_codes(gateway, item_id) == ["ACK_OVERDUE"]


def test_a_997_for_something_never_sent_is_flagged(gateway: Gateway, config: Config) -> None:
    submit(gateway, order("PO-OUT-4"))
    [sent] = sent_files(config)
    # the partner acknowledges a set control number we never used
    forged = partner_997(sent.replace(b"ST*850*0001", b"ST*850*7777").replace(b"*0001~GE", b"*7777~GE"))
    ack_item = gateway.ingest(forged, channel="folder", partner_id="acme")
    gateway.pipeline.wait(ack_item.item_id)
    assert exception_codes(gateway, ack_item.item_id) == ["ACK_UNMATCHED"]


@pytest.mark.parametrize("payload,code", [
    ("not json at all", "CANONICAL_INVALID"),
    ({"kind": "order"}, "CANONICAL_INVALID"),
    ({**order(), "number": "X" * 30, "po_number": "X" * 30}, "OUTBOUND_INVALID"),
])
def test_invalid_submissions_are_exceptions_and_nothing_is_sent(gateway: Gateway, config: Config, payload: Any,
                                                                code: str) -> None:
    item_id = submit(gateway, payload)
    assert exception_codes(gateway, item_id) == [code]
    assert sent_files(config) == []


class Api:
    """The API on a real uvicorn server on a loopback port, spoken to with urllib."""

    def __init__(self, gw: Gateway) -> None:
        self.live = LiveServer(gw)
        self.base = self.live.base

    def call(self, method: str, path: str, body: Any = None, token: str | None = API_TOKEN) -> tuple[int, Any]:
        import urllib.error
        import urllib.request

        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"null")

    def close(self) -> None:
        self.live.close()


@pytest.fixture
def api(gateway: Gateway) -> Iterator[Api]:
    a = Api(gateway)
    yield a
    a.close()


def test_the_api_takes_a_submission_and_reports_its_state(gateway: Gateway, api: Api) -> None:
    assert api.call("GET", "/health") == (200, {"status": "ok"})
    code, body = api.call("POST", "/api/outbound?partner=acme", order("PO-API-1"))
    assert code == 202
    gateway.pipeline.wait(body["id"])
    code, status = api.call("GET", f"/api/items/{body['id']}")
    assert code == 200 and status["state"] == "delivered" and status["direction"] == "out"
    assert [(d["kind"], d["number"], d["state"]) for d in status["documents"]] == [("order", "PO-API-1", "delivered")]
    assert api.call("POST", "/api/outbound?partner=nobody", order())[0] == 404
    assert api.call("GET", "/api/items/itm_missing")[0] == 404
    assert api.call("GET", "/openapi.json")[0] == 200


def test_the_api_requires_the_token_when_one_is_configured(gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDIGW_API_TOKEN", "s3cret")
    api = Api(gateway)
    try:
        assert api.call("POST", "/api/outbound?partner=acme", order(), token=None)[0] == 401
        assert api.call("POST", "/api/outbound?partner=acme", order(), token="nope")[0] == 401
        assert api.call("POST", "/api/outbound?partner=acme", order(), token="s3cret")[0] == 202
    finally:
        api.close()


@pytest.mark.parametrize("partner,element,version,ack_kind", [
    ("acme", b"*", b"004010", "997"),
    ("globex", b"|", b"004010VICS", "997"),
    ("initech", b"*", b"005010", "999"),
])
def test_three_partners_get_their_own_x12_and_their_acks_reconcile(gateway: Gateway, config: Config, partner: str,
                                                                   element: bytes, version: bytes,
                                                                   ack_kind: str) -> None:
    p = config.partner(partner)
    assert p is not None
    item_id = submit(gateway, order(f"PO-{partner.upper()}"), partner=partner)
    [sent] = sent_files(config, partner)
    assert sent[3:4] == element and version in sent
    line_ending = p.outbound.line_ending.encode()
    assert sent.split(p.outbound.terminator.encode())[1].startswith(line_ending + b"GS") if line_ending else True
    back = analyse_x12(sent)
    assert not [i for i in back.issues if i.is_error]
    ic = back.interchanges[0]
    settings = AckSettings(kind=p.ack.kind, ak2=p.ack.ak2, ta1=p.ack.ta1)
    ack = build_ack(ic.interchange, ic.groups, AckNumbers(77, 77), settings, dt.datetime.now(dt.UTC))
    assert ack is not None and f"ST{ack[3:4].decode()}{ack_kind}".encode() in ack
    ack_item = gateway.ingest(ack, channel="folder", partner_id=partner)
    gateway.pipeline.wait(ack_item.item_id)
    assert doc_states(gateway, item_id) == ["acknowledged"]
    assert exception_codes(gateway, ack_item.item_id) == []


def test_what_we_send_meets_the_partners_guide_overlay(gateway: Gateway, config: Config) -> None:
    from gateway.config import OverlayConfig

    acme = config.partner("acme")
    assert acme is not None
    acme.overlays.append(OverlayConfig(set="850", segments={"PO1": {"elements": {"3": {"codes": ["CA"]}}}}))
    item_id = submit(gateway, order("PO-OVL"))  # its lines are in EA and CA
    assert exception_codes(gateway, item_id) == ["OUTBOUND_INVALID"]
    assert sent_files(config) == []
