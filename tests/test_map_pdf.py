"""Extraction -> canonical document: fields, confidence thresholds, arithmetic, unknown items, regions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from mappings.pdf.map_pdf import ARITHMETIC_CONFIDENCE, to_document
from parsers.pdf.model import ExtractedLine, Extraction, Field, Region


def _f(name: str, text: str, conf: float = 1.0, value: str | None = None, top: float = 100.0) -> Field:
    return Field(name, text, conf, Region(1, 300.0, top, 380.0, top + 10), found_by="label", value=value)


def _row(n: int, item: str, qty: str, price: str, amount: str, conf: float = 1.0) -> ExtractedLine:
    top = 300.0 + 15 * n
    cells = {"line_number": _f("line_number", str(n), top=top), "item": _f("item", item, top=top),
             "description": _f("description", f"Part {item}", top=top), "quantity": _f("quantity", qty, conf, top=top),
             "uom": _f("uom", "ea", top=top), "unit_price": _f("unit_price", price, conf, top=top),
             "amount": _f("amount", amount, conf, top=top)}
    return ExtractedLine(cells, Region(1, 40.0, top, 550.0, top + 10))


def _extraction(fmt: str = "dot", **overrides: Field) -> Extraction:
    fields = {
        "po_number": _f("po_number", "PO-4711"), "number": _f("number", "PO-4711"),
        "date": _f("date", "05.03.2024", value="2024-03-05"), "currency": _f("currency", "EUR", value="EUR"),
        "ship_to": _f("ship_to", "ACME Warehouse"), "ship_to.address": _f("ship_to.address", "9 Dock Rd\nPeoria"),
        "total": _f("total", "1,257.50" if fmt == "dot" else "1.257,50", top=600),
        "tax": _f("tax", "5.00" if fmt == "dot" else "5,00", top=590),
    }
    fields.update(overrides)
    rows = [_row(1, "AB-1", "10", "0.25", "2.50"), _row(2, "CD-2", "1,000", "1.25", "1,250.00")]
    if fmt == "comma":
        rows = [_row(1, "AB-1", "10", "0,25", "2,50"), _row(2, "CD-2", "1.000", "1,25", "1.250,00")]
    return Extraction("text", "order", 1, [(595.0, 842.0)], fields, rows, number_format=fmt)  # type: ignore[arg-type]


def test_clean_order_maps_without_issues() -> None:
    doc, issues = to_document(_extraction(), channel="email")
    assert doc is not None and issues == []
    assert doc.kind == "order" and doc.number == doc.po_number == "PO-4711"
    assert doc.date == dt.date(2024, 3, 5) and doc.currency == "EUR"
    assert doc.source.format == "pdf" and doc.source.channel == "email"
    ship = doc.party("ship_to")
    assert ship is not None and ship.name == "ACME Warehouse" and ship.address is not None
    assert ship.address.lines == ["9 Dock Rd", "Peoria"]
    assert [ln.quantity for ln in doc.lines] == [Decimal(10), Decimal(1000)]
    assert doc.lines[1].unit_price == Decimal("1.25") and doc.lines[1].uom == "EA"
    assert doc.lines[0].item_ids == {"vendor_part": "AB-1"} and doc.lines[0].po_number == "PO-4711"
    assert doc.totals.amount == Decimal("1257.50") and doc.totals.tax == Decimal("5.00")


def test_comma_decimals() -> None:
    doc, issues = to_document(_extraction("comma"))
    assert doc is not None and issues == []
    assert doc.lines[1].quantity == Decimal(1000) and doc.totals.amount == Decimal("1257.50")


def test_low_confidence_is_an_error_pointing_at_the_region() -> None:
    ext = _extraction(po_number=_f("po_number", "PO-4711", 0.6), number=_f("number", "PO-4711", 0.6))
    doc, issues = to_document(ext, confidence_threshold=0.9)
    assert doc is not None and doc.number == "PO-4711"  # still shown in the inbox
    low = [i for i in issues if i.code == "LOW_CONFIDENCE"]
    assert low and low[0].is_error and low[0].pdf is not None and low[0].pdf.page == 1
    assert "60%" in low[0].message and low[0].location.startswith("page 1")
    assert to_document(ext, confidence_threshold=0.5)[1] == []


def test_arithmetic_raises_the_confidence_of_numbers_that_agree() -> None:
    ext = _extraction()
    ext.lines = [_row(1, "AB-1", "10", "0.25", "2.50", conf=0.8), _row(2, "CD-2", "1,000", "1.25", "1,250.00", 0.8)]
    _, issues = to_document(ext)
    assert issues == []
    assert ext.lines[0].cells["quantity"].confidence == ARITHMETIC_CONFIDENCE
    assert ext.lines[0].cells["quantity"].found_by == "arithmetic"


def test_arithmetic_mismatch_on_a_line_and_on_the_total() -> None:
    ext = _extraction()
    ext.lines[1] = _row(2, "CD-2", "1,000", "1.25", "1,200.00")
    _, issues = to_document(ext)
    codes = [i.code for i in issues]
    assert codes.count("ARITHMETIC_MISMATCH") == 2  # the line and the total
    line_issue = next(i for i in issues if "Line 2" in i.message)
    assert line_issue.pdf is not None and line_issue.pdf.top == 330.0


def test_missing_number_lines_and_unreadable_values() -> None:
    ext = _extraction(date=_f("date", "soon"), total=_f("total", "abc"))
    del ext.fields["po_number"], ext.fields["number"]
    ext.lines = []
    doc, issues = to_document(ext)
    codes = {i.code for i in issues}
    assert {"MISSING_FIELD", "UNREADABLE_DATE", "UNREADABLE_NUMBER"} <= codes
    assert doc is None or doc.number is None


def test_nothing_usable_is_none() -> None:
    doc, issues = to_document(Extraction("ocr", None, 1, [(595.0, 842.0)]))
    assert doc is None and any(i.code == "MISSING_FIELD" for i in issues)


def test_unknown_item() -> None:
    _, issues = to_document(_extraction(), known_items={"AB-1"})
    unknown = [i for i in issues if i.code == "UNKNOWN_ITEM"]
    assert len(unknown) == 1 and "CD-2" in unknown[0].message and unknown[0].is_error


def test_invoice_numbers() -> None:
    ext = _extraction(number=_f("number", "INV-9"), invoice_number=_f("invoice_number", "INV-9"))
    ext.kind = "invoice"
    doc, _ = to_document(ext)
    assert doc is not None and doc.kind == "invoice" and doc.number == "INV-9" and doc.po_number == "PO-4711"


def test_embedded_xml_is_delegated() -> None:
    ext = Extraction("xml", "invoice", 1, xml=b"<not-xml", xml_flavor="factur-x")
    doc, issues = to_document(ext)
    assert doc is None and issues and all(i.code for i in issues)


def test_ocr_zero_before_a_letter_prefix_is_an_o() -> None:
    scanned = _extraction(number=_f("number", "0C935388"))
    scanned.method = "ocr"
    scanned.lines[0].cells["item"] = _f("item", "0AB10")
    doc, _ = to_document(scanned)
    assert doc is not None and doc.number == "OC935388" and doc.lines[0].item_ids["vendor_part"] == "OAB10"
    assert doc.lines[1].item_ids["vendor_part"] == "CD-2"
    typed = _extraction(number=_f("number", "0C935388"))
    doc, _ = to_document(typed)
    assert doc is not None and doc.number == "0C935388"  # a text layer is what was printed


def test_a_lost_decimal_point_or_doubled_digit_is_taken_back_when_it_adds_up() -> None:
    """A scan that drops a decimal point (25 for 2.5) or doubles a digit (11.25 for 1.25) still has to
    be checked by a person, but the line carries the value that multiplies out."""
    ext = _extraction()
    ext.lines = [_row(1, "AB-1", "25", "1.00", "2.50"), _row(2, "CD-2", "1,000", "11.25", "1,250.00")]
    doc, issues = to_document(ext)
    assert doc is not None
    assert doc.lines[0].quantity == Decimal("2.5") and doc.lines[1].unit_price == Decimal("1.25")
    line_issues = [i for i in issues if i.code == "ARITHMETIC_MISMATCH" and "Line" in i.message]
    assert len(line_issues) == 2 and "taken as 2.5" in line_issues[0].message
    ext.lines = [_row(1, "AB-1", "10", "0.25", "2.50"), _row(2, "CD-2", "1,000", "1.25", "1,200.00")]
    doc, _ = to_document(ext)  # no single misreading explains 1,200.00: the values stay as read
    assert doc is not None and doc.lines[1].unit_price == Decimal("1.25") and doc.lines[1].quantity == 1000


def test_scanned_item_ids_follow_the_shape_of_their_column() -> None:
    """pwo5815 among AA99999 codes is pw05815 (O read for 0); a stray underscore from a rule goes."""
    ext = _extraction()
    ext.method = "ocr"
    ext.lines = [_row(1, "PW05815", "1", "1.00", "1.00"), _row(2, "GL12345", "1", "1.00", "1.00"),
                 _row(3, "_GL44118", "1", "1.00", "1.00"), _row(4, "PWO5816", "1", "1.00", "1.00")]
    doc, _ = to_document(ext)
    assert doc is not None
    assert [line.item_ids["vendor_part"] for line in doc.lines] == ["PW05815", "GL12345", "GL44118", "PW05816"]
    ext.lines = [_row(1, "PO-1", "1", "1.00", "1.00"), _row(2, "PWO5816", "1", "1.00", "1.00")]
    doc, _ = to_document(ext)  # too few to know the column's shape: as read
    assert doc is not None and doc.lines[1].item_ids["vendor_part"] == "PWO5816"
