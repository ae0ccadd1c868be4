"""X12 850 purchase order -> canonical `order` document.

Works on what the envelope reader hands over (a `TransactionSet`), for 004010, 004010VICS and 005010,
and on a best-effort basis for older or unknown versions. Structural checks (types, lengths,
mandatory segments) belong to the guide-driven validator; this module only reports what stops it
from understanding the order: unreadable numbers and dates, a missing PO number, control totals
(CTT, AMT) that disagree with the lines. It never raises: any oddity becomes an `Issue`, so one bad
order cannot take the service down.

The code lists it reads with live in `code_lists` (shared with the 855/856/810 mappings and the
builders), and the readers it shares with the other sets in `mapping_base`.
"""

from __future__ import annotations

from decimal import Decimal

from mappings.canonical import Document, Totals
from mappings.x12.code_lists import PURPOSES
from mappings.x12.mapping_base import (
    SetMapper,
    implied_decimal,
    item_ids,
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


class _OrderMapper(SetMapper):
    """One 850 mapping run: the shared readers driven by the purchase order's layout."""

    set_id = "850"
    # segments that may follow N1 inside an N1 loop (004010 and 005010 850 header)
    n1_loop_members = frozenset({"N2", "N3", "N4", "NX2", "REF", "PER", "SI", "FOB", "TD1", "TD5", "TD3", "TD4",
                                 "PKG"})
    # segments that may follow N9 inside an N9 loop: their DTMs are not order dates
    n9_loop_members = frozenset({"DTM", "MSG"})

    # -- the mapping --------------------------------------------------------------------------------

    def run(self) -> Document:
        segments = list(self.ts.segments)
        _, body = set_body(segments)
        header, line_part, summary = split_sections(body, "PO1")

        doc = self.new_document("order")
        # a missing BEG is reported at the set's first segment, even when that is not an ST
        self._header(doc, header, segments[0] if segments else None)
        loops = split_loops(line_part, "PO1")
        self._lines(doc, loops)
        self._totals(doc, header, loops, summary)
        return doc

    def _header(self, doc: Document, header: list[Segment], st: Segment | None) -> None:
        beg = self.beginning_segment(header, "BEG", st, "X12_PO_NUMBER_MISSING", "The order has no BEG segment, "
                                     "so it has no purchase order number.")
        if beg is not None:
            self._beg(doc, beg)
        self.currency(doc, self.read_header(doc, header))

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

    def _lines(self, doc: Document, loops: list[list[Segment]]) -> None:
        seen: dict[str, Segment] = {}
        for ordinal, loop in enumerate(loops, start=1):
            po1 = loop[0]
            number = po1.get(1).strip()
            self.check_line_number(seen, po1, number, "PO101")
            line = self.po1_line(loop, number or str(ordinal), item_ids(po1, 6), doc.number)
            for seg in loop[1:]:
                if segment_tag(seg) == "N1":
                    # e.g. a per-line ship-to (store distribution): the canonical line has no parties
                    self.warning("X12_LINE_PARTY_NOT_MAPPED",
                                 f"Line {line.line_number} names its own party (N101 {seg.get(1).strip()!r}, "
                                 f"{seg.get(2).strip() or seg.get(4).strip()!r}); line-level parties are not "
                                 "carried into the order, check it by hand.", seg, 1)
            doc.lines.append(line)

    def _totals(self, doc: Document, header: list[Segment], loops: list[list[Segment]],
                summary: list[Segment]) -> None:
        totals = Totals(line_count=len(loops))
        lines = doc.lines
        computed_quantity = total_quantity(lines)
        extended = order_extension(lines)

        ctt = next((s for s in summary if segment_tag(s) == "CTT"), None)
        stated_quantity: Decimal | None = None
        if ctt is not None:
            self.check_line_count(ctt, len(loops), f"the order has {len(loops)} PO1 segments.")
            stated_quantity = self.decimal(ctt, 2, "X12_INVALID_NUMBER", "hash total")
            if stated_quantity is not None and computed_quantity is not None \
                    and stated_quantity != computed_quantity:
                self.warning("X12_CTT_HASH_TOTAL",
                             f"CTT02 hash total is {format(stated_quantity, 'f')} but the PO102 quantities add "
                             f"up to {format(computed_quantity, 'f')}.", ctt, 2)
        totals.quantity = stated_quantity if stated_quantity is not None else computed_quantity

        amount, amount_seg = self.stated_amount(header, summary)
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

    def _charges(self, header: list[Segment], loops: list[list[Segment]]) -> Decimal:
        """Net SAC charges minus allowances (SAC05, two implied decimals), header and line level."""
        net = Decimal(0)
        for seg in [*header, *(s for loop in loops for s in loop[1:])]:
            if segment_tag(seg) != "SAC":
                continue
            value = implied_decimal(seg.get(5).strip())
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
    mapper = _OrderMapper(ts)
    doc = mapper.run()
    return doc, mapper.issues
