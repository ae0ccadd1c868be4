"""The shapes PDF extraction works in: positioned words, regions, fields with confidences.

Text-layer words and OCR words share one type so the layout analysis never cares where a word came
from; only its confidence differs (1.0 for a text layer, Tesseract's word confidence for a scan).
Coordinates are PDF points (1/72 in) with the origin at the page's top-left corner, as pdfplumber
gives them; OCR words are scaled back from pixels to points.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from parsers.issues import Issue, PdfRef

Method = Literal["xml", "text", "ocr"]


@dataclass(frozen=True)
class Region:
    """A box on one page (1-based page number), in points from the top-left corner."""

    page: int
    x0: float
    top: float
    x1: float
    bottom: float

    def union(self, other: Region) -> Region:
        if other.page != self.page:
            return self
        return Region(self.page, min(self.x0, other.x0), min(self.top, other.top),
                      max(self.x1, other.x1), max(self.bottom, other.bottom))

    def location(self) -> str:
        """The place as a person reads it in an issue: page and position in millimetres."""
        return f"page {self.page}, {self.x0 * 25.4 / 72:.0f} mm from left, {self.top * 25.4 / 72:.0f} mm from top"

    def ref(self, field: str = "") -> PdfRef:
        """The region in an issue, so the inbox can draw it."""
        return PdfRef(self.page, self.x0, self.top, self.x1, self.bottom, field)


@dataclass(frozen=True)
class Word:
    text: str
    page: int
    x0: float
    top: float
    x1: float
    bottom: float
    confidence: float = 1.0  # 0..1
    line: int = 0  # 1-based visual line number on its page, once lines are grouped (0: not yet)

    @property
    def region(self) -> Region:
        return Region(self.page, self.x0, self.top, self.x1, self.bottom)


@dataclass
class Field:
    """One value read off the document, with where it was found and how sure the reader is."""

    name: str  # po_number, order_date, currency, buyer, seller, ship_to, bill_to, total, tax, freight, ...
    text: str  # as printed (joined words)
    confidence: float  # 0..1: OCR word confidence combined with how the value was found
    region: Region | None = None
    label: str | None = None  # the label wording it was found by ("PO No.", "Bestellnummer", ...)
    found_by: str = "label"  # label | table | hint | xml | arithmetic | inferred
    value: str | None = None  # normalised form when the reader knows it: ISO date, ISO currency code


@dataclass
class ExtractedLine:
    """A line-table row; cells are keyed by column role (line_number, item, buyer_part, description,
    quantity, uom, unit_price, amount)."""

    cells: dict[str, Field] = field(default_factory=dict)
    region: Region | None = None


@dataclass
class Hint:
    """What ops taught the gateway about one customer's layout: a label wording and/or where the value sits."""

    field: str
    label: str | None = None
    region: Region | None = None  # the value's box on the corrected page
    id: str | None = None


@dataclass
class Extraction:
    method: Method
    kind: Literal["order", "invoice"] | None  # as the document calls itself, when it says
    page_count: int
    page_sizes: list[tuple[float, float]] = field(default_factory=list)  # (width, height) in points
    fields: dict[str, Field] = field(default_factory=dict)
    lines: list[ExtractedLine] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    words: list[Word] = field(default_factory=list)  # everything read, for the inbox and for learning
    xml: bytes | None = None  # an embedded Order-X / Factur-X / ZUGFeRD / UBL document, when present
    xml_flavor: str | None = None
    number_format: Literal["dot", "comma"] | None = None  # 1,234.56 or 1.234,56, as detected
    # What OCR did per page (page, skew, rotation, language, confidence...), so the inbox can draw each
    # page as OCR saw it: word positions are in the straightened page's frame.
    ocr_pages: list[dict[str, Any]] = field(default_factory=list)

    def decimal(self, name: str) -> Decimal | None:
        """A field parsed as a number in the document's number format, or None."""
        from parsers.pdf.numbers import parse_number

        f = self.fields.get(name)
        return parse_number(f.text, self.number_format) if f else None
