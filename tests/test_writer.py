"""The X12 writer: fixed-width ISA, trailers counted by the writer, no value may hold a delimiter."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from parsers.x12.reader import FileIssue, GroupEnd, InterchangeEnd, SetRead, read_x12
from parsers.x12.segments import Delimiters, Segment
from parsers.x12.tokenizer import tokenize
from parsers.x12.writer import Element, GroupData, X12Writer, build_isa, write_interchange

NOW = datetime(2024, 3, 7, 9, 5, tzinfo=UTC)
STAR = Delimiters("*", ">", "~")


def _isa(delimiters: Delimiters = STAR, version: str = "00401", **kw: Any) -> list[str]:
    args: dict[str, Any] = {"sender": ("ZZ", "ACME"), "receiver": ("01", "123456789"),
                            "control_number": 42, "now": NOW, "delimiters": delimiters, "version": version}
    args.update(kw)
    return build_isa(**args)


def _read_all(data: bytes) -> list[object]:
    return list(read_x12(data))


def test_isa_is_fixed_width_106() -> None:
    isa = _isa()
    text = X12Writer(STAR).segment(isa)
    assert len(text) == 106
    assert text == (b"ISA*00*          *00*          *ZZ*ACME           *01*123456789      "
                    b"*240307*0905*U*00401*000000042*0*P*>~")
    tokens = list(tokenize(text + b"IEA*0*000000042~"))
    assert not [t for t in tokens if not isinstance(t, Segment)]  # no "not fixed width" warning


def test_isa_repetition_separator_from_00402() -> None:
    d = Delimiters("*", ":", "~", "^")
    isa = _isa(d, version="00501", ack_requested=True, usage="T")
    assert isa[11] == "^" and isa[12] == "00501" and isa[14] == "1" and isa[15] == "T"
    with pytest.raises(ValueError, match="repetition"):
        _isa(STAR, version="00501")
    assert _isa(d, version="00401")[11] == "U"


@pytest.mark.parametrize("kw, match", [
    ({"sender": ("ZZ", "X" * 16)}, "ISA06"),
    ({"receiver": ("ZZZ", "X")}, "ISA07"),
    ({"control_number": 1234567890}, "ISA13"),
    ({"control_number": "12a"}, "ISA13"),
    ({"version": "401"}, "version"),
    ({"usage": "X"}, "ISA15"),
])
def test_isa_rejects_values_that_do_not_fit(kw: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        _isa(**kw)


def test_writer_counts_trailers() -> None:
    groups = [
        GroupData(["GS", "PO", "ACME", "BUYER", "20240307", "0905", "17", "X", "004010"], [
            [["ST", "850", "0001"], ["BEG", "00", "SA", "PO-1", "", "20240307"], ["PO1", "1", "5", "EA"]],
            [["ST", "850", "0002"], ["BEG", "00", "SA", "PO-2", "", "20240307"]],
        ]),
        GroupData(["GS", "IN", "ACME", "BUYER", "20240307", "0905", "18", "X", "004010"], [
            [["ST", "810", "1001"], ["BIG", "20240307", "INV-1"]],
        ]),
    ]
    data = write_interchange(_isa(), groups, STAR)
    assert b"SE*4*0001~" in data and b"SE*3*0002~" in data and b"SE*3*1001~" in data
    assert b"GE*2*17~" in data and b"GE*1*18~" in data
    assert data.endswith(b"IEA*2*000000042~")
    events = _read_all(data)
    issues = [i for e in events if isinstance(e, SetRead) for i in e.transaction_set.issues]
    issues += [i for e in events if isinstance(e, GroupEnd) for i in e.group.issues]
    issues += [i for e in events if isinstance(e, InterchangeEnd) for i in e.interchange.issues]
    issues += [e.issue for e in events if isinstance(e, FileIssue)]
    assert issues == []


def test_line_endings_after_terminators() -> None:
    data = write_interchange(_isa(), [GroupData(["GS", "PO", "A", "B", "20240307", "0905", "1", "X", "004010"],
                                                [[["ST", "850", "0001"]]])], STAR, "\r\n")
    lines = data.split(b"\r\n")
    assert lines[-1] == b"" and all(line.endswith(b"~") for line in lines[:-1])
    assert len(lines[0]) == 106
    ends = [e for e in _read_all(data) if isinstance(e, InterchangeEnd)]
    assert ends and not ends[0].interchange.envelope_errors


def test_trailing_empty_elements_and_composites() -> None:
    w = X12Writer(STAR)
    assert w.segment(["REF", "ZZ", "", "", ""]) == b"REF*ZZ~"
    assert w.segment(["AK4", ["3", "1"], "", "7", "XX"]) == b"AK4*3>1**7*XX~"
    assert w.segment(["AK4", ["3", ""], "355", "7"]) == b"AK4*3*355*7~"


@pytest.mark.parametrize("value, name", [
    ("A*B", "element separator"), ("A>B", "component separator"), ("A~B", "segment terminator"),
    ("A^B", "repetition separator"),
])
def test_a_value_holding_a_delimiter_is_refused(value: str, name: str) -> None:
    w = X12Writer(Delimiters("*", ">", "~", "^"))
    with pytest.raises(ValueError, match=name):
        w.segment(["N1", "ST", value])
    with pytest.raises(ValueError, match=name):
        w.segment(["AK4", [value, "1"]])


def test_isa_values_are_checked_too() -> None:
    isa = _isa()
    isa[6] = "AC*ME".ljust(15)
    with pytest.raises(ValueError, match="ISA06"):
        X12Writer(STAR).segment(isa)


def test_the_caller_cannot_write_trailers() -> None:
    gs: list[Element] = ["GS", "PO", "A", "B", "20240307", "0905", "1", "X", "004010"]
    with pytest.raises(ValueError, match="trailers"):
        write_interchange(_isa(), [GroupData(gs, [[["ST", "850", "0001"], ["SE", "2", "0001"]]])], STAR)
    with pytest.raises(ValueError, match="ST"):
        write_interchange(_isa(), [GroupData(gs, [[["BEG", "00"]]])], STAR)
    with pytest.raises(ValueError, match="GS06"):
        write_interchange(_isa(), [GroupData([*gs[:6], "x1", "X", "004010"], [])], STAR)


def test_delimiters_must_differ_and_line_ending_be_known() -> None:
    with pytest.raises(ValueError, match="differ"):
        X12Writer(Delimiters("*", "*", "~"))
    with pytest.raises(ValueError, match="line ending"):
        X12Writer(STAR, "\t")


def test_utf8_values_and_multibyte_terminator_round_trip() -> None:
    # delimiters as the tokenizer reports them: decoded text ('§' read from the UTF-8 bytes C2 A7)
    source = ("ISA*00*          *00*          *ZZ*ACME           *ZZ*BUYER          *240307*0905*U*00401"
              "*000000042*0*P*>§IEA*0*000000042§").encode()
    isa_segment = next(t for t in tokenize(source) if isinstance(t, Segment))
    d = isa_segment.delimiters
    assert d.segment == "§"
    data = write_interchange(_isa(d), [GroupData(["GS", "PO", "A", "B", "20240307", "0905", "1", "X", "004010"],
                                                 [[["ST", "850", "0001"], ["N1", "ST", "Müller GmbH"]]])], d)
    assert "N1*ST*Müller GmbH§".encode() in data and data.count("§".encode()) == 7
    sets = [e.transaction_set for e in _read_all(data) if isinstance(e, SetRead)]
    assert sets[0].segments[1].get(2) == "Müller GmbH" and not sets[0].issues
