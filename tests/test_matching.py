"""Three-way matching, read as an AP handbook: one test per case a clerk meets (issue 6).

Every scenario builds canonical documents the way the X12 mappings produce them (see samples/x12/*810*,
*850*, *856*) and asserts the outcome, the reason codes and the variance numbers.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal as D
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.matching import (
    ItemModes,
    MatchInput,
    Receipt,
    Tolerance,
    Tolerances,
    UnitConverter,
    match,
)
from mappings.canonical import Document, Identity, Line, Source, Totals

PO = "PO-4711"
SUPPLIER = Identity(qualifier="ZZ", id="ACMESUPPLY")

# ------------------------------------------------------------------------------------------ helpers


def line(number: str | None, qty: str, price: str | None = None, uom: str = "EA", po: str | None = PO,
         **ids: str) -> Line:
    return Line(line_number=number, quantity=D(qty), uom=uom, unit_price=None if price is None else D(price),
                item_ids=ids, po_number=po)


def order(*lines: Line, number: str = PO, purpose: str = "original", currency: str | None = "USD",
          date: dt.date = dt.date(2025, 6, 2), tax: str | None = None, freight: str | None = None) -> Document:
    return Document(kind="order", number=number, po_number=number, purpose=purpose, currency=currency, date=date,
                    lines=list(lines), source=Source(format="x12", set="850"),
                    totals=Totals(tax=None if tax is None else D(tax), freight=None if freight is None else D(freight)))


def invoice(*lines: Line, number: str = "INV-1", po: str | None = PO, purpose: str = "original",
            currency: str | None = "USD", date: dt.date = dt.date(2025, 6, 12), total: str | None = "auto",
            tax: str | None = None, freight: str | None = None, sender: Identity = SUPPLIER,
            **extra: str) -> Document:
    """An 810 as mapped; `total="auto"` states the arithmetically right total (lines + freight + tax)."""
    amount: D | None
    if total == "auto":
        amount = sum((ln.quantity * ln.unit_price for ln in lines if ln.quantity and ln.unit_price), D(0))
        amount += D(tax or 0) + D(freight or 0)
    else:
        amount = None if total is None else D(total)
    totals = Totals(amount=amount, tax=None if tax is None else D(tax), freight=None if freight is None else D(freight),
                    **extra)
    return Document(kind="invoice", number=number, po_number=po, purpose=purpose, currency=currency, date=date,
                    sender=sender, lines=list(lines), totals=totals, source=Source(format="x12", set="810"))


def asn(*lines: Line, number: str = "ASN-1") -> Document:
    return Document(kind="ship_notice", number=number, date=dt.date(2025, 6, 10),
                    lines=[ln.model_copy(update={"unit_price": None}) for ln in lines],
                    source=Source(format="x12", set="856"))


def received(qty: str, line_number: str | None = "1", uom: str = "EA", po: str = PO, **ids: str) -> Receipt:
    return Receipt(po_number=po, line_number=line_number, quantity=D(qty), uom=uom, item_ids=ids,
                   date=dt.date(2025, 6, 11))


def codes(result: Any) -> list[str]:
    return result.reason_codes


# A purchase order for 10 widgets at 20.00 and 5 gadgets at 100.00.
WIDGETS = line("1", "10", "20.00", buyer_part="W-100", vendor_part="ACM-W")
GADGETS = line("2", "5", "100.00", buyer_part="G-200", vendor_part="ACM-G")
PO_4711 = order(WIDGETS, GADGETS)
ALL_IN = [received("10", "1"), received("5", "2")]


# ------------------------------------------------------------------------------------ the handbook


def test_exact_match() -> None:
    inv = invoice(line("1", "10", "20.00"), line("2", "5", "100.00"))
    result = match(inv, [PO_4711], ALL_IN, [])
    assert result.outcome == "matched"
    assert [ln.outcome for ln in result.lines] == ["matched", "matched"]
    assert result.reason_codes == [] and result.all_variances == []
    assert result.lines[0].received == D(10) and result.lines[0].billed_total == D(10)


def test_price_within_tolerance_is_matched_with_the_variance_recorded() -> None:
    # 20.30 is 1.5% over 20.00: inside 2% (0.40) and inside 5.00 per unit.
    inv = invoice(line("1", "10", "20.30"), line("2", "5", "100.00"))
    result = match(inv, [PO_4711], ALL_IN, [])
    assert result.outcome == "matched_within_tolerance"
    first = result.lines[0]
    assert first.outcome == "matched_within_tolerance"
    price = next(v for v in first.variances if v.dimension == "unit_price")
    assert (price.expected, price.actual, price.difference, price.percentage) == (D("20.00"), D("20.30"),
                                                                                  D("0.30"), D("1.50"))
    assert price.within and price.limit == D("0.40") and price.limit_source == "global"
    amount = next(v for v in first.variances if v.dimension == "line_amount")
    assert (amount.expected, amount.actual, amount.difference) == (D("200.00"), D("203.00"), D("3.00"))
    assert amount.within and amount.limit == D("4.00")  # 2% of 200.00, stricter than 10.00


def test_price_over_tolerance_holds_the_line_and_the_invoice() -> None:
    # 21.00 is 5% over: the binding limit is 2% of 20.00 = 0.40 (stricter than 5.00 per unit).
    inv = invoice(line("1", "10", "21.00"), line("2", "5", "100.00"))
    result = match(inv, [PO_4711], ALL_IN, [])
    assert result.outcome == "on_hold"
    assert [ln.outcome for ln in result.lines] == ["on_hold", "matched"]
    reason = result.lines[0].reasons[0]
    assert reason.code == "PRICE_OVER"
    assert (reason.expected, reason.actual, reason.limit) == (D("20.00"), D("21.00"), D("0.40"))
    assert "21.00" in reason.message and "20.00" in reason.message and "0.40" in reason.message
    assert "1.00 (5%) over" in reason.message and "2% of 20" in reason.message
    assert codes(result) == ["PRICE_OVER"]


def test_line_amount_limit_catches_a_small_price_variance_on_a_big_line() -> None:
    po = order(line("1", "1000", "20.00", buyer_part="W-100"))
    inv = invoice(line("1", "1000", "20.30"))  # 1.5% per unit is fine, but 300.00 on the line is not
    result = match(inv, [po], [received("1000")], [])
    assert codes(result) == ["LINE_AMOUNT_OVER"]
    reason = result.lines[0].reasons[0]
    assert (reason.expected, reason.actual, reason.limit) == (D("20000.00"), D("20300.00"), D("10.00"))


def test_price_under_the_order_price_holds_by_default() -> None:
    inv = invoice(line("1", "10", "19.50"), line("2", "5", "100.00"))
    result = match(inv, [PO_4711], ALL_IN, [])
    assert codes(result) == ["PRICE_UNDER"]
    relaxed = Tolerances.from_dict({"unit_price": {"over_percent": "2", "over_amount": "5"},
                                    "line_amount": {"over_percent": "2", "over_amount": "10"}})
    assert match(inv, [PO_4711], ALL_IN, [], relaxed).outcome == "matched_within_tolerance"


def test_over_billing_across_two_invoices() -> None:
    first = invoice(line("1", "6", "20.00"), number="INV-1")
    assert match(first, [PO_4711], ALL_IN, []).outcome == "matched"
    second = invoice(line("1", "6", "20.00"), number="INV-2")
    result = match(second, [PO_4711], ALL_IN, [first])
    assert result.outcome == "on_hold"
    assert codes(result) == ["QTY_OVER_ORDERED", "QTY_OVER_RECEIVED"]
    res = result.lines[0]
    assert (res.ordered, res.received, res.billed_before, res.billed_total) == (D(10), D(10), D(6), D(12))
    over = next(r for r in res.reasons if r.code == "QTY_OVER_RECEIVED")
    assert (over.expected, over.actual, over.limit) == (D(10), D(12), D(0))
    assert "12 EA billed in all (6 on earlier invoices + 6 on this one) but only 10 EA received" in over.message


def test_partial_receipt_then_the_rest() -> None:
    inv = invoice(line("1", "10", "20.00"))
    result = match(inv, [PO_4711], [received("6")], [])
    assert result.outcome == "awaiting_receipt"
    wait = result.lines[0].reasons[0]
    assert wait.code == "AWAITING_RECEIPT" and "6 EA received so far" in wait.message
    assert "waits for 4 EA more" in wait.message
    # The second receipt arrives: the same invoice now matches.
    assert match(inv, [PO_4711], [received("6"), received("4")], []).outcome == "matched"


def test_invoice_before_receipt_waits_and_matches_once_the_receipt_is_in() -> None:
    inv = invoice(line("1", "10", "20.00"), line("2", "5", "100.00"))
    early = match(inv, [PO_4711], [], [])
    assert early.outcome == "awaiting_receipt"
    assert [ln.outcome for ln in early.lines] == ["awaiting_receipt", "awaiting_receipt"]
    assert "nothing received yet" in early.lines[0].reasons[0].message
    # The supplier's ship notice counts as received (the caller decided so for this partner).
    shipped = asn(line("1", "10", buyer_part="W-100"), line("2", "5", buyer_part="G-200"))
    assert match(inv, [PO_4711], [shipped], []).outcome == "matched"


def test_case_vs_each() -> None:
    # Ordered 2 cases of 12 at 120.00 a case; billed 24 each at 10.00.
    po = order(line("1", "2", "120.00", uom="CA", upc="012345678905"))
    inv = invoice(line("1", "24", "10.00", uom="EA"))
    units = UnitConverter({"CA": {"EA": 12}})
    result = match(inv, [po], [received("2", uom="CS")], [], units=units)
    assert result.outcome == "matched", result.to_dict()
    res = result.lines[0]
    assert (res.uom, res.quantity, res.unit_price, res.billed_total) == ("CA", D(2), D("120.00"), D(2))
    # Without the factor, eaches and cases cannot be compared.
    assert codes(match(inv, [po], [received("2", uom="CA")], [])) == ["UOM_MISMATCH"]
    # This item comes 24 to the case: 24 EA is one case, and 10.00 each is 240.00 a case.
    per_item = UnitConverter({"CA": {"EA": 12}}, {"upc:012345678905": {"CA": 24}})
    result = match(inv, [po], [received("2", uom="CA")], [], units=per_item)
    assert result.lines[0].quantity == D(1) and codes(result) == ["PRICE_OVER"]


def test_dozen_is_twelve_each_without_configuration() -> None:
    po = order(line("1", "24", "1.00", buyer_part="P-1"))
    inv = invoice(line("1", "2", "12.00", uom="DZ"))
    assert match(inv, [po], [received("24")], []).outcome == "matched"


def test_credit_note_reduces_the_billed_quantity() -> None:
    first = invoice(line("1", "10", "20.00"), number="INV-1")
    credit = invoice(line("1", "2", "20.00"), number="CM-1", purpose="credit")
    credit_result = match(credit, [PO_4711], ALL_IN, [first])
    assert credit_result.outcome == "matched"
    assert credit_result.lines[0].quantity == D(-2) and credit_result.lines[0].billed_total == D(8)
    # After the credit, 2 more can be billed; 3 more cannot.
    assert match(invoice(line("1", "2", "20.00"), number="INV-2"), [PO_4711], ALL_IN, [first, credit]).outcome \
        == "matched"
    over = match(invoice(line("1", "3", "20.00"), number="INV-2"), [PO_4711], ALL_IN, [first, credit])
    assert "QTY_OVER_ORDERED" in codes(over) and over.lines[0].billed_total == D(11)


def test_credit_note_for_more_than_was_billed() -> None:
    first = invoice(line("1", "2", "20.00"), number="INV-1")
    credit = invoice(line("1", "3", "20.00"), number="CM-1", purpose="credit")
    result = match(credit, [PO_4711], ALL_IN, [first])
    assert codes(result) == ["CREDIT_OVER_BILLED"]
    assert "only 2 EA were billed" in result.lines[0].reasons[0].message


def test_duplicate_invoice_number() -> None:
    first = invoice(line("1", "5", "20.00"), number="INV-77")
    again = invoice(line("1", "5", "20.00"), number="inv-77 ")
    result = match(again, [PO_4711], ALL_IN, [first])
    assert result.outcome == "on_hold" and codes(result) == ["DUPLICATE_INVOICE"]
    assert "INV-77" in result.reasons[0].message or "inv-77" in result.reasons[0].message
    # The same number from another supplier is not a duplicate.
    other = invoice(line("1", "5", "20.00"), number="INV-77", sender=Identity(qualifier="ZZ", id="OTHER"))
    assert "DUPLICATE_INVOICE" not in codes(match(other, [PO_4711], ALL_IN, [first]))


def test_unknown_line() -> None:
    inv = invoice(line("1", "10", "20.00"), line("9", "1", "5.00", buyer_part="NOPE"))
    result = match(inv, [PO_4711], ALL_IN, [])
    assert result.outcome == "on_hold"
    assert [ln.outcome for ln in result.lines] == ["matched", "on_hold"]
    assert codes(result) == ["UNKNOWN_LINE"] and "buyer_part NOPE" in result.lines[1].reasons[0].message
    unknown_po = match(invoice(line("1", "1", "20.00", po="PO-9999")), [PO_4711], ALL_IN, [])
    assert codes(unknown_po) == ["UNKNOWN_LINE"] and "PO-9999 is not known" in unknown_po.lines[0].reasons[0].message


def test_two_way_mode_ignores_receipts() -> None:
    inv = invoice(line("1", "10", "20.00"), line("2", "5", "100.00"))
    result = match(inv, [PO_4711], [], [], mode="two_way")
    assert result.outcome == "matched" and result.lines[0].received is None
    # Still checked against what was ordered.
    over = match(invoice(line("1", "11", "20.00")), [PO_4711], [received("11")], [], mode="two_way")
    assert codes(over) == ["QTY_OVER_ORDERED"]


def test_a_service_item_is_two_way_on_a_three_way_invoice() -> None:
    """Installation is never received: configured two-way per item, it matches against the order alone."""
    install = line("3", "1", "250.00", buyer_part="SVC-INSTALL")
    po = order(WIDGETS, GADGETS, install)
    modes = ItemModes.from_dict({"buyer_part:SVC-INSTALL": "two_way"})
    inv = invoice(line("1", "10", "20.00"), line("2", "5", "100.00"), line("3", "1", "250.00"))
    result = match(inv, [po], ALL_IN, [], item_modes=modes)
    assert result.outcome == "matched" and result.mode == "three_way"
    assert [ln.mode for ln in result.lines] == ["three_way", "three_way", "two_way"]
    assert result.lines[2].received is None and result.lines[0].received == D(10)
    # Without the item setting the service line waits for a receipt that never comes.
    assert match(inv, [po], ALL_IN, []).lines[2].outcome == "awaiting_receipt"
    # Still held when billed beyond what was ordered.
    over = match(invoice(line("3", "2", "250.00")), [po], ALL_IN, [], item_modes=modes)
    assert codes(over) == ["QTY_OVER_ORDERED"]


def test_a_three_way_item_on_a_two_way_supplier_waits_for_its_goods() -> None:
    """The supplier is two-way, but widgets (by GTIN or buyer part) must be received before they are paid."""
    modes = ItemModes.from_dict({"W-100": "three_way"})  # a bare value names the item by any kind of id
    inv = invoice(line("1", "10", "20.00"), line("2", "5", "100.00"))
    result = match(inv, [PO_4711], [], [], mode="two_way", item_modes=modes)
    assert result.outcome == "awaiting_receipt" and result.mode == "two_way"
    assert [(ln.mode, ln.outcome) for ln in result.lines] == [("three_way", "awaiting_receipt"),
                                                             ("two_way", "matched")]
    # The receipts count for the three-way item even though the invoice as a whole is two-way.
    assert match(inv, [PO_4711], [received("10", "1")], [], mode="two_way", item_modes=modes).outcome == "matched"
    assert json.loads(json.dumps(result.to_dict()))["lines"][0]["mode"] == "three_way"


def test_item_mode_precedence_item_over_partner_over_global() -> None:
    """The most specific setting decides; two item settings naming one line disagree: three-way wins."""
    modes = ItemModes.from_dict({"buyer_part:W-100": "two_way", "vendor_part:ACM-W": "three_way",
                                 "G-200": "two_way", "ACM-X": None})
    assert modes.for_item(frozenset({"buyer_part:W-100", "vendor_part:ACM-W"})) == ("three_way", "vendor_part:ACM-W")
    assert modes.for_item(frozenset({"buyer_part:G-200"})) == ("two_way", "G-200")
    assert modes.for_item(frozenset({"buyer_part:OTHER"})) is None  # the partner's or the global mode applies
    assert modes.any_three_way and not ItemModes.from_dict({})
    try:
        ItemModes.from_dict({"W-100": "one_way"})
    except ValueError as exc:
        assert "matching.items.W-100.mode" in str(exc) and "two_way" in str(exc)
    else:
        raise AssertionError("an unknown mode must be refused")
    # Partner two-way, global three-way, item three-way: the item line waits, the other matches two-way.
    inv = invoice(line("1", "10", "20.00"), line("2", "5", "100.00"))
    partner_mode = "two_way"  # PartnerConfig.match_mode, which wins over [matching] mode = "three_way"
    result = match(inv, [PO_4711], [], [], mode=partner_mode,
                   item_modes=ItemModes.from_dict({"upc:012345678905": "three_way", "W-100": "three_way"}))
    assert [ln.outcome for ln in result.lines] == ["awaiting_receipt", "matched"]


def test_item_modes_in_the_configuration() -> None:
    from pydantic import ValidationError

    from gateway.config import MatchingConfig

    cfg = MatchingConfig.model_validate({"mode": "three_way", "items": {"buyer_part:SVC-INSTALL": {"mode": "two_way"}}})
    assert cfg.items == {"buyer_part:SVC-INSTALL": {"mode": "two_way"}}
    for bad in ({"x": {"mode": "sometimes"}}, {"x": {"tolerance": "1"}}):
        try:
            MatchingConfig.model_validate({"items": bad})
        except ValidationError as exc:
            assert "items.x" in str(exc)
        else:
            raise AssertionError(f"{bad} must be refused")


def test_tolerance_precedence_strictest_wins() -> None:
    """Global 2% / 5.00, partner 1%, item 0.10 absolute: each level narrows, the smallest limit binds."""
    tolerances = Tolerances.from_dict({
        "partners": {"acme": {"unit_price": {"over_percent": "1"}}},
        "items": {"buyer_part:W-100": {"unit_price": {"over_amount": "0.10"}}},
    })
    inv = invoice(line("1", "10", "20.15"), line("2", "5", "101.50"))
    # Without the partner: 20.15 (0.75%) and 101.50 (1.5%) pass the global 2%; the item limit 0.10 still applies.
    plain = match(inv, [PO_4711], ALL_IN, [], tolerances)
    assert [ln.outcome for ln in plain.lines] == ["on_hold", "matched_within_tolerance"]
    item_hold = plain.lines[0].reasons[0]
    assert item_hold.code == "PRICE_OVER" and item_hold.limit == D("0.10") and "item buyer_part:W-100" in \
        item_hold.message
    # With the partner: gadgets at 1.5% breach the partner's 1% (1.00), stricter than global 2% (2.00).
    acme = match(inv, [PO_4711], ALL_IN, [], tolerances, partner="acme")
    gadget = acme.lines[1].reasons[0]
    assert gadget.code == "PRICE_OVER" and gadget.limit == D("1.00") and "partner acme" in gadget.message
    # A lenient partner setting cannot loosen the global one.
    lenient = Tolerances.from_dict({"partners": {"acme": {"unit_price": {"over_percent": "50"}}}})
    assert codes(match(invoice(line("1", "10", "21.00")), [PO_4711], ALL_IN, [], lenient, partner="acme")) == \
        ["PRICE_OVER"]


def test_tolerance_check_reports_the_strictest_breached_limit() -> None:
    tol = Tolerances.from_dict({"unit_price": {"over_percent": "2", "over_amount": "5"}})
    cheap = tol.check("unit_price", D("10.00"), D("10.50"))
    assert not cheap.within and cheap.limit is not None and cheap.limit.amount == D("0.20")  # 2% < 5.00
    dear = tol.check("unit_price", D("1000.00"), D("1006.00"))
    assert not dear.within and dear.limit is not None and dear.limit.amount == D("5")  # 5.00 < 2% (20.00)
    assert tol.check("unit_price", D("1000.00"), D("1004.99")).within


def test_currency_mismatch() -> None:
    inv = invoice(line("1", "10", "20.00"), currency="CAD")
    result = match(inv, [PO_4711], ALL_IN, [])
    assert codes(result) == ["CURRENCY_MISMATCH"] and result.lines[0].outcome == "matched"
    assert "CAD" in result.reasons[0].message and "USD" in result.reasons[0].message
    assert match(invoice(line("1", "10", "20.00"), currency=None), [PO_4711], ALL_IN, []).outcome == "matched"


def test_total_mismatch_with_freight_and_tax_checked_apart() -> None:
    po = order(WIDGETS, GADGETS, tax="35.00", freight="25.00")  # tax on 700.00 of goods: 5%
    lines = (line("1", "10", "20.00"), line("2", "5", "100.00"))
    # Right total, right tax, right freight.
    assert match(invoice(*lines, tax="35.00", freight="25.00"), [po], ALL_IN, []).outcome == "matched"
    # Total 5.00 over what lines + freight + tax add up to: only the total is wrong.
    total = match(invoice(*lines, tax="35.00", freight="25.00", total="765.00"), [po], ALL_IN, [])
    assert codes(total) == ["TOTAL_MISMATCH"]
    reason = total.reasons[0]
    assert (reason.expected, reason.actual, reason.limit) == (D("760.00"), D("765.00"), D("1.00"))
    assert "lines 700.00 + charges 25.00 + tax 35.00" in reason.message
    # Freight 100.00 against 25.00 on the PO, total consistent: only freight.
    freight = match(invoice(*lines, tax="35.00", freight="100.00"), [po], ALL_IN, [])
    assert codes(freight) == ["FREIGHT_MISMATCH"]
    assert (freight.reasons[0].expected, freight.reasons[0].actual, freight.reasons[0].limit) == (
        D("25.00"), D("100.00"), D("50.00"))
    # Tax 42.00 against 35.00 (5% of 700.00), total consistent: only tax.
    tax = match(invoice(*lines, tax="42.00", freight="25.00"), [po], ALL_IN, [])
    assert codes(tax) == ["TAX_MISMATCH"]
    assert (tax.reasons[0].expected, tax.reasons[0].actual) == (D("35.00"), D("42.00"))


def test_tax_is_prorated_to_what_is_billed_and_freight_is_cumulative() -> None:
    po = order(WIDGETS, GADGETS, tax="35.00", freight="25.00")
    first = invoice(line("1", "10", "20.00"), tax="10.00", freight="25.00", number="INV-1")  # 200/700 of 35
    assert match(first, [po], ALL_IN, []).outcome == "matched"
    second = invoice(line("2", "5", "100.00"), tax="25.00", freight="80.00", number="INV-2")
    result = match(second, [po], ALL_IN, [first])
    assert codes(result) == ["FREIGHT_MISMATCH"]
    assert result.reasons[0].actual == D("105.00") and "25.00 on earlier invoices" in result.reasons[0].message


def test_freight_without_freight_on_the_order_is_allowed_up_to_the_limit() -> None:
    inv = invoice(line("1", "10", "20.00"), freight="45.00")
    result = match(inv, [PO_4711], ALL_IN, [])
    assert result.outcome == "matched_within_tolerance"
    assert [(v.dimension, v.expected, v.actual) for v in result.variances] == [("freight", D(0), D("45.00"))]


def test_total_with_allowances_as_the_810_maps_them() -> None:
    # Like samples/x12/acme_810_004010.json: subtotal + charges (freight) - allowances + tax.
    inv = invoice(line("1", "10", "20.00"), freight="45.00", tax="10.00", total="242.50", charges="45.00",
                  allowances="12.50")
    result = match(inv, [PO_4711], ALL_IN, [])
    assert "TOTAL_MISMATCH" not in codes(result)


def test_lines_matched_by_item_id_when_the_invoice_has_no_po_line_numbers() -> None:
    inv = invoice(line(None, "5", "100.00", vendor_part="ACM-G"), line(None, "10", "20.00", buyer_part="W-100"))
    result = match(inv, [PO_4711], ALL_IN, [])
    assert result.outcome == "matched"
    assert [ln.po_line_number for ln in result.lines] == ["2", "1"]


def test_gtin_upc_and_ean_name_the_same_item() -> None:
    po = order(line("10", "4", "9.99", upc="012345678905"))
    inv = invoice(line(None, "4", "9.99", gtin="00012345678905"))
    assert match(inv, [po], [received("4", None, gtin="12345678905")], []).outcome == "matched"


def test_line_number_with_a_conflicting_item_falls_back_to_the_item_id() -> None:
    # The supplier numbered its invoice lines 1, 2 in its own order; the ids say otherwise.
    inv = invoice(line("1", "5", "100.00", buyer_part="G-200"), line("2", "10", "20.00", buyer_part="W-100"))
    result = match(inv, [PO_4711], ALL_IN, [])
    assert [ln.po_line_number for ln in result.lines] == ["2", "1"] and result.outcome == "matched"


def test_change_order_supersedes_the_original() -> None:
    change = order(line("1", "12", "19.00", buyer_part="W-100"), purpose="change", date=dt.date(2025, 6, 5))
    inv = invoice(line("1", "12", "19.00"))
    result = match(inv, [PO_4711, change], [received("12")], [])
    assert result.outcome == "matched"
    assert (result.lines[0].ordered, result.lines[0].po_unit_price) == (D(12), D("19.00"))
    replaced = order(line("1", "3", "20.00", buyer_part="W-100"), purpose="replace", date=dt.date(2025, 6, 6))
    result = match(inv, [PO_4711, change, replaced], [received("12")], [])
    assert codes(result) == ["PRICE_UNDER", "QTY_OVER_ORDERED"]  # back to 20.00, and only 3 ordered
    assert result.lines[0].ordered == D(3)
    cancelled = order(purpose="cancel", date=dt.date(2025, 6, 7))
    assert "QTY_OVER_ORDERED" in codes(match(invoice(line("1", "1", "20.00")), [PO_4711, cancelled], ALL_IN, []))


def test_po_lines_may_be_bare_lines_the_erp_submits() -> None:
    inv = invoice(line("1", "10", "20.00"))
    assert match(inv, [WIDGETS, GADGETS], ALL_IN, []).outcome == "matched"


def test_invoice_dated_before_the_order() -> None:
    result = match(invoice(line("1", "10", "20.00"), date=dt.date(2025, 5, 1)), [PO_4711], ALL_IN, [])
    assert codes(result) == ["DATE_OUT_OF_RANGE"] and "32 days before" in result.reasons[0].message


def test_an_invoice_spanning_two_orders() -> None:
    other = order(line("1", "3", "7.50", buyer_part="X-1"), number="PO-4712")
    inv = invoice(line("1", "10", "20.00"), line("1", "3", "7.50", po="PO-4712"), po=PO)
    result = match(inv, [PO_4711, other], [*ALL_IN, received("3", po="PO-4712")], [])
    assert result.outcome == "matched" and [ln.po_number for ln in result.lines] == [PO, "PO-4712"]


def test_result_is_json_safe_with_decimals_as_strings() -> None:
    inv = invoice(line("1", "10", "21.00"), line("2", "5", "100.00"))
    data = MatchInput(inv, [PO_4711], ALL_IN, partner="acme").run().to_dict()
    text = json.dumps(data)
    assert "Decimal" not in text
    first = data["lines"][0]
    assert first["outcome"] == "on_hold" and first["reasons"][0]["code"] == "PRICE_OVER"
    assert first["variances"][0] == {"dimension": "unit_price", "line_number": "1", "expected": "20.00",
                                     "actual": "21.00", "difference": "1.00", "percentage": "5.00",
                                     "limit": "0.40", "limit_source": "global", "within": False}
    assert data["reason_codes"] == ["PRICE_OVER"] and data["supplier"] == "acme"


def test_tolerances_load_from_a_toml_like_dict() -> None:
    tol = Tolerances.from_dict({"unit_price": {"over_percent": 1.5, "over_amount": "2"},
                                "items": {"012345678905": {"quantity_vs_received": {"over_percent": "5"}}}})
    assert tol.unit_price == Tolerance(over_percent=D("1.5"), over_amount=D("2"))
    assert tol.line_amount is not None and tol.line_amount.over_amount == D("10.00")  # defaults kept
    keys = frozenset({"gtin:00012345678905"})
    assert [s for s, _ in tol.applicable("quantity_vs_received", None, keys)] == ["global", "item 012345678905"]


def test_the_sample_810_against_its_850_and_856() -> None:
    from tests.conftest import SAMPLES

    def load(name: str) -> list[Document]:
        return [Document.from_json_dict(d) for d in json.loads((SAMPLES / "x12" / f"{name}.json").read_text())]

    inv = load("globex_810_004010VICS")[0]
    result = match(inv, load("globex_850_004010VICS"), load("globex_856_004010VICS"), [])
    # The 856 shipped lines 1 and 2 of this PO (its third line is for another PO): line 3 waits.
    assert [ln.outcome for ln in result.lines] == ["matched", "matched", "awaiting_receipt"]
    assert result.outcome == "awaiting_receipt"


# ------------------------------------------------------------------------------------- properties

quantities = st.decimals(min_value=D("0.01"), max_value=D("100000"), places=2)
prices = st.decimals(min_value=D("0.01"), max_value=D("100000"), places=4)


@settings(max_examples=200, deadline=None)
@given(ordered=quantities, billed=quantities, recv=quantities, po_price=prices, inv_price=prices,
       uom=st.sampled_from(["EA", "CA", "DZ", "BX"]), credit=st.booleans(), mode=st.sampled_from(["three_way",
                                                                                                   "two_way"]))
def test_random_quantities_and_prices_never_raise(ordered: D, billed: D, recv: D, po_price: D, inv_price: D,
                                                   uom: str, credit: bool, mode: str) -> None:
    po = order(line("1", str(ordered), str(po_price), buyer_part="W"))
    inv = invoice(line("1", str(billed), str(inv_price), uom=uom), purpose="credit" if credit else "original")
    result = match(inv, [po], [received(str(recv))], [], units=UnitConverter({"CA": {"EA": 12}}),
                   mode="two_way" if mode == "two_way" else "three_way")
    json.dumps(result.to_dict())
    assert result.outcome in ("matched", "matched_within_tolerance", "awaiting_receipt", "on_hold")


@settings(max_examples=200, deadline=None)
@given(ordered=quantities, po_price=prices, bump=st.decimals(min_value=D(0), max_value=D(1), places=3),
       billed_share=st.decimals(min_value=D("0.01"), max_value=D(1), places=2))
def test_a_line_within_every_limit_is_never_held(ordered: D, po_price: D, bump: D, billed_share: D) -> None:
    tol = Tolerances()
    # A price somewhere inside both the unit price and the line amount limits, a quantity within what was
    # ordered and received.
    qty = max(D("0.01"), (ordered * billed_share).quantize(D("0.01")))
    allowed = min(po_price * D("0.02"), D("5"), D("10") / qty)
    inv_price = po_price + (allowed * bump).quantize(D("0.0001"), rounding="ROUND_DOWN")
    po = order(line("1", str(ordered), str(po_price), buyer_part="W"))
    inv = invoice(line("1", str(qty), str(inv_price)))
    result = match(inv, [po], [received(str(ordered))], [], tol)
    assert result.outcome in ("matched", "matched_within_tolerance"), result.to_dict()
