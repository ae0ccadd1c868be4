"""The streaming tokenizer: tolerant of real partners' formatting, exact about positions."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st

from parsers.issues import Issue
from parsers.x12.segments import Segment
from parsers.x12.tokenizer import tokenize
from tests.x12_factory import order_file


def split(raw: bytes, chunk: int = 1 << 16) -> tuple[list[Segment], list[Issue]]:
    tokens = list(tokenize(io.BytesIO(raw), chunk_size=chunk))
    return [t for t in tokens if isinstance(t, Segment)], [t for t in tokens if isinstance(t, Issue)]


def codes(issues: list[Issue]) -> list[str]:
    return [i.code for i in issues]


def test_plain_interchange_has_exact_positions() -> None:
    raw = order_file("PO1", 1, terminator="~")
    segs, issues = split(raw)
    assert issues == []
    assert [s.tag for s in segs][:3] == ["ISA", "GS", "ST"] and segs[-1].tag == "IEA"
    for n, s in enumerate(segs, 1):
        assert s.number == n
        assert raw[s.offset : s.offset + len(s.tag)].decode() == s.tag
    assert segs[0].delimiters.segment == "~" and segs[0].delimiters.component == ">"


def test_bom_leading_whitespace_and_line_breaks_are_warnings() -> None:
    raw = b"\xef\xbb\xbf\r\n  " + order_file("PO1", 1, terminator="~\r\n    ")
    segs, issues = split(raw)
    assert segs[0].tag == "ISA" and segs[-1].tag == "IEA"
    assert codes(issues) == ["X12_BOM", "X12_LEADING_WHITESPACE", "X12_LINE_BREAKS"]
    assert all(i.severity == "warning" for i in issues)
    assert raw[segs[2].offset : segs[2].offset + 2] == b"ST"


def test_crlf_and_newline_terminators() -> None:
    for term in ("\r\n", "\n", "\r"):
        segs, issues = split(order_file("PO1", 1, terminator=term))
        assert segs[0].delimiters.segment == term
        assert segs[-1].tag == "IEA" and issues == []


def test_multibyte_utf8_terminator_and_utf8_text() -> None:
    raw = order_file("PO-ÄÖ", 1, terminator="§")
    segs, issues = split(raw)
    assert issues == []
    assert segs[0].delimiters.segment == "§"
    beg = next(s for s in segs if s.tag == "BEG")
    assert beg.get(3) == "PO-ÄÖ"
    assert raw[beg.offset : beg.offset + 3] == b"BEG"


def test_non_fixed_width_isa_found_by_counting_separators() -> None:
    raw = order_file("PO1", 1, terminator="~").replace(b"ACMEBUYER      ", b"ACMEBUYER", 1)
    segs, issues = split(raw)
    assert "X12_ISA_NOT_FIXED_WIDTH" in codes(issues)
    assert segs[0].get(6) == "ACMEBUYER" and segs[0].get(16) == ">"
    assert segs[-1].tag == "IEA"


def test_several_interchanges_each_with_own_delimiters() -> None:
    a = order_file("PO1", 1, terminator="~")
    b = order_file("PO2", 2, terminator="\n", element="|", component="^")
    segs, issues = split(a + b"\n" + b)
    assert issues == []
    isas = [s for s in segs if s.tag == "ISA"]
    assert [i.delimiters.element for i in isas] == ["*", "|"]
    assert [s.get(3) for s in segs if s.tag == "BEG"] == ["PO1", "PO2"]


def test_repetition_separator_only_from_00402() -> None:
    old = split(order_file("P", 1, version="00401", repetition="^"))[0][0]
    new = split(order_file("P", 1, version="00501", repetition="^"))[0][0]
    assert old.delimiters.repetition is None
    assert new.delimiters.repetition == "^"


def test_garbage_empty_and_truncated_inputs_are_issues() -> None:
    assert codes(split(b"")[1]) == ["X12_EMPTY"]
    assert codes(split(b"   \n")[1]) == ["X12_EMPTY"]
    assert codes(split(b"hello world, not edi")[1]) == ["X12_NOT_X12"]
    raw = order_file("PO1", 1, terminator="~")
    segs, issues = split(raw[: len(raw) // 2])
    assert codes(issues) == ["X12_TRUNCATED"]
    assert segs and segs[-1].tag != "IEA"
    assert codes(split(b"ISA*00*short~")[1])[0] == "X12_BAD_ISA"


def test_large_garbage_is_read_in_bounded_chunks() -> None:
    raw = bytes(range(256)).replace(b"I", b"") * 20000  # ~5 MB, no ISA
    segs, issues = split(raw, chunk=4096)
    assert segs == [] and codes(issues) == ["X12_NOT_X12"]


@settings(max_examples=60, deadline=None)
@given(chunk=st.integers(min_value=1, max_value=300), term=st.sampled_from(["~", "~\n", "\r\n", "§", "!"]))
def test_chunk_size_never_changes_the_result(chunk: int, term: str) -> None:
    raw = b"\xef\xbb\xbf" + order_file("PO1", 1, lines=4, terminator=term) + order_file("PO2", 2, terminator=term)
    whole = split(raw)
    chunked = split(raw, chunk)
    assert [(s.elements, s.offset) for s in whole[0]] == [(s.elements, s.offset) for s in chunked[0]]
    assert codes(whole[1]) == codes(chunked[1])


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=400))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    list(tokenize(b"ISA" + data))
    list(tokenize(data))
