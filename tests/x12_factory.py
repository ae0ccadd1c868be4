"""Builds valid X12 850 interchanges for tests and benchmarks (counts and control numbers computed)."""

from __future__ import annotations

from decimal import Decimal


def isa(sender: str = "ACMEBUYER", receiver: str = "EDIGW", control: int = 1, *, sender_q: str = "ZZ",
        receiver_q: str = "ZZ", version: str = "00401", usage: str = "P", ack_requested: str = "0",
        element: str = "*", component: str = ">", repetition: str | None = None) -> str:
    rep = repetition if repetition is not None else ("^" if version >= "00402" else "U")
    e = element
    return e.join(["ISA", "00", " " * 10, "00", " " * 10, sender_q, sender.ljust(15), receiver_q, receiver.ljust(15),
                   "250310", "0815", rep, version, f"{control:09d}", ack_requested, usage, component])


def po_850(po_number: str, lines: int = 3, *, st_control: str = "0001", gs08: str = "004010",
           element: str = "*", qty_base: int = 10) -> list[str]:
    """Segments ST..SE of one 850 (without terminators)."""
    e = element
    body = [
        e.join(["BEG", "00", "SA", po_number, "", "20250310"]),
        e.join(["REF", "IA", "V10442"]),
        e.join(["DTM", "002", "20250324"]),
        e.join(["N1", "ST", "ACME DISTRIBUTION CENTER 3", "92", "DC03"]),
        e.join(["N3", "4100 W INDUSTRIAL PKWY"]),
        e.join(["N4", "JOLIET", "IL", "60431", "US"]),
    ]
    total = Decimal(0)
    for n in range(1, lines + 1):
        qty = qty_base + n
        price = Decimal("1.25") * n
        total += qty * price
        body.append(e.join(["PO1", str(n), str(qty), "EA", str(price), "", "BP", f"AC-{n:05d}", "VP", f"V-{n:05d}"]))
        body.append(e.join(["PID", "F", "", "", "", f"ITEM NUMBER {n}"]))
    body.append(e.join(["CTT", str(lines)]))
    body.append(e.join(["AMT", "TT", str(total)]))
    segs = [e.join(["ST", "850", st_control]), *body]
    segs.append(e.join(["SE", str(len(segs) + 1), st_control]))
    return segs


def interchange(sets: list[list[str]], *, control: int = 1, group_control: int = 1, gs08: str = "004010",
                sender: str = "ACMEBUYER", terminator: str = "~\n", element: str = "*", **isa_kw: object) -> bytes:
    e = element
    segs = [isa(sender, control=control, element=element, **isa_kw),  # type: ignore[arg-type]
            e.join(["GS", "PO", sender, "EDIGW", "20250310", "0815", str(group_control), "X", gs08])]
    for s in sets:
        segs.extend(s)
    segs.append(e.join(["GE", str(len(sets)), str(group_control)]))
    segs.append(e.join(["IEA", "1", f"{control:09d}"]))
    return (terminator.join(segs) + terminator).encode("utf-8")


def order_file(po_number: str, control: int, lines: int = 3, **kw: object) -> bytes:
    element = str(kw.get("element", "*"))
    return interchange([po_850(po_number, lines, element=element)], control=control, group_control=control,
                       **kw)  # type: ignore[arg-type]
