"""Raw inputs made readable for a person: X12 one segment per line with the failing places marked.

Everything here returns plain data (strings, numbers, flags), never markup: the templates escape every
value, so a partner's `<script>` in an element stays text however it got into the input.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import import_module

from parsers.x12.segments import Segment
from parsers.x12.tokenizer import tokenize

MAX_HEAD_ROWS = 1500  # segments shown from the start of an interchange before windowing kicks in
WINDOW = 15  # segments shown either side of a failing segment past the head
TEXT_PREVIEW_BYTES = 64 * 1024
HEX_PREVIEW_BYTES = 4 * 1024

_LOCATION = re.compile(
    r"segment (?P<number>\d+) \((?P<tag>[A-Z0-9]{2,3})\) at byte (?P<byte>\d+)"
    r"(?:, (?P=tag)(?P<element>\d{2})(?:-(?P<component>\d+))?)?")
_BYTE = re.compile(r"^byte (?P<byte>\d+)$")


@dataclass(frozen=True)
class Location:
    """An issue's `location` string taken apart: which segment, which element and component."""

    segment: int | None = None
    tag: str | None = None
    byte: int | None = None
    element: int | None = None
    component: int | None = None

    @property
    def anchor(self) -> str | None:
        """The id of the raw-input row this location points at, for links and scrolling."""
        return f"seg-{self.segment}" if self.segment is not None else None


def parse_location(location: str) -> Location | None:
    """Read "segment 10 (PO1) at byte 321, PO103[-2]" (or "byte 107") back into numbers; None if neither."""
    if not location:
        return None
    m = _LOCATION.search(location)
    if m:
        element = m.group("element")
        component = m.group("component")
        return Location(int(m.group("number")), m.group("tag"), int(m.group("byte")),
                        int(element) if element else None, int(component) if component else None)
    m = _BYTE.match(location.strip())
    if m:
        return Location(byte=int(m.group("byte")))
    return None


@dataclass
class Part:
    """A run of text in a displayed segment; `mark` when it is the failing element or component."""

    text: str
    mark: bool = False
    delimiter: bool = False


@dataclass
class Row:
    number: int
    tag: str
    offset: int
    parts: list[Part]
    failing: bool = False  # an error points at this segment
    warned: bool = False  # only warnings do
    gap_before: int = 0  # segments left out just before this row (large inputs)

    @property
    def anchor(self) -> str:
        return f"seg-{self.number}"


@dataclass
class X12View:
    rows: list[Row]
    terminator: str
    total_segments: int
    truncated: bool = False  # the input goes on after the last row shown
    # canonical field (e.g. "lines[0].uom") behind each marked element, when the set's builder can say
    fields: dict[str, str] = field(default_factory=dict)  # location string -> canonical field


@dataclass
class Highlight:
    location: Location
    error: bool


def _visible(text: str) -> str:
    """Control characters shown as their code points, so nothing invisible hides in a value."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch == " " else f"\\x{ord(ch):02x}" for ch in text)


def _parts(seg: Segment, marks: set[tuple[int, int | None]]) -> list[Part]:
    d = seg.delimiters
    parts = [Part(seg.tag)]
    for index in range(1, len(seg.elements)):
        parts.append(Part(d.element, delimiter=True))
        value = seg.elements[index]
        if (index, None) in marks:
            parts.append(Part(_visible(value), mark=True))
            continue
        wanted = {c for e, c in marks if e == index and c is not None}
        if wanted:
            for n, comp in enumerate(value.split(d.component), start=1):
                if n > 1:
                    parts.append(Part(d.component, delimiter=True))
                parts.append(Part(_visible(comp), mark=n in wanted))
            continue
        parts.append(Part(_visible(value)))
    return parts


def x12_view(raw: bytes, highlights: Iterable[Highlight] = (), *, head: int = MAX_HEAD_ROWS,
             window: int = WINDOW) -> X12View | None:
    """The interchange(s) in `raw` one segment per line, failing elements marked; None if no segment reads.

    Past `head` segments only the neighbourhood of each failing segment is kept, and reading stops after
    the last one, so a page about a 100 MB file stays small and quick.
    """
    by_segment: dict[int, list[Highlight]] = {}
    for h in highlights:
        if h.location.segment is not None:
            by_segment.setdefault(h.location.segment, []).append(h)
    last_wanted = max(by_segment, default=0) + window
    rows: list[Row] = []
    terminator = "~"
    total = 0
    skipped = 0
    truncated = False
    set_segments: list[list[str]] = []  # ST .. current, for naming canonical fields
    named: list[tuple[str, list[list[str]], list[Highlight]]] = []
    for token in tokenize(raw):
        if not isinstance(token, Segment):
            continue
        total += 1
        number = token.number
        terminator = token.delimiters.segment
        if token.tag == "ST":
            set_segments = [token.elements]
        elif set_segments:
            set_segments.append(token.elements)
        here = by_segment.get(number, [])
        if here and len(set_segments) > 1 and token.tag != "SE":
            named.append((set_segments[0][1] if len(set_segments[0]) > 1 else "", list(set_segments), here))
        if token.tag == "SE":
            set_segments = []
        near = any(abs(number - s) <= window for s in by_segment)
        if number > head and not near:
            if number > last_wanted:
                truncated = True
                break
            skipped += 1
            continue
        marks = {(h.location.element, h.location.component) for h in here if h.location.element is not None}
        errors = any(h.error for h in here)
        rows.append(Row(number, token.tag, token.offset, _parts(token, marks), failing=errors,
                        warned=bool(here) and not errors, gap_before=skipped))
        skipped = 0
    if not rows:
        return None
    view = X12View(rows, terminator.strip() or terminator, total, truncated or skipped > 0)
    for set_id, segs, here in named:
        describe = _describer(set_id)
        if describe is None:
            continue
        for h in here:
            try:
                name = describe(segs, len(segs), h.location.element)
            except (IndexError, KeyError, ValueError, TypeError):
                name = None
            if name:
                view.fields[_location_key(h.location)] = name
    return view


def _location_key(loc: Location) -> str:
    return f"{loc.segment}:{loc.element}:{loc.component}"


def field_for(view: X12View | None, loc: Location | None) -> str | None:
    """The canonical field an issue's location stands for (e.g. "lines[0].uom"), when known."""
    if view is None or loc is None:
        return None
    return view.fields.get(_location_key(loc))


def _describer(set_id: str) -> Callable[[list[list[str]], int, int | None], str | None] | None:
    """The set's `describe_field` (segment position -> canonical field), when its builder has one."""
    if not set_id.isalnum():
        return None
    try:
        module = import_module(f"mappings.x12.build_{set_id}")
    except ModuleNotFoundError:
        return None
    found = getattr(module, "describe_field", None)
    return found if callable(found) else None


@dataclass
class Preview:
    """A safe look at input that is not X12: pretty JSON, plain text, or a hex dump, always capped."""

    kind: str  # "json" | "text" | "hex" | "empty"
    text: str = ""
    hex_rows: list[tuple[str, str, str]] = field(default_factory=list)  # offset, hex bytes, printable
    shown: int = 0
    size: int = 0

    @property
    def truncated(self) -> bool:
        return self.shown < self.size


def preview(raw: bytes) -> Preview:
    """JSON pretty-printed, text as text, anything else as a hex dump; never more than a page of it."""
    size = len(raw)
    if not raw:
        return Preview("empty")
    if size <= TEXT_PREVIEW_BYTES * 4 and raw.lstrip()[:1] in (b"{", b"["):
        try:
            pretty = json.dumps(json.loads(raw), indent=2, ensure_ascii=False)
        except ValueError:
            pass
        else:
            cut = pretty[:TEXT_PREVIEW_BYTES]
            return Preview("json", _printable(cut), shown=size if len(cut) == len(pretty) else len(cut.encode()),
                           size=size)
    head = raw[:TEXT_PREVIEW_BYTES]
    text = _as_text(head, complete=size <= TEXT_PREVIEW_BYTES)
    if text is not None:
        return Preview("text", _printable(text), shown=len(head), size=size)
    chunk = raw[:HEX_PREVIEW_BYTES]
    rows = []
    for start in range(0, len(chunk), 16):
        line = chunk[start:start + 16]
        rows.append((f"{start:08x}", " ".join(f"{b:02x}" for b in line),
                     "".join(chr(b) if 32 <= b < 127 else "." for b in line)))
    return Preview("hex", hex_rows=rows, shown=len(chunk), size=size)


def _as_text(data: bytes, complete: bool) -> str | None:
    """Text when the bytes are UTF-8 and mostly printable; a cut multi-byte character at the end is fine."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if complete or exc.start < len(data) - 3:
            return None
        text = data[:exc.start].decode("utf-8")
    if not text:
        return None
    odd = sum(1 for ch in text if not (ch.isprintable() or ch in "\r\n\t"))
    return text if odd <= max(2, len(text) // 100) else None


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() or ch in "\n\t" else
                   ("" if ch == "\r" else f"\\u{ord(ch):04x}" if unicodedata.category(ch) != "Cc"
                    else f"\\x{ord(ch):02x}") for ch in text)


def ack_lines(content: bytes) -> list[str]:
    """An acknowledgement's X12, one segment per line (its delimiters come from its own ISA)."""
    segments = [t for t in tokenize(content) if isinstance(t, Segment)]
    if not segments:
        return [_printable(content[:TEXT_PREVIEW_BYTES].decode("latin-1"))]
    return [_visible(s.text()) + s.delimiters.segment.strip() for s in segments]


def canonical_field_key(name: str) -> str:
    """ "lines.0.uom" (pydantic) and "lines[0].uom" (builders) both as "lines[0].uom"."""
    return re.sub(r"\.(\d+)(?=\.|$)", r"[\1]", name)


def marked_fields(names: Sequence[str | None]) -> set[str]:
    return {canonical_field_key(n) for n in names if n}
