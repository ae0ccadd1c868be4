"""Matching throughput: 100,000 invoice lines against their POs and receipts (prints figures, asserts nothing).

    .venv/bin/python -m benchmarks.matching [--lines 100000] [--lines-per-po 10]

Builds the documents first (not timed): one PO per invoice, receipts split in two (an ERP receipt and a
ship notice, missing on every 11th PO), an earlier invoice on a third of the POs, a 1% price variance on
every 7th line and 5% on every 97th, a case/each conversion on every 5th, and invoice lines without
line numbers on every 4th PO (matched by item id).
Then times `match` for every invoice, the index of each PO included, and prints lines per second.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
from collections import Counter
from decimal import Decimal

from gateway.matching import Receipt, Tolerances, UnitConverter, match
from mappings.canonical import Document, Line, Source, Totals

ORDER_SRC = Source(format="x12", set="850")
INVOICE_SRC = Source(format="x12", set="810")
ASN_SRC = Source(format="x12", set="856")


def build(lines_total: int, per_po: int) -> list[tuple[Document, list[Document], list[Receipt | Document],
                                                       list[Document]]]:
    cases = []
    for p in range(lines_total // per_po):
        po = f"PO{p:07d}"
        po_lines, inv_lines, asn_lines, prior_lines = [], [], [], []
        receipts: list[Receipt | Document] = []
        for n in range(1, per_po + 1):
            ids = {"buyer_part": f"B{p % 5000:05d}{n:02d}", "vendor_part": f"V{p % 5000:05d}{n:02d}"}
            price = Decimal(n * 3 + p % 17) + Decimal("0.25")
            case = n % 5 == 0
            qty = Decimal(4 if case else 24)
            po_lines.append(Line(line_number=str(n), quantity=qty, uom="CA" if case else "EA", unit_price=price,
                                 item_ids=ids, po_number=po))
            inv_qty, inv_uom, inv_price = qty, "CA" if case else "EA", price
            if case:  # billed in eaches, 12 to the case
                inv_qty, inv_uom, inv_price = qty * 12, "EA", (price / 12).quantize(Decimal("0.0001"))
            if n % 7 == 0:
                inv_price = (inv_price * Decimal("1.01")).quantize(Decimal("0.0001"))
            if (p * per_po + n) % 97 == 0:  # now and then a price well over tolerance
                inv_price = (inv_price * Decimal("1.05")).quantize(Decimal("0.0001"))
            if p % 3 == 0:
                prior_lines.append(Line(line_number=str(n), quantity=Decimal(1), uom=inv_uom, unit_price=inv_price,
                                        item_ids=ids, po_number=po))
                inv_qty -= 1
            inv_lines.append(Line(line_number=None if p % 4 == 0 else str(n), quantity=inv_qty, uom=inv_uom,
                                  unit_price=inv_price, item_ids=ids, po_number=po))
            half = (qty / 2).to_integral_value()
            receipts.append(Receipt(po_number=po, line_number=str(n), quantity=half, uom="CA" if case else "EA"))
            asn_lines.append(Line(line_number=str(n), quantity=qty - half, uom="CA" if case else "EA",
                                  item_ids=ids, po_number=po))
        if p % 11:  # every 11th PO: the second half has not arrived yet
            receipts.append(Document(kind="ship_notice", number=f"ASN{p}", lines=asn_lines, source=ASN_SRC))
        order = Document(kind="order", number=po, po_number=po, purpose="original", currency="USD",
                         date=dt.date(2025, 6, 2), lines=po_lines, source=ORDER_SRC)
        amount = sum((ln.quantity * ln.unit_price for ln in inv_lines if ln.quantity and ln.unit_price), Decimal(0))
        invoice = Document(kind="invoice", number=f"INV{p}", po_number=po, currency="USD", date=dt.date(2025, 6, 12),
                           lines=inv_lines, totals=Totals(amount=amount.quantize(Decimal("0.01"))),
                           source=INVOICE_SRC)
        prior = ([Document(kind="invoice", number=f"INV{p}-0", po_number=po, currency="USD", lines=prior_lines,
                           source=INVOICE_SRC)] if prior_lines else [])
        cases.append((invoice, [order], receipts, prior))
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--lines-per-po", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    t = time.perf_counter()
    cases = build(args.lines, args.lines_per_po)
    lines = sum(len(inv.lines) for inv, *_ in cases)
    print(f"built {len(cases):,} POs / invoices, {lines:,} invoice lines in {time.perf_counter() - t:.1f} s")
    tolerances = Tolerances.from_dict({"items": {"buyer_part:B0000101": {"unit_price": {"over_percent": "1"}}}})
    units = UnitConverter({"CA": {"EA": 12}})

    rates = []
    outcomes: Counter[str] = Counter()
    for r in range(args.rounds):
        outcomes.clear()
        t, cpu = time.perf_counter(), time.process_time()
        for invoice, orders, receipts, prior in cases:
            outcomes[match(invoice, orders, receipts, prior, tolerances, units).outcome] += 1
        elapsed, cpu = time.perf_counter() - t, time.process_time() - cpu
        rates.append(lines / elapsed)
        print(f"round {r + 1}: {lines:,} lines in {elapsed:.2f} s = {lines / elapsed:,.0f} lines/s "
              f"({len(cases) / elapsed:,.0f} invoices/s; {lines / cpu:,.0f} lines per CPU second)")
    print(f"median: {statistics.median(rates):,.0f} lines/s; outcomes: {dict(outcomes)}")

    # Re-evaluating one PO is one call: its time is the per-invoice figure above.
    invoice, orders, receipts, prior = cases[0]
    t = time.perf_counter()
    for _ in range(1000):
        match(invoice, orders, receipts, prior, tolerances, units)
    print(f"one invoice of {len(invoice.lines)} lines against its PO, receipts and earlier invoice: "
          f"{(time.perf_counter() - t) * 1000 / 1000:.3f} ms")
    t = time.perf_counter()
    for _ in range(200):
        result = match(invoice, orders, receipts, prior, tolerances, units)
        result.to_dict()
    print(f"  with to_dict(): {(time.perf_counter() - t) * 1000 / 200:.3f} ms")


if __name__ == "__main__":
    main()
