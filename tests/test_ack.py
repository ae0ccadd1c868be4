"""997/999/TA1 acknowledgements, each one checked by pyx12 (widened maps) or structurally.

Inbound interchanges are written here as plain strings (not with our writer) so the writer is not
checked against itself. pyx12 is the oracle for every 997 it can read; see tests/oracle.py for what
it cannot (TA1s, ISA12 other than 00401/00501, 997s under 00501) and how those are handled.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mappings.x12.ack import (
    AckNumbers,
    AckSettings,
    GroupResult,
    ParsedAck,
    SetResult,
    build_ack,
    build_ta1_only,
    interchange_ack,
    parse_ack,
)
from parsers.issues import Issue, X12Ref, error, warning
from parsers.x12.reader import (
    GroupEnd,
    GroupStart,
    Interchange,
    InterchangeEnd,
    InterchangeStart,
    SetRead,
    read_x12,
)
from parsers.x12.segments import Segment
from parsers.x12.tokenizer import tokenize
from tests.oracle import (
    PYX12_MAPS,
    isa_version,
    make_widened_maps,
    normalize_version,
    oracle_errors,
    oracle_readable,
)

NOW = datetime(2024, 5, 6, 7, 8, tzinfo=UTC)
NUMBERS = AckNumbers(interchange=5, group=9)
CORPUS = Path("/work/shared/corpus/x12")


# --- inbound builders ------------------------------------------------------------------------------------


def isa(control: str = "000000101", ack: str = "0", usage: str = "T", version: str = "00401", isa11: str = "U",
        e: str = "*", c: str = ">", sender: str = "ZZ*SENDER         ", receiver: str = "ZZ*RECEIVER       ") -> str:
    sender, receiver = sender.replace("*", e), receiver.replace("*", e)
    return e.join(["ISA", "00", " " * 10, "00", " " * 10, sender, receiver, "240101", "1200", isa11, version,
                   control, ack, usage, c])


def po(control: str, lines: int = 1, se_count: int | None = None) -> list[str]:
    body = ["BEG*00*SA*PO-" + control + "**20240101"]
    body += [f"PO1*{n}*10*EA*9.95**BP*ITEM{n}" for n in range(1, lines + 1)]
    body.append(f"CTT*{lines}")
    count = se_count if se_count is not None else len(body) + 2
    return [f"ST*850*{control}", *body, f"SE*{count}*{control}"]


def group(control: str, sets: list[list[str]], fid: str = "PO", version: str = "004010",
          ge_count: int | None = None) -> list[str]:
    count = ge_count if ge_count is not None else len(sets)
    return [f"GS*{fid}*SNDAPP*RCVAPP*20240101*1200*{control}*X*{version}", *[s for st in sets for s in st],
            f"GE*{count}*{control}"]


def interchange(groups: list[list[str]], control: str = "000000101", iea_control: str | None = None,
                iea_count: int | None = None, e: str = "*", c: str = ">", t: str = "~", nl: str = "",
                **isa_kw: str) -> bytes:
    segments = [isa(control, e=e, c=c, **isa_kw), *[s for g in groups for s in g],
                f"IEA*{iea_count if iea_count is not None else len(groups)}*{iea_control or control}"]
    text = (t + nl).join(s if i == 0 else s.replace("*", e) for i, s in enumerate(segments))
    return (text + t + nl).encode()


@dataclass
class Read:
    interchange: Interchange
    groups: list[GroupResult] = field(default_factory=list)


def read(data: bytes, extra: dict[str, list[Issue]] | None = None) -> list[Read]:
    """Inbound through read_x12; SetResults from the reader's issues plus `extra` keyed by ST02."""
    out: list[Read] = []
    current: GroupResult | None = None
    for event in read_x12(data):
        if isinstance(event, InterchangeStart):
            out.append(Read(event.interchange))
        elif isinstance(event, GroupStart):
            current = GroupResult(event.group, [])
            out[-1].groups.append(current)
        elif isinstance(event, SetRead):
            ts = event.transaction_set
            assert current is not None
            current.sets.append(SetResult.from_set(ts, (extra or {}).get(ts.control_number, [])))
        elif isinstance(event, GroupEnd):
            current = None
    return out


def ack(data: bytes, settings: AckSettings | None = None, extra: dict[str, list[Issue]] | None = None,
        index: int = 0) -> bytes | None:
    r = read(data, extra)[index]
    return build_ack(r.interchange, r.groups, NUMBERS, settings or AckSettings(), NOW)


# --- checking what we wrote ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def maps(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_widened_maps(tmp_path_factory.mktemp("pyx12"))


def without_ta1(data: bytes) -> bytes:
    """pyx12's control map puts TA1 after the GS loop (X12 puts it right after the ISA) and crashes on a
    TA1-only interchange, so the TA1 is checked structurally and removed before the oracle looks."""
    segments = [t for t in tokenize(data) if isinstance(t, Segment)]
    term = segments[0].delimiters.segment
    kept = [s for s in segments if s.tag != "TA1"]
    return b"".join(s.text().encode("latin-1") + term.encode("latin-1") for s in kept)


def structural(data: bytes) -> ParsedAck:
    """What pyx12 cannot check: fixed-width ISA, trailers and counts (via our reader), TA1 shape."""
    tokens = list(tokenize(data))
    assert [t for t in tokens if isinstance(t, Issue) and t.code != "X12_LINE_BREAKS"] == [], tokens
    segments = [t for t in tokens if isinstance(t, Segment)]
    d = segments[0].delimiters
    assert len(segments[0].text()) + len(d.segment) == 106
    assert segments[-1].tag == "IEA"
    for event in read_x12(data):
        if isinstance(event, SetRead):
            assert event.transaction_set.issues == [], event.transaction_set.issues
        elif isinstance(event, GroupEnd):
            assert event.group.issues == []
        elif isinstance(event, InterchangeEnd):
            # the reader does not know TA1 yet and reports it as a stray segment; nothing else may show
            rest = [i for i in event.interchange.issues if "TA1" not in i.message and i.code != "X12_LINE_BREAKS"]
            assert rest == [], rest
    parsed = parse_ack(data)
    assert len(parsed) == 1
    for ta1 in parsed[0].ta1:
        assert len(ta1.control_number) == 9 and len(ta1.date) == 6 and len(ta1.time) == 4
        assert ta1.code in ("A", "E", "R") and len(ta1.note) == 3 and ta1.note.isdigit()
    tags = [s.tag for s in segments]
    if "TA1" in tags:
        assert tags.index("TA1") == 1 and ("GS" not in tags or tags.index("GS") > tags.index("TA1"))
    return parsed[0]


def check(data: bytes | None, maps: Path) -> ParsedAck:
    """Structure always; then pyx12 on the 997/999 part wherever it can read the version."""
    assert data is not None
    parsed = structural(data)
    if not parsed.groups:
        return parsed  # TA1 only: pyx12 crashes on those
    body = oracle_body(data)
    if oracle_readable(body):
        assert oracle_errors(body, maps) == []
    return parsed


def oracle_body(data: bytes) -> bytes:
    """What pyx12 is shown: the ack without its TA1, older ISA12 versions presented as 00401."""
    body = without_ta1(data)
    if isa_version(body) not in ("00401", "00501") and b"ST" + body[3:4] + b"997" in body:
        body = normalize_version(body)
    return body


def seg_texts(data: bytes) -> list[str]:
    return [t.text() for t in tokenize(data) if isinstance(t, Segment)]


# --- the 997 ---------------------------------------------------------------------------------------------


def test_valid_850_is_accepted(maps: Path) -> None:
    out = ack(interchange([group("7", [po("0001", 2)])]))
    parsed = check(out, maps)
    assert out is not None
    segs = seg_texts(out)
    assert segs[0] == ("ISA*00*          *00*          *ZZ*RECEIVER       *ZZ*SENDER         *240506*0708*U*00401"
                       "*000000005*0*T*>")
    assert segs[1:] == ["GS*FA*RCVAPP*SNDAPP*20240506*0708*9*X*004010", "ST*997*0001", "AK1*PO*7",
                        "AK2*850*0001", "AK5*A", "AK9*A*1*1*1", "SE*6*0001", "GE*1*9", "IEA*1*000000005"]
    assert parsed.ta1 == [] and parsed.groups[0].code == "A"


def test_se_count_error_rejects_the_set(maps: Path) -> None:
    out = ack(interchange([group("7", [po("0001", se_count=9)])]))
    parsed = check(out, maps)
    s = parsed.groups[0].sets[0]
    assert (s.code, s.error_codes) == ("R", ["4"])
    g = parsed.groups[0]
    assert (g.code, g.included, g.received, g.accepted) == ("R", 1, 1, 0)


def test_duplicate_st02_partially_accepts(maps: Path) -> None:
    out = ack(interchange([group("7", [po("0001"), po("0001"), po("0002")])]))
    g = check(out, maps).groups[0]
    assert [(s.control_number, s.code, s.error_codes) for s in g.sets] == [
        ("0001", "A", []), ("0001", "R", ["23"]), ("0002", "A", [])]
    assert (g.code, g.included, g.received, g.accepted) == ("P", 3, 3, 2)


def test_ge_count_error_rejects_the_group(maps: Path) -> None:
    out = ack(interchange([group("7", [po("0001"), po("0002")], ge_count=3)]))
    g = check(out, maps).groups[0]
    assert (g.code, g.included, g.received, g.accepted, g.error_codes) == ("R", 2, 2, 0, ["5"])
    assert [s.code for s in g.sets] == ["A", "A"]


def test_wrong_iea_control_number_gives_ta1_e_and_the_997(maps: Path) -> None:
    out = ack(interchange([group("7", [po("0001")])], iea_control="000000999"))
    parsed = check(out, maps)
    assert [(t.control_number, t.date, t.time, t.code, t.note) for t in parsed.ta1] == [
        ("000000101", "240101", "1200", "E", "001")]
    assert parsed.groups[0].code == "A"


def test_iea_group_count_error_gives_ta1_e_021(maps: Path) -> None:
    parsed = check(ack(interchange([group("7", [po("0001")])], iea_count=2)), maps)
    assert [(t.code, t.note) for t in parsed.ta1] == [("E", "021")]
    assert len(parsed.groups) == 1


def test_ta1_requested_by_isa14(maps: Path) -> None:
    parsed = check(ack(interchange([group("7", [po("0001")])], ack="1")), maps)
    assert [(t.code, t.note) for t in parsed.ta1] == [("A", "000")]
    assert len(parsed.groups) == 1


def test_several_groups_one_fa_group(maps: Path) -> None:
    data = interchange([group("7", [po("0001")]), group("8", [po("0001", se_count=2), po("0002")]),
                        group("9", [["ST*810*0001", "BIG*20240101*INV1", "SE*3*0001"]], fid="IN")])
    out = ack(data)
    parsed = check(out, maps)
    assert out is not None
    assert [(g.control_number, g.functional_id, g.group_control_number, g.code) for g in parsed.groups] == [
        ("0001", "PO", "7", "A"), ("0002", "PO", "8", "P"), ("0003", "IN", "9", "A")]
    segs = seg_texts(out)
    assert sum(s.startswith("GS*") for s in segs) == 1 and "GE*3*9" in segs and "IEA*1*000000005" in segs


def test_an_acknowledgement_is_never_acknowledged(maps: Path) -> None:
    fa = ["GS*FA*SNDAPP*RCVAPP*20240101*1200*3*X*004010", "ST*997*0001", "AK1*PO*1", "AK9*A*1*1*1",
          "SE*4*0001", "GE*1*3"]
    assert ack(interchange([fa])) is None
    mixed = ack(interchange([fa, group("4", [po("0001")])]))
    parsed = check(mixed, maps)
    assert [g.group_control_number for g in parsed.groups] == ["4"]
    # a TA1 is about the interchange, so an interchange of 997s still gets one when asked for
    only_ta1 = check(ack(interchange([fa], ack="1")), maps)
    assert only_ta1.groups == [] and [t.code for t in only_ta1.ta1] == ["A"]


def test_segment_and_element_errors_from_the_guide(maps: Path) -> None:
    extra = {"0001": [
        error("X12_CODE", "PO103 'XX' is not a unit of measure", "segment 4 (PO1), PO103",
              X12Ref("PO1", 3, "PO1", 3, element_ref="355", ak3_code="8", ak4_code="7", value="XX")),
        error("X12_MISSING", "PO102 missing", "segment 4 (PO1), PO102",
              X12Ref("PO1", 3, "PO1", 2, element_ref="330", ak3_code="8", ak4_code="1")),
        error("X12_COMPOSITE", "C001-02 bad", "",
              X12Ref("SLN", 5, "SLN", 5, component_position=2, element_ref="355", ak3_code="8",
                     ak4_code="7", value="Q*~>")),
        error("X12_UNEXPECTED", "segment not in set", "", X12Ref("ZZZ", 6, ak3_code="2")),
        error("X12_BUSINESS", "price variance", "", X12Ref("PO1", 3, element_position=4)),  # AK5 only
        warning("X12_WARN", "only a warning", "", X12Ref("BEG", 2, ak3_code="8", ak4_code="7", element_position=1)),
    ]}
    out = ack(interchange([group("7", [po("0001")])]), extra=extra)
    check(out, maps)
    assert out is not None
    segs = seg_texts(out)
    start = segs.index("AK2*850*0001")
    assert segs[start:start + 8] == [
        "AK2*850*0001", "AK3*PO1*3*PO1*8", "AK4*3*355*7*XX", "AK4*2*330*1", "AK3*SLN*5*SLN*8",
        "AK4*5>2*355*7*Q", "AK3*ZZZ*6**2", "AK5*R*5"]


def test_ak4_is_limited_to_99_per_segment_and_values_to_99_chars(maps: Path) -> None:
    issues: list[Issue] = [error("E", "bad", "", X12Ref("PO1", 3, "PO1", 1, element_ref="350", ak3_code="8",
                                                          ak4_code="6", value=f"V{n}")) for n in range(150)]
    issues.append(error("E", "long", "", X12Ref("BEG", 2, "", 3, element_ref="324", ak3_code="8", ak4_code="5",
                                                value="9" * 150)))
    out = ack(interchange([group("7", [po("0001")])]), extra={"0001": issues})
    parsed = check(out, maps)
    segments = {s.segment_id: s for s in parsed.groups[0].sets[0].segments}
    assert len(segments["PO1"].elements) == 99
    assert segments["BEG"].elements[0].value == "9" * 99


def test_ak5_codes_at_most_five() -> None:
    codes = ["X12_SET_NOT_SUPPORTED", "X12_SE_MISSING", "X12_SE_CONTROL_MISMATCH", "X12_SE_COUNT", "X12_ST_ID",
             "X12_DUPLICATE_SET", "X12_ST_CONTROL_NUMBER"]
    out = ack(interchange([group("7", [po("0001")])]),
              extra={"0001": [error(c, "x") for c in codes]})
    assert out is not None
    assert parse_ack(out)[0].groups[0].sets[0].error_codes == ["1", "2", "3", "4", "6"]


def test_ak2_only_for_rejected_sets(maps: Path) -> None:
    data = interchange([group("7", [po("0001"), po("0002", se_count=1), po("0003")])])
    g = check(ack(data, AckSettings(ak2="rejected")), maps).groups[0]
    assert [s.control_number for s in g.sets] == ["0002"]
    assert (g.code, g.included, g.received, g.accepted) == ("P", 3, 3, 2)
    # everything accepted: AK1 and AK9 only
    g = check(ack(interchange([group("7", [po("0001")])]), AckSettings(ak2="rejected")), maps).groups[0]
    assert g.sets == [] and g.code == "A"


def test_accept_with_errors_reports_e(maps: Path) -> None:
    out = ack(interchange([group("7", [po("0001", se_count=1), po("0002")])]),
              AckSettings(accept_with_errors=True))
    g = check(out, maps).groups[0]
    assert [s.code for s in g.sets] == ["E", "A"] and (g.code, g.accepted) == ("E", 2)


def test_warnings_and_unreferenced_errors() -> None:
    data = interchange([group("7", [po("0001"), po("0002")])])
    out = ack(data, extra={"0001": [warning("W", "just so you know", "", X12Ref("BEG", 2, ak3_code="8"))],
                           "0002": [error("MAP_NO_ITEMS", "no lines could be mapped")]})
    assert out is not None
    g = parse_ack(out)[0].groups[0]
    assert [(s.code, s.error_codes, s.segments) for s in g.sets] == [("A", [], []), ("R", [], [])]


def test_delimiters_and_line_ending_are_mirrored(maps: Path) -> None:
    data = interchange([group("7", [po("0001")])], e="|", c=":", t="\n")
    out = ack(data, AckSettings(line_ending=""))
    assert out is not None
    assert out[3:4] == b"|" and out[104:106] == b":\n"
    check(out, maps)
    out = ack(interchange([group("7", [po("0001")])], e="!", c=":", t="'"), AckSettings(line_ending="\r\n"))
    assert out is not None and out[3:4] == b"!" and b"AK5!A'\r\n" in out
    check(out, maps)


def test_005010_inbound_gets_a_005010_997(maps: Path) -> None:
    data = interchange([group("7", [po("0001")], version="005010")], version="00501", isa11="^", ack="1")
    out = ack(data)
    parsed = check(out, maps)  # no 997 map under 00501 in pyx12: structure only
    assert out is not None
    segs = seg_texts(out)
    assert segs[0][82:83] == "^" and segs[0][84:89] == "00501"
    assert "GS*FA*RCVAPP*SNDAPP*20240506*0708*9*X*005010" in segs
    assert "AK1*PO*7*005010" in segs and "AK2*850*0001*005010" in segs
    assert parsed.groups[0].version == "005010" and parsed.ta1[0].code == "A"


def test_005010_element_position_with_repetition() -> None:
    data = interchange([group("7", [po("0001")], version="005010")], version="00501", isa11="^")
    out = ack(data, extra={"0001": [error("E", "bad", "", X12Ref("PID", 4, "PID", 2, component_position=1,
                                                                 repetition_position=3, ak3_code="8",
                                                                 ak4_code="7", element_ref="349"))]})
    assert out is not None and "AK4*2>1>3*349*7" in seg_texts(out)


def test_999_for_005010(maps: Path) -> None:
    data = interchange([group("7", [po("0001"), po("0002", se_count=1)], version="005010")], version="00501",
                       isa11="^")
    extra = {"0001": [error("E", "bad", "", X12Ref("PO1", 3, "PO1", 3, element_ref="355", ak3_code="8",
                                                   ak4_code="7", value="XX"))]}
    out = ack(data, AckSettings(kind="999"), extra)
    parsed = check(out, maps)  # pyx12's 999 map: full oracle check
    assert out is not None
    segs = seg_texts(out)
    assert "ST*999*0001*005010X231A1" in segs and "GS*FA*RCVAPP*SNDAPP*20240506*0708*9*X*005010X231A1" in segs
    assert "IK3*PO1*3*PO1*8" in segs and "IK4*3*355*7*XX" in segs and "IK5*R*5" in segs
    assert "IK5*R*4" in segs and "AK9*R*2*2*0" in segs
    assert parsed.groups[0].kind == "999"


# --- the TA1 and broken envelopes ------------------------------------------------------------------------


def test_broken_isa_gets_ta1_r_only(maps: Path) -> None:
    data = interchange([group("7", [po("0001")])], sender="X*SENDER         ")
    r = read(data)[0]
    assert interchange_ack(r.interchange) == ("R", "005")
    parsed = check(ack(data), maps)
    assert parsed.groups == [] and [(t.code, t.note) for t in parsed.ta1] == [("R", "005")]
    assert ack(data, AckSettings(ta1="never")) is None


def test_duplicate_interchange_gets_ta1_r_025(maps: Path) -> None:
    one = interchange([group("7", [po("0001")])])
    parsed = check(ack(one + one, index=1), maps)
    assert [(t.code, t.note) for t in parsed.ta1] == [("R", "025")] and parsed.groups == []


@pytest.mark.parametrize("mode, requested, broken, expect_ta1", [
    ("never", True, False, False), ("never", False, True, False),
    ("on_request", False, False, False), ("on_request", True, False, True), ("on_request", False, True, True),
    ("on_error", True, False, False), ("on_error", False, True, True),
    ("always", False, False, True),
])
def test_ta1_settings(mode: str, requested: bool, broken: bool, expect_ta1: bool) -> None:
    data = interchange([group("7", [po("0001")])], ack="1" if requested else "0",
                       iea_control="000000999" if broken else None)
    out = ack(data, AckSettings(ta1=mode))  # type: ignore[arg-type]
    assert out is not None
    assert bool(parse_ack(out)[0].ta1) is expect_ta1


def test_build_ta1_only() -> None:
    r = read(interchange([group("7", [po("0001")])], ack="1"))[0]
    out = build_ta1_only(r.interchange, NUMBERS, NOW, "\n")
    parsed = structural(out)
    assert parsed.groups == [] and [(t.code, t.note) for t in parsed.ta1] == [("A", "000")]
    assert out.endswith(b"IEA*0*000000005~\n")


# --- the oracle itself must bite -------------------------------------------------------------------------


def test_oracle_rejects_broken_997s(maps: Path) -> None:
    out = ack(interchange([group("7", [po("0001", se_count=9)])]))
    assert out is not None and oracle_errors(out, maps) == []
    assert oracle_errors(out.replace(b"AK5*R*4", b"AK5*Z*4"), maps)
    no_ak9 = out.replace(b"AK9*R*1*1*0~", b"").replace(b"SE*6*0001", b"SE*5*0001")
    assert any("AK9" in e for e in oracle_errors(no_ak9, maps))
    assert any("SE count" in e for e in oracle_errors(out.replace(b"SE*6*0001", b"SE*7*0001"), maps))
    bad_qualifier = out.replace(b"*ZZ*RECEIVER", b"*QQ*RECEIVER")
    assert any("ISA05" in e for e in oracle_errors(bad_qualifier, maps))


def test_unwidened_pyx12_maps_refuse_non_hipaa_codes(maps: Path) -> None:
    """Why the maps are widened: stock pyx12 refuses AK101 PO and AK201 850."""
    out = ack(interchange([group("7", [po("0001")])]))
    assert out is not None
    errors = oracle_errors(out, PYX12_MAPS)
    assert any("AK1*PO" in e for e in errors)


# --- parse_ack ------------------------------------------------------------------------------------------


def test_parse_ack_reads_back_what_was_built() -> None:
    extra = {"0001": [error("E", "bad", "", X12Ref("PO1", 3, "PO1", 3, component_position=2, element_ref="355",
                                                   ak3_code="8", ak4_code="7", value="XX"))]}
    out = ack(interchange([group("7", [po("0001"), po("0002")])], ack="1"), extra=extra)
    assert out is not None
    [parsed] = parse_ack(out)
    assert parsed.sender == ("ZZ", "RECEIVER") and parsed.receiver == ("ZZ", "SENDER")
    assert parsed.control_number == "000000005"
    g = parsed.groups[0]
    assert (g.kind, g.functional_id, g.group_control_number, g.code, g.accepted) == ("997", "PO", "7", "P", 1)
    s = g.sets[0]
    assert (s.set_id, s.control_number, s.code, s.error_codes) == ("850", "0001", "R", ["5"])
    assert [(x.segment_id, x.position, x.loop_id, x.code) for x in s.segments] == [("PO1", 3, "PO1", "8")]
    e = s.segments[0].elements[0]
    assert (e.position, e.element_ref, e.code, e.value) == ("3:2", "355", "7", "XX")


# --- the shared corpus ----------------------------------------------------------------------------------


def _corpus_files() -> Iterator[Path]:
    if CORPUS.is_dir():
        yield from sorted(p for p in CORPUS.iterdir() if p.suffix == ".edi")


@pytest.mark.parametrize("path", list(_corpus_files()) or [CORPUS / "absent"], ids=lambda p: p.name)
def test_corpus_acknowledgements(path: Path, maps: Path) -> None:
    if not path.is_file():
        pytest.skip("corpus not present")
    data = path.read_bytes()
    reads = read(data)
    for r in reads:
        out = build_ack(r.interchange, r.groups, NUMBERS, AckSettings(), NOW)
        code, _ = interchange_ack(r.interchange)
        real_groups = [g for g in r.groups if g.group.gs.tag == "GS" and g.group.functional_id != "FA"]
        if out is None:
            assert code == "A" and not real_groups and not r.interchange.ack_requested
            continue
        parsed = check(out, maps)
        assert parsed.sender == r.interchange.receiver and parsed.receiver == r.interchange.sender
        assert out[3:4].decode("latin-1") == r.interchange.delimiters.element
        if code == "R":
            assert parsed.groups == [] and parsed.ta1[0].code == "R"
        else:
            assert oracle_readable(oracle_body(out))  # every 997 of the corpus went through pyx12
            assert len(parsed.groups) == len(real_groups)
            for acked, inbound in zip(parsed.groups, real_groups, strict=True):
                assert acked.group_control_number == inbound.group.control_number
                assert acked.received == len(inbound.sets)


def test_st_outside_a_group_and_a_truncated_file(maps: Path) -> None:
    stray = interchange([po("0001"), group("7", [po("0002")])])
    parsed = check(ack(stray), maps)
    assert [(t.code, t.note) for t in parsed.ta1] == [("E", "022")]
    assert [g.group_control_number for g in parsed.groups] == ["7"]  # the stray set has no AK1 to go in
    whole = interchange([group("7", [po("0001")]), group("8", [po("0001"), po("0002")])])
    cut = whole[: whole.index(b"ST*850*0002")]
    parsed = check(ack(cut), maps)
    assert [(t.code, t.note) for t in parsed.ta1] == [("E", "023")]
    assert [(g.group_control_number, g.code, g.error_codes) for g in parsed.groups] == [
        ("7", "A", []), ("8", "R", ["3"])]


def test_mutated_inputs_never_break_the_builder() -> None:
    """Whatever the reader makes of damaged input, the ack is well-formed X12 (values are cleaned)."""
    import random

    rng = random.Random(997)
    base = interchange([group("7", [po("0001", 2), po("0002")]), group("8", [po("0001")], fid="PO")], ack="1")
    alphabet = b"*~>^:|!0123456789AZ \n"
    built = 0
    for _ in range(400):
        data = bytearray(base)
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = alphabet[rng.randrange(len(alphabet))]
        for r in read(bytes(data)):
            for settings in (AckSettings(), AckSettings(kind="999", ak2="rejected", ta1="always")):
                out = build_ack(r.interchange, r.groups, NUMBERS, settings, NOW)
                if out is not None:
                    structural(out)
                    built += 1
    assert built > 300


def test_missing_ids_in_a_broken_isa() -> None:
    data = interchange([group("7", [po("0001")])], receiver="ZZ*               ")
    r = read(data)[0]
    assert interchange_ack(r.interchange) == ("R", "008")
    out = build_ack(r.interchange, r.groups, NUMBERS, AckSettings(), NOW, own_id=("01", "123456789"))
    assert out is not None
    parsed = structural(out)
    assert parsed.sender == ("01", "123456789") and parsed.receiver == ("ZZ", "SENDER")
    parsed = structural(build_ta1_only(r.interchange, NUMBERS, NOW))
    assert parsed.sender == ("ZZ", "UNKNOWN") and [t.note for t in parsed.ta1] == ["008"]
