"""Envelope reader: control numbers, counts and structure checked, each finding on its envelope."""

from __future__ import annotations

from pathlib import Path

import pytest

from parsers.x12.reader import FileIssue, GroupEnd, InterchangeEnd, SetRead, read_x12
from tests.x12_factory import interchange, order_file, po_850

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "x12"


def collect(raw: bytes) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {"set": [], "group": [], "interchange": [], "file": [], "sets": []}
    for ev in read_x12(raw):
        if isinstance(ev, SetRead):
            out["sets"].append(ev.transaction_set.control_number)
            out["set"] += [i.code for i in ev.transaction_set.issues]
        elif isinstance(ev, GroupEnd):
            out["group"] += [i.code for i in ev.group.issues]
        elif isinstance(ev, InterchangeEnd):
            out["interchange"] += [i.code for i in ev.interchange.issues if i.is_error]
        elif isinstance(ev, FileIssue):
            out["file"].append(ev.issue.code)
    return out


def test_valid_interchange_has_no_envelope_findings() -> None:
    r = collect(order_file("PO1", 7))
    assert r == {"set": [], "group": [], "interchange": [], "file": [], "sets": ["0001"]}


def test_se_count_and_control_mismatch() -> None:
    raw = order_file("PO1", 1).replace(b"SE*16*0001", b"SE*15*0002")
    assert collect(raw)["set"] == ["X12_SE_CONTROL_MISMATCH", "X12_SE_COUNT"]


def test_missing_se_ge_iea() -> None:
    raw = order_file("PO1", 1)
    cut = raw[: raw.index(b"SE*")]
    r = collect(cut)
    assert r["set"] == ["X12_SE_MISSING"]
    assert r["group"] == ["X12_GE_MISSING"]
    assert r["interchange"] == ["X12_IEA_MISSING"]


def test_group_and_interchange_trailer_counts() -> None:
    raw = order_file("PO1", 5).replace(b"GE*1*5", b"GE*2*6").replace(b"IEA*1*000000005", b"IEA*3*000000009")
    r = collect(raw)
    assert r["group"] == ["X12_GE_CONTROL_MISMATCH", "X12_GE_SET_COUNT"]
    assert r["interchange"] == ["X12_IEA_CONTROL_MISMATCH", "X12_IEA_GROUP_COUNT"]


def test_duplicate_set_control_numbers_and_interchanges_in_one_file() -> None:
    raw = interchange([po_850("A", st_control="0001"), po_850("B", st_control="0001")], control=3)
    assert collect(raw)["set"] == ["X12_DUPLICATE_SET"]
    twice = collect(order_file("A", 4) + order_file("A", 4))
    assert twice["interchange"] == ["X12_DUPLICATE_INTERCHANGE"]


def test_functional_identifier_must_match_set() -> None:
    raw = order_file("PO1", 1).replace(b"GS*PO*", b"GS*IN*")
    assert collect(raw)["set"] == ["X12_FUNCTIONAL_ID_MISMATCH"]


def test_segments_outside_sets_and_bad_isa_values() -> None:
    raw = order_file("PO1", 1).replace(b"ST*850*0001~\n", b"REF*XX*1~\nST*850*0001~\n")
    assert "X12_ENVELOPE_STRUCTURE" in collect(raw)["group"]
    bad = order_file("PO1", 1).replace(b"*250310*0815*", b"*25031X*0815*")
    assert collect(bad)["interchange"] == ["X12_ISA_DATE"]


@pytest.mark.parametrize("name,expected", [
    ("kputnam__stupidedi__003010_PO850_fail_1.edi", "X12_SE_COUNT"),
    ("kputnam__stupidedi__004010_SH856_fail_2.edi", "X12_SE_COUNT"),
    ("kputnam__stupidedi__003050_PO850_fail_1.edi", "X12_ISA_INVALID"),
    ("kputnam__stupidedi__004010_PR855_fail_2.edi", "X12_ISA_INVALID"),
    ("aaronhuggins__node-x12__850_fat.edi", "X12_DUPLICATE_INTERCHANGE"),
])
def test_corpus_broken_files_are_flagged(name: str, expected: str) -> None:
    path = CORPUS / name
    if not path.exists():
        pytest.skip("shared corpus not present")
    r = collect(path.read_bytes())
    assert expected in r["set"] + r["group"] + r["interchange"]


def test_ta1_between_isa_and_gs_is_an_interchange_acknowledgement_not_an_error() -> None:
    raw = order_file("PO1", 1).replace(b"GS*PO*", b"TA1*000000777*250310*0815*A*000~\nGS*PO*", 1)
    events = list(read_x12(raw))
    end = next(ev for ev in events if isinstance(ev, InterchangeEnd))
    assert [s.get(1) for s in end.interchange.ta1s] == ["000000777"]
    assert collect(raw)["interchange"] == []
