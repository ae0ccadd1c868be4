"""The text layer of a PDF as positioned words (pdfplumber), one Word per printed word.

Words are split at spaces and at horizontal gaps wider than 1.5 pt, so adjacent table columns in a
tight layout stay apart while kerned letters stay together. Coordinates are pdfplumber's: points from
the page's top-left corner.
"""

from __future__ import annotations

import io
import logging

from parsers.pdf.model import Word

log = logging.getLogger(__name__)

X_TOLERANCE = 1.5
Y_TOLERANCE = 3.0


def read_words(data: bytes, *, max_pages: int | None = None) -> tuple[list[Word], list[tuple[float, float]]]:
    """Every word of the text layer (confidence 1.0) and each page's (width, height) in points.

    A page pdfplumber cannot read yields no words (the caller falls back to OCR for sparse text).
    """
    import pdfplumber

    words: list[Word] = []
    sizes: list[tuple[float, float]] = []
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for index, page in enumerate(pdf.pages):
            if max_pages is not None and index >= max_pages:
                break
            sizes.append((float(page.width), float(page.height)))
            try:
                raw = page.extract_words(x_tolerance=X_TOLERANCE, y_tolerance=Y_TOLERANCE,
                                         keep_blank_chars=False, use_text_flow=False)
            except Exception:  # a broken content stream on one page must not lose the others
                log.warning("page %d: text layer unreadable", index + 1, exc_info=True)
                continue
            for w in raw:
                if not w.get("upright", True):
                    continue  # rotated stamps and margin notes are not part of the order
                text = str(w["text"]).strip()
                if text:
                    words.append(Word(text, index + 1, float(w["x0"]), float(w["top"]),
                                      float(w["x1"]), float(w["bottom"])))
    return words, sizes
