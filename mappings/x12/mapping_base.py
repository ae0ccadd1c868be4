"""What every X12 set mapping (850, 855, 856, 810) shares: the issue-reporting mapper and the readers
of the segments that mean the same in every set.

`SetMapper` is one mapping run: the set, the issues found so far, and the helpers that read values
and report what stops the mapping from understanding them (each issue names the segment and element,
so a person can find it in the raw file). A set's mapper subclasses it, sets its code lists (REF,
DTM and N101 names, the segments of its N1 loops) and writes its own `run`. Nothing here raises:
a bad value becomes an `Issue`, so one bad document cannot take the service down.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import ClassVar

from mappings.canonical import Address, Document, DocumentKind, Identity, Line, Party, Source
from mappings.x12.code_lists import DATE_NAMES, ITEM_ID_QUALIFIERS, PARTY_ID_QUALIFIERS, PARTY_ROLES, REFERENCE_NAMES
from parsers.issues import Issue, X12Ref, error, warning
from parsers.x12.reader import TransactionSet
from parsers.x12.segments import Segment

# X12 R (real) and N (implied decimal) values: optional sign, digits, optional decimal point.
NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)$")
INTEGER = re.compile(r"^[+-]?\d+$")

# AMT01 qualifiers that state an order's total, most specific first.
TOTAL_AMOUNT_QUALIFIERS: tuple[str, ...] = ("TT", "1", "GV")

# The CUR entities whose currency is the document's, in order of precedence.
_CURRENCY_ENTITIES = ("BY", "SE")


def segment_tag(seg: Segment) -> str:
    """The segment ID, '' for a segment without elements (which the reader can hand over)."""
    return seg.elements[0] if seg.elements else ""


def implied_decimal(raw: str) -> Decimal | None:
    """An N2 value (two implied decimals, e.g. SAC05 1250 = 12.50); an explicit point is taken as is."""
    if INTEGER.match(raw):
        return Decimal(raw).scaleb(-2)
    if NUMBER.match(raw):
        return Decimal(raw)
    return None


# -- splitting a set ----------------------------------------------------------------------------------


def set_body(segments: list[Segment]) -> tuple[Segment | None, list[Segment]]:
    """The set's ST (None when it does not start with one) and the segments between ST and SE."""
    st = segments[0] if segments and segment_tag(segments[0]) == "ST" else None
    body = segments[1:] if st is not None else segments
    if body and segment_tag(body[-1]) == "SE":
        body = body[:-1]
    return st, body


def split_sections(body: list[Segment], line_tag: str,
                   summary_tags: tuple[str, ...] = ("CTT",)) -> tuple[list[Segment], list[Segment], list[Segment]]:
    """Header, detail and summary of a set body whose lines start with `line_tag` (PO1, IT1).

    The summary starts at the first of `summary_tags` found after the first line (the first one found
    anywhere for a document without lines, which then has no detail).
    """
    tags = [segment_tag(s) for s in body]
    first_line = tags.index(line_tag) if line_tag in tags else len(body)
    start = first_line if first_line < len(body) else 0
    summary_at = len(body)
    for summary_tag in summary_tags:
        found = next((i for i in range(start, len(body)) if tags[i] == summary_tag), None)
        if found is not None:
            summary_at = found
            break
    first_line = min(first_line, summary_at)
    return body[:first_line], body[first_line:summary_at], body[summary_at:]


def split_loops(segments: list[Segment], start_tag: str) -> list[list[Segment]]:
    """The detail as line loops, each starting at a `start_tag` segment (PO1, IT1)."""
    loops: list[list[Segment]] = []
    for seg in segments:
        if segment_tag(seg) == start_tag or not loops:
            loops.append([seg])
        else:
            loops[-1].append(seg)
    return loops


# -- product IDs --------------------------------------------------------------------------------------


def product_id_key(qualifier: str) -> str:
    """The Line.item_ids key for a product ID qualifier (235); an unknown one is kept, lower-cased."""
    return ITEM_ID_QUALIFIERS.get(qualifier.upper(), qualifier.lower())


def item_ids(seg: Segment, first: int) -> dict[str, str]:
    """The qualifier/ID pairs of a line segment from element `first` on (PO106/07 ..., LIN02/03 ...) as
    Line.item_ids; the first ID of a kind is kept. (`product_id_key` written out: this runs once per line.)"""
    ids: dict[str, str] = {}
    elements = seg.elements
    for q in range(first, len(elements) - 1, 2):
        qualifier, value = elements[q].strip(), elements[q + 1].strip()
        if qualifier and value:
            ids.setdefault(ITEM_ID_QUALIFIERS.get(qualifier.upper(), qualifier.lower()), value)
    return ids


# -- sums over the lines --------------------------------------------------------------------------------


def total_quantity(lines: list[Line]) -> Decimal | None:
    """The lines' quantities added up, only when every line has one: a partial sum is not a total."""
    quantities = [ln.quantity for ln in lines if ln.quantity is not None]
    return sum(quantities, Decimal(0)) if lines and len(quantities) == len(lines) else None


def order_extension(lines: list[Line]) -> Decimal | None:
    """Quantity x unit price over the lines (every line must have both), in cents unless finer prices
    make it finer: the order total when no AMT states one, computed alike by the 850/855 mappings and
    the 855 builder."""
    extensions = [ln.quantity * ln.unit_price for ln in lines if ln.quantity is not None and ln.unit_price is not None]
    if not lines or len(extensions) != len(lines):
        return None
    total = sum(extensions, Decimal(0))
    exponent = total.as_tuple().exponent
    return total.quantize(Decimal("0.01")) if isinstance(exponent, int) and exponent > -2 else total


class SetMapper:
    """One mapping run: the set, the issues found so far, and the readers that report them.

    A subclass names its set and, where the set uses more codes than the 850, its code lists.
    """

    set_id: ClassVar[str] = ""
    # REF01 / DTM01 / N101 codes -> canonical names (what is not listed is kept, lower-cased)
    reference_names: ClassVar[Mapping[str, str]] = REFERENCE_NAMES
    date_names: ClassVar[Mapping[str, str]] = DATE_NAMES
    party_roles: ClassVar[Mapping[str, str]] = PARTY_ROLES
    # the segments that may follow N1 (N9) inside its loop in the set's header
    n1_loop_members: ClassVar[frozenset[str]] = frozenset({"N2", "N3", "N4", "REF", "PER"})
    n9_loop_members: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, ts: TransactionSet) -> None:
        self.ts = ts
        self.issues: list[Issue] = []
        self.version = self._version()

    def _version(self) -> str:
        try:
            return self.ts.group.version.strip()
        except AttributeError:
            return ""

    # -- locations and issues -------------------------------------------------------------------

    def where(self, seg: Segment, element: int | None = None) -> str:
        if not seg.elements:
            return f"segment {seg.number} at byte {seg.offset}"
        return seg.location(element)

    def ref(self, seg: Segment, element: int | None = None) -> X12Ref:
        """Machine-readable place (no AK3/AK4 codes: a mapping issue is not a syntax error)."""
        segments = self.ts.segments
        # ST = 1 as AK302 counts; a set without an ST is located by file position instead
        position = seg.number - segments[0].number + 1 if segments and segment_tag(segments[0]) == "ST" else seg.number
        value = seg.get(element) if element is not None else ""
        return X12Ref(segment_tag(seg), position, element_position=element, value=value)

    def error(self, code: str, message: str, seg: Segment, element: int | None = None) -> None:
        self.issues.append(error(code, message, self.where(seg, element), self.ref(seg, element)))

    def warning(self, code: str, message: str, seg: Segment, element: int | None = None) -> None:
        self.issues.append(warning(code, message, self.where(seg, element), self.ref(seg, element)))

    def beginning_segment(self, header: list[Segment], tag: str, st: Segment | None, code: str,
                          message: str) -> Segment | None:
        """The set's beginning segment (BEG, BAK, BSN, BIG) in its header. Without it the document has no
        number: error `code` at `st`, else at the first header segment, else without a place when the set
        has no segment to point at."""
        found = next((s for s in header if segment_tag(s) == tag), None)
        if found is None:
            anchor = st if st is not None else (header[0] if header else None)
            if anchor is not None:
                self.error(code, message, anchor)
            else:
                self.issues.append(error(code, message))
        return found

    # -- value parsing ----------------------------------------------------------------------------

    def decimal(self, seg: Segment, element: int, code: str, what: str) -> Decimal | None:
        """An R-type value as Decimal; None when empty; None plus an error when unreadable."""
        raw = seg.get(element).strip()
        if not raw:
            return None
        if NUMBER.match(raw):
            try:
                return Decimal(raw)
            except InvalidOperation:  # pragma: no cover - the pattern only admits valid decimals
                pass
        self.error(code, f"{segment_tag(seg)}{element:02d} ({what}) is {raw!r}, which is not a number.", seg, element)
        return None

    def date(self, seg: Segment, element: int, what: str) -> dt.date | None:
        """CCYYMMDD; YYMMDD too for versions before 004 (where DT is 6 digits)."""
        raw = seg.get(element).strip()
        if not raw:
            return None
        try:
            if len(raw) == 8 and raw.isdigit():
                return dt.date(int(raw[:4]), int(raw[4:6]), int(raw[6:]))
            if len(raw) == 6 and raw.isdigit() and self._allows_short_dates():
                year = int(raw[:2])
                year += 2000 if year < 50 else 1900
                return dt.date(year, int(raw[2:4]), int(raw[4:]))
        except ValueError:
            pass
        expected = "CCYYMMDD or YYMMDD" if self._allows_short_dates() else "CCYYMMDD"
        self.error("X12_INVALID_DATE", f"{segment_tag(seg)}{element:02d} ({what}) is {raw!r}, which is not a date "
                   f"({expected}).", seg, element)
        return None

    def _allows_short_dates(self) -> bool:
        """Versions 001xxx-003xxx used 6-digit dates; an unreadable version gets the benefit of the doubt."""
        v = self.version
        return not (len(v) >= 3 and v[:3].isdigit()) or v[:3] < "004"

    # -- envelope -----------------------------------------------------------------------------------

    def source(self) -> Source:
        """Where the document came from: the set's version and its ISA13 / GS06 / ST02 control numbers."""
        ts = self.ts
        controls: dict[str, str] = {}
        try:
            isa13 = ts.group.interchange.control_number
            if isa13:
                controls["isa13"] = isa13
        except AttributeError:
            pass
        try:
            gs06 = ts.group.control_number if segment_tag(ts.group.gs) == "GS" else ""
            if gs06:
                controls["gs06"] = gs06
        except AttributeError:
            pass
        st02 = ts.segments[0].get(2) if ts.segments and segment_tag(ts.segments[0]) == "ST" else ""
        if st02:
            controls["st02"] = st02
        gs = getattr(ts.group, "gs", None)
        version = gs.get(8).strip() if gs is not None and segment_tag(gs) == "GS" else ""
        return Source(format="x12", version=version or None, set=self.set_id, control_numbers=controls,
                      channel=None)

    def new_document(self, kind: DocumentKind) -> Document:
        """An empty document of `kind` with the set's source and the interchange's sender and receiver."""
        doc = Document(kind=kind, source=self.source())
        self.envelope_identities(doc)
        return doc

    def envelope_identities(self, doc: Document) -> None:
        """The interchange sender and receiver (ISA05/06, ISA07/08) as the document's."""
        try:
            interchange = self.ts.group.interchange
            sender, receiver = interchange.sender, interchange.receiver
        except AttributeError:
            return
        if sender[1]:
            doc.sender = Identity(qualifier=sender[0], id=sender[1])
        if receiver[1]:
            doc.receiver = Identity(qualifier=receiver[0], id=receiver[1])

    # -- header segments ------------------------------------------------------------------------------

    def read_header(self, doc: Document, header: list[Segment],
                    other: Callable[[Segment, str], None] | None = None) -> dict[str, tuple[str, Segment]]:
        """The header's REF, DTM and N1 loops into `doc`; N9 loops are passed over (their DTMs date the
        note, not the document). `other(segment, tag)` sees every other segment. Returns the CURs by
        entity, for `currency` once the caller has read the rest."""
        currencies: dict[str, tuple[str, Segment]] = {}
        n1_members, n9_members = self.n1_loop_members, self.n9_loop_members
        i = 0
        while i < len(header):
            seg = header[i]
            tag = segment_tag(seg)
            if tag == "CUR":
                currencies.setdefault(seg.get(1).strip(), (seg.get(2).strip(), seg))
            elif tag == "REF":
                self.reference(doc.references, seg)
            elif tag == "DTM":
                self.dtm(doc.dates, seg)
            elif tag == "N9":
                while i + 1 < len(header) and segment_tag(header[i + 1]) in n9_members:
                    i += 1
            elif tag == "N1":
                j = i + 1
                while j < len(header) and segment_tag(header[j]) in n1_members:
                    j += 1
                doc.parties.append(self.party(header[i:j]))
                i = j
                continue
            elif other is not None:
                other(seg, tag)
            i += 1
        return currencies

    def currency(self, doc: Document, currencies: dict[str, tuple[str, Segment]]) -> None:
        """CUR01 BY (buyer) wins over SE (seller); any other entity only when neither is there."""
        if not currencies:
            return
        key = next((k for k in _CURRENCY_ENTITIES if k in currencies), next(iter(currencies)))
        code, seg = currencies[key]
        if not code:
            return
        if re.fullmatch(r"[A-Z]{3}", code):
            doc.currency = code
        else:
            self.error("X12_INVALID_CURRENCY", f"CUR02 is {code!r}, which is not an ISO 4217 currency code.",
                       seg, 2)

    def reference(self, refs: dict[str, str], seg: Segment) -> None:
        """A REF into `refs`, keyed by the set's name for REF01 (else REF01 lower-cased); REF02, else REF03."""
        qualifier = seg.get(1).strip()
        value = seg.get(2).strip() or seg.get(3).strip()
        if not qualifier or not value:
            return
        key = self.reference_names.get(qualifier.upper(), qualifier.lower())
        if key not in refs:  # the usual case, without building the message keep_first would need
            refs[key] = value
        else:
            self.keep_first(refs, key, value, seg, f"{segment_tag(seg)} {qualifier}", 2)

    def keep_first(self, refs: dict[str, str], key: str, value: str, seg: Segment, what: str, element: int) -> None:
        """Keep the first value of a reference; a different repeat is a warning, an identical one is fine."""
        if key in refs:
            if refs[key] != value:
                self.warning("X12_DUPLICATE_REFERENCE", f"{what} appears again with {value!r}; the first value "
                             f"{refs[key]!r} is kept.", seg, element)
            return
        refs[key] = value

    def dtm(self, dates: dict[str, dt.date], seg: Segment) -> None:
        """A DTM into `dates`, keyed by the set's name for DTM01 (else dtm_<qualifier>); the first date
        of a kind is kept. DTM02, else a D8 DTM06."""
        qualifier = seg.get(1).strip()
        if not qualifier:
            return
        if seg.get(2).strip():
            value = self.date(seg, 2, f"date {qualifier}")
        elif seg.get(5).strip() == "D8" and seg.get(6).strip():
            value = self.date(seg, 6, f"date {qualifier}")
        else:
            return
        if value is None:
            return
        key = self.date_names.get(qualifier, f"dtm_{qualifier.lower()}")
        if key in dates:
            if dates[key] != value:
                self.warning("X12_DUPLICATE_DATE", self.repeated_date(qualifier, key, value, dates[key]), seg, 2)
            return
        dates[key] = value

    def repeated_date(self, qualifier: str, key: str, value: dt.date, first: dt.date) -> str:
        """The X12_DUPLICATE_DATE message for a DTM that repeats an earlier one with another date."""
        return (f"DTM {qualifier} appears again with {value.isoformat()}; the first date {first.isoformat()} "
                "is kept.")

    def party(self, loop: list[Segment]) -> Party:
        """One N1 loop (N1, then N2/N3/N4/REF ...) as a canonical party; its REFs become party IDs."""
        n1 = loop[0]
        code = n1.get(1).strip()
        party = Party(role=self.party_roles.get(code.upper(), code.lower()) or "unknown",
                      name=n1.get(2).strip() or None)
        qualifier, ident = n1.get(3).strip(), n1.get(4).strip()
        if ident:
            party.ids[PARTY_ID_QUALIFIERS.get(qualifier.upper(), qualifier.lower() or "id")] = ident
        names: list[str] = []
        lines: list[str] = []
        city = state = postal = country = None
        for seg in loop[1:]:
            tag = segment_tag(seg)
            if tag == "N2":
                names += [v.strip() for v in (seg.get(1), seg.get(2)) if v.strip()]
            elif tag == "N3":
                lines += [v.strip() for v in (seg.get(1), seg.get(2)) if v.strip()]
            elif tag == "N4":
                city = seg.get(1).strip() or city
                state = seg.get(2).strip() or state
                postal = seg.get(3).strip() or postal
                country = seg.get(4).strip() or country
            elif tag == "REF":
                self.reference(party.ids, seg)
        if names:
            party.name = " ".join([party.name, *names] if party.name else names)
        if lines or city or state or postal or country:
            party.address = Address(lines=lines, city=city, state=state, postal_code=postal, country=country)
        return party

    # -- lines and totals -----------------------------------------------------------------------------

    def check_line_number(self, seen: dict[str, Segment], seg: Segment, number: str, element: str) -> None:
        """Warn when a line number (`element`, e.g. PO101) was already used; `seen` remembers the first use."""
        if not number:
            return
        if number in seen:
            self.warning("X12_DUPLICATE_LINE_NUMBER",
                         f"{element} line number {number!r} is used again (first at segment "
                         f"{seen[number].number}).", seg, 1)
        else:
            seen[number] = seg

    def po1_line(self, loop: list[Segment], line_number: str, item_ids: dict[str, str],
                 po_number: str | None) -> Line:
        """The canonical line of a PO1 loop (850, 855): what the PO1 orders, described by its PIDs."""
        po1 = loop[0]
        # model_construct: every value is already typed here, and this runs once per order line
        return Line.model_construct(
            line_number=line_number,
            quantity=self.decimal(po1, 2, "X12_INVALID_QUANTITY", "quantity ordered"),
            uom=po1.get(3).strip() or None,
            unit_price=self.decimal(po1, 4, "X12_INVALID_PRICE", "unit price"),
            description=self.description(loop[1:]),
            item_ids=item_ids,
            po_number=po_number,
            package=None,
            status=None,
        )

    @staticmethod
    def description(segments: list[Segment]) -> str | None:
        """Free-form PIDs (PID01 F) joined; structured ones only when there is no free-form text."""
        texts: dict[str, list[str]] = {"F": [], "other": []}
        for seg in segments:
            if segment_tag(seg) == "PID" and seg.get(5).strip():
                texts["F" if seg.get(1).strip() == "F" else "other"].append(seg.get(5).strip())
        chosen = texts["F"] or texts["other"]
        return " ".join(chosen) if chosen else None

    def check_line_count(self, ctt: Segment, count: int, found: str) -> None:
        """CTT01 against the number of line loops; the mismatch error reads "CTT01 says N line items but
        <found>", so `found` says what the document has."""
        count_raw = ctt.get(1).strip()
        if not count_raw:
            return
        if INTEGER.match(count_raw):
            if int(count_raw) != count:
                self.error("X12_CTT_LINE_COUNT", f"CTT01 says {count_raw} line items but {found}", ctt, 1)
        else:
            self.error("X12_INVALID_NUMBER", f"CTT01 (number of line items) is {count_raw!r}, which is "
                       "not a whole number.", ctt, 1)

    def stated_amount(self, header: list[Segment],
                      summary: list[Segment]) -> tuple[Decimal | None, Segment | None]:
        """The summary AMT (CTT loop) first, then a header AMT; TT before 1 before GV."""
        for segments in (summary, header):
            amts = {s.get(1).strip(): s for s in reversed(segments) if segment_tag(s) == "AMT"}
            for qualifier in TOTAL_AMOUNT_QUALIFIERS:
                seg = amts.get(qualifier)
                if seg is not None:
                    value = self.decimal(seg, 2, "X12_INVALID_NUMBER", "monetary amount")
                    if value is not None:
                        return value, seg
        return None, None
