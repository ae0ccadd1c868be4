"""X12 850 purchase order -> canonical `order` document.

Works on what the envelope reader hands over (a `TransactionSet`), for 004010, 004010VICS and 005010,
and on a best-effort basis for older or unknown versions. Structural checks (types, lengths,
mandatory segments) belong to the guide-driven validator; this module only reports what stops it
from understanding the order: unreadable numbers and dates, a missing PO number, control totals
(CTT, AMT) that disagree with the lines. It never raises: any oddity becomes an `Issue`, so one bad
order cannot take the service down.

The qualifier tables are module constants so the 855/856/810 mappings can share the same names.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from mappings.canonical import Address, Document, Identity, Line, Party, Source, Totals
from parsers.issues import Issue, X12Ref, error, warning
from parsers.x12.reader import TransactionSet
from parsers.x12.segments import Segment

# BEG01 / BAK01 transaction set purpose codes (353) -> canonical purpose.
PURPOSES: dict[str, str] = {
    "00": "original",
    "01": "cancel",
    "04": "change",
    "05": "replace",
    "06": "confirmation",
    "07": "duplicate",
    "18": "reissue",
    "22": "information_copy",
}

# N101 entity identifier codes (98) -> canonical party role.
PARTY_ROLES: dict[str, str] = {
    "BY": "buyer",
    "ST": "ship_to",
    "BT": "bill_to",
    "SE": "seller",
    "VN": "seller",
    "SF": "ship_from",
    "RE": "remit_to",
}

# N103 identification code qualifiers (66) -> key in Party.ids.
PARTY_ID_QUALIFIERS: dict[str, str] = {
    "1": "duns",
    "9": "duns4",
    "91": "assigned_by_seller",
    "92": "assigned_by_buyer",
    "UL": "gln",
}

# REF01 / PO1 reference qualifiers (128) with a well-known meaning -> key in references.
REFERENCE_NAMES: dict[str, str] = {
    "DP": "department",
    "IA": "vendor_number",
    "PD": "promotion",
    "VR": "vendor_id",
    "CT": "contract",
}

# DTM01 date/time qualifiers (374) -> key in Document.dates.
DATE_NAMES: dict[str, str] = {
    "002": "delivery_requested",
    "010": "ship_requested",
    "037": "ship_not_before",
    "038": "ship_no_later",
    "063": "do_not_deliver_after",
    "064": "do_not_deliver_before",
}

# PO1 product/service ID qualifiers (235) -> key in Line.item_ids.
ITEM_ID_QUALIFIERS: dict[str, str] = {
    "BP": "buyer_part",
    "VP": "vendor_part",
    "VN": "vendor_part",
    "UP": "upc",
    "UK": "gtin",
    "EN": "ean",
    "IN": "buyer_item",
    "SK": "sku",
    "CB": "buyer_catalog",
    "MG": "manufacturer_part",
    "PI": "purchaser_item",
}

# AMT01 qualifiers that state the order total, most specific first.
TOTAL_AMOUNT_QUALIFIERS: tuple[str, ...] = ("TT", "1", "GV")

# Segments that may follow N1 inside an N1 loop (004010 and 005010 850 header).
_N1_LOOP_MEMBERS = frozenset({"N2", "N3", "N4", "NX2", "REF", "PER", "SI", "FOB", "TD1", "TD5", "TD3", "TD4",
                              "PKG"})
# Segments that may follow N9 inside an N9 loop: their DTMs are not order dates.
_N9_LOOP_MEMBERS = frozenset({"DTM", "MSG"})

# X12 R (real) and N (implied decimal) values: optional sign, digits, optional decimal point.
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)$")
_INTEGER = re.compile(r"^[+-]?\d+$")


def _tag(seg: Segment) -> str:
    return seg.elements[0] if seg.elements else ""


def _implied_decimal(raw: str) -> Decimal | None:
    """An N2 value (two implied decimals, e.g. SAC05 1250 = 12.50); an explicit point is taken as is."""
    if _INTEGER.match(raw):
        return Decimal(raw).scaleb(-2)
    if _NUMBER.match(raw):
        return Decimal(raw)
    return None


class _Mapper:
    """One mapping run: the set, the issues found so far and the parsing helpers that report them."""

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
        position = seg.number - segments[0].number + 1 if segments and _tag(segments[0]) == "ST" else seg.number
        value = seg.get(element) if element is not None else ""
        return X12Ref(_tag(seg), position, element_position=element, value=value)

    def error(self, code: str, message: str, seg: Segment, element: int | None = None) -> None:
        self.issues.append(error(code, message, self.where(seg, element), self.ref(seg, element)))

    def warning(self, code: str, message: str, seg: Segment, element: int | None = None) -> None:
        self.issues.append(warning(code, message, self.where(seg, element), self.ref(seg, element)))

    # -- value parsing ----------------------------------------------------------------------------

    def decimal(self, seg: Segment, element: int, code: str, what: str) -> Decimal | None:
        """An R-type value as Decimal; None when empty; None plus an error when unreadable."""
        raw = seg.get(element).strip()
        if not raw:
            return None
        if _NUMBER.match(raw):
            try:
                return Decimal(raw)
            except InvalidOperation:  # pragma: no cover - the pattern only admits valid decimals
                pass
        self.error(code, f"{_tag(seg)}{element:02d} ({what}) is {raw!r}, which is not a number.", seg, element)
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
        self.error("X12_INVALID_DATE", f"{_tag(seg)}{element:02d} ({what}) is {raw!r}, which is not a date "
                   f"({expected}).", seg, element)
        return None

    def _allows_short_dates(self) -> bool:
        """Versions 001xxx-003xxx used 6-digit dates; an unreadable version gets the benefit of the doubt."""
        v = self.version
        return not (len(v) >= 3 and v[:3].isdigit()) or v[:3] < "004"

    # -- the mapping --------------------------------------------------------------------------------

    def run(self) -> Document:
        ts = self.ts
        segments = list(ts.segments)
        st = segments[0] if segments else None
        body = segments[1:] if st is not None and _tag(st) == "ST" else segments
        if body and _tag(body[-1]) == "SE":
            body = body[:-1]

        tags = [_tag(s) for s in body]
        first_line = tags.index("PO1") if "PO1" in tags else len(body)
        # the summary starts at the first CTT after the lines (anywhere, for an order without lines)
        ctt_at = next((i for i in range(first_line if first_line < len(body) else 0, len(body))
                       if tags[i] == "CTT"), len(body))
        first_line = min(first_line, ctt_at)
        header, line_part, summary = body[:first_line], body[first_line:ctt_at], body[ctt_at:]

        doc = Document(kind="order", source=self._source())
        self._envelope_identities(doc)
        self._header(doc, header, st)
        lines_segments = self._split_lines(line_part)
        self._lines(doc, lines_segments)
        self._totals(doc, header, lines_segments, summary)
        return doc

    def _source(self) -> Source:
        ts = self.ts
        controls: dict[str, str] = {}
        try:
            isa13 = ts.group.interchange.control_number
            if isa13:
                controls["isa13"] = isa13
        except AttributeError:
            pass
        try:
            gs06 = ts.group.control_number if _tag(ts.group.gs) == "GS" else ""
            if gs06:
                controls["gs06"] = gs06
        except AttributeError:
            pass
        st02 = ts.segments[0].get(2) if ts.segments and _tag(ts.segments[0]) == "ST" else ""
        if st02:
            controls["st02"] = st02
        gs = getattr(ts.group, "gs", None)
        version = gs.get(8).strip() if gs is not None and _tag(gs) == "GS" else ""
        return Source(format="x12", version=version or None, set="850", control_numbers=controls, channel=None)

    def _envelope_identities(self, doc: Document) -> None:
        try:
            interchange = self.ts.group.interchange
            sender, receiver = interchange.sender, interchange.receiver
        except AttributeError:
            return
        if sender[1]:
            doc.sender = Identity(qualifier=sender[0], id=sender[1])
        if receiver[1]:
            doc.receiver = Identity(qualifier=receiver[0], id=receiver[1])

    def _header(self, doc: Document, header: list[Segment], st: Segment | None) -> None:
        beg = next((s for s in header if _tag(s) == "BEG"), None)
        if beg is None:
            anchor = st if st is not None else (header[0] if header else None)
            message = "The order has no BEG segment, so it has no purchase order number."
            if anchor is not None:
                self.error("X12_PO_NUMBER_MISSING", message, anchor)
            else:
                self.issues.append(error("X12_PO_NUMBER_MISSING", message))
        else:
            self._beg(doc, beg)

        currencies: dict[str, tuple[str, Segment]] = {}
        i = 0
        while i < len(header):
            seg = header[i]
            tag = _tag(seg)
            if tag == "CUR":
                currencies.setdefault(seg.get(1).strip(), (seg.get(2).strip(), seg))
            elif tag == "REF":
                self._reference(doc.references, seg)
            elif tag == "DTM":
                self._dtm(doc.dates, seg)
            elif tag == "N9":
                # N9 loop: its DTM/MSG describe the note, not the order
                while i + 1 < len(header) and _tag(header[i + 1]) in _N9_LOOP_MEMBERS:
                    i += 1
            elif tag == "N1":
                j = i + 1
                while j < len(header) and _tag(header[j]) in _N1_LOOP_MEMBERS:
                    j += 1
                doc.parties.append(self._party(header[i:j]))
                i = j
                continue
            i += 1
        self._currency(doc, currencies)

    def _beg(self, doc: Document, beg: Segment) -> None:
        purpose = beg.get(1).strip()
        doc.purpose = PURPOSES.get(purpose, purpose) or None
        if beg.get(2).strip():
            doc.references["order_type"] = beg.get(2).strip()
        number = beg.get(3).strip()
        if number:
            doc.number = doc.po_number = number
        else:
            self.error("X12_PO_NUMBER_MISSING", "BEG03 (purchase order number) is empty.", beg, 3)
        if beg.get(4).strip():
            doc.references["release"] = beg.get(4).strip()
        doc.date = self.date(beg, 5, "purchase order date")
        if beg.get(6).strip():
            doc.references["contract"] = beg.get(6).strip()

    def _currency(self, doc: Document, currencies: dict[str, tuple[str, Segment]]) -> None:
        """CUR01 BY (buyer) wins over SE (seller); any other entity only when neither is there."""
        if not currencies:
            return
        key = next((k for k in ("BY", "SE") if k in currencies), next(iter(currencies)))
        code, seg = currencies[key]
        if not code:
            return
        if re.fullmatch(r"[A-Z]{3}", code):
            doc.currency = code
        else:
            self.error("X12_INVALID_CURRENCY", f"CUR02 is {code!r}, which is not an ISO 4217 currency code.",
                       seg, 2)

    def _reference(self, refs: dict[str, str], seg: Segment) -> None:
        qualifier = seg.get(1).strip()
        value = seg.get(2).strip() or seg.get(3).strip()
        if not qualifier or not value:
            return
        key = REFERENCE_NAMES.get(qualifier.upper(), qualifier.lower())
        if key in refs:
            if refs[key] != value:
                self.warning("X12_DUPLICATE_REFERENCE",
                             f"{_tag(seg)} {qualifier} appears again with {value!r}; the first value "
                             f"{refs[key]!r} is kept.", seg, 2)
            return
        refs[key] = value

    def _dtm(self, dates: dict[str, dt.date], seg: Segment) -> None:
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
        key = DATE_NAMES.get(qualifier, f"dtm_{qualifier.lower()}")
        if key in dates:
            if dates[key] != value:
                self.warning("X12_DUPLICATE_DATE", f"DTM {qualifier} appears again with {value.isoformat()}; "
                             f"the first date {dates[key].isoformat()} is kept.", seg, 2)
            return
        dates[key] = value

    def _party(self, loop: list[Segment]) -> Party:
        n1 = loop[0]
        code = n1.get(1).strip()
        party = Party(role=PARTY_ROLES.get(code.upper(), code.lower()) or "unknown",
                      name=n1.get(2).strip() or None)
        qualifier, ident = n1.get(3).strip(), n1.get(4).strip()
        if ident:
            party.ids[PARTY_ID_QUALIFIERS.get(qualifier.upper(), qualifier.lower() or "id")] = ident
        names: list[str] = []
        lines: list[str] = []
        city = state = postal = country = None
        for seg in loop[1:]:
            tag = _tag(seg)
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
                self._reference(party.ids, seg)
        if names:
            party.name = " ".join([party.name, *names] if party.name else names)
        if lines or city or state or postal or country:
            party.address = Address(lines=lines, city=city, state=state, postal_code=postal, country=country)
        return party

    @staticmethod
    def _split_lines(line_part: list[Segment]) -> list[list[Segment]]:
        loops: list[list[Segment]] = []
        for seg in line_part:
            if _tag(seg) == "PO1" or not loops:
                loops.append([seg])
            else:
                loops[-1].append(seg)
        return loops

    def _lines(self, doc: Document, loops: list[list[Segment]]) -> None:
        seen: dict[str, Segment] = {}
        for ordinal, loop in enumerate(loops, start=1):
            po1 = loop[0]
            number = po1.get(1).strip()
            if number:
                if number in seen:
                    self.warning("X12_DUPLICATE_LINE_NUMBER",
                                 f"PO101 line number {number!r} is used again (first at segment "
                                 f"{seen[number].number}).", po1, 1)
                else:
                    seen[number] = po1
            item_ids: dict[str, str] = {}
            elements = po1.elements
            for q in range(6, len(elements) - 1, 2):
                qualifier, value = elements[q].strip(), elements[q + 1].strip()
                if qualifier and value:
                    item_ids.setdefault(ITEM_ID_QUALIFIERS.get(qualifier.upper(), qualifier.lower()), value)
            # model_construct: every value is already typed here, and this runs once per order line
            line = Line.model_construct(
                line_number=number or str(ordinal),
                quantity=self.decimal(po1, 2, "X12_INVALID_QUANTITY", "quantity ordered"),
                uom=po1.get(3).strip() or None,
                unit_price=self.decimal(po1, 4, "X12_INVALID_PRICE", "unit price"),
                description=self._description(loop[1:]),
                item_ids=item_ids,
                po_number=doc.number,
                package=None,
                status=None,
            )
            for seg in loop[1:]:
                if _tag(seg) == "N1":
                    # e.g. a per-line ship-to (store distribution): the canonical line has no parties
                    self.warning("X12_LINE_PARTY_NOT_MAPPED",
                                 f"Line {line.line_number} names its own party (N101 {seg.get(1).strip()!r}, "
                                 f"{seg.get(2).strip() or seg.get(4).strip()!r}); line-level parties are not "
                                 "carried into the order, check it by hand.", seg, 1)
            doc.lines.append(line)

    @staticmethod
    def _description(segments: list[Segment]) -> str | None:
        """Free-form PIDs (PID01 F) joined; structured ones only when there is no free-form text."""
        texts: dict[str, list[str]] = {"F": [], "other": []}
        for seg in segments:
            if _tag(seg) == "PID" and seg.get(5).strip():
                texts["F" if seg.get(1).strip() == "F" else "other"].append(seg.get(5).strip())
        chosen = texts["F"] or texts["other"]
        return " ".join(chosen) if chosen else None

    def _totals(self, doc: Document, header: list[Segment], loops: list[list[Segment]],
                summary: list[Segment]) -> None:
        totals = Totals(line_count=len(loops))
        lines = doc.lines

        # sums only when every line contributes: a partial sum would be a wrong total, not a total
        quantities = [ln.quantity for ln in lines if ln.quantity is not None]
        computed_quantity = sum(quantities, Decimal(0)) if lines and len(quantities) == len(lines) else None
        extensions = [ln.quantity * ln.unit_price for ln in lines
                      if ln.quantity is not None and ln.unit_price is not None]
        extended = sum(extensions, Decimal(0)) if lines and len(extensions) == len(lines) else None
        exponent = extended.as_tuple().exponent if extended is not None else None
        if extended is not None and isinstance(exponent, int) and exponent > -2:
            extended = extended.quantize(Decimal("0.01"))  # money in cents; finer prices are kept exact

        ctt = next((s for s in summary if _tag(s) == "CTT"), None)
        stated_quantity: Decimal | None = None
        if ctt is not None:
            count_raw = ctt.get(1).strip()
            if count_raw:
                if _INTEGER.match(count_raw):
                    if int(count_raw) != len(loops):
                        self.error("X12_CTT_LINE_COUNT",
                                   f"CTT01 says {count_raw} line items but the order has {len(loops)} PO1 "
                                   "segments.", ctt, 1)
                else:
                    self.error("X12_INVALID_NUMBER", f"CTT01 (number of line items) is {count_raw!r}, which is "
                               "not a whole number.", ctt, 1)
            stated_quantity = self.decimal(ctt, 2, "X12_INVALID_NUMBER", "hash total")
            if stated_quantity is not None and computed_quantity is not None \
                    and stated_quantity != computed_quantity:
                self.warning("X12_CTT_HASH_TOTAL",
                             f"CTT02 hash total is {format(stated_quantity, 'f')} but the PO102 quantities add "
                             f"up to {format(computed_quantity, 'f')}.", ctt, 2)
        totals.quantity = stated_quantity if stated_quantity is not None else computed_quantity

        amount, amount_seg = self._stated_amount(header, summary)
        totals.amount = amount if amount is not None else extended
        if amount is not None and amount_seg is not None and extended is not None:
            adjusted = extended + self._charges(header, loops)
            tolerance = Decimal("0.005") * max(1, len(lines))
            if abs(amount - extended) > tolerance and abs(amount - adjusted) > tolerance:
                extra = (f" (or {format(adjusted, 'f')} with the SAC charges and allowances)"
                         if adjusted != extended else "")
                self.warning("X12_TOTAL_MISMATCH",
                             f"AMT{amount_seg.get(1).strip()} total is {format(amount, 'f')} but quantity x "
                             f"unit price over the lines is {format(extended, 'f')}{extra}.", amount_seg, 2)
        doc.totals = totals

    def _stated_amount(self, header: list[Segment],
                       summary: list[Segment]) -> tuple[Decimal | None, Segment | None]:
        """The summary AMT (CTT loop) first, then a header AMT; TT before 1 before GV."""
        for segments in (summary, header):
            amts = {s.get(1).strip(): s for s in reversed(segments) if _tag(s) == "AMT"}
            for qualifier in TOTAL_AMOUNT_QUALIFIERS:
                seg = amts.get(qualifier)
                if seg is not None:
                    value = self.decimal(seg, 2, "X12_INVALID_NUMBER", "monetary amount")
                    if value is not None:
                        return value, seg
        return None, None

    def _charges(self, header: list[Segment], loops: list[list[Segment]]) -> Decimal:
        """Net SAC charges minus allowances (SAC05, two implied decimals), header and line level."""
        net = Decimal(0)
        for seg in [*header, *(s for loop in loops for s in loop[1:])]:
            if _tag(seg) != "SAC":
                continue
            value = _implied_decimal(seg.get(5).strip())
            if value is None:
                continue  # SAC is not mapped; its type errors are the validator's to report
            indicator = seg.get(1).strip()
            if indicator == "A":
                net -= value
            elif indicator == "C":
                net += value
        return net


def map_850(ts: TransactionSet) -> tuple[Document, list[Issue]]:
    """Map one 850 transaction set to a canonical `order` plus the mapping issues found on the way."""
    mapper = _Mapper(ts)
    doc = mapper.run()
    return doc, mapper.issues
