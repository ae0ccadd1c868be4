"""Learning a customer's layout from one correction: where the corrected value sits and what it is labelled.

When ops types the right value for a field, the value is usually printed on the page; the extractor just
did not know the customer's wording for its label ("Procurement ticket:") or where it sits. Finding the
value among the page's words gives both: the words just left of it (or on the line above) are the label,
its box is the region. Pure: words in, a Hint out; the store and the inbox live in gateway.learning.
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
from collections.abc import Sequence
from decimal import Decimal

from parsers.pdf.layout import parse_date
from parsers.pdf.model import Hint, Region, Word
from parsers.pdf.numbers import parse_number

MAX_LABEL_WORDS = 4
MAX_EXTRA_WORDS = 2  # a value printed as more words than typed ("PO - 4711" for "PO-4711")
LABEL_REACH = 12  # a label sits at most this many letter heights left of its value
_STRIP = " \t:#;,|*"
_SPACE = re.compile(r"\s+")
_NUMBER = re.compile(r"^[^\w]{0,3}-?[\d.,' \u00a0]+-?[^\w]{0,3}$|^[A-Z]{3}\s*[\d.,']+$")
_HAS_LETTER = re.compile(r"[^\W\d_]")


def learn_hint(words: list[Word], field: str, value: str, *, near: Region | None = None) -> Hint | None:
    """The label and box of `value` on the page, as a hint for `field`.

    Of several occurrences the one nearest `near` (the region the extractor used) wins, else the first
    in reading order. A value that is not printed anywhere still yields a hint for `near` (its label
    taken from there); without `near` there is nothing to learn and the answer is None.
    """
    lines = _lines(words)
    spans = _matches(lines, value)
    if spans:
        if near is not None:
            spans.sort(key=lambda s: _distance(_box(s[1]), near))
        line, span = spans[0]
        box = _box(span)
        return Hint(field=field, label=_label(lines, line, span), region=box)
    if near is None:
        return None
    inside = [(i, [w for w in ln if _inside(w, near)]) for i, ln in enumerate(lines)]
    inside = [(i, ws) for i, ws in inside if ws]
    label = _label(lines, inside[0][0], inside[0][1]) if inside else None
    return Hint(field=field, label=label, region=near)


# ----------------------------------------------------------------------------------------------- matching
def _text_key(text: str) -> str:
    """Case and spacing do not matter, nor the punctuation a label leaves on its value ("#4711:")."""
    return _SPACE.sub(" ", text.strip(_STRIP)).casefold()


def _compact(text: str) -> str:
    return _SPACE.sub("", text.strip(_STRIP)).casefold()


def _numbers(text: str) -> set[Decimal]:
    """The value a printed number has in either number format (1.234,56 or 1,234.56)."""
    if not _NUMBER.match(text.strip()):
        return set()
    return {v for v in (parse_number(text, "dot"), parse_number(text, "comma")) if v is not None}


def _date(text: str) -> str | None:
    try:
        return dt.date.fromisoformat(text.strip()).isoformat()
    except ValueError:
        return parse_date(text)


class _Target:
    """What the corrected value looks like in each of the ways it may be printed."""

    def __init__(self, value: str) -> None:
        self.key = _text_key(value)
        self.compact = _compact(value)
        self.numbers = _numbers(value)
        self.date = _date(value) if _HAS_LETTER.search(value) or re.search(r"\d\D+\d", value) else None
        self.size = max(1, len(value.split()))

    def matches(self, text: str) -> bool:
        if not text.strip(_STRIP):
            return False
        if _text_key(text) == self.key or (len(self.compact) > 2 and _compact(text) == self.compact):
            return True
        if self.numbers and self.numbers & _numbers(text):
            return True
        return self.date is not None and _date(text) == self.date


def _matches(lines: list[list[Word]], value: str) -> list[tuple[int, list[Word]]]:
    """Every run of consecutive words on one line that spells the value (shortest runs, reading order)."""
    if not value.strip():
        return []
    target = _Target(value)
    found: list[tuple[int, list[Word]]] = []
    for index, line in enumerate(lines):
        spans: list[tuple[int, int]] = []
        for start in range(len(line)):
            for size in range(1, target.size + MAX_EXTRA_WORDS + 1):
                if start + size > len(line):
                    break
                if target.matches(" ".join(w.text for w in line[start:start + size])):
                    spans.append((start, start + size))
                    break
        # the tightest runs: "EUR 1.234,50" spells the amount too, but the value's box is the number's
        tight = [s for s in spans if not any(o != s and s[0] <= o[0] and o[1] <= s[1] for o in spans)]
        end = -1
        for start, stop in tight:
            if start >= end:
                found.append((index, line[start:stop]))
                end = stop
    return found


# ----------------------------------------------------------------------------------------------- geometry
def _lines(words: Sequence[Word]) -> list[list[Word]]:
    """Visual lines per page, top to bottom, each left to right (a word joins a line its middle lies in)."""
    out: list[list[Word]] = []
    band: tuple[int, float, float] | None = None
    for w in sorted(words, key=lambda w: (w.page, (w.top + w.bottom) / 2, w.x0)):
        if not w.text.strip():
            continue
        middle = (w.top + w.bottom) / 2
        if band is not None and band[0] == w.page and band[1] <= middle <= band[2]:
            out[-1].append(w)
            band = (w.page, min(band[1], w.top), max(band[2], w.bottom))
        else:
            out.append([w])
            band = (w.page, w.top, w.bottom)
    return [sorted(line, key=lambda w: w.x0) for line in out]


def _box(span: Sequence[Word]) -> Region:
    r = span[0].region
    for w in span[1:]:
        r = r.union(w.region)
    return r


def _inside(w: Word, r: Region) -> bool:
    x, y = (w.x0 + w.x1) / 2, (w.top + w.bottom) / 2
    return w.page == r.page and r.x0 - 2 <= x <= r.x1 + 2 and r.top - 2 <= y <= r.bottom + 2


def _distance(a: Region, b: Region) -> float:
    if a.page != b.page:
        return 1e9 * (1 + abs(a.page - b.page))
    return abs((a.x0 + a.x1) / 2 - (b.x0 + b.x1) / 2) + abs((a.top + a.bottom) / 2 - (b.top + b.bottom) / 2)


def _gap_limit(words: Sequence[Word]) -> float:
    """Wider than a space between words of one label: about one letter height."""
    return statistics.median([w.bottom - w.top for w in words]) * 1.0 if words else 10.0


def _label_words(words: list[Word]) -> bool:
    """A label has letters; a neighbouring number or amount is another value, not a label."""
    return bool(words) and all(_HAS_LETTER.search(w.text) or w.text.strip() in ("#", "No.", "Nr.", ":")
                               for w in words)


def _label(lines: list[list[Word]], line_index: int, span: list[Word]) -> str | None:
    """The words just left of the value on its line (up to a wide gap), else the words above it."""
    line = lines[line_index]
    gap = _gap_limit(line)
    left = [w for w in line if w.x1 <= span[0].x0 + 0.5 and w not in span]
    chosen: list[Word] = []
    for w in reversed(left):
        if chosen and chosen[0].x0 - w.x1 > gap:
            break
        if not chosen and span[0].x0 - w.x1 > LABEL_REACH * gap:
            break  # a word far off to the left belongs to another column (an address, say)
        if not _HAS_LETTER.search(w.text) and w.text.strip() not in ("#", ":"):
            break
        chosen.insert(0, w)
        if len(chosen) == MAX_LABEL_WORDS:
            break
    if chosen and _label_words(chosen):
        return _join(chosen)
    above = _line_above(lines, line_index, span)
    return _join(above) if above else None


def _line_above(lines: list[list[Word]], line_index: int, span: list[Word]) -> list[Word]:
    """On the line just above (close by), the words over the value, widened to their whole phrase."""
    if line_index == 0:
        return []
    above = lines[line_index - 1]
    value_top = min(w.top for w in span)
    height = max(w.bottom - w.top for w in span)
    if above[0].page != span[0].page or value_top - max(w.bottom for w in above) > 2.5 * height:
        return []
    x0, x1 = min(w.x0 for w in span), max(w.x1 for w in span)
    over = [i for i, w in enumerate(above) if w.x0 < x1 and w.x1 > x0]
    if not over:
        return []
    gap = _gap_limit(above)
    first, last = over[0], over[-1]
    while first > 0 and above[first].x0 - above[first - 1].x1 <= gap and last - first + 1 < MAX_LABEL_WORDS:
        first -= 1
    while last + 1 < len(above) and above[last + 1].x0 - above[last].x1 <= gap and last - first + 1 < MAX_LABEL_WORDS:
        last += 1
    chosen = above[first:last + 1][:MAX_LABEL_WORDS]
    return chosen if _label_words(chosen) else []


def _join(words: Sequence[Word]) -> str:
    return " ".join(w.text for w in words).strip()
