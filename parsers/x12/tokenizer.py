"""Streaming X12 tokenizer: bytes in, segments (and deviations as issues) out.

The tokenizer reads in chunks, so memory is bounded by the chunk plus the longest segment, never by
the file. It finds each interchange's delimiters in its ISA by counting element separators (so a
non-fixed-width ISA still works), and tolerates what real partners send: a UTF-8 BOM, whitespace
before the ISA, line breaks and indentation after terminators, any segment terminator including
multi-byte (UTF-8) ones and CR LF, several interchanges per file, each with its own delimiters.
Every tolerated deviation is reported once per interchange as a warning.

Bytes are decoded as Latin-1 so that string offsets are byte offsets; element text that is valid
UTF-8 is re-decoded as such.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import BinaryIO

from parsers.issues import Issue, error, warning
from parsers.x12.segments import Delimiters, Segment

CHUNK_SIZE = 1 << 16
ISA_MAX_LENGTH = 1024  # a real ISA is 106 bytes; anything past this is not an ISA
SEGMENT_MAX_LENGTH = 1 << 20  # one segment over 1 MiB is garbage, not data
FIXED_ISA_LENGTH = 106  # ISA through ISA16, plus the terminator
WHITESPACE = "\r\n\t "
BOM = "\xef\xbb\xbf"  # UTF-8 BOM seen through Latin-1

Token = Segment | Issue


def _utf8_char_at(text: str, pos: int) -> str:
    """The (possibly multi-byte UTF-8) character starting at `pos` of Latin-1-decoded text."""
    lead = ord(text[pos])
    size = 1
    if 0xC2 <= lead <= 0xDF:
        size = 2
    elif 0xE0 <= lead <= 0xEF:
        size = 3
    elif 0xF0 <= lead <= 0xF4:
        size = 4
    if size > 1:
        candidate = text[pos : pos + size]
        try:
            candidate.encode("latin-1").decode("utf-8")
        except UnicodeDecodeError:
            return text[pos]
        return candidate
    return text[pos]


def _fix_text(value: str) -> str:
    if value.isascii():
        return value
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeDecodeError:
        return value


def version_has_repetition(version: str) -> bool:
    """ISA11 is a repetition separator from version 00402 on; before that it is a standards ID."""
    return version.isdigit() and version >= "00402"


class _Source:
    """A chunked Latin-1 view over a byte stream, with absolute offsets."""

    def __init__(self, source: BinaryIO | bytes, chunk_size: int) -> None:
        self._stream = None if isinstance(source, bytes | bytearray) else source
        self.buf = bytes(source).decode("latin-1") if isinstance(source, bytes | bytearray) else ""
        self.eof = self._stream is None
        self.base = 0  # absolute offset of buf[0]
        self.pos = 0  # cursor within buf
        # Compacting drops consumed text to bound memory on streams; bytes handed in whole are kept whole
        # (copying the rest of a large buffer at every chunk would cost far more than it saves).
        self._chunk = chunk_size if self._stream is not None else max(chunk_size, len(self.buf) + 1)

    def fill(self) -> bool:
        """Read one more chunk; False at end of input."""
        if self.eof or self._stream is None:
            self.eof = True
            return False
        data = self._stream.read(self._chunk)
        if not data:
            self.eof = True
            return False
        if self.pos > 0:
            self.base += self.pos
            self.buf = self.buf[self.pos :]
            self.pos = 0
        self.buf += data.decode("latin-1")
        return True

    def ensure(self, count: int) -> bool:
        """Make at least `count` characters available after the cursor, if the input has them."""
        while len(self.buf) - self.pos < count:
            if not self.fill():
                return False
        return True

    def discard_to(self, pos: int) -> None:
        self.pos = pos
        if self.pos > self._chunk:
            self.base += self.pos
            self.buf = self.buf[self.pos :]
            self.pos = 0

    @property
    def compact_at(self) -> int:
        return self._chunk

    @property
    def offset(self) -> int:
        return self.base + self.pos


def tokenize(source: BinaryIO | bytes, chunk_size: int = CHUNK_SIZE) -> Iterator[Token]:
    """Yield every segment of every interchange, and issues for what is off, in input order."""
    src = _Source(source, chunk_size)
    number = 0
    seen_interchange = False
    first = True
    while True:
        # --- between interchanges: find the next ISA -------------------------------------------
        src.ensure(3)
        if first and src.buf.startswith(BOM, src.pos):
            yield warning("X12_BOM", "The file starts with a UTF-8 byte order mark; it was ignored.",
                          "byte 0")
            src.discard_to(src.pos + len(BOM))
        skipped_ws = 0
        while True:
            src.ensure(1)
            if src.pos < len(src.buf) and src.buf[src.pos] in WHITESPACE:
                j = src.pos
                while j < len(src.buf) and src.buf[j] in WHITESPACE:
                    j += 1
                skipped_ws += j - src.pos
                src.discard_to(j)
                continue
            break
        if first and skipped_ws and src.ensure(1) and src.pos < len(src.buf):
            yield warning("X12_LEADING_WHITESPACE",
                          f"{skipped_ws} whitespace byte(s) before the ISA segment were ignored.", "byte 0")
        first = False
        if not src.ensure(3) and src.pos >= len(src.buf):
            if not seen_interchange:
                yield error("X12_EMPTY", "The input holds no X12 interchange: it is empty or only "
                            "whitespace. Send a file that starts with an ISA segment.", "byte 0")
            return
        if not src.buf.startswith("ISA", src.pos):
            start = src.offset
            garbage = 0
            while True:
                k = src.buf.find("ISA", src.pos)
                if k >= 0:
                    garbage += k - src.pos
                    src.discard_to(k)
                    break
                keep = max(src.pos, len(src.buf) - 2)
                garbage += keep - src.pos
                src.discard_to(keep)
                if not src.fill():
                    garbage += len(src.buf) - src.pos
                    src.discard_to(len(src.buf))
                    break
            sample = ""
            if not seen_interchange:
                what = "does not start with an ISA segment"
            else:
                what = "has data after the last IEA that is not an interchange"
            yield error("X12_NOT_X12" if not seen_interchange else "X12_TRAILING_DATA",
                        f"The input {what}: {garbage} byte(s) at byte {start} are not X12{sample}. "
                        "Check that the file is an X12 interchange and was not truncated or corrupted.",
                        f"byte {start}")
            if src.pos >= len(src.buf) and not src.ensure(3):
                return
            continue

        # --- the ISA: find the delimiters ---------------------------------------------------------
        isa = _read_isa(src)
        if isinstance(isa, Issue):
            yield isa
            # skip past this 'ISA' so a later one can still be read
            src.discard_to(src.pos + 3)
            continue
        delimiters, isa_elements, isa_end, fixed, raw_elem, raw_term = isa
        seen_interchange = True
        isa_offset = src.offset
        number += 1
        isa_segment = Segment(isa_elements, number, isa_offset, delimiters)
        yield isa_segment
        if not fixed:
            yield warning("X12_ISA_NOT_FIXED_WIDTH",
                          "The ISA segment is not the fixed 106 characters the standard asks for; its "
                          "delimiters were found by counting separators.", isa_segment.location())
        version = isa_elements[12]
        if not (version.isdigit() and "00200" <= version <= "00801"):
            yield warning("X12_ISA_VERSION_UNKNOWN",
                          f"ISA12 version {version!r} is outside 00200-00801; the interchange is read "
                          "as if it were 00401.", isa_segment.location(12))
        src.discard_to(isa_end)

        # --- segments up to IEA ---------------------------------------------------------------------
        term, elem = raw_term, raw_elem
        term_len = len(term)
        compact_at = src.compact_at
        line_breaks_reported = False
        while True:
            idx = src.buf.find(term, src.pos)
            while idx < 0:
                if len(src.buf) - src.pos > SEGMENT_MAX_LENGTH:
                    yield error("X12_SEGMENT_TOO_LONG",
                                f"No segment terminator {term!r} within {SEGMENT_MAX_LENGTH} bytes after "
                                f"byte {src.offset}; the rest of the input cannot be read as X12.",
                                f"byte {src.offset}")
                    return
                if not src.fill():
                    break
                idx = src.buf.find(term, src.pos)
            if idx < 0:
                rest = src.buf[src.pos :]
                if rest.strip(WHITESPACE):
                    yield error("X12_TRUNCATED",
                                f"The input ends inside a segment at byte {src.offset} (no terminator "
                                f"{term!r}): {rest.strip()[:40]!r}. The file was probably cut short.",
                                f"byte {src.offset}")
                return
            start = src.pos
            raw = src.buf[start:idx]
            if raw and raw[0] in WHITESPACE:
                stripped = raw.lstrip(WHITESPACE)
                start += len(raw) - len(stripped)
                raw = stripped
                if not line_breaks_reported and term not in "\r\n":
                    line_breaks_reported = True
                    yield warning("X12_LINE_BREAKS",
                                  "Segments are followed by line breaks or indentation; they were ignored.",
                                  f"byte {src.base + start}")
            seg_offset = src.base + start
            end = idx + term_len
            if end > compact_at:
                src.discard_to(end)
            else:
                src.pos = end
            if not raw:
                continue
            elements = raw.split(elem)
            tag = elements[0]
            if tag == "ISA":
                # a new interchange without an IEA before it: let the reader report the missing IEA
                src.pos = seg_offset - src.base
                break
            if not raw.isascii():
                elements = [_fix_text(e) for e in elements]
            number += 1
            yield Segment(elements, number, seg_offset, delimiters)
            if tag == "IEA":
                break


def _read_isa(src: _Source) -> tuple[Delimiters, list[str], int, bool, str, str] | Issue:
    """Parse the ISA at the cursor: delimiters, its elements, where it ends, and whether fixed-width."""
    src.ensure(ISA_MAX_LENGTH)
    buf, pos = src.buf, src.pos
    where = f"byte {src.offset}"
    if len(buf) - pos < 4:
        return error("X12_TRUNCATED", "The input ends inside the ISA segment.", where)
    elem = _utf8_char_at(buf, pos + 3)
    if elem.isalnum() or elem in WHITESPACE:
        return error("X12_BAD_ELEMENT_SEPARATOR",
                     f"The character after 'ISA' ({elem!r}) cannot be an element separator.", where)
    seps: list[int] = []
    k = pos + 3
    limit = min(len(buf), pos + ISA_MAX_LENGTH)
    while len(seps) < 16:
        k = buf.find(elem, k, limit)
        if k < 0:
            return error("X12_BAD_ISA",
                         f"The ISA segment does not have 16 elements separated by {elem!r} within "
                         f"{ISA_MAX_LENGTH} bytes; the interchange cannot be read.", where)
        seps.append(k)
        k += len(elem)
    comp_pos = seps[15] + len(elem)
    if comp_pos >= len(buf):
        return error("X12_TRUNCATED", "The input ends inside the ISA segment.", where)
    component = _utf8_char_at(buf, comp_pos)
    term_pos = comp_pos + len(component)
    if term_pos >= len(buf):
        return error("X12_TRUNCATED", "The input ends after ISA16: no segment terminator.", where)
    terminator = _utf8_char_at(buf, term_pos)
    if terminator == "\r" and buf[term_pos + 1 : term_pos + 2] == "\n":
        terminator = "\r\n"
    if terminator.isalnum() or terminator == elem or terminator == " ":
        return error("X12_BAD_SEGMENT_TERMINATOR",
                     f"The character after ISA16 ({terminator!r}) cannot be a segment terminator.", where)
    if component.isalnum() or component in (elem, terminator) or component == " ":
        return error("X12_BAD_COMPONENT_SEPARATOR",
                     f"ISA16 ({component!r}) cannot be a component separator.", where)
    elements = ["ISA"]
    for a, b in itertools.pairwise(seps):
        elements.append(buf[a + len(elem) : b])
    elements.append(_fix_text(component))
    elements = [_fix_text(e) for e in elements]
    version = elements[12]
    rep_candidate = elements[11]
    repetition: str | None = None
    if (version_has_repetition(version) and len(rep_candidate) == 1 and not rep_candidate.isalnum()
            and rep_candidate not in (elem, component, terminator, " ")):
        repetition = rep_candidate
    fixed = (term_pos - pos) == FIXED_ISA_LENGTH - 1
    delimiters = Delimiters(_fix_text(elem), _fix_text(component), _fix_text(terminator), repetition)
    return delimiters, elements, term_pos + len(terminator), fixed, elem, terminator
