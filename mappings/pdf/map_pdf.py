"""From a PDF extraction to a canonical order or invoice, with the checks that decide whether a person
has to look at it.

The order is never guessed: a field the document needs that was read with a confidence below the
customer's threshold, arithmetic that does not add up, an item the customer does not buy or a number
or date that cannot be read each make an error issue that points at the page region the value came
from, so the inbox can draw it. The Document is still returned with what was understood.

Arithmetic as evidence: when quantity x unit price equals the line amount (within 0.01), the three
numbers confirm one another and their confidence is raised to at least ARITHMETIC_CONFIDENCE (a
misread digit would almost never still multiply out). Likewise, when the line amounts (plus tax and
freight) add up to the printed total, the total and subtotal are raised. Confirmed values are marked
found_by "arithmetic" in the extraction only if they were below the threshold before.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection
from decimal import Decimal
from typing import Literal

from mappings.canonical import Address, Document, Line, Party, Source, Totals
from parsers.issues import Issue, error, warning
from parsers.pdf.layout import parse_date
from parsers.pdf.model import ExtractedLine, Extraction, Field, Region
from parsers.pdf.numbers import parse_number

CENT = Decimal("0.01")
ARITHMETIC_CONFIDENCE = 0.99
PARTY_ROLES = ("buyer", "seller", "ship_to", "bill_to")
# A code segment OCR began with a zero where the letters that follow show a letter prefix ("0C935388"):
# codes are letters then digits, and a zero in front of letters is an O read as a digit.
_DIGIT_LOOKALIKE = {"O": "0", "o": "0", "I": "1", "l": "1", "|": "1"}
_LETTER_LOOKALIKE = {"0": "O", "1": "I"}
_ZERO_FOR_O = re.compile(r"(?<![A-Za-z0-9])0(?=([A-Za-z]+)\d)")



def to_document(extraction: Extraction, *, kind_default: Literal["order", "invoice"] = "order",
                confidence_threshold: float = 0.9, known_items: Collection[str] | None = None,
                channel: str | None = None) -> tuple[Document | None, list[Issue]]:
    """The canonical document and every issue found (extraction's own issues first).

    None only when nothing usable was read (no number, no lines, no totals)."""
    if extraction.xml:
        return _from_xml(extraction)
    return _Mapper(extraction, kind_default, confidence_threshold, known_items, channel).run()


def _from_xml(extraction: Extraction) -> tuple[Document | None, list[Issue]]:
    try:
        from mappings.pdf.xml_map import map_embedded_xml
    except ImportError:
        return None, [*extraction.issues, error(
            "XML_MAPPING_UNAVAILABLE", "The PDF carries an embedded " + (extraction.xml_flavor or "XML") +
            " document but this installation cannot read it yet; a person has to key the order in.")]
    assert extraction.xml is not None
    doc, issues = map_embedded_xml(extraction.xml, extraction.xml_flavor or "")
    return doc, [*extraction.issues, *issues]


class _Mapper:
    def __init__(self, ext: Extraction, kind_default: Literal["order", "invoice"], threshold: float,
                 known_items: Collection[str] | None, channel: str | None) -> None:
        self.ext = ext
        self.kind: Literal["order", "invoice"] = ext.kind or kind_default
        self.threshold = threshold
        self.known = set(known_items) if known_items is not None else None
        self.channel = channel
        self.issues: list[Issue] = list(ext.issues)
        self.fmt = ext.number_format

    # -------------------------------------------------------------------------------------------- helpers
    def _issue(self, code: str, message: str, f: Field | None, name: str, *, is_error: bool = True,
               region: Region | None = None) -> None:
        reg = region or (f.region if f else None)
        make = error if is_error else warning
        self.issues.append(make(code, message, reg.location() if reg else "", pdf=reg.ref(name) if reg else None))

    def _checked(self, f: Field | None, name: str) -> Field | None:
        """The field, after flagging it when it was read with too little confidence."""
        if f is not None and f.confidence < self.threshold:
            self._issue("LOW_CONFIDENCE", f"{_label(name)} was read as \"{f.text}\" but only with "
                        f"{f.confidence:.0%} confidence (needed {self.threshold:.0%}); check it against the "
                        "page and correct it.", f, name)
        return f

    def _number(self, f: Field | None, name: str) -> Decimal | None:
        if f is None:
            return None
        value = parse_number(f.text, self.fmt)
        if value is None:
            self._issue("UNREADABLE_NUMBER", f"{_label(name)} \"{f.text}\" is not a number we can read; "
                        "enter the value as printed.", f, name)
        return value

    def _date(self, f: Field | None, name: str) -> dt.date | None:
        if f is None:
            return None
        iso = f.value or parse_date(f.text)
        if iso is None:
            self._issue("UNREADABLE_DATE", f"{_label(name)} \"{f.text}\" is not a date we can read; enter it "
                        "as YYYY-MM-DD.", f, name)
            return None
        return dt.date.fromisoformat(iso)

    def _code(self, text: str) -> str:
        """A document or item code as printed; on a scan, an O misread as 0 before a letter prefix put back
        (by character class: the letters after it say it is the prefix's first letter)."""
        if self.ext.method != "ocr":
            return text
        return _ZERO_FOR_O.sub(lambda m: "O" if m.group(1).isupper() else "o", text)

    # -------------------------------------------------------------------------------------------- mapping
    def run(self) -> tuple[Document | None, list[Issue]]:
        ext = self.ext
        fields = ext.fields
        self._confirm_arithmetic()
        number_f = self._checked(fields.get("number"), "number")
        po_f = fields.get("po_number")
        if self.kind == "order":
            number_f = number_f or self._checked(po_f, "po_number")
            po_f = number_f
        else:
            po_f = self._checked(po_f, "po_number")
        doc = Document(kind=self.kind, source=Source(format="pdf", channel=self.channel))
        doc.number = self._code(number_f.text) if number_f else None
        doc.po_number = self._code(po_f.text) if po_f else None
        doc.date = self._date(self._checked(fields.get("date"), "date"), "date")
        due = self._date(self._checked(fields.get("due_date"), "due_date"), "due_date")
        if due is not None:
            doc.dates["due"] = due
        delivery = self._date(self._checked(fields.get("delivery_date"), "delivery_date"), "delivery_date")
        if delivery is not None:
            doc.dates["delivery_requested"] = delivery
        cur = self._checked(fields.get("currency"), "currency")
        if cur is not None:
            doc.currency = cur.value or cur.text.upper()
        for role in PARTY_ROLES:
            party = self._party(role)
            if party is not None:
                doc.parties.append(party)
        amounts: list[Decimal | None] = []
        for n, row in enumerate(ext.lines, 1):
            line, amount = self._line(n, row)
            doc.lines.append(line)
            amounts.append(amount)
        self._totals(doc, amounts)
        if ext.method == "ocr":
            _consistent_codes(doc.lines)
        for line in doc.lines:
            line.po_number = doc.po_number

        if number_f is None:
            what = "invoice number" if self.kind == "invoice" else "PO number"
            self._issue("MISSING_FIELD", f"No {what} was found on the document (no label such as "
                        f"\"{'Invoice No.' if self.kind == 'invoice' else 'PO Number'}\"); enter it, or teach the "
                        "label for this customer.", None, "number", region=_page_one(ext))
        if not doc.lines:
            self._issue("MISSING_FIELD", "No order lines were found (no table with headings such as Qty, "
                        "Description, Price); key the lines in or teach the layout.", None, "lines",
                        region=_page_one(ext))
        if doc.number is None and not doc.lines and doc.totals.amount is None:
            return None, self.issues
        return doc, self.issues

    def _party(self, role: str) -> Party | None:
        f = self._checked(self.ext.fields.get(role), role)
        if f is None:
            return None
        addr_f = self.ext.fields.get(role + ".address")
        lines = [ln for ln in addr_f.text.split("\n") if ln.strip()] if addr_f else []
        return Party(role=role, name=f.text, address=Address(lines=lines) if lines else None)

    def _line(self, n: int, row: ExtractedLine) -> tuple[Line, Decimal | None]:
        """One canonical line and its printed amount (for the totals check)."""
        cells = row.cells
        ln = cells.get("line_number")
        line = Line(line_number=ln.text if ln else str(n))
        where = f"line {line.line_number}"
        for role in ("quantity", "unit_price"):
            f = self._checked(cells.get(role), f"{where} {role}")
            value = self._number(f, f"{where} {role}")
            setattr(line, role, value)
        desc = self._checked(cells.get("description"), f"{where} description")
        line.description = desc.text if desc else None
        uom = cells.get("uom")
        line.uom = uom.text.upper().rstrip(".") if uom else None
        for role, kind in (("item", "vendor_part"), ("buyer_part", "buyer_part")):
            f = self._checked(cells.get(role), f"{where} {role}")
            if f is not None:
                line.item_ids[kind] = self._code(f.text)
        amount_f = cells.get("amount")
        amount = self._number(self._checked(amount_f, f"{where} amount"), f"{where} amount")
        if line.quantity is None and line.unit_price is None and amount is None:
            self._issue("MISSING_FIELD", f"{where.capitalize()} has no quantity, price or amount; key it in.",
                        None, where, region=row.region)
        elif line.quantity is None:
            self._issue("MISSING_FIELD", f"{where.capitalize()} has no quantity; key it in.", None, where,
                        region=row.region)
        if line.quantity is not None and line.unit_price is not None and amount is not None:
            expected = line.quantity * line.unit_price
            if not _close(expected, amount, line.quantity):
                message = (f"{where.capitalize()}: {_fmt(line.quantity)} x {_fmt(line.unit_price)} = {_fmt(expected)}, "
                           f"but the amount printed is {_fmt(amount)};")
                repair = _repair(line.quantity, line.unit_price, amount)
                if repair is not None:  # still an error: a person confirms, but the likely value is filled in
                    role, value = repair
                    setattr(line, role, value)
                    message += (f" the {_label(role).lower()} was taken as {_fmt(value)}, which adds up (a decimal "
                                "point lost or a digit doubled in the scan);")
                self._issue("ARITHMETIC_MISMATCH", f"{message} check quantity, price and amount on the page.",
                            amount_f, where, region=row.region)
        if self.known is not None:
            ids = [v for k, v in line.item_ids.items() if k in ("vendor_part", "buyer_part")]
            if ids and not any(i in self.known for i in ids):
                self._issue("UNKNOWN_ITEM", f"{where.capitalize()}: item {' / '.join(ids)} is not in this "
                            "customer's catalogue; map it to a known item or correct the number.",
                            cells.get("item") or cells.get("buyer_part"), where)
        return line, amount

    def _totals(self, doc: Document, amounts: list[Decimal | None]) -> None:
        fields = self.ext.fields
        values: dict[str, Decimal | None] = {}
        for name in ("total", "subtotal", "tax", "freight"):
            values[name] = self._number(self._checked(fields.get(name), name), name)
        # the subtotal is checked, not carried: the canonical totals are amount, tax and freight
        doc.totals = Totals(amount=values["total"], tax=values["tax"], freight=values["freight"])
        line_sum = _line_sum(doc, amounts)
        if line_sum is None:
            return
        extras = (values["tax"] or Decimal(0)) + (values["freight"] or Decimal(0))
        if values["subtotal"] is not None and abs(values["subtotal"] - line_sum) > CENT:
            self._issue("ARITHMETIC_MISMATCH", f"The lines add up to {_fmt(line_sum)} but the subtotal printed is "
                        f"{_fmt(values['subtotal'])}; a line may be missing or misread.", fields.get("subtotal"),
                        "subtotal")
        total = values["total"]
        if total is not None:
            base = values["subtotal"] if values["subtotal"] is not None else line_sum
            if abs(base + extras - total) > CENT and abs(line_sum + extras - total) > CENT:
                parts = " + ".join(p for p in (f"lines {_fmt(line_sum)}",
                                               f"tax {_fmt(values['tax'])}" if values["tax"] is not None else "",
                                               f"freight {_fmt(values['freight'])}"
                                               if values["freight"] is not None else "") if p)
                self._issue("ARITHMETIC_MISMATCH", f"{parts} = {_fmt(line_sum + extras)}, but the total printed "
                            f"is {_fmt(total)}; a line, tax or freight amount may be missing or misread.",
                            fields.get("total"), "total")

    def _confirm_arithmetic(self) -> None:
        """Raise the confidence of numbers that multiply and add up (see the module docstring)."""
        sums: list[Decimal] = []
        complete = True
        for row in self.ext.lines:
            q, p, a = (row.cells.get(r) for r in ("quantity", "unit_price", "amount"))
            qv, pv, av = (parse_number(f.text, self.fmt) if f else None for f in (q, p, a))
            if qv is not None and pv is not None and av is not None and _close(qv * pv, av, qv):
                for f in (q, p, a):
                    assert f is not None
                    _raise(f, self.threshold)
            if av is None and qv is not None and pv is not None:
                av = qv * pv
            if av is None:
                complete = False
            else:
                sums.append(av)
        if not complete or not sums:
            return
        fields = self.ext.fields
        line_sum = sum(sums, Decimal(0))
        value = {n: self.ext.decimal(n) for n in ("subtotal", "tax", "freight", "total")}
        extras = (value["tax"] or Decimal(0)) + (value["freight"] or Decimal(0))
        if value["subtotal"] is not None and abs(value["subtotal"] - line_sum) <= CENT:
            _raise(fields["subtotal"], self.threshold)
        if value["total"] is not None and abs(line_sum + extras - value["total"]) <= CENT:
            for name in ("total", "tax", "freight"):
                if name in fields:
                    _raise(fields[name], self.threshold)


def _line_sum(doc: Document, amounts: list[Decimal | None]) -> Decimal | None:
    """The sum of the printed line amounts (quantity x price where none is printed); None if unknown."""
    out: list[Decimal] = []
    for line, amount in zip(doc.lines, amounts, strict=True):
        if amount is None and line.quantity is not None and line.unit_price is not None:
            amount = line.quantity * line.unit_price
        if amount is None:
            return None
        out.append(amount)
    return sum(out, Decimal(0)) if out else None


def _shape(code: str) -> str:
    """A code's character classes: A for a letter, 9 for a digit, anything else as itself."""
    return "".join("A" if c.isalpha() else "9" if c.isdigit() else c for c in code)


def _consistent_codes(lines: list[Line]) -> None:
    """On a scan, an item id whose shape no other id of its column has is put back where a look-alike
    gives a shape at least two others have: pw05815 read as pwo5815 beside PW77323 and PW80876 (O for 0,
    I/l for 1, and the reverse in letter places); stray rule marks (_ | .) around a code dropped."""
    for kind in {k for line in lines for k in line.item_ids}:
        for line in lines:
            if kind in line.item_ids:
                line.item_ids[kind] = line.item_ids[kind].strip("_|.,;:")
        counts: dict[str, int] = {}
        for line in lines:
            if kind in line.item_ids:
                shape = _shape(line.item_ids[kind])
                counts[shape] = counts.get(shape, 0) + 1
        for line in lines:
            read = line.item_ids.get(kind)
            if read is None or counts[_shape(read)] > 1:
                continue
            for usual, n in counts.items():
                if n < 2 or len(usual) != len(read):
                    continue
                fixed = "".join(_DIGIT_LOOKALIKE.get(c, c) if want == "9" else _LETTER_LOOKALIKE.get(c, c)
                                if want == "A" else c for c, want in zip(read, usual, strict=True))
                if _shape(fixed) == usual:
                    line.item_ids[kind] = fixed
                    break


def _misreadings(value: Decimal) -> set[Decimal]:
    """What a scanned number may have been: its decimal point lost (445 -> 44.5, 4.45) or one digit of a
    doubled pair read twice (2280.47 -> 280.47). The two misreadings seen on scanned PO lines."""
    out: set[Decimal] = set()
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= 0 and abs(value) >= 10:  # read without a decimal point
        out.update(value.scaleb(-k) for k in (1, 2, 3) if abs(value) >= 10**k)
    text = format(value, "f")
    for i in range(1, len(text)):
        if text[i].isdigit() and text[i] == text[i - 1]:
            out.add(Decimal(text[:i] + text[i + 1:]))
    out.discard(value)
    return {v for v in out if v > 0}


def _repair(quantity: Decimal, price: Decimal, amount: Decimal) -> tuple[str, Decimal] | None:
    """The one misreading of quantity or unit price (see `_misreadings`) that makes quantity x price equal
    the printed amount; None when there is none, or more than one."""
    found = {("quantity", q) for q in _misreadings(quantity) if _close(q * price, amount, q)}
    found |= {("unit_price", p) for p in _misreadings(price) if _close(quantity * p, amount, quantity)}
    return found.pop() if len(found) == 1 else None


def _raise(f: Field, threshold: float) -> None:
    if f.confidence < ARITHMETIC_CONFIDENCE:
        if f.confidence < threshold:
            f.found_by = "arithmetic"
        f.confidence = ARITHMETIC_CONFIDENCE


def _close(expected: Decimal, printed: Decimal, quantity: Decimal) -> bool:
    """Equal within a cent, or within rounding of a price printed to fewer places than it has."""
    return abs(expected - printed) <= CENT or abs(expected - printed) <= abs(quantity) * Decimal("0.005")


def _fmt(value: Decimal | None) -> str:
    return "" if value is None else f"{value:,}"


def _label(name: str) -> str:
    return name.replace("_", " ").replace(".", " ").capitalize()


def _page_one(ext: Extraction) -> Region | None:
    if not ext.page_sizes:
        return None
    w, h = ext.page_sizes[0]
    return Region(1, 0.0, 0.0, w, h)


