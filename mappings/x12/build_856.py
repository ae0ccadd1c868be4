"""Canonical `ship_notice` -> X12 856 segments (outbound), the inverse of `map_856`.

The builder writes the S/O/P/I ("pick and pack") shape every retailer guide accepts: one shipment
level with carrier, references and parties; one order level per purchase order (PRF); one pack level
per package (MAN*GM when the package is an SSCC-18); one item level per line (LIN, SN1, PID). Lines
without a package go straight under their order (S/O/I), lines without a PO straight under the
shipment. It returns the segments between ST and SE: the outbound framework adds the envelope and
counts the trailers, so nothing here can disagree with what is written.

Every qualifier table is the reverse of the one `map_856` reads with, so a document built here maps
back to itself.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from mappings.canonical import Document, Line, Party
from mappings.check_digits import sscc_valid
from mappings.x12.build_base import ITEM_ID_CODES, PARTY_ID_CODES
from mappings.x12.code_lists import codes_by_name
from mappings.x12.map_856 import (
    SHIP_NOTICE_DATES,
    SHIP_NOTICE_PURPOSES,
    SHIP_NOTICE_REFERENCES,
    SHIP_NOTICE_ROLES,
)

Segments = list[list[str]]


PURPOSE_CODES = codes_by_name(SHIP_NOTICE_PURPOSES)
ROLE_CODES = codes_by_name(SHIP_NOTICE_ROLES, preferred=("SU", "BY"))
REFERENCE_CODES = codes_by_name(SHIP_NOTICE_REFERENCES)
DATE_CODES = codes_by_name(SHIP_NOTICE_DATES)

# references written by TD5/TD3/FOB/BSN rather than as REF segments
_CARRIER_KEYS = frozenset({"carrier_scac", "carrier_id", "transport_method", "routing", "equipment_number",
                           "seal_number", "packaging", "shipment_payment", "shipment_time"})


def _text(value: object) -> str:
    """A Decimal (or a decimal read back from JSON as a string) in plain notation, without exponent."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    try:
        return format(Decimal(str(value)), "f")
    except InvalidOperation:
        return str(value)


def _code_for(name: str, table: dict[str, str], max_len: int) -> str | None:
    """The X12 code for a canonical name; a name that is itself a lower-cased unknown code goes back up."""
    if name in table:
        return table[name]
    if name and len(name) <= max_len and name.isalnum() and name == name.lower():
        return name.upper()
    return None


def _time(value: str | None) -> str:
    """HH:MM[:SS] -> HHMM[SS]; BSN04 is mandatory, so a document without a time gets midnight."""
    return value.replace(":", "") if value else "0000"


def _hierarchy(lines: list[Line]) -> str:
    """BSN05: 0001 shipment/order/pack/item when any line is packed, else 0004 shipment/order/item."""
    return "0001" if any(line.package for line in lines) else "0004"


def _party(party: Party) -> Segments:
    code = _code_for(party.role, ROLE_CODES, 3) or "ZZ"
    n1 = ["N1", code, party.name or ""]
    extra_refs: list[list[str]] = []
    for key, value in party.ids.items():
        qualifier = _code_for(key, PARTY_ID_CODES, 2)
        if len(n1) == 3 and qualifier is not None and key in PARTY_ID_CODES:
            n1 += [qualifier, value]
            continue
        ref = _code_for(key, REFERENCE_CODES, 3)
        if ref is not None:
            extra_refs.append(["REF", ref, value])
    out: Segments = [n1]
    address = party.address
    if address is not None:
        if address.lines:
            out.append(["N3", *address.lines[:2]])
        if address.city or address.state or address.postal_code or address.country:
            out.append(["N4", address.city or "", address.state or "", address.postal_code or "",
                        address.country or ""])
    return out + extra_refs


def _shipment(doc: Document) -> Segments:
    refs = doc.references
    out: Segments = []
    totals = doc.totals.model_extra or {}
    lading = totals.get("lading_quantity")
    weight = totals.get("weight")
    if refs.get("packaging") or lading is not None or weight is not None:
        td1 = ["TD1", refs.get("packaging", ""), _text(lading) if lading is not None else "", "", "", "", "", "",
               ""]
        if weight is not None:
            td1[6:9] = ["G", _text(weight), str(totals.get("weight_uom") or "LB")]
        out.append(td1)
    carrier = refs.get("carrier_scac") or refs.get("carrier_id")
    if carrier or refs.get("transport_method") or refs.get("routing"):
        out.append(["TD5", "", ("2" if refs.get("carrier_scac") else "ZZ") if carrier else "", carrier or "",
                    refs.get("transport_method", ""), refs.get("routing", "")])
    if refs.get("equipment_number") or refs.get("seal_number"):
        equipment = refs.get("equipment_number", "")
        initial, number = (equipment[:4], equipment[4:]) if len(equipment) > 4 else ("", equipment)
        out.append(["TD3", "TL" if equipment else "", initial, number, "", "", "", "", "",
                    refs.get("seal_number", "")])
    for key, value in refs.items():
        if key in _CARRIER_KEYS:
            continue
        qualifier = _code_for(key, REFERENCE_CODES, 3)
        if qualifier is not None:
            out.append(["REF", qualifier, value])
    return out  # DTM, FOB and N1 follow REF/MAN in the HL loop: see _shipment_tail


def _shipment_tail(doc: Document) -> Segments:
    """DTM, FOB and N1 loops: the segments that follow REF/MAN inside the shipment's HL loop."""
    out: Segments = []
    for name, day in doc.dates.items():
        if name in ("shipped",):
            continue  # the shipped date travels in the header DTM
        code = DATE_CODES.get(name) or (name[4:] if name.startswith("dtm_") else None)
        if code is not None:
            out.append(["DTM", code, day.strftime("%Y%m%d")])
    if doc.references.get("shipment_payment"):
        out.append(["FOB", doc.references["shipment_payment"]])
    for party in doc.parties:
        out += _party(party)
    return out


def _item(line: Line) -> Segments:
    out: Segments = []
    lin = ["LIN", line.line_number or ""]
    for kind, value in line.item_ids.items():
        qualifier = _code_for(kind, ITEM_ID_CODES, 2)
        if qualifier is not None and value:
            lin += [qualifier, value]
    if len(lin) > 2:
        out.append(lin)
    if line.quantity is not None:
        out.append(["SN1", "", _text(line.quantity), line.uom or "EA"])
    if line.description:
        out.append(["PID", "F", "", "", "", line.description])
    return out


def _groups(lines: list[Line]) -> list[tuple[str | None, list[tuple[str | None, list[Line]]]]]:
    """Lines by PO, then by package, each in order of first appearance."""
    orders: dict[str | None, dict[str | None, list[Line]]] = {}
    for line in lines:
        orders.setdefault(line.po_number, {}).setdefault(line.package, []).append(line)
    return [(po, list(packages.items())) for po, packages in orders.items()]


def build_856(doc: Document, version: str) -> Segments:
    """The 856 segments between ST and SE for a canonical ship notice, S/O/P/I-shaped, with CTT.

    `version` (e.g. 004010, 004010VICS, 005010) changes nothing in the shape today; it is taken so a
    partner's version can later narrow what is written without changing callers.
    """
    del version  # one shape serves 004010, its VICS flavour and 005010
    date = doc.date.strftime("%Y%m%d") if doc.date else ""
    purpose = PURPOSE_CODES.get(doc.purpose or "original", doc.purpose or "00")
    segments: Segments = [["BSN", purpose, doc.number or "", date, _time(doc.references.get("shipment_time")),
                           _hierarchy(doc.lines)]]
    if "shipped" in doc.dates:
        segments.append(["DTM", "011", doc.dates["shipped"].strftime("%Y%m%d")])

    hl_count = 0

    def hl(parent: int | None, level: str) -> int:
        nonlocal hl_count
        hl_count += 1
        segments.append(["HL", str(hl_count), str(parent) if parent else "", level])
        return hl_count

    shipment = hl(None, "S")
    segments += _shipment(doc)
    segments += _shipment_tail(doc)
    total = Decimal(0)
    for po_number, packages in _groups(doc.lines):
        order = shipment
        if po_number is not None:
            order = hl(shipment, "O")
            segments.append(["PRF", po_number])
        for package, lines in packages:
            parent = order
            if package is not None:
                parent = hl(order, "P")
                mark = "GM" if sscc_valid(package) else "ZZ"
                segments.append(["MAN", mark, package])
            for line in lines:
                hl(parent, "I")
                segments += _item(line)
                if line.quantity is not None:
                    total += line.quantity
    segments.append(["CTT", str(hl_count), _text(total)])
    return segments
