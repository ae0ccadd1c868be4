"""855 purchase order acknowledgment: guides, mapping to canonical, building, answering 850s, corpus, robustness."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mappings.canonical import Document, Identity
from mappings.x12.build_855 import LineChange, build_855, order_response_from_order
from mappings.x12.guide import load_guide
from mappings.x12.map_850 import map_850
from mappings.x12.map_855 import combine_statuses, map_855
from mappings.x12.translate import map_set
from mappings.x12.validate import validate_set
from parsers.issues import Issue
from parsers.x12.reader import InterchangeEnd, SetRead, TransactionSet, read_x12
from parsers.x12.segments import Delimiters
from parsers.x12.writer import GroupData, build_isa, write_interchange

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples" / "x12"
CORPUS = REPO.parent / "shared" / "corpus" / "x12"
SAMPLE_855 = sorted(SAMPLES.glob("*855*.edi"))
SAMPLE_850 = sorted(SAMPLES.glob("*850*.edi"))
NOW = dt.datetime(2025, 6, 2, 10, 30)


def sets_of(data: bytes) -> list[TransactionSet]:
    return [ev.transaction_set for ev in read_x12(data) if isinstance(ev, SetRead)]


def guide_errors(ts: TransactionSet) -> list[Issue]:
    guide, _ = load_guide(ts.set_id, ts.implementation_ref)
    assert guide is not None
    return [i for i in validate_set(ts, guide) if i.is_error]


def interchange(body: list[list[str]], version: str = "004010", sender: Identity | None = None,
                receiver: Identity | None = None) -> bytes:
    """An 855 body wrapped the way the outbound side will wrap it: build_isa + write_interchange."""
    sender = sender or Identity(qualifier="ZZ", id="ACMEBUYER")
    receiver = receiver or Identity(qualifier="ZZ", id="EDIGW")
    isa12 = "00501" if version.startswith("005") else "00401"
    delimiters = Delimiters(repetition="^") if isa12 == "00501" else Delimiters()
    isa = build_isa(sender=(sender.qualifier, sender.id), receiver=(receiver.qualifier, receiver.id),
                    control_number=917, now=NOW, delimiters=delimiters, version=isa12)
    gs: list[Any] = ["GS", "PR", sender.id, receiver.id, "20250602", "1030", "917", "X", version]
    group = GroupData(gs, [[["ST", "855", "0001"], *body]])
    return write_interchange(isa, [group], delimiters)


def text_body(segments: list[str]) -> list[list[str]]:
    return [s.split("*") for s in segments]


def map_text(segments: list[str], version: str = "004010") -> tuple[Document, list[Issue], TransactionSet]:
    (ts,) = sets_of(interchange(text_body(segments), version))
    doc, issues = map_855(ts)
    return doc, issues, ts


def codes(issues: list[Issue]) -> list[str]:
    return [i.code for i in issues]


GOOD = [
    "BAK*00*AC*PO-9*20250601****SO-9*20250602",
    "PO1*1*10*EA*2.50**UP*012345678905*VP*A1",
    "ACK*IA*10*EA",
    "PO1*2*4*EA*1.25**VP*A2",
    "ACK*IA*3*EA",
    "ACK*IB*1*EA*068*20250620",
    "PO1*3*5*EA*3**VP*A3",
    "ACK*IR*5*EA",
    "CTT*3*19",
]


# -- samples ------------------------------------------------------------------------------------------


def test_there_are_three_855_samples() -> None:
    names = {p.stem for p in SAMPLE_855}
    assert names == {"acme_855_004010_accepted", "globex_855_004010_changes", "acme_855_005010_rejected"}
    assert all(p.with_suffix(".json").is_file() for p in SAMPLE_855)


@pytest.mark.parametrize("path", SAMPLE_855, ids=lambda p: p.name)
def test_sample_passes_its_guide_and_envelope(path: Path) -> None:
    data = path.read_bytes()
    assert data[103:106] in (b"*>~", b"*>\r")  # fixed-width ISA: ISA16 and the terminator at 104-105
    for ev in read_x12(data):
        if isinstance(ev, InterchangeEnd):
            assert not ev.interchange.envelope_errors
        if isinstance(ev, SetRead):
            ts = ev.transaction_set
            assert ts.group.functional_id == "PR"
            assert not [i for i in ts.issues if i.is_error]
            assert guide_errors(ts) == []


@pytest.mark.parametrize("path", SAMPLE_855, ids=lambda p: p.name)
def test_sample_maps_to_its_json(path: Path) -> None:
    expected = json.loads(path.with_suffix(".json").read_text())
    produced = []
    for ts in sets_of(path.read_bytes()):
        doc, issues = map_set(ts, strict=True)  # found by module name: map_855
        assert doc is not None and issues == []
        produced.append(doc.to_json_dict())
    assert produced == expected


def test_sample_contents() -> None:
    docs = {p.stem: json.loads(p.with_suffix(".json").read_text())[0] for p in SAMPLE_855}
    accepted = docs["acme_855_004010_accepted"]
    assert (accepted["kind"], accepted["number"], accepted["po_number"]) == ("order_response", "SO-778120",
                                                                              "EG-PO-20250301")
    assert accepted["date"] == "2025-03-01" and accepted["dates"]["acknowledged"] == "2025-03-11"
    assert accepted["references"]["ack_type"] == "AD" and accepted["references"]["outcome"] == "accepted"
    assert [ln["status"] for ln in accepted["lines"]] == ["accepted"] * 3
    changes = docs["globex_855_004010_changes"]
    assert changes["sender"] == {"qualifier": "01", "id": "123456789"}
    assert changes["references"]["outcome"] == "accepted_with_changes"
    assert [ln["status"] for ln in changes["lines"]] == ["accepted", "backordered", "rejected", "changed",
                                                          "changed"]
    assert [ln["quantity"] for ln in changes["lines"]] == ["48", "24", "36", "12", "6"]  # as ordered
    assert changes["references"]["line.2.ack"] == "IA 14 EA @068:20250408; IB 10 EA @068:20250422"
    assert changes["references"]["line.4.ack"] == "IQ 10 EA"  # 10 of the 12 ordered
    rejected = docs["acme_855_005010_rejected"]
    assert rejected["source"]["version"] == "005010" and rejected["lines"] == []
    assert (rejected["number"], rejected["references"]["ack_type"], rejected["references"]["outcome"]) == (
        "EG-PO-20250515", "RJ", "rejected")


# -- mapping rules -------------------------------------------------------------------------------------


def test_good_acknowledgment() -> None:
    doc, issues, _ = map_text(GOOD)
    assert issues == []
    assert (doc.number, doc.po_number, doc.date) == ("SO-9", "PO-9", dt.date(2025, 6, 1))
    assert doc.dates == {"acknowledged": dt.date(2025, 6, 2)}
    assert [ln.status for ln in doc.lines] == ["accepted", "backordered", "rejected"]
    assert [ln.quantity for ln in doc.lines] == [Decimal(10), Decimal(4), Decimal(5)]
    assert doc.lines[0].item_ids == {"upc": "012345678905", "vendor_part": "A1"}
    assert doc.references["line.2.ack"] == "IA 3 EA; IB 1 EA @068:20250620"
    assert "line.1.ack" not in doc.references and "line.3.ack" not in doc.references
    assert doc.totals.line_count == 3 and doc.totals.quantity == Decimal(19)


def test_number_falls_back_to_po_number() -> None:
    doc, issues, _ = map_text(["BAK*06*AK*PO-77*20250601", "CTT*0"])
    assert issues == [] and (doc.number, doc.po_number, doc.purpose) == ("PO-77", "PO-77", "confirmation")
    assert doc.references == {"ack_type": "AK", "outcome": "accepted"} and "acknowledged" not in doc.dates


@pytest.mark.parametrize(("ack_type", "outcome"), [
    ("AC", "accepted_with_changes"), ("AD", "accepted"), ("AE", "accepted_with_changes"), ("AK", "accepted"),
    ("AT", "accepted"), ("RD", "rejected"), ("RJ", "rejected"), ("RO", "rejected"), ("AH", "on_hold")])
def test_ack_types(ack_type: str, outcome: str) -> None:
    doc, issues, _ = map_text([f"BAK*00*{ack_type}*PO-1*20250601"])
    assert issues == [] and doc.references["outcome"] == outcome and doc.references["ack_type"] == ack_type


def test_unknown_ack_type_is_a_warning_without_outcome() -> None:
    doc, issues, _ = map_text(["BAK*00*QQ*PO-1*20250601"])
    assert codes(issues) == ["X12_ACK_TYPE_UNKNOWN"] and "outcome" not in doc.references
    assert issues[0].location.endswith("BAK02") and issues[0].x12 is not None and issues[0].x12.segment_position == 2


@pytest.mark.parametrize(("acks", "status"), [
    (["ACK*IA*10*EA"], "accepted"), (["ACK*AC*10*EA"], "accepted"), (["ACK*AR"], "accepted"),
    (["ACK*IC"], "changed"), (["ACK*IP*10*EA"], "changed"), (["ACK*IQ*8*EA"], "changed"),
    (["ACK*IS*10*EA"], "changed"), (["ACK*DR*10*EA*068*20250701"], "changed"),
    (["ACK*IR*10*EA"], "rejected"), (["ACK*ID"], "rejected"), (["ACK*R2"], "rejected"),
    (["ACK*IB*10*EA"], "backordered"), (["ACK*BP*10*EA"], "backordered"), (["ACK*IH"], "on_hold"),
    (["ACK*IA*6*EA", "ACK*IB*4*EA"], "backordered"), (["ACK*IA*6*EA", "ACK*IR*4*EA"], "changed"),
    (["ACK*IR*6*EA", "ACK*R2*4*EA"], "rejected"), ([], None)])
def test_line_statuses(acks: list[str], status: str | None) -> None:
    doc, issues, _ = map_text(["BAK*00*AC*PO-1*20250601", "PO1*1*10*EA*2**VP*A", *acks, "CTT*1"])
    assert issues == []
    assert doc.lines[0].status == status


def test_combine_statuses() -> None:
    assert combine_statuses([]) is None
    assert combine_statuses(["accepted", "accepted"]) == "accepted"
    assert combine_statuses(["changed", "backordered"]) == "changed"


def test_unknown_line_status() -> None:
    doc, issues, _ = map_text(["BAK*00*AC*PO-1*20250601", "PO1*1*10*EA", "ACK*ZZ", "CTT*1"])
    assert codes(issues) == ["X12_LINE_STATUS_UNKNOWN"] and doc.lines[0].status is None
    assert issues[0].location.endswith("ACK01") and "ZZ" in issues[0].message
    assert doc.references["line.1.ack"] == "ZZ"


def test_ctt_line_count_error_has_its_place() -> None:
    _, issues, _ = map_text([*GOOD[:-1], "CTT*2*19"])
    (issue,) = issues
    assert (issue.code, issue.severity) == ("X12_CTT_LINE_COUNT", "error")
    assert issue.location.startswith("segment 12 (CTT) at byte ") and issue.location.endswith(", CTT01")
    assert issue.x12 is not None and (issue.x12.segment_id, issue.x12.segment_position,
                                      issue.x12.element_position, issue.x12.value) == ("CTT", 10, 1, "2")
    assert "CTT01 says 2" in issue.message and "3 PO1" in issue.message


def test_ctt_hash_total_may_hash_ack_quantities() -> None:
    _, issues, _ = map_text([*GOOD[:-1], "CTT*3*14"])  # neither the PO102 nor the ACK02 sum
    assert codes(issues) == ["X12_CTT_HASH_TOTAL"] and issues[0].severity == "warning"
    _, issues, _ = map_text([*GOOD[:-1], "CTT*3*19"])  # PO102 sum
    assert issues == []
    _, issues, _ = map_text(["BAK*00*AC*PO-1*20250601", "PO1*1*10*EA", "ACK*IA*7*EA", "CTT*1*7"])  # ACK02 sum
    assert issues == []


def test_gtin_check_digits_everywhere() -> None:
    _, issues, _ = map_text(["BAK*00*AC*PO-1*20250601", "PO1*1*10*EA*1**UP*012345678905*EN*4006381333931",
                             "ACK*IS*10*EA****UK*10012345678902", "CTT*1"])
    assert issues == []
    _, issues, _ = map_text(["BAK*00*AC*PO-1*20250601", "PO1*1*10*EA*1**VP*X*UP*012345678901",
                              "LIN**EN*4006381333932", "ACK*IS*10*EA****UK*1001234567890X", "CTT*1"])
    assert codes(issues) == ["X12_GTIN_CHECK_DIGIT"] * 3
    po1, lin, ack = issues
    assert po1.location.endswith("(PO1) at byte " + po1.location.split("byte ")[1].split(",")[0] + ", PO109")
    assert "should be 5, not 1" in po1.message and po1.x12 is not None and po1.x12.element_position == 9
    assert lin.location.endswith("LIN03") and lin.x12 is not None and lin.x12.value == "4006381333932"
    assert ack.location.endswith("ACK08") and "not all digits" in ack.message


def test_ad_with_changed_lines_is_flagged() -> None:
    _, issues, _ = map_text(["BAK*00*AD*PO-1*20250601", "PO1*1*10*EA", "ACK*IR*10*EA", "CTT*1"])
    assert codes(issues) == ["X12_ACK_TYPE_LINES_DISAGREE"] and issues[0].severity == "warning"


def test_missing_bak_and_bad_values() -> None:
    doc, issues, _ = map_text(["PO1*1*10*EA", "ACK*IA*x*EA", "CTT*1"])
    assert codes(issues) == ["X12_PO_NUMBER_MISSING", "X12_INVALID_QUANTITY"]
    assert doc.kind == "order_response" and doc.po_number is None
    _, issues, _ = map_text(["BAK*00*AC**20251340"])
    assert codes(issues) == ["X12_PO_NUMBER_MISSING", "X12_INVALID_DATE"]


# -- the shared corpus of real files --------------------------------------------------------------------

# file -> (PO number, number, ack type, [(quantity, status)], mapping issue codes, broken envelope)
CORPUS_855: dict[str, tuple[str, str, str, list[tuple[str, str | None]], list[str], bool]] = {
    "aaronhuggins__node-x12__855.edi": (
        "POTEST1112", "POTEST1112", "AD",
        [("3", "accepted"), ("2", "rejected"), ("1", "rejected"), ("2", "accepted")],
        ["X12_ACK_TYPE_LINES_DISAGREE"], False),  # AD 'no change' yet two lines IR
    "kputnam__stupidedi__004010_PR855_pass_1.edi": ("1D711419", "338093", "AT", [("72", None)], [], False),
    "kputnam__stupidedi__004010_PR855_fail_2.edi": (
        "8000000418", "349037459001", "AC", [("2", None), ("6", None)], [], True),  # ISA split over lines
    "kputnam__stupidedi__004010_X358_SC855_pass_basic-po-ack-accepted.edi": ("XX-1234", "XX-1234", "AT", [], [],
                                                                             False),
    "kputnam__stupidedi__004010_X358_SC855_pass_basic-po-ack-rejected.edi": ("XX-1234", "XX-1234", "RJ", [], [],
                                                                             False),
    "kputnam__stupidedi__004010_X358_SC855_pass_po-ack-minor-changes.edi": (
        "XX-1234", "XX-1234", "AC", [("25", "changed"), ("75", "accepted"), ("48", "rejected")], [], False),
}


@pytest.mark.parametrize("name", sorted(CORPUS_855))
def test_corpus_855(name: str) -> None:
    path = CORPUS / name
    if not path.is_file():
        pytest.skip(f"corpus file {name} is absent")
    po_number, number, ack_type, lines, issue_codes, broken = CORPUS_855[name]
    events = list(read_x12(path.read_bytes()))
    ends = [ev.interchange for ev in events if isinstance(ev, InterchangeEnd)]
    assert bool(ends[0].envelope_errors) == broken
    if broken:
        assert "X12_ISA_INVALID" in codes(ends[0].envelope_errors)
    (ts,) = [ev.transaction_set for ev in events if isinstance(ev, SetRead)]
    doc, issues = map_set(ts, strict=True)
    assert doc is not None and doc.kind == "order_response"
    assert (doc.po_number, doc.number, doc.references["ack_type"]) == (po_number, number, ack_type)
    assert [(format(ln.quantity, "f") if ln.quantity is not None else None, ln.status) for ln in doc.lines] == lines
    assert codes(issues) == issue_codes
    if name.startswith("kputnam__stupidedi__004010_X358"):
        assert ts.group.functional_id == "SC" and ts.implementation_ref == "004010X358"
        assert doc.purpose == "response"


def test_corpus_x358_changes_keep_the_ack_details() -> None:
    path = CORPUS / "kputnam__stupidedi__004010_X358_SC855_pass_po-ack-minor-changes.edi"
    if not path.is_file():
        pytest.skip("corpus file absent")
    (ts,) = sets_of(path.read_bytes())
    doc, _ = map_855(ts)
    assert doc.references["line.1.ack"] == "IP; DR @106:20170520; IQ 20 -; IS +MG:XX-1234-A"
    # the standard pairs ACK02 with ACK03 (P0203); this fixture sends ACK*IQ*20 without a unit
    assert [(i.code, i.location.split(", ")[-1]) for i in guide_errors(ts)] == [("X12_SYNTAX_PAIRED", "ACK03")]


# -- building and round trips ------------------------------------------------------------------------


def _sample_docs() -> list[Document]:
    return [Document.from_json_dict(d) for p in SAMPLE_855 for d in json.loads(p.with_suffix(".json").read_text())]


def _round_trip(doc: Document, version: str) -> tuple[Document, TransactionSet]:
    data = interchange(build_855(doc, version), version, doc.sender, doc.receiver)
    (ts,) = sets_of(data)
    assert not [i for i in ts.issues if i.is_error]
    again, issues = map_855(ts)
    assert issues == []
    return again, ts


def _without_source(doc: Document) -> dict[str, Any]:
    data = doc.to_json_dict()
    data.pop("source")
    return data


@pytest.mark.parametrize("doc", _sample_docs(), ids=lambda d: d.number or "?")
def test_round_trip_of_every_sample(doc: Document) -> None:
    version = doc.source.version or "004010"
    again, ts = _round_trip(doc, version)
    assert _without_source(again) == _without_source(doc)
    assert guide_errors(ts) == []


def test_build_shape() -> None:
    (doc,) = [d for d in _sample_docs() if d.po_number == "EG-PO-20250402"]
    body = build_855(doc, "004010")
    assert body[0] == ["BAK", "00", "AC", "EG-PO-20250402", "20250402", "", "", "", "GX-SO-55102", "20250403"]
    assert [s for s in body if s[0] == "ACK"][:3] == [["ACK", "IA", "48", "EA", "068", "20250408"],
                                                     ["ACK", "IA", "14", "EA", "068", "20250408"],
                                                     ["ACK", "IB", "10", "EA", "068", "20250422"]]
    assert body[-1] == ["CTT", "5", "126"] or body[-2] == ["CTT", "5", "126"]
    assert not any(s[0] in ("ST", "SE") for s in body)


def test_build_refuses_what_an_855_cannot_say() -> None:
    (doc,) = [d for d in _sample_docs() if d.po_number == "EG-PO-20250301"]
    with pytest.raises(ValueError, match="BAK03"):
        build_855(doc.model_copy(update={"po_number": None}), "004010")
    with pytest.raises(ValueError, match="status"):
        build_855(doc.model_copy(update={"lines": [doc.lines[0].model_copy(update={"status": "maybe"})]}), "004010")
    with pytest.raises(ValueError, match="order responses"):
        build_855(doc.model_copy(update={"kind": "order"}), "004010")


def _orders() -> list[Document]:
    docs = []
    for path in SAMPLE_850:
        for ts in sets_of(path.read_bytes()):
            doc, _ = map_850(ts)
            docs.append(doc)
    return docs


@pytest.mark.parametrize("order", _orders(), ids=lambda d: d.number or "?")
def test_order_response_from_each_850_sample(order: Document) -> None:
    response = order_response_from_order(order, acknowledged=dt.date(2025, 6, 2))
    assert response.kind == "order_response" and response.po_number == order.number
    assert response.sender == order.receiver and response.receiver == order.sender
    assert response.references["outcome"] == "accepted" and response.references["ack_type"] == "AD"
    assert [ln.status for ln in response.lines] == ["accepted"] * len(order.lines)
    version = order.source.version or "004010"
    again, ts = _round_trip(response, version)
    assert guide_errors(ts) == []
    assert _without_source(again) == _without_source(response)


def test_order_response_with_changes() -> None:
    order = next(o for o in _orders() if o.number == "ACME-4501877")
    changes: dict[str, LineChange] = {
        "1": {"status": "backordered", "quantity": Decimal(10), "date": dt.date(2025, 4, 1)},
        "2": {"status": "rejected"},
        "3": {"code": "IQ", "quantity": Decimal(1)},
    }
    response = order_response_from_order(order, changes=changes, acknowledged=dt.date(2025, 3, 11),
                                         seller_order="SO-1")
    assert response.references["ack_type"] == "AC" and response.references["outcome"] == "accepted_with_changes"
    assert response.number == "SO-1"
    assert [ln.status for ln in response.lines] == ["backordered", "rejected", "changed"]
    assert response.references["line.1.ack"] == "IB 10 EA @068:20250401"
    assert "line.2.ack" not in response.references  # IR for the whole ordered quantity: the status says it
    assert response.references["line.3.ack"] == "IQ 1 EA"
    again, ts = _round_trip(response, "004010")
    assert guide_errors(ts) == [] and _without_source(again) == _without_source(response)
    rejected = order_response_from_order(order, "rejected", acknowledged=dt.date(2025, 3, 11))
    assert rejected.references["ack_type"] == "RD" and {ln.status for ln in rejected.lines} == {"rejected"}
    with pytest.raises(ValueError, match="line"):
        order_response_from_order(order, changes={"99": {"status": "rejected"}})


def test_vics_flavour_guide_accepts_a_generated_855() -> None:
    order = next(o for o in _orders() if o.source.version == "004010VICS")
    response = order_response_from_order(order, acknowledged=dt.date(2025, 4, 3))
    data = interchange(build_855(response, "004010VICS"), "004010VICS", response.sender, response.receiver)
    (ts,) = sets_of(data)
    guide, _ = load_guide("855", "004010VICS")
    assert guide is not None and "overlay" in guide.source
    assert [i for i in validate_set(ts, guide) if i.is_error] == []
    # VICS makes CTT mandatory
    (bare,) = sets_of(interchange([s for s in build_855(response, "004010VICS") if s[0] not in ("CTT", "AMT")],
                                  "004010VICS"))
    missing = [i for i in validate_set(bare, guide) if i.is_error]
    assert [(i.code, i.x12.segment_id if i.x12 else "") for i in missing] == [("X12_MANDATORY_SEGMENT_MISSING", "CTT")]


# -- robustness -------------------------------------------------------------------------------------


element_text = st.text(alphabet=st.sampled_from(list("0123456789.-+ ABCDEFGHIKPQRTUVZ:^,eE\u00e9")), max_size=14)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sample=st.sampled_from(SAMPLE_855), data=st.data())
def test_mutated_elements_never_make_map_855_raise(sample: Path, data: st.DataObject) -> None:
    (ts,) = sets_of(sample.read_bytes())
    for _ in range(data.draw(st.integers(min_value=1, max_value=8))):
        seg = ts.segments[data.draw(st.integers(min_value=0, max_value=len(ts.segments) - 1))]
        position = data.draw(st.integers(min_value=0, max_value=len(seg.elements) + 2))
        value = data.draw(element_text)
        while len(seg.elements) <= position:
            seg.elements.append("")
        seg.elements[position] = value
    doc, issues = map_855(ts)
    json.dumps(doc.to_json_dict())
    assert all(isinstance(i, Issue) for i in issues)
    _, more = map_set(ts, strict=True)
    assert all(isinstance(i, Issue) for i in more)
