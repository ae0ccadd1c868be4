"""Canonical `order_response` -> X12 855 segments, and the 855 a distributor sends for a customer's 850.

`build_855` is the inverse of `map_855`: mapping what it builds gives back the same document (except
`source`, which the envelope fills). It returns the segments between ST and SE as lists of element
strings (element[0] the tag); the outbound framework adds ST/SE, GS/GE and ISA/IEA. Each line's ACK
comes from `line.status` (accepted IA, changed IC, rejected IR, backordered IB, on_hold IH, with the
line's quantity and unit), or, when the document carries them, from the ACK details in
`references["line.<n>.ack"]` (format in `map_855`). A document the 855 cannot express (no PO number,
no PO date, an unknown status word) raises ValueError naming the field: it is a bug upstream, not
something to send a partner.

`order_response_from_order` answers a customer's 850 (issue 3: "customers send 850s and expect 855
back"): every line is echoed as ordered, with its status, and `changes` names the lines that are not
simply accepted (backordered, rejected, a changed quantity or date).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import TypedDict

from mappings.canonical import Document, Line, Party, Source, Totals
from mappings.x12.build_base import ITEM_ID_CODES, PARTY_ID_CODES
from mappings.x12.code_lists import PARTY_ROLES, REFERENCE_NAMES, codes_by_name
from mappings.x12.map_855 import (
    ACK_DATE_NAMES,
    ACK_PURPOSES,
    BAK_REFERENCES,
    LINE_STATUSES,
    STATUS_CODES,
    ack_reference_key,
)
from mappings.x12.mapping_base import order_extension, total_quantity

Segments = list[list[str]]

# canonical -> X12, preferring the code a reader of the 855 expects for each meaning
_PURPOSE_CODES = codes_by_name(ACK_PURPOSES)
_ROLE_CODES = codes_by_name(PARTY_ROLES, preferred=("VN",))  # N101 VN for the seller, as the 850 writes it
_REFERENCE_CODES = codes_by_name(REFERENCE_NAMES)
_DATE_CODES = codes_by_name(ACK_DATE_NAMES)
_OUTCOME_TYPES = {"accepted": ("AD", "AK"), "accepted_with_changes": ("AC", "AC"), "rejected": ("RD", "RJ"),
                  "on_hold": ("AH", "AH")}
# references that BAK (or the line ACKs) carry, so they are not written again as REF segments
_NOT_REF = {"ack_type", "outcome", *BAK_REFERENCES.values()}
_CODE = re.compile(r"^[A-Z0-9]{2,3}$")
_ACK_ENTRY = re.compile(r"^(?P<code>\S+)(?: (?P<qty>[^\s@+]+) (?P<uom>[^\s@+]+))?(?: @(?P<q>[^:\s]*):(?P<d>\S*))?"
                        r"(?P<ids>(?: \+[^:\s]+:\S+)*)$")


def _date(value: dt.date) -> str:
    return value.strftime("%Y%m%d")


def _amount(value: Decimal) -> str:
    return format(value, "f")


def _chunks(text: str, width: int) -> list[str]:
    """Text cut at spaces into pieces of at most `width` (joined by one space they give the text back)."""
    pieces: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if len(candidate) <= width or not current:
            current = candidate
        else:
            pieces.append(current)
            current = word
    pieces.append(current)
    return [p[i : i + width] for p in pieces for i in range(0, max(len(p), 1), width)]


def _code_for(key: str, table: Mapping[str, str]) -> str | None:
    """The X12 qualifier for a canonical key: from the table, else the key itself if it reads as a code."""
    code = table.get(key)
    if code:
        return code
    upper = key.upper()
    return upper if _CODE.match(upper) else None


def _bak(doc: Document) -> list[str]:
    if not doc.po_number:
        raise ValueError("an 855 needs the purchase order number it answers (po_number) for BAK03")
    if doc.date is None:
        raise ValueError(f"an 855 needs the date of purchase order {doc.po_number} (date) for BAK04")
    refs = doc.references
    ack_type = refs.get("ack_type")
    if not ack_type:
        outcome = refs.get("outcome", "accepted")
        if outcome not in _OUTCOME_TYPES:
            raise ValueError(f"outcome {outcome!r} is not one of {', '.join(_OUTCOME_TYPES)}")
        with_detail, without = _OUTCOME_TYPES[outcome]
        ack_type = with_detail if doc.lines else without
    purpose = _PURPOSE_CODES.get(doc.purpose or "original", doc.purpose or "00")
    bak = ["BAK", purpose, ack_type, doc.po_number, _date(doc.date)]
    for position in range(5, 11):
        key = BAK_REFERENCES.get(position)
        if position == 9:
            acknowledged = doc.dates.get("acknowledged")
            bak.append(_date(acknowledged) if acknowledged else "")
        elif key == "seller_order":
            own = refs.get("seller_order") or (doc.number if doc.number and doc.number != doc.po_number else "")
            bak.append(own)
        else:
            bak.append(refs.get(key, "") if key else "")
    while bak[-1] == "":
        bak.pop()
    return bak


def _party(party: Party) -> Segments:
    role = _code_for(party.role, _ROLE_CODES)
    if role is None:
        raise ValueError(f"party role {party.role!r} has no N101 code")
    n1 = ["N1", role, "", "", ""]
    names = _chunks(party.name, 60) if party.name else []
    if names:
        n1[2] = names[0]
    refs: Segments = []
    for key, value in party.ids.items():
        id_code = PARTY_ID_CODES.get(key)
        if id_code and not n1[4]:
            n1[3], n1[4] = id_code, value
            continue
        ref_code = _code_for(key, _REFERENCE_CODES)
        if ref_code is None:
            raise ValueError(f"party {party.role} ID {key!r} has no N103 or REF01 qualifier")
        refs.append(["REF", ref_code, value])
    while n1[-1] == "":
        n1.pop()
    out: Segments = [n1]
    rest = names[1:]
    for i in range(0, len(rest), 2):
        out.append(["N2", *rest[i : i + 2]])
    address = party.address
    if address is not None:
        for i in range(0, len(address.lines), 2):
            out.append(["N3", *address.lines[i : i + 2]])
        n4 = ["N4", address.city or "", address.state or "", address.postal_code or "", address.country or ""]
        while n4[-1] == "":
            n4.pop()
        if len(n4) > 1:
            out.append(n4)
    return out + refs


def _ack_segments(line: Line, detail: str | None) -> Segments:
    if detail:
        acks: Segments = []
        for entry in detail.split("; "):
            m = _ACK_ENTRY.match(entry)
            if m is None:
                raise ValueError(f"line {line.line_number}: ACK detail {entry!r} is not "
                                 "'CODE[ QTY UOM][ @QUAL:CCYYMMDD][ +QUAL:ID...]'")
            ack = ["ACK", "" if m["code"] == "-" else m["code"], m["qty"] or "",
                   "" if m["uom"] in (None, "-") else m["uom"], m["q"] or "", m["d"] or "", ""]
            for pair in m["ids"].split(" +")[1:]:
                qualifier, value = pair.split(":", 1)
                ack += [qualifier, value]
            while ack[-1] == "":
                ack.pop()
            acks.append(ack)
        return acks
    if line.status is None:
        return []
    code = STATUS_CODES.get(line.status)
    if code is None:
        raise ValueError(f"line {line.line_number}: status {line.status!r} is not one of {', '.join(STATUS_CODES)}")
    ack = ["ACK", code]
    if line.quantity is not None and line.uom:
        ack += [_amount(line.quantity), line.uom]
    return [ack]


def _line(line: Line, ordinal: int, detail: str | None) -> Segments:
    number = line.line_number or str(ordinal)
    po1 = ["PO1", number, _amount(line.quantity) if line.quantity is not None else "", line.uom or "",
           _amount(line.unit_price) if line.unit_price is not None else "", ""]
    for key, value in line.item_ids.items():
        qualifier = _code_for(key, ITEM_ID_CODES)
        if qualifier is None:
            raise ValueError(f"line {number}: item ID kind {key!r} has no PO1 qualifier")
        po1 += [qualifier, value]
    if len(po1) > 26:
        raise ValueError(f"line {number}: {len(line.item_ids)} item IDs, but PO1 holds at most 10")
    while po1[-1] == "":
        po1.pop()
    out: Segments = [po1]
    if line.description:
        out += [["PID", "F", "", "", "", piece] for piece in _chunks(line.description, 80)]
    return out + _ack_segments(line, detail)


def build_855(doc: Document, version: str) -> list[list[str]]:
    """The 855 body (BAK through CTT, without ST/SE) for an `order_response`; see the module docstring."""
    if doc.kind != "order_response":
        raise ValueError(f"build_855 writes order responses, not {doc.kind!r} documents")
    if not version:
        raise ValueError("an X12 version (e.g. 004010) is needed")
    out: Segments = [_bak(doc)]
    if doc.currency:
        out.append(["CUR", "SE", doc.currency])
    line_keys = {ack_reference_key(ln.line_number or str(i)) for i, ln in enumerate(doc.lines, start=1)}
    for key, value in doc.references.items():
        if key in _NOT_REF or key in line_keys or key.startswith("line."):
            continue
        code = _code_for(key, _REFERENCE_CODES)
        if code is not None:
            out.append(["REF", code, value])
    for key, day in doc.dates.items():
        if key == "acknowledged":
            continue
        code = _DATE_CODES.get(key) or (key[4:] if key.startswith("dtm_") else None)
        if code is None:
            raise ValueError(f"date {key!r} has no DTM qualifier")
        out.append(["DTM", code.upper(), _date(day)])
    for party in doc.parties:
        out += _party(party)
    for ordinal, line in enumerate(doc.lines, start=1):
        out += _line(line, ordinal, doc.references.get(ack_reference_key(line.line_number or str(ordinal))))
    ctt = ["CTT", str(len(doc.lines))]
    if doc.totals.quantity is not None:
        ctt.append(_amount(doc.totals.quantity))
    out.append(ctt)
    if doc.totals.amount is not None:
        out.append(["AMT", "TT", _amount(doc.totals.amount)])
    return out


class LineChange(TypedDict, total=False):
    """How the distributor answers one order line that it does not simply accept."""

    status: str  # accepted, changed, rejected, backordered, on_hold
    code: str  # ACK01 when a more precise code than the status word's is meant (IQ, IP, DR, R2 ...)
    quantity: Decimal  # the quantity this status applies to (e.g. 4 of 10 backordered)
    date: dt.date  # when it will ship (ACK04 068 current schedule ship)


def order_response_from_order(order: Document, outcome: str = "accepted",
                              changes: Mapping[str, LineChange] | None = None,
                              acknowledged: dt.date | None = None,
                              seller_order: str | None = None) -> Document:
    """The canonical 855 answering `order` (an 850 mapped to canonical); see the module docstring.

    `changes` is keyed by line number. A changed line keeps the ordered quantity on the line and says
    what was acknowledged in `references["line.<n>.ack"]`, as `map_855` reads it back.
    """
    if order.kind != "order":
        raise ValueError(f"an order response answers an order, not {order.kind!r}")
    if outcome not in _OUTCOME_TYPES:
        raise ValueError(f"outcome {outcome!r} is not one of {', '.join(_OUTCOME_TYPES)}")
    changes = dict(changes or {})
    known = {ln.line_number for ln in order.lines}
    unknown = [n for n in changes if n not in known]
    if unknown:
        raise ValueError(f"changes name line(s) {', '.join(unknown)}, which order {order.number} does not have")
    if changes and outcome == "accepted":
        outcome = "accepted_with_changes"
    default_status = "rejected" if outcome == "rejected" else "accepted"
    po_number = order.po_number or order.number
    references: dict[str, str] = {"ack_type": _OUTCOME_TYPES[outcome][0 if order.lines else 1],
                                  "outcome": outcome}
    if seller_order:
        references["seller_order"] = seller_order
    lines: list[Line] = []
    for ordinal, ordered in enumerate(order.lines, start=1):
        number = ordered.line_number or str(ordinal)
        change = changes.get(number)
        status = default_status
        if change is not None:
            status = change.get("status") or LINE_STATUSES.get(change.get("code", "").upper(), "changed")
            if status not in STATUS_CODES:
                raise ValueError(f"line {number}: status {status!r} is not one of {', '.join(STATUS_CODES)}")
            code = change.get("code") or STATUS_CODES[status]
            quantity = change.get("quantity", ordered.quantity)
            entry = code
            if quantity is not None:
                entry += f" {_amount(quantity)} {ordered.uom or '-'}"
            if change.get("date"):
                entry += f" @068:{_date(change['date'])}"
            plain = code == STATUS_CODES[status] and quantity == ordered.quantity and not change.get("date")
            if not plain:
                references[ack_reference_key(number)] = entry
        lines.append(ordered.model_copy(update={"line_number": number, "po_number": po_number,
                                                "status": status, "package": None}))
    totals = Totals(line_count=len(lines), quantity=total_quantity(lines),
                    amount=order.totals.amount if order.totals.amount is not None else order_extension(lines))
    return Document(
        kind="order_response",
        number=seller_order or po_number,
        date=order.date,
        po_number=po_number,
        purpose="original",
        currency=order.currency,
        sender=order.receiver,
        receiver=order.sender,
        parties=[p.model_copy(deep=True) for p in order.parties],
        lines=lines,
        totals=totals,
        dates={"acknowledged": acknowledged or dt.datetime.now(dt.UTC).date()},
        references=references,
        source=Source(format="x12", version=order.source.version or "004010", set="855"),
    )
