"""X12 856 ship notice / ASN -> canonical `ship_notice` document.

An 856 is one header (BSN, DTM) and a tree of HL levels: shipment (S), order (O), tare (T, a pallet),
pack (P, a carton), item (I). Partners send it in several shapes - S/O/P/I ("pick and pack"),
S/O/T/P/I and S/T/P/I (tares), S/O/I (no cartons), S/O/I/P (cartons under the item) - so the tree is
rebuilt from HL01/HL02 and read by level, never by position. Each item becomes one canonical line
with the quantity shipped (SN102), the purchase order it belongs to (the nearest PRF above it) and
its package (the enclosing carton's SSCC from MAN*GM, or the carton's HL ID when it has no mark).

Like the 850 mapping it never raises: a broken tree (unknown parent, an order inside an item), a
wrong SSCC or GTIN check digit, or a CTT that disagrees with the HL count becomes an `Issue` naming
the segment and element, so a person can find it in the raw file.
"""

from __future__ import annotations

import re
from decimal import Decimal

from mappings.canonical import Document, Line, Party, Totals
from mappings.check_digits import gs1_check_digit, sscc_valid
from mappings.x12.code_lists import DATE_NAMES, PARTY_ROLES, PURPOSES, REFERENCE_NAMES
from mappings.x12.mapping_base import INTEGER, SetMapper, item_ids, segment_tag
from parsers.issues import Issue
from parsers.x12.reader import TransactionSet
from parsers.x12.segments import Segment

# BSN01 purpose codes (353): the 850's names plus the ship-notice-only ones.
SHIP_NOTICE_PURPOSES: dict[str, str] = {**PURPOSES, "14": "advance_notification"}

# N101 entity codes (98) seen on 856s -> canonical role (the 850 table first).
SHIP_NOTICE_ROLES: dict[str, str] = {**PARTY_ROLES, "SU": "seller", "OB": "buyer", "SH": "shipper",
                                     "MF": "manufacturer", "CA": "carrier", "WH": "warehouse"}

# REF01 qualifiers (128) on an 856 -> key in references.
SHIP_NOTICE_REFERENCES: dict[str, str] = {
    **REFERENCE_NAMES,
    "BM": "bill_of_lading",
    "CN": "pro_number",
    "PK": "packing_list",
    "SI": "shipper_reference",
    "CR": "customer_reference",
    "MB": "master_bill_of_lading",
    "AO": "appointment",
    "2I": "tracking_number",
}

# DTM01 qualifiers (374) on an 856 -> key in dates (the 850 table for the rest).
SHIP_NOTICE_DATES: dict[str, str] = {
    **DATE_NAMES,
    "011": "shipped",
    "017": "delivery_estimated",
    "067": "delivery_current_schedule",
    "068": "ship_current_schedule",
    "035": "delivered",
}

# HL03 levels (735) and the levels each may sit under ("" = the root).
SHIPMENT, ORDER, TARE, PACK, ITEM = "S", "O", "T", "P", "I"
ALLOWED_PARENTS: dict[str, frozenset[str]] = {
    SHIPMENT: frozenset({""}),
    ORDER: frozenset({SHIPMENT, TARE}),
    TARE: frozenset({SHIPMENT, ORDER}),
    PACK: frozenset({SHIPMENT, ORDER, TARE, PACK, ITEM}),
    ITEM: frozenset({SHIPMENT, ORDER, TARE, PACK}),
    "F": frozenset({ITEM, PACK}),  # component
    "Q": frozenset({PACK}),  # subpack
}
LEVEL_NAMES: dict[str, str] = {SHIPMENT: "shipment", ORDER: "order", TARE: "tare", PACK: "pack", ITEM: "item",
                               "F": "component", "Q": "subpack"}

# Product ID qualifiers (235) whose values carry a GS1 check digit: (name, allowed lengths).
GTIN_QUALIFIERS: dict[str, tuple[str, tuple[int, ...]]] = {
    "UP": ("UPC-A", (12,)),
    "EN": ("EAN", (8, 13)),
    "UK": ("GTIN", (8, 12, 13, 14)),
}
# MAN01 codes (88) whose MAN02 is a GS1 key, and which of them names a carton: SSCC first.
PACKAGE_MARKS: tuple[str, ...] = ("GM", "UC")

_TIME = re.compile(r"^(\d{2})(\d{2})(\d{2})?(\d*)$")


def _level_name(level: str) -> str:
    return LEVEL_NAMES.get(level, f"level {level!r}")


class _Level:
    """One HL level of the tree: the HL segment, the segments of its loop, and its place in the tree.

    `id` and `level` (HL01, HL03) and the loop's segment tags are read once here: the tree, the
    checks and the line mapping all ask for them many times per level.
    """

    __slots__ = ("children", "hl", "id", "level", "parent", "segments", "tags")

    def __init__(self, hl: Segment, segments: list[Segment] | None = None, tags: list[str] | None = None) -> None:
        self.hl = hl
        self.segments: list[Segment] = segments if segments is not None else []
        self.tags: list[str] = tags if tags is not None else [segment_tag(s) for s in self.segments]
        self.parent: _Level | None = None
        self.children: list[_Level] = []
        self.id = hl.get(1).strip()
        self.level = hl.get(3).strip().upper()

    def first(self, tag: str) -> Segment | None:
        tags = self.tags
        return self.segments[tags.index(tag)] if tag in tags else None

    def all(self, tag: str) -> list[Segment]:
        return [s for s, t in zip(self.segments, self.tags, strict=True) if t == tag]

    def ancestors(self) -> list[_Level]:
        """Parent first, up to the root (parents always come earlier, so this cannot cycle)."""
        out: list[_Level] = []
        node = self.parent
        while node is not None:
            out.append(node)
            node = node.parent
        return out


class _ShipNoticeMapper(SetMapper):
    """One 856 mapping run: the shared readers (issues, numbers, dates, N1 loops) applied to the HL tree."""

    set_id = "856"
    reference_names = SHIP_NOTICE_REFERENCES
    date_names = SHIP_NOTICE_DATES

    def run(self) -> Document:
        body = list(self.ts.segments)
        tags = [segment_tag(s) for s in body]  # read once; every split below works on these
        st = body[0] if body and tags[0] == "ST" else None
        if st is not None:
            body, tags = body[1:], tags[1:]
        if body and tags[-1] == "SE":
            body, tags = body[:-1], tags[:-1]
        first_hl = tags.index("HL") if "HL" in tags else len(body)
        ctt_at = next((i for i in range(first_hl, len(body)) if tags[i] == "CTT"), len(body))
        if first_hl == len(body):
            ctt_at = next((i for i, t in enumerate(tags) if t == "CTT"), len(body))
            first_hl = ctt_at
        header, detail, summary = body[:first_hl], body[first_hl:ctt_at], body[ctt_at:]

        doc = self.new_document("ship_notice")
        self._notice_header(doc, header, st)
        levels = self._tree(detail, tags[first_hl:ctt_at])
        for level in levels:
            self._check_marks(level)
        self._shipment(doc, levels)
        item_levels = [lv for lv in levels if lv.level == ITEM]
        self._notice_lines(doc, item_levels)
        self._notice_totals(doc, levels, item_levels, summary)
        return doc

    # -- header ---------------------------------------------------------------------------------------

    def _notice_header(self, doc: Document, header: list[Segment], st: Segment | None) -> None:
        bsn = self.beginning_segment(header, "BSN", st, "X12_SHIPMENT_NUMBER_MISSING", "The ship notice has no "
                                     "BSN segment, so it has no shipment number.")
        if bsn is not None:
            self._bsn(doc, bsn)
        for seg in header:
            if segment_tag(seg) == "DTM":
                self.dtm(doc.dates, seg)

    def _bsn(self, doc: Document, bsn: Segment) -> None:
        purpose = bsn.get(1).strip()
        doc.purpose = SHIP_NOTICE_PURPOSES.get(purpose, purpose) or None
        number = bsn.get(2).strip()
        if number:
            doc.number = number
        else:
            self.error("X12_SHIPMENT_NUMBER_MISSING", "BSN02 (shipment identification) is empty; the ship "
                       "notice needs its own number.", bsn, 2)
        doc.date = self.date(bsn, 3, "ship notice date")
        time = self.time(bsn, 4, "ship notice time")
        if time:
            doc.references["shipment_time"] = time

    def time(self, seg: Segment, element: int, what: str) -> str | None:
        """HHMM[SS[d..]] as HH:MM or HH:MM:SS (seconds' decimals dropped); None plus an error when unreadable."""
        raw = seg.get(element).strip()
        if not raw:
            return None
        m = _TIME.match(raw)
        if m and len(raw) in (4, 6, 7, 8) and int(m.group(1)) < 24 and int(m.group(2)) < 60 \
                and (m.group(3) is None or int(m.group(3)) < 60):
            return f"{m.group(1)}:{m.group(2)}" + (f":{m.group(3)}" if m.group(3) else "")
        self.error("X12_INVALID_TIME", f"{segment_tag(seg)}{element:02d} ({what}) is {raw!r}, which is not a time "
                   "(HHMM or HHMMSS, 24-hour clock).", seg, element)
        return None

    # -- the HL tree ------------------------------------------------------------------------------------

    def _tree(self, detail: list[Segment], tags: list[str]) -> list[_Level]:
        """The HL levels in input order, linked to their parents; every broken link reported."""
        levels: list[_Level] = []
        for seg, tag in zip(detail, tags, strict=True):
            if tag == "HL":
                levels.append(_Level(seg, [], []))
            elif levels:
                last = levels[-1]
                last.segments.append(seg)
                last.tags.append(tag)
        if not levels:
            return levels
        by_id: dict[str, _Level] = {}
        out_of_sequence = False
        for ordinal, level in enumerate(levels, start=1):
            hl = level.hl
            hl_id, parent_id, code = level.id, hl.get(2).strip(), level.level
            if not hl_id:
                self.error("X12_HL_ID", f"HL01 (hierarchical ID) is empty; number the levels 1, 2, 3 ... "
                           f"(this is HL number {ordinal}).", hl, 1)
            elif hl_id in by_id:
                self.error("X12_HL_DUPLICATE_ID", f"HL01 {hl_id!r} is used again (first at segment "
                           f"{by_id[hl_id].hl.number}); each level needs its own ID.", hl, 1)
            else:
                if hl_id != str(ordinal) and not out_of_sequence:
                    out_of_sequence = True  # said once: one gap would otherwise flag every later level
                    self.warning("X12_HL_SEQUENCE", f"HL01 is {hl_id!r} but this is HL number {ordinal}; the "
                                 "standard numbers levels 1, 2, 3 ... in order.", hl, 1)
                by_id[hl_id] = level
            if not code:
                self.error("X12_HL_LEVEL", "HL03 (hierarchical level code) is empty; say which level this is "
                           "(S shipment, O order, T tare, P pack, I item).", hl, 3)
            elif code not in ALLOWED_PARENTS:
                self.warning("X12_HL_LEVEL_UNKNOWN", f"HL03 level {code!r} is not a ship notice level this "
                             "gateway reads (S, O, T, P, I, F, Q); its segments were not mapped.", hl, 3)
            self._link(level, ordinal, parent_id, by_id)
        self._check_child_codes(levels)
        return levels

    def _link(self, level: _Level, ordinal: int, parent_id: str, by_id: dict[str, _Level]) -> None:
        hl, code = level.hl, level.level
        if ordinal == 1:
            if parent_id:
                self.error("X12_HL_PARENT", f"HL02 is {parent_id!r} on the first level; the first HL is the "
                           "shipment and has no parent. Leave HL02 empty.", hl, 2)
            if code and code != SHIPMENT:
                self.error("X12_HL_LEVEL", f"The first HL is the {_level_name(code)} level (HL03 {code!r}); a "
                           "ship notice starts with the shipment level, HL03 'S'.", hl, 3)
            return
        if not parent_id:
            self.error("X12_HL_PARENT", f"HL02 (parent ID) is empty on the {_level_name(code)} level "
                       f"{level.id!r}; only the first HL, the shipment, stands without a parent. Give the "
                       "HL01 of the level it belongs to.", hl, 2)
            return
        parent = by_id.get(parent_id)
        if parent is None or parent is level:
            later = " (a parent must come before its children)" if parent is level else ""
            self.error("X12_HL_PARENT", f"HL02 names parent {parent_id!r}, but no earlier HL has that HL01"
                       f"{later}; the {_level_name(code)} level {level.id!r} is left out of the tree.", hl, 2)
            return
        level.parent = parent
        parent.children.append(level)
        allowed = ALLOWED_PARENTS.get(code)
        if allowed is not None and parent.level in ALLOWED_PARENTS and parent.level not in allowed:
            names = " or ".join(_level_name(p) for p in "SOTPI" if p in allowed)
            self.error("X12_HL_LEVEL", f"The {_level_name(code)} level {level.id!r} sits under the "
                       f"{_level_name(parent.level)} level {parent_id!r}; {_article(_level_name(code))} belongs "
                       f"under {_article(names) if names else 'nothing'}. Check HL02 and HL03.", hl, 2)

    def _check_child_codes(self, levels: list[_Level]) -> None:
        for level in levels:
            child_code = level.hl.get(4).strip()
            if child_code == "0" and level.children:
                self.warning("X12_HL_CHILD_CODE", f"HL04 says level {level.id!r} has no children, but "
                             f"{len(level.children)} HL(s) name it as their parent.", level.hl, 4)
            elif child_code == "1" and not level.children:
                self.warning("X12_HL_CHILD_CODE", f"HL04 says level {level.id!r} has children, but no HL names "
                             "it as its parent.", level.hl, 4)

    # -- check digits ------------------------------------------------------------------------------------

    def _check_marks(self, level: _Level) -> None:
        """SSCC-18 on MAN*GM, GTINs on MAN*UC and on every LIN/SLN product ID with a check digit."""
        for seg, tag in zip(level.segments, level.tags, strict=True):
            if tag == "MAN":
                for q in (1, 4):
                    qualifier, value = seg.get(q).strip().upper(), seg.get(q + 1).strip()
                    if not value:
                        continue
                    if qualifier == "GM" and not sscc_valid(value):
                        self.error("X12_SSCC_CHECK_DIGIT", f"MAN{q + 1:02d} {value!r} is not a valid SSCC-18"
                                   f"{_digit_hint(value, (18,), strip_ai=True)}. Check the carton label.",
                                   seg, q + 1)
                    elif qualifier == "UC":
                        self._check_gtin(seg, q + 1, "GTIN", (12, 13, 14))
            elif tag in ("LIN", "SLN"):
                start = 2 if tag == "LIN" else 9
                for q in range(start, len(seg.elements) - 1, 2):
                    spec = GTIN_QUALIFIERS.get(seg.elements[q].strip().upper())
                    if spec is not None:
                        self._check_gtin(seg, q + 1, *spec)

    def _check_gtin(self, seg: Segment, element: int, name: str, lengths: tuple[int, ...]) -> None:
        value = seg.get(element).strip()
        if not value:
            return
        ok = value.isdigit() and len(value) in lengths and gs1_check_digit(value[:-1]) == int(value[-1])
        if not ok:
            qualifier = seg.get(element - 1).strip()
            self.error("X12_GTIN_CHECK_DIGIT", f"{segment_tag(seg)}{element:02d} ({qualifier}) {value!r} is not a "
                       f"valid {name}{_digit_hint(value, lengths)}. Check the product code with the item master.",
                       seg, element)

    # -- shipment and order levels --------------------------------------------------------------------

    def _shipment(self, doc: Document, levels: list[_Level]) -> None:
        shipment = next((lv for lv in levels if lv.level == SHIPMENT), None)
        if shipment is not None:
            self._shipment_segments(doc, shipment)
        for level in levels:
            if level.level == ORDER:
                for loop in _n1_loops(level.segments):
                    party = self._ship_party(loop)
                    if party not in doc.parties:
                        doc.parties.append(party)

    def _shipment_segments(self, doc: Document, shipment: _Level) -> None:
        refs = doc.references
        in_n1 = False
        for seg, tag in zip(shipment.segments, shipment.tags, strict=True):
            in_n1 = tag == "N1" or (in_n1 and tag in _N1_MEMBERS)
            if in_n1:
                continue  # the N1 loops' REFs and PERs belong to their party
            if tag == "REF":
                self.reference(refs, seg)
            elif tag == "DTM":
                self.dtm(doc.dates, seg)
            elif tag == "TD5":
                scac = seg.get(3).strip()
                if scac:
                    key = "carrier_scac" if seg.get(2).strip() == "2" else "carrier_id"
                    self.keep_first(refs, key, scac, seg, "TD503 (carrier)", 3)
                for element, key in ((4, "transport_method"), (5, "routing")):
                    if seg.get(element).strip():
                        self.keep_first(refs, key, seg.get(element).strip(), seg, f"TD5{element:02d}", element)
            elif tag == "TD3":
                equipment = seg.get(2).strip() + seg.get(3).strip()
                if equipment:
                    self.keep_first(refs, "equipment_number", equipment, seg, "TD302/TD303 (equipment)", 3)
                if seg.get(9).strip():
                    self.keep_first(refs, "seal_number", seg.get(9).strip(), seg, "TD309 (seal)", 9)
            elif tag == "TD1" and seg.get(1).strip():
                self.keep_first(refs, "packaging", seg.get(1).strip(), seg, "TD101 (packaging code)", 1)
            elif tag == "FOB" and seg.get(1).strip():
                self.keep_first(refs, "shipment_payment", seg.get(1).strip(), seg, "FOB01 (method of payment)", 1)
            elif tag == "PRF" and seg.get(1).strip():
                doc.po_number = seg.get(1).strip()
        for loop in _n1_loops(shipment.segments):
            doc.parties.append(self._ship_party(loop))

    def _ship_party(self, loop: list[Segment]) -> Party:
        party = self.party(loop)
        code = loop[0].get(1).strip().upper()
        party.role = SHIP_NOTICE_ROLES.get(code, code.lower()) or "unknown"
        return party

    # -- items -----------------------------------------------------------------------------------------

    def _notice_lines(self, doc: Document, items: list[_Level]) -> None:
        for ordinal, item in enumerate(items, start=1):
            doc.lines.extend(self._item_lines(item, ordinal))
        if doc.po_number is None:
            numbers = {ln.po_number for ln in doc.lines}
            if len(numbers) == 1:
                doc.po_number = numbers.pop()

    def _item_lines(self, item: _Level, ordinal: int) -> list[Line]:
        lin, sn1 = item.first("LIN"), item.first("SN1")
        number = (lin.get(1).strip() if lin is not None else "") or (sn1.get(1).strip() if sn1 is not None else "")
        ids: dict[str, str] = {}
        if lin is not None:
            ids = item_ids(lin, 2)
        else:
            self.warning("X12_ITEM_ID_MISSING", f"Item level {item.id!r} has no LIN segment, so the item shipped "
                         "is not identified.", item.hl)
        quantity: Decimal | None = None
        uom: str | None = None
        if sn1 is not None:
            quantity = self.decimal(sn1, 2, "X12_INVALID_QUANTITY", "number of units shipped")
            uom = sn1.get(3).strip() or None
        else:
            self.warning("X12_SHIPPED_QUANTITY_MISSING", f"Item level {item.id!r} has no SN1 segment, so the "
                         "quantity shipped is not known.", item.hl)
        ancestors = item.ancestors()
        po_number = next((prf.get(1).strip() for lv in [item, *ancestors]
                          if (prf := lv.first("PRF")) is not None and prf.get(1).strip()), None)
        container = next((lv for lv in ancestors if lv.level == PACK), None) \
            or next((lv for lv in ancestors if lv.level == TARE), None)
        description = self.description(item.segments)

        def line(qty: Decimal | None, unit: str | None, package: str | None) -> Line:
            # model_construct: every value is already typed here, and this runs once per item
            return Line.model_construct(line_number=number or str(ordinal), quantity=qty, uom=unit, unit_price=None,
                                        description=description, item_ids=dict(ids), po_number=po_number,
                                        package=package, status=None)

        packs = [lv for lv in item.children if lv.level == PACK]
        split = self._split_by_pack(item, packs, quantity, uom)
        if split is not None:
            return [line(q, u, p) for p, q, u in split]
        if container is None and len(packs) == 1:
            container = packs[0]
        return [line(quantity, uom, _package(container) if container is not None else None)]

    def _split_by_pack(self, item: _Level, packs: list[_Level], quantity: Decimal | None,
                       uom: str | None) -> list[tuple[str, Decimal, str | None]] | None:
        """An item packed into several cartons below it (S/O/I/P): one line per carton, when they add up."""
        if len(packs) < 2:
            return None
        parts: list[tuple[str, Decimal, str | None]] = []
        for pack in packs:
            sn1 = pack.first("SN1")
            if sn1 is None:
                return None
            value = self.decimal(sn1, 2, "X12_INVALID_QUANTITY", "number of units shipped")
            if value is None:
                return None
            parts.append((_package(pack), value, sn1.get(3).strip() or uom))
        total = sum((q for _, q, _ in parts), Decimal(0))
        if quantity is not None and total != quantity:
            self.warning("X12_PACK_QUANTITY", f"The cartons under item level {item.id!r} hold {format(total, 'f')} "
                         f"but SN102 says {format(quantity, 'f')} shipped; the item is kept as one line.",
                         _first_of(item.first("SN1"), item.hl), 2)
            return None
        return parts

    # -- totals ------------------------------------------------------------------------------------------

    def _notice_totals(self, doc: Document, levels: list[_Level], items: list[_Level], summary: list[Segment]) -> None:
        item_quantities: list[Decimal] = []
        for item in items:
            sn1 = item.first("SN1")
            raw = sn1.get(2).strip() if sn1 is not None else ""
            value = _quiet_decimal(raw)
            if value is not None:
                item_quantities.append(value)
        computed = sum(item_quantities, Decimal(0)) if items and len(item_quantities) == len(items) else None

        ctt = next((s for s in summary if segment_tag(s) == "CTT"), None)
        stated: Decimal | None = None
        if ctt is not None:
            self._check_ctt_count(ctt, len(levels), len(items))
            stated = self.decimal(ctt, 2, "X12_INVALID_NUMBER", "hash total")
            if stated is not None and computed is not None and stated != computed:
                self.warning("X12_CTT_HASH_TOTAL", f"CTT02 hash total is {format(stated, 'f')} but the items' SN102 "
                             f"quantities add up to {format(computed, 'f')}.", ctt, 2)
        extras: dict[str, object] = {}
        shipment = next((lv for lv in levels if lv.level == SHIPMENT), None)
        if shipment is not None:
            extras.update(self._shipment_totals(shipment))
        doc.totals = Totals(line_count=len(doc.lines), quantity=computed if computed is not None else stated,
                            **extras)

    def _check_ctt_count(self, ctt: Segment, hl_count: int, item_count: int) -> None:
        raw = ctt.get(1).strip()
        if not raw:
            return
        if not INTEGER.match(raw):
            self.error("X12_INVALID_NUMBER", f"CTT01 (number of HL segments) is {raw!r}, which is not a whole "
                       "number.", ctt, 1)
            return
        stated = int(raw)
        if stated == hl_count:
            return
        if stated == item_count:
            self.warning("X12_CTT_LINE_COUNT", f"CTT01 is {stated}, the number of items; in an 856 the standard "
                         f"counts the HL segments, which are {hl_count}. Accepted as the partner's convention.",
                         ctt, 1)
            return
        self.error("X12_CTT_LINE_COUNT", f"CTT01 says {stated} but the ship notice has {hl_count} HL segments "
                   f"(and {item_count} items); CTT01 must count the HL segments.", ctt, 1)

    def _shipment_totals(self, shipment: _Level) -> dict[str, object]:
        """Weight and lading quantity from the shipment's TD1 (gross first), else its MEA*PD weight."""
        out: dict[str, object] = {}
        td1s = shipment.all("TD1")
        lading = next((s for s in td1s if s.get(2).strip()), None)
        if lading is not None:
            raw = lading.get(2).strip()
            if raw.isdigit():
                out["lading_quantity"] = int(raw)
            else:
                self.error("X12_INVALID_NUMBER", f"TD102 (lading quantity) is {raw!r}, which is not a whole "
                           "number.", lading, 2)
        weighed = sorted((s for s in td1s if s.get(7).strip()), key=lambda s: s.get(6).strip() != "G")
        if weighed:
            seg = weighed[0]
            weight = self.decimal(seg, 7, "X12_INVALID_NUMBER", "weight")
            if weight is not None:
                out["weight"] = weight
                if seg.get(8).strip():
                    out["weight_uom"] = seg.get(8).strip()
            return out
        for seg in shipment.all("MEA"):
            if seg.get(1).strip() == "PD" and seg.get(2).strip() in ("G", "WT") and seg.get(3).strip():
                weight = self.decimal(seg, 3, "X12_INVALID_NUMBER", "weight")
                if weight is not None:
                    out["weight"] = weight
                    unit = seg.component(4, 1).strip()
                    if unit:
                        out["weight_uom"] = unit
                break
        return out


# -- helpers ----------------------------------------------------------------------------------------------


def _article(noun: str) -> str:
    return ("an " if noun[:1] in "aeiou" else "a ") + noun


def _first_of(seg: Segment | None, fallback: Segment) -> Segment:
    """`seg` unless it is None (never by truthiness: a segment without elements has len 0)."""
    return seg if seg is not None else fallback


def _quiet_decimal(raw: str) -> Decimal | None:
    """A number for sums; unreadable values were already reported where the line was built."""
    try:
        return Decimal(raw) if raw and re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)", raw) else None
    except ArithmeticError:  # pragma: no cover - the pattern only admits valid decimals
        return None


def _digit_hint(value: str, lengths: tuple[int, ...], strip_ai: bool = False) -> str:
    """Why a GS1 key fails: wrong length, not digits, or the check digit it should have."""
    code = value[2:] if strip_ai and len(value) == 20 and value.startswith("00") else value
    if not code.isdigit():
        return " (it must be digits only)"
    if len(code) not in lengths:
        return f" (it has {len(code)} digits; expected {' or '.join(str(n) for n in lengths)})"
    return f" (the check digit should be {gs1_check_digit(code[:-1])}, not {code[-1]})"


def _package(level: _Level) -> str:
    """A carton's identity: its SSCC (without the '00' AI), another GS1 mark, any mark, else its HL ID."""
    marks = [(s.get(1).strip().upper(), s.get(2).strip()) for s in level.all("MAN") if s.get(2).strip()]
    for wanted in PACKAGE_MARKS:
        for qualifier, value in marks:
            if qualifier == wanted:
                if wanted == "GM" and len(value) == 20 and value.startswith("00"):
                    return value[2:]
                return value
    if marks:
        return marks[0][1]
    return level.id


_N1_MEMBERS = frozenset({"N2", "N3", "N4", "REF", "PER", "FOB"})


def _n1_loops(segments: list[Segment]) -> list[list[Segment]]:
    loops: list[list[Segment]] = []
    current: list[Segment] | None = None
    for seg in segments:
        tag = segment_tag(seg)
        if tag == "N1":
            current = [seg]
            loops.append(current)
        elif current is not None and tag in _N1_MEMBERS:
            current.append(seg)
        else:
            current = None
    return loops


def map_856(ts: TransactionSet) -> tuple[Document, list[Issue]]:
    """Map one 856 transaction set to a canonical `ship_notice` plus the mapping issues found on the way."""
    mapper = _ShipNoticeMapper(ts)
    doc = mapper.run()
    return doc, mapper.issues

