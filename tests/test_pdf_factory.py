"""The PDF test-data generator and the accuracy scorer: if these are wrong, every extraction figure is."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pdfplumber
import pytest
from PIL import Image

from benchmarks.pdf_accuracy import Counts, score
from mappings.canonical import Document, Line, Party, Source, Totals
from tests.pdf_factory import (
    INVOICE_LAYOUTS,
    LAYOUTS,
    ORDER_LAYOUTS,
    expected,
    format_amount,
    format_date,
    format_quantity,
    make_case,
    make_document,
    make_invoice,
    make_order,
    render,
    scan,
    scan_image,
)


def _pages_text(pdf: bytes) -> list[str]:
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        return [page.extract_text() or "" for page in doc.pages]


def test_at_least_eight_order_layouts_and_two_invoice_layouts() -> None:
    assert len(ORDER_LAYOUTS) >= 8
    assert len(INVOICE_LAYOUTS) >= 2
    assert {lay.number_format for lay in LAYOUTS.values()} == {"dot", "comma"}
    assert len({lay.font for lay in LAYOUTS.values()}) >= 5
    assert len({lay.date_format for lay in LAYOUTS.values()}) >= 5
    assert {"grid", "none"} <= {lay.rules for lay in LAYOUTS.values()}
    assert {"left", "above", "box"} == {lay.header_style for lay in LAYOUTS.values()}
    assert {lay.item_key for lay in LAYOUTS.values()} == {"buyer_part", "vendor_part"}


def test_generator_is_deterministic() -> None:
    assert make_order(3) == make_order(3)
    assert make_order(3) != make_order(4)
    assert make_invoice(3, "inv_de_borderless") == make_invoice(3, "inv_de_borderless")
    for name in ("en_classic_ruled", "de_ruled_dejavu"):  # a core font and a TrueType font
        assert render(name, make_document(name, 5)) == render(name, make_document(name, 5))


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_every_layout_renders_what_the_document_says(name: str) -> None:
    lay = LAYOUTS[name]
    doc = make_document(name, 11)
    assert doc.kind == lay.kind
    assert doc.lines and all(ln.item_ids.keys() == {lay.item_key} for ln in doc.lines)
    subtotal = sum((ln.quantity * ln.unit_price for ln in doc.lines if ln.quantity and ln.unit_price), Decimal(0))
    assert doc.totals.amount == subtotal + (doc.totals.tax or 0) + (doc.totals.freight or 0)
    pdf = render(name, doc)
    assert pdf.startswith(b"%PDF-")
    text = "\n".join(_pages_text(pdf))
    assert doc.number and doc.number in text
    if lay.kind == "invoice":
        assert doc.po_number and doc.po_number in text
    assert doc.date and format_date(lay, doc.date).upper() in text.upper()
    assert doc.totals.amount is not None and format_amount(lay, doc.totals.amount) in text
    words = set(text.split())
    for line in doc.lines:
        assert line.quantity is not None and format_quantity(lay, line.quantity) in words, line
        assert line.unit_price is not None and format_amount(lay, line.unit_price) in words, line
        assert line.item_ids[lay.item_key] in words, line
    for column in lay.columns:  # no header cut off or broken inside a word
        assert all(part in text.upper() for part in column.header.upper().split()), column


def test_number_and_date_formats() -> None:
    de, us, fr, courier = (LAYOUTS[n] for n in ("de_ruled_dejavu", "en_classic_ruled", "fr_ruled_serif",
                                                  "de_courier_above"))
    assert format_amount(de, Decimal("1234.5")) == "1.234,50"
    assert format_amount(us, Decimal("1234567.891")) == "1,234,567.89"
    assert format_amount(fr, Decimal("1234.5")) == "1234,50"
    assert format_quantity(us, Decimal("2.5")) == "2.5"
    assert format_quantity(us, Decimal("1000")) == "1,000"
    assert format_quantity(courier, Decimal("10")) == "10,000"
    day = dt.date(2026, 11, 27)
    shapes = {format_date(lay, day) for lay in LAYOUTS.values()}
    assert {"2026-11-27", "27.11.2026", "11/27/2026", "27 Nov 2026"} <= shapes


def test_descriptions_wrap_and_quantities_have_decimals_somewhere() -> None:
    docs = [make_document(name, seed) for name in ORDER_LAYOUTS for seed in range(3)]
    lines = [ln for d in docs for ln in d.lines]
    assert any(len(ln.description or "") > 80 for ln in lines)
    assert any(ln.quantity is not None and ln.quantity != ln.quantity.to_integral_value() for ln in lines)
    assert any(ln.unit_price is not None and ln.unit_price >= 1000 for ln in lines)
    assert len({d.number for d in docs}) == len(docs)


def test_multipage_layout_repeats_the_table_header_and_numbers_its_pages() -> None:
    doc = make_document("en_multipage", 2)
    buyer = doc.party("buyer")
    assert buyer is not None and buyer.name
    pages = _pages_text(render("en_multipage", doc))
    assert len(pages) >= 2
    for n, text in enumerate(pages, 1):
        assert "Customer Part No." in text
        assert f"Page {n} of {len(pages)}" in text
        assert buyer.name in text.splitlines()[-2]  # company info in the footer
    assert all(f"Purchase Order {doc.number} (continued)" in text for text in pages[1:])


def test_expected_keeps_only_what_the_layout_prints() -> None:
    doc = make_document("es_zebra", 1)
    want = expected(doc, "es_zebra")
    assert want.source == Source(format="pdf", channel=None)
    assert want.sender is None and want.receiver is None
    assert {p.role for p in want.parties} == {"buyer", "ship_to", "bill_to"}  # no vendor block printed
    assert "delivery_requested" not in want.dates
    assert want.totals.tax is not None and want.totals.freight is None
    assert {p.role for p in expected(make_document("en_classic_ruled", 1), "en_classic_ruled").parties} == {
        "buyer", "seller", "ship_to", "bill_to"}
    inv = expected(make_document("inv_en_ruled", 1), "inv_en_ruled")
    assert inv.kind == "invoice" and inv.number != inv.po_number
    assert all(ln.po_number == inv.po_number for ln in inv.lines)


def test_scan_is_image_only_at_300_dpi_with_every_page() -> None:
    doc = make_document("en_multipage", 1)
    doc.lines = doc.lines[:22]
    typed = render("en_multipage", doc)
    n_pages = len(_pages_text(typed))
    assert n_pages == 2
    scanned = scan(typed, 1)
    assert scanned == scan(typed, 1)
    with pdfplumber.open(io.BytesIO(scanned)) as pdf:
        assert len(pdf.pages) == n_pages
        for page in pdf.pages:
            assert not (page.extract_text() or "").strip()
            assert not page.chars
            (image,) = page.images
            width_px, _ = image["srcsize"]
            assert abs(width_px / (float(page.width) / 72) - 300) < 3
    png = Image.open(io.BytesIO(scan_image(typed, 1)))
    assert png.format == "PNG" and png.mode == "L"
    assert abs(png.size[0] - 2480) < 10 and round(png.info["dpi"][0]) == 300


def test_make_case_bundles_pdf_and_expectation() -> None:
    case = make_case("de_courier_above", 4)
    assert case.expected == expected(case.document, "de_courier_above")
    assert case.pdf == render("de_courier_above", case.document)


# ---------------------------------------------------------------------------------------------------
# score()


def _doc(**changes: object) -> Document:
    doc = Document(
        kind="order", number="PO-1", po_number="PO-1", date=dt.date(2026, 11, 27), currency="EUR",
        parties=[Party(role="buyer", name="Müller GmbH")],
        lines=[Line(line_number="1", quantity=Decimal("2.5"), uom="KG", unit_price=Decimal("1234.50"),
                    description="Hex bolt M8, zinc plated", item_ids={"buyer_part": "MAT-1"})],
        totals=Totals(amount=Decimal("3086.25")), source=Source(format="pdf"),
    )
    return doc.model_copy(update=changes)


FIELDS = 7 + 6  # header: kind number po_number date currency totals.amount buyer name; line: 5 + item id


def test_score_perfect_and_nothing() -> None:
    c = score(_doc(), _doc())
    assert (c.tp, c.fp, c.fn) == (FIELDS, 0, 0)
    assert c.precision == c.recall == c.f1 == 1.0
    c = score(_doc(), None)
    assert (c.tp, c.fp, c.fn) == (0, 0, FIELDS)
    assert c.recall == 0.0 and c.f1 == 0.0


def test_score_wrong_value_is_a_false_positive_and_a_false_negative() -> None:
    got = _doc()
    got.lines[0].quantity = Decimal("25")
    c = score(_doc(), got)
    assert (c.tp, c.fp, c.fn) == (FIELDS - 1, 1, 1)
    assert c.precision == pytest.approx(12 / 13) and c.recall == pytest.approx(12 / 13)
    assert c.by_field["line.quantity"] == [0, 1, 1]
    assert c.mismatches == ["line[1].quantity: expected 2.5, got 25"]


def test_score_missing_and_unexpected_fields() -> None:
    c = score(_doc(), _doc(currency=None))
    assert (c.tp, c.fp, c.fn) == (FIELDS - 1, 0, 1)
    got = _doc(parties=[Party(role="buyer", name="Müller GmbH"), Party(role="seller", name="Globex")])
    c = score(_doc(), got)
    assert (c.tp, c.fp, c.fn) == (FIELDS, 1, 0)
    assert c.precision == pytest.approx(13 / 14) and c.recall == 1.0
    assert c.f1 == pytest.approx(2 * (13 / 14) / (13 / 14 + 1))


def test_score_normalises_text_and_numbers() -> None:
    got = _doc(number=" po-1 ", parties=[Party(role="buyer", name="MÜLLER   GmbH")])
    got.lines[0].description = "Hex bolt M8,\n zinc  plated"
    got.lines[0].quantity = Decimal("2.500")
    got.lines[0].line_number = "0001"
    assert (score(_doc(), got).tp, score(_doc(), got).fp) == (FIELDS, 0)


def test_score_item_id_kind_must_match() -> None:
    got = _doc()
    got.lines[0].item_ids = {"vendor_part": "MAT-1"}
    c = score(_doc(), got)
    assert (c.tp, c.fp, c.fn) == (FIELDS - 1, 1, 1)


def test_score_aligns_lines_by_number_then_position() -> None:
    want = _doc()
    want.lines = [Line(line_number=str(n), quantity=Decimal(n), description=f"item {n}") for n in (10, 20, 30)]
    got = want.model_copy(deep=True)
    got.lines.reverse()
    assert score(want, got).fp == 0
    got.lines = [ln.model_copy(update={"line_number": None}) for ln in want.lines]  # no numbers read: by position
    c = score(want, got)
    assert (c.fp, c.fn) == (0, 3)
    extra = want.model_copy(deep=True)
    extra.lines.append(Line(line_number="40", quantity=Decimal(1), uom="EA"))
    c = score(want, extra)
    assert (c.fp, c.fn) == (3, 0)
    c = score(want, _doc(lines=want.lines[:1]))
    assert c.fn == 6 and c.fp == 0


def test_counts_add_up() -> None:
    total = Counts()
    total += score(_doc(), _doc())
    total += score(_doc(), None)
    assert (total.tp, total.fp, total.fn) == (FIELDS, 0, FIELDS)
    assert total.by_field["number"] == [1, 0, 1]


def test_benchmark_without_an_extractor_says_so_in_one_line(monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    import sys

    from benchmarks import pdf_accuracy

    monkeypatch.setitem(sys.modules, "parsers.pdf.extract", None)  # import fails as if not written yet
    assert pdf_accuracy.main(["--docs", "1", "--no-scanned"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "PDF extractor not available" in err
