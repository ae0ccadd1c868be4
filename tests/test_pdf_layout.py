"""Layout analysis on small fpdf2-made purchase orders in several layouts, and on hostile word lists."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from fpdf import FPDF

from parsers.pdf.layout import analyse, normalise, parse_date
from parsers.pdf.model import Hint, Region, Word
from parsers.pdf.text import read_words

EN = {"title": "PURCHASE ORDER", "po": "PO Number:", "date": "Order Date:", "currency": "Currency:",
      "vendor": "Vendor:", "ship_to": "Ship To:", "bill_to": "Bill To:",
      "cols": ["Line", "Item", "Description", "Qty", "UoM", "Unit Price", "Amount"],
      "subtotal": "Subtotal", "tax": "Sales Tax", "freight": "Freight", "total": "Total",
      "page": "Page {n} of {m}"}
DE = {"title": "BESTELLUNG", "po": "Bestellnummer:", "date": "Datum:", "currency": "Währung:",
      "vendor": "Lieferant:", "ship_to": "Lieferanschrift:", "bill_to": "Rechnungsadresse:",
      "cols": ["Pos.", "Artikel-Nr.", "Bezeichnung", "Menge", "Einheit", "Einzelpreis", "Gesamtpreis"],
      "subtotal": "Zwischensumme", "tax": "MwSt. 19%", "freight": "Versandkosten", "total": "Gesamtbetrag",
      "page": "Seite {n} von {m}"}


@dataclass
class Po:
    """What a test PO says; `build` prints it in a chosen layout."""

    number: str = "PO-4711"
    date: str = "March 5, 2024"
    iso_date: str = "2024-03-05"
    currency: str = "USD"
    lines: list[tuple[str, str, int, Decimal]] = field(default_factory=lambda: [
        ("AB-100", "Hex bolt M8 x 40 zinc plated", 10, Decimal("0.25")),
        ("CD-200", "Washer 8mm", 1000, Decimal("1.50")),
        ("EF-300", "Spring lock nut", 25, Decimal("12.00")),
    ])
    tax: Decimal = Decimal("0")
    freight: Decimal = Decimal("0")

    @property
    def subtotal(self) -> Decimal:
        return sum((q * p for _, _, q, p in self.lines), Decimal(0))

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.tax + self.freight


def money(v: Decimal, fmt: str) -> str:
    s = f"{v:,.2f}"
    return s if fmt == "dot" else s.replace(",", "_").replace(".", ",").replace("_", ".")


def build(po: Po, *, words: dict[str, object] = EN, header: str = "left", ruled: bool = False,
          fmt: str = "dot", wrap: bool = False, rows_per_page: int = 30) -> bytes:
    """A PO as a PDF: header labels left of or above their values, a ruled or borderless table, long
    descriptions wrapped in their column, pages broken every `rows_per_page` rows with the table heading
    and a page footer repeated."""
    w = words
    cols = w["cols"]
    assert isinstance(cols, list)
    pdf = FPDF(unit="pt", format="A4")
    pdf.set_auto_page_break(False)
    xs = [40, 70, 140, 330, 375, 420, 495, 560]  # column edges
    right_aligned = {3, 5, 6}

    def text(x: float, y: float, s: str, right: float | None = None) -> None:
        pdf.text(right - pdf.get_string_width(s) if right is not None else x, y, s)

    def page_top() -> None:
        pdf.add_page()
        pdf.set_font("Helvetica", "", 9)
        text(40, 30, "ACME Tools Inc. - Purchasing")

    def table_header(y: float) -> float:
        pdf.set_font("Helvetica", "B", 9)
        for k, c in enumerate(cols):
            if k in right_aligned:
                text(0, y, str(c), right=xs[k + 1] - 4)
            else:
                text(xs[k] + 2, y, str(c))
        if ruled:
            pdf.line(xs[0], y - 11, xs[-1], y - 11)
            pdf.line(xs[0], y + 4, xs[-1], y + 4)
        pdf.set_font("Helvetica", "", 9)
        return y + 16

    chunks = [po.lines[i:i + rows_per_page] for i in range(0, len(po.lines), rows_per_page)]
    pages = len(chunks)
    n = 0
    for p, chunk in enumerate(chunks, 1):
        page_top()
        y = 60.0
        if p == 1:
            pdf.set_font("Helvetica", "B", 16)
            text(330, y, str(w["title"]))
            pdf.set_font("Helvetica", "B", 12)
            text(40, y, "ACME Tools Inc.")
            pdf.set_font("Helvetica", "", 9)
            text(40, y + 12, "100 Industrial Way, Springfield, IL 62704")
            values = [(w["po"], po.number), (w["date"], po.date), (w["currency"], po.currency)]
            if header == "left":
                for k, (label, value) in enumerate(values):
                    text(330, 90 + 13 * k, str(label))
                    text(430, 90 + 13 * k, value)
            else:  # labels above their values, side by side
                for k, (label, value) in enumerate(values):
                    pdf.set_font("Helvetica", "B", 9)
                    text(40 + 130 * k, 95, str(label).rstrip(":"))
                    pdf.set_font("Helvetica", "", 9)
                    text(40 + 130 * k, 108, value)
            blocks = [(w["vendor"], ["Widget Supply Co", "55 Elm Street", "Dayton, OH 45402"]),
                      (w["ship_to"], ["ACME Warehouse 3", "9 Dock Road", "Peoria, IL 61602"]),
                      (w["bill_to"], ["ACME Tools Inc.", "PO Box 77", "Springfield, IL 62704"])]
            for k, (label, block) in enumerate(blocks):
                x = 40 + 175 * k
                pdf.set_font("Helvetica", "B", 9)
                text(x, 150, str(label))
                pdf.set_font("Helvetica", "", 9)
                for m, s in enumerate(block):
                    text(x, 162 + 11 * m, s)
            y = 230.0
        y = table_header(y)
        for item, desc, qty, price in chunk:
            n += 1
            desc_lines = [desc]
            if wrap and len(desc) > 22:
                cut = desc.rfind(" ", 0, 22)
                desc_lines = [desc[:cut], desc[cut + 1:]]
            cells = [str(n), item, desc_lines[0], str(qty), "EA", money(price, fmt), money(qty * price, fmt)]
            for k, c in enumerate(cells):
                if k in right_aligned:
                    text(0, y, c, right=xs[k + 1] - 4)
                else:
                    text(xs[k] + 2, y, c)
            for extra in desc_lines[1:]:
                y += 10
                text(xs[2] + 2, y, extra)
            if ruled:
                pdf.line(xs[0], y + 4, xs[-1], y + 4)
            y += 15
        if ruled:
            for x in xs:
                pdf.line(x, 219 if p == 1 else 49, x, y - 11)
        if p == pages:
            y += 12
            sums = [(w["subtotal"], po.subtotal)]
            if po.tax:
                sums.append((w["tax"], po.tax))
            if po.freight:
                sums.append((w["freight"], po.freight))
            sums.append((w["total"], po.total))
            for label, value in sums:
                text(420, y, str(label))
                text(0, y, money(value, fmt), right=556)
                y += 13
        pdf.set_font("Helvetica", "", 8)
        text(260, 810, str(w["page"]).format(n=p, m=pages))
    return bytes(pdf.output())


def read(data: bytes, hints: tuple[Hint, ...] = ()):  # type: ignore[no-untyped-def]
    words, sizes = read_words(data)
    return analyse(words, sizes, hints=hints)


def check(po: Po, ext, fmt: str = "dot") -> None:  # type: ignore[no-untyped-def]
    assert ext.kind == "order"
    assert ext.number_format == fmt
    assert ext.fields["po_number"].text == po.number
    assert ext.fields["number"].text == po.number
    assert ext.fields["date"].value == po.iso_date
    assert ext.fields["currency"].value == po.currency
    assert ext.fields["ship_to"].text == "ACME Warehouse 3"
    assert ext.fields["ship_to.address"].text == "9 Dock Road\nPeoria, IL 61602"
    assert ext.fields["seller"].text == "Widget Supply Co"
    assert ext.fields["bill_to"].text == "ACME Tools Inc."
    assert ext.decimal("total") == po.total
    assert len(ext.lines) == len(po.lines)
    for row, (item, desc, qty, price) in zip(ext.lines, po.lines, strict=True):
        assert row.cells["item"].text == item
        assert row.cells["description"].text == desc
        assert row.cells["quantity"].text == str(qty)
        assert row.cells["uom"].text == "EA"
        assert row.cells["unit_price"].text == money(price, fmt)
        assert row.cells["amount"].text == money(qty * price, fmt)
        assert all(f.confidence == 1.0 and f.region is not None for f in row.cells.values())


def test_label_left_borderless() -> None:
    po = Po()
    check(po, read(build(po)))


def test_label_above_ruled() -> None:
    po = Po(tax=Decimal("10.00"), freight=Decimal("5.50"))
    ext = read(build(po, header="above", ruled=True))
    check(po, ext)
    assert ext.decimal("tax") == Decimal("10.00")
    assert ext.decimal("freight") == Decimal("5.50")
    assert ext.decimal("subtotal") == po.subtotal


def test_wrapped_descriptions_join_their_row() -> None:
    po = Po()
    check(po, read(build(po, wrap=True, ruled=True)))
    check(po, read(build(po, wrap=True)))


def test_german_labels_and_numbers() -> None:
    po = Po(number="4500012345", date="05.03.2024", currency="EUR", tax=Decimal("1234.56"),
            lines=[("A-1", "Sechskantschraube", 1200, Decimal("1.25")),
                   ("B-2", "Unterlegscheibe", 3, Decimal("1999.90"))])
    ext = read(build(po, words=DE, fmt="comma"))
    check(po, ext, fmt="comma")
    assert ext.fields["tax"].text == "1.234,56"
    assert ext.decimal("tax") == Decimal("1234.56")


def test_table_over_two_pages_with_repeated_header_and_footer() -> None:
    items = [(f"P-{i:03d}", f"Part number {i}", i, Decimal("2.00")) for i in range(1, 46)]
    po = Po(lines=items)
    ext = read(build(po, rows_per_page=30))
    check(po, ext)
    assert ext.page_count == 2
    assert {r.cells["quantity"].region.page for r in ext.lines} == {1, 2}  # type: ignore[union-attr]


def test_hints_extra_label_wording_and_value_region() -> None:
    po = Po()
    data = build(po, words={**EN, "po": "Our Ref. Code:"})
    assert "po_number" not in read(data).fields
    ext = read(data, (Hint("po_number", label="Our Ref. Code"),))
    assert ext.fields["po_number"].text == po.number
    assert ext.fields["po_number"].found_by == "hint"
    # a region taught for a field with no label at all
    words, sizes = read_words(data)
    box = next(w for w in words if w.text == po.number).region
    region = Region(1, box.x0 - 3, box.top - 2, box.x1 + 3, box.bottom + 2)
    ext = analyse(words, sizes, hints=(Hint("po_number", region=region),))
    assert ext.fields["po_number"].text == po.number
    assert ext.fields["po_number"].found_by == "hint"


@pytest.mark.parametrize(("text", "iso"), [
    ("2024-03-05", "2024-03-05"), ("05.03.2024", "2024-03-05"), ("03/05/2024", "2024-03-05"),
    ("15/03/2024", "2024-03-15"), ("March 5, 2024", "2024-03-05"), ("5 March 2024", "2024-03-05"),
    ("5. März 2024", "2024-03-05"), ("05-Mar-2024", "2024-03-05"), ("1er mars 2024", "2024-03-01"),
    ("05.03.24", "2024-03-05"), ("Mar 5 2024", "2024-03-05"), ("31.02.2024", None), ("hello", None),
])
def test_dates(text: str, iso: str | None) -> None:
    assert parse_date(text) == iso


def test_normalised_wordings() -> None:
    assert normalise("P.O. No.:") == normalise("PO #") == normalise("po number") == ["po", "no"]
    assert normalise("Bestell-Nr.") == ["bestell", "no"]
    assert normalise("N° de commande") == ["no", "de", "commande"]


def _w(text: str, x: float, y: float, page: int = 1) -> Word:
    return Word(text, page, x, y, x + 6 * len(text), y + 10)


def test_hostile_inputs() -> None:
    ext = analyse([], [(595.0, 842.0)])
    assert ext.fields == {} and ext.lines == [] and ext.issues
    garbage = [_w("(cid:12)x%$", 40 + (k % 8) * 60, 40 + (k // 8) * 14) for k in range(200)]
    ext = analyse(garbage, [(595.0, 842.0)])
    assert ext.lines == [] and "po_number" not in ext.fields
    header_only = [_w(t, x, 100) for t, x in (("Item", 40), ("Description", 100), ("Qty", 300), ("Price", 360),
                                              ("Amount", 430))]
    ext = analyse(header_only, [(595.0, 842.0)])
    assert ext.lines == []
    no_table = [_w("PO", 40, 40), _w("Number:", 60, 40), _w("123", 140, 40), _w("Hello", 40, 80)]
    ext = analyse(no_table, [(595.0, 842.0)])
    assert ext.fields["po_number"].text == "123" and ext.lines == []
    assert any(i.code == "PDF_NO_TABLE" for i in ext.issues)


def test_five_thousand_lines_in_bounded_time() -> None:
    words = [_w(t, x, 100) for t, x in (("Item", 40), ("Description", 100), ("Qty", 300), ("Price", 360),
                                        ("Amount", 430))]
    y, page = 120.0, 1
    for i in range(5000):
        if y > 800:
            page, y = page + 1, 60.0
        words += [_w(f"X{i}", 40, y, page), _w("Thing", 100, y, page), _w("2", 300, y, page),
                  _w("1.50", 360, y, page), _w("3.00", 430, y, page)]
        y += 14
    started = time.perf_counter()
    ext = analyse(words, [(595.0, 842.0)] * page)
    assert time.perf_counter() - started < 10
    assert len(ext.lines) == 5000


def _table(rows: list[tuple[str, str, str, str, str]], conf: float = 0.9) -> list[Word]:
    words = [_w(t, x, 100) for t, x in (("Line", 40), ("Description", 100), ("Qty", 300), ("UoM", 340),
                                        ("Price", 400), ("Amount", 480))]
    for k, (ln, desc, qty, uom, price) in enumerate(rows):
        y = 120 + 16 * k
        cells = [(ln, 40), (desc, 100), (qty, 300), (uom, 340), (price, 400), ("1.00", 480)]
        words += [Word(t, 1, x, y, x + 6 * len(t), y + 10, conf) for t, x in cells if t]
    return words


def test_scan_misreads_are_repaired_from_context() -> None:
    rows = [("1", "Bolt", "1", "EA", "1.00"), ("al", "Nut", "1", "EA", "1.00"), ("3", "Pin", "", "5PK", "1.00"),
            ("4", "Cap", "1", "EA", "1.00")]
    ext = analyse(_table(rows), [(595.0, 842.0)], method="ocr")
    assert [r.cells["line_number"].text for r in ext.lines] == ["1", "2", "3", "4"]
    assert ext.lines[1].cells["line_number"].found_by == "inferred"
    assert ext.lines[2].cells["quantity"].text == "5" and ext.lines[2].cells["uom"].text == "PK"
    assert ext.lines[0].cells["quantity"].confidence == 0.9  # OCR's word confidence is carried
    # a genuine gap in the numbering is left alone
    rows = [("1", "Bolt", "1", "EA", "1.00"), ("2", "Nut", "1", "EA", "1.00"), ("5", "Pin", "1", "EA", "1.00")]
    assert [r.cells["line_number"].text for r in analyse(_table(rows), [(595.0, 842.0)]).lines] == ["1", "2", "5"]


def test_a_wrapped_last_row_stays_when_its_lines_sit_closer_than_rows_do() -> None:
    """OCR boxes hug the glyphs (5 pt tall at a 10 pt pitch), so a wrapped line's gap is as wide as a
    line is tall; it is still closer than rows are to each other, unlike a note after the table."""
    def word(t: str, x: float, y: float) -> Word:
        return Word(t, 1, x, y, x + 6 * len(t), y + 5, 0.9)

    words = [_w(t, x, 100) for t, x in (("Line", 40), ("Description", 100), ("Qty", 300), ("Price", 400),
                                        ("Amount", 480))]
    for k in range(3):
        y = 120 + 20 * k
        words += [word(str(k + 1), 40, y), word(f"Part{k}", 100, y), word("2", 300, y), word("1.00", 400, y),
                  word("2.00", 480, y)]
    words += [word("packed", 100, 170), word("on", 150, 170), word("pallet", 100, 180)]
    words += [word("Thank", 40, 200), word("you", 80, 200)]
    ext = analyse(words, [(595.0, 842.0)], method="ocr")
    assert len(ext.lines) == 3
    assert ext.lines[2].cells["description"].text.split() == ["Part2", "packed", "on", "pallet"]
