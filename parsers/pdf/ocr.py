"""OCR for scanned purchase orders: PDF pages or PNG/JPEG/TIFF scans in, positioned words out.

Each page is rendered at 300 dpi in grey (PDFium), straightened (the skew is estimated from the
projection profile of a downscaled, binarised copy: text lines and table rules give the sharpest
horizontal profile when they are level), cleared of table rules (long dark runs would otherwise be
read as "|", "_" or glue cells together), and read by Tesseract word by word.

Coordinates of OCR words are PDF points from the top-left corner of the *straightened* page: the
page is rotated about its centre with its size kept, so for the few degrees a scanner skews a sheet
the words sit where they were printed. `OcrPage.skew` (and `rotation`, for a page turned by 90/180/270
degrees) records what was done, and `render_page_png(..., skew=, rotation=)` draws the page in that
same frame for the inbox, so word boxes land on the words.

Tesseract runs as a subprocess with OMP_THREAD_LIMIT=1: its OpenMP threads only add contention on
a small machine, and parallelism belongs to the gateway's workers (one page per core).
"""

from __future__ import annotations

import io
import math
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
from PIL import Image

from parsers.issues import Issue, error, warning
from parsers.pdf.model import Word
from parsers.pdf.safety import PdfLimits

# Tesseract's page segmentation, measured on a ruled 45-row PO page (495 expected tokens): psm 6 ("one
# uniform block") found 490 and reads each table row as one line; psm 4 found 440 (it dropped the
# narrow line-number column) and psm 11 484, at the same or more CPU. Language: "eng" alone found 490,
# "eng+deu" 488 (deu sometimes drops the decimal point of "0.25") at ~25 % more CPU.
PSM = 6
# English and German, French and Spanish together: on 22 binarised scanned pages the four read 98.2 % of
# tokens right (eng+deu 97.6 %) and 72 % of accented words (58 %: "García" came back as "Garcia"), at
# no measurable extra time per page.
LANGUAGES = "eng+deu+fra+spa"
# The top of a page (title, numbers, addresses) is read first to tell the page's language; a page in one
# of the languages other than the first is then read again with that language's data alone. Mixed, the
# four read "Martínez" as "Martinez" and "Krüger" as "Kruger" (party names); alone, 60 of 62 accented
# words on 15 scanned de/es/fr pages came back right (46 mixed). One language is also ~0.3 s faster.
HEAD_SHARE = 0.22
LOW_CONFIDENCE = 0.55  # mean word confidence under which a page is suspect (upside down, photo, fax)
MAX_SKEW = 8.0  # degrees; scanners and phone photos of a sheet stay well inside this


class OcrUnavailable(RuntimeError):
    """Tesseract (or the language data asked for) is not installed: OCR can not run at all."""


@dataclass
class OcrPage:
    """What OCR did with one page: for the inbox (draw the page as OCR saw it) and for measurements."""

    page: int  # 1-based
    width: float  # points, in the straightened frame
    height: float
    dpi: float  # the resolution Tesseract read at
    skew: float = 0.0  # degrees, counter-clockwise: the page was rotated by -skew to straighten it
    rotation: int = 0  # 0, 90, 180, 270: turned clockwise by this much first (from Tesseract's OSD)
    words: int = 0
    language: str = ""  # the Tesseract languages the page was read with
    told: bool = False  # the page's head told its language (later pages of the document need not look)
    confidence: float = 0.0  # mean word confidence, 0..1
    seconds: float = 0.0


@dataclass
class OcrResult:
    words: list[Word] = field(default_factory=list)
    page_sizes: list[tuple[float, float]] = field(default_factory=list)  # every page, read or not
    pages: list[OcrPage] = field(default_factory=list)  # the pages read
    issues: list[Issue] = field(default_factory=list)

    def as_tuple(self) -> tuple[list[Word], list[tuple[float, float]]]:
        return self.words, self.page_sizes


# --- image processing ---------------------------------------------------------------------------------

def _otsu(gray: np.ndarray) -> int:
    """The grey level that best splits ink from paper (Otsu's method)."""
    hist = np.bincount(gray.ravel(), minlength=256).astype(np.float64)
    total = hist.sum()
    if total == 0:
        return 128
    levels = np.arange(256, dtype=np.float64)
    w0 = np.cumsum(hist)
    m0 = np.cumsum(hist * levels)
    w1 = total - w0
    mean_all = m0[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mean_all * w0 / total - m0) ** 2 / (w0 * w1)
    between = np.nan_to_num(between)
    return int(np.argmax(between))


def estimate_skew(img: Image.Image, max_angle: float = MAX_SKEW) -> float:
    """The page's skew in degrees, counter-clockwise positive (Pillow's sense of rotate()).

    Works on a copy about 1000 px wide. For each candidate angle the dark pixels are projected onto
    the axis perpendicular to it; level text lines make the sharpest profile (largest sum of squared
    row counts). A coarse pass over +-max_angle, then a fine one around the best.
    """
    gray = img.convert("L")
    factor = max(1, round(gray.width / 1000))
    small = np.asarray(gray.reduce(factor) if factor > 1 else gray)
    dark = small < min(_otsu(small), 200)
    ys, xs = np.nonzero(dark)
    if len(ys) < 100 or dark.mean() > 0.5:
        return 0.0
    if len(ys) > 300_000:
        pick = np.random.default_rng(0).choice(len(ys), 300_000, replace=False)
        ys, xs = ys[pick], xs[pick]
    yf = ys.astype(np.float64)
    xf = xs.astype(np.float64) - small.shape[1] / 2

    def score(angle: float) -> float:
        # A line skewed counter-clockwise by `angle` rises to the right: y + x*tan(angle) is constant on it.
        proj = np.round(yf + xf * math.tan(math.radians(angle))).astype(np.int64)
        proj -= proj.min()
        counts = np.bincount(proj)
        return float(np.dot(counts, counts))

    coarse = np.arange(-max_angle, max_angle + 1e-9, 0.25)
    best = max(coarse, key=score)
    fine = np.arange(best - 0.25, best + 0.25 + 1e-9, 0.02)
    scores = np.array([score(a) for a in fine])
    # Near the true angle several candidates put every pixel in the same row: take the plateau's middle.
    top = fine[scores >= scores.max()]
    return round(float(top.mean()), 2) + 0.0


def deskew(img: Image.Image, max_angle: float = MAX_SKEW) -> tuple[Image.Image, float]:
    """The page straightened, and the skew found (degrees, counter-clockwise positive).

    Rotated about the centre with the size kept and white fill, so points stay on the page's frame.
    """
    angle = estimate_skew(img, max_angle)
    if abs(angle) < 0.05:
        return img, 0.0
    fill: Any = 255 if img.mode == "L" else (255,) * len(img.getbands())
    # Bicubic, not bilinear: bilinear saves 0.13 s a page but cost Tesseract an 18 pt bold title line.
    return img.rotate(-angle, resample=Image.Resampling.BICUBIC, fillcolor=fill), angle


def _long_runs(dark: np.ndarray, length: int, axis: int) -> np.ndarray:
    """Pixels on a run of at least `length` dark pixels along `axis` (1: horizontal, 0: vertical).

    Two running sums along the axis, all by slicing (no transposes, no gathers): where a window of
    `length` starting at a pixel is all dark, then every pixel such a window covers.
    """
    n = dark.shape[axis]
    if n < length:
        return np.zeros_like(dark)
    dtype = np.int16 if n < 32_000 else np.int32

    def cut(a: np.ndarray, start: int | None, stop: int | None) -> np.ndarray:
        index: list[slice] = [slice(None), slice(None)]
        index[axis] = slice(start, stop)
        return a[tuple(index)]

    shape = list(dark.shape)
    shape[axis] = n + 1
    csum = np.zeros(shape, dtype=dtype)
    np.cumsum(dark, axis=axis, dtype=dtype, out=cut(csum, 1, None))
    starts = np.zeros(shape, dtype=dtype)  # starts[i + 1]: the window beginning at i is all dark
    cut(starts, 1, n - length + 2)[...] = (cut(csum, length, None) - cut(csum, None, n - length + 1)) == length
    np.cumsum(starts, axis=axis, dtype=dtype, out=starts)
    covered = cut(starts, 1, None).copy()  # windows starting at or before i ...
    cut(covered, length - 1, None)[...] -= cut(starts, None, n - length + 1)  # ... and after i - length
    return covered > 0


def binarise(img: Image.Image) -> Image.Image:
    """Near-black ink on white paper: the page divided by its own paper tone, then stretched about
    Otsu's level.

    Scans come with grey paper, uneven light, shaded rows and sensor noise; Tesseract's own global
    threshold then smears small marks (a decimal point read as "7", "1.72" as "172"). The paper tone is
    the local maximum over ~1/8 in at 1/8 scale, which follows lighting gradients and shaded table rows
    but not strokes. Everything lighter than just above Otsu's level becomes white; below it a short
    ramp keeps the ink's grey edges (a hard 0/255 threshold read as well, but Tesseract then dropped an
    18 pt bold title line). On the 33 scanned benchmark POs field F1 rose from 0.914 to 0.972."""
    from PIL import ImageFilter

    gray = img.convert("L")
    factor = 8 if min(gray.size) >= 400 else 1
    small = gray.reduce(factor) if factor > 1 else gray
    background = small.filter(ImageFilter.MaxFilter(5)).resize(gray.size, Image.Resampling.BILINEAR)
    norm = np.asarray(gray, dtype=np.float32)
    bg = np.maximum(np.asarray(background, dtype=np.float32), 1.0)
    np.divide(norm, bg, out=norm)
    norm *= 255.0
    np.clip(norm, 0, 255, out=norm)
    level = _otsu(norm[::2, ::2].astype(np.uint8))
    low, high = max(0.0, level - 60.0), min(255.0, level + 5.0)
    norm -= low
    norm *= 255.0 / (high - low)
    np.clip(norm, 0, 255, out=norm)
    return Image.fromarray(norm.astype(np.uint8), mode="L")


def remove_gridlines(img: Image.Image, dpi: float = 300.0) -> Image.Image:
    """The page with table rules painted white: dark runs longer than a word is wide (horizontal,
    0.4 in) or taller than a heading letter (vertical, 0.5 in). Text crossing a rule keeps its strokes
    except where they overlap the rule itself."""
    gray = img.convert("L")
    arr = np.asarray(gray)
    dark = arr <= min(_otsu(arr[::2, ::2]), 200)  # <=: on a binary page Otsu's level is 0
    # Bridge one-pixel breaks a scanner leaves in a rule, so a broken rule still counts as one run.
    bridged_h = dark.copy()
    bridged_h[:, 1:-1] |= dark[:, :-2] & dark[:, 2:]
    bridged_v = dark.copy()
    bridged_v[1:-1, :] |= dark[:-2, :] & dark[2:, :]
    horizontal = _long_runs(bridged_h, max(20, int(dpi * 0.4)), axis=1)
    vertical = _long_runs(bridged_v, max(20, int(dpi * 0.5)), axis=0)
    # Widen by one pixel across the rule: the anti-aliased fringe of a rule is lighter than the threshold.
    mask = horizontal.copy()
    mask[1:, :] |= horizontal[:-1, :]
    mask[:-1, :] |= horizontal[1:, :]
    mask |= vertical
    mask[:, 1:] |= vertical[:, :-1]
    mask[:, :-1] |= vertical[:, 1:]
    out = arr.copy()
    out[mask] = 255
    return Image.fromarray(out, mode="L")


# --- Tesseract ------------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _languages() -> frozenset[str]:
    import pytesseract

    try:
        return frozenset(pytesseract.get_languages(config=""))
    except pytesseract.TesseractNotFoundError as exc:
        raise OcrUnavailable("Tesseract is not installed or not on PATH, so scanned PDFs can not be read. Install "
                             "it (Debian/Ubuntu: apt-get install tesseract-ocr tesseract-ocr-deu "
                             "tesseract-ocr-fra tesseract-ocr-spa) or set "
                             "pytesseract.pytesseract.tesseract_cmd to its path.") from exc


def _usable_lang(lang: str) -> tuple[str, list[Issue]]:
    """The requested languages that are installed; a warning for each missing one."""
    have = _languages()
    wanted = [part for part in lang.split("+") if part]
    usable = [part for part in wanted if part in have]
    if not usable:
        raise OcrUnavailable(f"Tesseract has none of the languages {lang!r} installed (it has "
                             f"{', '.join(sorted(have)) or 'none'}). Install them, e.g. apt-get install "
                             + " ".join(f"tesseract-ocr-{p}" for p in wanted))
    issues = [warning("OCR_LANGUAGE_MISSING", f"Tesseract language data {p!r} is not installed; the page was read "
                      f"with {'+'.join(usable)} only. Install tesseract-ocr-{p} for better results.")
              for p in wanted if p not in have]
    return "+".join(usable), issues


def _tesseract_words(img: Image.Image, page: int, scale: float, lang: str, timeout: float) -> list[Word]:
    """Tesseract's words on one image, with pixel boxes turned into points by `scale` (72 / dpi)."""
    import pytesseract

    os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # read by the tesseract subprocess pytesseract starts
    # pytesseract hands the page over as a temporary file in this format: PNM costs nothing to write
    # (PNG took 0.38 s of CPU per 300-dpi page to compress, and Tesseract then had to inflate it).
    img.format = "PPM"
    try:
        data = pytesseract.image_to_data(img, lang=lang, config=f"--psm {PSM}",
                                         output_type=pytesseract.Output.DICT, timeout=timeout)
    except pytesseract.TesseractNotFoundError as exc:
        raise OcrUnavailable("Tesseract is not installed or not on PATH; install tesseract-ocr.") from exc
    words: list[Word] = []
    for i, text in enumerate(data["text"]):
        text = (text or "").strip()
        conf = float(data["conf"][i])
        if not text or conf < 0:
            continue
        left, top = data["left"][i], data["top"][i]
        words.append(Word(text=text, page=page, x0=left * scale, top=top * scale,
                          x1=(left + data["width"][i]) * scale, bottom=(top + data["height"][i]) * scale,
                          confidence=max(0.0, min(1.0, conf / 100.0))))
    return words


def page_language(words: Iterable[Word], candidates: Iterable[str]) -> str | None:
    """The language (of `candidates`) most of the words are typical of (labels.json "languages"), or
    None when too few are, or two languages are close."""
    import re

    from parsers.pdf.layout import _fold, vocabulary

    allowed = set(candidates)
    known = vocabulary().languages
    votes: dict[str, int] = {}
    for word in words:
        for token in re.findall(r"[^\W\d_]+", _fold(word.text)):
            lang = known.get(token)
            if lang in allowed:
                votes[lang] = votes.get(lang, 0) + 1
    ranked = sorted(votes.items(), key=lambda kv: -kv[1])
    if not ranked or ranked[0][1] < 2 or (len(ranked) > 1 and ranked[1][1] * 2 > ranked[0][1]):
        return None
    return ranked[0][0]


def _blank_row(img: Image.Image, share: float, gap: int = 8) -> int | None:
    """A row at or below `share` of the height with `gap` blank rows around it (between text lines)."""
    arr = np.asarray(img)
    ink: np.ndarray = np.asarray((arr < 128).any(axis=1))
    start, stop = int(len(ink) * share), int(len(ink) * min(0.5, share * 2))
    if stop - start <= gap:
        return None
    blank = np.convolve((~ink[start:stop]).astype(np.int32), np.ones(gap, dtype=np.int32), mode="valid") == gap
    found = np.flatnonzero(blank)
    return int(start + found[0] + gap // 2) if len(found) else None


def _read_in_language(img: Image.Image, page: int, scale: float, lang: str, timeout: float, *, told: bool = False
                      ) -> tuple[list[Word], str, bool]:
    """Words of a page read with its own language. The head (see HEAD_SHARE) is read first, at half
    resolution with the first language only (0.25 s instead of 0.6 s; its words only vote, and folded
    labels read as well), to tell which; a page in the first language or an unknown one is read with all.
    `told`: `lang` is the document's language already (from its first page): no head read. The third value
    says whether the language was told, to pass on to the next page."""
    languages = lang.split("+")
    cut = _blank_row(img, HEAD_SHARE) if len(languages) > 1 and not told else None
    if cut is not None:
        head = img.crop((0, 0, img.width, cut)).reduce(2)
        own = page_language(_tesseract_words(head, page, scale * 2, languages[0], timeout), languages)
        told = own is not None
        if own is not None and own != languages[0]:
            lang = own
    return _tesseract_words(img, page, scale, lang, timeout), lang, told


def _osd_rotation(img: Image.Image, timeout: float) -> int:
    """Clockwise degrees that turn the page upright, from Tesseract's orientation detection (0 if unsure)."""
    import pytesseract

    try:
        osd = pytesseract.image_to_osd(img, config="--psm 0", output_type=pytesseract.Output.DICT,
                                       timeout=timeout)
    except (pytesseract.TesseractError, RuntimeError):
        return 0
    rotate = int(osd.get("rotate", 0))
    return rotate if rotate in (90, 180, 270) and float(osd.get("orientation_conf", 0)) >= 2.0 else 0


def _mean_conf(words: list[Word]) -> float:
    return sum(w.confidence for w in words) / len(words) if words else 0.0


def ocr_page_image(img: Image.Image, page: int, dpi: float, *, limits: PdfLimits, lang: str, told: bool = False
                   ) -> tuple[list[Word], OcrPage, list[Issue]]:
    """One page image (any mode) at `dpi`: straighten, clear rules, read; retry turned if it reads badly.
    `told`: `lang` is the document's own language, found on an earlier page (`OcrPage.told`)."""
    started = time.perf_counter()
    issues: list[Issue] = []
    gray = img.convert("L")
    straight, skew = deskew(gray)
    clean = remove_gridlines(binarise(straight), dpi)
    scale = 72.0 / dpi
    timeout = limits.ocr_seconds_per_page
    where = f"page {page}"
    rotation = 0
    read_lang, given = lang, told
    try:
        words, read_lang, told = _read_in_language(clean, page, scale, lang, timeout, told=told)
        if _mean_conf(words) < LOW_CONFIDENCE or len(words) < 5:
            turn = _osd_rotation(clean, timeout)
            if turn:
                # Turn upright and straighten again: the skew of a sideways page was measured sideways.
                turned_img, turned_skew = deskew(gray.rotate(-turn, expand=True))
                turned_clean = remove_gridlines(binarise(turned_img), dpi)
                turned, turned_lang, turned_told = _read_in_language(turned_clean, page, scale, lang, timeout,
                                                                     told=given)
                if _mean_conf(turned) > _mean_conf(words):
                    words, straight, skew, rotation = turned, turned_img, turned_skew, turn
                    read_lang, told = turned_lang, turned_told
    except RuntimeError as exc:  # pytesseract raises RuntimeError("Tesseract process timeout")
        if isinstance(exc, OcrUnavailable):
            raise
        words = []
        issues.append(error("OCR_TIMEOUT", f"OCR gave up on page {page} after {timeout:.0f} s ({exc}). The page "
                            "is very dense or damaged; ask the customer for a text PDF or a cleaner scan.", where))
    width, height = straight.width * scale, straight.height * scale
    conf = _mean_conf(words)
    info = OcrPage(page=page, width=width, height=height, dpi=dpi, skew=skew, rotation=rotation,
                   words=len(words), language=read_lang, told=told, confidence=round(conf, 3),
                   seconds=round(time.perf_counter() - started, 3))
    if not issues and not words:
        issues.append(warning("OCR_NO_TEXT", f"OCR found no text on page {page}; it may be blank or a photo.", where))
    elif not issues and conf < LOW_CONFIDENCE:
        issues.append(warning("OCR_LOW_CONFIDENCE", f"OCR read page {page} with low confidence ({conf:.0%} on "
                              "average): the scan may be blurred, too light or a fax copy. Check the values, or "
                              "ask the customer for a sharper scan (300 dpi, black on white).", where))
    if rotation:
        issues.append(warning("OCR_PAGE_TURNED", f"Page {page} was scanned turned by {rotation} degrees; it was "
                              "read upright.", where))
    return words, info, issues


# --- documents -------------------------------------------------------------------------------------------

def _is_pdf(data: bytes) -> bool:
    return b"%PDF-" in data[:1024]


def _fit_dpi(width_pt: float, height_pt: float, dpi: float, max_pixels: int) -> float:
    """`dpi`, lowered where the page would render to more pixels than allowed."""
    pixels = (width_pt * dpi / 72) * (height_pt * dpi / 72)
    return dpi if pixels <= max_pixels else dpi * math.sqrt(max_pixels / pixels)


_Pages = Iterator[tuple[int, Image.Image, float]]


def _pdf_pages(data: bytes, dpi: float, limits: PdfLimits) -> tuple[list[tuple[float, float]],
                                                                       Callable[[list[int]], _Pages]]:
    """The page sizes now, and a renderer for the pages chosen (one page in memory at a time)."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    sizes = [(float(w), float(h)) for w, h in (pdf.get_page_size(i) for i in range(len(pdf)))]

    def render(numbers: list[int]) -> _Pages:
        try:
            for number in numbers:
                w, h = sizes[number - 1]
                page_dpi = _fit_dpi(w, h, dpi, limits.max_image_pixels)
                page = pdf[number - 1]
                try:
                    bitmap = page.render(scale=page_dpi / 72, grayscale=True)
                    yield number, bitmap.to_pil(), page_dpi
                finally:
                    page.close()
        finally:
            pdf.close()

    return sizes, render


def _image_dpi(img: Image.Image) -> float:
    """The scan's resolution: from the file when plausible, else 300 dpi (or what makes it A4 wide)."""
    raw = img.info.get("dpi")
    dpi = float(raw[0]) if isinstance(raw, tuple) and raw and raw[0] else 0.0
    if dpi and 2.5 <= img.width / dpi <= 17:
        return dpi
    if 2.5 <= img.width / 300 <= 17:
        return 300.0
    return img.width / 8.27


def _image_frames(data: bytes, limits: PdfLimits) -> Iterator[Image.Image]:
    img = Image.open(io.BytesIO(data))
    index = 0
    while index < limits.max_image_frames:
        try:
            img.seek(index)
        except EOFError:
            break
        yield img
        index += 1


def _read_pages(pages: Iterable[tuple[int, Image.Image, float]], limits: PdfLimits, lang: str, workers: int
                ) -> Iterator[tuple[list[Word], OcrPage, list[Issue]]]:
    """Each page read, in page order. With workers > 1, pages are read side by side (Tesseract is a
    subprocess and numpy releases the GIL) while rendering stays on this thread (PDFium is not
    thread-safe); at most `workers` pages wait in memory."""
    if workers <= 1:
        # One after another, the first page's language serves the rest: no head read (0.25 s) on them.
        told = False
        for number, img, dpi in pages:
            words, info, issues = ocr_page_image(img, number, dpi, limits=limits, lang=lang, told=told)
            if info.told and not told:
                lang, told = info.language, True
            yield words, info, issues
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: deque[Future[tuple[list[Word], OcrPage, list[Issue]]]] = deque()
        for number, img, dpi in pages:
            pending.append(pool.submit(ocr_page_image, img, number, dpi, limits=limits, lang=lang))
            if len(pending) >= workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _run(pages: Iterable[tuple[int, Image.Image, float]], limits: PdfLimits, lang: str, result: OcrResult,
         workers: int = 1) -> OcrResult:
    lang, lang_issues = _usable_lang(lang)
    result.issues += lang_issues
    for words, info, issues in _read_pages(pages, limits, lang, workers):
        result.words += words
        result.pages.append(info)
        result.issues += issues
        if info.rotation in (90, 270):
            result.page_sizes[info.page - 1] = (info.width, info.height)
    return result


def _select(total: int, pages: Iterable[int] | None, limits: PdfLimits, result: OcrResult) -> list[int]:
    wanted = sorted({p for p in pages if 1 <= p <= total}) if pages is not None else list(range(1, total + 1))
    if len(wanted) > limits.max_ocr_pages:
        skipped = wanted[limits.max_ocr_pages:]
        result.issues.append(error(
            "OCR_PAGES_SKIPPED", f"The scan has {len(wanted)} pages to read; OCR reads at most {limits.max_ocr_pages}, "
            f"so pages {skipped[0]}-{skipped[-1]} were not read and their lines are missing. Ask the customer for "
            "a text PDF (exported, not scanned), or raise max_ocr_pages.", f"pages {skipped[0]}-{skipped[-1]}"))
        wanted = wanted[:limits.max_ocr_pages]
    return wanted


def ocr_pdf_result(data: bytes, *, limits: PdfLimits | None = None, lang: str = LANGUAGES,
                   pages: Iterable[int] | None = None, workers: int = 1) -> OcrResult:
    """OCR of a PDF's pages (all, or the 1-based `pages` given, e.g. those without a text layer), with
    per-page details and issues (pages over the limit, timeouts, low confidence). Run `preflight` first.

    `workers` > 1 reads that many pages at once: worth it on an otherwise idle machine; where the
    gateway already runs one document per core, leave it at 1."""
    limits = limits or PdfLimits()
    sizes, render = _pdf_pages(data, limits.dpi, limits)
    result = OcrResult(page_sizes=list(sizes))
    wanted = _select(len(sizes), pages, limits, result)
    return _run(render(wanted), limits, lang, result, workers)


def ocr_pdf(data: bytes, *, limits: PdfLimits | None = None, lang: str = LANGUAGES
            ) -> tuple[list[Word], list[tuple[float, float]]]:
    """Words (points, top-left origin, straightened page frame) and page sizes in points.

    The simple form: pages past `limits.max_ocr_pages` are not read and the issues are dropped; use
    `ocr_pdf_result` to learn about them."""
    return ocr_pdf_result(data, limits=limits, lang=lang).as_tuple()


def ocr_image_result(data: bytes, *, limits: PdfLimits | None = None, lang: str = LANGUAGES,
                     workers: int = 1) -> OcrResult:
    """OCR of a PNG/JPEG/TIFF scan; each TIFF frame is a page. Run `preflight_image` first."""
    limits = limits or PdfLimits()
    frames: list[tuple[int, Image.Image, float]] = []
    sizes: list[tuple[float, float]] = []
    for index, frame in enumerate(_image_frames(data, limits), 1):
        dpi = _image_dpi(frame)
        sizes.append((frame.width * 72 / dpi, frame.height * 72 / dpi))
        frames.append((index, frame.copy(), dpi))
    result = OcrResult(page_sizes=sizes)
    wanted = _select(len(frames), None, limits, result)
    prepared: list[tuple[int, Image.Image, float]] = []
    for number, img, dpi in frames:
        if number not in wanted:
            continue
        # Tesseract reads 8-12 pt print best at ~300 dpi: scale low-resolution scans up, huge ones down.
        target = _fit_dpi(img.width * 72 / dpi, img.height * 72 / dpi, max(dpi, min(300.0, limits.dpi)),
                          limits.max_image_pixels)
        if abs(target - dpi) > 1:
            factor = target / dpi
            img = img.convert("L").resize((round(img.width * factor), round(img.height * factor)),
                                          Image.Resampling.LANCZOS)
        prepared.append((number, img, target))
    return _run(prepared, limits, lang, result, workers)


def ocr_image(data: bytes, *, limits: PdfLimits | None = None, lang: str = LANGUAGES
              ) -> tuple[list[Word], list[tuple[float, float]]]:
    """Words and page sizes for an image scan (see `ocr_pdf`)."""
    return ocr_image_result(data, limits=limits, lang=lang).as_tuple()


def render_page_png(data: bytes, page: int, *, dpi: int = 100, skew: float = 0.0, rotation: int = 0) -> bytes:
    """A PNG of one page (1-based) for the inbox, PDF or image alike. Pass the `OcrPage.skew` and
    `rotation` of an OCR'd page to draw it in the frame its word boxes are in."""
    dpi = max(10, min(dpi, 300))
    if _is_pdf(data):
        import pypdfium2 as pdfium

        pdf = pdfium.PdfDocument(data)
        try:
            w, h = pdf.get_page_size(page - 1)
            scale = _fit_dpi(w, h, dpi, PdfLimits().max_image_pixels) / 72
            pdf_page = pdf[page - 1]
            try:
                img = pdf_page.render(scale=scale).to_pil()
            finally:
                pdf_page.close()
        finally:
            pdf.close()
    else:
        source = Image.open(io.BytesIO(data))
        source.seek(page - 1)
        factor = dpi / _image_dpi(source)
        img = source.convert("RGB")
        img = img.resize((max(1, round(img.width * factor)), max(1, round(img.height * factor))),
                         Image.Resampling.LANCZOS)
    img = img.convert("RGB")
    if rotation:
        img = img.rotate(-rotation, expand=True)
    if skew:
        img = img.rotate(-skew, resample=Image.Resampling.BICUBIC, fillcolor=(255, 255, 255))
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=False)
    return buf.getvalue()
