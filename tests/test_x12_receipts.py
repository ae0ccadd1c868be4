"""X12 861 receiving advice and 944 warehouse receipt advice: guides, mapping to a canonical `receipt`."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from mappings.canonical import Document
from mappings.x12.guide import load_guide
from mappings.x12.map_861 import map_861
from mappings.x12.map_944 import map_944
from mappings.x12.translate import map_set, mapper_for
from mappings.x12.validate import validate_set
from parsers.issues import Issue
from parsers.x12.reader import SetRead, TransactionSet, read_x12

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "x12"
SAMPLE_FILES = sorted([*SAMPLES.glob("*861*.edi"), *SAMPLES.glob("*944*.edi")])


def interchange(set_id: str, body: list[str], version: str = "004010") -> bytes:
    isa12, rep = ("00501", "^") if version.startswith("005") else ("00401", "U")
    isa = (f"ISA*00*          *00*          *ZZ*{'ACMEBUYER':<15}*ZZ*{'EDIGW':<15}*250320*0915*{rep}*{isa12}*"
           "000000201*0*P*>")
    gs01 = {"861": "RC", "944": "RE"}[set_id]
    segs = [f"ST*{set_id}*0001", *body]
    segs.append(f"SE*{len(segs) + 1}*0001")
    return ("~".join([isa, f"GS*{gs01}*ACMEBUYER*EDIGW*20250320*0915*201*X*{version}", *segs, "GE*1*201",
                      "IEA*1*000000201"]) + "~").encode()


def one_set(set_id: str, body: list[str], version: str = "004010") -> TransactionSet:
    (ts,) = [ev.transaction_set for ev in read_x12(interchange(set_id, body, version)) if isinstance(ev, SetRead)]
    return ts


def validate(set_id: str, body: list[str], version: str = "004010") -> list[Issue]:
    ts = one_set(set_id, body, version)
    guide, _ = load_guide(set_id, ts.implementation_ref)
    assert guide is not None
    return validate_set(ts, guide)


def codes(issues: list[Issue]) -> list[str]:
    return [i.code for i in issues]


def replace(body: list[str], prefix: str, new: str | None) -> list[str]:
    out = list(body)
    at = next(i for i, s in enumerate(out) if s.startswith(prefix))
    if new is None:
        del out[at]
    else:
        out[at] = new
    return out


R861 = [
    "BRA*RCV-1*20250320*00*1",
    "DTM*050*20250320",
    "PRF*PO-1",
    "N1*ST*DC 3*92*DC03",
    "RCD*1*24*EA",
    "LIN*1*BP*A1*UP*012345678905",
    "RCD*2*5*CA*1*CA",
    "LIN*2*BP*A2",
    "REF*LI*7",
    "CTT*2",
]
R944 = [
    "W17*F*20250321*WR-1*DEP-9",
    "N1*WH*3PL*92*WH07",
    "N9*PO*PO-1",
    "G62*09*20250321",
    "LX*1",
    "W07*24*EA**BP*A1*UP*012345678905",
    "N9*LI*1",
    "LX*2",
    "W07*6*CA**BP*A2",
    "N9*LI*2",
    "W14*30",
]


# -- guides ------------------------------------------------------------------------------------------


def test_guides_load_for_both_versions_and_mappers_are_found() -> None:
    for set_id in ("861", "944"):
        for version in ("004010", "005010"):
            guide, issues = load_guide(set_id, version)
            assert guide is not None and guide.version == version and issues == []
    assert mapper_for("861") is map_861 and mapper_for("944") is map_944
    assert validate("861", R861) == [] and validate("944", R944) == []
    assert validate("944", R944, "005010") == []


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: p.name)
def test_guide_accepts_the_samples(path: Path) -> None:
    for ev in read_x12(path.read_bytes()):
        if isinstance(ev, SetRead):
            guide, issues = load_guide(ev.transaction_set.set_id, ev.transaction_set.implementation_ref)
            assert guide is not None and issues == []
            assert validate_set(ev.transaction_set, guide) == []


def test_861_guide_errors_name_the_segment_and_element() -> None:
    missing = validate("861", replace(R861, "BRA", "BRA*RCV-1*20250320*00"))
    assert codes(missing) == ["X12_MANDATORY_ELEMENT_MISSING"]
    assert missing[0].x12 is not None and missing[0].x12.segment_id == "BRA" and missing[0].x12.element_position == 4
    bad = validate("861", replace(R861, "RCD*1", "RCD*1*2X4*EA"))
    assert codes(bad) == ["X12_INVALID_NUMBER"] and bad[0].x12 is not None and bad[0].x12.element_ref == "663"
    # a unit without its quantity (C0302), and the heading segment without BRA at all
    assert "X12_SYNTAX_CONDITIONAL" in codes(validate("861", replace(R861, "RCD*1", "RCD*1**EA")))
    assert "X12_MANDATORY_SEGMENT_MISSING" in codes(validate("861", replace(R861, "BRA", None)))
    # LIN after the RCD loop's PID is in sequence; PRF before LIN is not
    out_of_order = validate("861", [*R861[:5], "PRF*PO-1", "LIN*1*BP*A1", *R861[6:]])
    assert "X12_SEGMENT_OUT_OF_SEQUENCE" in codes(out_of_order)


def test_944_guide_errors_name_the_segment_and_element() -> None:
    no_id = validate("944", replace(R944, "W07*6", "W07*6*CA"))  # neither a case code nor an id (R0304)
    assert codes(no_id) == ["X12_SYNTAX_REQUIRED"] and no_id[0].x12 is not None
    assert no_id[0].x12.segment_id == "W07"
    assert codes(validate("944", replace(R944, "W07*6", "W07*six*CA**BP*A2"))) == ["X12_INVALID_NUMBER"]
    assert codes(validate("944", replace(R944, "W14", None))) == ["X12_MANDATORY_SEGMENT_MISSING"]
    assert codes(validate("944", replace(R944, "W17", "W17*F*20250321"))) == ["X12_MANDATORY_ELEMENT_MISSING"]
    # W07 loops without LX are the other common shape
    assert validate("944", [s for s in R944 if not s.startswith("LX")]) == []


# -- samples -------------------------------------------------------------------------------------------


def test_there_is_a_sample_of_each() -> None:
    assert {p.name for p in SAMPLE_FILES} == {"acme_861_004010.edi", "acme_944_005010.edi"}


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: p.name)
def test_sample_maps_to_its_json(path: Path) -> None:
    expected: list[dict[str, Any]] = json.loads(path.with_suffix(".json").read_text())
    produced = []
    for ev in read_x12(path.read_bytes()):
        if isinstance(ev, SetRead):
            doc, issues = map_set(ev.transaction_set, strict=True)
            assert doc is not None and issues == []
            produced.append(doc.to_json_dict())
    assert produced == expected
    assert [Document.from_json_dict(d).to_json_dict() for d in expected] == expected


# -- mapping -----------------------------------------------------------------------------------------


def test_861_lines_carry_what_matching_needs() -> None:
    doc, issues = map_861(one_set("861", R861))
    assert issues == []
    assert (doc.kind, doc.number, doc.po_number, doc.purpose) == ("receipt", "RCV-1", "PO-1", "original")
    assert [(ln.line_number, ln.quantity, ln.uom, ln.status, ln.po_number) for ln in doc.lines] == [
        ("1", Decimal(24), "EA", None, "PO-1"), ("7", Decimal(5), "CA", None, "PO-1"),
        ("7", Decimal(1), "CA", "rejected", "PO-1")]
    assert doc.lines[0].item_ids == {"buyer_part": "A1", "upc": "012345678905"}
    assert doc.totals.quantity == Decimal(29) and doc.totals.line_count == 2
    assert doc.to_json_dict()["totals"]["rejected"] == "1"
    assert doc.dates["received"].isoformat() == "2025-03-20"


def test_861_po_per_line_and_line_number_precedence() -> None:
    body = ["BRA*RCV-2*20250320*00*1", "RCD*4*3*EA", "REF*PO*PO-A", "RCD*5*2*EA", "LIN*9*BP*X", "PRF*PO-B"]
    doc, issues = map_861(one_set("861", body))
    assert issues == []
    assert [(ln.po_number, ln.line_number) for ln in doc.lines] == [("PO-A", "4"), ("PO-B", "9")]
    assert doc.po_number is None


def test_861_problems_are_issues_for_people() -> None:
    _, issues = map_861(one_set("861", replace(R861, "CTT", "CTT*3")))
    (ctt,) = [i for i in issues if i.code == "X12_CTT_LINE_COUNT"]
    assert "2 RCD loops" in ctt.message and ctt.location.endswith("CTT01")
    _, issues = map_861(one_set("861", replace(R861, "LIN*1", "LIN*1*BP*A1*UP*012345678900")))
    (gtin,) = issues
    assert gtin.code == "X12_GTIN_CHECK_DIGIT" and "012345678900" in gtin.message and gtin.location.endswith("LIN05")
    _, issues = map_861(one_set("861", replace(R861, "PRF", None)))
    assert codes(issues) == ["X12_RECEIPT_PO_MISSING"] and "PRF01 or REF*PO" in issues[0].message
    _, issues = map_861(one_set("861", R861[:4]))
    assert codes(issues) == ["X12_RECEIPT_NO_LINES"]
    _, issues = map_861(one_set("861", R861[1:]))
    assert "X12_RECEIPT_NUMBER_MISSING" in codes(issues)


def test_944_lines_and_references() -> None:
    doc, issues = map_944(one_set("944", R944))
    assert issues == []
    assert (doc.kind, doc.number, doc.po_number) == ("receipt", "WR-1", "PO-1")
    assert doc.references == {"reporting_code": "F", "depositor_order": "DEP-9", "po": "PO-1"}
    assert [(ln.line_number, ln.quantity, ln.uom, ln.item_ids) for ln in doc.lines] == [
        ("1", Decimal(24), "EA", {"buyer_part": "A1", "upc": "012345678905"}),
        ("2", Decimal(6), "CA", {"buyer_part": "A2"})]
    assert doc.dates["g62_09"].isoformat() == "2025-03-21"
    # without N9*PO the depositor order (W1704) is the purchase order
    doc, _ = map_944(one_set("944", replace(R944, "N9*PO", None)))
    assert doc.po_number == "DEP-9"


def test_944_problems_are_issues_for_people() -> None:
    _, issues = map_944(one_set("944", replace(R944, "W14", "W14*31")))
    (w14,) = issues
    assert w14.code == "X12_W14_QUANTITY_MISMATCH" and "31" in w14.message and "30" in w14.message
    assert w14.location.endswith("W1401")
    _, issues = map_944(one_set("944", replace(R944, "W07*6", "W07*6*CA*012345678900")))
    assert codes(issues) == ["X12_GTIN_CHECK_DIGIT"] and issues[0].location.endswith("W0703")
    _, issues = map_944(one_set("944", [*R944[:6], "W13*1*EA", *R944[6:]]))
    assert codes(issues) == ["X12_SEGMENT_NOT_MAPPED"]
    _, issues = map_944(one_set("944", [s for s in R944 if not s.startswith(("N9*PO", "W17"))]))
    assert "X12_RECEIPT_NUMBER_MISSING" in codes(issues) and "X12_RECEIPT_PO_MISSING" in codes(issues)


@pytest.mark.parametrize("cut", range(0, 12))
def test_broken_sets_never_raise(cut: int) -> None:
    for set_id, body, mapper in (("861", R861, map_861), ("944", R944, map_944)):
        ts = one_set(set_id, body)
        ts.segments[:] = [s for i, s in enumerate(ts.segments) if i != cut]
        doc, issues = mapper(ts)
        assert doc.kind == "receipt" and all(isinstance(i, Issue) for i in issues)
        json.dumps(doc.to_json_dict())
