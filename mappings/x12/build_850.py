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

from collections.abc import Sequence

from mappings.canonical import Document, Line
from mappings.x12.build_base import (
    PARTY_TAGS,
    DocumentBuilder,
    built_segment,
    describe_line_field,
    describe_party_field,
    text_pieces,
    x12_code,
)
from mappings.x12.code_lists import (
    DATE_NAMES,
    PARTY_ROLES,
    PURPOSES,
    REFERENCE_NAMES,
    codes_by_name,
)
from mappings.x12.mapping_base import total_quantity
from mappings.x12.outbound import BuildError, x12_date

# canonical name -> X12 code: the inverses of map_850's tables, one code chosen where several map to a name
PURPOSE_CODES: dict[str, str] = codes_by_name(PURPOSES)
PARTY_CODES: dict[str, str] = codes_by_name(PARTY_ROLES, preferred=("VN",))
REFERENCE_CODES: dict[str, str] = codes_by_name(REFERENCE_NAMES)
DATE_CODES: dict[str, str] = codes_by_name(DATE_NAMES)

# references that BEG carries (map_850 reads them from BEG02, BEG04, BEG06)
BEG_REFERENCES: dict[str, int] = {"order_type": 2, "release": 4, "contract": 6}
DEFAULT_PURPOSE = "00"
DEFAULT_ORDER_TYPE = "SA"

DESCRIPTION_WIDTH = 80  # PID05 (element 352)

_chunks = text_pieces  # the name tests/test_outbound.py knows it by


class _OrderBuilder(DocumentBuilder):
    """One 850 build: BEG, CUR, REF, DTM, the N1 loops, the PO1 loops, CTT and AMT."""

    party_codes = PARTY_CODES
    reference_codes = REFERENCE_CODES
    date_codes = DATE_CODES
    line_tag = "PO1"

    def run(self) -> list[list[str]]:
        doc = self.doc
        segments: list[list[str]] = [self.beg()]
        if doc.currency:
            segments.append(["CUR", "BY", doc.currency])
        segments += self.references(BEG_REFERENCES)
        segments += self.dates()
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
            found = x12_code(doc.purpose, PURPOSE_CODES, r"\d{2}")
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

    def line(self, n: int, line: Line) -> list[list[str]]:
        where = f"lines[{n}]"
        po1 = ["PO1", line.line_number or str(n + 1), self.number(line.quantity, f"{where}.quantity"),
               line.uom or "", self.number(line.unit_price, f"{where}.unit_price"), ""]
        po1 += self.product_ids(where, line.item_ids, report_overflow=False)
        loop = [po1]
        for text in text_pieces(line.description or "", DESCRIPTION_WIDTH):
            loop.append(["PID", "F", "", "", "", text])
        return loop

    def summary(self) -> list[list[str]]:
        doc = self.doc
        quantity = doc.totals.quantity if doc.totals.quantity is not None else total_quantity(doc.lines)
        out = [["CTT", str(len(doc.lines)), self.number(quantity, "totals.quantity")]]
        if doc.totals.amount is not None:
            out.append(["AMT", "TT", self.number(doc.totals.amount, "totals.amount")])
        return out


def build_850(doc: Document, version: str) -> list[list[str]]:
    """The 850 segments between ST and SE for a canonical order (004010, 004010VICS, 005010)."""
    return _OrderBuilder(doc, version).run()


_BEG_FIELDS = {1: "purpose", 2: "references.order_type", 3: "number", 4: "references.release", 5: "date",
               6: "references.contract"}


def describe_field(segments: Sequence[Sequence[str]], position: int, element: int | None) -> str | None:
    """The canonical field behind element `element` of the segment at `position` (ST = 1) of a built 850."""
    place = built_segment(segments, position, "PO1")
    if place is None:
        return None
    seg, tag, value, line, party = place
    if tag == "BEG":
        return _BEG_FIELDS.get(element) if element else None
    if tag == "CUR":
        return "currency"
    if tag == "DTM":
        return f"dates.{DATE_NAMES.get(value, f'dtm_{value.lower()}')}"
    if tag == "REF":
        key = REFERENCE_NAMES.get(value.upper(), value.lower())
        return f"parties[{party}].ids.{key}" if party >= 0 and line < 0 else f"references.{key}"
    if tag in PARTY_TAGS:
        return describe_party_field(seg, party, element)
    if tag == "PO1":
        return describe_line_field(seg, line, element)
    if tag == "PID":
        return f"lines[{line}].description"
    if tag == "CTT":
        return {1: "totals.line_count", 2: "totals.quantity"}.get(element or 0, "totals")
    if tag == "AMT":
        return "totals.amount"
    return None
