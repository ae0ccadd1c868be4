"""Canonical `order` -> X12 850 body (BEG through AMT): what a distributor sends its suppliers.

The exact inverse of `map_850`, built from its qualifier tables, so an order read back with the
inbound mapping is the order that was built (tests/test_outbound.py proves it on every sample).
Requirements (mandatory elements, lengths, code lists, VICS narrowing) are not repeated here: the
outbound framework validates what this returns against the partner's guide and names the canonical
field of every finding through `describe_field`. This module only refuses what has no X12 form at
all (a name with no qualifier code, a number that is not finite), with every such problem at once.

Defaults where the canonical order is silent but X12 needs a value: purpose `original` (BEG01 00)
and order type `SA` stand-alone (BEG02).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal

from mappings.canonical import Document, Line, Party
from mappings.x12.map_850 import (
    DATE_NAMES,
    ITEM_ID_QUALIFIERS,
    PARTY_ID_QUALIFIERS,
    PARTY_ROLES,
    PURPOSES,
    REFERENCE_NAMES,
)
from mappings.x12.outbound import BuildError, FieldProblem, x12_date, x12_decimal

# canonical name -> X12 code: the inverses of map_850's tables, one code chosen where several map to a name
PURPOSE_CODES: dict[str, str] = {name: code for code, name in PURPOSES.items()}
PARTY_CODES: dict[str, str] = {name: code for code, name in PARTY_ROLES.items()} | {"seller": "VN"}
PARTY_ID_CODES: dict[str, str] = {name: code for code, name in PARTY_ID_QUALIFIERS.items()}
REFERENCE_CODES: dict[str, str] = {name: code for code, name in REFERENCE_NAMES.items()}
DATE_CODES: dict[str, str] = {name: code for code, name in DATE_NAMES.items()}
ITEM_ID_CODES: dict[str, str] = {name: code for code, name in ITEM_ID_QUALIFIERS.items()} | {"vendor_part": "VP"}

# references that BEG carries (map_850 reads them from BEG02, BEG04, BEG06)
BEG_REFERENCES: dict[str, int] = {"order_type": 2, "release": 4, "contract": 6}
DEFAULT_PURPOSE = "00"
DEFAULT_ORDER_TYPE = "SA"

NAME_WIDTH = 60  # N102 / N201 / N202 (element 93)
DESCRIPTION_WIDTH = 80  # PID05 (element 352)
MAX_N2 = 2  # N2 max use in the N1 loop
MAX_ITEM_IDS = 10  # PO106/07 .. PO124/25


def _chunks(text: str, width: int) -> list[str]:
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


def _code(name: str, table: dict[str, str], raw: str) -> str | None:
    """The X12 code for a canonical name; a name that is itself a lower-cased code (as map_850 keeps
    unknown qualifiers) is that code. `raw` is the pattern such a code must match."""
    if name in table:
        return table[name]
    return name.upper() if re.fullmatch(raw, name) else None


class _Builder:
    def __init__(self, doc: Document, version: str) -> None:
        self.doc = doc
        self.version = version
        self.vics = version.upper().endswith("VICS")
        self.problems: list[FieldProblem] = []

    def problem(self, field: str, value: object, message: str) -> None:
        self.problems.append(FieldProblem(field, value, message))

    def number(self, value: Decimal | None, field: str) -> str:
        if value is None:
            return ""
        try:
            return x12_decimal(value)
        except ValueError as exc:
            self.problem(field, value, f"{exc}; give a finite decimal")
            return ""

    def run(self) -> list[list[str]]:
        doc = self.doc
        segments: list[list[str]] = [self.beg()]
        if doc.currency:
            segments.append(["CUR", "BY", doc.currency])
        for key, value in doc.references.items():
            if key in BEG_REFERENCES or not value:
                continue
            code = _code(key, REFERENCE_CODES, r"[a-z0-9]{2,3}")
            if code is None:
                self.problem(f"references.{key}", value,
                             f"no X12 reference qualifier (REF01) is known for {key!r}; use one of "
                             f"{', '.join(sorted(REFERENCE_CODES))} or the 2-3 character REF01 code as the name")
                continue
            segments.append(["REF", code, value])
        for key, day in doc.dates.items():
            code = DATE_CODES.get(key)
            if code is None:
                match = re.fullmatch(r"(?:dtm_)?(\d{3})", key)
                code = match.group(1) if match else None
            if code is None:
                self.problem(f"dates.{key}", day.isoformat(),
                             f"no X12 date qualifier (DTM01) is known for {key!r}; use one of "
                             f"{', '.join(sorted(DATE_CODES))} or dtm_<3-digit qualifier>")
                continue
            segments.append(["DTM", code, x12_date(day)])
        for n, party in enumerate(doc.parties):
            segments += self.party(n, party)
        for n, line in enumerate(doc.lines):
            segments += self.line(n, line)
        segments += self.summary()
        if self.problems:
            raise BuildError(self.problems)
        return segments

    def beg(self) -> list[str]:
        doc = self.doc
        purpose = DEFAULT_PURPOSE
        if doc.purpose:
            found = _code(doc.purpose, PURPOSE_CODES, r"\d{2}")
            if found is None:
                self.problem("purpose", doc.purpose, f"{doc.purpose!r} has no BEG01 code; use one of "
                             f"{', '.join(PURPOSE_CODES)}")
            else:
                purpose = found
        beg = ["BEG", purpose, DEFAULT_ORDER_TYPE, doc.number or doc.po_number or "", "",
               x12_date(doc.date) if doc.date else "", ""]
        for key, position in BEG_REFERENCES.items():
            if doc.references.get(key):
                beg[position] = doc.references[key]
        return beg

    def party(self, n: int, party: Party) -> list[list[str]]:
        where = f"parties[{n}]"
        code = _code(party.role, PARTY_CODES, r"[a-z0-9]{2,3}")
        if code is None:
            self.problem(f"{where}.role", party.role, f"no N101 entity code is known for role {party.role!r}; "
                         f"use one of {', '.join(sorted(PARTY_CODES))}")
            code = ""
        names = _chunks(party.name or "", NAME_WIDTH)
        n1 = ["N1", code, names[0] if names else "", "", ""]
        refs: list[list[str]] = []
        for key, value in party.ids.items():
            if not value:
                continue
            qualifier = _code(key, PARTY_ID_CODES, r"[a-z0-9]{1,2}")
            if qualifier is not None and not n1[4]:
                n1[3], n1[4] = qualifier, value
                continue
            ref_code = _code(key, REFERENCE_CODES, r"[a-z0-9]{2,3}")
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

    def line(self, n: int, line: Line) -> list[list[str]]:
        where = f"lines[{n}]"
        po1 = ["PO1", line.line_number or str(n + 1), self.number(line.quantity, f"{where}.quantity"),
               line.uom or "", self.number(line.unit_price, f"{where}.unit_price"), ""]
        for key, value in line.item_ids.items():
            if not value:
                continue
            code = "VN" if key == "vendor_part" and self.vics else _code(key, ITEM_ID_CODES, r"[a-z0-9]{2}")
            if code is None:
                self.problem(f"{where}.item_ids.{key}", value,
                             f"no product ID qualifier (PO1 235) is known for {key!r}; use one of "
                             f"{', '.join(sorted(ITEM_ID_CODES))} or the 2-character qualifier as the name")
                continue
            if (len(po1) - 6) // 2 < MAX_ITEM_IDS:
                po1 += [code, value]
        loop = [po1]
        for text in _chunks(line.description or "", DESCRIPTION_WIDTH):
            loop.append(["PID", "F", "", "", "", text])
        return loop

    def summary(self) -> list[list[str]]:
        doc = self.doc
        quantity = doc.totals.quantity
        if quantity is None and doc.lines and all(ln.quantity is not None for ln in doc.lines):
            quantity = sum((ln.quantity for ln in doc.lines if ln.quantity is not None), Decimal(0))
        out = [["CTT", str(len(doc.lines)), self.number(quantity, "totals.quantity")]]
        if doc.totals.amount is not None:
            out.append(["AMT", "TT", self.number(doc.totals.amount, "totals.amount")])
        return out


def build_850(doc: Document, version: str) -> list[list[str]]:
    """The 850 segments between ST and SE for a canonical order (004010, 004010VICS, 005010)."""
    return _Builder(doc, version).run()


_BEG_FIELDS = {1: "purpose", 2: "references.order_type", 3: "number", 4: "references.release", 5: "date",
               6: "references.contract"}
_N4_FIELDS = {1: "city", 2: "state", 3: "postal_code", 4: "country"}
_PO1_FIELDS = {1: "line_number", 2: "quantity", 3: "uom", 4: "unit_price"}


def describe_field(segments: Sequence[Sequence[str]], position: int, element: int | None) -> str | None:
    """The canonical field behind element `element` of the segment at `position` (ST = 1) of a built 850."""
    if not 1 <= position <= len(segments):
        return None
    seg = segments[position - 1]
    tag = seg[0]
    before = segments[:position]
    line = sum(1 for s in before if s[0] == "PO1") - 1
    party = sum(1 for s in before if s[0] == "N1") - 1
    value = seg[1] if len(seg) > 1 else ""
    if tag == "BEG":
        return _BEG_FIELDS.get(element) if element else None
    if tag == "CUR":
        return "currency"
    if tag == "DTM":
        return f"dates.{DATE_NAMES.get(value, f'dtm_{value.lower()}')}"
    if tag == "REF":
        key = REFERENCE_NAMES.get(value.upper(), value.lower())
        return f"parties[{party}].ids.{key}" if party >= 0 and line < 0 else f"references.{key}"
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
    if tag == "PO1":
        if element is None:
            return f"lines[{line}]"
        if element in _PO1_FIELDS:
            return f"lines[{line}].{_PO1_FIELDS[element]}"
        if element >= 6:
            q_at = element if element % 2 == 0 else element - 1
            qualifier = seg[q_at] if q_at < len(seg) else ""
            return f"lines[{line}].item_ids.{ITEM_ID_QUALIFIERS.get(qualifier.upper(), qualifier.lower())}"
        return f"lines[{line}]"
    if tag == "PID":
        return f"lines[{line}].description"
    if tag == "CTT":
        return {1: "totals.line_count", 2: "totals.quantity"}.get(element or 0, "totals")
    if tag == "AMT":
        return "totals.amount"
    return None
