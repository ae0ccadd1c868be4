"""X12 856 ship notice: guides, mapping (HL tree, check digits, CTT), corpus, outbound build and round trip."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mappings.canonical import Document, Line, Source
from mappings.x12.build_856 import build_856
from mappings.x12.guide import load_guide
from mappings.x12.map_856 import map_856
from mappings.x12.translate import map_set, mapper_for
from mappings.x12.validate import validate_set
from parsers.issues import Issue
from parsers.x12.reader import SetRead, TransactionSet, read_x12
from parsers.x12.segments import DEFAULT_DELIMITERS, Delimiters, Segment
from parsers.x12.writer import Element, GroupData, build_isa, write_interchange

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples" / "x12"
CORPUS = REPO.parent / "shared" / "corpus" / "x12"
SAMPLE_FILES = sorted(SAMPLES.glob("*856*.edi"))

SSCC_1 = "006141411234567890"
SSCC_2 = "006141411234567906"


def sets_of(data: bytes) -> list[TransactionSet]:
    return [ev.transaction_set for ev in read_x12(data) if isinstance(ev, SetRead)]


def interchange_856(body: list[str], version: str = "004010") -> bytes:
    """One well-enveloped 856 around `body` (segments without terminators)."""
    isa12 = "00501" if version.startswith("005") else "00401"
    rep = "^" if isa12 == "00501" else "U"
    isa = (f"ISA*00*          *00*          *ZZ*{'ACMEBUYER':<15}*ZZ*{'EDIGW':<15}*250318*1410*{rep}*{isa12}*"
           "000000118*0*P*>")
    st03 = "*005010" if isa12 == "00501" else ""
    segs = [f"ST*856*0001{st03}", *body]
    segs.append(f"SE*{len(segs) + 1}*0001")
    all_segs = [isa, f"GS*SH*ACMEBUYER*EDIGW*20250318*1410*118*X*{version}", *segs, "GE*1*118", "IEA*1*000000118"]
    return ("~".join(all_segs) + "~").encode()


def one_set(body: list[str], version: str = "004010") -> TransactionSet:
    (ts,) = sets_of(interchange_856(body, version))
    assert not [i for i in ts.issues if i.is_error], ts.issues
    return ts


def map_body(body: list[str], version: str = "004010") -> tuple[Document, list[Issue]]:
    return map_856(one_set(body, version))


def validate_body(body: list[str], version: str = "004010") -> list[Issue]:
    ts = one_set(body, version)
    guide, _ = load_guide("856", ts.implementation_ref)
    assert guide is not None
    return validate_set(ts, guide)


def codes(issues: list[Issue]) -> list[str]:
    return [i.code for i in issues]


def the(issues: list[Issue], code: str) -> Issue:
    found = [i for i in issues if i.code == code]
    assert len(found) == 1, [(i.code, i.message) for i in issues]
    return found[0]


# S/O/P/I with two cartons; HL n is at body index GOOD_HL[n]
GOOD = [
    "BSN*00*SN-1*20250318*1405*0001",
    "HL*1**S",
    "TD1*CTN25*2*Z*BOX**G*58.4*LB",
    "TD5**2*ODFL*M",
    "REF*BM*BOL1",
    "DTM*011*20250318",
    "N1*ST*DC 3*92*DC03",
    "HL*2*1*O",
    "PRF*PO-1",
    "HL*3*2*P",
    f"MAN*GM*{SSCC_1}",
    "HL*4*3*I",
    "LIN*1*BP*A1*UP*012345678905",
    "SN1**24*EA",
    "HL*5*2*P",
    f"MAN*GM*{SSCC_2}",
    "HL*6*5*I",
    "LIN*2*BP*A2*EN*4006381333931",
    "SN1**6*CA",
    "CTT*6*30",
]


def replace(body: list[str], prefix: str, new: str) -> list[str]:
    out = list(body)
    out[next(i for i, s in enumerate(out) if s.startswith(prefix))] = new
    return out


def assert_at(issue: Issue, segment_id: str, element: int | None) -> None:
    """The issue names the segment (human location and X12 reference) and, when given, the element."""
    assert issue.x12 is not None
    assert issue.x12.segment_id == segment_id and issue.x12.element_position == element
    assert f"({segment_id}) at byte" in issue.location
    if element is not None:
        assert issue.location.endswith(f", {segment_id}{element:02d}")


# -- guides ------------------------------------------------------------------------------------------


def test_856_guides_load_for_every_version() -> None:
    for version, expected in (("004010", "004010"), ("00401", "004010"), ("005010", "005010"),
                              ("004010VICS", "004010VICS")):
        guide, issues = load_guide("856", version)
        assert guide is not None and guide.version == expected and issues == []
    guide, issues = load_guide("856", "004060")
    assert guide is not None and guide.version == "004010" and codes(issues) == ["X12_GUIDE_FALLBACK"]
    assert guide.dictionary["BSN"].elements is not None and len(guide.dictionary["BSN"].elements) == 7
    hl = guide.compiled.child_nodes[guide.compiled.index["HL"][0]]
    assert hl.loop.usage == "M" and {"LIN", "SN1", "PRF", "MAN", "TD1", "N1"} <= set(hl.index)


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: p.name)
def test_guide_accepts_the_samples(path: Path) -> None:
    for ts in sets_of(path.read_bytes()):
        guide, guide_issues = load_guide(ts.set_id, ts.implementation_ref)
        assert guide is not None and guide_issues == []
        assert validate_set(ts, guide) == []


def test_guide_checks_856_elements() -> None:
    assert validate_body(GOOD) == []
    issues = validate_body(replace(GOOD, "SN1**24", "SN1**2X4*EA"))
    assert codes(issues) == ["X12_INVALID_NUMBER"] and issues[0].x12 is not None
    assert issues[0].x12.element_ref == "382"
    issues = validate_body(replace(GOOD, "HL*3*2*P", "HL*3*2*P*7"))
    assert codes(issues) == ["X12_INVALID_CODE"] and issues[0].x12 is not None
    assert issues[0].x12.element_ref == "736"
    issues = validate_body(replace(GOOD, "LIN*1", "LIN*1*BP*A1*UP"))  # LIN04 without LIN05 (P0405)
    assert codes(issues) == ["X12_SYNTAX_PAIRED"]


def test_vics_overlay_narrows_856() -> None:
    body = ["BSN*00*SN-1*20250318*1405*0001", "DTM*011*20250318", *GOOD[1:]]
    assert validate_body(body, "004010VICS") == []
    # a level code outside S/O/T/P/I: open list in 004010, refused under VICS
    odd = replace(body, "HL*6*5*I", "HL*6*5*Z")
    assert validate_body(odd) == []
    assert codes(validate_body(odd, "004010VICS")) == ["X12_INVALID_CODE"]
    # VICS wants the header DTM and BSN05
    assert "X12_MANDATORY_SEGMENT_MISSING" in codes(validate_body(GOOD, "004010VICS"))
    no_bsn05 = replace(body, "BSN", "BSN*00*SN-1*20250318*1405")
    assert codes(validate_body(no_bsn05, "004010VICS")) == ["X12_MANDATORY_ELEMENT_MISSING"]


# -- samples ---------------------------------------------------------------------------------------------


def test_there_are_856_samples_of_each_shape() -> None:
    names = {p.name for p in SAMPLE_FILES}
    assert {"acme_856_004010.edi", "globex_856_004010VICS.edi", "acme_856_005010.edi"} <= names
    assert all(p.with_suffix(".json").is_file() for p in SAMPLE_FILES)
    assert mapper_for("856") is map_856


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: p.name)
def test_sample_maps_to_its_json(path: Path) -> None:
    expected: list[dict[str, Any]] = json.loads(path.with_suffix(".json").read_text())
    produced = []
    for ts in sets_of(path.read_bytes()):
        assert not [i for i in ts.issues if i.is_error], ts.issues
        doc, issues = map_set(ts, strict=True)
        assert doc is not None and issues == []
        produced.append(doc.to_json_dict())
    assert produced == expected
    assert [Document.from_json_dict(d).to_json_dict() for d in expected] == expected


def test_sample_shapes() -> None:
    def load(name: str) -> dict[str, Any]:
        docs: list[dict[str, Any]] = json.loads((SAMPLES / name).read_text())
        assert len(docs) == 1
        return docs[0]

    sopi = load("acme_856_004010.json")
    assert [(ln["po_number"], ln["package"], ln["quantity"]) for ln in sopi["lines"]] == [
        ("ACME-4501877", SSCC_1, "24"), ("ACME-4501877", SSCC_1, "2"), ("ACME-4501877", SSCC_2, "6")]
    assert sopi["totals"]["quantity"] == "32" and sopi["totals"]["weight"] == "58.4"
    assert sopi["references"]["bill_of_lading"] == "ODFL7731045" and sopi["references"]["carrier_scac"] == "ODFL"
    assert sopi["dates"] == {"shipped": "2025-03-18", "delivery_estimated": "2025-03-21"}
    stpi = load("globex_856_004010VICS.json")  # tares (pallets) above the cartons; the PRF on each item
    assert stpi["po_number"] is None
    assert {ln["po_number"] for ln in stpi["lines"]} == {"GX7730215", "GX7730388"}
    assert [ln["package"] for ln in stpi["lines"]] == ["006141419990001016", "006141419990001023",
                                                      "006141419990001030"]
    soi = load("acme_856_005010.json")
    assert [ln["package"] for ln in soi["lines"]] == [None, None, None]
    assert [ln["po_number"] for ln in soi["lines"]] == ["ACME-4501901", "ACME-4501901", "ACME-4501915"]
    assert soi["references"]["shipment_time"] == "16:12:30"


# -- header, shipment and lines ------------------------------------------------------------------------------


def test_good_body_maps_without_issues() -> None:
    doc, issues = map_body(GOOD)
    assert issues == []
    assert (doc.kind, doc.number, doc.date, doc.purpose, doc.po_number) == (
        "ship_notice", "SN-1", dt.date(2025, 3, 18), "original", "PO-1")
    assert doc.source.set == "856" and doc.source.version == "004010"
    assert [(ln.line_number, ln.quantity, ln.uom, ln.package) for ln in doc.lines] == [
        ("1", Decimal(24), "EA", SSCC_1), ("2", Decimal(6), "CA", SSCC_2)]
    assert doc.lines[0].item_ids == {"buyer_part": "A1", "upc": "012345678905"}
    assert doc.lines[1].item_ids == {"buyer_part": "A2", "ean": "4006381333931"}
    extra = doc.totals.model_extra or {}
    assert (doc.totals.line_count, doc.totals.quantity) == (2, Decimal(30))
    assert (extra["weight"], extra["weight_uom"], extra["lading_quantity"]) == (Decimal("58.4"), "LB", 2)
    assert doc.references == {"shipment_time": "14:05", "packaging": "CTN25", "carrier_scac": "ODFL",
                              "transport_method": "M", "bill_of_lading": "BOL1"}
    assert doc.dates == {"shipped": dt.date(2025, 3, 18)}
    assert [(p.role, p.ids) for p in doc.parties] == [("ship_to", {"assigned_by_buyer": "DC03"})]


@pytest.mark.parametrize(("code", "purpose"), [("00", "original"), ("05", "replace"), ("01", "cancel"),
                                                ("14", "advance_notification"), ("77", "77")])
def test_purposes(code: str, purpose: str) -> None:
    doc, _ = map_body(replace(GOOD, "BSN", f"BSN*{code}*SN-1*20250318*1405"))
    assert doc.purpose == purpose


def test_bsn_problems_are_located() -> None:
    _, issues = map_body(replace(GOOD, "BSN", "BSN*00**20250318*1405"))
    assert_at(the(issues, "X12_SHIPMENT_NUMBER_MISSING"), "BSN", 2)
    _, issues = map_body(replace(GOOD, "BSN", "BSN*00*SN-1*20250318*2575"))
    issue = the(issues, "X12_INVALID_TIME")
    assert_at(issue, "BSN", 4)
    assert "'2575'" in issue.message
    _, issues = map_body(GOOD[1:])
    assert_at(the(issues, "X12_SHIPMENT_NUMBER_MISSING"), "ST", None)


def test_s_o_i_p_item_split_into_its_cartons() -> None:
    body = ["BSN*00*SN-2*20250318*1405*0002", "HL*1**S", "HL*2*1*O", "PRF*PO-9", "HL*3*2*I", "LIN*1*BP*X",
            "SN1**10*EA", "HL*4*3*P", f"MAN*GM*{SSCC_1}", "SN1**4*EA", "HL*5*3*P", f"MAN*GM*{SSCC_2}",
            "SN1**6*EA", "CTT*5*10"]
    doc, issues = map_body(body)
    assert issues == []
    assert [(ln.line_number, ln.quantity, ln.package, ln.po_number) for ln in doc.lines] == [
        ("1", Decimal(4), SSCC_1, "PO-9"), ("1", Decimal(6), SSCC_2, "PO-9")]
    assert doc.totals.quantity == Decimal(10) and doc.totals.line_count == 2
    # cartons that do not add up: one line, and a warning
    doc, issues = map_body(replace(body, "SN1**6", "SN1**5*EA"))
    assert len(doc.lines) == 1 and doc.lines[0].package is None
    assert_at(the(issues, "X12_PACK_QUANTITY"), "SN1", 2)


def test_pack_without_mark_is_named_by_its_hl_id_and_sscc_ai_is_dropped() -> None:
    body = [s for s in GOOD if s != f"MAN*GM*{SSCC_1}"]
    body = replace(body, f"MAN*GM*{SSCC_2}", f"MAN*GM*00{SSCC_2}")
    doc, issues = map_body(body)
    assert issues == []
    assert [ln.package for ln in doc.lines] == ["3", SSCC_2]


def test_item_without_lin_or_sn1_is_kept_with_warnings() -> None:
    body = [s for s in GOOD if not s.startswith(("LIN*2", "SN1**6"))]
    doc, issues = map_body(replace(body, "CTT", "CTT*6*24"))
    assert len(doc.lines) == 2 and doc.lines[1].quantity is None and doc.lines[1].line_number == "2"
    assert codes(issues) == ["X12_ITEM_ID_MISSING", "X12_SHIPPED_QUANTITY_MISSING"]
    assert all(i.severity == "warning" for i in issues)
    assert doc.totals.quantity == Decimal(24)  # the stated hash total, as the items do not all say


def test_weight_from_mea_when_there_is_no_td1_weight() -> None:
    body = [s for s in GOOD if not s.startswith("TD1")]
    body.insert(2, "MEA*PD*G*1200*LB")
    doc, issues = map_body(body)
    assert issues == []
    extra = doc.totals.model_extra or {}
    assert (extra["weight"], extra["weight_uom"]) == (Decimal(1200), "LB")


# -- the HL tree -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("old", "new", "code", "element"), [
    ("HL*4*3*I", "HL*4*9*I", "X12_HL_PARENT", 2),  # parent does not exist
    ("HL*4*3*I", "HL*4*5*I", "X12_HL_PARENT", 2),  # parent comes later
    ("HL*4*3*I", "HL*4*4*I", "X12_HL_PARENT", 2),  # its own parent
    ("HL*4*3*I", "HL*4**I", "X12_HL_PARENT", 2),  # no parent after the first level
    ("HL*1**S", "HL*1*1*S", "X12_HL_PARENT", 2),  # the shipment with a parent
    ("HL*5*2*P", "HL*5*4*O", "X12_HL_LEVEL", 2),  # an order inside an item
    ("HL*1**S", "HL*1**O", "X12_HL_LEVEL", 3),  # not starting with the shipment
    ("HL*3*2*P", "HL*3*2*", "X12_HL_LEVEL", 3),  # no level code
    ("HL*4*3*I", "HL*3*3*I", "X12_HL_DUPLICATE_ID", 1),
    ("HL*4*3*I", "HL**3*I", "X12_HL_ID", 1),
])
def test_hl_tree_errors_name_the_hl_element(old: str, new: str, code: str, element: int) -> None:
    doc, issues = map_body(replace(GOOD, old, new))
    issue = the([i for i in issues if i.is_error and i.x12 is not None and i.x12.element_position == element], code)
    assert_at(issue, "HL", element)
    assert len(doc.lines) == 2  # the items are still listed


def test_orphan_item_loses_its_order_and_package() -> None:
    doc, issues = map_body(replace(GOOD, "HL*4*3*I", "HL*4*9*I"))
    assert (doc.lines[0].po_number, doc.lines[0].package) == (None, None)
    assert "'9'" in the(issues, "X12_HL_PARENT").message


def test_hl_warnings() -> None:
    _, issues = map_body(replace(GOOD, "HL*6*5*I", "HL*6*5*Q"))
    assert "X12_HL_LEVEL" not in codes(issues)  # a subpack under a pack
    _, issues = map_body(replace(GOOD, "HL*6*5*I", "HL*6*2*Q"))
    assert "a subpack belongs under a pack" in the(issues, "X12_HL_LEVEL").message
    _, issues = map_body(replace(GOOD, "HL*6*5*I", "HL*6*5*X"))
    assert_at(the(issues, "X12_HL_LEVEL_UNKNOWN"), "HL", 3)
    _, issues = map_body(replace(GOOD, "HL*4*3*I", "HL*4*3*I*1"))
    assert_at(the(issues, "X12_HL_CHILD_CODE"), "HL", 4)
    _, issues = map_body(replace(GOOD, "HL*3*2*P", "HL*3*2*P*0"))
    assert_at(the(issues, "X12_HL_CHILD_CODE"), "HL", 4)
    body = [s.replace("HL*6*5", "HL*7*5") for s in GOOD]
    _, issues = map_body(body)
    issue = the(issues, "X12_HL_SEQUENCE")
    assert issue.severity == "warning" and issue.location.endswith("HL01")


def test_sensible_shapes_have_no_tree_issues() -> None:
    shapes = [
        ["HL*1**S", "HL*2*1*O", "HL*3*2*T", "HL*4*3*P", "HL*5*4*I"],  # S/O/T/P/I
        ["HL*1**S", "HL*2*1*T", "HL*3*2*P", "HL*4*3*I"],  # S/T/P/I
        ["HL*1**S", "HL*2*1*O", "HL*3*2*I"],  # S/O/I
        ["HL*1**S", "HL*2*1*O", "HL*3*2*I", "HL*4*3*P"],  # S/O/I/P
        ["HL*1**S", "HL*2*1*I"],  # S/I
    ]
    for hls in shapes:
        body = ["BSN*00*SN-1*20250318*1405"]
        for hl in hls:
            body.append(hl)
            if hl.endswith("*I"):
                body += ["LIN**BP*A", "SN1**1*EA"]
        body.append(f"CTT*{len(hls)}*1")
        doc, issues = map_body(body)
        assert issues == [], (hls, [(i.code, i.message) for i in issues])
        assert len(doc.lines) == 1


# -- check digits and CTT --------------------------------------------------------------------------------------


def test_sscc_check_digit() -> None:
    bad = SSCC_1[:-1] + "1"
    _, issues = map_body(replace(GOOD, f"MAN*GM*{SSCC_1}", f"MAN*GM*{bad}"))
    issue = the(issues, "X12_SSCC_CHECK_DIGIT")
    assert_at(issue, "MAN", 2)
    assert bad in issue.message and "should be 0, not 1" in issue.message
    _, issues = map_body(replace(GOOD, f"MAN*GM*{SSCC_1}", "MAN*GM*12345"))
    assert "5 digits" in the(issues, "X12_SSCC_CHECK_DIGIT").message
    # a second mark in MAN04/MAN05 is checked too
    _, issues = map_body(replace(GOOD, f"MAN*GM*{SSCC_1}", f"MAN*GM*{SSCC_1}**GM*{bad}"))
    assert_at(the(issues, "X12_SSCC_CHECK_DIGIT"), "MAN", 5)


@pytest.mark.parametrize(("old", "new", "element", "hint"), [
    ("LIN*1", "LIN*1*BP*A1*UP*012345678906", 5, "should be 5, not 6"),
    ("LIN*1", "LIN*1*UP*12345678905*BP*A1", 3, "11 digits"),
    ("LIN*2", "LIN*2*BP*A2*EN*4006381333932", 5, "should be 1, not 2"),
    ("LIN*2", "LIN*2*BP*A2*UK*0001234567890X", 5, "digits only"),
    ("LIN*2", "LIN*2*BP*A2*VN*V2*UK*00012345678906", 7, "should be 5, not 6"),
    ("MAN*GM*0061414112", "MAN*UC*00012345678904", 2, "should be 5, not 4"),
])
def test_gtin_check_digits(old: str, new: str, element: int, hint: str) -> None:
    _, issues = map_body(replace(GOOD, old, new))
    issue = the(issues, "X12_GTIN_CHECK_DIGIT")
    assert_at(issue, new[:3], element)
    assert hint in issue.message


def test_valid_gtins_pass() -> None:
    body = replace(GOOD, "LIN*2", "LIN*2*BP*A2*UK*00012345678905*UP*012345678912*EN*40063813")
    _, issues = map_body(body)
    assert codes(issues) == ["X12_GTIN_CHECK_DIGIT"]  # 40063813 is not a valid EAN-8 ...
    _, issues = map_body(replace(body, "LIN*2", "LIN*2*BP*A2*UK*00012345678905*UP*012345678912*EN*40063812"))
    assert issues == []  # ... 40063812 is


def test_ctt_counts_hl_segments() -> None:
    _, issues = map_body(replace(GOOD, "CTT", "CTT*7*30"))
    issue = the(issues, "X12_CTT_LINE_COUNT")
    assert issue.severity == "error" and "7" in issue.message and "6 HL" in issue.message
    assert_at(issue, "CTT", 1)
    # CTT01 counting the items (a common partner convention): accepted with a warning
    _, issues = map_body(replace(GOOD, "CTT", "CTT*2*30"))
    assert the(issues, "X12_CTT_LINE_COUNT").severity == "warning"
    _, issues = map_body(replace(GOOD, "CTT", "CTT*6*31"))
    issue = the(issues, "X12_CTT_HASH_TOTAL")
    assert issue.severity == "warning"
    assert_at(issue, "CTT", 2)
    _, issues = map_body(replace(GOOD, "CTT", "CTT*six"))
    assert_at(the(issues, "X12_INVALID_NUMBER"), "CTT", 1)


# -- the shared corpus of real files (read in place, never copied) ------------------------------------------------

# file -> per set: (shipment number, line quantities, packages, total quantity, issue codes)
CORPUS_856: dict[str, list[tuple[str, list[str], list[str | None], str, list[str]]]] = {
    # 004060, S/O/I; both UPCs have wrong check digits (999999310145 should end in 9, 999999311746 in 0)
    "aaronhuggins__node-x12__856.edi": [
        ("829716", ["24", "6"], [None, None], "30", ["X12_GTIN_CHECK_DIGIT", "X12_GTIN_CHECK_DIGIT"])],
    # 002001, S/T/I/P: items whose cartons sit below them are split per carton (HL IDs, no marks)
    "kputnam__stupidedi__002001_SH856_fail_1.edi": [
        ("35100", ["1000", "76", "100", "100", "100", "56"], ["2", "6", "7", "8", "11", "12"], "1432", []),
        ("02", ["234", "25"], [None, None], "259", []),
    ],
    # '$' terminator but '~' after three segments: N1 swallows N3, N4 and HL 2, so item 3's parent is missing
    "kputnam__stupidedi__004010_SH856_fail_2.edi": [
        ("861554", ["40"], [None], "40",
         ["X12_HL_SEQUENCE", "X12_HL_PARENT", "X12_HL_CHILD_CODE", "X12_CTT_LINE_COUNT"])],
}


def corpus_file(name: str) -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"shared corpus not present at {CORPUS}")
    path = CORPUS / name
    assert path.is_file(), f"{name} disappeared from the corpus"
    return path


def test_every_corpus_856_has_expectations() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"shared corpus not present at {CORPUS}")
    assert {p.name for p in CORPUS.glob("*.edi") if "856" in p.name} == set(CORPUS_856)


@pytest.mark.parametrize("name", sorted(CORPUS_856))
def test_corpus_856(name: str) -> None:
    got = []
    for ts in sets_of(corpus_file(name).read_bytes()):
        doc, issues = map_set(ts, strict=True)
        assert doc is not None
        json.dumps(doc.to_json_dict())
        got.append((doc.number, [format(ln.quantity, "f") for ln in doc.lines if ln.quantity is not None],
                    [ln.package for ln in doc.lines], format(doc.totals.quantity, "f") if doc.totals.quantity else "",
                    codes(issues)))
    assert got == CORPUS_856[name]


def test_corpus_hl_error_is_located() -> None:
    (ts,) = sets_of(corpus_file("kputnam__stupidedi__004010_SH856_fail_2.edi").read_bytes())
    _, issues = map_856(ts)
    issue = the(issues, "X12_HL_PARENT")
    assert issue.location == "segment 19 (HL) at byte 577, HL02" and issue.is_error


# -- outbound and round trip ---------------------------------------------------------------------------------------


def wrap(doc: Document, body: list[list[str]], version: str) -> bytes:
    """The built segments in an envelope, the way the outbound framework sends them."""
    isa12 = "00501" if version.startswith("005") else "00401"
    delimiters = Delimiters("*", ">", "~", "^" if isa12 == "00501" else None)
    sender = (doc.sender.qualifier, doc.sender.id) if doc.sender else ("ZZ", "EDIGW")
    receiver = (doc.receiver.qualifier, doc.receiver.id) if doc.receiver else ("ZZ", "PARTNER")
    isa = build_isa(sender=sender, receiver=receiver, control_number=7, now=dt.datetime(2025, 3, 18, 14, 10),
                    delimiters=delimiters, version=isa12)
    st_segment: list[Element] = ["ST", "856", "0007", *(["005010"] if isa12 == "00501" else [])]
    gs: list[Element] = ["GS", "SH", sender[1], receiver[1], "20250318", "1410", "7", "X", version]
    transaction_set: list[list[Element]] = [st_segment, *(list[Element](seg) for seg in body)]
    return write_interchange(isa, [GroupData(gs, [transaction_set])], delimiters, "\n")


def without_source(doc: Document) -> dict[str, Any]:
    data = doc.to_json_dict()
    data.pop("source")
    return data


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: p.name)
def test_round_trip_and_generated_set_validates(path: Path) -> None:
    for expected in json.loads(path.with_suffix(".json").read_text()):
        doc = Document.from_json_dict(expected)
        version = doc.source.version or "004010"
        raw = wrap(doc, build_856(doc, version), version)
        (ts,) = sets_of(raw)
        assert [i for i in ts.issues if i.is_error] == []
        guide, guide_issues = load_guide("856", ts.implementation_ref)
        assert guide is not None and guide_issues == []
        assert validate_set(ts, guide) == []
        back, issues = map_856(ts)
        assert issues == []
        assert without_source(back) == without_source(doc)
        assert back.source.set == "856" and back.source.version == version


def test_build_shapes_and_numbering() -> None:
    doc = Document(kind="ship_notice", number="SN-9", date=dt.date(2025, 3, 18), source=Source(format="x12"),
                   lines=[Line(line_number="1", quantity=Decimal(3), uom="EA", po_number="PO-1", package=SSCC_1,
                               item_ids={"buyer_part": "A"}),
                          Line(line_number="2", quantity=Decimal(2), uom="EA", po_number="PO-2", package="CARTON-7",
                               item_ids={"upc": "012345678905"}),
                          Line(line_number="3", quantity=Decimal("1.5"), uom="LB", po_number="PO-1", package=None,
                               item_ids={"sku": "S-3"}),
                          Line(line_number="4", quantity=Decimal(1), uom="EA", item_ids={"vendor_part": "V-4"})])
    segments = build_856(doc, "004010")
    assert segments[0] == ["BSN", "00", "SN-9", "20250318", "0000", "0001"]
    hls = [s[1:4] for s in segments if s[0] == "HL"]
    assert hls == [["1", "", "S"], ["2", "1", "O"], ["3", "2", "P"], ["4", "3", "I"], ["5", "2", "I"],
                   ["6", "1", "O"], ["7", "6", "P"], ["8", "7", "I"], ["9", "1", "I"]]
    assert ["MAN", "GM", SSCC_1] in segments and ["MAN", "ZZ", "CARTON-7"] in segments
    assert segments[-1] == ["CTT", "9", "7.5"]
    back, issues = map_856(one_set(["*".join(s) for s in segments]))
    assert issues == []
    assert [(ln.line_number, ln.po_number, ln.package) for ln in back.lines] == [
        ("1", "PO-1", SSCC_1), ("3", "PO-1", None), ("2", "PO-2", "CARTON-7"), ("4", None, None)]
    unpacked = doc.model_copy(update={"lines": [ln.model_copy(update={"package": None}) for ln in doc.lines]})
    assert build_856(unpacked, "005010")[0][5] == "0004"


# -- robustness ---------------------------------------------------------------------------------------------------

element_text = st.text(alphabet=st.sampled_from(list("0123456789.-+ ABCGHIOPSTUZ:^,eE\u00e9")), max_size=20)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sample=st.sampled_from([*SAMPLE_FILES, None]), data=st.data())
def test_mutated_element_values_never_raise(sample: Path | None, data: st.DataObject) -> None:
    raw = sample.read_bytes() if sample is not None else interchange_856(GOOD)
    for ts in sets_of(raw):
        for _ in range(data.draw(st.integers(min_value=1, max_value=12))):
            seg = ts.segments[data.draw(st.integers(min_value=0, max_value=len(ts.segments) - 1))]
            position = data.draw(st.integers(min_value=1, max_value=max(1, len(seg.elements) + 2)))
            value = data.draw(element_text)
            while len(seg.elements) <= position:
                seg.elements.append("")
            seg.elements[position] = value
        drop = data.draw(st.sets(st.integers(min_value=0, max_value=len(ts.segments) - 1), max_size=4))
        ts.segments[:] = [s for i, s in enumerate(ts.segments) if i not in drop]
        doc, issues = map_856(ts)
        json.dumps(doc.to_json_dict())
        assert all(isinstance(i, Issue) for i in issues)
        _, more = map_set(ts, strict=True)
        assert all(isinstance(i, Issue) for i in more)


TAGS_856 = ["BSN", "DTM", "HL", "LIN", "SN1", "PRF", "MAN", "TD1", "TD5", "TD3", "REF", "MEA", "N1", "N3", "N4",
            "PID", "FOB", "CTT", "SLN", "XYZ", ""]
hl_text = st.sampled_from(["", "1", "2", "3", "4", "S", "O", "T", "P", "I", "F", "Q", "0", "GM", "UP", "UK", "EN",
                           "00614141123456789", SSCC_1, "012345678905"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(segments=st.lists(st.tuples(st.sampled_from(TAGS_856), st.lists(st.one_of(hl_text, element_text), max_size=8)),
                         max_size=30))
def test_arbitrary_trees_never_raise(segments: list[tuple[str, list[str]]]) -> None:
    (template,) = sets_of(interchange_856(GOOD))
    segs = [template.segments[0]]
    for n, (tag, elements) in enumerate(segments, start=4):
        segs.append(Segment([tag, *elements] if tag or elements else [], n, n * 40, DEFAULT_DELIMITERS))
    ts = TransactionSet(segs, template.group, complete=False)
    doc, issues = map_856(ts)
    json.dumps(doc.to_json_dict())
    assert all(isinstance(i, Issue) for i in issues)
    wrapped = build_856(doc, "004010")  # whatever was understood can be written back out
    assert wrapped[0][0] == "BSN" and wrapped[-1][0] == "CTT"
