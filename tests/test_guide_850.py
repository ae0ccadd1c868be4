"""850 guides as data and the guide-driven validator: versions, AK3/AK4 codes, syntax rules, VICS, corpus."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mappings.x12.guide import Guide, load_guide
from mappings.x12.validate import validate_set
from parsers.issues import Issue
from parsers.x12.reader import SetRead, TransactionSet, read_x12

CORPUS = Path("/work/shared/corpus/x12")
ISA = ("ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *260709*1200*U*{isa12}*000000001*0*T*>~")

VALID_4010 = [
    "BEG*00*SA*PO4711**20260709",
    "CUR*BY*USD",
    "REF*DP*038",
    "PER*BD*JANE BUYER*TE*5551234567*EM*jane@example.com",
    "FOB*PP",
    "ITD*01*3*2**30**45",
    "DTM*002*20260801*1330",
    "TD5*B*2*UPSN*U",
    "N1*ST*STORE 12*92*0012",
    "N3*1 MAIN ST",
    "N4*SOLON*OH*44139*US",
    "N1*BT*HEAD OFFICE*9*123456789",
    "PO1*1*12*EA*9.25*PE*UP*012345678905*VN*AB-1",
    "PID*F****SMALL WIDGET",
    "PO4*4*4*EA",
    "SAC*C*D240***1500",
    "SCH*12*EA***002*20260801",
    "PO1*2*3*CA*20**BP*X-2",
    "CTT*2",
    "AMT*TT*171",
]


def make_set(body: list[str], version: str = "004010", st03: str = "", gs01: str = "PO") -> TransactionSet:
    """One 850 in a full interchange, read back through the real reader."""
    st = "ST*850*0001" + (f"*{st03}" if st03 else "")
    segments = [st, *body, f"SE*{len(body) + 2}*0001"]
    isa12 = "00501" if version.startswith("005") else "00401"
    text = (ISA.format(isa12=isa12) + f"GS*{gs01}*SENDER*RECEIVER*20260709*1200*1*X*{version}~"
            + "~".join(segments) + "~GE*1*1~IEA*1*000000001~")
    sets = [e.transaction_set for e in read_x12(text.encode()) if isinstance(e, SetRead)]
    assert len(sets) == 1
    return sets[0]


def check(body: list[str], version: str = "004010", st03: str = "") -> list[Issue]:
    ts = make_set(body, version, st03)
    guide, _ = load_guide(ts.set_id, ts.implementation_ref)
    assert guide is not None
    return validate_set(ts, guide)


def errors(issues: list[Issue]) -> list[Issue]:
    return [i for i in issues if i.is_error]


def only_error(issues: list[Issue]) -> Issue:
    errs = errors(issues)
    assert len(errs) == 1, [(i.code, i.message) for i in errs]
    return errs[0]


def replace_seg(body: list[str], prefix: str, new: str) -> list[str]:
    """The valid body with the first segment starting with `prefix` replaced."""
    out = list(body)
    out[next(i for i, s in enumerate(out) if s.startswith(prefix))] = new
    return out


# --------------------------------------------------------------------------------------------- loading


def test_load_guide_versions_and_fallbacks() -> None:
    g, issues = load_guide("850", "004010")
    assert g is not None and g.version == "004010" and issues == []
    g, issues = load_guide("850", "00401")
    assert g is not None and g.version == "004010" and issues == []
    g, issues = load_guide("850", "004010VICS")
    assert g is not None and g.version == "004010VICS" and issues == []
    g, issues = load_guide("850", "005010")
    assert g is not None and g.version == "005010" and issues == []
    g, issues = load_guide("850", "004010X357")
    assert g is not None and g.version == "004010"
    assert [i.code for i in issues] == ["X12_GUIDE_FALLBACK"] and issues[0].severity == "warning"
    g, issues = load_guide("850", "004030")
    assert g is not None and g.version == "004010" and issues[0].code == "X12_GUIDE_FALLBACK"
    g, issues = load_guide("850", "005020")
    assert g is not None and g.version == "005010"
    g, issues = load_guide("999", "004010")
    assert g is None and issues and issues[0].code == "X12_GUIDE_UNKNOWN_SET"


def test_load_guide_is_cached() -> None:
    assert load_guide("850", "004010")[0] is load_guide("850", "004010")[0]


def test_structure_is_data_with_loops() -> None:
    g, _ = load_guide("850", "004010")
    assert g is not None
    node = g.compiled
    po1 = node.child_nodes[node.index["PO1"][0]]
    assert po1.loop.id == "PO1" and po1.loop.usage == "M" and po1.loop.repeat == 100000
    assert "N1" in po1.index and "SCH" in po1.index  # nested loops inside PO1
    beg = g.dictionary["BEG"]
    assert beg.elements is not None
    assert (beg.elements[2].type, beg.elements[2].min_len, beg.elements[2].max_len) == ("AN", 1, 22)
    assert (beg.elements[4].type, beg.elements[4].min_len, beg.elements[4].max_len) == ("DT", 8, 8)
    po1_seg = g.dictionary["PO1"]
    assert po1_seg.elements is not None and len(po1_seg.elements) == 25
    assert po1_seg.elements[3].type == "R" and po1_seg.elements[3].max_len == 17
    assert [r.text for r in po1_seg.rules][:3] == ["C0302", "C0504", "P0607"]
    ctt = g.dictionary["CTT"]
    assert ctt.elements is not None and (ctt.elements[0].type, ctt.elements[0].max_len) == ("N0", 6)


# --------------------------------------------------------------------------------------------- valid sets


def test_valid_4010_has_no_issues() -> None:
    assert check(VALID_4010) == []


def test_valid_5010_has_no_errors() -> None:
    body = replace_seg(VALID_4010, "N4*SOLON", "N4*TORONTO**M5V2T6*CA***ON")
    body.insert(body.index("TD5*B*2*UPSN*U") + 1, "MSG*PLEASE CALL BEFORE DELIVERY")
    body = replace_seg(body, "REF*DP", "REF*DP*" + "D" * 45)  # 127 is AN 1/50 in 005010
    assert check(body, "005010", st03="005010") == []
    # the same longer REF02 is too long under 004010 (AN 1/30)
    issue = only_error(check(replace_seg(VALID_4010, "REF*DP", "REF*DP*" + "D" * 45)))
    assert issue.code == "X12_ELEMENT_TOO_LONG" and issue.x12 is not None and issue.x12.ak4_code == "5"


def test_valid_vics_has_no_errors() -> None:
    assert errors(check(VALID_4010, "004010VICS")) == []


# --------------------------------------------------------------------------------------------- AK304 codes


def test_ak3_1_unrecognized_segment() -> None:
    issue = only_error(check([*VALID_4010[:3], "ZQX*1", *VALID_4010[3:]]))
    assert issue.code == "X12_UNRECOGNIZED_SEGMENT"
    assert issue.x12 is not None and (issue.x12.ak3_code, issue.x12.segment_position, issue.x12.segment_id) == (
        "1", 5, "ZQX")


def test_ak3_2_unexpected_segment() -> None:
    # PO4 belongs to the PO1 loop only; in the header it is unexpected
    issue = only_error(check([*VALID_4010[:1], "PO4*4*4*EA", *VALID_4010[1:]]))
    assert issue.code == "X12_UNEXPECTED_SEGMENT"
    assert issue.x12 is not None and (issue.x12.ak3_code, issue.x12.segment_position) == ("2", 3)


def test_ak3_3_mandatory_segment_missing() -> None:
    issue = only_error(check(VALID_4010[1:]))
    assert issue.code == "X12_MANDATORY_SEGMENT_MISSING"
    assert issue.x12 is not None
    assert (issue.x12.segment_id, issue.x12.segment_position, issue.x12.ak3_code) == ("BEG", 2, "3")
    # the whole PO1 loop missing: reported once, naming PO1
    body = [s for s in VALID_4010 if not s.startswith(("PO1", "PID", "PO4", "SAC", "SCH"))]
    issue = only_error(check(body))
    assert issue.x12 is not None and (issue.x12.segment_id, issue.x12.loop_id, issue.x12.ak3_code) == (
        "PO1", "PO1", "3")
    assert issue.x12.segment_position == body.index("CTT*2") + 2


def test_ak3_4_loop_over_max() -> None:
    issue = only_error(check([*VALID_4010, "CTT*2"]))
    assert issue.code == "X12_LOOP_OVER_MAX"
    assert issue.x12 is not None and (issue.x12.ak3_code, issue.x12.loop_id) == ("4", "CTT")
    assert issue.x12.segment_position == len(VALID_4010) + 2


def test_ak3_5_segment_over_max_use() -> None:
    per = "PER*BD*JANE*TE*555"
    body = [*VALID_4010[:4], per, per, per, *VALID_4010[4:]]  # 4 PER, max 3
    issue = only_error(check(body))
    assert issue.code == "X12_SEGMENT_OVER_MAX_USE"
    assert issue.x12 is not None and (issue.x12.ak3_code, issue.x12.segment_position) == ("5", 8)


def test_ak3_6_segment_not_in_set() -> None:
    issue = only_error(check([*VALID_4010[:1], "NTE*GEN*HELLO", *VALID_4010[1:]]))
    assert issue.code == "X12_SEGMENT_NOT_IN_SET"
    assert issue.x12 is not None and (issue.x12.ak3_code, issue.x12.segment_position) == ("6", 3)


def test_ak3_7_out_of_sequence_without_cascade() -> None:
    body = list(VALID_4010)
    body[1], body[2] = body[2], body[1]  # REF before CUR
    issue = only_error(check(body))
    assert issue.code == "X12_SEGMENT_OUT_OF_SEQUENCE"
    assert issue.x12 is not None and (issue.x12.segment_id, issue.x12.ak3_code, issue.x12.segment_position) == (
        "CUR", "7", 4)
    # BEG after CUR: one finding for BEG (out of sequence), not also "BEG missing"
    body = list(VALID_4010)
    body[0], body[1] = body[1], body[0]
    issue = only_error(check(body))
    assert issue.code == "X12_SEGMENT_OUT_OF_SEQUENCE" and issue.x12 is not None and issue.x12.segment_id == "BEG"


def test_ak3_8_segment_with_element_errors_carries_ak4() -> None:
    issue = only_error(check(replace_seg(VALID_4010, "PO1*1", "PO1*1*12*XX*9.25*PE*UP*012345678905*VN*AB-1")))
    assert issue.code == "X12_INVALID_CODE"
    assert issue.x12 is not None
    x = issue.x12
    assert (x.segment_id, x.segment_position, x.loop_id, x.element_position, x.element_ref) == (
        "PO1", 14, "PO1", 3, "355")
    assert (x.ak3_code, x.ak4_code, x.value) == ("8", "7", "XX")
    assert "PO103 (unit or basis for measurement code, element 355) is 'XX'" in issue.message
    assert "EA" in issue.message
    assert "PO103" in issue.location and "segment 16" in issue.location  # file segment number (ISA=1)


# --------------------------------------------------------------------------------------------- AK403 codes

AK4_CASES = [
    # (segment prefix, replacement, ak403, element position, element ref, issue code)
    ("BEG", "BEG*00*SA***20260709", "1", 3, "324", "X12_MANDATORY_ELEMENT_MISSING"),
    ("BEG", "BEG*00*SA*   **20260709", "1", 3, "324", "X12_MANDATORY_ELEMENT_MISSING"),  # spaces only
    ("PO1*1", "PO1*1*12*EA*9.25*PE*UP", "2", 7, "234", "X12_SYNTAX_PAIRED"),
    ("AMT", "AMT*TT*171*C*EXTRA", "3", 4, "", "X12_TOO_MANY_ELEMENTS"),
    ("N4", "N4*S*OH*44139*US", "4", 1, "19", "X12_ELEMENT_TOO_SHORT"),
    ("BEG", "BEG*00*SA*" + "P" * 23 + "**20260709", "5", 3, "324", "X12_ELEMENT_TOO_LONG"),
    ("PO1*1", "PO1*1*1O*EA*9.25*PE*UP*012345678905", "6", 2, "330", "X12_INVALID_NUMBER"),
    ("CTT", "CTT*2.5", "6", 1, "354", "X12_INVALID_NUMBER"),
    ("N3", "N3*1 MAIN\x07ST", "6", 1, "166", "X12_INVALID_CHARACTER"),
    ("N3", "N3*1 MAIN>ST", "6", 1, "166", "X12_INVALID_CHARACTER"),  # component separator inside data
    ("PO1*1", "PO1*1*12*XX*9.25*PE*UP*012345678905", "7", 3, "355", "X12_INVALID_CODE"),
    ("N1*ST", "N1*QQ*STORE 12*92*0012", "7", 1, "98", "X12_INVALID_CODE"),
    ("BEG", "BEG*00*SA*PO4711**20260230", "8", 5, "373", "X12_INVALID_DATE"),
    ("BEG", "BEG*00*SA*PO4711**2026-7-9", "8", 5, "373", "X12_INVALID_DATE"),
    ("DTM", "DTM*002*20260801*2561", "9", 3, "337", "X12_INVALID_TIME"),
    ("DTM", "DTM*002*20260801*13301", "9", 3, "337", "X12_INVALID_TIME"),
]


@pytest.mark.parametrize(("prefix", "new", "ak4", "element", "ref", "code"), AK4_CASES)
def test_ak4_codes(prefix: str, new: str, ak4: str, element: int, ref: str, code: str) -> None:
    body = replace_seg(VALID_4010, prefix, new)
    issue = only_error(check(body))
    assert issue.code == code
    assert issue.x12 is not None
    x = issue.x12
    assert (x.ak4_code, x.element_position, x.element_ref, x.ak3_code) == (ak4, element, ref, "8")
    assert x.segment_position == body.index(new) + 2
    assert x.segment_id == new[:3].rstrip("*")


def test_ak4_10_exclusion_and_e_rule() -> None:
    body = [*VALID_4010[:7], "MEA*PD*WT*10*****01", *VALID_4010[7:]]  # MEA03 and MEA08 both (E0803)
    issue = only_error(check(body))
    assert issue.code == "X12_SYNTAX_EXCLUSION"
    assert issue.x12 is not None and (issue.x12.ak4_code, issue.x12.element_position) == ("10", 3)


def test_syntax_rule_kinds() -> None:
    cases = {
        "X12_SYNTAX_PAIRED": replace_seg(VALID_4010, "PER", "PER*BD*JANE*TE"),  # P0304
        "X12_SYNTAX_REQUIRED": replace_seg(VALID_4010, "REF", "REF*DP"),  # R0203
        "X12_SYNTAX_CONDITIONAL": replace_seg(VALID_4010, "DTM", "DTM*002*20260801**ET"),  # C0403
        "X12_SYNTAX_LIST_CONDITIONAL": replace_seg(VALID_4010, "ITD", "ITD*01*3*2"),  # L03040513
    }
    for code, body in cases.items():
        issue = only_error(check(body))
        assert issue.code == code, (code, issue.message)
        assert issue.x12 is not None and issue.x12.ak4_code == "2"
    paired = only_error(check(cases["X12_SYNTAX_PAIRED"]))
    assert paired.x12 is not None and (paired.x12.element_position, paired.x12.element_ref) == (4, "364")


def test_composite_components() -> None:
    ok = replace_seg(VALID_4010, "REF", "REF*DP*038**VN>123")
    assert check(ok) == []
    bad = replace_seg(VALID_4010, "REF", "REF*DP*038**VN>123>IA")  # C040 P0304: 03 without 04
    issue = only_error(check(bad))
    assert issue.code == "X12_SYNTAX_PAIRED"
    assert issue.x12 is not None and (issue.x12.element_position, issue.x12.component_position) == (4, 4)
    missing = replace_seg(VALID_4010, "REF", "REF*DP*038**>123")
    issue = only_error(check(missing))
    assert issue.x12 is not None and (issue.x12.ak4_code, issue.x12.component_position, issue.x12.element_ref) == (
        "1", 1, "128")


def test_numbers_dates_and_signs() -> None:
    assert check(replace_seg(VALID_4010, "AMT", "AMT*TT*-171.50")) == []
    assert check(replace_seg(VALID_4010, "PO1*2", "PO1*2*3*CA*.5**BP*X-2")) == []
    # R length counts digits only: 17 digits plus a point and a sign is fine for PO104 (R 1/17)
    assert check(replace_seg(VALID_4010, "PO1*2", "PO1*2*3*CA*-1234567890.1234567**BP*X-2")) == []
    issue = only_error(check(replace_seg(VALID_4010, "PO1*2", "PO1*2*3*CA*1234567890.12345678**BP*X-2")))
    assert issue.code == "X12_ELEMENT_TOO_LONG" and issue.x12 is not None and issue.x12.element_position == 4
    assert only_error(check(replace_seg(VALID_4010, "AMT", "AMT*TT*1.2.3"))).code == "X12_INVALID_NUMBER"
    assert only_error(check(replace_seg(VALID_4010, "DTM", "DTM*002*20250229"))).code == "X12_INVALID_DATE"
    assert check(replace_seg(VALID_4010, "DTM", "DTM*002*20240229*235959")) == []


def test_trailing_empty_elements_are_a_warning() -> None:
    issues = check(replace_seg(VALID_4010, "N3", "N3*1 MAIN ST**"))
    assert errors(issues) == []
    assert [i.code for i in issues] == ["X12_TRAILING_EMPTY_ELEMENTS"]
    assert issues[0].x12 is not None and issues[0].x12.ak3_code == ""


# --------------------------------------------------------------------------------------------- VICS and overlays


def test_vics_restrictions_fire_only_under_vics() -> None:
    body = replace_seg(VALID_4010, "N1*BT", "N1*EN*END USER*9*123456789")  # EN: 004010 yes, VICS no
    assert check(body, "004010") == []
    issue = only_error(check(body, "004010VICS"))
    assert issue.code == "X12_INVALID_CODE" and issue.x12 is not None
    assert (issue.x12.element_position, issue.x12.value) == (1, "EN")
    # VICS makes the CTT loop mandatory
    no_ctt = [s for s in VALID_4010 if not s.startswith(("CTT", "AMT"))]
    assert check(no_ctt, "004010") == []
    issue = only_error(check(no_ctt, "004010VICS"))
    assert issue.code == "X12_MANDATORY_SEGMENT_MISSING" and issue.x12 is not None
    assert issue.x12.segment_id == "CTT"
    # VICS makes PO103 mandatory
    no_uom = replace_seg(VALID_4010, "PO1*2", "PO1*2*3**20**BP*X-2")
    assert check(no_uom, "004010") == []
    assert only_error(check(no_uom, "004010VICS")).code == "X12_MANDATORY_ELEMENT_MISSING"


def test_partner_overlay_narrows_a_copy() -> None:
    base, _ = load_guide("850", "004010")
    assert base is not None
    partner = base.with_overlay({"segments": {"PO1": {"elements": {"3": {"codes": ["EA", "CA"]}}},
                                              "REF": {"usage": "M", "max": 1}}})
    assert isinstance(partner, Guide) and partner is not base
    ts = make_set(replace_seg(VALID_4010, "PO1*2", "PO1*2*3*BX*20**BP*X-2"))
    assert validate_set(ts, base) == []
    issue = only_error(validate_set(ts, partner))
    assert issue.code == "X12_INVALID_CODE" and "EA, CA" in issue.message
    no_ref = make_set([s for s in VALID_4010 if not s.startswith("REF")])
    assert only_error(validate_set(no_ref, partner)).code == "X12_MANDATORY_SEGMENT_MISSING"
    two_refs = make_set([*VALID_4010[:3], "REF*IA*99", *VALID_4010[3:]])
    assert only_error(validate_set(two_refs, partner)).code == "X12_SEGMENT_OVER_MAX_USE"
    # loop-path keys touch only that loop: REF inside the PO1 loop
    scoped = base.with_overlay({"segments": {"PO1/REF": {"elements": {"1": {"codes": ["VN"]}}}}})
    ts = make_set([*VALID_4010[:15], "REF*IA*1", *VALID_4010[15:]])  # after PO4 in the PO1 loop
    assert only_error(validate_set(ts, scoped)).code == "X12_INVALID_CODE"
    assert validate_set(make_set(VALID_4010), scoped) == []  # header REF*DP untouched
    with pytest.raises(ValueError):
        base.with_overlay({"segments": {"BEG": {"elements": {"1": {"usage": "O"}}}}})  # cannot relax M


# --------------------------------------------------------------------------------------------- corpus

VALID_CORPUS_850 = [
    "aaronhuggins__node-x12__850.edi",
    "aaronhuggins__node-x12__850_2.edi",
    "aaronhuggins__node-x12__850_3.edi",
    "aaronhuggins__node-x12__850_fat.edi",  # envelope problem only (duplicate ISA13); its sets are valid
    "kputnam__stupidedi__004010_PO850_pass_1.edi",
    "kputnam__stupidedi__004010_X357_SC850_pass_basic-po.edi",
    "kputnam__stupidedi__004010_X357_SC850_pass_taxexempt-po.edi",
]


@pytest.mark.parametrize("name", VALID_CORPUS_850)
def test_valid_corpus_850s_have_no_errors(name: str) -> None:
    path = CORPUS / name
    if not path.is_file():
        pytest.skip(f"corpus file {path} not available")
    sets = [e.transaction_set for e in read_x12(path.read_bytes()) if isinstance(e, SetRead)]
    sets = [ts for ts in sets if ts.set_id == "850"]
    assert sets
    for ts in sets:
        guide, guide_issues = load_guide(ts.set_id, ts.implementation_ref)
        assert guide is not None
        if "X357" in name:
            assert guide.version == "004010" and [i.code for i in guide_issues] == ["X12_GUIDE_FALLBACK"]
        if "VICS" in ts.implementation_ref:
            assert guide.version == "004010VICS"
        found = errors(validate_set(ts, guide))
        assert found == [], [(i.code, i.message) for i in found]


def test_corpus_850s_never_raise() -> None:
    if not CORPUS.is_dir():
        pytest.skip("corpus folder not available")
    seen = 0
    for path in sorted(CORPUS.glob("*850*")):
        for e in read_x12(path.read_bytes()):
            if isinstance(e, SetRead) and e.transaction_set.set_id == "850":
                guide, _ = load_guide("850", e.transaction_set.implementation_ref)
                assert guide is not None
                assert all(isinstance(i, Issue) for i in validate_set(e.transaction_set, guide))
                seen += 1
    assert seen >= 8


# --------------------------------------------------------------------------------------------- property


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutations=st.lists(st.tuples(st.integers(0, 40), st.integers(0, 30), st.text(max_size=30)), max_size=6),
       version=st.sampled_from(["004010", "004010VICS", "005010"]))
def test_mutated_elements_only_produce_issues(mutations: list[tuple[int, int, str]], version: str) -> None:
    ts = make_set(VALID_4010, version)
    for seg_index, element, value in mutations:
        seg = ts.segments[seg_index % len(ts.segments)]
        if element < len(seg.elements) and element > 0:
            seg.elements[element] = value
        elif element == 0:
            seg.elements[0] = value or "X"  # even the tag
        else:
            seg.elements.extend([""] * (element - len(seg.elements)) + [value])
    guide, _ = load_guide("850", version)
    assert guide is not None
    issues = validate_set(ts, guide)
    assert all(isinstance(i, Issue) and i.x12 is not None for i in issues)


def test_versions_before_004010_accept_six_digit_dates_under_the_newer_guide() -> None:
    from mappings.x12.guide import load_guide as _load

    old, _ = _load("850", "003010")
    new, _ = _load("850", "004010")
    assert old is not None and new is not None
    beg_old = old.dictionary["BEG"].elements[4]
    beg_new = new.dictionary["BEG"].elements[4]
    assert (beg_old.min_len, beg_old.max_len) == (6, 8) and (beg_new.min_len, beg_new.max_len) == (8, 8)
