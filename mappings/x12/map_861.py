"""X12 861 receiving advice -> canonical `receipt` document.

A supplier's (or a 3PL's, or a store's) 861 says what arrived against which purchase order: one RCD
loop per line received. The canonical receipt keeps what matching needs on every line - the quantity
received in its unit, the item ids, the purchase order and the PO line - so a partner's 861 counts as
a goods receipt exactly like one the ERP posts to `/api/receipts`.

Where things are read from (the first one present wins):
- number BRA01, date BRA02, purpose BRA03; the receiving advice type BRA04 in `references`;
- the purchase order: PRF01 (or REF*PO) in the RCD loop, else PRF01 / REF*PO in the heading;
- the PO line: REF*LI in the RCD loop, else LIN01, else RCD01 (partners put the PO line number in
  one of them; a line without one still matches by its item ids);
- quantities: RCD02 received (or accepted) in the unit RCD03; RCD04 returned or rejected and RCD06
  in question become extra lines with `status` `rejected` / `in_question` and never count as received.

Like every mapping it never raises: unreadable numbers and dates, a wrong GTIN check digit, a CTT
that does not count the RCD loops, or an 861 without any line become issues naming the segment.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from mappings.canonical import Document, Line, Totals
from mappings.check_digits import gs1_check_digit
from mappings.x12.code_lists import DATE_NAMES, PARTY_ROLES, PURPOSES, REFERENCE_NAMES
from mappings.x12.mapping_base import SetMapper, item_ids, segment_tag, set_body, split_loops, split_sections
from parsers.issues import Issue, error
from parsers.x12.reader import TransactionSet
from parsers.x12.segments import Segment

# N101 entity codes (98) on receiving advices -> canonical role (the 850 table first).
RECEIPT_PARTY_ROLES: dict[str, str] = {**PARTY_ROLES, "SU": "seller", "WH": "warehouse", "RC": "receiving_location",
                                       "DE": "depositor", "SH": "shipper", "CA": "carrier", "OB": "buyer"}

# REF01 / N901 qualifiers (128) on receiving advices -> key in references.
RECEIPT_REFERENCE_NAMES: dict[str, str] = {**REFERENCE_NAMES, "PO": "po", "LI": "po_line", "BM": "bill_of_lading",
                                           "CN": "pro_number", "PK": "packing_list", "SI": "shipper_reference",
                                           "RV": "receiving_number", "IV": "invoice", "VN": "vendor_order",
                                           "WS": "warehouse_storage_location", "SN": "seal_number"}

# DTM01 qualifiers (374) on receiving advices -> key in dates.
RECEIPT_DATE_NAMES: dict[str, str] = {**DATE_NAMES, "050": "received", "011": "shipped", "035": "delivered",
                                      "004": "purchase_order", "009": "processed"}

# Product ID qualifiers (235) whose values carry a GS1 check digit: (name, allowed lengths).
GS1_QUALIFIERS: dict[str, tuple[str, tuple[int, ...]]] = {
    "UP": ("UPC-A", (12,)),
    "EN": ("EAN", (8, 13)),
    "UK": ("GTIN", (8, 12, 13, 14)),
}

# Line statuses that are not goods received (matching skips them).
NOT_RECEIVED = frozenset({"rejected", "in_question"})


class ReceiptMapper(SetMapper):
    """What the 861 and 944 mappings share: GTIN checks, the totals of a receipt, the PO reference."""

    reference_names = RECEIPT_REFERENCE_NAMES
    date_names = RECEIPT_DATE_NAMES
    party_roles = RECEIPT_PARTY_ROLES

    def check_gtins(self, seg: Segment, pairs: range) -> None:
        """Every UPC / EAN / GTIN among the qualifier/ID pairs at `pairs` must have a right check digit."""
        for q in pairs:
            spec = GS1_QUALIFIERS.get(seg.get(q).strip().upper())
            if spec is None:
                continue
            self.check_gs1(seg, q + 1, *spec)

    def check_gs1(self, seg: Segment, element: int, name: str, lengths: tuple[int, ...]) -> None:
        value = seg.get(element).strip()
        if not value:
            return
        if not (value.isdigit() and len(value) in lengths and gs1_check_digit(value[:-1]) == int(value[-1])):
            self.error("X12_GTIN_CHECK_DIGIT", f"{segment_tag(seg)}{element:02d} {value!r} is not a valid {name} "
                       f"(its check digit or length is wrong). Check the product code with the item master.",
                       seg, element)

    @staticmethod
    def receipt_totals(doc: Document) -> None:
        """Received quantity over the received lines; rejected and questioned quantities apart."""
        received = [ln for ln in doc.lines if ln.status not in NOT_RECEIVED]
        fields: dict[str, Any] = {"line_count": len(received)}
        if received and all(ln.quantity is not None for ln in received):
            fields["quantity"] = sum((ln.quantity for ln in received if ln.quantity is not None), Decimal(0))
        for status in sorted(NOT_RECEIVED):
            quantities = [ln.quantity for ln in doc.lines if ln.status == status and ln.quantity is not None]
            if quantities:
                fields[status] = sum(quantities, Decimal(0))
        doc.totals = Totals(**fields)

    def no_lines(self, doc: Document, anchor: Segment | None, what: str) -> None:
        if not doc.lines:
            message = (f"The receiving advice has no {what}, so it says nothing about what was received; "
                       "ask the partner to send one line per item received.")
            if anchor is not None:
                self.error("X12_RECEIPT_NO_LINES", message, anchor)
            else:
                self.issues.append(error("X12_RECEIPT_NO_LINES", message))


class _ReceivingAdviceMapper(ReceiptMapper):
    """One 861 mapping run."""

    set_id = "861"
    n1_loop_members = frozenset({"N2", "N3", "N4", "REF", "PER"})

    def run(self) -> Document:
        st, body = set_body(list(self.ts.segments))
        header, detail, summary = split_sections(body, "RCD", ("CTT",))
        doc = self.new_document("receipt")
        bra = self.beginning_segment(header, "BRA", st, "X12_RECEIPT_NUMBER_MISSING",
                                     "The receiving advice has no BRA segment, so it has no number or date.")
        if bra is not None:
            doc.number = bra.get(1).strip() or None
            doc.date = self.date(bra, 2, "receiving advice date")
            code = bra.get(3).strip()
            doc.purpose = PURPOSES.get(code, code.lower() or None) if code else None
            if bra.get(4).strip():
                doc.references["receiving_advice_type"] = bra.get(4).strip()

        prfs: list[Segment] = []

        def other(seg: Segment, tag: str) -> None:
            if tag == "PRF":
                prfs.append(seg)

        currencies = self.read_header(doc, header, other)
        self.currency(doc, currencies)
        doc.po_number = next((p.get(1).strip() for p in prfs if p.get(1).strip()), None) or doc.references.get("po")
        if prfs and prfs[0].get(4).strip():
            po_date = self.date(prfs[0], 4, "purchase order date")
            if po_date is not None:
                doc.dates.setdefault("purchase_order", po_date)

        loops = split_loops(detail, "RCD")
        seen: dict[str, Segment] = {}
        for ordinal, loop in enumerate(loops, 1):
            doc.lines.extend(self._lines(loop, ordinal, doc.po_number, seen))
        self.receipt_totals(doc)
        ctt = next((s for s in summary if segment_tag(s) == "CTT"), None)
        if ctt is not None:
            self.check_line_count(ctt, len(loops), f"the receiving advice has {len(loops)} RCD loops.")
        self.no_lines(doc, bra or st, "RCD loop")
        if doc.po_number is None and doc.lines and any(ln.po_number is None for ln in doc.lines):
            self.error("X12_RECEIPT_PO_MISSING", "The receiving advice names no purchase order (PRF01 or REF*PO, "
                       "in the heading or the RCD loop), so the goods cannot be booked against an order.",
                       bra or st or loops[0][0])
        return doc

    def _lines(self, loop: list[Segment], ordinal: int, header_po: str | None, seen: dict[str, Segment]) -> list[Line]:
        rcd = loop[0]
        lin = next((s for s in loop if segment_tag(s) == "LIN"), None)
        refs: dict[str, str] = {}
        po_number: str | None = None
        for seg in loop[1:]:
            tag = segment_tag(seg)
            if tag == "REF":
                self.reference(refs, seg)
            elif tag == "PRF" and po_number is None and seg.get(1).strip():
                po_number = seg.get(1).strip()
        po_number = po_number or refs.get("po") or header_po
        ids: dict[str, str] = {}
        if lin is not None:
            ids = item_ids(lin, 2)
            self.check_gtins(lin, range(2, len(lin.elements) - 1, 2))
        number = refs.get("po_line") or (lin.get(1).strip() if lin is not None else "") or rcd.get(1).strip() or None
        if number:
            self.check_line_number(seen, rcd, number, "RCD loop")
        if not ids and number is None:
            self.warning("X12_ITEM_ID_MISSING", f"RCD loop {ordinal} has neither a LIN with item ids nor a PO line "
                         "number, so it cannot be matched to an order line.", rcd)
        description = self.description(loop[1:])
        out: list[Line] = []
        for element, status, what in ((2, None, "quantity units received or accepted"),
                                      (4, "rejected", "quantity units returned or rejected"),
                                      (6, "in_question", "quantity in question")):
            quantity = self.decimal(rcd, element, "X12_INVALID_QUANTITY", what)
            if quantity is None or (status is not None and not quantity):
                continue
            uom = rcd.component(element + 1, 1).strip() or None
            out.append(Line.model_construct(line_number=number, quantity=quantity, uom=uom, unit_price=None,
                                            description=description, item_ids=dict(ids), po_number=po_number,
                                            package=None, status=status))
        if not out:
            self.warning("X12_RECEIVED_QUANTITY_MISSING", f"RCD loop {ordinal} states no quantity received (RCD02), "
                         "so it does not count as goods received.", rcd)
        return out


def map_861(ts: TransactionSet) -> tuple[Document, list[Issue]]:
    """Map one 861 transaction set to a canonical `receipt` plus the mapping issues found on the way."""
    mapper = _ReceivingAdviceMapper(ts)
    doc = mapper.run()
    return doc, mapper.issues
