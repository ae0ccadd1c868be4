"""OCR of scanned purchase orders: a typed PO is rendered to an image-only PDF, skewed like a scanner
would, and must come back as the same words at the same places."""

from __future__ import annotations

import io
import re

import numpy as np
import pdfplumber
import pypdfium2 as pdfium
import pytest
from fpdf import FPDF
from PIL import Image

from parsers.pdf import ocr
from parsers.pdf.model import Word
from parsers.pdf.ocr import (
    OcrUnavailable,
    deskew,
    estimate_skew,
    ocr_image_result,
    ocr_pdf,
    ocr_pdf_result,
    remove_gridlines,
    render_page_png,
)
from parsers.pdf.safety import PdfLimits, preflight, preflight_image

MM = 72 / 25.4
COLUMNS = [(56, 40, "Line"), (96, 90, "Item"), (186, 170, "Description"), (356, 50, "Qty"), (406, 40, "Unit"),
           (446, 60, "Price"), (506, 60, "Amount")]
ROWS = [("1", "WID-1001", "Steel widget 40mm", "12", "EA", "4.50", "54.00"),
        ("2", "BLT-2002", "Hex bolt M8x30", "250", "EA", "0.12", "30.00"),
        ("3", "NUT-3003", "Lock nut M8", "250", "EA", "0.08", "20.00"),
        ("4", "GSK-4004", "Rubber gasket 55mm", "40", "EA", "1.25", "50.00")]


def typed_po() -> bytes:
    """A one-page PO with header fields and a ruled line table, as a customer's system prints it."""
    pdf = FPDF(format="A4", unit="pt")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 18)
    pdf.text(56, 80, "PURCHASE ORDER")
    pdf.set_font("Helvetica", size=11)
    pdf.text(56, 120, "PO Number: 4711-2024")
    pdf.text(56, 138, "Order Date: 2024-03-15")
    pdf.text(330, 120, "Buyer: Acme Widgets GmbH")
    pdf.text(330, 138, "Hauptstrasse 12, 10115 Berlin")
    y = 180.0
    pdf.set_line_width(1)
    for row in [tuple(c[2] for c in COLUMNS), *ROWS]:
        for (x, w, _), text in zip(COLUMNS, row, strict=True):
            pdf.rect(x, y, w, 22)
            pdf.text(x + 4, y + 15, text)
        y += 22
    pdf.text(406, y + 30, "Total: 154.00 EUR")
    return bytes(pdf.output())


def render(pdf_bytes: bytes, dpi: int = 300) -> list[Image.Image]:
    doc = pdfium.PdfDocument(pdf_bytes)
    try:
        return [doc[i].render(scale=dpi / 72, grayscale=True).to_pil() for i in range(len(doc))]
    finally:
        doc.close()


def scanned(pdf_bytes: bytes, angle: float, dpi: int = 300, extra_pages: int = 0) -> bytes:
    """The PDF as a scanner returns it: page images only, rotated by `angle` degrees counter-clockwise."""
    pages = [img.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=255) for img in render(pdf_bytes, dpi)]
    pages += [Image.new("L", pages[0].size, 255) for _ in range(extra_pages)]
    buf = io.BytesIO()
    pages[0].save(buf, "PDF", resolution=dpi, save_all=True, append_images=pages[1:])
    return buf.getvalue()


@pytest.fixture(scope="module")
def typed() -> bytes:
    return typed_po()


@pytest.fixture(scope="module")
def scan(typed: bytes) -> bytes:
    return scanned(typed, 1.2)


def test_a_skewed_scan_reads_back(typed: bytes, scan: bytes) -> None:
    assert preflight(scan, PdfLimits()) == []
    with pdfplumber.open(io.BytesIO(scan)) as pdf:
        assert pdf.pages[0].extract_words() == []  # really image-only
    result = ocr_pdf_result(scan)
    words, sizes = result.as_tuple()
    assert sizes == [pytest.approx((595.28, 841.89), abs=1)]
    assert abs(result.pages[0].skew - 1.2) <= 0.1
    text = " ".join(w.text for w in words)
    for expected in ("PURCHASE", "4711-2024", "2024-03-15", "Acme", "Berlin", "WID-1001", "BLT-2002",
                     "Rubber", "gasket", "250", "0.08", "154.00", "EUR"):
        assert expected in text, expected
    assert all(0.0 <= w.confidence <= 1.0 for w in words)
    assert sum(w.confidence for w in words) / len(words) > 0.85
    assert all(w.page == 1 and w.x0 < w.x1 and w.top < w.bottom for w in words)

    # Positions: every OCR word that is printed once on the page sits within 3 mm of where the text layer
    # of the original puts it (centres compared: the text layer's box is the font's, OCR's the ink's).
    with pdfplumber.open(io.BytesIO(typed)) as pdf:
        original = pdf.pages[0].extract_words()
    by_text: dict[str, list[dict[str, float]]] = {}
    for ow in original:
        by_text.setdefault(ow["text"], []).append(ow)
    compared = 0
    for w in words:
        matches = by_text.get(w.text, [])
        if len(matches) != 1:
            continue
        o = matches[0]
        assert abs((w.x0 + w.x1) / 2 - (o["x0"] + o["x1"]) / 2) < 3 * MM, w
        assert abs((w.top + w.bottom) / 2 - (o["top"] + o["bottom"]) / 2) < 3 * MM, w
        compared += 1
    assert compared >= 30


def test_table_rows_keep_their_cells(scan: bytes) -> None:
    words, _ = ocr_pdf(scan)
    lines: dict[int, list[str]] = {}
    for w in words:
        lines.setdefault(round((w.top + w.bottom) / 2 / 6), []).append(w.text)
    joined = [" ".join(v) for v in lines.values()]
    assert any(re.search(r"2 BLT-2002 Hex bolt M8x30 250 EA 0\.12 30\.00", line) for line in joined), joined
    assert not any("|" in w.text for w in words)  # rules were removed, not read as bars


@pytest.mark.parametrize("angle", [-2.5, 0.7, 1.5, 4.0])
def test_deskew_finds_the_angle(typed: bytes, angle: float) -> None:
    page = render(typed)[0].rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=255)
    assert abs(estimate_skew(page) - angle) <= 0.1
    straight, found = deskew(page)
    assert straight.size == page.size
    assert abs(estimate_skew(straight)) <= 0.1
    assert abs(found - angle) <= 0.1


def test_deskew_leaves_a_straight_or_blank_page_alone(typed: bytes) -> None:
    page = render(typed)[0]
    assert deskew(page) == (page, 0.0)
    blank = Image.new("L", (800, 1100), 255)
    assert deskew(blank)[1] == 0.0


def test_gridline_removal_keeps_the_text() -> None:
    img = Image.new("L", (1800, 900), 255)
    from PIL import ImageDraw, ImageFont

    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=42)
    for x in range(50, 1800, 400):
        draw.line([(x, 50), (x, 850)], fill=0, width=4)
    for y in range(50, 900, 100):
        draw.line([(50, y), (1650, y)], fill=0, width=3)
    cells = ["Qty", "Price", "Amount", "Total"]
    for i, word in enumerate(cells):
        draw.text((70 + 400 * i, 75), word, fill=0, font=font)
        draw.text((70 + 400 * i, 175), f"{(i + 1) * 12.5:.2f}", fill=0, font=font)
    clean = remove_gridlines(img)
    arr = np.asarray(clean)
    assert arr[50:52, 60:1600].min() > 200  # a horizontal rule is gone
    assert arr[300:800, 449:452].min() > 200  # and a vertical one
    ink_before = (np.asarray(img)[75:140, 70:300] < 128).sum()
    ink_after = (arr[75:140, 70:300] < 128).sum()
    assert ink_after == ink_before  # the word "Qty" is untouched
    words = ocr._tesseract_words(clean, 1, 72 / 300, "eng", 20)
    read = [w.text for w in words]
    for word in [*cells, "12.50", "50.00"]:
        assert word in read, read


def test_image_scans_multi_page_tiff(typed: bytes) -> None:
    page = render(typed, dpi=200)[0].rotate(-1.0, resample=Image.Resampling.BICUBIC, fillcolor=255)
    blank = Image.new("L", page.size, 255)
    buf = io.BytesIO()
    page.save(buf, "TIFF", dpi=(200, 200), save_all=True, append_images=[blank], compression="tiff_lzw")
    data = buf.getvalue()
    assert preflight_image(data, PdfLimits()) == []
    result = ocr_image_result(data, workers=2)
    assert result.page_sizes == [pytest.approx((595, 842), abs=2)] * 2
    assert result.pages[0].dpi == 300  # a 200-dpi scan is read at 300
    assert abs(result.pages[0].skew + 1.0) <= 0.1
    text = " ".join(w.text for w in result.words if w.page == 1)
    assert "4711-2024" in text and "GSK-4004" in text
    assert [i.code for i in result.issues] == ["OCR_NO_TEXT"]  # the blank second page


def test_pages_over_the_limit_are_reported(typed: bytes) -> None:
    data = scanned(typed, 0.0, dpi=150, extra_pages=2)
    result = ocr_pdf_result(data, limits=PdfLimits(max_ocr_pages=1))
    assert len(result.page_sizes) == 3
    assert [p.page for p in result.pages] == [1]
    assert {w.page for w in result.words} == {1}
    skipped = [i for i in result.issues if i.code == "OCR_PAGES_SKIPPED"]
    assert skipped and skipped[0].is_error and "pages 2-3" in skipped[0].message


def test_a_stuck_page_times_out(scan: bytes) -> None:
    result = ocr_pdf_result(scan, limits=PdfLimits(ocr_seconds_per_page=0.01))
    assert result.words == []
    assert [i.code for i in result.issues] == ["OCR_TIMEOUT"]


def test_an_upside_down_scan_is_turned(typed: bytes) -> None:
    data = scanned(typed, 180.0, dpi=200)
    result = ocr_pdf_result(data, limits=PdfLimits(dpi=200))  # 200 dpi: three Tesseract runs, kept cheap
    assert result.pages[0].rotation == 180
    text = " ".join(w.text for w in result.words)
    assert "4711-2024" in text and "WID-1001" in text
    assert "OCR_PAGE_TURNED" in [i.code for i in result.issues]


def test_render_page_png(typed: bytes, scan: bytes) -> None:
    for data in (typed, scan):
        png = render_page_png(data, 1, dpi=100)
        img = Image.open(io.BytesIO(png))
        assert img.format == "PNG" and abs(img.width - 827) <= 2 and abs(img.height - 1169) <= 2
    buf = io.BytesIO()
    Image.new("L", (1700, 2200), 255).save(buf, "PNG", dpi=(200, 200))
    img = Image.open(io.BytesIO(render_page_png(buf.getvalue(), 1, dpi=100, skew=1.2)))
    assert img.size == (850, 1100)


def test_missing_tesseract_says_how_to_fix(monkeypatch: pytest.MonkeyPatch, scan: bytes) -> None:
    import pytesseract

    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", "/nonexistent/tesseract")
    ocr._languages.cache_clear()
    try:
        with pytest.raises(OcrUnavailable, match="apt-get install tesseract-ocr"):
            ocr_pdf(scan)
    finally:
        ocr._languages.cache_clear()


def test_missing_language_is_a_warning(scan: bytes) -> None:
    lang, issues = ocr._usable_lang("eng+xyz")
    assert lang == "eng" and [i.code for i in issues] == ["OCR_LANGUAGE_MISSING"]
    with pytest.raises(OcrUnavailable):
        ocr._usable_lang("xyz")


def _words(*texts: str) -> list[Word]:
    return [Word(text=t, page=1, x0=0, top=0, x1=1, bottom=1) for t in texts]


def test_page_language_from_typical_words() -> None:
    """A page's head tells its language, so accents are read with that language's data."""
    langs = ["eng", "deu", "fra", "spa"]
    assert ocr.page_language(_words("Bestellung", "Lieferadresse", "Rechnungsadresse", "Krüger"), langs) == "deu"
    assert ocr.page_language(_words("PEDIDO", "DE", "COMPRA", "Dirección", "de", "entrega"), langs) == "spa"
    assert ocr.page_language(_words("Purchase", "Order", "Deliver", "to"), langs) == "eng"
    assert ocr.page_language(_words("Acme", "GmbH"), langs) is None  # too little to go on
    assert ocr.page_language(_words("Bestellung", "Lieferant"), ["eng", "fra"]) is None  # not installed / asked


def test_blank_row_falls_between_text_lines() -> None:
    img = Image.new("L", (200, 400), 255)
    px = img.load()
    assert px is not None
    for y in list(range(80, 100)) + list(range(104, 130)):  # ink, a 4-row gap, ink
        for x in range(20, 180):
            px[x, y] = 0
    cut = ocr._blank_row(img, 0.2)
    assert cut is not None and cut >= 130


def test_the_first_page_language_serves_the_later_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Read one after another, later pages skip the head read once a page has told the language."""
    calls: list[tuple[str, bool]] = []

    def fake(img: Image.Image, number: int, dpi: float, *, limits: PdfLimits, lang: str, told: bool = False
             ) -> tuple[list[Word], ocr.OcrPage, list[object]]:
        calls.append((lang, told))
        return [], ocr.OcrPage(page=number, width=1, height=1, dpi=dpi, language="deu", told=True), []

    monkeypatch.setattr(ocr, "ocr_page_image", fake)
    img = Image.new("L", (10, 10), 255)
    list(ocr._read_pages([(1, img, 300.0), (2, img, 300.0)], PdfLimits(), "eng+deu", workers=1))
    assert calls == [("eng+deu", False), ("deu", True)]
