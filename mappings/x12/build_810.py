"""Canonical `invoice` -> X12 810 body (BIG through CTT): what a supplier sends its customers.

The inverse of `map_810`, built from its tables, so an invoice read back with the inbound mapping is
the invoice that was built (tests/test_x12_810.py proves it on every sample). Guide requirements
are not repeated here: the outbound framework validates what this returns against the partner's
guide. This module only refuses what has no X12 form at all, with every such problem at once.

The canonical invoice keeps sums, not each allowance or charge, so the summary is rebuilt from them:
net freight as one SAC D240, the other charges and allowances as one SAC ZZZZ each, all taxes as one
TXI TX, and TDS01 as the stated amount (or, when none is stated, lines + charges - allowances + tax)
in cents, the N2 form. A `credit` invoice is written as BIG07 CR (credit memo) with BIG08 00.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from mappings.canonical import Document, Line
from mappings.x12.build_base import (
    PARTY_TAGS,
    DocumentBuilder,
    built_segment,
    describe_line_field,
    describe_party_field,
    text_pieces,
    x12_code,
)
from mappings.x12.code_lists import PURPOSES, codes_by_name
from mappings.x12.map_810 import (
    FREIGHT_CODES,
    INVOICE_DATE_NAMES,
    INVOICE_PARTY_ROLES,
    INVOICE_REFERENCE_NAMES,
    ITD_AMOUNTS,
    ITD_DATES,
    ITD_KEYS,
)
from mappings.x12.mapping_base import total_quantity
from mappings.x12.outbound import BuildError, x12_date

# canonical name -> X12 code: the inverses of map_810's tables, the first code where several map to a name
PURPOSE_CODES: dict[str, str] = codes_by_name(PURPOSES)
PARTY_CODES: dict[str, str] = codes_by_name(INVOICE_PARTY_ROLES)  # seller SE, remit_to RE
REFERENCE_CODES: dict[str, str] = codes_by_name(INVOICE_REFERENCE_NAMES)
DATE_CODES: dict[str, str] = codes_by_name(INVOICE_DATE_NAMES)
ITD_ELEMENTS: dict[str, int] = {key: element for element, key in ITD_KEYS.items()}

# references that BIG carries (map_810 reads them from BIG05, 06, 07, 09, 10)
BIG_REFERENCES: dict[str, int] = {"release": 5, "change_order_sequence": 6, "transaction_type": 7, "action": 9,
                                  "original_invoice": 10}
# references written as segments of their own rather than REF
OWN_SEGMENT_REFERENCES = frozenset({"note", "fob", "carrier_scac", "routing"})
CREDIT_TYPE = "CR"
DEBIT_TYPE = "DR"
FREIGHT_CODE = sorted(FREIGHT_CODES)[0]
OTHER_CODE = "ZZZZ"  # mutually defined allowance/charge, described in SAC15
ALL_TAXES = "TX"

TEXT_WIDTH = 80  # PID05 / NTE02 (element 352)
# references written by BIG, by segments of their own or in ITD rather than as REF
_NOT_REF = frozenset({*BIG_REFERENCES, *OWN_SEGMENT_REFERENCES, *ITD_ELEMENTS})


def _cents(value: Decimal) -> str:
    """An N2 value: the amount in cents without a decimal point (123.45 -> 12345)."""
    return str(int((value * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)))


class _InvoiceBuilder(DocumentBuilder):
    """One 810 build: BIG, NTE, CUR, REF, the N1 loops, ITD, DTM, FOB, the IT1 loops and the summary."""

    party_codes = PARTY_CODES
    reference_codes = REFERENCE_CODES
    date_codes = DATE_CODES
    line_tag = "IT1"

    def amount(self, value: Decimal | None, field: str) -> str:
        if value is None:
            return ""
        if not value.is_finite():
            self.problem(field, value, "not a number X12 can carry; give a finite decimal")
            return ""
        return _cents(value)

    def extra(self, key: str) -> Decimal | None:
        """A totals extra (`subtotal`, `charges`, ...): Decimal in memory, a string after JSON."""
        raw = (self.doc.totals.model_extra or {}).get(key)
        if raw is None:
            return None
        try:
            return raw if isinstance(raw, Decimal) else Decimal(str(raw))
        except InvalidOperation:
            self.problem(f"totals.{key}", raw, "is not a decimal amount")
            return None

    # -- the set ------------------------------------------------------------------------------------

    def run(self) -> list[list[str]]:
        doc = self.doc
        segments: list[list[str]] = [self.big()]
        for text in text_pieces(doc.references.get("note", ""), TEXT_WIDTH):
            segments.append(["NTE", "GEN", text])
        if doc.currency:
            segments.append(["CUR", "SE", doc.currency])
        segments += self.references(_NOT_REF)
        for n, party in enumerate(doc.parties):
            segments += self.party(n, party)
        itd = self.terms()
        if itd:
            segments.append(itd)
        segments += self.dates(skip=("purchase_order",))  # BIG03
        if doc.references.get("fob"):
            segments.append(["FOB", doc.references["fob"]])
        for n, line in enumerate(doc.lines):
            segments += self.line(n, line)
        segments += self.summary()
        if self.problems:
            raise BuildError(self.problems)
        return segments

    def big(self) -> list[str]:
        doc = self.doc
        refs = doc.references
        if not doc.number:
            self.problem("number", doc.number, "an invoice needs its number (BIG02)")
        if doc.date is None:
            self.problem("date", None, "an invoice needs its date (BIG01)")
        po_date = doc.dates.get("purchase_order")
        big = ["BIG", x12_date(doc.date) if doc.date else "", doc.number or "",
               x12_date(po_date) if po_date else "", doc.po_number or "", "", "", "", "", "", ""]
        for key, position in BIG_REFERENCES.items():
            if refs.get(key):
                big[position] = refs[key]
        purpose = doc.purpose or "original"
        if purpose in ("credit", "debit"):
            big[7] = big[7] or (CREDIT_TYPE if purpose == "credit" else DEBIT_TYPE)
            big[8] = "00"
        else:
            code = x12_code(purpose, PURPOSE_CODES, r"\d{2}")
            if code is None:
                self.problem("purpose", purpose, f"{purpose!r} has no BIG08 code; use credit, debit or one of "
                             f"{', '.join(PURPOSE_CODES)}")
            else:
                big[8] = code
        return big

    def terms(self) -> list[str]:
        itd = ["ITD"] + [""] * 15
        for key, element in ITD_ELEMENTS.items():
            value = self.doc.references.get(key)
            if not value:
                continue
            if element in ITD_DATES:
                try:
                    itd[element] = x12_date(dt.date.fromisoformat(value))
                except ValueError:
                    self.problem(f"references.{key}", value, "is not a date (YYYY-MM-DD)")
            elif element in ITD_AMOUNTS:
                try:
                    itd[element] = _cents(Decimal(value))
                except (InvalidOperation, ValueError):
                    self.problem(f"references.{key}", value, "is not a decimal amount")
            else:
                itd[element] = value
        return itd if any(itd[1:]) else []

    def line(self, n: int, line: Line) -> list[list[str]]:
        where = f"lines[{n}]"
        it1 = ["IT1", line.line_number or str(n + 1), self.number(line.quantity, f"{where}.quantity"),
               line.uom or "", self.number(line.unit_price, f"{where}.unit_price"), ""]
        it1 += self.product_ids(where, line.item_ids, report_overflow=True)
        loop = [it1]
        for text in text_pieces(line.description or "", TEXT_WIDTH):
            loop.append(["PID", "F", "", "", "", text])
        if line.po_number and line.po_number != self.doc.po_number:
            loop.append(["REF", "PO", line.po_number])
        return loop

    # -- summary ------------------------------------------------------------------------------------

    def summary(self) -> list[list[str]]:
        doc = self.doc
        totals = doc.totals
        freight = totals.freight or Decimal(0)
        charges = self.extra("charges")
        allowances = self.extra("allowances")
        other_charges = (charges if charges is not None else max(freight, Decimal(0))) - max(freight, Decimal(0))
        other_allowances = ((allowances if allowances is not None else max(-freight, Decimal(0)))
                            - max(-freight, Decimal(0)))
        for name, value in (("charges", other_charges), ("allowances", other_allowances)):
            if value < 0:
                self.problem(f"totals.{name}", self.extra(name), f"is less than the freight "
                             f"{format(freight, 'f')} it includes")
        sacs: list[list[str]] = []
        if freight:
            sacs.append(["SAC", "C" if freight > 0 else "A", FREIGHT_CODE, "", "",
                         self.amount(abs(freight), "totals.freight")])
        for indicator, value, text in (("C", other_charges, "OTHER CHARGES"),
                                       ("A", other_allowances, "OTHER ALLOWANCES")):
            if value > 0:
                sacs.append(["SAC", indicator, OTHER_CODE, "", "", self.amount(value, f"totals.{text.lower()}"),
                             "", "", "", "", "", "", "", "", "", text])

        stated: Decimal | None = totals.amount
        if stated is None:
            lines = doc.lines
            if any(ln.quantity is None or ln.unit_price is None for ln in lines):
                self.problem("totals.amount", None, "the invoice total (TDS01) is not stated and cannot be "
                             "computed: a line lacks its quantity or unit price")
                stated = Decimal(0)
            else:
                subtotal = sum((ln.quantity * ln.unit_price for ln in lines
                                if ln.quantity is not None and ln.unit_price is not None), Decimal(0))
                stated = (subtotal + max(freight, Decimal(0)) + other_charges - max(-freight, Decimal(0))
                          - other_allowances + (totals.tax or Decimal(0)))
        tds = ["TDS", self.amount(stated, "totals.amount")]
        for key in ("amount_subject_to_discount", "discounted_amount_due", "terms_discount"):
            stated_extra = self.extra(key)
            tds.append(self.amount(stated_extra, f"totals.{key}") if stated_extra is not None else "")
        out = [tds]
        if totals.tax is not None:
            out.append(["TXI", ALL_TAXES, self.number(totals.tax, "totals.tax")])
        if doc.references.get("carrier_scac") or doc.references.get("routing"):
            out.append(["CAD", "", "", "", doc.references.get("carrier_scac", ""),
                        doc.references.get("routing", "")])
        out += sacs
        quantity = totals.quantity if totals.quantity is not None else total_quantity(doc.lines)
        out.append(["CTT", str(len(doc.lines)), self.number(quantity, "totals.quantity")])
        return out


def build_810(doc: Document, version: str) -> list[list[str]]:
    """The 810 segments between ST and SE for a canonical invoice (004010, 004010VICS, 005010)."""
    return _InvoiceBuilder(doc, version).run()


_BIG_FIELDS = {1: "date", 2: "number", 3: "dates.purchase_order", 4: "po_number", 5: "references.release",
               6: "references.change_order_sequence", 7: "references.transaction_type", 8: "purpose",
               9: "references.action", 10: "references.original_invoice"}
_TDS_FIELDS = {1: "totals.amount", 2: "totals.amount_subject_to_discount", 3: "totals.discounted_amount_due",
               4: "totals.terms_discount"}


def describe_field(segments: Sequence[Sequence[str]], position: int, element: int | None) -> str | None:
    """The canonical field behind element `element` of the segment at `position` (ST = 1) of a built 810."""
    place = built_segment(segments, position, "IT1")
    if place is None:
        return None
    seg, tag, value, line, party = place
    if tag == "BIG":
        return _BIG_FIELDS.get(element or 0, "number")
    if tag == "NTE":
        return "references.note"
    if tag == "CUR":
        return "currency"
    if tag == "ITD":
        key = ITD_KEYS.get(element or 0)
        return f"references.{key}" if key else "references"
    if tag == "DTM":
        return f"dates.{INVOICE_DATE_NAMES.get(value, f'dtm_{value.lower()}')}"
    if tag == "FOB":
        return "references.fob"
    if tag == "REF":
        if line >= 0:
            return f"lines[{line}].po_number"
        key = INVOICE_REFERENCE_NAMES.get(value.upper(), value.lower())
        return f"parties[{party}].ids.{key}" if party >= 0 else f"references.{key}"
    if tag in PARTY_TAGS:
        return describe_party_field(seg, party, element)
    if tag == "IT1":
        return describe_line_field(seg, line, element)
    if tag == "PID":
        return f"lines[{line}].description"
    if tag == "TDS":
        return _TDS_FIELDS.get(element or 0, "totals.amount")
    if tag == "TXI":
        return "totals.tax"
    if tag == "CAD":
        return "references.routing" if element == 5 else "references.carrier_scac"
    if tag == "SAC":
        code = seg[2] if len(seg) > 2 else ""
        if code in FREIGHT_CODES:
            return "totals.freight"
        return "totals.charges" if value == "C" else "totals.allowances"
    if tag == "CTT":
        return {1: "totals.line_count", 2: "totals.quantity"}.get(element or 0, "totals")
    return None
