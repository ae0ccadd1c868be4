"""Re-evaluating one purchase order after a new receipt, with a million document lines in the store.

    .venv/bin/python -m benchmarks.matching_store [--pos 50000] [--lines 10] [--repeat 10]

Fills a fresh SQLite store with orders we sent (pos x lines) and the supplier's invoices for them
(the same again), every tenth invoice held awaiting its goods; then, for `repeat` different POs,
times what the gateway does when the ERP reports a receipt: store it, find the held invoices on that
PO, gather the order, receipts and earlier invoices from the store, match, and record the verdict.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert

from gateway.config import load_config
from gateway.matching import holds
from gateway.store.db import make_engine, migrate, session_scope
from gateway.store.models import DocumentRecord, InvoicePO, ItemState, ReceivedItem

ROOT = Path(__file__).resolve().parents[1]


def document(kind: str, number: str, po: str, lines: int) -> str:
    return json.dumps({
        "kind": kind, "number": number, "date": "2026-11-01", "po_number": po, "purpose": "original",
        "currency": "USD", "sender": None, "receiver": None, "parties": [],
        "lines": [{"line_number": str(n), "quantity": "10", "uom": "EA", "unit_price": "2.50",
                   "description": f"item {n}", "item_ids": {"vendor_part": f"V-{n:05d}"}, "po_number": po,
                   "package": None, "status": None} for n in range(1, lines + 1)],
        "totals": {"amount": str(25 * lines)}, "dates": {}, "references": {},
        "source": {"format": "x12", "version": "004010", "set": "810" if kind == "invoice" else "850",
                   "control_numbers": {}, "channel": "bench"}})


def fill(engine: object, pos: int, lines: int) -> None:
    now = dt.datetime.now(dt.UTC)
    batch = 5000
    for start in range(0, pos, batch):
        items, docs, billed = [], [], []
        for n in range(start, min(pos, start + batch)):
            po = f"PO{n:07d}"
            for direction, kind, number in (("out", "order", po), ("in", "invoice", f"INV{n:07d}")):
                item_id = f"itm_{kind[:3]}{n:09d}"
                items.append({"id": item_id, "partner_id": "acme", "channel": "bench", "source_name": "",
                              "sha256": item_id, "size": 0, "raw": b"", "received_at": now, "state": "delivered",
                              "archived": True, "summary": "", "direction": direction})
                held = kind == "invoice" and n % 10 == 0
                docs.append({"id": f"doc_{kind[:3]}{n:09d}", "item_id": item_id, "position": 1, "kind": kind,
                             "number": number, "po_number": po, "partner_id": "acme", "test": False,
                             "state": ItemState.ON_HOLD if held else ItemState.DELIVERED,
                             "content": document(kind, number, po, lines), "created_at": now})
                if kind == "invoice":  # indexed as the gateway does when it matches an invoice
                    billed.append({"document_id": f"doc_{kind[:3]}{n:09d}", "po_number": po, "partner_id": "acme"})
        with session_scope(engine) as s:  # type: ignore[arg-type]
            s.execute(insert(ReceivedItem), items)
            s.execute(insert(DocumentRecord), docs)
            s.execute(insert(InvoicePO), billed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pos", type=int, default=50_000)
    parser.add_argument("--lines", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    config = load_config(ROOT / "config" / "gateway.toml")
    acme = config.partner("acme")
    assert acme is not None
    acme.match_invoices = True
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'store.sqlite'}")
        migrate(engine)
        t = time.perf_counter()
        fill(engine, args.pos, args.lines)
        total_lines = 2 * args.pos * args.lines
        print(f"store: {args.pos:,} orders and {args.pos:,} invoices, {total_lines:,} document lines "
              f"(filled in {time.perf_counter() - t:.1f} s)")
        timings, released = [], 0
        for k in range(args.repeat):
            po = f"PO{(k * 10 * 37) % args.pos // 10 * 10:07d}"  # a PO whose invoice is held
            receipt = {"po_number": po, "lines": [{"line_number": str(n), "quantity": "10", "uom": "EA"}
                                                  for n in range(1, args.lines + 1)]}
            t = time.perf_counter()
            with session_scope(engine) as s:
                pos = holds.store_receipt(s, "acme", receipt)
                s.flush()
                released += len(holds.reevaluate(s, config, "acme", pos))
            timings.append(time.perf_counter() - t)
        print(f"re-evaluate one PO after a new receipt: median {statistics.median(timings) * 1000:.1f} ms, "
              f"max {max(timings) * 1000:.1f} ms over {args.repeat} POs ({released} held invoice(s) released)")
        engine.dispose()  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
