"""One emailed PDF or scan in, one Extraction out: safety first, embedded XML first, then the text layer,
then OCR when the text layer is missing or unusable.

The OCR, safety and embedded-XML modules are imported lazily so that a missing optional piece
(Tesseract not installed, say) degrades to an issue on the document instead of an import error.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from parsers.issues import Issue, error, warning
from parsers.pdf.layout import analyse
from parsers.pdf.model import Extraction, Hint, Method, Word

if TYPE_CHECKING:
    from parsers.pdf.safety import PdfLimits

log = logging.getLogger(__name__)

MIN_WORDS_PER_PAGE = 20  # fewer than this on average: a scan with a stray text line, read it by OCR
MAX_UNREADABLE_SHARE = 0.3  # more glyphs than this without a Unicode mapping: the text layer is garbage
_CID = re.compile(r"\(cid:\d+\)")


def extract_pdf(data: bytes, *, hints: Sequence[Hint] = (), limits: PdfLimits | None = None,
                force_ocr: bool = False) -> Extraction:
    """Everything a PDF says, as fields and lines with confidences (see parsers.pdf.layout)."""
    limits = _limits(limits)
    issues: list[Issue] = []
    if limits is not None:
        from parsers.pdf.safety import preflight

        found = preflight(data, limits)
        if any(i.is_error for i in found):
            return Extraction(method="text", kind=None, page_count=0, issues=found)
        issues.extend(found)
    else:
        issues.append(warning("PDF_PREFLIGHT_UNAVAILABLE", "The PDF safety checks are not installed; the file "
                              "was read without them."))

    xml: tuple[bytes, str] | None = None
    try:
        from parsers.pdf.embedded import find_embedded_xml

        xml = find_embedded_xml(data)
    except ImportError:
        pass
    except Exception as exc:  # a broken attachment must not stop the text reading
        log.warning("embedded XML lookup failed", exc_info=True)
        issues.append(warning("PDF_EMBEDDED_XML_UNREADABLE", f"The PDF's embedded XML could not be read ({exc}); "
                              "the printed text was used instead."))

    max_pages = getattr(limits, "max_pages", None)
    words: list[Word] = []
    sizes: list[tuple[float, float]] = []
    method: Method = "text"
    try:
        words, sizes = _read_text(data, max_pages)
    except Exception as exc:
        log.warning("text layer unreadable", exc_info=True)
        issues.append(warning("PDF_TEXT_UNREADABLE", f"The PDF's text could not be read ({type(exc).__name__}); "
                              "trying OCR."))
    if force_ocr or _needs_ocr(words, sizes):
        ocr_words, ocr_sizes, ocr_issues, ocr_pages = _ocr(data, limits, image=False)
        if words and not ocr_words:  # the thin text layer is still something to go on
            ocr_issues = [warning(i.code, i.message, i.location) for i in ocr_issues]
        issues.extend(ocr_issues)
        if ocr_words or not words:
            words, sizes, method = ocr_words, ocr_sizes or sizes, "ocr"
    ext = analyse(words, sizes, hints=hints, method=method)
    if method == "ocr":
        ext.ocr_pages = ocr_pages
    if xml is not None:
        ext.xml, ext.xml_flavor = xml
        ext.method = "xml"
    ext.issues = issues + ext.issues
    return ext


def extract_image(data: bytes, *, hints: Sequence[Hint] = (), limits: PdfLimits | None = None) -> Extraction:
    """A scanned page sent as PNG, JPEG or TIFF: OCR, then the same layout analysis as a PDF."""
    limits = _limits(limits)
    issues: list[Issue] = []
    if limits is not None:
        from parsers.pdf.safety import preflight_image

        found = preflight_image(data, limits)
        if any(i.is_error for i in found):
            return Extraction(method="ocr", kind=None, page_count=0, issues=found)
        issues.extend(found)
    words, sizes, ocr_issues, ocr_pages = _ocr(data, limits, image=True)
    issues.extend(ocr_issues)
    ext = analyse(words, sizes, hints=hints, method="ocr")
    ext.ocr_pages = ocr_pages
    ext.issues = issues + ext.issues
    return ext


def _limits(limits: PdfLimits | None) -> PdfLimits | None:
    if limits is not None:
        return limits
    try:
        from parsers.pdf.safety import PdfLimits
    except ImportError:
        return None
    return PdfLimits()


def _read_text(data: bytes, max_pages: int | None) -> tuple[list[Word], list[tuple[float, float]]]:
    from parsers.pdf.text import read_words

    return read_words(data, max_pages=max_pages)


def _needs_ocr(words: list[Word], sizes: list[tuple[float, float]]) -> bool:
    """A text layer too thin (a scan with a header line) or mostly unmapped glyphs is read by OCR instead."""
    pages = max(len(sizes), 1)
    if len(words) < MIN_WORDS_PER_PAGE * pages:
        return True
    unreadable = sum(1 for w in words if _CID.search(w.text) or "\ufffd" in w.text)
    return unreadable > MAX_UNREADABLE_SHARE * len(words)


def _ocr(data: bytes, limits: PdfLimits | None, *, image: bool) -> tuple[list[Word], list[tuple[float, float]],
                                                                           list[Issue], list[dict[str, Any]]]:
    """OCR with its issues (pages over the limit, timeouts, low confidence) and what it did per page."""
    try:
        ocr = importlib.import_module("parsers.pdf.ocr")
    except ImportError as exc:
        return [], [], [error("OCR_UNAVAILABLE", f"This document needs OCR (a scan) but OCR is not available "
                              f"({exc}); a person has to read it.")], []
    try:
        result = ocr.ocr_image_result(data, limits=limits) if image else ocr.ocr_pdf_result(data, limits=limits)
    except Exception as exc:
        log.warning("OCR failed", exc_info=True)
        return [], [], [error("OCR_FAILED", f"OCR could not read the scan ({type(exc).__name__}: {exc}); a person "
                              "has to read it.")], []
    pages = [dataclasses.asdict(page) for page in result.pages]
    return list(result.words), list(result.page_sizes), list(result.issues), pages
