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


def test_replay_after_a_configuration_fix_delivers_once(gateway: Gateway, config: Config) -> None:
    from gateway.config import PartnerIdentity
    from gateway.intake import replay

    original = run(gateway, order_file("PO-RP", 91, sender="NEWCOMER"), partner=None)
    assert exceptions(gateway, original) == ["UNKNOWN_PARTNER"]
    config.partners[0].identities.append(PartnerIdentity(qualifier="ZZ", id="NEWCOMER"))

    first = replay(gateway.engine, original, reason="partner NEWCOMER added to acme")
    gateway.pipeline.submit(first.item_id)
    gateway.pipeline.wait(first.item_id)
    assert item(gateway, first.item_id).state == "acknowledged"
    assert item(gateway, first.item_id).replay_of == original
    with session_scope(gateway.engine) as s:
        statuses = [e.status for e in s.exec(select(ExceptionRecord)
                                             .where(ExceptionRecord.item_id == original)).all()]
    assert statuses == ["resolved"]
    assert len(erp_files(config)) == 1

    second = replay(gateway.engine, first.item_id)
    gateway.pipeline.submit(second.item_id)
    gateway.pipeline.wait(second.item_id)
    with session_scope(gateway.engine) as s:
        doc = s.exec(select(DocumentRecord).where(DocumentRecord.item_id == second.item_id)).one()
    assert doc.state == "delivered"  # recorded as delivered ...
    assert len(erp_files(config)) == 1  # ... but the ERP got it once


def test_an_inbound_997_is_recorded_and_never_acknowledged(gateway: Gateway, config: Config) -> None:
    raw = (b"ISA*00*          *00*          *ZZ*ACMEBUYER      *ZZ*EDIGW          *250310*0815*U*00401*000000501*0*P*>~"
           b"GS*FA*ACMEBUYER*EDIGW*20250310*0815*501*X*004010~ST*997*0001~AK1*PO*7~AK9*A*1*1*1~SE*4*0001~"
           b"GE*1*501~IEA*1*000000501~")
    item_id = run(gateway, raw)
    assert item(gateway, item_id).state == "acknowledged"
    assert exceptions(gateway, item_id) == []
    assert outbound(config) == [] and erp_files(config) == []


def test_group_control_number_reused_across_interchanges_is_a_warning(gateway: Gateway, config: Config) -> None:
    from gateway.store.models import IssueRecord
    from tests.x12_factory import interchange, po_850

    run(gateway, interchange([po_850("PO-G1")], control=95, group_control=7))
    second = run(gateway, interchange([po_850("PO-G2")], control=96, group_control=7))
    with session_scope(gateway.engine) as s:
        codes = [i.code for i in s.exec(select(IssueRecord).where(IssueRecord.item_id == second)).all()]
    assert "X12_GROUP_CONTROL_REUSED" in codes
    assert item(gateway, second).state == "acknowledged"
    assert len(erp_files(config)) == 2


def test_a_bad_set_does_not_reject_its_neighbours_in_a_large_file(gateway: Gateway, config: Config) -> None:
    from tests.x12_factory import interchange, po_850

    sets = [po_850(f"PO-N{n:04d}", 2, st_control=f"{n + 1:04d}") for n in range(300)]
    sets[150] = [s.replace("PO1*1*11*EA", "PO1*1*11*XX") for s in sets[150]]  # one invalid unit code
    item_id = run(gateway, interchange(sets, control=555, group_control=555))
    assert len(erp_files(config)) == 299
    with session_scope(gateway.engine) as s:
        states = [d.state for d in s.exec(select(DocumentRecord).where(DocumentRecord.item_id == item_id)
                                          .order_by(DocumentRecord.position)).all()]
    assert states.count("delivered") == 299 and states[150] == "exception"
    ack = outbound(config)[0].read_bytes()
    assert ack.count(b"AK5*A") == 299 and ack.count(b"AK5*R") == 1
    assert b"AK9*P*300*300*299" in ack


def test_an_order_can_be_answered_with_an_855_as_soon_as_the_erp_has_it(gateway: Gateway, config: Config) -> None:
    globex = config.partner("globex")
    assert globex is not None
    globex.order_response = "on_delivery"
    raw = (SAMPLES / "x12" / "globex_850_004010VICS.edi").read_bytes()
    item_id = run(gateway, raw, partner="globex")
    assert item(gateway, item_id).state == "acknowledged"
    with session_scope(gateway.engine) as s:
        response = s.exec(select(ReceivedItem).where(ReceivedItem.source_name.startswith("855 for "))).one()
    gateway.pipeline.wait(response.id)
    sent = sorted((config.partner_dir("globex") / "outbound").glob("x12_*.x12"))
    assert len(sent) == 1
    data = sent[0].read_bytes()
    assert b"ST|855|" in data and b"BAK|00|AD|" in data  # globex's own delimiters, accepted with detail
    run(gateway, raw, partner="globex", name="again.edi")  # a duplicate is not answered twice
    assert len(sorted((config.partner_dir("globex") / "outbound").glob("x12_*.x12"))) == 1
