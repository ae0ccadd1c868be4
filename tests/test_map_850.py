"""X12 850 -> canonical order: samples, the shared real-world corpus, mapping issues, robustness."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mappings.canonical import Document
from mappings.x12 import translate
from mappings.x12.map_850 import map_850
from mappings.x12.translate import MAPPERS, map_set
from parsers.issues import Issue
from parsers.x12.reader import FunctionalGroup, Interchange, SetRead, TransactionSet, read_x12
from parsers.x12.segments import DEFAULT_DELIMITERS, Segment

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples" / "x12"
CORPUS = REPO.parent / "shared" / "corpus" / "x12"


def sets_of(data: bytes) -> list[TransactionSet]:
    return [ev.transaction_set for ev in read_x12(data) if isinstance(ev, SetRead)]


def interchange_850(body: list[str], version: str = "004010", isa12: str = "00401") -> bytes:
    """A well-enveloped single 850 around `body` (segments without terminators)."""
    isa = (f"ISA*00*          *00*          *ZZ*{'ACMEBUYER':<15}*ZZ*{'EDIGW':<15}*250310*0815*U*{isa12}*"
           "000000101*0*P*>")
    assert len(isa) == 105
    segs = ["ST*850*0001", *body]
    segs.append(f"SE*{len(segs) + 1}*0001")
    all_segs = [isa, f"GS*PO*ACMEBUYER*EDIGW*20250310*0815*101*X*{version}", *segs, "GE*1*101",
                "IEA*1*000000101"]
    return ("~".join(all_segs) + "~").encode()


def map_body(body: list[str], version: str = "004010") -> tuple[Document, list[Issue]]:
    (ts,) = sets_of(interchange_850(body, version))
    return map_850(ts)


def codes(issues: list[Issue]) -> list[str]:
    return [i.code for i in issues]


GOOD_BODY = [
    "BEG*00*SA*PO-1**20250310",
    "PO1*1*10*EA*2.50**BP*A1",
    "PO1*2*4*EA*1.25**BP*A2",
    "CTT*2*14",
    "AMT*TT*30.00",
]


# -- samples ---------------------------------------------------------------------------------------

SAMPLE_FILES = sorted(SAMPLES.glob("*.edi"))


def test_there_are_enough_samples() -> None:
    assert len(SAMPLE_FILES) >= 5
    assert all(f.with_suffix(".json").is_file() for f in SAMPLE_FILES)


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: p.name)
def test_sample_maps_to_its_expected_json(path: Path) -> None:
    expected: list[dict[str, Any]] = json.loads(path.with_suffix(".json").read_text())
    produced: list[dict[str, Any]] = []
    for ts in sets_of(path.read_bytes()):
        assert not [i for i in ts.issues if i.is_error], ts.issues  # envelope counts and controls are right
        doc, issues = map_set(ts, strict=True)
        assert doc is not None
        assert issues == []
        produced.append(doc.to_json_dict())
    assert produced == expected
    # the JSON form is the contract: it must read back into the same document
    assert [Document.from_json_dict(d).to_json_dict() for d in expected] == expected


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: p.name)
def test_sample_envelopes_are_exact(path: Path) -> None:
    data = path.read_bytes()
    assert data.startswith(b"ISA")
    terminator = data[105:106]
    for start in (i for i in range(len(data)) if data.startswith(b"ISA", i) and (i == 0 or data[i - 1] in b"~\n")):
        assert data[start + 105 : start + 106] == terminator  # ISA fixed at 106 characters
    for ev in read_x12(data):
        for attr in ("interchange", "group", "transaction_set"):
            obj = getattr(ev, attr, None)
            if obj is not None:
                assert not [i for i in obj.issues if i.is_error], obj.issues


def test_samples_cover_the_partners_and_shapes() -> None:
    by_name = {p.stem: json.loads(p.with_suffix(".json").read_text()) for p in SAMPLE_FILES}
    senders = {(d["sender"]["qualifier"], d["sender"]["id"]) for docs in by_name.values() for d in docs}
    assert senders == {("ZZ", "ACMEBUYER"), ("01", "123456789")}
    assert {(d["receiver"]["qualifier"], d["receiver"]["id"]) for docs in by_name.values() for d in docs} == {
        ("ZZ", "EDIGW")}
    versions = {d["source"]["version"] for docs in by_name.values() for d in docs}
    assert {"004010", "004010VICS", "005010"} <= versions
    assert len(by_name["acme_850_two_sets"]) == 2
    assert len(by_name["mixed_850_two_interchanges"]) == 2
    assert b"\r\n" in (SAMPLES / "acme_850_004010.edi").read_bytes()
    assert (SAMPLES / "globex_850_pipe.edi").read_bytes()[103:106] == b"|^\n"


# -- the shared corpus of real files ----------------------------------------------------------------

# file -> per set: (PO number, quantities per line, mapping issue codes expected)
CORPUS_850: dict[str, list[tuple[str, list[str], list[str]]]] = {
    "aaronhuggins__node-x12__850.edi": [("08292233294", ["120", "220", "126", "76", "72", "696"], [])],
    "aaronhuggins__node-x12__850_2.edi": [("08292233294", ["120", "220", "126", "76", "72", "696"], [])],
    "aaronhuggins__node-x12__850_3.edi": [("----------", ["1"], [])],
    "aaronhuggins__node-x12__850_fat.edi": [("08292233294", ["120", "220", "126", "76", "72", "696"], [])] * 2,
    # CTT*1 but two PO1 lines (the source marks it a failing fixture)
    "kputnam__stupidedi__003010_PO850_fail_1.edi": [("PR12345678", ["3", "9"], ["X12_CTT_LINE_COUNT"])],
    "kputnam__stupidedi__003050_PO850_fail_1.edi": [("NP00001234", ["3"], [])],
    "kputnam__stupidedi__004010_PO850_pass_1.edi": [("PO12345", ["1"], [])],
    "kputnam__stupidedi__004010_X357_SC850_pass_basic-po.edi": [("508517", ["48"], [])],
    "kputnam__stupidedi__004010_X357_SC850_pass_taxexempt-po.edi": [("XX-1234", ["25"], [])],
}


def corpus_850_files() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted(p for p in CORPUS.glob("*.edi") if any(ts.set_id == "850" for ts in sets_of(p.read_bytes())))


@pytest.mark.parametrize("name", sorted(CORPUS_850))
def test_corpus_850(name: str) -> None:
    path = CORPUS / name
    if not path.is_file():
        pytest.skip(f"shared corpus file {path} is not present")
    sets = [ts for ts in sets_of(path.read_bytes()) if ts.set_id == "850"]
    expected = CORPUS_850[name]
    assert len(sets) == len(expected)
    for ts, (po, quantities, issue_codes) in zip(sets, expected, strict=True):
        doc, issues = map_850(ts)
        assert doc.number == doc.po_number == po
        assert len(doc.lines) == doc.totals.line_count == len(quantities)
        assert [ln.quantity for ln in doc.lines] == [Decimal(q) for q in quantities]
        assert all(ln.po_number == po for ln in doc.lines)
        assert sorted(codes(issues)) == sorted(issue_codes)
        json.dumps(doc.to_json_dict())


def test_every_corpus_850_has_expectations() -> None:
    files = corpus_850_files()
    if not files:
        pytest.skip(f"shared corpus {CORPUS} is not present")
    assert {p.name for p in files} <= set(CORPUS_850)


def test_corpus_vics_details() -> None:
    path = CORPUS / "aaronhuggins__node-x12__850.edi"
    if not path.is_file():
        pytest.skip("shared corpus not present")
    (ts,) = sets_of(path.read_bytes())
    doc, _ = map_850(ts)
    assert doc.totals.amount == Decimal("13045.94")  # AMT*1, which equals the lines' sum
    assert doc.references["department"] == "038"
    assert doc.dates["delivery_requested"].isoformat() == "2010-12-14"
    ship_to = doc.party("ship_to")
    assert ship_to is not None and ship_to.ids == {"duns4": "0003947268292"}
    assert doc.lines[0].item_ids == {"buyer_catalog": "065322-117", "pr": "RO", "vendor_part": "AB3542"}
    assert doc.lines[0].description == "SMALL WIDGET"
    assert doc.sender is not None and (doc.sender.qualifier, doc.sender.id) == ("12", "4405197800")


def test_corpus_old_version_short_dates() -> None:
    path = CORPUS / "kputnam__stupidedi__003010_PO850_fail_1.edi"
    if not path.is_file():
        pytest.skip("shared corpus not present")
    (ts,) = sets_of(path.read_bytes())
    doc, _ = map_850(ts)
    assert doc.date is not None and doc.date.isoformat() == "2007-01-02"
    assert doc.currency == "USD"
    assert doc.lines[0].line_number == "001"


# -- mapping details and issues ---------------------------------------------------------------------

def test_good_order_has_no_issues() -> None:
    doc, issues = map_body(GOOD_BODY)
    assert issues == []
    assert doc.totals.amount == Decimal("30.00")
    assert doc.totals.quantity == Decimal("14")
    assert doc.totals.line_count == 2


def test_ctt_line_count_mismatch() -> None:
    body = [s if not s.startswith("CTT") else "CTT*3*14" for s in GOOD_BODY]
    _, issues = map_body(body)
    (issue,) = issues
    assert (issue.severity, issue.code) == ("error", "X12_CTT_LINE_COUNT")
    assert "CTT01" in issue.location and "3" in issue.message and "2" in issue.message
    assert issue.x12 is not None and issue.x12.segment_id == "CTT" and issue.x12.segment_position == 5


def test_ctt_hash_total_mismatch_is_a_warning() -> None:
    body = [s if not s.startswith("CTT") else "CTT*2*15" for s in GOOD_BODY]
    doc, issues = map_body(body)
    assert [(i.severity, i.code) for i in issues] == [("warning", "X12_CTT_HASH_TOTAL")]
    assert doc.totals.quantity == Decimal("15")  # as stated; the warning says it disagrees


def test_total_mismatch_names_both_amounts() -> None:
    body = [s if not s.startswith("AMT") else "AMT*TT*31.50" for s in GOOD_BODY]
    doc, issues = map_body(body)
    (issue,) = issues
    assert (issue.severity, issue.code) == ("warning", "X12_TOTAL_MISMATCH")
    assert "31.50" in issue.message and "30.00" in issue.message
    assert "AMT02" in issue.location
    assert doc.totals.amount == Decimal("31.50")


def test_total_with_sac_charge_matches() -> None:
    body = [*GOOD_BODY[:1], "SAC*C*D240***500", *GOOD_BODY[1:4], "AMT*TT*35"]
    _, issues = map_body(body)
    assert issues == []


def test_amt_line_item_total_and_computed_fallback() -> None:
    body = [*GOOD_BODY[:4], "AMT*1*30"]
    doc, issues = map_body(body)
    assert issues == [] and doc.totals.amount == Decimal("30")
    doc, issues = map_body(GOOD_BODY[:3])  # no CTT, no AMT
    assert issues == []
    assert doc.totals.amount == Decimal("30.00") and str(doc.totals.amount) == "30.00"
    assert doc.totals.quantity == Decimal("14")


@pytest.mark.parametrize(
    ("segment", "code", "element"),
    [
        ("PO1*1*1O*EA*2.50**BP*A1", "X12_INVALID_QUANTITY", "PO102"),
        ("PO1*1*10*EA*2,50**BP*A1", "X12_INVALID_PRICE", "PO104"),
        ("PO1*1*10*EA*1e3**BP*A1", "X12_INVALID_PRICE", "PO104"),
    ],
)
def test_unparseable_line_values(segment: str, code: str, element: str) -> None:
    doc, issues = map_body(["BEG*00*SA*PO-1**20250310", segment])
    (issue,) = issues
    assert (issue.severity, issue.code) == ("error", code)
    assert element in issue.location and "(PO1)" in issue.location
    bad = segment.split("*")[int(element[-2:])]
    assert repr(bad) in issue.message
    assert doc.totals.amount is None  # no partial totals


@pytest.mark.parametrize(
    ("body", "element", "value"),
    [
        (["BEG*00*SA*PO-1**20251340"], "BEG05", "20251340"),
        (["BEG*00*SA*PO-1**250310"], "BEG05", "250310"),  # 6 digits is not a 004010 date
        (["BEG*00*SA*PO-1**20250310", "DTM*002*2025-03-20"], "DTM02", "2025-03-20"),
    ],
)
def test_unparseable_dates(body: list[str], element: str, value: str) -> None:
    doc, issues = map_body(body)
    (issue,) = issues
    assert (issue.severity, issue.code) == ("error", "X12_INVALID_DATE")
    assert element in issue.location and repr(value) in issue.message
    assert doc.dates == {}


def test_short_dates_in_old_versions() -> None:
    doc, issues = map_body(["BEG*00*SA*PO-1**990310", "DTM*010*020401"], version="003040")
    assert issues == []
    assert doc.date is not None and doc.date.isoformat() == "1999-03-10"
    assert doc.dates["ship_requested"].isoformat() == "2002-04-01"


def test_invalid_amount_and_count() -> None:
    _, issues = map_body([*GOOD_BODY[:3], "CTT*two", "AMT*TT*3O"])
    assert sorted(codes(issues)) == ["X12_INVALID_NUMBER", "X12_INVALID_NUMBER"]
    assert {i.location.rsplit(", ", 1)[1] for i in issues} == {"CTT01", "AMT02"}


def test_missing_po_number() -> None:
    doc, issues = map_body(["BEG*00*SA***20250310", "PO1*1*1*EA*1"])
    assert codes(issues) == ["X12_PO_NUMBER_MISSING"] and issues[0].is_error and "BEG03" in issues[0].location
    assert doc.number is None
    doc, issues = map_body(["PO1*1*1*EA*1"])
    assert codes(issues) == ["X12_PO_NUMBER_MISSING"] and "(ST)" in issues[0].location


def test_duplicate_and_missing_line_numbers() -> None:
    doc, issues = map_body(["BEG*00*SA*PO-1**20250310", "PO1*1*1*EA*1", "PO1*1*2*EA*1", "PO1**3*EA*1"])
    assert [(i.severity, i.code) for i in issues] == [("warning", "X12_DUPLICATE_LINE_NUMBER")]
    assert [ln.line_number for ln in doc.lines] == ["1", "1", "3"]


def test_header_mapping() -> None:
    doc, issues = map_body([
        "BEG*05*KN*PO-9*R-2*20250310*C-77",
        "CUR*SE*EUR",
        "CUR*BY*USD",
        "REF*DP*12",
        "REF*IA*V-1",
        "REF*PD*PROMO",
        "REF*VR*VID",
        "REF*ZZ**FREE TEXT",
        "DTM*002*20250320",
        "DTM*010*20250315",
        "DTM*037*20250314",
        "DTM*038*20250318",
        "DTM*063*20250321",
        "DTM*064*20250319",
        "DTM*999*20250301",
        "N9*L1*NOTES",
        "DTM*097*20250101",
        "MSG*THIS DATE BELONGS TO THE NOTE",
        "N1*BY*BUYER CO*1*111111111",
        "N1*ST*STORE 5*92*5",
        "N2*RECEIVING",
        "N3*1 MAIN ST*SUITE 2",
        "N4*SPRINGFIELD*IL*62701*US",
        "REF*IA*ST-VENDOR",
        "N1*BT*BILLING*9*1111111110001",
        "N1*SE*SELLER*91*S1",
        "N1*SF*WAREHOUSE*UL*0614141000012",
        "N1*RE*LOCKBOX*ZZ*LB",
        "N1*XQ*OTHER",
        "PO1*1*2*EA*3.5*PE*BP*B1*VP*V1*UP*012345678905*UK*10012345600019*EN*4006381333931*IN*I1*SK*S1*CB*C1"
        "*MG*M1*PI*P1*XX*X1",
        "PID*S**VI*FL*STRUCTURED",
        "PID*F****BLUE",
        "PID*F****WIDGET",
        "CTT*1",
    ])
    assert issues == []
    assert (doc.purpose, doc.number, doc.po_number, doc.currency) == ("replace", "PO-9", "PO-9", "USD")
    assert doc.references == {"order_type": "KN", "release": "R-2", "contract": "C-77", "department": "12",
                              "vendor_number": "V-1", "promotion": "PROMO", "vendor_id": "VID",
                              "zz": "FREE TEXT"}
    assert {k: v.isoformat() for k, v in doc.dates.items()} == {
        "delivery_requested": "2025-03-20", "ship_requested": "2025-03-15", "ship_not_before": "2025-03-14",
        "ship_no_later": "2025-03-18", "do_not_deliver_after": "2025-03-21", "do_not_deliver_before": "2025-03-19",
        "dtm_999": "2025-03-01"}
    assert [(p.role, p.name, p.ids) for p in doc.parties] == [
        ("buyer", "BUYER CO", {"duns": "111111111"}),
        ("ship_to", "STORE 5 RECEIVING", {"assigned_by_buyer": "5", "vendor_number": "ST-VENDOR"}),
        ("bill_to", "BILLING", {"duns4": "1111111110001"}),
        ("seller", "SELLER", {"assigned_by_seller": "S1"}),
        ("ship_from", "WAREHOUSE", {"gln": "0614141000012"}),
        ("remit_to", "LOCKBOX", {"zz": "LB"}),
        ("xq", "OTHER", {}),
    ]
    ship_to = doc.party("ship_to")
    assert ship_to is not None and ship_to.address is not None
    assert ship_to.address.model_dump() == {"lines": ["1 MAIN ST", "SUITE 2"], "city": "SPRINGFIELD",
                                            "state": "IL", "postal_code": "62701", "country": "US"}
    (line,) = doc.lines
    assert line.item_ids == {"buyer_part": "B1", "vendor_part": "V1", "upc": "012345678905",
                             "gtin": "10012345600019", "ean": "4006381333931", "buyer_item": "I1", "sku": "S1",
                             "buyer_catalog": "C1", "manufacturer_part": "M1", "purchaser_item": "P1", "xx": "X1"}
    assert line.description == "BLUE WIDGET"
    assert (line.quantity, line.unit_price, line.uom) == (Decimal("2"), Decimal("3.5"), "EA")
    assert doc.source.model_dump() == {"format": "x12", "version": "004010", "set": "850",
                                       "control_numbers": {"isa13": "000000101", "gs06": "101", "st02": "0001"},
                                       "channel": None}


@pytest.mark.parametrize(("code", "purpose"), [("00", "original"), ("01", "cancel"), ("05", "replace"),
                                                ("06", "confirmation"), ("07", "duplicate"), ("ZZ", "ZZ")])
def test_purposes(code: str, purpose: str) -> None:
    doc, _ = map_body([f"BEG*{code}*SA*PO-1**20250310"])
    assert doc.purpose == purpose


def test_invalid_currency_and_line_level_party() -> None:
    doc, issues = map_body(["BEG*00*SA*PO-1**20250310", "CUR*BY*US DOLLARS", "PO1*1*1*EA*1",
                            "N1*ST*STORE 9*92*9"])
    assert [(i.severity, i.code) for i in issues] == [("error", "X12_INVALID_CURRENCY"),
                                                      ("warning", "X12_LINE_PARTY_NOT_MAPPED")]
    assert doc.currency is None and doc.parties == []


def test_005010_period_dates() -> None:
    doc, issues = map_body(["BEG*00*SA*PO-1**20250310", "DTM*002****D8*20250320"], version="005010")
    assert issues == [] and doc.dates["delivery_requested"].isoformat() == "2025-03-20"


# -- the registry -----------------------------------------------------------------------------------

def test_map_set_dispatches_and_reports_unmapped_sets() -> None:
    (ts,) = sets_of(interchange_850(GOOD_BODY))
    assert MAPPERS["850"] is map_850
    doc, issues = map_set(ts)
    assert doc is not None and doc.number == "PO-1" and issues == []
    ts.segments[0].elements[1] = "846"  # inventory advice: read and acknowledged, not mapped
    doc, issues = map_set(ts)
    assert doc is None
    assert [(i.severity, i.code) for i in issues] == [("warning", "X12_SET_NOT_MAPPED")]
    assert "846" in issues[0].message


def test_map_set_turns_a_mapper_crash_into_an_issue(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(ts: TransactionSet) -> tuple[Document, list[Issue]]:
        for seg in ts.segments:
            if seg.tag == "PO1":
                raise ValueError("boom")
        raise AssertionError("unreachable")

    monkeypatch.setitem(translate.MAPPERS, "850", broken)
    (ts,) = sets_of(interchange_850(GOOD_BODY))
    doc, issues = map_set(ts)
    assert doc is None
    (issue,) = issues
    assert (issue.severity, issue.code) == ("error", "X12_MAPPING_FAILED")
    assert "850" in issue.message and "PO1" in issue.message and "boom" in issue.message
    assert issue.x12 is not None and issue.x12.segment_position == 3
    with pytest.raises(ValueError, match="boom"):
        map_set(ts, strict=True)


# -- robustness -------------------------------------------------------------------------------------

TAGS = ["BEG", "CUR", "REF", "DTM", "N9", "MSG", "N1", "N2", "N3", "N4", "PER", "PO1", "PID", "SAC", "CTT",
        "AMT", "SE", "ST", "XYZ", ""]
element_text = st.text(alphabet=st.sampled_from(list("0123456789.-+ ABCDEFGHPTUVZ:^,eE\u00e9")), max_size=14)


def _envelope(version: str) -> FunctionalGroup:
    isa = Segment(["ISA", "00", " " * 10, "00", " " * 10, "ZZ", "ACMEBUYER      ", "ZZ", "EDIGW          ",
                   "250310", "0815", "U", "00401", "000000101", "0", "P", ">"], 1, 0, DEFAULT_DELIMITERS)
    gs = Segment(["GS", "PO", "ACMEBUYER", "EDIGW", "20250310", "0815", "101", "X", version], 2, 106,
                 DEFAULT_DELIMITERS)
    return FunctionalGroup(gs, Interchange(isa))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    segments=st.lists(
        st.tuples(st.sampled_from(TAGS), st.lists(element_text, max_size=26)), max_size=30),
    with_st=st.booleans(),
    version=st.sampled_from(["004010", "004010VICS", "005010", "003010", "", "X", "00"]),
)
def test_arbitrary_elements_never_raise(segments: list[tuple[str, list[str]]], with_st: bool, version: str) -> None:
    segs = [Segment(["ST", "850", "0001"], 3, 200, DEFAULT_DELIMITERS)] if with_st else []
    for n, (tag, elements) in enumerate(segments, start=len(segs) + 3):
        segs.append(Segment([tag, *elements] if tag or elements else [], n, n * 40, DEFAULT_DELIMITERS))
    ts = TransactionSet(segs, _envelope(version), complete=bool(segs) and segs[-1].elements[:1] == ["SE"])
    doc, issues = map_850(ts)
    assert doc.kind == "order"
    json.dumps(doc.to_json_dict())
    assert all(isinstance(i, Issue) for i in issues)
    _, more = map_set(ts, strict=True)  # strict: a crash would surface here rather than become an issue
    assert all(isinstance(i, Issue) for i in more)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sample=st.sampled_from(SAMPLE_FILES), cut=st.integers(min_value=0, max_value=2000),
       drop=st.sets(st.integers(min_value=0, max_value=60), max_size=6))
def test_truncated_and_damaged_sets_never_raise(sample: Path, cut: int, drop: set[int]) -> None:
    data = sample.read_bytes()[:cut]
    for ts in sets_of(data):
        ts.segments[:] = [s for i, s in enumerate(ts.segments) if i not in drop]
        doc, issues = map_850(ts)
        json.dumps(doc.to_json_dict())
        _, more = map_set(ts, strict=True)
        assert all(isinstance(i, Issue) for i in [*issues, *more])
