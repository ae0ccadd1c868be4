"""X12 944 warehouse stock transfer receipt advice -> canonical `receipt` document.

A warehouse (often a 3PL holding the distributor's stock) sends a 944 when goods arrive: one W07
loop per item received, inside LX loops or not. It becomes the same canonical `receipt` an 861 or
the ERP's own goods receipt gives, so matching counts it alike.

Where things are read from (the first one present wins):
- number W1703 (warehouse receipt number), date W1702 (date of receipt); W1701 reporting code,
  W1704 depositor order and W1705 shipment id in `references`;
- the purchase order: N9*PO in the W07 loop, else N9*PO in the heading, else W1704 (many
  warehouses put the PO there when the goods were not announced with a 943);
- the PO line: N9*LI in the W07 loop (LX01 is only a sequence number, never taken as the PO line);
- the quantity received W0701 in the unit W0702; item ids from W0703 (U.P.C. case code, kind
  `upc_case`) and the qualifier/ID pairs W0704-07 and W0710-11; G69 as the description;
- dates from G62 (`g62_<qualifier>`); W14 checks the total quantity received.

W13 exceptions and W19 adjustments are accepted and reported as not mapped: the quantity received
in W07 is what the warehouse booked.
"""

from __future__ import annotations

from decimal import Decimal

from mappings.canonical import Document, Line
from mappings.x12.map_861 import ReceiptMapper
from mappings.x12.mapping_base import item_ids, segment_tag, set_body
from parsers.issues import Issue
from parsers.x12.reader import TransactionSet
from parsers.x12.segments import Segment

_DETAIL_STARTS = frozenset({"LX", "W07"})
_SUMMARY = frozenset({"W14"})


class _WarehouseReceiptMapper(ReceiptMapper):
    """One 944 mapping run."""

    set_id = "944"
    n1_loop_members = frozenset({"N2", "N3", "N4", "PER"})

    def run(self) -> Document:
        st, body = set_body(list(self.ts.segments))
        tags = [segment_tag(s) for s in body]
        start = next((i for i, t in enumerate(tags) if t in _DETAIL_STARTS), len(body))
        end = next((i for i in range(start, len(body)) if tags[i] in _SUMMARY), len(body))
        if start == len(body):
            start = end = next((i for i, t in enumerate(tags) if t in _SUMMARY), len(body))
        header, detail, summary = body[:start], body[start:end], body[end:]

        doc = self.new_document("receipt")
        doc.purpose = "original"
        w17 = self.beginning_segment(header, "W17", st, "X12_RECEIPT_NUMBER_MISSING",
                                     "The warehouse receipt advice has no W17 segment, so it has no receipt number "
                                     "or date.")
        if w17 is not None:
            doc.number = w17.get(3).strip() or None
            doc.date = self.date(w17, 2, "date of receipt")
            for element, key in ((1, "reporting_code"), (4, "depositor_order"), (5, "shipment_id")):
                if w17.get(element).strip():
                    doc.references[key] = w17.get(element).strip()

        def other(seg: Segment, tag: str) -> None:
            if tag == "G62":
                self._g62(doc, seg)

        self.read_header(doc, [s for s in header if segment_tag(s) != "N9"], other)
        for seg in header:
            if segment_tag(seg) == "N9":
                self.reference(doc.references, seg)
        doc.po_number = doc.references.get("po") or doc.references.get("depositor_order")

        loops = self._w07_loops(detail)
        seen: dict[str, Segment] = {}
        for ordinal, loop in enumerate(loops, 1):
            line = self._line(loop, ordinal, doc.po_number, seen)
            if line is not None:
                doc.lines.append(line)
        self.receipt_totals(doc)
        w14 = next((s for s in summary if segment_tag(s) == "W14"), None)
        if w14 is not None:
            self._check_total(w14, doc)
        self.no_lines(doc, w17 or st, "W07 item")
        if doc.lines and any(ln.po_number is None for ln in doc.lines):
            self.error("X12_RECEIPT_PO_MISSING", "The warehouse receipt advice names no purchase order (N9*PO in "
                       "the heading or the W07 loop, or W1704), so the goods cannot be booked against an order.",
                       w17 or st or loops[0][0])
        return doc

    def _g62(self, doc: Document, seg: Segment) -> None:
        qualifier = seg.get(1).strip()
        if not qualifier or not seg.get(2).strip():
            return
        value = self.date(seg, 2, f"date {qualifier}")
        if value is not None:
            doc.dates.setdefault(f"g62_{qualifier.lower()}", value)

    @staticmethod
    def _w07_loops(detail: list[Segment]) -> list[list[Segment]]:
        """Each W07 with what follows it up to the next W07 or LX (an LX only numbers the loops)."""
        loops: list[list[Segment]] = []
        for seg in detail:
            tag = segment_tag(seg)
            if tag == "W07":
                loops.append([seg])
            elif tag == "LX":
                continue
            elif loops:
                loops[-1].append(seg)
        return loops

    def _line(self, loop: list[Segment], ordinal: int, header_po: str | None,
              seen: dict[str, Segment]) -> Line | None:
        w07 = loop[0]
        refs: dict[str, str] = {}
        description: list[str] = []
        for seg in loop[1:]:
            tag = segment_tag(seg)
            if tag == "N9":
                self.reference(refs, seg)
            elif tag == "G69" and seg.get(1).strip():
                description.append(seg.get(1).strip())
            elif tag in ("W13", "W19"):
                self.warning("X12_SEGMENT_NOT_MAPPED", f"{tag} (item exception or adjustment) in W07 loop {ordinal} "
                             "is not mapped; the quantity received in W0701 is what counts.", seg)
        ids: dict[str, str] = {}
        case_code = w07.get(3).strip()
        if case_code:
            ids["upc_case"] = case_code
            self.check_gs1(w07, 3, "U.P.C. case code", (12,))
        for first in (4, 10):
            pairs = item_ids(_pairs(w07, first), 1)
            for kind, value in pairs.items():
                ids.setdefault(kind, value)
            self.check_gtins(w07, range(first, first + (4 if first == 4 else 2), 2))
        number = refs.get("po_line")
        if number:
            self.check_line_number(seen, w07, number, "N9*LI")
        if not ids and number is None:
            self.warning("X12_ITEM_ID_MISSING", f"W07 loop {ordinal} has neither item ids nor a PO line (N9*LI), so "
                         "it cannot be matched to an order line.", w07)
        quantity = self.decimal(w07, 1, "X12_INVALID_QUANTITY", "quantity received")
        if quantity is None:
            self.warning("X12_RECEIVED_QUANTITY_MISSING", f"W07 loop {ordinal} states no quantity received (W0701), "
                         "so it does not count as goods received.", w07)
            return None
        return Line.model_construct(line_number=number, quantity=quantity, uom=w07.get(2).strip() or None,
                                    unit_price=None, description=" ".join(description) or None, item_ids=ids,
                                    po_number=refs.get("po") or header_po, package=None, status=None)

    def _check_total(self, w14: Segment, doc: Document) -> None:
        stated = self.decimal(w14, 1, "X12_INVALID_QUANTITY", "total quantity received")
        counted = doc.totals.quantity
        if stated is not None and counted is not None and stated != counted:
            self.error("X12_W14_QUANTITY_MISMATCH", f"W1401 says {_num(stated)} units received in all, but the W07 "
                       f"lines add up to {_num(counted)}. Ask the warehouse to correct the receipt advice.", w14, 1)


def _pairs(seg: Segment, first: int) -> Segment:
    """The W07 qualifier/ID pairs from `first` (W0704-07 or W0710-11) as a segment `item_ids` can read."""
    stop = first + 4 if first == 4 else first + 2
    return Segment(["W07", *[seg.get(i) for i in range(first, stop)]], seg.number, seg.offset, seg.delimiters)


def _num(value: Decimal) -> str:
    return format(value.normalize(), "f") if value != value.to_integral_value() else format(value.quantize(1), "f")


def map_944(ts: TransactionSet) -> tuple[Document, list[Issue]]:
    """Map one 944 transaction set to a canonical `receipt` plus the mapping issues found on the way."""
    mapper = _WarehouseReceiptMapper(ts)
    doc = mapper.run()
    return doc, mapper.issues
