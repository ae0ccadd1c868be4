"""What the 850 and 810 builders share: writing a canonical document back as X12 segments, and
collecting every field that has no X12 form as a `FieldProblem` instead of stopping at the first.

`DocumentBuilder` writes the segments whose meaning is the same in both sets - REF and DTM from the
document's references and dates, the N1 loop (N1/N2/N3/N4/REF) of a party, the qualifier/ID pairs of
a line's product IDs - from the set's reversed code lists, so a document read back with the inbound
mapping is the document that was built. A set's builder subclasses it, sets those tables and writes
the rest (its beginning segment, lines and summary).
"""

from __future__ import annotations

import re
from collections.abc import Container, Mapping, Sequence
from decimal import Decimal
from typing import ClassVar, NamedTuple

from mappings.canonical import Document, Party
from mappings.x12.code_lists import ITEM_ID_QUALIFIERS, PARTY_ID_QUALIFIERS, codes_by_name
from mappings.x12.mapping_base import product_id_key
from mappings.x12.outbound import FieldProblem, x12_date, x12_decimal

# canonical name -> X12 code for the lists every set's builder writes alike (850, 855, 856, 810)
PARTY_ID_CODES: dict[str, str] = codes_by_name(PARTY_ID_QUALIFIERS)
ITEM_ID_CODES: dict[str, str] = codes_by_name(ITEM_ID_QUALIFIERS)  # vendor_part: VP (VN is VICS only)

NAME_WIDTH = 60  # N102 / N201 / N202 (element 93)
MAX_N2 = 2  # N2 max use in the N1 loop
MAX_ITEM_IDS = 10  # PO106/07 .. PO124/25, IT106/07 .. IT124/25

# what a lower-cased code kept as a canonical name looks like, by the element it comes from
REFERENCE_CODE = r"[a-z0-9]{2,3}"  # REF01 (128), N101 (98)
PARTY_ID_CODE = r"[a-z0-9]{1,2}"  # N103 (66)
PRODUCT_ID_CODE = r"[a-z0-9]{2}"  # 235


def text_pieces(text: str, width: int) -> list[str]:
    """`text` cut at single spaces into pieces of at most `width`, so " ".join(pieces) == text.

    A word longer than `width` is cut hard (the only case where reading it back differs).
    """
    pieces: list[str] = []
    current: str | None = None
    for word in text.split(" "):
        while len(word) > width:
            if current is not None:
                pieces.append(current)
                current = None
            pieces.append(word[:width])
            word = word[width:]
        if current is None:
            current = word
        elif len(current) + 1 + len(word) <= width:
            current = f"{current} {word}"
        else:
            pieces.append(current)
            current = word
    if current:
        pieces.append(current)
    return [p for p in pieces if p]


def x12_code(name: str, table: Mapping[str, str], raw: str) -> str | None:
    """The X12 code for a canonical name; a name that is itself a lower-cased code (as the mappings keep
    unknown qualifiers) is that code. `raw` is the pattern such a code must match."""
    if name in table:
        return table[name]
    return name.upper() if re.fullmatch(raw, name) else None


class DocumentBuilder:
    """One build: the document, the partner's version, and the problems found so far.

    A subclass sets the set's tables (canonical name -> X12 code: N101, REF01, DTM01) and says which
    segment its product IDs travel in (`line_tag`).
    """

    party_codes: ClassVar[Mapping[str, str]] = {}
    reference_codes: ClassVar[Mapping[str, str]] = {}
    date_codes: ClassVar[Mapping[str, str]] = {}
    line_tag: ClassVar[str] = ""

    def __init__(self, doc: Document, version: str) -> None:
        self.doc = doc
        self.version = version
        self.vics = version.upper().endswith("VICS")
        self.problems: list[FieldProblem] = []

    def problem(self, field: str, value: object, message: str) -> None:
        self.problems.append(FieldProblem(field, value, message))

    def number(self, value: Decimal | None, field: str) -> str:
        """An R/N value as X12 writes it; '' for None, and a problem for a value that is not finite."""
        if value is None:
            return ""
        try:
            return x12_decimal(value)
        except ValueError as exc:
            self.problem(field, value, f"{exc}; give a finite decimal")
            return ""

    def references(self, skip: Container[str]) -> list[list[str]]:
        """A REF for each document reference, but those in `skip` (which other segments carry)."""
        segments: list[list[str]] = []
        for key, value in self.doc.references.items():
            if key in skip or not value:
                continue
            code = x12_code(key, self.reference_codes, REFERENCE_CODE)
            if code is None:
                self.problem(f"references.{key}", value,
                             f"no X12 reference qualifier (REF01) is known for {key!r}; use one of "
                             f"{', '.join(sorted(self.reference_codes))} or the 2-3 character REF01 code as the "
                             "name")
                continue
            segments.append(["REF", code, value])
        return segments

    def dates(self, skip: Container[str] = ()) -> list[list[str]]:
        """A DTM for each document date, but those in `skip` (which other segments carry)."""
        segments: list[list[str]] = []
        for key, day in self.doc.dates.items():
            if key in skip:
                continue
            code = self.date_codes.get(key)
            if code is None:
                match = re.fullmatch(r"(?:dtm_)?(\d{3})", key)
                code = match.group(1) if match else None
            if code is None:
                self.problem(f"dates.{key}", day.isoformat(),
                             f"no X12 date qualifier (DTM01) is known for {key!r}; use one of "
                             f"{', '.join(sorted(self.date_codes))} or dtm_<3-digit qualifier>")
                continue
            segments.append(["DTM", code, x12_date(day)])
        return segments

    def party(self, n: int, party: Party) -> list[list[str]]:
        """The N1 loop of `doc.parties[n]`: N1 with the first ID the N1 can carry, N2 for a name longer
        than N102, N3/N4 for the address, and a REF for each further ID."""
        where = f"parties[{n}]"
        code = x12_code(party.role, self.party_codes, REFERENCE_CODE)
        if code is None:
            self.problem(f"{where}.role", party.role, f"no N101 entity code is known for role {party.role!r}; "
                         f"use one of {', '.join(sorted(self.party_codes))}")
            code = ""
        names = text_pieces(party.name or "", NAME_WIDTH)
        n1 = ["N1", code, names[0] if names else "", "", ""]
        refs: list[list[str]] = []
        for key, value in party.ids.items():
            if not value:
                continue
            qualifier = x12_code(key, PARTY_ID_CODES, PARTY_ID_CODE)
            if qualifier is not None and not n1[4]:
                n1[3], n1[4] = qualifier, value
                continue
            ref_code = x12_code(key, self.reference_codes, REFERENCE_CODE)
            if ref_code is None:
                self.problem(f"{where}.ids.{key}", value,
                             f"the N1 already carries {n1[3]} {n1[4]!r} and no REF qualifier is known for "
                             f"{key!r}; an N1 takes one identification code, further ones travel as REF")
                continue
            refs.append(["REF", ref_code, value])
        loop = [n1]
        rest = names[1:]
        for i in range(0, min(len(rest), 2 * MAX_N2), 2):
            loop.append(["N2", *rest[i:i + 2]])
        address = party.address
        if address is not None:
            lines = [ln for ln in address.lines if ln]
            for i in range(0, len(lines), 2):
                loop.append(["N3", *lines[i:i + 2]])
            if address.city or address.state or address.postal_code or address.country:
                loop.append(["N4", address.city or "", address.state or "", address.postal_code or "",
                             address.country or ""])
        return loop + refs

    def product_ids(self, where: str, item_ids: Mapping[str, str], report_overflow: bool) -> list[str]:
        """A line's product IDs as qualifier/ID elements (at most MAX_ITEM_IDS pairs), VN for the vendor
        part under VICS. IDs beyond the limit are a problem when `report_overflow`, else left out."""
        pairs: list[str] = []
        for key, value in item_ids.items():
            if not value:
                continue
            code = "VN" if key == "vendor_part" and self.vics else x12_code(key, ITEM_ID_CODES,
                                                                               PRODUCT_ID_CODE)
            if code is None:
                self.problem(f"{where}.item_ids.{key}", value,
                             f"no product ID qualifier ({self.line_tag} 235) is known for {key!r}; use one of "
                             f"{', '.join(sorted(ITEM_ID_CODES))} or the 2-character qualifier as the name")
                continue
            if len(pairs) // 2 < MAX_ITEM_IDS:
                pairs += [code, value]
            elif report_overflow:
                self.problem(f"{where}.item_ids.{key}", value,
                             f"an {self.line_tag} carries at most {MAX_ITEM_IDS} product IDs")
        return pairs


# -- naming the canonical field behind a built element (for the outbound validator's findings) -------

class BuiltSegment(NamedTuple):
    """A segment of a built body, and the line and party (indexes, -1 before the first) it belongs to."""

    seg: Sequence[str]
    tag: str
    value: str  # its first element, '' when it has none
    line: int
    party: int


def built_segment(segments: Sequence[Sequence[str]], position: int, line_tag: str) -> BuiltSegment | None:
    """The segment at `position` (ST = 1) of the segments a builder returned, None when there is none;
    lines are counted by `line_tag` (PO1, IT1), parties by N1."""
    if not 1 <= position <= len(segments):
        return None
    seg = segments[position - 1]
    before = segments[:position]
    return BuiltSegment(seg, seg[0], seg[1] if len(seg) > 1 else "", sum(1 for s in before if s[0] == line_tag) - 1,
                        sum(1 for s in before if s[0] == "N1") - 1)


PARTY_TAGS = frozenset({"N1", "N2", "N3", "N4"})
_N4_FIELDS = {1: "city", 2: "state", 3: "postal_code", 4: "country"}
_LINE_FIELDS = {1: "line_number", 2: "quantity", 3: "uom", 4: "unit_price"}  # PO101-04, IT101-04


def describe_party_field(seg: Sequence[str], party: int, element: int | None) -> str | None:
    """The field of `doc.parties[party]` behind an element of a built N1, N2, N3 or N4."""
    tag = seg[0]
    if tag == "N1":
        if element in (3, 4):
            key = PARTY_ID_QUALIFIERS.get(seg[3].upper(), seg[3].lower()) if len(seg) > 3 else "id"
            return f"parties[{party}].ids.{key}"
        return f"parties[{party}].{'role' if element == 1 else 'name'}" if element else f"parties[{party}]"
    if tag == "N2":
        return f"parties[{party}].name"
    if tag == "N3":
        return f"parties[{party}].address.lines"
    if tag == "N4":
        field = _N4_FIELDS.get(element or 0)
        return f"parties[{party}].address" + (f".{field}" if field else "")
    return None


def describe_line_field(seg: Sequence[str], line: int, element: int | None) -> str:
    """The field of `doc.lines[line]` behind an element of a built PO1 or IT1 (product IDs from 06 on)."""
    if element is None:
        return f"lines[{line}]"
    if element in _LINE_FIELDS:
        return f"lines[{line}].{_LINE_FIELDS[element]}"
    if element >= 6:
        q_at = element if element % 2 == 0 else element - 1
        qualifier = seg[q_at] if q_at < len(seg) else ""
        return f"lines[{line}].item_ids.{product_id_key(qualifier)}"
    return f"lines[{line}]"
