"""X12 810 invoice: guides, inbound mapping (money checks, check digits), outbound builder, round trip."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mappings.canonical import Document
from mappings.x12.build_810 import build_810, describe_field
from mappings.x12.guide import load_guide
from mappings.x12.map_810 import map_810
from mappings.x12.outbound import BuildError
from mappings.x12.translate import map_set, mapper_for
from mappings.x12.validate import validate_set
from parsers.issues import Issue
from parsers.x12.reader import SetRead, TransactionSet, read_x12
from parsers.x12.segments import Delimiters
from parsers.x12.writer import GroupData, build_isa, write_interchange

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples" / "x12"
CORPUS = REPO.parent / "shared" / "corpus" / "x12"
SAMPLE_FILES = sorted(SAMPLES.glob("*810*.edi"))


def sets_of(data: bytes) -> list[TransactionSet]:
    return [ev.transaction_set for ev in read_x12(data) if isinstance(ev, SetRead)]


def interchange_810(body: list[str], version: str = "004010") -> bytes:
    """A well-enveloped single 810 around `body` (segments without terminators)."""
    isa12 = "00501" if version.startswith("005") else "00401"
    rep = "^" if isa12 == "00501" else "U"
    isa = (f"ISA*00*          *00*          *ZZ*{'ACMEBUYER':<15}*ZZ*{'EDIGW':<15}*250612*1420*{rep}*{isa12}*"
           "000000301*0*P*>")
    assert len(isa) == 105
    segs = ["ST*810*0001", *body]
    segs.append(f"SE*{len(segs) + 1}*0001")
    all_segs = [isa, f"GS*IN*ACMEBUYER*EDIGW*20250612*1420*301*X*{version}", *segs, "GE*1*301", "IEA*1*000000301"]
    return ("~".join(all_segs) + "~").encode()


def map_body(body: list[str], version: str = "004010") -> tuple[Document, list[Issue]]:
    (ts,) = sets_of(interchange_810(body, version))
    return map_810(ts)


def validate_body(body: list[str], version: str = "004010") -> list[Issue]:
    (ts,) = sets_of(interchange_810(body, version))
    guide, _ = load_guide(ts.set_id, ts.implementation_ref)
    assert guide is not None
    return validate_set(ts, guide)


def codes(issues: list[Issue]) -> list[str]:
    return [i.code for i in issues]


def errors(issues: list[Issue]) -> list[Issue]:
    return [i for i in issues if i.is_error]


# 10 x 2.50 + 4 x 1.25 = 30.00; + freight 5.00 - allowance 1.00 + tax 2.40 = 36.40
GOOD_BODY = [
    "BIG*20250612*INV-1*20250601*PO-1",
    "N1*RE*ACME INDUSTRIAL SUPPLY*1*047382911",
    "ITD*01*3*2**10**30",
    "DTM*011*20250610",
    "IT1*1*10*EA*2.50**VP*A1*UP*012345678905",
    "PID*F****WIDGET",
    "IT1*2*4*EA*1.25**BP*A2",
    "TDS*3640",
    "TXI*ST*2.40*8",
    "SAC*C*D240***500",
    "SAC*A*C310***100",
    "CTT*2*14",
]


def replace_seg(body: list[str], prefix: str, new: str) -> list[str]:
    out = list(body)
    out[next(i for i, s in enumerate(out) if s.startswith(prefix))] = new
    return out


# -- guides ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["004010", "004010VICS", "005010"])
def test_guides_load_for_every_version(version: str) -> None:
    guide, issues = load_guide("810", version)
    assert guide is not None and issues == []
    assert guide.version == version
    assert {"BIG", "IT1", "TDS", "TXI", "SAC", "CTT", "ISS", "CAD"} <= guide.set_segment_ids
    it1 = guide.dictionary["IT1"]
    assert [r.text for r in it1.rules][:2] == ["P020304", "P0607"]
    assert it1.elements is not None and it1.elements[1].max_len == (15 if version == "005010" else 10)


def test_good_body_is_valid_and_maps_without_issues() -> None:
    assert errors(validate_body(GOOD_BODY)) == []
    doc, issues = map_body(GOOD_BODY)
    assert issues == []
    assert (doc.kind, doc.number, doc.po_number, doc.purpose) == ("invoice", "INV-1", "PO-1", "original")
    totals = doc.totals
    assert (totals.amount, totals.tax, totals.freight) == (Decimal("36.40"), Decimal("2.40"), Decimal("5.00"))
    extra = totals.model_extra or {}
    assert (extra["subtotal"], extra["charges"], extra["allowances"]) == (
        Decimal("30.00"), Decimal("5.00"), Decimal("1.00"))
    assert doc.references["terms_discount_percent"] == "2" and doc.references["terms_net_days"] == "30"
    assert doc.dates == {"purchase_order": datetime(2025, 6, 1).date(), "shipped": datetime(2025, 6, 10).date()}


def test_guide_reports_missing_tds_and_bad_it1_pairs() -> None:
    found = validate_body([s for s in GOOD_BODY if not s.startswith("TDS")])
    assert "X12_MANDATORY_SEGMENT_MISSING" in codes(found)
    paired = errors(validate_body(replace_seg(GOOD_BODY, "IT1*2", "IT1*2*4**1.25**BP*A2")))
    assert [(i.code, i.x12 and i.x12.element_position) for i in paired] == [("X12_SYNTAX_PAIRED", 3)]


def test_vics_overlay_requires_lines_and_ctt() -> None:
    body = [s for s in GOOD_BODY if not s.startswith("CTT")]
    assert "X12_MANDATORY_SEGMENT_MISSING" in codes(validate_body(body, "004010VICS"))
    assert errors(validate_body(body, "004010")) == []
    no_price = replace_seg(GOOD_BODY, "IT1*2", "IT1*2*****BP*A2")
    found = errors(validate_body(no_price, "004010VICS"))
    assert {i.code for i in found} == {"X12_MANDATORY_ELEMENT_MISSING"}


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: p.name)
def test_guide_accepts_the_samples(path: Path) -> None:
    for ts in sets_of(path.read_bytes()):
        guide, guide_issues = load_guide(ts.set_id, ts.implementation_ref)
        assert guide is not None and guide_issues == []
        assert validate_set(ts, guide) == []


# -- samples -----------------------------------------------------------------------------------------


def test_there_are_the_three_samples() -> None:
    names = {p.name for p in SAMPLE_FILES}
    assert {"acme_810_004010.edi", "globex_810_004010VICS.edi", "acme_810_005010_credit.edi"} <= names
    assert all(p.with_suffix(".json").is_file() for p in SAMPLE_FILES)


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: p.name)
def test_sample_maps_to_its_expected_json(path: Path) -> None:
    expected: list[dict[str, Any]] = json.loads(path.with_suffix(".json").read_text())
    produced = []
    for ts in sets_of(path.read_bytes()):
        assert not errors(ts.issues), ts.issues
        doc, issues = map_set(ts, strict=True)
        assert doc is not None and issues == []
        produced.append(doc.to_json_dict())
    assert produced == expected


def test_sample_details() -> None:
    (acme,) = json.loads((SAMPLES / "acme_810_004010.json").read_text())
    assert acme["totals"] == {"amount": "872.88", "tax": "49.43", "freight": "45.00", "line_count": 3,
                              "quantity": "39", "subtotal": "790.95", "charges": "45.00", "allowances": "12.50"}
    assert [ln["po_number"] for ln in acme["lines"]] == ["PO-88412", "PO-88412", "PO-88415"]
    assert acme["references"]["terms_description"] == "2% 10 NET 30"
    (credit,) = json.loads((SAMPLES / "acme_810_005010_credit.json").read_text())
    assert (credit["purpose"], credit["references"]["transaction_type"]) == ("credit", "CR")
    assert credit["references"]["original_invoice"] == "INV-20931"
    (vics,) = json.loads((SAMPLES / "globex_810_004010VICS.json").read_text())
    assert [ln["item_ids"]["upc"] for ln in vics["lines"]] == ["012345678905", "012345678912", "012345678929"]
    assert vics["totals"]["allowances"] == "31.01" and vics["source"]["version"] == "004010VICS"


def test_mapper_is_discovered_by_module_name() -> None:
    assert mapper_for("810") is map_810


# -- money checks --------------------------------------------------------------------------------------


def test_tds_mismatch_names_both_amounts_and_the_components() -> None:
    doc, issues = map_body(replace_seg(GOOD_BODY, "TDS", "TDS*3650"))
    (issue,) = issues
    assert (issue.severity, issue.code) == ("error", "X12_TDS_MISMATCH")
    assert issue.location.startswith("segment 11 (TDS)") and issue.location.endswith("TDS01")
    assert issue.x12 is not None and (issue.x12.segment_id, issue.x12.segment_position) == ("TDS", 9)
    assert (issue.x12.element_position, issue.x12.value) == (1, "3650")
    for text in ("36.50", "36.40", "lines 30.00", "charges 5.00", "allowances 1.00", "taxes 2.40", "0.10"):
        assert text in issue.message
    assert doc.totals.amount == Decimal("36.50")  # the stated amount is kept; the error says it is wrong


def test_tds_within_a_cent_and_per_line_rounding_pass() -> None:
    body = ["BIG*20250612*INV-2**PO-2", "IT1*1*3*EA*0.333", "IT1*2*3*EA*0.333", "TDS*200", "CTT*2"]
    _, issues = map_body(body)  # exact 1.998, per line 1.00 + 1.00
    assert issues == []
    _, issues = map_body(replace_seg(body, "TDS", "TDS*201"))
    assert issues == []
    _, issues = map_body(replace_seg(body, "TDS", "TDS*203"))
    assert codes(issues) == ["X12_TDS_MISMATCH"]


def test_sac_percent_without_amount_and_off_invoice_handling() -> None:
    body = ["BIG*20250612*INV-3**PO-3", "IT1*1*10*EA*10", "TDS*9800",
            "SAC*A*C310****1*2", "SAC*A*A260***500*******01", "CTT*1"]
    doc, issues = map_body(body)  # 100.00 - 2% (2.00); the bill-back allowance is settled elsewhere
    assert issues == []
    assert (doc.totals.model_extra or {})["allowances"] == Decimal("2.00")


def test_price_basis_per_hundred_is_a_price_per_unit() -> None:
    doc, issues = map_body(["BIG*20250612*INV-4**PO-4", "IT1*1*200*EA*12.50*HP", "TDS*2500", "CTT*1"])
    assert issues == []
    assert doc.lines[0].unit_price == Decimal("0.125")


def test_ctt_line_count_mismatch() -> None:
    _, issues = map_body(replace_seg(GOOD_BODY, "CTT", "CTT*3*14"))
    (issue,) = issues
    assert (issue.code, issue.severity) == ("X12_CTT_LINE_COUNT", "error")
    assert "3" in issue.message and "2 IT1" in issue.message
    assert issue.location.endswith("CTT01") and issue.x12 is not None and issue.x12.element_position == 1


def test_ctt_hash_total_mismatch_is_a_warning() -> None:
    _, issues = map_body(replace_seg(GOOD_BODY, "CTT", "CTT*2*15"))
    assert [(i.code, i.severity) for i in issues] == [("X12_CTT_HASH_TOTAL", "warning")]


@pytest.mark.parametrize(("qualifier", "value", "problem"), [
    ("UP", "012345678906", "check digit is 6"),
    ("EN", "9781501331979", "check digit is 9"),
    ("UK", "10012345600018", "check digit is 8"),
    ("UP", "01234567890", "not a valid 12-digit UPC-A"),
    ("EN", "97815O1331978", "not a valid EAN-8 or EAN-13"),
])
def test_gtin_check_digits(qualifier: str, value: str, problem: str) -> None:
    body = replace_seg(GOOD_BODY, "IT1*1", f"IT1*1*10*EA*2.50**VP*A1*{qualifier}*{value}")
    doc, issues = map_body(body)
    (issue,) = issues
    assert (issue.code, issue.severity) == ("X12_GTIN_CHECK_DIGIT", "error")
    assert problem in issue.message and value in issue.message
    assert issue.location.startswith("segment 8 (IT1)") and issue.location.endswith("IT109")
    assert issue.x12 is not None and (issue.x12.element_position, issue.x12.value) == (9, value)
    assert value in doc.lines[0].item_ids.values()  # kept, so a person sees what was sent


def test_valid_gs1_codes_pass() -> None:
    body = replace_seg(GOOD_BODY, "IT1*1", "IT1*1*10*EA*2.50**EN*9780316154680*UK*10012345600019*UP*012345678905")
    _, issues = map_body(body)
    assert issues == []


# -- header details ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("big", "purpose"), [
    ("BIG*20250612*CM-1**PO-1***CR*00", "credit"),
    ("BIG*20250612*CM-1**PO-1***CN", "credit"),
    ("BIG*20250612*DM-1**PO-1***DR", "debit"),
    ("BIG*20250612*INV-1**PO-1***DI*00", "original"),
    ("BIG*20250612*INV-1**PO-1****05", "replace"),
    ("BIG*20250612*INV-1**PO-1***CR*01", "cancel"),
])
def test_purpose_from_big07_and_big08(big: str, purpose: str) -> None:
    doc, _ = map_body(replace_seg(GOOD_BODY, "BIG", big))
    assert doc.purpose == purpose


def test_po_number_from_header_ref_when_big04_is_empty_and_line_ref_po_wins() -> None:
    body = replace_seg(GOOD_BODY, "BIG", "BIG*20250612*INV-1")
    body.insert(1, "REF*PO*PO-77")
    body.insert(body.index("IT1*2*4*EA*1.25**BP*A2") + 1, "REF*PO*PO-78")
    doc, issues = map_body(body)
    assert issues == []
    assert doc.po_number == "PO-77"
    assert [ln.po_number for ln in doc.lines] == ["PO-77", "PO-78"]


def test_missing_big_and_invoice_number() -> None:
    doc, issues = map_body(GOOD_BODY[1:])
    assert codes(issues) == ["X12_INVOICE_NUMBER_MISSING"] and doc.number is None
    _, issues = map_body(replace_seg(GOOD_BODY, "BIG", "BIG*20250612**20250601*PO-1"))
    assert codes(issues) == ["X12_INVOICE_NUMBER_MISSING"] and issues[0].location.endswith("BIG02")


def test_unreadable_tds_and_dates_are_errors_not_crashes() -> None:
    body = replace_seg(replace_seg(GOOD_BODY, "TDS", "TDS*12X"), "BIG", "BIG*20251341*INV-1**PO-1")
    doc, issues = map_body(body)
    assert codes(issues) == ["X12_INVALID_DATE", "X12_INVALID_NUMBER"]
    assert doc.totals.amount is None and doc.date is None


# -- the shared corpus -----------------------------------------------------------------------------------

# file -> (invoice number, PO number, quantities, unit prices, TDS amount, mapping codes, validator codes)
CORPUS_810: dict[str, tuple[str, str, list[str], list[str], str, list[str], list[str]]] = {
    "kputnam__stupidedi__004010_IN810_pass_1.edi": (
        "00237058", "0691-0014403", ["4", "1"], ["70", "5.66"], "285.66", [],
        ["X12_SYNTAX_PAIRED", "X12_SYNTAX_PAIRED"]),  # IT1 without a unit (SOURCES.md: breaks paired rules)
    "kputnam__stupidedi__004010_X348_SC810_pass_basic-invoice.edi": (
        "39876980601170600", "767124", ["1"], ["170.6"], "170.60", [], []),
    "kputnam__stupidedi__004010_X348_SC810_pass_credit-card-invoice.edi": (
        "39876980601170600", "767124", ["1"], ["170.6"], "170.60", [], []),
}


def corpus_file(name: str) -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"no shared corpus at {CORPUS}")
    path = CORPUS / name
    if not path.is_file():
        pytest.skip(f"corpus file {name} is absent")
    return path


@pytest.mark.parametrize("name", sorted(CORPUS_810))
def test_corpus_810(name: str) -> None:
    number, po, quantities, prices, amount, map_codes, guide_codes = CORPUS_810[name]
    (ts,) = sets_of(corpus_file(name).read_bytes())
    doc, issues = map_set(ts, strict=True)
    assert doc is not None
    assert codes(issues) == map_codes
    assert (doc.number, doc.po_number, doc.kind) == (number, po, "invoice")
    assert [format(ln.quantity, "f") for ln in doc.lines if ln.quantity is not None] == quantities
    assert [format(ln.unit_price, "f") for ln in doc.lines if ln.unit_price is not None] == prices
    assert doc.totals.amount is not None and format(doc.totals.amount, "f") == amount
    assert doc.totals.line_count == len(quantities)
    guide, _ = load_guide(ts.set_id, ts.implementation_ref)
    assert guide is not None
    assert codes(errors(validate_set(ts, guide))) == guide_codes


def test_every_corpus_810_has_expectations() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"no shared corpus at {CORPUS}")
    present = {p.name for p in CORPUS.glob("*.edi") if "810" in p.name}
    assert present <= set(CORPUS_810)


def test_corpus_in810_details() -> None:
    (ts,) = sets_of(corpus_file("kputnam__stupidedi__004010_IN810_pass_1.edi").read_bytes())
    doc, _ = map_810(ts)
    assert [ln.item_ids["ean"] for ln in doc.lines] == ["9781501331978", "9780316154680"]  # ISBN-13, valid
    assert [ln.line_number for ln in doc.lines] == ["1", "2"]  # IT101 empty: numbered in order
    assert doc.totals.quantity == Decimal(5) and doc.references["terms_net_days"] == "30"
    assert doc.party("ship_to") is not None


# -- outbound and round trip -------------------------------------------------------------------------------


def wrap(body: list[list[str]], version: str, control: int = 900) -> bytes:
    """build_810's body in ST/SE, a GS and a fixed-width ISA, written by the real writer."""
    isa12 = "00501" if version.startswith("005") else "00401"
    delimiters = Delimiters("*", ":", "~", "^" if isa12 == "00501" else None)
    isa = build_isa(sender=("ZZ", "EDIGW"), receiver=("ZZ", "ACMEBUYER"), control_number=control,
                    now=datetime(2025, 6, 30, 12, 0), delimiters=delimiters, version=isa12)
    gs: list[str | list[str]] = ["GS", "IN", "EDIGW", "ACMEBUYER", "20250630", "1200", str(control), "X", version]
    st: list[str | list[str]] = ["ST", "810", "0001"]
    group = GroupData(gs, [[st, *body]])  # type: ignore[list-item]
    return write_interchange(isa, [group], delimiters)


def sample_docs() -> list[Document]:
    return [Document.from_json_dict(d) for p in SAMPLE_FILES for d in json.loads(p.with_suffix(".json").read_text())]


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: p.name)
def test_round_trip_canonical_build_read_map(path: Path) -> None:
    for expected in json.loads(path.with_suffix(".json").read_text()):
        doc = Document.from_json_dict(expected)
        version = expected["source"]["version"]
        data = wrap(build_810(doc, version), version)
        (ts,) = sets_of(data)
        assert not errors(ts.issues), ts.issues
        guide, _ = load_guide(ts.set_id, ts.implementation_ref)
        assert guide is not None and validate_set(ts, guide) == []
        back, issues = map_810(ts)
        assert issues == []
        got, want = back.to_json_dict(), dict(expected)
        got.pop("source")
        want.pop("source")
        got.pop("sender")
        got.pop("receiver")
        want.pop("sender")
        want.pop("receiver")
        assert got == want


def test_build_writes_n2_totals_credit_memo_and_vics_qualifiers() -> None:
    by_number = {d.number: d for d in sample_docs()}
    credit = build_810(by_number["CM-20977"], "005010")
    assert credit[0][:9] == ["BIG", "20250620", "CM-20977", "20250602", "PO-88412", "", "", "CR", "00"]
    assert ["TDS", "8181", "", "", ""] in credit and ["TXI", "TX", "4.81"] in credit
    assert credit[-1] == ["CTT", "1", "2"]
    acme = build_810(by_number["INV-20931"], "004010")
    assert ["SAC", "C", "D240", "", "", "4500"] in acme
    assert ["SAC", "A", "ZZZZ", "", "", "1250", "", "", "", "", "", "", "", "", "", "OTHER ALLOWANCES"] in acme
    assert ["REF", "PO", "PO-88415"] in acme
    vics = build_810(by_number["GX-INV-55012"], "004010VICS")
    it1 = next(s for s in vics if s[0] == "IT1")
    assert it1[6:12] == ["UP", "012345678905", "VN", "GX-TWL-BLU", "BP", "300118845"]


def test_build_computes_tds_when_the_amount_is_not_stated() -> None:
    doc, _ = map_body(GOOD_BODY)
    doc.totals.amount = None
    body = build_810(doc, "004010")
    assert next(s for s in body if s[0] == "TDS")[1] == "3640"


def test_build_refuses_what_has_no_x12_form() -> None:
    doc, _ = map_body(GOOD_BODY)
    doc.number = None
    doc.references["free text key"] = "x"
    with pytest.raises(BuildError) as caught:
        build_810(doc, "004010")
    assert {p.field for p in caught.value.problems} == {"number", "references.free text key"}


def test_describe_field_names_the_canonical_field() -> None:
    (doc,) = [d for d in sample_docs() if d.number == "INV-20931"]
    body = [["ST", "810", "0001"], *build_810(doc, "004010")]
    position = {s[0]: i for i, s in reversed(list(enumerate(body, start=1)))}
    assert describe_field(body, position["BIG"], 2) == "number"
    assert describe_field(body, position["TDS"], 1) == "totals.amount"
    assert describe_field(body, position["IT1"], 4) == "lines[0].unit_price"
    assert describe_field(body, position["ITD"], 7) == "references.terms_net_days"


# -- robustness --------------------------------------------------------------------------------------------

element_text = st.text(alphabet=st.sampled_from(list("0123456789.-+ ABCDEFGHPTUVZ:^,eE\u00e9")), max_size=14)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), sample=st.sampled_from([*SAMPLE_FILES, None]))
def test_mutated_element_values_never_raise(data: st.DataObject, sample: Path | None) -> None:
    raw = sample.read_bytes() if sample is not None else interchange_810(GOOD_BODY)
    (ts,) = sets_of(raw)
    for _ in range(data.draw(st.integers(min_value=1, max_value=8))):
        seg = ts.segments[data.draw(st.integers(min_value=0, max_value=len(ts.segments) - 1))]
        position = data.draw(st.integers(min_value=1, max_value=max(1, len(seg.elements) + 2)))
        while len(seg.elements) <= position:
            seg.elements.append("")
        seg.elements[position] = data.draw(element_text)
    doc, issues = map_810(ts)
    assert doc.kind == "invoice"
    json.dumps(doc.to_json_dict())
    assert all(isinstance(i, Issue) for i in issues)
    _, more = map_set(ts, strict=True)
    assert all(isinstance(i, Issue) for i in more)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sample=st.sampled_from(SAMPLE_FILES), cut=st.integers(min_value=0, max_value=1500),
       drop=st.sets(st.integers(min_value=0, max_value=40), max_size=6))
def test_truncated_and_damaged_810s_never_raise(sample: Path, cut: int, drop: set[int]) -> None:
    for ts in sets_of(sample.read_bytes()[:cut]):
        ts.segments[:] = [s for i, s in enumerate(ts.segments) if i not in drop]
        doc, issues = map_810(ts)
        json.dumps(doc.to_json_dict())
        assert all(isinstance(i, Issue) for i in issues)
