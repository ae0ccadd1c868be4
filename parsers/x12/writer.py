"""X12 writer: segments as lists of element strings in, interchange bytes out.

The writer computes every trailer (SE01/SE02, GE01/GE02, IEA01/IEA02) itself, so a caller can never
send a count that disagrees with what it wrote. X12 has no escape mechanism, so a value that holds a
delimiter is refused with a ValueError instead of silently corrupting the interchange.

Delimiters and values are text, the way the tokenizer reports them, and are written as UTF-8 (so a
'§' terminator read from UTF-8 bytes C2 A7 is written back as C2 A7). The ISA's element and
component separators must be single bytes, or the ISA would not be its fixed 106 bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from parsers.x12.segments import Delimiters
from parsers.x12.tokenizer import version_has_repetition

# An element is a plain value or a composite given as its components (joined with the component
# separator by the writer, so the separator itself is never part of a value).
Element = str | Sequence[str]
SegmentData = Sequence[Element]

ISA_WIDTHS: dict[int, int] = {1: 2, 2: 10, 3: 2, 4: 10, 5: 2, 6: 15, 7: 2, 8: 15, 9: 6, 10: 4, 11: 1,
                              12: 5, 13: 9, 14: 1, 15: 1, 16: 1}
TRAILERS = ("SE", "GE", "IEA")


def build_isa(
    *,
    sender: tuple[str, str],
    receiver: tuple[str, str],
    control_number: int | str,
    now: datetime,
    delimiters: Delimiters,
    version: str = "00401",
    ack_requested: bool = False,
    usage: str = "P",
    authorization: tuple[str, str] = ("00", ""),
    security: tuple[str, str] = ("00", ""),
) -> list[str]:
    """The 17 strings (tag + ISA01..ISA16) of a fixed-width ISA: 106 characters once written.

    Every field is padded to its fixed width; a value longer than its field is an error rather than
    being cut, because a truncated ID would route the interchange to somebody else.
    """
    if len(delimiters.component.encode()) != 1 or len(delimiters.element.encode()) != 1:
        raise ValueError("a fixed-width ISA needs single-byte element and component separators")
    if not (len(version) == 5 and version.isdigit()):
        raise ValueError(f"ISA12 version must be 5 digits, got {version!r}")
    if version_has_repetition(version):
        if not delimiters.repetition or len(delimiters.repetition) != 1:
            raise ValueError(f"version {version} needs a single-byte repetition separator for ISA11")
        isa11 = delimiters.repetition
    else:
        isa11 = "U"
    control = str(control_number)
    if not control.isdigit() or len(control) > 9:
        raise ValueError(f"ISA13 control number must be 1-9 digits, got {control!r}")
    if usage not in ("P", "T", "I"):
        raise ValueError(f"ISA15 usage must be P, T or I, got {usage!r}")
    values = {
        1: authorization[0], 2: authorization[1], 3: security[0], 4: security[1],
        5: sender[0], 6: sender[1], 7: receiver[0], 8: receiver[1],
        9: now.strftime("%y%m%d"), 10: now.strftime("%H%M"), 11: isa11, 12: version,
        13: control.zfill(9), 14: "1" if ack_requested else "0", 15: usage, 16: delimiters.component,
    }
    elements = ["ISA"]
    for pos in range(1, 17):
        value = values[pos]
        width = ISA_WIDTHS[pos]
        if len(value) > width:
            raise ValueError(f"ISA{pos:02d} {value!r} is longer than its fixed width of {width}")
        elements.append(value.ljust(width))
    return elements


def _encode_delimiter(value: str) -> bytes:
    return value.encode("utf-8")


def _check_value(value: str, tag: str, position: int, forbidden: list[tuple[str, bytes]]) -> bytes:
    raw = value.encode("utf-8")
    for name, delim in forbidden:
        if delim and delim in raw:
            raise ValueError(f"{tag}{position:02d} value {value!r} contains the {name} {delim!r}; X12 has "
                             "no escaping, so the value must be changed or other delimiters chosen")
    return raw


class X12Writer:
    """Serialises segments with one interchange's delimiters (and an optional line ending)."""

    def __init__(self, delimiters: Delimiters, line_ending: str = "") -> None:
        if line_ending not in ("", "\n", "\r\n"):
            raise ValueError(f"line ending must be '', '\\n' or '\\r\\n', got {line_ending!r}")
        d = delimiters
        if len({x for x in d.all}) != len(d.all):
            raise ValueError(f"delimiters must all differ: {d!r}")
        self.delimiters = d
        self.line_ending = line_ending.encode("ascii")
        self._element = _encode_delimiter(d.element)
        self._component = _encode_delimiter(d.component)
        self._terminator = _encode_delimiter(d.segment)
        names = [("element separator", d.element), ("component separator", d.component),
                 ("segment terminator", d.segment), ("repetition separator", d.repetition or "")]
        self._forbidden = [(name, _encode_delimiter(v)) for name, v in names if v]

    def segment(self, elements: SegmentData) -> bytes:
        """One segment with its terminator (and line ending); trailing empty elements are dropped."""
        if not elements or not isinstance(elements[0], str) or not elements[0]:
            raise ValueError(f"a segment needs a tag as its first element: {elements!r}")
        tag = elements[0]
        if tag == "ISA":
            return self._isa(elements)
        parts: list[bytes] = [_check_value(tag, tag, 0, self._forbidden)]
        for pos, element in enumerate(elements[1:], start=1):
            if isinstance(element, str):
                parts.append(_check_value(element, tag, pos, self._forbidden))
            else:
                comps = [_check_value(c, tag, pos, self._forbidden) for c in element]
                while comps and not comps[-1]:
                    comps.pop()
                parts.append(self._component.join(comps))
        while len(parts) > 1 and not parts[-1]:
            parts.pop()
        return self._element.join(parts) + self._terminator + self.line_ending

    def _isa(self, elements: SegmentData) -> bytes:
        if len(elements) != 17 or not all(isinstance(e, str) for e in elements):
            raise ValueError("an ISA needs exactly 16 plain elements (see build_isa)")
        values = [str(e) for e in elements]
        for pos in range(1, 16):
            if len(values[pos]) != ISA_WIDTHS[pos]:
                raise ValueError(f"ISA{pos:02d} {values[pos]!r} is not its fixed width of {ISA_WIDTHS[pos]}")
            _check_value(values[pos], "ISA", pos,
                         [f for f in self._forbidden if not (pos == 11 and f[0] == "repetition separator")])
        if values[16] != self.delimiters.component:
            raise ValueError(f"ISA16 {values[16]!r} must be the component separator "
                             f"{self.delimiters.component!r}")
        body = self._element.join(v.encode("utf-8") for v in values[:16])
        return body + self._element + self._component + self._terminator + self.line_ending

    def segments(self, segments: Sequence[SegmentData]) -> bytes:
        return b"".join(self.segment(s) for s in segments)


@dataclass
class GroupData:
    """A functional group to write: its GS (GS01..GS08) and its transaction sets.

    Each set is ST and its body, without SE: the writer adds SE with the counted segments.
    """

    gs: list[Element]
    sets: list[list[list[Element]]] = field(default_factory=list)


def write_interchange(
    isa: list[str],
    groups: Sequence[GroupData],
    delimiters: Delimiters,
    line_ending: str = "",
    preamble: Sequence[SegmentData] = (),
) -> bytes:
    """One interchange: ISA, `preamble` (e.g. a TA1), the groups with computed trailers, IEA.

    The caller never counts: SE01 is the number of segments ST..SE, GE01 the number of sets, IEA01
    the number of groups (a TA1 is not a group and is not counted).
    """
    writer = X12Writer(delimiters, line_ending)
    out = [writer.segment(isa)]
    for seg in preamble:
        if seg and seg[0] in ("ISA", "GS", "ST", *TRAILERS):
            raise ValueError(f"the preamble holds interchange-level segments such as TA1, not {seg[0]}")
        out.append(writer.segment(seg))
    for group in groups:
        if not group.gs or group.gs[0] != "GS" or len(group.gs) < 9:
            raise ValueError(f"a group needs a GS segment with 8 elements: {group.gs!r}")
        gs06 = group.gs[6]
        if not isinstance(gs06, str) or not gs06.isdigit():
            raise ValueError(f"GS06 group control number must be digits, got {gs06!r}")
        out.append(writer.segment(group.gs))
        for ts in group.sets:
            if not ts or ts[0][0] != "ST" or len(ts[0]) < 3:
                raise ValueError("a transaction set must start with an ST segment carrying ST01 and ST02")
            for seg in ts:
                if seg[0] in TRAILERS or seg[0] in ("ISA", "GS"):
                    raise ValueError(f"{seg[0]} inside a transaction set: the writer adds the trailers itself")
                out.append(writer.segment(seg))
            st02 = ts[0][2]
            out.append(writer.segment(["SE", str(len(ts) + 1), st02]))
        out.append(writer.segment(["GE", str(len(group.sets)), gs06]))
    out.append(writer.segment(["IEA", str(len(groups)), isa[13]]))
    return b"".join(out)
