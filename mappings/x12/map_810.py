"""X12 810 invoice -> canonical `invoice` document.

Works on a `TransactionSet` for 004010, 004010VICS and 005010 (best effort for other versions), the
same way the 850 mapping does and with the readers and code lists every set shares (`mapping_base`,
`code_lists`): structure, types and syntax rules
are the guide-driven validator's job; this module reports what stops it from understanding the
invoice or what makes the invoice's money wrong. It never raises.

The money checks are what an accounts-payable clerk would do by hand:
- TDS01 (total invoice amount, two implied decimals) must equal the line extensions (IT102 x IT104)
  plus SAC charges, minus SAC allowances, plus TXI taxes, within 0.01 (`X12_TDS_MISMATCH`);
- CTT01 must count the IT1 lines (`X12_CTT_LINE_COUNT`);
- every UPC / EAN / GTIN must carry a correct GS1 check digit (`X12_GTIN_CHECK_DIGIT`).

A credit memo (BIG07 CR or CN) becomes purpose `credit`. Its amounts stay as the sender wrote them
(normally positive); whoever nets invoices against orders must subtract a `credit` document.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from mappings.canonical import Document, Line, Totals
from mappings.check_digits import ean_valid, gs1_check_digit, gtin_valid, upc_valid
from mappings.x12.code_lists import DATE_NAMES, ITEM_ID_QUALIFIERS, PARTY_ROLES, PURPOSES, REFERENCE_NAMES
from mappings.x12.mapping_base import (
    SetMapper,
    implied_decimal,
    segment_tag,
    set_body,
    split_loops,
    split_sections,
    total_quantity,
)
from parsers.issues import Issue
from parsers.x12.reader import TransactionSet
from parsers.x12.segments import Segment

# N101 entity identifier codes (98) -> canonical role: the 850 table plus the invoice's own parties.
INVOICE_PARTY_ROLES: dict[str, str] = {**PARTY_ROLES, "SU": "seller", "RI": "remit_to", "II": "seller",
                                       "PE": "payee"}

# REF01 qualifiers (128) with a well-known meaning on an invoice -> key in references.
INVOICE_REFERENCE_NAMES: dict[str, str] = {**REFERENCE_NAMES, "OI": "original_invoice", "IV": "invoice",
                                           "BM": "bill_of_lading", "CN": "carrier_pro", "PK": "packing_list",
                                           "VN": "vendor_order", "PO": "po"}

# DTM01 qualifiers (374) -> key in Document.dates (BIG03 is `purchase_order` too).
INVOICE_DATE_NAMES: dict[str, str] = {**DATE_NAMES, "003": "invoice", "004": "purchase_order", "011": "shipped",
                                      "017": "delivery_estimated", "035": "delivered", "050": "received",
                                      "814": "payment_due"}

# BIG07 transaction type codes (640) that make the document a credit note / a debit note.
CREDIT_TYPES = frozenset({"CR", "CN"})
DEBIT_TYPES = frozenset({"DR"})

# SAC02 codes (1300) that are freight.
FREIGHT_CODES = frozenset({"D240"})

# SAC12 (331) handling codes settled outside the invoice (bill back, vendor check, credit to the
# customer's account, paid by the vendor): they do not change what the invoice asks to be paid.
OFF_INVOICE_HANDLING = frozenset({"01", "03", "04", "05"})

# IT105 basis of unit price codes (639) whose price is for more than one unit.
PRICE_BASIS_DIVISORS: dict[str, Decimal] = {"HP": Decimal(100), "TP": Decimal(1000)}

# Product ID qualifiers (235) whose value must be a GS1 code with a check digit, and the lengths allowed.
GS1_QUALIFIERS: dict[str, tuple[str, tuple[int, ...]]] = {
    "UP": ("12-digit UPC-A", (12,)),
    "EN": ("EAN-8 or EAN-13", (8, 13)),
    "UK": ("GTIN (8, 12, 13 or 14 digits)", (8, 12, 13, 14)),
}

# ITD elements -> references key (dates and N2 amounts converted; ITD01/02 kept as codes); build_810 writes them back.
ITD_KEYS: dict[int, str] = {1: "terms_type", 2: "terms_basis_date", 3: "terms_discount_percent",
                             4: "terms_discount_due_date", 5: "terms_discount_days", 6: "terms_net_due_date",
                             7: "terms_net_days", 8: "terms_discount_amount", 12: "terms_description",
                             13: "terms_day_of_month", 14: "terms_payment_method"}
ITD_DATES = frozenset({4, 6})
ITD_AMOUNTS = frozenset({8})

# Segments that close the IT1 detail: the summary table starts with TDS (CTT/ISS if TDS is missing).
_SUMMARY_STARTS = ("TDS", "CTT", "ISS")
_CENT = Decimal("0.01")
TOLERANCE = Decimal("0.01")


def money(value: Decimal) -> str:
    return format(value, "f")


def _cents(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


class _InvoiceMapper(SetMapper):
    """One 810 mapping run: the shared readers (locations, issues, values, parties) driven by the invoice."""

    set_id = "810"
    reference_names = INVOICE_REFERENCE_NAMES
    date_names = INVOICE_DATE_NAMES
    party_roles = INVOICE_PARTY_ROLES
    n1_loop_members = frozenset({"N2", "N3", "N4", "REF", "PER", "DMG"})

    def run(self) -> Document:
        st, body = set_body(list(self.ts.segments))
        header, line_part, summary = split_sections(body, "IT1", _SUMMARY_STARTS)

        doc = self.new_document("invoice")
        self._invoice_header(doc, header, st)
        loops = split_loops(line_part, "IT1")
        self._invoice_lines(doc, loops)
        self._invoice_totals(doc, loops, summary)
        self._carrier(doc.references, summary)
        return doc

    # -- header -------------------------------------------------------------------------------------

    def _invoice_header(self, doc: Document, header: list[Segment], st: Segment | None) -> None:
        big = self.beginning_segment(header, "BIG", st, "X12_INVOICE_NUMBER_MISSING", "The invoice has no BIG "
                                     "segment, so it has no invoice number or date.")
        if big is not None:
            self._big(doc, big)

        notes: list[str] = []
        terms_seen: Segment | None = None

        def invoice_segment(seg: Segment, tag: str) -> None:
            """The header segments only an invoice has: notes, terms of sale, FOB."""
            nonlocal terms_seen
            if tag == "NTE":
                if seg.get(2).strip():
                    notes.append(seg.get(2).strip())
            elif tag == "ITD":
                if terms_seen is None:
                    terms_seen = seg
                    self._terms(doc.references, seg)
                else:
                    self.warning("X12_EXTRA_TERMS_NOT_MAPPED",
                                 f"A further ITD (terms type {seg.get(1).strip() or 'none'}) follows the one at "
                                 f"segment {terms_seen.number}; only the first terms of sale are carried into the "
                                 "invoice, check the others by hand.", seg)
            elif tag == "FOB" and seg.get(1).strip():
                doc.references.setdefault("fob", seg.get(1).strip())

        currencies = self.read_header(doc, header, invoice_segment)
        if notes:
            doc.references["note"] = " ".join(notes)
        self.currency(doc, currencies)
        if doc.po_number is None and doc.references.get("po"):
            doc.po_number = doc.references["po"]

    def _big(self, doc: Document, big: Segment) -> None:
        doc.date = self.date(big, 1, "invoice date")
        number = big.get(2).strip()
        if number:
            doc.number = number
        else:
            self.error("X12_INVOICE_NUMBER_MISSING", "BIG02 (invoice number) is empty; the invoice cannot be "
                       "identified. The sender must fill in its invoice number.", big, 2)
        po_date = self.date(big, 3, "purchase order date")
        if po_date is not None:
            doc.dates["purchase_order"] = po_date
        doc.po_number = big.get(4).strip() or None
        for element, key in ((5, "release"), (6, "change_order_sequence"), (7, "transaction_type"),
                             (9, "action"), (10, "original_invoice")):
            if big.get(element).strip():
                doc.references[key] = big.get(element).strip()
        doc.purpose = self._purpose(big)

    @staticmethod
    def _purpose(big: Segment) -> str:
        """BIG07 credit/debit types win over an original BIG08; no BIG08 means an original invoice."""
        kind = big.get(7).strip().upper()
        purpose = big.get(8).strip()
        if purpose in ("", "00"):
            if kind in CREDIT_TYPES:
                return "credit"
            if kind in DEBIT_TYPES:
                return "debit"
            return "original"
        return PURPOSES.get(purpose, purpose)

    def repeated_date(self, qualifier: str, key: str, value: dt.date, first: dt.date) -> str:
        return (f"DTM {qualifier} ({key}) says {value.isoformat()} but {first.isoformat()} was given first and "
                "is kept.")

    def _terms(self, refs: dict[str, str], itd: Segment) -> None:
        """ITD terms of sale as `terms_*` references (dates ISO, the N2 discount amount as decimal)."""
        for element, key in ITD_KEYS.items():
            raw = itd.get(element).strip()
            if not raw:
                continue
            if element in ITD_DATES:
                day = self.date(itd, element, key.replace("_", " "))
                if day is not None:
                    refs[key] = day.isoformat()
            elif element in ITD_AMOUNTS:
                amount = implied_decimal(raw)
                if amount is None:
                    self.error("X12_INVALID_NUMBER", f"ITD{element:02d} ({key.replace('_', ' ')}) is {raw!r}, "
                               "which is not an amount (digits with two implied decimals).", itd, element)
                else:
                    refs[key] = money(amount)
            else:
                refs[key] = raw

    # -- lines --------------------------------------------------------------------------------------

    def _invoice_lines(self, doc: Document, loops: list[list[Segment]]) -> None:
        seen: dict[str, Segment] = {}
        for ordinal, loop in enumerate(loops, start=1):
            it1 = loop[0]
            number = it1.get(1).strip()
            self.check_line_number(seen, it1, number, "IT101")
            item_ids = self._item_ids(it1, 6)
            po_number = doc.po_number
            for seg in loop[1:]:
                tag = segment_tag(seg)
                if tag == "REF" and seg.get(1).strip().upper() == "PO" and seg.get(2).strip():
                    po_number = seg.get(2).strip()
                elif tag == "SLN":
                    self._item_ids(seg, 9)  # only checked: sublines are not carried into the canonical line
            unit_price = self.decimal(it1, 4, "X12_INVALID_PRICE", "unit price")
            divisor = PRICE_BASIS_DIVISORS.get(it1.get(5).strip())
            if unit_price is not None and divisor is not None:
                unit_price = unit_price / divisor  # a price per hundred / thousand, as a price per unit
            doc.lines.append(Line.model_construct(
                line_number=number or str(ordinal),
                quantity=self.decimal(it1, 2, "X12_INVALID_QUANTITY", "quantity invoiced"),
                uom=it1.get(3).strip() or None,
                unit_price=unit_price,
                description=self.description(loop[1:]),
                item_ids=item_ids,
                po_number=po_number,
                package=None,
                status=None,
            ))

    def _item_ids(self, seg: Segment, first: int) -> dict[str, str]:
        """Qualifier/ID pairs from position `first` on, with GS1 check digits verified."""
        item_ids: dict[str, str] = {}
        elements = seg.elements
        for q in range(first, len(elements) - 1, 2):
            qualifier, value = elements[q].strip().upper(), elements[q + 1].strip()
            if not qualifier or not value:
                continue
            item_ids.setdefault(ITEM_ID_QUALIFIERS.get(qualifier, qualifier.lower()), value)
            rule = GS1_QUALIFIERS.get(qualifier)
            if rule is None:
                continue
            what, lengths = rule
            valid = {"UP": upc_valid, "EN": ean_valid}.get(qualifier, gtin_valid)(value)
            if not valid or len(value) not in lengths:
                if value.isdigit() and len(value) in lengths:
                    problem = (f"its check digit is {value[-1]} but the GS1 check digit of {value[:-1]} is "
                               f"{gs1_check_digit(value[:-1])}")
                else:
                    problem = f"it is not a valid {what} ({len(value)} characters)"
                self.error("X12_GTIN_CHECK_DIGIT",
                           f"{segment_tag(seg)}{q + 1:02d} ({qualifier} product ID) is {value!r}: {problem}. The item "
                           "cannot be trusted; the sender must correct the code.", seg, q + 1)
        return item_ids

    def _carrier(self, refs: dict[str, str], summary: list[Segment]) -> None:
        """The summary CAD: the carrier (SCAC) and routing that brought the goods."""
        cad = next((s for s in summary if segment_tag(s) == "CAD"), None)
        if cad is None:
            return
        for element, key in ((4, "carrier_scac"), (5, "routing")):
            if cad.get(element).strip():
                refs.setdefault(key, cad.get(element).strip())

    # -- totals -------------------------------------------------------------------------------------

    def _invoice_totals(self, doc: Document, loops: list[list[Segment]], summary: list[Segment]) -> None:
        lines = doc.lines
        computed_quantity = total_quantity(lines)
        subtotal, subtotal_cents = self._extensions(loops, lines)
        charges, allowances, freight, taxes = self._adjustments(loops, summary, subtotal)
        charged, allowed, taxed = (sum(charges, Decimal(0)), sum(allowances, Decimal(0)), sum(taxes, Decimal(0)))

        # Totals allows extra fields: the invoice's own sums travel beside amount/tax/freight
        fields: dict[str, object] = {"line_count": len(loops)}
        tds = next((s for s in summary if segment_tag(s) == "TDS"), None)
        stated: Decimal | None = None
        if tds is not None:
            stated = self._n2(tds, 1, "total invoice amount")
            for element, key in ((2, "amount_subject_to_discount"), (3, "discounted_amount_due"),
                                 (4, "terms_discount")):
                extra = self._n2(tds, element, key.replace("_", " "))
                if extra is not None:
                    fields[key] = extra
        fields["amount"] = stated
        if taxes:
            fields["tax"] = _cents(taxed)
        if freight:
            fields["freight"] = _cents(sum(freight, Decimal(0)))
        if subtotal is not None:
            fields["subtotal"] = _cents(subtotal)
        if charges:
            fields["charges"] = _cents(charged)
        if allowances:
            fields["allowances"] = _cents(allowed)

        if (tds is not None and stated is not None and subtotal is not None and subtotal_cents is not None
                and (loops or charges or allowances or taxes)):
            net = charged - allowed + taxed
            expected, expected_cents = subtotal + net, subtotal_cents + net
            if abs(stated - expected) > TOLERANCE and abs(stated - expected_cents) > TOLERANCE:
                self.error("X12_TDS_MISMATCH",
                           f"TDS01 total invoice amount is {money(stated)} (raw {tds.get(1).strip()!r}, two implied "
                           f"decimals) but the invoice adds up to {money(_cents(expected))}: lines "
                           f"{money(_cents(subtotal))} + charges {money(_cents(charged))} - allowances "
                           f"{money(_cents(allowed))} + taxes {money(_cents(taxed))}. The difference is "
                           f"{money(_cents(stated - expected))}; the sender must correct the total or the lines.",
                           tds, 1)

        ctt = next((s for s in summary if segment_tag(s) == "CTT"), None)
        stated_quantity: Decimal | None = None
        if ctt is not None:
            self.check_line_count(ctt, len(loops), f"the invoice has {len(loops)} IT1 segments; a line was lost or "
                                  "added. The sender must resend or correct CTT01.")
            stated_quantity = self.decimal(ctt, 2, "X12_INVALID_NUMBER", "hash total")
            if stated_quantity is not None and computed_quantity is not None \
                    and stated_quantity != computed_quantity:
                self.warning("X12_CTT_HASH_TOTAL",
                             f"CTT02 hash total is {money(stated_quantity)} but the IT102 quantities add up to "
                             f"{money(computed_quantity)}.", ctt, 2)
        fields["quantity"] = stated_quantity if stated_quantity is not None else computed_quantity
        doc.totals = Totals.model_validate(fields)

    def _extensions(self, loops: list[list[Segment]],
                    lines: list[Line]) -> tuple[Decimal | None, Decimal | None]:
        """Sum of quantity x unit price, exact and with each line rounded to cents.

        None when a line lacks a quantity or price: a partial sum would be a wrong total.
        """
        exact = cents = Decimal(0)
        if len(loops) != len(lines):
            return None, None
        for line in lines:
            if line.quantity is None or line.unit_price is None:
                return None, None
            extension = line.quantity * line.unit_price
            exact += extension
            cents += _cents(extension)
        return exact, cents

    def _adjustments(self, loops: list[list[Segment]], summary: list[Segment], subtotal: Decimal | None
                     ) -> tuple[list[Decimal], list[Decimal], list[Decimal], list[Decimal]]:
        """Charges, allowances (positive), net freight and taxes from every SAC and TXI, line and summary."""
        charges: list[Decimal] = []
        allowances: list[Decimal] = []
        freight: list[Decimal] = []
        taxes: list[Decimal] = []
        segments = [*(s for loop in loops for s in loop[1:]), *summary]
        for seg in segments:
            tag = segment_tag(seg)
            if tag == "TXI":
                amount = self.decimal(seg, 2, "X12_INVALID_NUMBER", "tax amount")
                if amount is not None:
                    taxes.append(amount)
            elif tag == "SAC":
                indicator = seg.get(1).strip().upper()
                if indicator not in ("A", "C") or seg.get(12).strip() in OFF_INVOICE_HANDLING:
                    continue
                amount = self._sac_amount(seg, subtotal)
                if amount is None:
                    continue
                (charges if indicator == "C" else allowances).append(amount)
                if seg.get(2).strip().upper() in FREIGHT_CODES:
                    freight.append(amount if indicator == "C" else -amount)
        return charges, allowances, freight, taxes

    def _sac_amount(self, seg: Segment, subtotal: Decimal | None) -> Decimal | None:
        """SAC05 (two implied decimals); else the SAC07 percent applied to the lines' subtotal."""
        if seg.get(5).strip():
            return self._n2(seg, 5, "allowance or charge amount")
        percent = self.decimal(seg, 7, "X12_INVALID_NUMBER", "allowance or charge percent")
        if percent is None:
            return None
        if subtotal is None:
            self.warning("X12_SAC_AMOUNT_UNKNOWN",
                         f"SAC{seg.get(2).strip() or ''} gives {money(percent)} percent but no amount, and the "
                         "lines have no complete total to apply it to; it is left out of the totals.", seg, 7)
            return None
        return _cents(subtotal * percent / 100)

    def _n2(self, seg: Segment, element: int, what: str) -> Decimal | None:
        """An N2 amount (12345 = 123.45); None when empty, None plus an error when unreadable.

        A value with a decimal point is taken as written (the validator reports the type error).
        """
        raw = seg.get(element).strip()
        if not raw:
            return None
        value = implied_decimal(raw)
        if value is None:
            self.error("X12_INVALID_NUMBER", f"{segment_tag(seg)}{element:02d} ({what}) is {raw!r}, which is not an "
                       "amount in cents (two implied decimals: 123.45 is written 12345).", seg, element)
        return value

def map_810(ts: TransactionSet) -> tuple[Document, list[Issue]]:
    """Map one 810 transaction set to a canonical `invoice` plus the mapping issues found on the way."""
    mapper = _InvoiceMapper(ts)
    doc = mapper.run()
    return doc, mapper.issues
