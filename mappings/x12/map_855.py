"""X12 855 purchase order acknowledgment -> canonical `order_response` document.

What the document says, in canonical terms (DESIGN.md, "Canonical document"):
- `number` is the seller's own order number BAK08 when sent, else the PO number BAK03; `po_number` is
  BAK03, the order this answers; `date` is BAK04, the date of that purchase order (as the standard
  defines it), and the acknowledgment's own date BAK09 goes to `dates["acknowledged"]`.
- `purpose` comes from BAK01 (00 original, 06 confirmation, 11 response, ...).
- BAK02 is kept as sent in `references["ack_type"]`, and said plainly in `references["outcome"]`:
  `accepted` (AD, AK, AT, AP), `accepted_with_changes` (AC, AE), `rejected` (RD, RF, RJ, RN, RO, RV)
  or `on_hold` (AH). NA and ZZ say nothing about the outcome, so there is no `outcome` for them.
- Lines come from the PO1 loops. A line keeps what the PO1 echoes of the order (PO102 quantity
  ordered, PO103 unit, PO104 price, item IDs), so it lines up with the order it answers. Its
  `status` is one word from its ACK segment(s) (ACK01): `accepted` (IA, AC, AR, IE, SP), `changed`
  (IC, IP, IQ, IS, DR, AA), `rejected` (IR, ID, R1-R8), `backordered` (IB, BP) or `on_hold` (IH, IF,
  IW). Several ACKs on one line (e.g. IA 6 + IB 4) give one word: the same word if they agree,
  `backordered` when only accepted and backordered parts are mixed, else `changed`. A line without
  ACK has no status (the header outcome applies).
- What an ACK says beyond that word is kept, because the canonical line has no place for it (no
  per-line references yet): `references["line.<line_number>.ack"]` lists the line's ACKs as
  `CODE[ QTY UOM][ @QUAL:CCYYMMDD][ +QUAL:ID...]` joined by `"; "`, e.g.
  `"IA 6 EA; IB 4 EA @068:20250415"` (ACK01, ACK02 ACK03, ACK04:ACK05, ACK07-ACK26 pairs). It is left
  out when the line has exactly one ACK with the word's usual code (IA, IC, IR, IB, IH) whose
  quantity and unit, if given, are the PO1's and that carries no date or item: then the status says
  it all. So the acknowledged quantity of a changed line is always there to read next to the ordered
  one.
- CTT01 must count the PO1 loops (error X12_CTT_LINE_COUNT); CTT02 may hash either the PO102 or the
  ACK02 quantities (partners do both), anything else is a warning.
- UPC, EAN and GTIN values (PO1/ACK/LIN qualifiers UP, EN, UK) must carry a valid GS1 check digit
  (error X12_GTIN_CHECK_DIGIT at the element).

Like the 850 mapping it never raises; it reads with the shared code lists and readers (`mapping_base`).
"""

from __future__ import annotations

from decimal import Decimal

from mappings.canonical import Document, Line, Totals
from mappings.check_digits import ean_valid, gs1_check_digit, gtin_valid, upc_valid
from mappings.x12.code_lists import DATE_NAMES, ITEM_ID_QUALIFIERS, PARTY_ROLES, PURPOSES
from mappings.x12.mapping_base import (
    SetMapper,
    order_extension,
    segment_tag,
    set_body,
    split_loops,
    split_sections,
    total_quantity,
)
from parsers.issues import Issue
from parsers.x12.reader import TransactionSet
from parsers.x12.segments import Segment

# BAK01 purpose codes (353) an 855 uses beyond those of the 850.
ACK_PURPOSES: dict[str, str] = {**PURPOSES, "11": "response", "13": "request", "14": "advance_notification"}

# BAK02 acknowledgment type (587) -> plain outcome word.
OUTCOMES: dict[str, str] = {
    "AC": "accepted_with_changes",  # acknowledge - with detail and change
    "AD": "accepted",  # acknowledge - with detail, no change
    "AE": "accepted_with_changes",  # acknowledge - with exception detail only
    "AH": "on_hold",  # acknowledge - hold status
    "AK": "accepted",  # acknowledge - no detail or change
    "AP": "accepted",  # acknowledge - product replenishment
    "AT": "accepted",  # accepted
    "RD": "rejected",  # reject with detail
    "RF": "rejected",  # reject with exception detail only
    "RJ": "rejected",  # rejected - no detail
    "RN": "rejected",  # rejected - not as agreed
    "RO": "rejected",  # rejected with counter offer
    "RV": "rejected",  # rejected - violates industry practices
}
SILENT_ACK_TYPES = frozenset({"NA", "ZZ"})  # no acknowledgment needed / mutually defined

# ACK01 line item status (668) -> canonical line status word.
LINE_STATUSES: dict[str, str] = {
    "IA": "accepted", "AC": "accepted", "AR": "accepted", "IE": "accepted", "SP": "accepted",
    "IC": "changed", "IP": "changed", "IQ": "changed", "IS": "changed", "DR": "changed", "AA": "changed",
    "IR": "rejected", "ID": "rejected", "R1": "rejected", "R2": "rejected", "R3": "rejected", "R4": "rejected",
    "R5": "rejected", "R6": "rejected", "R7": "rejected", "R8": "rejected",
    "IB": "backordered", "BP": "backordered",
    "IH": "on_hold", "IF": "on_hold", "IW": "on_hold",
}
# The ACK01 code a status word is written as when nothing more is known.
STATUS_CODES: dict[str, str] = {"accepted": "IA", "changed": "IC", "rejected": "IR", "backordered": "IB",
                                "on_hold": "IH"}

# DTM qualifiers an 855 uses beyond the 850's.
ACK_DATE_NAMES: dict[str, str] = {
    **DATE_NAMES,
    "017": "estimated_delivery",
    "067": "current_schedule_delivery",
    "068": "current_schedule_ship",
    "069": "promised_delivery",
    "079": "promised_ship",
}

# BAK elements kept as references (BAK08 also becomes the number).
BAK_REFERENCES: dict[int, str] = {5: "release", 6: "request_reference", 7: "contract", 8: "seller_order",
                                  10: "transaction_type"}

# N101 codes an 855 uses for the supplier that the 850 table lacks.
EXTRA_PARTY_ROLES: dict[str, str] = {"SU": "seller"}
ACK_PARTY_ROLES: dict[str, str] = {**PARTY_ROLES, **EXTRA_PARTY_ROLES}

# Product ID qualifiers whose values carry a GS1 check digit, and the rule for each.
GS1_QUALIFIERS = {"UP": ("UPC-A", upc_valid), "EN": ("EAN", ean_valid), "UK": ("GTIN-14", gtin_valid)}


def ack_reference_key(line_number: str) -> str:
    """The document reference that holds a line's ACK details (see the module docstring)."""
    return f"line.{line_number}.ack"


def combine_statuses(words: list[str]) -> str | None:
    """One status word for a line with several ACKs (see the module docstring)."""
    distinct = list(dict.fromkeys(w for w in words if w))
    if not distinct:
        return None
    if len(distinct) == 1:
        return distinct[0]
    if set(distinct) == {"accepted", "backordered"}:
        return "backordered"
    return "changed"


class _AckMapper(SetMapper):
    """One 855 mapping run: the shared readers (locations, numbers, dates, parties, references) driven by
    the acknowledgment's layout."""

    set_id = "855"
    date_names = ACK_DATE_NAMES
    party_roles = ACK_PARTY_ROLES
    n1_loop_members = frozenset({"N2", "N3", "N4", "NX2", "REF", "PER", "SI", "FOB", "TD1", "TD5", "TD3", "TD4",
                                 "PKG", "MSG", "MTX", "IN2"})
    n9_loop_members = frozenset({"DTM", "MSG", "MTX", "PWK", "EFI"})

    # -- the mapping ------------------------------------------------------------------------------

    def run(self) -> Document:
        st, body = set_body(list(self.ts.segments))
        header, line_part, summary = split_sections(body, "PO1")

        doc = self.new_document("order_response")
        self._ack_header(doc, header, st)
        loops = split_loops(line_part, "PO1")
        ack_quantities = self._ack_lines(doc, loops)
        self._ack_totals(doc, header, loops, summary, ack_quantities)
        self._consistency(doc)
        return doc

    def _ack_header(self, doc: Document, header: list[Segment], st: Segment | None) -> None:
        bak = self.beginning_segment(header, "BAK", st, "X12_PO_NUMBER_MISSING", "The acknowledgment has no BAK "
                                     "segment, so it does not say which purchase order it answers.")
        if bak is not None:
            self._bak(doc, bak)
        self.currency(doc, self.read_header(doc, header))

    def _bak(self, doc: Document, bak: Segment) -> None:
        purpose = bak.get(1).strip()
        doc.purpose = ACK_PURPOSES.get(purpose, purpose) or None
        ack_type = bak.get(2).strip()
        if ack_type:
            doc.references["ack_type"] = ack_type
            outcome = OUTCOMES.get(ack_type.upper())
            if outcome:
                doc.references["outcome"] = outcome
            elif ack_type.upper() not in SILENT_ACK_TYPES:
                self.warning("X12_ACK_TYPE_UNKNOWN",
                             f"BAK02 acknowledgment type {ack_type!r} is not one the gateway knows, so the "
                             "order's outcome (accepted, accepted with changes, rejected) is not known; "
                             "expected a code such as AC, AD, AK, RD or RJ.", bak, 2)
        po_number = bak.get(3).strip()
        if po_number:
            doc.po_number = po_number
        else:
            self.error("X12_PO_NUMBER_MISSING", "BAK03 (purchase order number) is empty: the acknowledgment "
                       "does not say which order it answers.", bak, 3)
        for position, key in BAK_REFERENCES.items():
            value = bak.get(position).strip()
            if value:
                doc.references[key] = value
        doc.number = doc.references.get("seller_order") or po_number or None
        doc.date = self.date(bak, 4, "purchase order date")
        acknowledged = self.date(bak, 9, "acknowledgment date")
        if acknowledged is not None:
            doc.dates["acknowledged"] = acknowledged

    # -- lines ----------------------------------------------------------------------------------------

    def _item_ids(self, seg: Segment, first: int, last: int, into: dict[str, str]) -> None:
        """Qualifier/ID pairs from element `first` to `last`, with GS1 check digits verified."""
        elements = seg.elements
        for q in range(first, min(last, len(elements) - 2) + 1, 2):
            qualifier, value = elements[q].strip().upper(), elements[q + 1].strip()
            if not qualifier or not value:
                continue
            into.setdefault(ITEM_ID_QUALIFIERS.get(qualifier, qualifier.lower()), value)
            self._check_gs1(seg, q, qualifier, value)

    def _check_gs1(self, seg: Segment, position: int, qualifier: str, value: str) -> None:
        rule = GS1_QUALIFIERS.get(qualifier)
        if rule is None:
            return
        name, valid = rule
        if not valid(value):
            if value.isdigit() and len(value) > 1:
                problem = f"its check digit should be {self._expected_digit(value)}, not {value[-1]}"
            else:
                problem = "it is not all digits of a GS1 length"
            self.error("X12_GTIN_CHECK_DIGIT",
                       f"{segment_tag(seg)}{position + 1:02d} {name} {value!r} (qualifier {qualifier}) is not valid: "
                       f"{problem}. Check the item number in the partner's catalogue.", seg, position + 1)

    @staticmethod
    def _expected_digit(value: str) -> int:
        return gs1_check_digit(value[:-1])

    def _ack_lines(self, doc: Document, loops: list[list[Segment]]) -> list[Decimal]:
        """Map the PO1 loops; returns the ACK02 quantities seen (for the CTT hash total)."""
        seen: dict[str, Segment] = {}
        ack_quantities: list[Decimal] = []
        for ordinal, loop in enumerate(loops, start=1):
            po1 = loop[0]
            number = po1.get(1).strip()
            self.check_line_number(seen, po1, number, "PO101")
            item_ids: dict[str, str] = {}
            if segment_tag(po1) == "PO1":
                self._item_ids(po1, 6, 24, item_ids)
            line = self.po1_line(loop, number or str(ordinal), item_ids, doc.po_number)
            acks: list[tuple[str, Decimal | None, str, str, str, list[tuple[str, str]]]] = []
            for seg in loop[1:]:
                tag = segment_tag(seg)
                if tag == "LIN":
                    self._item_ids(seg, 2, 30, {})
                elif tag == "ACK":
                    acks.append(self._ack(seg, line.line_number or str(ordinal)))
            for ack in acks:
                if ack[1] is not None:
                    ack_quantities.append(ack[1])
            line.status = combine_statuses([LINE_STATUSES.get(a[0].upper(), "") for a in acks])
            detail = self._ack_detail(line, acks)
            if detail:
                doc.references[ack_reference_key(line.line_number or str(ordinal))] = detail
            doc.lines.append(line)
        return ack_quantities

    def _ack(self, seg: Segment, line_number: str) -> tuple[str, Decimal | None, str, str, str,
                                                           list[tuple[str, str]]]:
        code = seg.get(1).strip()
        if code and code.upper() not in LINE_STATUSES:
            self.warning("X12_LINE_STATUS_UNKNOWN",
                         f"Line {line_number}: ACK01 line item status {code!r} is not one the gateway knows, "
                         "so the line's status is not known; expected a code such as IA (accepted), IC "
                         "(changed), IR (rejected) or IB (backordered).", seg, 1)
        quantity = self.decimal(seg, 2, "X12_INVALID_QUANTITY", "acknowledged quantity")
        date_raw = ""
        if seg.get(5).strip() and self.date(seg, 5, "acknowledged line date") is not None:
            date_raw = seg.get(5).strip()
        ids: list[tuple[str, str]] = []
        for q in range(7, min(25, len(seg.elements) - 2) + 1, 2):
            qualifier, value = seg.get(q).strip(), seg.get(q + 1).strip()
            if qualifier and value:
                ids.append((qualifier, value))
                self._check_gs1(seg, q, qualifier.upper(), value)
        return code, quantity, seg.get(3).strip(), seg.get(4).strip(), date_raw, ids

    @staticmethod
    def _ack_detail(line: Line, acks: list[tuple[str, Decimal | None, str, str, str, list[tuple[str, str]]]]) -> str:
        """The `line.<n>.ack` text, or '' when the status word says everything (module docstring)."""
        if not acks:
            return ""
        if len(acks) == 1:
            code, quantity, uom, qualifier, date, ids = acks[0]
            word = LINE_STATUSES.get(code.upper())
            plain_quantity = quantity is None or (quantity == line.quantity and (uom or None) == line.uom)
            if word and STATUS_CODES[word] == code and plain_quantity and not qualifier and not date and not ids:
                return ""
        entries = []
        for code, quantity, uom, qualifier, date, ids in acks:
            parts = [code or "-"]
            if quantity is not None:
                parts += [format(quantity, "f"), uom or "-"]
            if qualifier or date:
                parts.append(f"@{qualifier}:{date}")
            parts += [f"+{q}:{v}" for q, v in ids]
            entries.append(" ".join(parts))
        return "; ".join(entries)

    # -- totals and checks -----------------------------------------------------------------------------

    def _ack_totals(self, doc: Document, header: list[Segment], loops: list[list[Segment]], summary: list[Segment],
                    ack_quantities: list[Decimal]) -> None:
        lines = doc.lines
        totals = Totals(line_count=len(loops))
        computed = total_quantity(lines)
        acknowledged = sum(ack_quantities, Decimal(0)) if ack_quantities else None
        extended = order_extension(lines)
        ctt = next((s for s in summary if segment_tag(s) == "CTT"), None)
        stated: Decimal | None = None
        if ctt is not None:
            self.check_line_count(ctt, len(loops), f"the acknowledgment has {len(loops)} PO1 segments; a line "
                                  "may be missing or the count is wrong.")
            stated = self.decimal(ctt, 2, "X12_INVALID_NUMBER", "hash total")
            if stated is not None and computed is not None and stated != computed and stated != acknowledged:
                also = (f" and the ACK02 quantities to {format(acknowledged, 'f')}"
                        if acknowledged is not None else "")
                self.warning("X12_CTT_HASH_TOTAL",
                             f"CTT02 hash total is {format(stated, 'f')} but the PO102 quantities add up to "
                             f"{format(computed, 'f')}{also}.", ctt, 2)
        totals.quantity = stated if stated is not None else computed
        amount, _ = self.stated_amount([], summary)
        totals.amount = amount if amount is not None else extended
        doc.totals = totals

    def _consistency(self, doc: Document) -> None:
        """A 'no change' acknowledgment whose lines are changed or rejected says two things at once."""
        ack_type = doc.references.get("ack_type", "").upper()
        if ack_type not in ("AD", "AK"):
            return
        odd = [ln.line_number or "?" for ln in doc.lines if ln.status not in (None, "accepted")]
        if odd:
            bak = next((s for s in self.ts.segments if segment_tag(s) == "BAK"), None)
            if bak is not None:
                self.warning("X12_ACK_TYPE_LINES_DISAGREE",
                             f"BAK02 {ack_type} says the order is accepted without change, but line(s) "
                             f"{', '.join(odd)} are acknowledged as changed, rejected, backordered or on hold; "
                             "the partner probably meant AC (accepted with changes).", bak, 2)


def map_855(ts: TransactionSet) -> tuple[Document, list[Issue]]:
    """Map one 855 transaction set to a canonical `order_response` plus the mapping issues found."""
    mapper = _AckMapper(ts)
    doc = mapper.run()
    return doc, mapper.issues
