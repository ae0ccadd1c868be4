"""The spine in-process, on SQLite and PostgreSQL: store first, map, validate, deliver once, acknowledge."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select

from gateway.config import Config
from gateway.processing import analyse_item
from gateway.service import Gateway
from gateway.store.db import session_scope
from gateway.store.models import Acknowledgement, DocumentRecord, ExceptionRecord, ReceivedItem
from parsers.x12.reader import SetRead, read_x12
from tests.conftest import SAMPLES
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


def run(gw: Gateway, raw: bytes, partner: str | None = "acme", name: str = "in.edi") -> str:
    received = gw.ingest(raw, channel="folder", partner_id=partner, source_name=name)
    if received.needs_processing:
        gw.pipeline.wait(received.item_id)
    return received.item_id


def item(gw: Gateway, item_id: str) -> ReceivedItem:
    with session_scope(gw.engine) as s:
        it = s.get(ReceivedItem, item_id)
        assert it is not None
        return it


def exceptions(gw: Gateway, item_id: str) -> list[str]:
    with session_scope(gw.engine) as s:
        return [e.code for e in s.exec(select(ExceptionRecord).where(ExceptionRecord.item_id == item_id)).all()]


def erp_files(config: Config) -> list[Path]:
    return sorted(config.erp.path.glob("*.json")) if config.erp.path.exists() else []


def outbound(config: Config, partner: str = "acme") -> list[Path]:
    folder = config.partner_dir(partner) / "outbound"
    return sorted(folder.glob("*.x12")) if folder.exists() else []


def test_sample_order_is_delivered_once_and_acknowledged(gateway: Gateway, config: Config) -> None:
    raw = (SAMPLES / "x12" / "acme_850_004010.edi").read_bytes()
    expected = json.loads((SAMPLES / "x12" / "acme_850_004010.json").read_text())
    item_id = run(gateway, raw)
    assert item(gateway, item_id).state == "acknowledged"
    files = erp_files(config)
    assert len(files) == 1
    delivered = json.loads(files[0].read_text())
    assert delivered["source"]["channel"] == "folder"
    delivered["source"]["channel"] = expected[0]["source"]["channel"]
    assert delivered == expected[0]
    acks = outbound(config)
    assert len(acks) == 1
    sets = [ev.transaction_set for ev in read_x12(acks[0].read_bytes()) if isinstance(ev, SetRead)]
    assert [s.set_id for s in sets] == ["997"]
    assert any(seg.tag == "AK5" and seg.get(1) == "A" for seg in sets[0].segments)
    with session_scope(gateway.engine) as s:
        doc = s.exec(select(DocumentRecord).where(DocumentRecord.item_id == item_id)).one()
        assert doc.state == "delivered" and doc.number == expected[0]["number"]


def test_identical_bytes_are_a_duplicate_and_never_processed_twice(gateway: Gateway, config: Config) -> None:
    raw = order_file("PO-DUP", 11)
    first = run(gateway, raw)
    second = run(gateway, raw, name="again.edi")
    assert item(gateway, second).state == "duplicate"
    assert item(gateway, second).duplicate_of == first
    assert len(erp_files(config)) == 1 and len(outbound(config)) == 1


def test_reused_interchange_control_number_is_an_exception(gateway: Gateway, config: Config) -> None:
    run(gateway, order_file("PO-A", 21))
    second = run(gateway, order_file("PO-B", 21))
    assert "X12_DUPLICATE_INTERCHANGE" in exceptions(gateway, second)
    assert len(erp_files(config)) == 1
    assert len(outbound(config)) == 2  # the partner still hears about it (TA1/997 with the error)


@pytest.mark.parametrize("raw,code", [
    (b"", "UNSUPPORTED_FORMAT"),
    (b"\x00\x01garbage" * 1000, "UNSUPPORTED_FORMAT"),
    (order_file("PO-T", 31)[:300], "X12_TRUNCATED"),
])
def test_unreadable_inputs_become_exceptions(gateway: Gateway, config: Config, raw: bytes, code: str) -> None:
    item_id = run(gateway, raw)
    assert item(gateway, item_id).state == "exception"
    assert code in exceptions(gateway, item_id)
    assert erp_files(config) == []


def test_unknown_partner_is_an_exception_without_an_ack(gateway: Gateway, config: Config) -> None:
    item_id = run(gateway, order_file("PO-U", 41, sender="STRANGER"), partner=None)
    assert exceptions(gateway, item_id) == ["UNKNOWN_PARTNER"]
    assert item(gateway, item_id).state == "exception"
    assert erp_files(config) == [] and outbound(config) == []


def test_partner_recognised_from_content_in_shared_inbound(gateway: Gateway, config: Config) -> None:
    item_id = run(gateway, order_file("PO-S", 42), partner=None)
    assert item(gateway, item_id).partner_id == "acme"
    assert item(gateway, item_id).state == "acknowledged"
    assert len(outbound(config, "acme")) == 1


def test_analysis_runs_once_even_when_called_again(gateway: Gateway, config: Config) -> None:
    item_id = run(gateway, order_file("PO-R", 51))
    again = analyse_item(gateway.engine, config, item_id)
    assert again.deliver == [] or len(again.deliver) == 1
    with session_scope(gateway.engine) as s:
        assert len(s.exec(select(DocumentRecord).where(DocumentRecord.item_id == item_id)).all()) == 1
        assert len(s.exec(select(Acknowledgement).where(Acknowledgement.item_id == item_id)).all()) == 1


def test_ack_control_numbers_come_from_per_partner_counters(gateway: Gateway, config: Config) -> None:
    for n in range(3):
        run(gateway, order_file(f"PO-C{n}", 60 + n))
    controls = sorted(p.read_bytes()[90:99].decode() for p in outbound(config))
    assert controls == ["000000001", "000000002", "000000003"]


def test_invalid_order_is_held_and_rejected_in_the_997(gateway: Gateway, config: Config) -> None:
    raw = order_file("PO-BAD", 71).replace(b"CTT*3", b"CTT*9")
    item_id = run(gateway, raw)
    assert "X12_CTT_LINE_COUNT" in exceptions(gateway, item_id)
    assert erp_files(config) == []
    ack = outbound(config)[0].read_bytes()
    assert b"AK5*R" in ack and b"AK9*R" in ack


def test_test_interchange_never_reaches_the_erp(gateway: Gateway, config: Config) -> None:
    item_id = run(gateway, order_file("PO-TEST", 81, usage="T"))
    assert erp_files(config) == []
    assert len(outbound(config)) == 1
    with session_scope(gateway.engine) as s:
        doc = s.exec(select(DocumentRecord).where(DocumentRecord.item_id == item_id)).one()
        assert doc.test and doc.state == "validated"
