"""extract_pdf / extract_image end to end: text layer, OCR fallback, preflight, embedded XML, hints."""

from __future__ import annotations

import io
import shutil
import time
from decimal import Decimal

import pytest

from mappings.pdf.map_pdf import to_document
from parsers.pdf import extract as extract_module
from parsers.pdf.extract import extract_image, extract_pdf
from parsers.pdf.model import Hint
from tests.test_pdf_layout import DE, EN, Po, build


def test_typed_pdf_to_document_fast() -> None:
    po = Po(tax=Decimal("10.00"))
    data = build(po, ruled=True)
    extract_pdf(data)  # warm-up (imports)
    started = time.perf_counter()
    ext = extract_pdf(data)
    assert time.perf_counter() - started < 0.5
    assert ext.method == "text" and ext.page_count == 1
    doc, issues = to_document(ext, channel="email")
    assert doc is not None and [i for i in issues if i.is_error] == []
    assert doc.number == po.number and doc.totals.amount == po.total and len(doc.lines) == 3


def test_german_two_page_order() -> None:
    lines = [(f"A-{i}", f"Teil {i}", i, Decimal("1234.50")) for i in range(1, 41)]
    po = Po(number="4500012345", date="05.03.2024", currency="EUR", lines=lines)
    doc, issues = to_document(extract_pdf(build(po, words=DE, fmt="comma", rows_per_page=25)))
    assert doc is not None and [i for i in issues if i.is_error] == []
    assert len(doc.lines) == 40 and doc.totals.amount == po.total
    assert doc.lines[-1].unit_price == Decimal("1234.50")


def test_hint_label_reaches_the_layout() -> None:
    po = Po()
    data = build(po, words={**EN, "po": "Kontrakt:"})
    assert "po_number" not in extract_pdf(data).fields
    ext = extract_pdf(data, hints=[Hint("po_number", label="Kontrakt")])
    assert ext.fields["po_number"].text == po.number


def test_unsafe_or_broken_input_gives_issues_only() -> None:
    ext = extract_pdf(b"this is not a pdf at all")
    assert ext.issues and any(i.is_error for i in ext.issues)
    assert ext.fields == {} and ext.lines == []


def test_embedded_xml_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    import parsers.pdf.embedded as embedded

    monkeypatch.setattr(embedded, "find_embedded_xml", lambda data: (b"<Invoice/>", "factur-x"))
    ext = extract_pdf(build(Po()))
    assert ext.method == "xml" and ext.xml == b"<Invoice/>" and ext.xml_flavor == "factur-x"
    assert ext.fields["po_number"].text == "PO-4711"  # the printed text is still read for the inbox


def test_missing_ocr_degrades_to_an_issue(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_ocr(data: bytes, limits: object, *, image: bool) -> tuple[list[object], list[object], list[object],
                                                                      list[object]]:
        from parsers.issues import error

        return [], [], [error("OCR_UNAVAILABLE", "OCR is not available")], []

    monkeypatch.setattr(extract_module, "_ocr", no_ocr)
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.text(20, 20, "Scanned by ACME")
    ext = extract_pdf(bytes(pdf.output()))
    # a thin text layer: OCR was wanted, is missing, and the few words are still analysed
    assert any(i.code == "OCR_UNAVAILABLE" for i in ext.issues)
    assert ext.method == "text" and ext.words


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="needs Tesseract")
def test_scanned_image_goes_through_ocr() -> None:
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("L", (1240, 500), 255)
    draw = ImageDraw.Draw(img)
    try:
        font = ImageFont.truetype("DejaVuSans.ttf", 30)
    except OSError:
        font = ImageFont.load_default(size=30)
    rows = [("PO Number: 778899", 40), ("Item", 160), ("AB-1", 220), ("CD-2", 280)]
    for text, y in rows:
        draw.text((60, y), text, fill=0, font=font)
    for x, head, vals in ((360, "Description", ("Bolt", "Nut")), (700, "Qty", ("10", "20")),
                          (860, "Price", ("1.50", "2.00")), (1040, "Amount", ("15.00", "40.00"))):
        draw.text((x, 160), head, fill=0, font=font)
        for k, v in enumerate(vals):
            draw.text((x, 220 + 60 * k), v, fill=0, font=font)
    buf = io.BytesIO()
    img.save(buf, format="PNG", dpi=(150, 150))
    ext = extract_image(buf.getvalue())
    assert ext.method == "ocr", ext.issues
    assert ext.fields["po_number"].text == "778899", [w.text for w in ext.words]
    assert [r.cells["quantity"].text for r in ext.lines] == ["10", "20"]
    assert all(0 < r.cells["quantity"].confidence <= 1 for r in ext.lines)


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="needs Tesseract")
def test_a_scan_longer_than_the_ocr_limit_is_an_error_and_each_read_page_is_described() -> None:
    import dataclasses

    from parsers.pdf.safety import PdfLimits
    from tests import pdf_factory

    doc = pdf_factory.make_order(7, "en_multipage")
    scanned = pdf_factory.scan(pdf_factory.render("en_multipage", doc), 7)
    ext = extract_pdf(scanned, limits=dataclasses.replace(PdfLimits(), max_ocr_pages=1))
    assert ext.method == "ocr" and ext.page_count >= 2
    skipped = [i for i in ext.issues if i.code == "OCR_PAGES_SKIPPED"]
    assert skipped and skipped[0].is_error  # an order missing pages is incomplete: a person must look
    assert [p["page"] for p in ext.ocr_pages] == [1]
    assert abs(ext.ocr_pages[0]["skew"]) <= 2.0 and ext.ocr_pages[0]["rotation"] == 0
