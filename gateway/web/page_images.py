"""Page images for the inbox: a PDF page or a scan as a PNG at screen resolution.

Rendering runs PDFium (or Pillow) on bytes a stranger sent, so it happens in an isolated child process
with a time and memory limit, as extraction does; the web process only ever handles the PNG that comes
back. Pages are small and items never change, so the last few renders are kept in memory.
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict

from gateway.isolation import Limits, run_isolated

DPI = 100
RENDER_LIMITS = Limits(seconds=30.0, memory_bytes=1024 * 1024 * 1024)
CACHE_SIZE = 48

_cache: OrderedDict[tuple[str, int, int], bytes] = OrderedDict()
_lock = threading.Lock()


def render_png(data: bytes, page: int, dpi: int = DPI, skew: float = 0.0, rotation: int = 0) -> bytes:
    """One page (1-based) as PNG: the OCR module's renderer when installed, else PDFium / Pillow directly."""
    try:
        from parsers.pdf.ocr import render_page_png
    except ImportError:
        return _fallback(data, page, dpi)
    return render_page_png(data, page, dpi=dpi, skew=skew, rotation=rotation)


def _fallback(data: bytes, page: int, dpi: int) -> bytes:
    from PIL import Image

    if data[:5] == b"%PDF-" or b"%PDF-" in data[:1024]:
        import pypdfium2 as pdfium

        pdf = pdfium.PdfDocument(data)
        try:
            img = pdf[page - 1].render(scale=dpi / 72).to_pil()
        finally:
            pdf.close()
    else:
        source = Image.open(io.BytesIO(data))
        source.seek(page - 1)
        img = source.convert("RGB")
        img.thumbnail((1400, 1400))
    out = io.BytesIO()
    img.convert("RGB").save(out, format="PNG", optimize=True)
    return out.getvalue()


def page_png(item_id: str, data: bytes, page: int, dpi: int = DPI, skew: float = 0.0, rotation: int = 0) -> bytes:
    """The page's PNG, rendered in isolation once and then served from memory (raises IsolationError)."""
    key = (item_id, page, dpi)
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    png: bytes = run_isolated(render_png, data, page, dpi, skew, rotation, limits=RENDER_LIMITS)
    with _lock:
        _cache[key] = png
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return png
