"""Layout analysis: from positioned words to header fields, parties, a line table and totals.

Layout-agnostic on purpose: no template per customer. Everything is found by vocabulary (the wordings
in labels.json, in several languages) plus geometry:

- words are grouped into visual lines, and lines into chunks at wide gaps (a label and its value,
  or two table cells, are separate chunks);
- a label's value is the rest of its chunk, else the next chunk on its line, else the words under it
  (label-above layouts);
- a party (ship-to, bill-to, ...) is the block of left-aligned lines under or beside its label;
- the line table is found from its header row (column-header vocabulary), its columns from the header
  words' positions; body lines are assigned to columns by x-overlap, wrapped lines join the row above
  (they carry no quantity or price), the table stops at totals or at the end of the rows, and it
  continues on the next page after a repeated header; repeated page headers/footers are skipped;
- totals (subtotal, tax, freight, total) are the right-most number on their label's line.

Every field carries a confidence: the lowest word confidence (1.0 for a text layer, OCR's for a scan)
times how the value was found (same line 1.0, below the label 0.97, ops' hint region 0.95, inferred
currency 0.95). mappings.pdf.map_pdf checks arithmetic and thresholds afterwards.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import statistics
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

from parsers.issues import warning
from parsers.pdf.model import ExtractedLine, Extraction, Field, Hint, Method, Region, Word
from parsers.pdf.numbers import NumberFormat, guess_format, parse_number

__all__ = ["analyse", "normalise", "parse_date", "vocabulary"]

PARTY_FIELDS = ("buyer", "seller", "ship_to", "bill_to")
ID_FIELDS = ("po_number", "invoice_number")
DATE_FIELDS = ("date", "due_date", "delivery_date")
MONEY_FIELDS = ("subtotal", "tax", "freight", "total")
TOTAL_FIELDS = frozenset(MONEY_FIELDS)
NUMERIC_ROLES = ("quantity", "unit_price", "amount")
TEXT_ROLES = frozenset({"description", "item", "buyer_part", "uom", "line_number"})
MAX_LABEL_TOKENS = 6
MAX_PARTY_LINES = 7

_SYNONYMS = {"number": "no", "nummer": "no", "numero": "no", "num": "no", "nr": "no", "n": "no", "nbr": "no",
             "nro": "no", "#": "no"}
_PUNCT = re.compile(r"[^\w#]+")
_DIGIT = re.compile(r"\d")
_SIGNS = frozenset({"-", "–", "#", ":", "/", "%", "€", "$", "£", "¥", "&"})


# ----------------------------------------------------------------------------------------------- vocabulary
@dataclass(frozen=True)
class Vocabulary:
    """labels.json, normalised once: token tuples -> field (header labels), role (column headers), kind."""

    labels: dict[tuple[str, ...], str]
    columns: dict[tuple[str, ...], str]
    titles: dict[tuple[str, ...], str]
    furniture: frozenset[str]
    months: dict[str, int]
    currency_codes: frozenset[str]
    currency_symbols: dict[str, str]
    column_modifiers: dict[str, str]  # "our" -> buyer_part, "vendor" -> item
    languages: dict[str, str] = field(default_factory=dict)  # folded word -> Tesseract language ("deu")


@cache
def vocabulary() -> Vocabulary:
    """The wordings, loaded from labels.json next to this module (data, not code)."""
    raw: dict[str, Any] = json.loads((Path(__file__).with_name("labels.json")).read_text(encoding="utf-8"))

    def table(groups: dict[str, list[str]]) -> dict[tuple[str, ...], str]:
        out: dict[tuple[str, ...], str] = {}
        for name, wordings in groups.items():
            for wording in wordings:
                key = tuple(normalise(wording))
                if key:
                    out.setdefault(key, name)
        return out

    return Vocabulary(
        labels=table(raw["fields"]),
        columns=table(raw["columns"]),
        titles=table(raw["titles"]),
        furniture=frozenset(t for w in raw["furniture"] for t in normalise(w)),
        months={_fold(k): int(v) for k, v in raw["months"].items()},
        currency_codes=frozenset(raw["currencies"]["codes"]),
        currency_symbols=dict(raw["currencies"]["symbols"]),
        column_modifiers={_fold(w): role for role, words in raw["column_modifiers"].items() if not role.startswith("_")
                          for w in words},
        languages=_language_words(raw.get("languages", {})),
    )


def _language_words(groups: dict[str, Any]) -> dict[str, str]:
    """Folded word -> the one language it belongs to; words listed under two languages are left out."""
    seen: dict[str, set[str]] = {}
    for lang, words in groups.items():
        if lang.startswith("_"):
            continue
        for word in words:
            seen.setdefault(_fold(word), set()).add(lang)
    return {word: next(iter(langs)) for word, langs in seen.items() if len(langs) == 1}


def _fold(text: str) -> str:
    """Lower case without accents (ä -> a, é -> e, ß -> ss)."""
    text = unicodedata.normalize("NFKD", text.replace("ß", "ss").replace("ẞ", "ss"))
    return "".join(c for c in text if not unicodedata.combining(c)).lower()


def normalise(text: str) -> list[str]:
    """Tokens for matching wordings: folded, dots dropped (P.O. -> po), No/Nr/Number/#/N° -> "no"."""
    s = _fold(text).replace("°", "o").replace("º", "o").replace(".", "").replace("#", " # ")
    return [_SYNONYMS.get(t, t) for t in _PUNCT.split(s.replace("_", " ")) if t]


# ----------------------------------------------------------------------------------------------- lines
@dataclass
class _Line:
    """One visual line: its words left to right, split into chunks at wide gaps."""

    index: int
    page: int
    words: list[Word]
    top: float
    bottom: float
    chunks: list[tuple[int, int]] = field(default_factory=list)  # [start, end) word indexes
    tokens: list[tuple[str, int]] = field(default_factory=list)  # (token, word index)

    @property
    def height(self) -> float:
        return max(self.bottom - self.top, 1.0)

    def chunk_of(self, word_index: int) -> int:
        return next(i for i, (s, e) in enumerate(self.chunks) if s <= word_index < e)

    def text(self, start: int = 0, end: int | None = None) -> str:
        return " ".join(w.text for w in self.words[start:end])


def _group_lines(words: Sequence[Word]) -> list[_Line]:
    """Words into visual lines per page: a word joins a line when its middle lies within the line's band
    (centred on the mean middle of the words so far, as tall as the tallest), so a descender or a bigger
    word next to a title does not start a line of its own."""
    lines: list[_Line] = []
    ordered = sorted(words, key=lambda w: (w.page, (w.top + w.bottom) / 2, w.x0))
    current: list[Word] = []
    page, mids, tallest = 0, 0.0, 1.0
    for w in ordered:
        mid = (w.top + w.bottom) / 2
        if current and w.page == page and abs(mid - mids / len(current)) <= 0.45 * tallest:
            current.append(w)
            mids += mid
            tallest = max(tallest, min(w.bottom - w.top, 2 * tallest))
            continue
        if current:
            lines.append(_make_line(len(lines), current))
        current = [w]
        page, mids, tallest = w.page, mid, max(w.bottom - w.top, 1.0)
    if current:
        lines.append(_make_line(len(lines), current))
    space = _space_width(lines)
    for line in lines:
        _chunk(line, space)
    return lines


def _space_width(lines: list[_Line]) -> float:
    """The document's word gap: a text layer's space is 2.5-5.5 pt, OCR boxes (tight glyphs) sit wider
    apart; chunks break at gaps well above it."""
    gaps = []
    for line in lines:
        for a, b in itertools.pairwise(line.words):
            g = b.x0 - a.x1
            if 0 < g < 2 * line.height:
                gaps.append(g)
    return statistics.median(gaps) if gaps else 3.0


def _chunk(line: _Line, space: float) -> None:
    """Split a line into chunks at gaps clearly wider than a space (label | value | next column)."""
    words = line.words
    heights = sorted(w.bottom - w.top for w in words)
    gap_limit = max(4.0, 0.8 * heights[len(heights) // 2], 1.6 * space)
    line.chunks = []
    start = 0
    for i in range(1, len(words)):
        if words[i].x0 - words[i - 1].x1 > gap_limit:
            line.chunks.append((start, i))
            start = i
    line.chunks.append((start, len(words)))


def _make_line(index: int, words: list[Word]) -> _Line:
    words = sorted(words, key=lambda w: w.x0)
    line = _Line(index, words[0].page, [], min(w.top for w in words), max(w.bottom for w in words))
    line.words = [Word(w.text, w.page, w.x0, w.top, w.x1, w.bottom, w.confidence, 0) for w in words]
    for i, w in enumerate(words):
        line.tokens.extend((t, i) for t in normalise(w.text))
    return line


FUZZY_MIN_LENGTH = 5  # shorter words are too easily another word one letter away


@cache
def _vocabulary_variants() -> dict[str, str | None]:
    """Every wording token and each of its one-letter deletions -> the token (None when two tokens share
    a variant): a symmetric-deletion index, so a token one edit away is found without comparing pairs."""
    vocab = vocabulary()
    tokens = {t for table in (vocab.labels, vocab.columns, vocab.titles) for key in table for t in key}
    tokens |= set(vocab.column_modifiers)
    out: dict[str, str | None] = {}
    for t in tokens:
        if len(t) < FUZZY_MIN_LENGTH or not t.isalpha():
            continue
        for v in {t, *(t[:i] + t[i + 1:] for i in range(len(t)))}:
            out[v] = t if out.get(v, t) == t else None
    return out


def _correct_ocr_tokens(lines: list[_Line]) -> None:
    """A scan misreads a letter or two ("Cédigo", "Descripcion" without its accent is fine, "Quantlty" is not):
    tokens one edit away from exactly one wording token are read as that token, for matching labels and
    headings only (the words themselves, and every value, stay as read)."""
    for line in lines:
        line.tokens = [(_fix_token(t), wi) for t, wi in line.tokens]


def _fix_token(t: str) -> str:
    """The one wording token within one edit of `t`, else `t`."""
    variants = _vocabulary_variants()
    if len(t) < FUZZY_MIN_LENGTH or not t.isalpha() or variants.get(t) == t:
        return t
    cands = {variants.get(v) for v in (t, *(t[:i] + t[i + 1:] for i in range(len(t)))) if v in variants}
    cands.discard(None)
    return (cands.pop() or t) if len(cands) == 1 else t


def _number_lines(lines: list[_Line]) -> None:
    """Give each word its 1-based line number on its page (Word.line), for the inbox."""
    page, n = 0, 0
    for line in lines:
        n = n + 1 if line.page == page else 1
        page = line.page
        line.words = [Word(w.text, w.page, w.x0, w.top, w.x1, w.bottom, w.confidence, n) for w in line.words]


# ----------------------------------------------------------------------------------------------- labels
@dataclass(frozen=True)
class _Hit:
    """A label wording found on a line: words [start, end) of the line spell it."""

    line: int
    start: int
    end: int
    name: str  # field name (or "_decoy")
    wording: str
    from_hint: bool = False


_Phrase = tuple[int, int, str, tuple[str, ...], bool]


def _match_phrases(tokens: list[tuple[str, int]], table: dict[tuple[str, ...], str],
                   extra: dict[tuple[str, ...], str] | None = None) -> list[_Phrase]:
    """Longest wordings left to right: (first word, last word + 1, name, wording tokens, from extra)."""
    out = []
    i = 0
    n = len(tokens)
    while i < n:
        if i > 0 and tokens[i - 1][1] == tokens[i][1]:
            i += 1  # a wording starts at a word's first token
            continue
        found = None
        for size in range(min(MAX_LABEL_TOKENS, n - i), 0, -1):
            end = i + size
            if end < n and tokens[end][1] == tokens[end - 1][1]:
                continue  # a wording ends at a word boundary
            key = tuple(t for t, _ in tokens[i:end])
            if extra and key in extra:
                found = (tokens[i][1], tokens[end - 1][1] + 1, extra[key], key, True)
                break
            if key in table:
                found = (tokens[i][1], tokens[end - 1][1] + 1, table[key], key, False)
                break
        if found:
            out.append(found)
            i += sum(1 for t in tokens[i:] if t[1] < found[1])
        else:
            i += 1
    return out


def _find_hits(lines: list[_Line], hint_labels: dict[tuple[str, ...], str]) -> dict[int, list[_Hit]]:
    vocab = vocabulary()
    hits: dict[int, list[_Hit]] = {}
    for line in lines:
        found = [_Hit(line.index, s, e, name, " ".join(w.text for w in line.words[s:e]), extra)
                 for s, e, name, _key, extra in _match_phrases(line.tokens, vocab.labels, hint_labels)]
        # a label starts a chunk or follows a colon-less value; inside running text it is prose
        found = [h for h in found if _starts_chunk(line, h.start) or h.from_hint]
        if found:
            hits[line.index] = found
    return hits


def _starts_chunk(line: _Line, word_index: int) -> bool:
    if any(s == word_index for s, _ in line.chunks):
        return True
    prev = line.words[word_index - 1].text
    return bool(_DIGIT.search(prev)) or prev.endswith((":", "|"))  # "PO: 4711 Date: ..." on one chunk


# ----------------------------------------------------------------------------------------------- dates
_ISO = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\b")
_DMY = re.compile(r"\b(\d{1,2})([./-])(\d{1,2})\2(\d{4}|\d{2})\b")
_WORD_DATE = re.compile(r"(\d{1,2})?\.?[\s/-]*(?:er\s+|de\s+)?([^\W\d_]{3,})\.?,?[\s/-]*(?:de\s+)?"
                        r"(?:(\d{1,2})(?!\d))?(?:st|nd|rd|th)?,?[\s/-]*(\d{4}|\d{2})\b")


def parse_date(text: str, day_first: bool | None = None) -> str | None:
    """A printed date as YYYY-MM-DD, or None. Numeric d/m order: unambiguous values decide, then
    `day_first` (the document's habit), then dots mean day first and slashes month first."""
    s = text.strip()
    m = _ISO.search(s)
    if m:
        return _iso(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    m = _DMY.search(s)
    if m:
        a, sep, b, y = int(m.group(1)), m.group(2), int(m.group(3)), int(m.group(4))
        year = y + 2000 if y < 100 else y
        if a > 12:
            first = True
        elif b > 12:
            first = False
        elif day_first is not None:
            first = day_first
        else:
            first = sep in ".-"
        return _iso(year, b, a) if first else _iso(year, a, b)
    months = vocabulary().months
    for m2 in _WORD_DATE.finditer(_fold(s)):
        name = m2.group(2).rstrip(".")
        month = months.get(name) or months.get(name[:3]) if len(name) >= 3 else None
        if not month:
            continue
        day = m2.group(1) or m2.group(3)
        year = int(m2.group(4))
        if day:
            return _iso(year + 2000 if year < 100 else year, month, int(day))
    return None


def _iso(year: int, month: int, day: int) -> str | None:
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return None


def _day_first(lines: list[_Line], fmt: NumberFormat | None) -> bool | None:
    """The document's numeric date order, from any date it prints unambiguously (13/02 or 02/13)."""
    votes: Counter[bool] = Counter()
    for line in lines:
        for w in line.words:
            m = _DMY.search(w.text)
            if m:
                a, b = int(m.group(1)), int(m.group(3))
                if a > 12 >= b:
                    votes[True] += 1
                elif b > 12 >= a:
                    votes[False] += 1
    if votes:
        return votes[True] >= votes[False]
    return True if fmt == "comma" else None


# ----------------------------------------------------------------------------------------------- analysis
@dataclass
class _Column:
    role: str
    x0: float
    x1: float
    header: str


@dataclass
class _Table:
    columns: list[_Column]
    header_lines: set[int]
    body: list[int] = field(default_factory=list)
    end_line: int = -1  # index of the first line after the table (totals start here)


@dataclass
class _Doc:
    """Working state of one analysis."""

    lines: list[_Line]
    page_sizes: list[tuple[float, float]]
    hits: dict[int, list[_Hit]]
    fmt: NumberFormat | None
    day_first: bool | None
    furniture: set[int]
    page_marks: set[int]
    table_lines: set[int] = field(default_factory=set)
    header_lines: set[int] = field(default_factory=set)
    ocr: bool = False  # words from a scan: wordings matched one edit away too
    pitch: float = 12.0  # the usual distance from one line's top to the next one's
    title_line: int = -1


def analyse(words: list[Word], page_sizes: list[tuple[float, float]], *, hints: Sequence[Hint] = (),
            method: Method = "text") -> Extraction:
    """Fields, line table, kind and number format from positioned words (text layer or OCR alike)."""
    page_count = len(page_sizes) or (max((w.page for w in words), default=0))
    ext = Extraction(method=method, kind=None, page_count=page_count, page_sizes=list(page_sizes))
    words = [w for w in words if w.text.strip()]
    if method == "ocr":  # specks and rule fragments read as "~", "_", "|"
        words = [w for w in words if any(c.isalnum() for c in w.text) or w.text in _SIGNS]
    lines = _group_lines(words)
    if method == "ocr":
        _correct_ocr_tokens(lines)
    _number_lines(lines)
    ext.words = [w for line in lines for w in line.words]
    if not lines:
        ext.issues.append(warning("PDF_NO_TEXT", "No words were found on the document (blank pages or an "
                                  "unreadable scan); a person has to read it.", "page 1"))
        return ext

    fmt = _number_format(lines)
    ext.number_format = fmt
    hint_labels = {tuple(normalise(h.label)): h.field for h in hints if h.label and normalise(h.label)}
    furniture, marks = _furniture(lines, page_sizes)
    doc = _Doc(lines, list(page_sizes), _find_hits(lines, hint_labels), fmt, _day_first(lines, fmt),
               furniture, marks, ocr=method == "ocr", pitch=_line_pitch(lines))
    ext.kind, doc.title_line = _kind(doc)

    table = _find_table(doc)
    if table is not None:
        ext.lines = _rows(doc, table)
        doc.table_lines = set(table.header_lines) | set(table.body)
        doc.header_lines = set(table.header_lines)
    else:
        ext.issues.append(warning("PDF_NO_TABLE", "No line table was found (no row of column headings such as "
                                  "Qty / Description / Price); the order lines have to be keyed in.", "page 1"))

    fields = _label_fields(doc, table)
    for h in hints:
        if h.region is not None and h.field not in fields:
            for f in _hint_region_fields(doc, h):
                fields[f.name] = f
    issuer = "seller" if ext.kind == "invoice" else "buyer"
    if issuer not in fields:
        fields.update(_letterhead(doc, issuer, table))
    if "currency" not in fields:
        cur = _infer_currency(doc)
        if cur is not None:
            fields["currency"] = cur
    number_source = "invoice_number" if ext.kind == "invoice" else "po_number"
    if number_source in fields:
        src = fields[number_source]
        fields["number"] = Field("number", src.text, src.confidence, src.region, src.label, src.found_by, src.value)
    ext.fields = fields
    return ext


def _line_pitch(lines: list[_Line]) -> float:
    pitches = [b.top - a.top for a, b in itertools.pairwise(lines)
               if a.page == b.page and 0 < b.top - a.top < 3 * max(a.height, b.height, 5.0)]
    return statistics.median(pitches) if pitches else 12.0


def _number_format(lines: list[_Line]) -> NumberFormat | None:
    numeric = [w.text for line in lines for w in line.words
               if _DIGIT.search(w.text) and not _DMY.search(w.text) and not _ISO.search(w.text)
               and re.fullmatch(r"[^\w]*[\d.,' ]+[^\w]*|[A-Z]{0,3}[\d.,']+", w.text)]
    return guess_format(numeric)


def _furniture(lines: list[_Line], page_sizes: list[tuple[float, float]]) -> tuple[set[int], set[int]]:
    """Page headers and footers: lines repeated in the margins of several pages at the same height (digits
    ignored), and "Page n of m" / "continued" lines (the second set: those are never table rows)."""
    vocab = vocabulary()
    marks: set[int] = set()
    seen: dict[tuple[str, int], set[int]] = {}
    out: set[int] = set()
    keys: dict[int, tuple[str, int]] = {}
    for line in lines:
        parts = []
        for s, e in line.chunks:
            toks = [t for t, wi in line.tokens if s <= wi < e and not t.isdigit()]
            if toks and toks[0] in vocab.furniture and len(toks) <= 4:  # "Page 3 of 7", "Seite 2"
                marks.add(line.index)
                parts.append("<page>")
            else:
                parts.append(line.text(s, e).lower())
        keys[line.index] = key = (" | ".join(parts), round(line.top / 6))
        seen.setdefault(key, set()).add(line.page)
        if parts == ["<page>"]:
            out.add(line.index)
    pages = {line.page for line in lines}
    if len(pages) > 1:
        for line in lines:
            height = page_sizes[line.page - 1][1] if len(page_sizes) >= line.page else 842.0
            if height * 0.15 < line.top < height * 0.85:
                continue  # page headers and footers live in the margins
            if len(seen[keys[line.index]]) > 1:
                out.add(line.index)
    return out, marks


def _kind(doc: _Doc) -> tuple[Literal["order", "invoice"] | None, int]:
    """The document's own title: the largest line near the top of page 1 that is a title wording."""
    vocab = vocabulary()
    best: tuple[float, int, str] | None = None
    first_page = doc.lines[0].page
    height = doc.page_sizes[first_page - 1][1] if len(doc.page_sizes) >= first_page else 842.0
    for line in doc.lines:
        if line.page != first_page or line.top > height * 0.5:
            continue
        for s, e in line.chunks:
            toks = [t for t, wi in line.tokens if s <= wi < e and not _DIGIT.search(t)]
            kind = vocab.titles.get(tuple(toks))
            if kind:
                size = max(w.bottom - w.top for w in line.words[s:e])
                if best is None or size > best[0] + 0.5:
                    best = (size, line.index, kind)
    if best is not None:
        return ("invoice" if best[2] == "invoice" else "order"), best[1]
    names = {h.name for hs in doc.hits.values() for h in hs}
    if "invoice_number" in names:
        return "invoice", -1
    if "po_number" in names:
        return "order", -1
    return None, -1


# ----------------------------------------------------------------------------------------------- table
def _header_columns(doc: _Doc, line: _Line, below: _Line | None) -> list[_Column] | None:
    """Columns when `line` (plus a second heading line `below`) reads as a table's heading row."""
    vocab = vocabulary()
    stacked = below is not None
    # cells: the heading line's chunks; a second heading line's chunks join the cell they sit under
    cells: list[list[Word]] = [list(line.words[s:e]) for s, e in line.chunks]
    if below is not None:
        for s, e in below.chunks:
            part = below.words[s:e]
            x0, x1 = part[0].x0, part[-1].x1
            under = [c for c in cells if min(x1, max(w.x1 for w in c)) - max(x0, min(w.x0 for w in c)) > 0]
            if len(under) == 1:
                under[0].extend(part)
            else:
                cells.append(list(part))
    columns: list[_Column] = []
    matched_tokens = total_tokens = 0
    for cell in cells:
        ordered = sorted(cell, key=lambda w: (round(w.top), w.x0))
        tokens = [(_fix_token(t) if doc.ocr else t, i) for i, w in enumerate(ordered) for t in normalise(w.text)]
        total_tokens += len(tokens)
        phrases = _match_phrases(tokens, vocab.columns)
        owned = _owned_part(tokens)
        if owned:
            phrases = [(0, len(ordered), owned, tuple(t for t, _ in tokens), False)]
        else:
            phrases = _absorb_owners(tokens, phrases)
        if not phrases:
            columns.append(_Column("", min(w.x0 for w in cell), max(w.x1 for w in cell),
                                   " ".join(w.text for w in ordered)))
            continue
        matched_tokens += sum(len(p[3]) for p in phrases)
        if len(phrases) == 1 or stacked:
            s, e, role, _, _ = phrases[0]
            roles = [p[2] for p in phrases]
            role = _combine_roles(roles)
            columns.append(_Column(role, min(w.x0 for w in cell), max(w.x1 for w in cell),
                                   " ".join(w.text for w in ordered)))
        else:
            for s, e, role, _, _ in phrases:
                part = ordered[s:e]
                columns.append(_Column(role, min(w.x0 for w in part), max(w.x1 for w in part),
                                       " ".join(w.text for w in part)))
    roles = [c.role for c in columns if c.role]
    if len(set(roles)) < 3 or not {"quantity", "amount", "unit_price"} & set(roles):
        return None
    if not {"description", "item", "buyer_part"} & set(roles):
        return None
    if total_tokens == 0 or matched_tokens / total_tokens < 0.6:
        return None
    columns.sort(key=lambda c: c.x0)
    return columns  # a role named twice (Item / Part No.) is settled by the columns' content (_settle_roles)


def _owned_part(tokens: list[tuple[str, int]]) -> str | None:
    """"Our Mat.-No.", "Ihre Art.-Nr.", "Réf. fournisseur": a part-number heading with a word saying whose
    number it is (before or after it) -> buyer_part or item (the vendor's)."""
    vocab = vocabulary()
    words = [t for t, _ in tokens]
    if len(words) < 2:
        return None
    for owner, rest in ((words[0], words[1:]), (words[-1], words[:-1])):
        role = vocab.column_modifiers.get(owner)
        if role and vocab.columns.get(tuple(rest)) in ("item", "buyer_part"):
            return role
    return None


def _absorb_owners(tokens: list[tuple[str, int]], phrases: list[_Phrase]) -> list[_Phrase]:
    """In a merged heading ("Nuestro código Descripción"), an owner word next to a part-number phrase
    joins it and says whose number it is."""
    mods = vocabulary().column_modifiers
    owner_of = {wi: mods[t] for t, wi in tokens if t in mods}
    claimed = {wi for s, e, *_ in phrases for wi in range(s, e)}
    out: list[_Phrase] = []
    for s, e, role, key, extra in phrases:
        if role in ("item", "buyer_part"):
            if s - 1 in owner_of and s - 1 not in claimed:
                role, s = owner_of[s - 1], s - 1
            elif e in owner_of and e not in claimed:
                role, e = owner_of[e], e + 1
        out.append((s, e, role, key, extra))
    return out


def _combine_roles(roles: list[str]) -> str:
    """Two heading lines read as one heading: "Unit" over "Price" is a price, "Qty" over "Ordered" a quantity."""
    if len(roles) == 1:
        return roles[0]
    for preferred in ("unit_price", "amount", "quantity", "buyer_part", "item", "description", "uom"):
        if preferred in roles:
            return preferred
    return roles[0]


def _known(columns: list[_Column]) -> int:
    return len({c.role for c in columns if c.role})


def _find_table(doc: _Doc) -> _Table | None:
    header: tuple[int, list[_Column], set[int]] | None = None
    lines = doc.lines
    for i, line in enumerate(lines):
        if i in doc.furniture or (_DIGIT.search(line.text()) and len(line.words) > 12):
            continue
        below = lines[i + 1] if i + 1 < len(lines) else None
        stack_ok = (below is not None and below.page == line.page and below.top - line.bottom < line.height * 0.8
                    and not _DIGIT.search(below.text()))
        single = _header_columns(doc, line, None)
        stacked = _header_columns(doc, line, below) if stack_ok else None
        # a second heading line counts only when it adds columns ("Unit" over "Price"), never when the
        # first line already reads complete
        if stacked is not None and (single is None or _known(stacked) > _known(single)):
            header = (i, stacked, {i, i + 1})
            break
        if single is not None:
            header = (i, single, {i})
            break
    if header is None:
        return None
    _start, columns, used = header
    table = _Table(columns, set(used))
    _collect_body(doc, table, max(used) + 1)
    return table


def _line_cells(line: _Line, columns: list[_Column]) -> dict[int, list[Word]]:
    """Words of a body line by column index: a chunk goes to the column it overlaps (word by word when
    it spans several), a chunk overlapping none to the nearest column."""
    cells: dict[int, list[Word]] = {}

    def overlap(w0: float, w1: float, c: _Column) -> float:
        return min(w1, c.x1) - max(w0, c.x0)

    def nearest(w0: float, w1: float) -> int:
        best, best_d = 0, float("inf")
        for k, c in enumerate(columns):
            d = max(c.x0 - w1, w0 - c.x1, 0.0)
            if d < best_d:
                best, best_d = k, d
        return best

    for s, e in line.chunks:
        chunk = line.words[s:e]
        x0, x1 = chunk[0].x0, chunk[-1].x1
        hit = [k for k, c in enumerate(columns) if overlap(x0, x1, c) > 0]
        if len(hit) == 1:
            cells.setdefault(hit[0], []).extend(chunk)
        elif not hit:
            cells.setdefault(nearest(x0, x1), []).extend(chunk)
        else:
            for w in chunk:
                ov = [(overlap(w.x0, w.x1, c), k) for k, c in enumerate(columns)]
                best = max(ov)
                cells.setdefault(best[1] if best[0] > 0 else nearest(w.x0, w.x1), []).append(w)
    return cells


def _has_quantity(line: _Line, columns: list[_Column]) -> bool:
    """Digits in the quantity or line-number column: a totals line never has them."""
    roles = {c.role for c in columns}
    wanted = ("quantity", "line_number") if roles & {"quantity", "line_number"} else NUMERIC_ROLES
    return any(columns[k].role in wanted and any(_DIGIT.search(w.text) for w in ws)
               for k, ws in _line_cells(line, columns).items())


def _is_anchor(doc: _Doc, line: _Line, columns: list[_Column]) -> bool:
    """A line that starts a row: digits where a quantity, price or amount sits, or a line number. Wrapped
    lines carry only text (a description going on), so a misread number still starts its row."""
    cells = _line_cells(line, columns)
    for k, ws in cells.items():
        role = columns[k].role
        if role in NUMERIC_ROLES and any(_DIGIT.search(w.text) for w in ws):
            return True
        if role == "line_number" and any(_DIGIT.search(w.text) for w in ws):
            return True
    return False


def _is_prose(line: _Line, columns: list[_Column]) -> bool:
    """A run of text across three or more column headings is a sentence (a note, a footer), not a row."""
    for s, e in line.chunks:
        a, b = line.words[s].x0, line.words[e - 1].x1
        if sum(1 for c in columns if min(b, c.x1) - max(a, c.x0) > 0) >= 3:
            return True
    return False


def _is_totals_line(doc: _Doc, line: _Line) -> bool:
    """A totals label (Subtotal, VAT 19 %, Total USD, ...) standing alone in its chunk: "Shipping carton" in
    a description is an item, not the freight."""
    for h in doc.hits.get(line.index, ()):
        if h.name not in TOTAL_FIELDS:
            continue
        s, e = line.chunks[line.chunk_of(h.start)]
        rest = [w.text for w in line.words[s:h.start] + line.words[h.end:e]]
        if all(_DIGIT.search(t) or len(t.strip(".:%")) <= 2 or _currency_code(t) for t in rest):
            return True
    return False


def _same_header(doc: _Doc, table: _Table, i: int) -> set[int] | None:
    """The lines of a repeated table heading starting at line i (next page), or None."""
    lines = doc.lines
    line = lines[i]
    below = lines[i + 1] if i + 1 < len(lines) and lines[i + 1].page == line.page else None
    want = {c.role for c in table.columns if c.role}
    for used, cols in (({i, i + 1}, _header_columns(doc, line, below) if below else None),
                       ({i}, _header_columns(doc, line, None))):
        if cols is not None and len({c.role for c in cols if c.role} & want) >= min(3, len(want)):
            return used
    return None


def _collect_body(doc: _Doc, table: _Table, start: int) -> None:
    """Body lines from `start` until totals, a gap or prose; on to the next page after a repeated heading."""
    lines = doc.lines
    i = start
    prev: _Line | None = None
    span_x0 = min(c.x0 for c in table.columns) - 40
    span_x1 = max(c.x1 for c in table.columns) + 40
    seen_rows = False
    while i < len(lines):
        line = lines[i]
        if prev is not None and line.page != prev.page:
            # next page: skip to a repeated heading; without one, rows may continue straight away
            j = i
            page = line.page
            found = None
            while j < len(lines) and lines[j].page == page:
                found = _same_header(doc, table, j)  # a repeated heading is page furniture too
                if found is not None:
                    break
                j += 1
            if found is not None:
                table.header_lines |= found
                i = max(found) + 1
                prev = None
                continue
            while i < len(lines) and lines[i].page == page and (i in doc.page_marks or not _is_anchor(
                    doc, lines[i], table.columns)):
                if _is_totals_line(doc, lines[i]):
                    table.end_line = i
                    return
                i += 1
            prev = None
            continue
        if i in doc.furniture:
            i += 1
            continue
        if _is_prose(line, table.columns):
            height = doc.page_sizes[line.page - 1][1] if len(doc.page_sizes) >= line.page else 842.0
            if line.top > height * 0.85:  # a page footer the scan read slightly differently each time
                i += 1
                continue
            table.end_line = i
            return
        if _is_totals_line(doc, line) and not _has_quantity(line, table.columns):
            table.end_line = i
            return
        outside = line.words[0].x0 < span_x0 - 1 or line.words[-1].x1 > span_x1 + 1
        if outside and not _is_anchor(doc, line, table.columns):
            table.end_line = i
            return
        anchor = _is_anchor(doc, line, table.columns)
        if not anchor:
            gap = line.top - prev.bottom if prev is not None else 0.0
            limit = line.height * (1.2 if seen_rows else 2.5)
            if prev is not None and gap > limit:
                table.end_line = i
                if not _rest_of_page_has_anchor(doc, table, i):
                    return
                # a separated note inside the table: keep going only when rows follow
                table.end_line = -1
        else:
            seen_rows = True
        table.body.append(i)
        prev = line
        i += 1
    table.end_line = len(lines)


def _rest_of_page_has_anchor(doc: _Doc, table: _Table, i: int) -> bool:
    page = doc.lines[i].page
    for j in range(i, min(i + 3, len(doc.lines))):
        line = doc.lines[j]
        if line.page != page or _is_totals_line(doc, line):
            return False
        if _is_anchor(doc, line, table.columns):
            return True
    return False


def _rows(doc: _Doc, table: _Table) -> list[ExtractedLine]:
    """Body lines into rows: a line with a quantity starts a row, lines without one continue it; where
    rows are separated by wider gaps than their own lines (ruled tables, values centred in tall cells)
    each gap-separated block is one row."""
    columns = table.columns
    body = [doc.lines[i] for i in table.body]
    # drop trailing lines that are not part of any row (notes between the last row and the totals)
    anchors = [_is_anchor(doc, line, columns) for line in body]
    row_gap = _row_gap(body, anchors)
    while body and not anchors[len(body) - 1] and not _tight_after(body, row_gap):
        body.pop()
    anchors = anchors[:len(body)]
    if not any(anchors):
        return []
    groups = _blocks(body, anchors)
    if groups is None:
        groups = []
        for line, anchor in zip(body, anchors, strict=True):
            if anchor or not groups:
                groups.append([line])
            else:
                groups[-1].append(line)
        if groups and not any(_is_anchor(doc, ln, columns) for ln in groups[0]):
            lead = groups.pop(0)
            if groups:
                groups[0] = lead + groups[0]
    wide = _widen_columns(body, columns)
    raw = [_row_words(group, wide) for group in groups]
    roles = _settle_roles(columns, raw)
    rows = [r for r in (_row(cells, columns, roles) for cells in raw) if r.cells]
    _split_quantity_unit(rows)
    _infer_line_numbers(rows)
    return rows


def _split_quantity_unit(rows: list[ExtractedLine]) -> None:
    """"1M", "5'PK": a scan ran the quantity into the unit column; the digits are the quantity."""
    for row in rows:
        uom = row.cells.get("uom")
        if uom is None or "quantity" in row.cells:
            continue
        m = re.fullmatch(r"(\d[\d.,]*)['’`]?\s*([A-Za-z]{1,5})", uom.text)
        if m:
            row.cells["quantity"] = Field("quantity", m.group(1), uom.confidence * 0.9, uom.region, uom.label, "table")
            uom.text = m.group(2)


LINE_NUMBER_INFERRED_CONFIDENCE = 0.9


def _infer_line_numbers(rows: list[ExtractedLine]) -> None:
    """Line numbers run 1, 2, 3 or 10, 20, 30: one a scan misread ("al" for 1, "9" for 5) is put back when
    its neighbours on both sides agree on it; it is marked inferred, with a lower confidence."""
    values: list[int | None] = []
    for row in rows:
        f = row.cells.get("line_number")
        values.append(int(f.text) if f is not None and re.fullmatch(r"\d{1,6}", f.text) else None)
    steps = Counter(b - a for a, b in itertools.pairwise(values) if a is not None and b is not None)
    if not steps:
        return
    step, count = steps.most_common(1)[0]
    if step <= 0 or count * 2 < sum(steps.values()):
        return
    last = len(rows) - 1
    for i, row in enumerate(rows):
        prev_v = values[i - 1] if i > 0 else None
        next_v = values[i + 1] if i < last else None
        before = prev_v + step if prev_v is not None else None
        after = next_v - step if next_v is not None else None
        if (i > 0 and before is None) or (i < last and after is None):
            continue  # both neighbours must be readable, except at the ends
        if before is not None and after is not None and before != after:
            continue
        guess = before if before is not None else after
        if guess is None or values[i] == guess:
            continue
        if (before is None or after is None) and values[i] is not None:
            continue  # at either end a readable number stands: one neighbour cannot outvote it
        old = row.cells.get("line_number")
        row.cells["line_number"] = Field("line_number", str(guess), LINE_NUMBER_INFERRED_CONFIDENCE,
                                         old.region if old else row.region, old.label if old else None, "inferred")
        values[i] = guess


def _tight_after(body: list[_Line], row_gap: float | None = None) -> bool:
    """The last line sits close under the one above: a wrapped description, not a note after the table.
    Close is under 0.6 of a line height (typed boxes), or clearly under the gap between rows (OCR boxes
    hug the glyphs, so a wrapped line's gap can look as wide as a line is tall)."""
    if len(body) < 2:
        return False
    a, b = body[-2], body[-1]
    gap = b.top - a.bottom
    return a.page == b.page and (gap < b.height * 0.6 or (row_gap is not None and gap < row_gap * 0.7))


def _row_gap(body: list[_Line], anchors: list[bool]) -> float | None:
    """The smallest gap above a line that starts a row (same page), if any."""
    gaps = [b.top - a.bottom for a, b, anchor in zip(body, body[1:], anchors[1:], strict=False)
            if anchor and a.page == b.page]
    return min(gaps) if gaps else None


def _blocks(body: list[_Line], anchors: list[bool]) -> list[list[_Line]] | None:
    """Rows as blocks separated by wider gaps, when that reading gives exactly one anchor per block."""
    gaps = [b.top - a.bottom for a, b in itertools.pairwise(body) if a.page == b.page]
    if not gaps:
        return None
    small = min(gaps)
    limit = small * 1.5 + 1.5
    if all(g <= limit for g in gaps):
        return None
    groups: list[list[_Line]] = [[body[0]]]
    counts = [int(anchors[0])]
    for prev, line, anchor in zip(body, body[1:], anchors[1:], strict=False):
        if line.page != prev.page or line.top - prev.bottom > limit:
            groups.append([line])
            counts.append(int(anchor))
        else:
            groups[-1].append(line)
            counts[-1] += int(anchor)
    if all(c == 1 for c in counts):
        return groups
    return None


def _widen_columns(body: list[_Line], columns: list[_Column]) -> list[_Column]:
    """Columns as wide as their data: headings are narrower than long descriptions or big amounts, so a
    word squeezed between two columns is placed by where that column's clearly placed values reach."""
    x0 = [c.x0 for c in columns]
    x1 = [c.x1 for c in columns]
    for line in body:
        for s, e in line.chunks:
            a, b = line.words[s].x0, line.words[e - 1].x1
            hit = [k for k, c in enumerate(columns) if min(b, c.x1) - max(a, c.x0) > 0]
            if len(hit) == 1:
                k = hit[0]
                x0[k], x1[k] = min(x0[k], a), max(x1[k], b)
    order = sorted(range(len(columns)), key=lambda k: columns[k].x0)
    for i, j in itertools.pairwise(order):  # never reach into the neighbour's heading
        x1[i] = min(x1[i], max(columns[j].x0 - 0.5, columns[i].x1))
        x0[j] = max(x0[j], min(columns[i].x1 + 0.5, columns[j].x0))
    return [_Column(c.role, x0[k], x1[k], c.header) for k, c in enumerate(columns)]


def _row_words(group: list[_Line], columns: list[_Column]) -> dict[int, list[Word]]:
    collected: dict[int, list[Word]] = {}
    for line in group:
        for k, ws in _line_cells(line, columns).items():
            collected.setdefault(k, []).extend(ws)
    return collected


def _settle_roles(columns: list[_Column], rows: list[dict[int, list[Word]]]) -> list[str]:
    """Each column's role, settled by what it holds: "Item" heads a line number in some layouts and a part
    number in others (small whole numbers are line numbers); a role claimed twice keeps its first column
    (a second part-number column becomes the other party's part number)."""
    roles = [c.role for c in columns]
    for k, c in enumerate(columns):
        if c.role not in ("item", "line_number", "buyer_part"):
            continue
        values = [" ".join(w.text for w in r[k]) for r in rows if r.get(k)]
        if not values:
            continue
        share = sum(1 for v in values if re.fullmatch(r"\d{1,5}\W?", v)) / len(values)
        if c.role == "line_number":
            if share == 0 and "item" not in roles:
                roles[k] = "item"  # "No." over part numbers
        elif share >= 0.6 and "line_number" not in roles[:k] and "line_number" not in roles[k + 1:]:
            roles[k] = "line_number"  # "Item" over 1, 2, 3 (a misread digit or two allowed on a scan)
    seen: set[str] = set()
    for k, role in enumerate(roles):
        if role in seen:
            if role in ("item", "buyer_part"):
                other = "buyer_part" if role == "item" else "item"
                roles[k] = other if other not in roles else ""
            else:
                roles[k] = ""
        if roles[k]:
            seen.add(roles[k])
    return roles


def _row(collected: dict[int, list[Word]], columns: list[_Column], roles: list[str]) -> ExtractedLine:
    row = ExtractedLine()
    for k, ws in sorted(collected.items()):
        role = roles[k]
        if not role:
            continue
        ordered = ws  # already in reading order: line by line, left to right
        text = " ".join(w.text for w in ordered)
        if role in ("item", "buyer_part", "line_number"):
            text = _join_wrapped_id(ordered)
            if role == "line_number":
                text = text.strip(".:;,)(") or text
        region = _region(ordered)
        conf = min(w.confidence for w in ordered)
        if role == "quantity" and "uom" not in roles:
            m = re.fullmatch(r"([\d.,' ]+)\s*([A-Za-z]{1,5}\.?)", text)
            if m:
                text = m.group(1).strip()
                row.cells["uom"] = Field("uom", m.group(2).rstrip("."), conf, region, columns[k].header, "table")
        row.cells[role] = Field(role, text, conf, region, columns[k].header, "table")
        row.region = region if row.region is None else row.region.union(region)
    return row


def _join_wrapped_id(words: list[Word]) -> str:
    """An identifier wrapped onto a second line is one identifier ("ABC-12" + "34" -> "ABC-1234")."""
    out = ""
    for i, w in enumerate(words):
        if i and words[i - 1].page == w.page and words[i - 1].line == w.line:
            out += " " + w.text
        else:
            out += w.text
    return out


def _region(words: Sequence[Word]) -> Region:
    r = words[0].region
    for w in words[1:]:
        r = r.union(w.region)
    return r


# ----------------------------------------------------------------------------------------------- fields
@dataclass
class _Candidate:
    value: Field
    order: tuple[int, int]  # (line index, word index) for document order
    score: float
    extra: list[Field] = field(default_factory=list)
    words: set[tuple[int, int]] = field(default_factory=set)  # (line, word) of a party block


def _label_fields(doc: _Doc, table: _Table | None) -> dict[str, Field]:
    candidates: dict[str, list[_Candidate]] = {}
    header_lines = table.header_lines if table else set()
    consumed: set[tuple[int, int]] = set()  # (line, word) inside party blocks: an address is not a label
    # party blocks first, so that "PO Box 77" in an address is never read as a PO number
    for party_pass in (True, False):
        for li, hits in doc.hits.items():
            if li in doc.table_lines or li in header_lines or li in doc.furniture:
                continue
            line = doc.lines[li]
            for n, hit in enumerate(hits):
                if hit.name == "_decoy" or (hit.name in PARTY_FIELDS) != party_pass or (li, hit.start) in consumed:
                    continue
                if li == doc.title_line and hit.name in ID_FIELDS and any(
                        s == hit.start and e == hit.end for s, e in line.chunks):
                    continue  # the document's title ("PURCHASE ORDER"), not a label
                next_hit = hits[n + 1].start if n + 1 < len(hits) else len(line.words)
                cand = _value_for(doc, line, hit, next_hit, table)
                if cand is not None:
                    candidates.setdefault(cand.value.name, []).append(cand)
                    consumed.update(cand.words)
    return _choose(candidates, table)


def _choose(candidates: dict[str, list[_Candidate]], table: _Table | None) -> dict[str, Field]:
    """The best candidate per field: the most specific label, placed best; totals: the last printed."""
    fields: dict[str, Field] = {}
    for name, cands in candidates.items():
        if name in MONEY_FIELDS:
            after = [c for c in cands if table is None or c.order[0] >= table.end_line]
            pool = after or cands
            best = max(pool, key=lambda c: (c.score, c.order))  # totals: the last one printed
        else:
            best = max(cands, key=lambda c: (c.score, -c.order[0], -c.order[1]))
        fields[name] = best.value
        for extra in best.extra:
            fields[extra.name] = extra
    return fields


def _value_words(doc: _Doc, line: _Line, hit: _Hit, next_hit: int) -> tuple[list[Word], float]:
    """The words of a label's value, and how it was placed (1.0 same line, 0.97 below)."""
    words = [w for w in line.words[hit.end:next_hit] if w.text not in (":", "-", "|", "#")]
    chunk = line.chunk_of(hit.end - 1)
    same_chunk = [w for w in words if line.chunk_of(line.words.index(w)) == chunk]
    if same_chunk:
        return same_chunk, 1.0
    if words:
        first = line.chunk_of(line.words.index(words[0]))
        nxt = [w for w in words if line.chunk_of(line.words.index(w)) == first]
        return nxt, 1.0
    return _below(doc, line, hit), 0.97


def _column_limit(doc: _Doc, line: _Line, hit: _Hit) -> float:
    """The right edge of a label's column: the next chunk on its line, else the page edge."""
    ch = line.chunk_of(hit.end - 1)
    if ch + 1 < len(line.chunks):
        return line.words[line.chunks[ch + 1][0]].x0 - 1
    width = doc.page_sizes[line.page - 1][0] if len(doc.page_sizes) >= line.page else 612.0
    return width


def _below(doc: _Doc, line: _Line, hit: _Hit) -> list[Word]:
    """The value under a label (label-above layouts): overlapping words on the next line or so."""
    x0 = line.words[hit.start].x0 - 2
    x1 = _column_limit(doc, line, hit)
    for j in range(line.index + 1, min(line.index + 3, len(doc.lines))):
        nxt = doc.lines[j]
        if nxt.page != line.page or nxt.top - line.bottom > 2.5 * line.height:
            break
        hit_words = {k for h in doc.hits.get(j, ()) for k in range(h.start, h.end)}
        words = [w for k, w in enumerate(nxt.words) if k not in hit_words and w.x1 > x0 and w.x0 < x1]
        if words:
            return words
        if any(h.start < len(nxt.words) and nxt.words[h.start].x1 > x0 and nxt.words[h.start].x0 < x1
               for h in doc.hits.get(j, ())):
            break
    return []


def _value_for(doc: _Doc, line: _Line, hit: _Hit, next_hit: int, table: _Table | None) -> _Candidate | None:
    name = hit.name
    base = 1.0 + (0.5 if hit.from_hint else 0.0) + 0.05 * len(normalise(hit.wording))
    if name in PARTY_FIELDS:
        return _party(doc, line, hit, next_hit, base)
    if name in MONEY_FIELDS:
        words = [w for w in line.words[hit.end:] if "%" not in w.text]
        numeric = [w for w in words if _DIGIT.search(w.text) and parse_number(w.text, doc.fmt) is not None]
        how = 1.0
        if not numeric:
            below = [w for w in _below(doc, line, hit) if "%" not in w.text]
            numeric = [w for w in below if parse_number(w.text, doc.fmt) is not None]
            how = 0.97
        if not numeric:
            return None
        w = numeric[-1]
        return _Candidate(_field(name, [w], how, hit), (line.index, hit.start), base * how)
    words, how = _value_words(doc, line, hit, next_hit)
    if not words:
        return None
    if name in ID_FIELDS:
        for w in words[:3]:
            text = w.text.strip(":#").strip()
            if _DIGIT.search(text) and len(text) >= 2 and parse_date(text, doc.day_first) is None:
                return _Candidate(_field(name, [w], how, hit, text), (line.index, hit.start), base * how)
        return None
    if name in DATE_FIELDS:
        for k in range(0, min(3, len(words))):
            for size in (4, 3, 2, 1):
                part = words[k:k + size]
                iso = parse_date(" ".join(w.text for w in part), doc.day_first)
                if iso:
                    f = _field(name, part, how, hit)
                    f.value = iso
                    return _Candidate(f, (line.index, hit.start), base * how)
        return None
    if name == "currency":
        for w in words[:3]:
            code = _currency_code(w.text)
            if code:
                f = _field(name, [w], how, hit)
                f.value = code
                return _Candidate(f, (line.index, hit.start), base * how)
        return None
    return None


def _field(name: str, words: Sequence[Word], how: float, hit: _Hit | None, text: str | None = None) -> Field:
    conf = min(w.confidence for w in words) * how
    return Field(name, text if text is not None else " ".join(w.text for w in words), round(conf, 4),
                 _region(words), hit.wording if hit else None, "label" if hit is None or not hit.from_hint else "hint")


def _currency_code(text: str) -> str | None:
    vocab = vocabulary()
    t = text.strip(" :.,()")
    if t.upper() in vocab.currency_codes:
        return t.upper()
    if t in vocab.currency_symbols:
        return vocab.currency_symbols[t]
    return None


def _party(doc: _Doc, line: _Line, hit: _Hit, next_hit: int, base: float) -> _Candidate | None:
    """A party block: name and address lines under (or beside) the label, left-aligned, in its column."""
    name = hit.name
    block: list[list[Word]] = []
    used: set[tuple[int, int]] = set()
    same = [w for w in line.words[hit.end:next_hit] if w.text not in (":", "-", "|")]
    if same:
        ch = line.chunk_of(line.words.index(same[0]))
        same = [w for w in same if line.chunk_of(line.words.index(w)) == ch]
        block.append(same)
        used.update((line.index, line.words.index(w)) for w in same)
    anchors = [line.words[hit.start].x0] + ([same[0].x0] if same else [])
    limit = _column_limit(doc, line, hit) if not same else (
        line.words[line.chunks[line.chunk_of(line.words.index(same[-1])) + 1][0]].x0 - 1
        if line.chunk_of(line.words.index(same[-1])) + 1 < len(line.chunks) else _column_limit(doc, line, hit))
    prev_top, prev_bottom = line.top, line.bottom
    for j in range(line.index + 1, min(line.index + 1 + MAX_PARTY_LINES, len(doc.lines))):
        nxt = doc.lines[j]
        if nxt.page != line.page or _far_below(doc, prev_top, prev_bottom, nxt) or j in doc.table_lines:
            break
        chunk_words = None
        for s, e in nxt.chunks:
            if any(abs(nxt.words[s].x0 - a) <= 12 for a in anchors):
                chunk_words = [w for w in nxt.words[s:e] if w.x0 < limit]
                if any(h.start == s and h.name != "_decoy" for h in doc.hits.get(j, ())):
                    chunk_words = None
                    break
                break
        if chunk_words is None and not any(abs(nxt.words[s].x0 - a) <= 12 for a in anchors for s, _ in nxt.chunks):
            continue  # nothing in this column on that line (a title further right): look further down
        if not chunk_words:
            break
        block.append(chunk_words)
        used.update((j, k) for k in range(s, s + len(chunk_words)))
        prev_top, prev_bottom = nxt.top, nxt.bottom
        if len(block) >= MAX_PARTY_LINES:
            break
    if not block:
        return None
    all_words = [w for ws in block for w in ws]
    conf = min(w.confidence for w in all_words)
    head = Field(name, " ".join(w.text for w in block[0]), round(conf, 4), _region(all_words), hit.wording,
                 "hint" if hit.from_hint else "label")
    extra = []
    if len(block) > 1:
        extra.append(Field(name + ".address", "\n".join(" ".join(w.text for w in ws) for ws in block[1:]),
                           round(conf, 4), _region([w for ws in block[1:] for w in ws]), hit.wording, head.found_by))
    return _Candidate(head, (line.index, hit.start), base, extra, used)


def _far_below(doc: _Doc, prev_top: float, prev_bottom: float, nxt: _Line) -> bool:
    """A blank line's worth of space between two lines: the block above has ended. Measured top to top
    against the document's usual line pitch, since OCR boxes of capitals are much lower than their line."""
    pitch = nxt.top - prev_top
    return pitch > max(2.2 * max(prev_bottom - prev_top, nxt.height, 5.0), 1.5 * doc.pitch)


def _hint_region_fields(doc: _Doc, hint: Hint) -> list[Field]:
    """Ops' taught box: the words whose middle lies inside it, read as the hint's field (a party's first
    line as its name, the rest as its address)."""
    r = hint.region
    if r is None:
        return []
    inside = [(line, w) for line in doc.lines if line.page == r.page for w in line.words
              if r.x0 - 2 <= (w.x0 + w.x1) / 2 <= r.x1 + 2 and r.top - 2 <= (w.top + w.bottom) / 2 <= r.bottom + 2]
    if not inside:
        return []
    words = [w for _, w in inside]
    text = " ".join(w.text for w in words)
    f = _field(hint.field, words, 0.95, None, text)
    f.found_by = "hint"
    if hint.field in PARTY_FIELDS:
        by_line: dict[int, list[Word]] = {}
        for line, w in inside:
            by_line.setdefault(line.index, []).append(w)
        rows = [by_line[k] for k in sorted(by_line)]
        f.text = " ".join(w.text for w in rows[0])
        if len(rows) > 1:
            rest = [w for ws in rows[1:] for w in ws]
            addr = _field(hint.field + ".address", rest, 0.95, None,
                          "\n".join(" ".join(w.text for w in ws) for ws in rows[1:]))
            addr.found_by = "hint"
            return [f, addr]
    elif hint.field in DATE_FIELDS:
        f.value = parse_date(text, doc.day_first)
    elif hint.field == "currency":
        f.value = _currency_code(text.split()[0])
    elif hint.field in ID_FIELDS:
        f.text = text.strip(" :#")
    return [f]


LETTERHEAD_CONFIDENCE = 0.92  # position and type size agree; less sure than a labelled block
_SEPARATORS = re.compile(r"\s+[-–|·•]\s+|\s*[|·•]\s*")


def _letterhead(doc: _Doc, role: str, table: _Table | None) -> dict[str, Field]:
    """The issuer's name on top of page 1 (no label: the buyer on an order, the seller on an invoice): the
    largest type in the top fifth, left of the title, not a label; its address is the line(s) just below,
    split at " - " / "|" / "·" when printed on one line."""
    first = doc.lines[0].page
    width, height = doc.page_sizes[first - 1] if len(doc.page_sizes) >= first else (595.0, 842.0)
    body = statistics.median([w.bottom - w.top for line in doc.lines[:200] for w in line.words])
    best: tuple[float, _Line, int, int] | None = None
    for line in doc.lines:
        if line.page != first or line.top > height * 0.2:
            break
        if line.index in doc.table_lines:
            continue
        hit_starts = {h.start for h in doc.hits.get(line.index, ()) if h.name != "_decoy"}
        for s, e in line.chunks:
            words = line.words[s:e]
            size = max(w.bottom - w.top for w in words)
            if s in hit_starts or words[0].x0 > width * 0.45 or not any(c.isalpha() for w in words for c in w.text):
                continue
            if tuple(t for t, wi in line.tokens if s <= wi < e) in vocabulary().titles:
                continue
            if size >= body * 1.15 and (best is None or size > best[0] + 0.5):
                best = (size, line, s, e)
    if best is None:
        return {}
    size, line, s, e = best
    # big type sits further apart than body text: neighbouring chunks of the same size are the same name
    titles = vocabulary().titles
    k = line.chunks.index((s, e))
    while k + 1 < len(line.chunks):
        ns, ne = line.chunks[k + 1]
        words = line.words[ns:ne]
        if (words[0].x0 - line.words[e - 1].x1 > 1.2 * size or max(w.bottom - w.top for w in words) < 0.6 * size
                or tuple(t for t, wi in line.tokens if ns <= wi < ne) in titles):
            break
        e, k = ne, k + 1
    k = line.chunks.index(next(c for c in line.chunks if c[0] == s))
    while k > 0:
        ps, pe = line.chunks[k - 1]
        words = line.words[ps:pe]
        if (line.words[s].x0 - words[-1].x1 > 1.2 * size or max(w.bottom - w.top for w in words) < 0.6 * size
                or tuple(t for t, wi in line.tokens if ps <= wi < pe) in titles):
            break
        s, k = ps, k - 1
    name_words = line.words[s:e]
    x0 = name_words[0].x0
    address: list[str] = []
    addr_words: list[Word] = []
    prev = line
    for j in range(line.index + 1, min(line.index + 5, len(doc.lines))):
        nxt = doc.lines[j]
        if nxt.page != line.page or _far_below(doc, prev.top, prev.bottom, nxt) or j in doc.table_lines:
            break
        chunk = next(((cs, ce) for cs, ce in nxt.chunks if abs(nxt.words[cs].x0 - x0) <= 12), None)
        if chunk is None or any(h.start == chunk[0] and h.name != "_decoy" for h in doc.hits.get(j, ())):
            break
        words = nxt.words[chunk[0]:chunk[1]]
        hit_starts = {h.start for h in doc.hits.get(j, ()) if h.name != "_decoy"}
        for cs, ce in nxt.chunks:  # "Street  -  City  -  Country" set with wide gaps
            if cs >= chunk[1] and cs not in hit_starts and nxt.words[cs].x0 - words[-1].x1 < 30:
                words = words + nxt.words[cs:ce]
        if max(w.bottom - w.top for w in words) >= size - 0.5:
            break  # another big line: a second heading, not an address
        address += [p.strip() for p in _SEPARATORS.split(" ".join(w.text for w in words)) if p.strip()]
        addr_words += words
        prev = nxt
    conf = min(w.confidence for w in name_words) * LETTERHEAD_CONFIDENCE
    out = {role: Field(role, " ".join(w.text for w in name_words), round(conf, 4), _region(name_words), None,
                       "layout")}
    if address:
        out[role + ".address"] = Field(role + ".address", "\n".join(address),
                                       round(min(w.confidence for w in addr_words) * LETTERHEAD_CONFIDENCE, 4),
                                       _region(addr_words), None, "layout")
    return out


def _infer_currency(doc: _Doc) -> Field | None:
    """No currency label: the one ISO code or sign printed with the amounts, when there is exactly one."""
    vocab = vocabulary()
    found: dict[str, list[Word]] = {}
    weight: Counter[str] = Counter()
    for line in doc.lines:
        strong = any(h.name in TOTAL_FIELDS for h in doc.hits.get(line.index, ()))
        for k, w in enumerate(line.words):
            near_number = any(_DIGIT.search(line.words[n].text) for n in (k - 1, k + 1) if 0 <= n < len(line.words))
            if line.index in doc.table_lines and not near_number and line.index not in doc.header_lines:
                continue  # "packed on EUR pallet" in a description says nothing about the money
            t = w.text.strip(" :.,()")
            code = t.upper() if t.upper() in vocab.currency_codes and t.isupper() else None
            if code is None:
                for sym, c in vocab.currency_symbols.items():
                    if len(sym) == 1 and (t.startswith(sym) or t.endswith(sym)) and (t == sym or _DIGIT.search(t)):
                        code = c
                        break
            if code:
                found.setdefault(code, []).append(w)
                weight[code] += 3 if strong or near_number or _DIGIT.search(w.text) else 1
    if not found:
        return None
    ranked = weight.most_common(2)
    if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        return None  # two currencies with equal standing: a person decides
    code = ranked[0][0]
    words = found[code]
    f = Field("currency", code, round(min(w.confidence for w in words[:1]) * 0.95, 4), words[0].region, None,
              "inferred", code)
    return f


def median_height(words: Sequence[Word]) -> float:
    """Typical word height (a font size proxy), for callers scaling gaps."""
    return statistics.median([w.bottom - w.top for w in words]) if words else 10.0
