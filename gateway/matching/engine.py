"""The matching engine: one invoice against its purchase orders, receipts and earlier invoices.

Pure and deterministic: documents in, a `MatchResult` out, no store and no clock, so the pipeline can
re-run it whenever a receipt, a ship notice, a PO change or another invoice arrives, and a hold whose
cause is gone simply comes back "matched".

How an invoice is judged (three-way by default, two-way ignores receipts; the mode may be set per item,
`item_modes`, which wins over the partner's and the global mode for the lines of that item):

1. Orders are folded per PO number: the original, then change orders in date order (`replace`
   replaces every line, `change` replaces the lines it names and adds new ones, a line with status
   delete/cancel and a `cancel` order leave 0 ordered).
2. Each invoice line finds its PO line: by PO line number where both sides carry it (unless the two
   lines name the same kind of item id with different values), else by any shared item id
   (`buyer_part`, `vendor_part`, `upc`/`gtin` as one kind, `sku`, ...). Receipts and earlier invoices
   find theirs the same way. Quantities are converted into the PO line's unit.
3. Quantities are cumulative per PO line: every receipt adds to "received", every earlier invoice to
   "billed" (credit notes subtract), and this invoice's lines on that PO line add on top.
   - billed beyond ordered (quantity_vs_ordered) holds: QTY_OVER_ORDERED, and in three-way also
     QTY_OVER_RECEIVED when it is beyond received too;
   - in three-way, billed beyond received but still within ordered is `awaiting_receipt`: the goods
     are due, the invoice waits for them (not an error) and matches once the receipt is in the inputs.
4. Prices are per unit of the PO line: over the unit_price tolerance is PRICE_OVER, under it
   PRICE_UNDER; the line amount (quantity x price against quantity x PO price) has its own limit,
   LINE_AMOUNT_OVER / LINE_AMOUNT_UNDER, reported when the unit price itself is within tolerance.
5. Invoice level: DUPLICATE_INVOICE (the number already among this supplier's earlier invoices),
   CURRENCY_MISMATCH (both sides state a currency and they differ), TOTAL_MISMATCH (the stated total
   against the lines plus charges (freight included) minus allowances plus tax, as the invoice itself
   states them), TAX_MISMATCH (tax against the POs' tax prorated to what is billed, only where a PO
   states tax), FREIGHT_MISMATCH (freight billed so far on the POs against the POs' freight, 0 when
   they state none), DATE_OUT_OF_RANGE (invoice date against the PO date, in days).
6. Outcome: `on_hold` if any line or the invoice has a reason; else `awaiting_receipt` if any line
   waits; else `matched_within_tolerance` if any difference was recorded; else `matched`. Every line
   keeps its own outcome, reasons and variances.

Credit notes (purpose `credit`) count negatively and are not price-checked (they give back what an
earlier invoice billed); crediting more than was billed is CREDIT_OVER_BILLED. Lines the engine cannot
use hold too: UNKNOWN_LINE (no such PO or PO line), UOM_MISMATCH (no factor between the units),
INCOMPLETE_LINE (no quantity). The caller passes only the receipts that count (ship notices only for
partners whose settings say so) and never the invoice under evaluation among the earlier ones.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from gateway.matching.items import ItemModes, Mode, conflicting, item_keys
from gateway.matching.tolerances import Check, Dimension, Tolerances, _num
from gateway.matching.uom import UnitConverter, unit
from mappings.canonical import Document, Line

Outcome = Literal["matched", "matched_within_tolerance", "awaiting_receipt", "on_hold"]

ZERO = Decimal(0)
HUNDRED = Decimal(100)
CENT = Decimal("0.01")
CHANGE_PURPOSES = frozenset({"change", "replace", "cancel"})
DELETED = frozenset({"delete", "deleted", "cancel", "cancelled", "canceled", "DI"})
_RANK: dict[str, int] = {"matched": 0, "matched_within_tolerance": 1, "awaiting_receipt": 2, "on_hold": 3}

# Every reason code the engine gives, with what it means for a clerk.
REASONS: dict[str, str] = {
    "PRICE_OVER": "unit price above the order price beyond tolerance",
    "PRICE_UNDER": "unit price below the order price beyond tolerance",
    "LINE_AMOUNT_OVER": "line amount above quantity x order price beyond tolerance",
    "LINE_AMOUNT_UNDER": "line amount below quantity x order price beyond tolerance",
    "QTY_OVER_RECEIVED": "more billed (all invoices together) than received",
    "QTY_OVER_ORDERED": "more billed (all invoices together) than ordered",
    "CREDIT_OVER_BILLED": "more credited than was ever billed",
    "UNKNOWN_LINE": "the line matches no purchase order line",
    "UOM_MISMATCH": "the invoice unit cannot be converted to the order unit",
    "INCOMPLETE_LINE": "the line has no quantity",
    "DUPLICATE_INVOICE": "this supplier already sent an invoice with this number",
    "CURRENCY_MISMATCH": "invoice and order are in different currencies",
    "TOTAL_MISMATCH": "the invoice total is not its lines plus charges and tax",
    "TAX_MISMATCH": "tax differs from the order's tax for what is billed",
    "FREIGHT_MISMATCH": "freight differs from the order's freight",
    "DATE_OUT_OF_RANGE": "invoice dated before the order, or too long after it",
}


@dataclass(frozen=True, slots=True)
class Receipt:
    """A goods receipt the ERP submits: what arrived against one PO line (or an item on the PO)."""

    po_number: str
    quantity: Decimal
    uom: str | None = None
    line_number: str | None = None
    item_ids: dict[str, str] = field(default_factory=dict)
    date: dt.date | None = None
    reference: str | None = None


@dataclass(slots=True)
class Variance:
    """A difference between invoice and expectation, recorded whether or not it holds the invoice."""

    dimension: Dimension
    expected: Decimal
    actual: Decimal
    difference: Decimal
    percentage: Decimal | None
    limit: Decimal | None
    limit_source: str | None
    within: bool
    line_number: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"dimension": self.dimension, "line_number": self.line_number, "expected": _s(self.expected),
                "actual": _s(self.actual), "difference": _s(self.difference), "percentage": _s(self.percentage),
                "limit": _s(self.limit), "limit_source": self.limit_source, "within": self.within}


@dataclass(slots=True)
class Reason:
    """Why a line or the invoice is held (or waits), in words an AP clerk can act on."""

    code: str
    message: str
    line_number: str | None = None
    dimension: Dimension | None = None
    expected: Decimal | None = None
    actual: Decimal | None = None
    limit: Decimal | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "line_number": self.line_number,
                "dimension": self.dimension, "expected": _s(self.expected), "actual": _s(self.actual),
                "limit": _s(self.limit)}


@dataclass(slots=True)
class LineResult:
    """One invoice line: the PO line it matched, the cumulative picture there, and its own outcome."""

    index: int
    line_number: str | None
    outcome: Outcome = "matched"
    po_number: str | None = None
    po_line_number: str | None = None
    uom: str | None = None  # the PO line's unit: every quantity below is in it
    quantity: Decimal | None = None  # this line, in the PO unit (negative for a credit)
    unit_price: Decimal | None = None  # this line's price per PO unit
    po_unit_price: Decimal | None = None
    ordered: Decimal | None = None
    received: Decimal | None = None
    billed_before: Decimal | None = None  # earlier invoices on the PO line
    billed_total: Decimal | None = None  # earlier invoices plus every line of this invoice on the PO line
    mode: Mode | None = None  # two- or three-way for this line (the item's setting, else the invoice's)
    reasons: list[Reason] = field(default_factory=list)
    variances: list[Variance] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "line_number": self.line_number, "outcome": self.outcome,
                "po_number": self.po_number, "po_line_number": self.po_line_number, "uom": self.uom,
                "quantity": _s(self.quantity), "unit_price": _s(self.unit_price),
                "po_unit_price": _s(self.po_unit_price), "ordered": _s(self.ordered), "received": _s(self.received),
                "billed_before": _s(self.billed_before), "billed_total": _s(self.billed_total), "mode": self.mode,
                "reasons": [r.to_dict() for r in self.reasons], "variances": [v.to_dict() for v in self.variances]}


@dataclass(slots=True)
class MatchResult:
    """The verdict on one invoice: outcome, every line's own result, and all reasons and variances."""

    outcome: Outcome
    invoice_number: str | None
    supplier: str | None
    mode: Mode
    lines: list[LineResult]
    reasons: list[Reason]  # invoice-level reasons
    variances: list[Variance]  # invoice-level variances
    notes: list[str] = field(default_factory=list)  # checks that could not run, inputs that were skipped

    @property
    def held(self) -> bool:
        return self.outcome == "on_hold"

    @property
    def all_reasons(self) -> list[Reason]:
        """Invoice-level reasons, then each line's, in line order."""
        return self.reasons + [r for line in self.lines for r in line.reasons]

    @property
    def all_variances(self) -> list[Variance]:
        return self.variances + [v for line in self.lines for v in line.variances]

    @property
    def reason_codes(self) -> list[str]:
        """Distinct codes in order of first appearance."""
        return list(dict.fromkeys(r.code for r in self.all_reasons))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe (decimals as strings), to attach to the invoice sent to the ERP or shown in the inbox."""
        return {"outcome": self.outcome, "invoice_number": self.invoice_number, "supplier": self.supplier,
                "mode": self.mode, "reason_codes": self.reason_codes,
                "reasons": [r.to_dict() for r in self.reasons], "variances": [v.to_dict() for v in self.variances],
                "lines": [line.to_dict() for line in self.lines], "notes": list(self.notes)}


@dataclass
class MatchInput:
    """Everything one match needs, bundled for callers that gather it first (the store, the pipeline)."""

    invoice: Document
    po_lines: Sequence[Document | Line]
    receipts: Sequence[Receipt | Document] = ()
    prior_invoices: Sequence[Document] = ()
    partner: str | None = None

    def run(self, tolerances: Tolerances | None = None, units: UnitConverter | None = None,
            mode: Mode = "three_way") -> MatchResult:
        return match(self.invoice, self.po_lines, self.receipts, self.prior_invoices, tolerances, units, mode,
                     partner=self.partner)


# --------------------------------------------------------------------------------------------- index


@dataclass(slots=True)
class _POLine:
    po_number: str
    line_number: str | None
    position: int
    ordered: Decimal
    uom: str | None
    unit_price: Decimal | None
    keys: frozenset[str]
    received: Decimal = ZERO
    billed_before: Decimal = ZERO
    billed_now: Decimal = ZERO


@dataclass(slots=True)
class _Order:
    number: str
    currency: str | None = None
    date: dt.date | None = None
    tax: Decimal | None = None
    freight: Decimal | None = None
    lines: list[_POLine] = field(default_factory=list)
    by_number: dict[str, _POLine] = field(default_factory=dict)
    by_key: dict[str, list[_POLine]] = field(default_factory=dict)

    def index(self) -> None:
        self.by_number = {pl.line_number: pl for pl in self.lines if pl.line_number is not None}
        self.by_key = {}
        for pl in self.lines:
            for k in pl.keys:
                self.by_key.setdefault(k, []).append(pl)

    def subtotal(self) -> Decimal:
        return sum((pl.ordered * pl.unit_price for pl in self.lines if pl.unit_price is not None), ZERO)


def _po_line(po: str, line: Line, position: int) -> _POLine:
    status = (line.status or "").strip()
    ordered = ZERO if status in DELETED or status.lower() in DELETED else (line.quantity or ZERO)
    return _POLine(po, _num_key(line.line_number), position, ordered, unit(line.uom), line.unit_price,
                   item_keys(line.item_ids))


def _num_key(number: str | None) -> str | None:
    """Line numbers compared as written, but "001" and "1" are the same line."""
    if number is None:
        return None
    number = number.strip()
    return (number.lstrip("0") or "0") if number.isdigit() else (number or None)


def _apply_change(order: _Order, doc: Document) -> None:
    purpose = (doc.purpose or "").lower()
    if doc.currency:
        order.currency = doc.currency
    if doc.totals.tax is not None:
        order.tax = doc.totals.tax
    if doc.totals.freight is not None:
        order.freight = doc.totals.freight
    if purpose == "cancel":
        for pl in order.lines:
            pl.ordered = ZERO
        return
    if purpose == "replace":
        order.lines = [_po_line(order.number, line, i) for i, line in enumerate(doc.lines)]
        return
    by_number = {pl.line_number: pl for pl in order.lines}
    for line in doc.lines:
        new = _po_line(order.number, line, len(order.lines))
        old = by_number.get(new.line_number)
        if old is None:
            order.lines.append(new)
            by_number[new.line_number] = new
            continue
        old.ordered = new.ordered if line.quantity is not None or new.ordered == ZERO else old.ordered
        old.uom = new.uom or old.uom
        old.unit_price = new.unit_price if new.unit_price is not None else old.unit_price
        old.keys = old.keys | new.keys


def _fold_orders(po_lines: Iterable[Document | Line]) -> dict[str, _Order]:
    """Originals, then change orders by date (then input order): the PO as it stands now."""
    docs: dict[str, list[tuple[int, Document]]] = {}
    loose: dict[str, list[Line]] = {}
    for i, item in enumerate(po_lines):
        if isinstance(item, Document):
            if item.kind != "order":
                continue
            number = (item.po_number or item.number or "").strip()
            if number:
                docs.setdefault(number, []).append((i, item))
        elif item.po_number:
            loose.setdefault(item.po_number.strip(), []).append(item)
    orders: dict[str, _Order] = {}
    for number, versions in docs.items():
        originals = [d for _, d in versions if (d.purpose or "original").lower() not in CHANGE_PURPOSES]
        changes = sorted(((d.date or dt.date.min, i), d) for i, d in versions
                         if (d.purpose or "original").lower() in CHANGE_PURPOSES)
        base = originals[0] if originals else None
        order = _Order(number)
        if base is not None:
            order.currency, order.date = base.currency, base.date
            order.tax, order.freight = base.totals.tax, base.totals.freight
            order.lines = [_po_line(number, line, i) for i, line in enumerate(base.lines)]
        for _, change in changes:
            if order.date is None:
                order.date = change.date
            _apply_change(order, change)
        orders[number] = order
    for number, lines in loose.items():
        order = orders.setdefault(number, _Order(number))
        order.lines.extend(_po_line(number, line, len(order.lines) + i) for i, line in enumerate(lines))
    for order in orders.values():
        order.index()
    return orders


def _locate(orders: dict[str, _Order], po: str | None, line_number: str | None,
            keys: frozenset[str]) -> _POLine | None:
    """The PO line a line bills or receives: by line number, else by the item ids it shares most."""
    if po:
        order = orders.get(po.strip())
        if order is None:
            return None
        candidates: Iterable[_Order] = (order,)
    else:
        candidates = orders.values()
    number = _num_key(line_number)
    best: _POLine | None = None
    best_rank = (0, 0)
    for order in candidates:
        if number is not None and po:
            pl = order.by_number.get(number)
            if pl is not None and not conflicting(pl.keys, keys):
                return pl
        # The PO line sharing the most ids; on a tie the earlier line, and the earlier order.
        for k in keys:
            for pl in order.by_key.get(k, ()):
                rank = (len(pl.keys & keys), -pl.position)
                if best is None or (rank > best_rank and (pl.po_number == best.po_number or rank[0] > best_rank[0])):
                    best, best_rank = pl, rank
    return best


# ------------------------------------------------------------------------------------------- engine


def match(invoice: Document, po_lines: Sequence[Document | Line], receipts: Sequence[Receipt | Document] = (),
          prior_invoices: Sequence[Document] = (), tolerances: Tolerances | None = None,
          units: UnitConverter | None = None, mode: Mode = "three_way", *, partner: str | None = None,
          item_modes: ItemModes | None = None) -> MatchResult:
    """Match one invoice (or credit note).

    `po_lines`: the purchase orders as canonical order documents (originals and change orders) and/or
    bare canonical lines carrying their `po_number` (orders the ERP submits line by line).
    `receipts`: `Receipt` records and ship-notice documents that count as received (the caller
    decides which count). `prior_invoices`: invoices and credit notes already accepted for those POs,
    not including `invoice`. `partner`: the supplier's partner id, for partner tolerances and
    duplicate detection (else the sender identity is used). `item_modes`: two- or three-way per item,
    over `mode` for the lines of those items.
    """
    tolerances = tolerances if tolerances is not None else _DEFAULT_TOLERANCES
    units = units if units is not None else _DEFAULT_UNITS
    run = _Run(invoice, tolerances, units, mode, partner, item_modes)
    orders = _fold_orders(po_lines)
    run.orders = orders
    if mode == "three_way" or (item_modes is not None and item_modes.any_three_way):
        for receipt in receipts:
            run.receive(receipt)
    for prior in prior_invoices:
        if prior is not invoice:
            run.bill_prior(prior)
    return run.judge()


_DEFAULT_TOLERANCES = Tolerances()
_DEFAULT_UNITS = UnitConverter()


def _supplier(doc: Document, partner: str | None) -> str | None:
    if partner:
        return partner
    if doc.sender is not None:
        return f"{doc.sender.qualifier}:{doc.sender.id}".strip(":")
    return None


def _same_supplier(a: Document, b: Document) -> bool:
    if a.sender is None or b.sender is None:
        return True
    return (a.sender.qualifier.strip(), a.sender.id.strip()) == (b.sender.qualifier.strip(), b.sender.id.strip())


def _sign(doc: Document) -> int:
    return -1 if (doc.purpose or "").lower() == "credit" else 1


class _Run:
    """The state of one match: the folded orders with their cumulative counters, then the verdict."""

    def __init__(self, invoice: Document, tolerances: Tolerances, units: UnitConverter, mode: Mode,
                 partner: str | None, item_modes: ItemModes | None = None) -> None:
        self.invoice = invoice
        self.tol = tolerances
        self.units = units
        self.mode = mode
        self.item_modes = item_modes
        self.partner = partner
        self.orders: dict[str, _Order] = {}
        self.notes: list[str] = []
        self.prior: list[Document] = []
        self.currency = invoice.currency or ""

    # -- inputs ------------------------------------------------------------------------------------

    def _in_po_unit(self, pl: _POLine, quantity: Decimal, uom: str | None, keys: frozenset[str]) -> Decimal | None:
        u = unit(uom)
        if u is None or pl.uom is None or u == pl.uom:
            return quantity
        return self.units.convert(quantity, u, pl.uom, pl.keys | keys)

    def receive(self, receipt: Receipt | Document) -> None:
        if isinstance(receipt, Receipt):
            self._receive_one(receipt.po_number, receipt.line_number, receipt.quantity, receipt.uom,
                              item_keys(receipt.item_ids), receipt.reference or "receipt")
            return
        for line in receipt.lines:
            if line.quantity is not None:
                self._receive_one(line.po_number or receipt.po_number, line.line_number, line.quantity, line.uom,
                                  item_keys(line.item_ids), f"ship notice {receipt.number or '?'}")

    def _receive_one(self, po: str | None, number: str | None, quantity: Decimal, uom: str | None,
                     keys: frozenset[str], label: str) -> None:
        if po is None or po.strip() not in self.orders:
            return  # a receipt for another PO: not this match's business
        pl = _locate(self.orders, po, number, keys)
        if pl is None:
            self.notes.append(f"{label} for PO {po} line {number or '?'} matches no line on the order; not counted")
            return
        q = self._in_po_unit(pl, quantity, uom, keys)
        if q is None:
            self.notes.append(f"{label}: {_num(quantity)} {uom} on PO {po} line {pl.line_number} cannot be "
                              f"converted to {pl.uom}; not counted")
            return
        pl.received += q

    def bill_prior(self, prior: Document) -> None:
        self.prior.append(prior)
        sign = _sign(prior)
        for line in prior.lines:
            if line.quantity is None:
                continue
            po = line.po_number or prior.po_number
            if po is None or po.strip() not in self.orders:
                continue
            keys = item_keys(line.item_ids)
            pl = _locate(self.orders, po, line.line_number, keys)
            if pl is None:
                continue
            q = self._in_po_unit(pl, line.quantity, line.uom, keys)
            if q is not None:
                pl.billed_before += sign * q

    # -- verdict -----------------------------------------------------------------------------------

    def judge(self) -> MatchResult:
        inv = self.invoice
        sign = _sign(inv)
        credit = sign < 0
        results: list[LineResult] = []
        located: list[tuple[LineResult, Line, _POLine | None, frozenset[str]]] = []
        for i, line in enumerate(inv.lines):
            res = LineResult(index=i, line_number=line.line_number)
            results.append(res)
            po = line.po_number or inv.po_number
            keys = item_keys(line.item_ids)
            pl = _locate(self.orders, po, line.line_number, keys) if self.orders else None
            label = _line_label(line, i)
            if pl is None:
                if po and po.strip() not in self.orders:
                    msg = f"{label}: purchase order {po} is not known, so the line cannot be matched."
                else:
                    ids = ", ".join(f"{k} {v}" for k, v in line.item_ids.items()) or "no item ids"
                    msg = (f"{label} ({ids}) matches no line on purchase order {po or '(none given)'}: neither "
                           f"its line number nor any item id is on the order.")
                res.reasons.append(Reason("UNKNOWN_LINE", msg, line.line_number))
                res.outcome = "on_hold"
                located.append((res, line, None, keys))
                continue
            res.po_number, res.po_line_number, res.uom = pl.po_number, pl.line_number, pl.uom
            res.po_unit_price = pl.unit_price
            if line.quantity is None:
                res.reasons.append(Reason("INCOMPLETE_LINE", f"{label} states no quantity, so it cannot be "
                                          f"checked against PO {pl.po_number} line {pl.line_number}.",
                                          line.line_number))
                res.outcome = "on_hold"
                located.append((res, line, None, keys))
                continue
            ratio = None
            q: Decimal | None
            u = unit(line.uom)
            if u is None or pl.uom is None or u == pl.uom:
                q = line.quantity
            else:
                ratio = self.units.ratio(pl.uom, u, pl.keys | keys)  # invoice units per PO unit
                q = None if ratio is None else line.quantity * ratio[1] / ratio[0]
            if q is None:
                res.reasons.append(Reason(
                    "UOM_MISMATCH", f"{label} is billed in {line.uom} but PO {pl.po_number} line {pl.line_number} "
                    f"is in {pl.uom}, and no conversion between the two is configured for this item.",
                    line.line_number))
                res.outcome = "on_hold"
                located.append((res, line, None, keys))
                continue
            res.quantity = sign * q
            if line.unit_price is not None:
                res.unit_price = line.unit_price if ratio is None else line.unit_price * ratio[0] / ratio[1]
            pl.billed_now += sign * q
            located.append((res, line, pl, keys))

        for res, line, pl, keys in located:
            if pl is not None:
                self._judge_line(res, line, pl, keys, credit)

        reasons: list[Reason] = []
        variances: list[Variance] = []
        self._header(located, reasons, variances, credit)
        outcome: Outcome = "matched"
        for res in results:
            if _RANK[res.outcome] > _RANK[outcome]:
                outcome = res.outcome
        if reasons:
            outcome = "on_hold"
        elif outcome == "matched" and variances:
            outcome = "matched_within_tolerance"
        return MatchResult(outcome, inv.number, _supplier(inv, self.partner), self.mode, results, reasons, variances,
                           self.notes)

    def _check(self, dimension: Dimension, expected: Decimal, actual: Decimal, keys: frozenset[str] = frozenset(),
               line_number: str | None = None, percentages: bool = True) -> tuple[Check, Variance | None]:
        c = self.tol.check(dimension, expected, actual, partner=self.partner, item_keys=keys,
                           percentages=percentages)
        if not c.difference:
            return c, None
        return c, Variance(dimension, expected, actual, c.difference, c.percentage,
                           c.limit.amount if c.limit else None, c.limit.source if c.limit else None, c.within,
                           line_number)

    def _judge_line(self, res: LineResult, line: Line, pl: _POLine, keys: frozenset[str], credit: bool) -> None:
        label = _line_label(line, res.index)
        where = f"PO {pl.po_number} line {pl.line_number or pl.position + 1}"
        ucode = pl.uom or "unit"
        res.ordered, res.billed_before = pl.ordered, pl.billed_before
        res.billed_total = pl.billed_before + pl.billed_now
        item = pl.keys | keys
        res.mode = self._line_mode(item)
        held = False
        # Price and amount: per PO unit, against the (changed) order price. Credits give back what was billed.
        if not credit and res.unit_price is not None and pl.unit_price is not None and res.quantity is not None:
            c, v = self._check("unit_price", pl.unit_price, res.unit_price, item, line.line_number)
            if v is not None:
                res.variances.append(v)
            if not c.within:
                held = True
                res.reasons.append(self._reason(
                    "PRICE_OVER" if c.side == "over" else "PRICE_UNDER", c, line.line_number,
                    f"{label}: unit price {_money(res.unit_price)} per {ucode} is {_diff(c)} the price on {where}, "
                    f"{_money(pl.unit_price)}; the limit is {_limit(c, money=True)}."))
            expected = res.quantity * pl.unit_price
            actual = res.quantity * res.unit_price
            c, v = self._check("line_amount", expected, actual, item, line.line_number)
            if v is not None:
                res.variances.append(v)
            if not c.within and c.side is not None and not any(r.dimension == "unit_price" for r in res.reasons):
                held = True
                res.reasons.append(self._reason(
                    "LINE_AMOUNT_OVER" if c.side == "over" else "LINE_AMOUNT_UNDER", c, line.line_number,
                    f"{label}: amount {_money(actual)} ({_num(res.quantity)} {ucode} x {_money(res.unit_price)}) is "
                    f"{_diff(c)} {_money(expected)} at the price on {where}; the limit is {_limit(c, money=True)}."))
        elif res.unit_price is None and not credit:
            self.notes.append(f"{label}: no unit price on the invoice line; price not checked")
        total = res.billed_total
        if credit:
            if total < 0:
                held = True
                res.reasons.append(Reason(
                    "CREDIT_OVER_BILLED",
                    f"{label}: credits {_num(-(res.quantity or ZERO))} {ucode}, but only {_num(pl.billed_before)} "
                    f"{ucode} were billed on {where} before, so the credit exceeds what was billed by "
                    f"{_num(-total)} {ucode}.", line.line_number, "quantity_vs_ordered", pl.billed_before,
                    -(res.quantity or ZERO), ZERO))
        else:
            before = (f" ({_num(pl.billed_before)} on earlier invoices + {_num(pl.billed_now)} on this one)"
                      if pl.billed_before else "")
            c_ord, v = self._check("quantity_vs_ordered", pl.ordered, total, item, line.line_number)
            if v is not None and v.difference > 0:
                res.variances.append(v)
            over_ordered = not c_ord.within and c_ord.side == "over"
            if over_ordered:
                held = True
                res.reasons.append(self._reason(
                    "QTY_OVER_ORDERED", c_ord, line.line_number,
                    f"{label}: {_num(total)} {ucode} billed in all{before} against {_num(pl.ordered)} {ucode} "
                    f"ordered on {where}: {_num(c_ord.difference)} {ucode} over; the limit is {_limit(c_ord)}."))
            res.received = pl.received if res.mode == "three_way" else None
            if res.mode == "three_way":
                c_rec, v = self._check("quantity_vs_received", pl.received, total, item, line.line_number)
                if v is not None and v.difference > 0:
                    res.variances.append(v)
                if not c_rec.within and c_rec.side == "over":
                    if over_ordered:
                        res.reasons.append(self._reason(
                            "QTY_OVER_RECEIVED", c_rec, line.line_number,
                            f"{label}: {_num(total)} {ucode} billed in all{before} but only {_num(pl.received)} "
                            f"{ucode} received on {where}: {_num(c_rec.difference)} {ucode} over; the limit is "
                            f"{_limit(c_rec)}."))
                    elif not held:
                        waiting = ("nothing received yet" if not pl.received
                                   else f"{_num(pl.received)} {ucode} received so far")
                        res.outcome = "awaiting_receipt"
                        res.reasons.append(self._reason(
                            "AWAITING_RECEIPT", c_rec, line.line_number,
                            f"{label}: {_num(total)} {ucode} billed in all{before} on {where}, {waiting}; the "
                            f"invoice waits for {_num(c_rec.difference)} {ucode} more to be received."))
        if held:
            res.outcome = "on_hold"
        elif res.outcome == "matched" and res.variances:
            res.outcome = "matched_within_tolerance"

    def _line_mode(self, keys: frozenset[str]) -> Mode:
        """The item's mode where configuration names the item, else the invoice's (partner, then global)."""
        found = self.item_modes.for_item(keys) if self.item_modes else None
        return found[0] if found is not None else self.mode

    @staticmethod
    def _reason(code: str, c: Check, line_number: str | None, message: str) -> Reason:
        return Reason(code, message, line_number, c.dimension, c.expected, c.actual,
                      c.limit.amount if c.limit else None)

    def _header(self, located: list[tuple[LineResult, Line, _POLine | None, frozenset[str]]],
                reasons: list[Reason], variances: list[Variance], credit: bool) -> None:
        inv = self.invoice
        what = "credit note" if credit else "invoice"
        pos = sorted({pl.po_number for _, _, pl, _ in located if pl is not None})
        if not pos and inv.po_number and inv.po_number.strip() in self.orders:
            pos = [inv.po_number.strip()]
        # Duplicate number from the same supplier.
        number = (inv.number or "").strip().upper()
        if number:
            for prior in self.prior:
                if (prior.number or "").strip().upper() == number and _same_supplier(prior, inv):
                    reasons.append(Reason(
                        "DUPLICATE_INVOICE",
                        f"{what.capitalize()} number {inv.number} was already received from this supplier"
                        f"{' on ' + prior.date.isoformat() if prior.date else ''}; the same number cannot be "
                        f"paid twice."))
                    break
        # Currency: both sides must state it to differ.
        for po in pos:
            order = self.orders[po]
            if inv.currency and order.currency and inv.currency.strip().upper() != order.currency.strip().upper():
                reasons.append(Reason(
                    "CURRENCY_MISMATCH",
                    f"The {what} is in {inv.currency} but purchase order {po} is in {order.currency}; amounts "
                    f"cannot be compared without a conversion the PO did not agree."))
        # Total: what the invoice says against what its own lines, charges and tax add up to.
        self._check_total(located, reasons, variances, what)
        # Tax: prorated from the POs that state it.
        self._check_tax(located, reasons, variances, pos, what)
        if not credit:
            self._check_freight(reasons, variances, pos, what)
            self._check_date(reasons, variances, pos, what)

    def _check_total(self, located: list[tuple[LineResult, Line, _POLine | None, frozenset[str]]],
                     reasons: list[Reason], variances: list[Variance], what: str) -> None:
        inv = self.invoice
        stated = inv.totals.amount
        if stated is None:
            return
        lines_sum = ZERO
        for res, line, _, _ in located:
            if line.quantity is None or line.unit_price is None:
                self.notes.append(f"total not checked: {_line_label(line, res.index).lower()} has no quantity or "
                                  "price")
                return
            lines_sum += line.quantity * line.unit_price
        extra = inv.totals.model_extra or {}
        charges = _dec(extra.get("charges"))
        if charges is None:
            charges = inv.totals.freight or ZERO
        allowances = _dec(extra.get("allowances")) or ZERO
        tax = inv.totals.tax or ZERO
        expected = lines_sum + charges - allowances + tax
        c, v = self._check("invoice_total", expected, stated)
        if v is not None:
            variances.append(v)
        if not c.within:
            parts = [f"lines {_money(lines_sum)}"]
            if charges:
                parts.append(f"+ charges {_money(charges)}")
            if allowances:
                parts.append(f"- allowances {_money(allowances)}")
            if tax:
                parts.append(f"+ tax {_money(tax)}")
            reasons.append(self._reason(
                "TOTAL_MISMATCH", c, None,
                f"The {what} total {_money(stated)} is {_diff(c)} {_money(expected)} "
                f"({' '.join(parts)}); the limit is {_limit(c, money=True)}."))

    def _check_tax(self, located: list[tuple[LineResult, Line, _POLine | None, frozenset[str]]],
                   reasons: list[Reason], variances: list[Variance], pos: list[str], what: str) -> None:
        inv = self.invoice
        taxed = [self.orders[po] for po in pos if self.orders[po].tax is not None]
        if not taxed:
            if inv.totals.tax:
                self.notes.append("tax not checked: no purchase order states tax")
            return
        expected = ZERO
        for order in taxed:
            subtotal = order.subtotal()
            billed = sum((abs(res.quantity) * pl.unit_price for res, _, pl, _ in located
                          if pl is not None and pl.po_number == order.number and res.quantity is not None
                          and pl.unit_price is not None), ZERO)
            if subtotal:
                expected += (order.tax or ZERO) * billed / subtotal
        expected = expected.quantize(CENT)
        actual = inv.totals.tax or ZERO
        c, v = self._check("tax", expected, actual)
        if v is not None:
            variances.append(v)
        if not c.within:
            reasons.append(self._reason(
                "TAX_MISMATCH", c, None,
                f"The {what} charges tax {_money(actual)}, {_diff(c)} the {_money(expected)} that the tax on "
                f"PO {', '.join(o.number for o in taxed)} comes to for the goods billed; the limit is "
                f"{_limit(c, money=True)}."))

    def _check_freight(self, reasons: list[Reason], variances: list[Variance], pos: list[str], what: str) -> None:
        inv = self.invoice
        freight = inv.totals.freight
        if not freight or not pos:
            return
        expected = sum((self.orders[po].freight or ZERO for po in pos), ZERO)
        before = ZERO
        for prior in self.prior:
            prior_pos = {(line.po_number or prior.po_number or "").strip() for line in prior.lines}
            prior_pos.add((prior.po_number or "").strip())
            if prior_pos & set(pos) and prior.totals.freight:
                before += _sign(prior) * prior.totals.freight
        actual = before + freight
        c, v = self._check("freight", expected, actual)
        if v is not None:
            variances.append(v)
        if not c.within:
            so_far = f" ({_money(before)} on earlier invoices + {_money(freight)} on this one)" if before else ""
            agreed = (f"the {_money(expected)} on PO {', '.join(pos)}" if expected
                      else f"PO {', '.join(pos)}, which states no freight")
            reasons.append(self._reason(
                "FREIGHT_MISMATCH", c, None,
                f"Freight billed {_money(actual)}{so_far} is {_diff(c)} {agreed}; the limit is "
                f"{_limit(c, money=True)}."))

    def _check_date(self, reasons: list[Reason], variances: list[Variance], pos: list[str], what: str) -> None:
        inv = self.invoice
        if inv.date is None:
            return
        for po in pos:
            order = self.orders[po]
            if order.date is None:
                continue
            days = Decimal((inv.date - order.date).days)
            c, v = self._check("date", ZERO, days, percentages=False)
            if not c.within:  # days after the order are the norm, not a variance worth recording
                if v is not None:
                    variances.append(v)
                when = (f"{_num(-days)} days before" if days < 0 else f"{_num(days)} days after")
                reasons.append(self._reason(
                    "DATE_OUT_OF_RANGE", c, None,
                    f"The {what} is dated {inv.date.isoformat()}, {when} purchase order {po} "
                    f"({order.date.isoformat()}); the limit is {_num(c.limit.amount if c.limit else ZERO)} days "
                    f"{'after' if c.side == 'over' else 'before'} the order ({c.limit.source if c.limit else ''})."))


# ------------------------------------------------------------------------------------------ helpers


def _line_label(line: Line, index: int) -> str:
    return f"Line {line.line_number}" if line.line_number else f"Line {index + 1}"


def _dec(value: Any) -> Decimal | None:
    if value is None or isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def _money(value: Decimal) -> str:
    """Amounts to the cent when they fit, else as many places as they carry (unit prices of 0.0125)."""
    if value == value.quantize(CENT):
        return format(value.quantize(CENT), "f")
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -6:
        value = value.quantize(Decimal("0.000001")).normalize()
    return format(value, "f")


def _diff(c: Check) -> str:
    pct = ""
    if c.percentage is not None:
        pct = f" ({_num(abs(c.percentage))}%)" if c.percentage else " (under 0.01%)"
    return f"{_money(abs(c.difference))}{pct} {'over' if c.side == 'over' else 'under'}"


def _limit(c: Check, money: bool = False) -> str:
    if c.limit is None:
        return "none"
    amount = _money(c.limit.amount) if money else _num(c.limit.amount)
    basis = f"{c.limit.basis}, " if "%" in c.limit.basis else ""
    return f"{amount} ({basis}{c.limit.source})"


def _s(value: Decimal | None) -> str | None:
    """Decimals as strings for JSON; converted quantities (2.0833...) rounded to 6 places."""
    if value is None:
        return None
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -6:
        value = value.quantize(Decimal("0.000001")).normalize()
    return format(value, "f")
