"""Purchase-order and invoice PDFs for tests and the accuracy benchmark, with the canonical documents
they must turn into.

Why: PDF extraction can only be measured against documents whose truth is known. This module makes
them deterministically (seeded), in deliberately different layouts -- label wordings in four
languages, labels left of or above their values, a PO number only in a header box, ruled, zebra and
borderless tables in different column orders, a multi-page table with repeated header row and page
footer, wrapped descriptions, core and TrueType fonts, 1,234.56 and 1.234,56, dates in seven shapes,
totals blocks with tax and freight -- typed, and as noisy 300-dpi scans.

Public API:
    LAYOUTS: dict[str, Layout]                      every layout by name (order and invoice layouts)
    ORDER_LAYOUTS, INVOICE_LAYOUTS: tuple[str, ...]
    make_order(seed, layout=None) -> Document       a realistic order (tailored to the layout's locale)
    make_invoice(seed, layout=None) -> Document     a realistic supplier invoice
    make_document(layout, seed) -> Document         make_order or make_invoice, by the layout's kind
    render(layout, doc) -> bytes                    a typed (text-layer) PDF
    scan(pdf, seed, dpi=300) -> bytes               an image-only PDF, as an office scanner makes it
    scan_image(pdf, seed, dpi=300, page=1) -> bytes one scanned page as PNG
    expected(doc, layout=None) -> Document          what the extractor should produce from the PDF
    make_case(layout, seed, scanned=False) -> Case  all of the above in one go
    format_quantity / format_amount / format_date   numbers and dates as a layout prints them

Item ids: each layout prints one part-number column; `Layout.item_key` says whether it is the
buyer's (`buyer_part`) or the vendor's (`vendor_part`) number, and the header wording says so too
("Our Part No.", "Ihre Art.-Nr.", ...). See `layout_table()` or `python -m tests.pdf_factory --list`.

Totals: `totals.amount` is always the grand total printed last. Where a layout prints a totals block,
`totals.tax` and `totals.freight` carry those rows and amount = sum(qty * price) + tax + freight;
otherwise amount = sum(qty * price). Quantities with decimals are always .5 and then the price has
even cents, so every line amount is exact to the cent.

`python -m tests.pdf_factory --write-samples samples/pdf` writes a few sample PDFs with their
expected canonical JSON.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Literal

from fpdf import FPDF

from mappings.canonical import Address, Document, Line, Party, Source, Totals

Kind = Literal["order", "invoice"]
Align = Literal["L", "R", "C"]
NumberFormat = Literal["dot", "comma"]
ItemKey = Literal["buyer_part", "vendor_part"]

CENT = Decimal("0.01")
FONT_DIRS = (Path("/usr/share/fonts/truetype"), Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))
# family -> (regular, bold) TrueType files; when missing the layout falls back to Helvetica (all our
# text is latin-1, which the core fonts cover).
TTF_FONTS: dict[str, tuple[str, str]] = {
    "dejavu": ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"),
    "dejavu-serif": ("DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf"),
    "liberation-sans": ("LiberationSans-Regular.ttf", "LiberationSans-Bold.ttf"),
    "liberation-serif": ("LiberationSerif-Regular.ttf", "LiberationSerif-Bold.ttf"),
}
CORE_FONTS = ("helvetica", "times", "courier")


# --------------------------------------------------------------------------------------------------
# Layouts


@dataclass(frozen=True)
class Column:
    role: Literal["line_number", "item", "description", "quantity", "uom", "unit_price", "amount"]
    header: str
    width: float  # mm
    align: Align = "L"


@dataclass(frozen=True)
class Layout:
    """How one (imaginary) customer or supplier prints its documents."""

    name: str
    kind: Kind
    locale: Literal["us", "uk", "de", "fr", "es"]
    title: str
    font: str  # helvetica | times | courier | a TTF_FONTS key
    font_size: float
    labels: dict[str, str]  # number, date, currency, po_ref, delivery, vendor, buyer, ship_to, bill_to
    columns: tuple[Column, ...]
    item_key: ItemKey
    number_format: NumberFormat = "dot"
    grouping: bool = True  # thousands separators
    qty_decimals: int = 0  # 0: as many as the value needs (10, 2.5); n: always n (10.000)
    date_format: str = "iso"  # key of DATE_FORMATS
    header_style: Literal["left", "above", "box"] = "left"
    party_style: Literal["side", "stacked"] = "side"
    letterhead: bool = True  # the issuer's name on top (buyer for orders, seller for invoices)
    vendor_block: bool = True  # orders: the vendor's name and address are printed
    rules: Literal["grid", "horizontal", "none", "dashed"] = "grid"
    header_fill: int | None = None  # grey level of the table header row
    zebra: bool = False
    upper: bool = False  # everything in capitals (an old ERP print)
    line_step: int = 1  # 1, 2, 3 ... or 10, 20, 30 (SAP)
    lines_range: tuple[int, int] = (1, 12)
    tax_rate: Decimal | None = None
    freight: bool = False
    totals_labels: dict[str, str] = field(default_factory=dict)  # subtotal, tax, freight, total
    currency_in: Literal["label", "total", "header", "note"] = "label"
    footer: bool = False  # company info + "Page x of y" on every page
    page_label: str = "Page {p} of {nb}"
    continued: str = ""  # heading on continuation pages, with {number}
    notes: tuple[str, ...] = ()
    long_description_share: float = 0.3
    comment: str = ""

    def column(self, role: str) -> Column | None:
        return next((c for c in self.columns if c.role == role), None)


def _cols(*spec: tuple[str, str, float, str]) -> tuple[Column, ...]:
    cols = tuple(Column(role, header, width, align) for role, header, width, align in spec)  # type: ignore[arg-type]
    assert abs(sum(c.width for c in cols) - 180) < 0.01, [c.header for c in cols]
    return cols


_LAYOUT_LIST: list[Layout] = [
    Layout(
        name="en_classic_ruled", kind="order", locale="us", title="PURCHASE ORDER", font="helvetica", font_size=9,
        labels={"number": "Purchase Order No.:", "date": "Order Date:", "currency": "Currency:",
                "delivery": "Delivery Date:", "vendor": "Vendor", "ship_to": "Ship To", "bill_to": "Bill To"},
        columns=_cols(("line_number", "Line", 11, "L"), ("item", "Our Part No.", 27, "L"),
                      ("description", "Description", 67, "L"), ("quantity", "Qty", 16, "R"), ("uom", "UOM", 12, "L"),
                      ("unit_price", "Unit Price", 23, "R"), ("amount", "Amount", 24, "R")),
        item_key="buyer_part", date_format="iso", totals_labels={"total": "Total"},
        notes=("Payment terms: Net 30 days. Please confirm receipt of this order within 2 business days.",),
        comment="Helvetica, labels left of values, ruled grid, ISO date, total only",
    ),
    Layout(
        name="en_box_topright", kind="order", locale="us", title="PURCHASE ORDER", font="times", font_size=10,
        labels={"number": "PO #", "date": "Date", "vendor": "Supplier", "ship_to": "Deliver to",
                "bill_to": "Invoice to"},
        columns=_cols(("line_number", "Item", 11, "L"), ("quantity", "Qty", 15, "R"), ("uom", "Unit", 12, "L"),
                      ("item", "Vendor Part No.", 30, "L"), ("description", "Description", 65, "L"),
                      ("unit_price", "Price/Unit", 23, "R"), ("amount", "Extended", 24, "R")),
        item_key="vendor_part", date_format="us", header_style="box", rules="none", header_fill=None,
        tax_rate=Decimal("0.0725"), freight=True, currency_in="note",
        totals_labels={"subtotal": "Subtotal", "tax": "Sales Tax 7.25%", "freight": "Freight", "total": "Total"},
        comment="Times, PO number only in a box at top right, borderless, US date, subtotal/tax/freight/total",
    ),
    Layout(
        name="de_ruled_dejavu", kind="order", locale="de", title="Bestellung", font="dejavu", font_size=8.5,
        labels={"number": "Bestellnummer:", "date": "Bestelldatum:", "currency": "Währung:",
                "delivery": "Liefertermin:", "vendor": "Lieferant", "ship_to": "Lieferadresse",
                "bill_to": "Rechnungsadresse"},
        columns=_cols(("line_number", "Pos.", 11, "L"), ("item", "Unsere Mat.-Nr.", 29, "L"),
                      ("description", "Bezeichnung", 63, "L"), ("quantity", "Menge", 17, "R"), ("uom", "ME", 11, "L"),
                      ("unit_price", "Einzelpreis", 24, "R"), ("amount", "Betrag", 25, "R")),
        item_key="buyer_part", number_format="comma", date_format="de", line_step=10, header_fill=225,
        tax_rate=Decimal("0.19"), lines_range=(1, 14),
        totals_labels={"subtotal": "Nettobetrag", "tax": "MwSt. 19 %", "total": "Gesamtbetrag"},
        notes=("Zahlungsbedingungen: 14 Tage 2 % Skonto, 30 Tage netto.",
               "Bitte geben Sie bei Rückfragen stets unsere Bestellnummer an."),
        comment="DejaVu Sans (TTF), German labels, 1.234,56, SAP-style positions 10/20/30, net/VAT/gross",
    ),
    Layout(
        name="de_courier_above", kind="order", locale="de", title="BESTELLUNG", font="courier", font_size=9,
        labels={"number": "Bestell-Nr.", "date": "Datum", "currency": "Währung", "delivery": "Lieferdatum",
                "buyer": "Besteller", "vendor": "An", "ship_to": "Lieferanschrift", "bill_to": "Rechnung an"},
        columns=_cols(("line_number", "Pos", 10, "L"), ("quantity", "Menge", 20, "R"), ("uom", "Einh.", 12, "L"),
                      ("item", "Ihre Art.-Nr.", 30, "L"), ("description", "Bezeichnung", 58, "L"),
                      ("unit_price", "Preis/Einh.", 24, "R"), ("amount", "Gesamt", 26, "R")),
        item_key="vendor_part", number_format="comma", qty_decimals=3, date_format="de_long",
        header_style="above", letterhead=False, rules="dashed", currency_in="total",
        totals_labels={"total": "Gesamtsumme"}, lines_range=(1, 10),
        comment="Courier, labels above values, buyer in a labelled block, dashed rules, qty 10,000, 27. November 2026",
    ),
    Layout(
        name="en_multipage", kind="order", locale="us", title="Purchase Order", font="helvetica", font_size=9.5,
        labels={"number": "Order Number", "date": "Order Date", "currency": "Currency", "vendor": "Vendor",
                "ship_to": "Deliver to", "bill_to": "Invoice to"},
        columns=_cols(("line_number", "No.", 10, "L"), ("quantity", "Quantity", 19, "R"), ("uom", "UOM", 12, "L"),
                      ("item", "Customer Part No.", 32, "L"), ("description", "Description", 59, "L"),
                      ("unit_price", "Unit Price", 23, "R"), ("amount", "Total", 25, "R")),
        item_key="buyer_part", date_format="d_mon_y", rules="horizontal", header_fill=230, lines_range=(30, 40),
        footer=True, continued="Purchase Order {number} (continued)", long_description_share=0.45,
        totals_labels={"total": "Order Total"},
        comment="multi-page table, header row repeated, footer with company info and Page x of y, 27 Nov 2026",
    ),
    Layout(
        name="fr_ruled_serif", kind="order", locale="fr", title="BON DE COMMANDE", font="liberation-serif",
        font_size=9,
        labels={"number": "N° de commande :", "date": "Date de commande :", "currency": "Devise :",
                "delivery": "Date de livraison :", "vendor": "Fournisseur", "ship_to": "Adresse de livraison",
                "bill_to": "Adresse de facturation"},
        columns=_cols(("line_number", "N°", 9, "L"), ("item", "Réf. fournisseur", 29, "L"),
                      ("description", "Désignation", 64, "L"), ("quantity", "Qté", 15, "R"), ("uom", "Unité", 13, "L"),
                      ("unit_price", "Prix unitaire", 25, "R"), ("amount", "Montant HT", 25, "R")),
        item_key="vendor_part", number_format="comma", grouping=False, date_format="eu_slash",
        tax_rate=Decimal("0.20"), party_style="stacked",
        totals_labels={"subtotal": "Total HT", "tax": "TVA 20 %", "total": "Total TTC"},
        comment="Liberation Serif (TTF), French, 1234,56 without grouping, 27/11/2026, parties stacked",
    ),
    Layout(
        name="en_courier_erp", kind="order", locale="us", title="PURCHASE ORDER", font="courier", font_size=8.5,
        labels={"number": "ORDER NO.", "date": "ORDER DATE", "currency": "CURRENCY", "vendor": "VENDOR",
                "ship_to": "SHIP TO", "bill_to": "BILL TO"},
        columns=_cols(("line_number", "LN", 9, "L"), ("quantity", "QTY", 19, "R"), ("uom", "UM", 10, "L"),
                      ("item", "OUR ITEM NUMBER", 33, "L"), ("description", "DESCRIPTION", 60, "L"),
                      ("unit_price", "UNIT PRICE", 24, "R"), ("amount", "EXT PRICE", 25, "R")),
        item_key="buyer_part", qty_decimals=2, date_format="dash_upper", upper=True, rules="dashed",
        totals_labels={"total": "TOTAL"}, currency_in="total",
        notes=("ALL SHIPMENTS MUST REFERENCE OUR ORDER NUMBER. NO SUBSTITUTIONS WITHOUT WRITTEN APPROVAL.",),
        comment="Courier capitals ERP print, qty 10.00, 27-NOV-2026, dashed rules, currency on the total line",
    ),
    Layout(
        name="es_zebra", kind="order", locale="es", title="PEDIDO DE COMPRA", font="dejavu-serif", font_size=8.5,
        labels={"number": "Nº de pedido:", "date": "Fecha:", "currency": "Moneda:", "ship_to": "Dirección de entrega",
                "bill_to": "Facturar a"},
        columns=_cols(("line_number", "Línea", 12, "L"), ("quantity", "Cantidad", 18, "R"), ("uom", "Unidad", 16, "L"),
                      ("item", "Nuestro código", 28, "L"), ("description", "Descripción", 57, "L"),
                      ("unit_price", "Precio unit.", 24, "R"), ("amount", "Importe", 25, "R")),
        item_key="buyer_part", number_format="comma", date_format="eu_slash", rules="none", header_fill=200,
        zebra=True, vendor_block=False, tax_rate=Decimal("0.21"),
        totals_labels={"subtotal": "Base imponible", "tax": "IVA 21 %", "total": "Total"},
        comment="DejaVu Serif (TTF), Spanish, zebra rows, shaded header, no vendor block, 1.234,56",
    ),
    Layout(
        name="uk_above_shaded", kind="order", locale="uk", title="Purchase Order", font="liberation-sans", font_size=9,
        labels={"number": "Order Number", "date": "Order Date", "currency": "Currency", "delivery": "Required By",
                "vendor": "Supplier", "ship_to": "Delivery Address", "bill_to": "Invoice Address"},
        columns=_cols(("line_number", "Item", 11, "L"), ("description", "Description", 66, "L"),
                      ("item", "Supplier Code", 27, "L"), ("quantity", "Quantity", 17, "R"), ("uom", "Unit", 11, "L"),
                      ("unit_price", "Price", 23, "R"), ("amount", "Net Amount", 25, "R")),
        item_key="vendor_part", date_format="d_month_y", header_style="above", rules="horizontal", header_fill=215,
        tax_rate=Decimal("0.20"), freight=True,
        totals_labels={"subtotal": "Net Total", "tax": "VAT @ 20%", "freight": "Carriage", "total": "Order Total"},
        comment="Liberation Sans (TTF), labels above values in shaded boxes, description second, 27 November 2026",
    ),
    Layout(
        name="inv_en_ruled", kind="invoice", locale="us", title="INVOICE", font="helvetica", font_size=9,
        labels={"number": "Invoice No.:", "date": "Invoice Date:", "po_ref": "Customer PO:", "currency": "Currency:",
                "ship_to": "Ship To", "bill_to": "Bill To"},
        columns=_cols(("line_number", "#", 9, "L"), ("item", "Item Code", 28, "L"),
                      ("description", "Description", 70, "L"), ("quantity", "Qty", 15, "R"), ("uom", "Unit", 12, "L"),
                      ("unit_price", "Unit Price", 22, "R"), ("amount", "Amount", 24, "R")),
        item_key="vendor_part", date_format="iso", tax_rate=Decimal("0.0825"), freight=True,
        totals_labels={"subtotal": "Subtotal", "tax": "Tax 8.25%", "freight": "Shipping", "total": "Total Due"},
        notes=("Remit to: Lockbox 74120, Cleveland, OH 44194. Terms: Net 30.",),
        comment="supplier invoice, Helvetica, ruled grid, customer PO reference, subtotal/tax/shipping/total due",
    ),
    Layout(
        name="inv_de_borderless", kind="invoice", locale="de", title="RECHNUNG", font="dejavu", font_size=8.5,
        labels={"number": "Rechnungsnummer:", "date": "Rechnungsdatum:", "po_ref": "Ihre Bestellung:",
                "currency": "Währung:", "ship_to": "Lieferanschrift", "bill_to": "Rechnungsempfänger"},
        columns=_cols(("line_number", "Pos.", 10, "L"), ("item", "Art.-Nr.", 28, "L"),
                      ("description", "Bezeichnung", 64, "L"), ("quantity", "Menge", 17, "R"),
                      ("uom", "Einheit", 14, "L"), ("unit_price", "Einzelpreis", 22, "R"),
                      ("amount", "Gesamtpreis", 25, "R")),
        item_key="vendor_part", number_format="comma", date_format="de", rules="none", header_fill=225,
        tax_rate=Decimal("0.19"), footer=True, page_label="Seite {p} von {nb}",
        totals_labels={"subtotal": "Nettobetrag", "tax": "USt. 19 %", "total": "Rechnungsbetrag"},
        comment="supplier invoice, DejaVu Sans, German, borderless, footer with company data and Seite x von y",
    ),
]

LAYOUTS: dict[str, Layout] = {lay.name: lay for lay in _LAYOUT_LIST}
ORDER_LAYOUTS: tuple[str, ...] = tuple(n for n, lay in LAYOUTS.items() if lay.kind == "order")
INVOICE_LAYOUTS: tuple[str, ...] = tuple(n for n, lay in LAYOUTS.items() if lay.kind == "invoice")


# --------------------------------------------------------------------------------------------------
# Numbers and dates as printed

MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
             "November", "December")
MONTHS_DE = ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
             "November", "Dezember")

DATE_FORMATS: dict[str, Callable[[dt.date], str]] = {
    "iso": lambda d: d.isoformat(),  # 2026-11-27
    "de": lambda d: f"{d.day:02d}.{d.month:02d}.{d.year}",  # 27.11.2026
    "us": lambda d: f"{d.month:02d}/{d.day:02d}/{d.year}",  # 11/27/2026
    "eu_slash": lambda d: f"{d.day:02d}/{d.month:02d}/{d.year}",  # 27/11/2026
    "d_mon_y": lambda d: f"{d.day} {MONTHS_EN[d.month - 1][:3]} {d.year}",  # 27 Nov 2026
    "d_month_y": lambda d: f"{d.day} {MONTHS_EN[d.month - 1]} {d.year}",  # 27 November 2026
    "de_long": lambda d: f"{d.day}. {MONTHS_DE[d.month - 1]} {d.year}",  # 27. November 2026
    "dash_upper": lambda d: f"{d.day:02d}-{MONTHS_EN[d.month - 1][:3].upper()}-{d.year}",  # 27-NOV-2026
}


def _group(digits: str, mark: str) -> str:
    out: list[str] = []
    while len(digits) > 3:
        out.insert(0, digits[-3:])
        digits = digits[:-3]
    out.insert(0, digits)
    return mark.join(out)


def format_number(value: Decimal, fmt: NumberFormat, *, decimals: int | None = 2, grouping: bool = True) -> str:
    """`value` printed with `decimals` places (None: as many as it has) in the dot or comma format."""
    if decimals is not None:
        value = value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    elif value == value.to_integral_value():
        value = value.quantize(Decimal(1))
    else:
        value = value.normalize()
    sign = "-" if value < 0 else ""
    text = format(abs(value), "f")
    whole, _, frac = text.partition(".")
    dec_mark, group_mark = (".", ",") if fmt == "dot" else (",", ".")
    whole = _group(whole, group_mark) if grouping else whole
    return sign + whole + (dec_mark + frac if frac else "")


def format_quantity(layout: Layout | str, qty: Decimal) -> str:
    lay = LAYOUTS[layout] if isinstance(layout, str) else layout
    return format_number(qty, lay.number_format, decimals=lay.qty_decimals or None, grouping=lay.grouping)


def format_amount(layout: Layout | str, value: Decimal) -> str:
    lay = LAYOUTS[layout] if isinstance(layout, str) else layout
    return format_number(value, lay.number_format, decimals=2, grouping=lay.grouping)


def format_date(layout: Layout | str, day: dt.date) -> str:
    lay = LAYOUTS[layout] if isinstance(layout, str) else layout
    return DATE_FORMATS[lay.date_format](day)


# --------------------------------------------------------------------------------------------------
# Documents

@dataclass(frozen=True)
class _Locale:
    currency: str
    buyers: tuple[str, ...]
    vendors: tuple[str, ...]
    streets: tuple[str, ...]
    cities: tuple[tuple[str, str], ...]  # (postal code, city) -- or (state + zip, city) for the US
    country: str
    sites: tuple[str, ...]  # ship-to attention lines
    ap: str  # bill-to attention line
    products: tuple[str, ...]
    extras: tuple[str, ...]
    po_shapes: tuple[str, ...]
    invoice_shapes: tuple[str, ...]


_LOCALES: dict[str, _Locale] = {
    "us": _Locale(
        currency="USD",
        buyers=("Northwind Traders Inc.", "Contoso Manufacturing LLC", "Blue Ridge Hardware Co.",
                "Pinecrest Medical Supply", "Harbor Point Logistics", "Summit Industrial Corp."),
        vendors=("Acme Industrial Supply Inc.", "Globex Components Corp.", "Initech Fasteners LLC",
                 "Great Lakes Bearing Co."),
        streets=("1200 Harbor Blvd", "400 Lakeside Ave", "18800 Snow Rd", "77 Commerce Park Dr", "2500 Industrial Pkwy",
                 "615 W Madison St"),
        cities=(("CA 94607", "Oakland"), ("OH 44114", "Cleveland"), ("IL 60431", "Joliet"), ("TX 75201", "Dallas"),
                ("GA 30303", "Atlanta"), ("WA 98108", "Seattle")),
        country="USA",
        sites=("Attn: Receiving Dock 4", "Warehouse 3", "Distribution Center East", "Building B, Gate 2"),
        ap="Accounts Payable",
        products=("Hex bolt M{m} x {l} mm", "Ball bearing 62{n}-2RS", "Nitrile gloves size {size}",
                  "Cable tie {w} x {l} mm black", "Copy paper A4 80 g/m2", "Safety goggles clear lens",
                  "Hydraulic hose {d} mm", "Pallet wrap film {w} mm", "LED panel 60 x 60 cm", "Circuit breaker {a} A",
                  "Shipping carton {a} x {b} x {c} cm", "Stainless steel sheet {t} mm", "Shop towel roll blue",
                  "Lithium battery pack {a} V"),
        extras=("DIN 933", "stainless steel A2", "zinc plated", "box of 100", "food grade",
                "according to drawing 4711 rev. C", "mill certificate 3.1 required", "packed on EUR pallet",
                "color RAL 7035", "with mounting kit",
                "for line 3 maintenance", "deliver to gate 2 only", "labelled with our part number"),
        po_shapes=("45000{d5}", "PO-2026-{d4}", "PO{d6}", "{d7}", "NW-{d5}"),
        invoice_shapes=("INV-{d5}", "{d8}", "INV2026-{d4}"),
    ),
    "uk": _Locale(
        currency="GBP",
        buyers=("Thames Valley Components Ltd", "Pennine Engineering Ltd", "Clyde Marine Supplies plc",
                "Severn Packaging Ltd", "Mersey Foods Ltd"),
        vendors=("Acme Industrial Supply Ltd", "Globex Components UK Ltd", "Midland Bearings Ltd"),
        streets=("Unit 4, Kingsway Trading Estate", "12 Wharf Road", "Riverside House, 3 Mill Lane", "88 Station Road"),
        cities=(("M1 2AB", "Manchester"), ("RG1 8DB", "Reading"), ("G2 4JR", "Glasgow"), ("BS1 6QH", "Bristol")),
        country="United Kingdom", sites=("Goods In, Door 3", "Attn: Stores", "Despatch Bay 2"), ap="Purchase Ledger",
        products=(),  # filled below from "us"
        extras=(),
        po_shapes=("PO{d6}", "TVC/PO/{d5}", "{d6}"),
        invoice_shapes=("INV{d6}",),
    ),
    "de": _Locale(
        currency="EUR",
        buyers=("Müller Maschinenbau GmbH", "Schäfer & Söhne KG", "Bergmann Elektrotechnik AG", "Hofmann Logistik GmbH",
                "Weißenburger Präzisionsteile GmbH", "Krüger Medizintechnik GmbH"),
        vendors=("Globex Handels GmbH", "Acme Industriebedarf GmbH", "Nordlicht Kugellager GmbH"),
        streets=("Industriestraße 12", "Am Hafen 7", "Gewerbepark Süd 3", "Lindenallee 45", "Robert-Bosch-Straße 88"),
        cities=(("70565", "Stuttgart"), ("28195", "Bremen"), ("80331", "München"), ("90402", "Nürnberg"),
                ("04109", "Leipzig"), ("50667", "Köln")),
        country="Deutschland", sites=("Werk 2, Tor 4", "Wareneingang Halle 3", "z. Hd. Herrn Schneider"),
        ap="Kreditorenbuchhaltung",
        products=("Sechskantschraube M{m} x {l}", "Rillenkugellager 62{n}-2RS", "Einweghandschuhe Nitril Größe {size}",
                  "Kabelbinder {w} x {l} mm schwarz", "Kopierpapier A4 80 g/m2", "Schutzbrille klar",
                  "Hydraulikschlauch DN {d}", "Stretchfolie {w} mm", "Leitungsschutzschalter {a} A",
                  "Versandkarton {a} x {b} x {c} cm", "Edelstahlblech {t} mm", "Dichtungsring Fluorkautschuk {d} mm",
                  "Putztuchrolle blau", "Akku-Pack {a} V"),
        extras=("DIN 933", "Edelstahl A2", "verzinkt", "VE 100 Stück", "lebensmittelecht",
                "gemäß Zeichnung 4711 Rev. C", "mit Abnahmeprüfzeugnis 3.1", "auf Europalette verpackt",
                "Farbe RAL 7035", "inkl. Montagesatz",
                "für Wartung Linie 3", "Anlieferung nur an Tor 2", "mit unserer Materialnummer etikettieren"),
        po_shapes=("45000{d5}", "B-2026-{d4}", "BE{d6}", "{d7}"),
        invoice_shapes=("RE-2026-{d5}", "{d7}", "R{d6}"),
    ),
    "fr": _Locale(
        currency="EUR",
        buyers=("Dupont Industries SA", "Atelier Mécanique Lefèvre SARL", "Société Bernard et Fils",
                "Rhône Logistique SAS", "Électricité Moreau SA"),
        vendors=("Globex France SAS", "Acme Fournitures Industrielles SARL"),
        streets=("12 rue de la République", "45 avenue Jean Jaurès", "3 chemin des Vignes", "ZI Les Bruyères, lot 7"),
        cities=(("69002", "Lyon"), ("31000", "Toulouse"), ("13002", "Marseille"), ("44000", "Nantes")),
        country="France", sites=("Quai de réception 2", "Magasin central", "À l'attention de M. Petit"),
        ap="Service comptabilité fournisseurs",
        products=("Vis à tête hexagonale M{m} x {l}", "Roulement à billes 62{n}-2RS", "Gants nitrile taille {size}",
                  "Collier de serrage {w} x {l} mm noir", "Papier A4 80 g/m2", "Lunettes de protection",
                  "Flexible hydraulique DN {d}", "Film étirable {w} mm", "Disjoncteur {a} A",
                  "Carton d'expédition {a} x {b} x {c} cm", "Tôle inox {t} mm", "Joint torique {d} mm"),
        extras=("DIN 933", "inox A2", "zingué", "boîte de 100", "qualité alimentaire", "selon plan 4711 rév. C",
                "certificat 3.1 exigé", "sur palette EUR", "couleur RAL 7035", "avec kit de montage",
                "pour maintenance ligne 3"),
        po_shapes=("CMD-2026-{d4}", "BC{d6}", "{d6}"),
        invoice_shapes=("FA-{d6}",),
    ),
    "es": _Locale(
        currency="EUR",
        buyers=("Suministros Industriales García S.L.", "Talleres Martínez S.A.", "Logística Ibérica S.L.",
                "Ferretería Navarro S.A."),
        vendors=("Globex Iberia S.L.",),
        streets=("Calle de Alcalá 45", "Avenida Diagonal 210", "Polígono Industrial Sur, nave 12", "Calle Mayor 8"),
        cities=(("28014", "Madrid"), ("08019", "Barcelona"), ("46001", "Valencia"), ("41001", "Sevilla")),
        country="España", sites=("Muelle de carga 3", "Almacén central", "Atención: Sr. López"),
        ap="Departamento de cuentas a pagar",
        products=("Tornillo hexagonal M{m} x {l}", "Rodamiento de bolas 62{n}-2RS", "Guantes de nitrilo talla {size}",
                  "Brida de plástico {w} x {l} mm negra", "Papel A4 80 g/m2", "Gafas de seguridad",
                  "Manguera hidráulica DN {d}", "Film estirable {w} mm", "Interruptor automático {a} A",
                  "Caja de cartón {a} x {b} x {c} cm", "Chapa de acero inoxidable {t} mm"),
        extras=("DIN 933", "acero inoxidable A2", "galvanizado", "caja de 100", "apto para alimentos",
                "según plano 4711 rev. C", "certificado 3.1", "en palé EUR", "color RAL 7035", "con kit de montaje"),
        po_shapes=("PED-2026-{d4}", "{d7}", "OC{d6}"),
        invoice_shapes=("F2026-{d5}",),
    ),
}
_LOCALES["uk"] = _Locale(**{**_LOCALES["uk"].__dict__, "products": _LOCALES["us"].products,
                            "extras": _LOCALES["us"].extras})

UOMS: tuple[str, ...] = ("EA", "EA", "EA", "PCE", "PCE", "BOX", "SET", "PK")
UOMS_MEASURED: tuple[str, ...] = ("KG", "M", "L")


def _shape(rng: random.Random, pattern: str) -> str:
    out = pattern
    for n in range(9, 0, -1):
        while f"{{d{n}}}" in out:
            out = out.replace(f"{{d{n}}}", "".join(rng.choice("0123456789") for _ in range(n)), 1)
    return out


def _address(rng: random.Random, loc: _Locale, locale: str, attention: str | None = None) -> Address:
    lines = [attention] if attention else []
    lines.append(rng.choice(loc.streets))
    code, city = rng.choice(loc.cities)
    if locale == "us":
        lines.append(f"{city}, {code}")
    elif locale == "uk":
        lines += [city, code]
    else:
        lines.append(f"{code} {city}")
    lines.append(loc.country)
    return Address(lines=lines)


def _description(rng: random.Random, loc: _Locale, long: bool) -> str:
    text = rng.choice(loc.products).format(
        m=rng.choice((6, 8, 10, 12, 16)), l=rng.choice((20, 30, 40, 60, 80)), n=rng.choice((4, 5, 6, 8)),
        size=rng.choice(("S", "M", "L", "XL")), w=rng.choice((250, 360, 500)), d=rng.choice((8, 10, 12, 16, 25)),
        a=rng.choice((10, 16, 20, 32, 40, 60)), b=rng.choice((20, 30, 40)), c=rng.choice((15, 20, 30)),
        t=rng.choice((1, 2, 3)),
    )
    if long:
        text += ", " + ", ".join(rng.sample(loc.extras, rng.randint(2, 4)))
    elif rng.random() < 0.35:
        text += ", " + rng.choice(loc.extras)
    return text


def _part(rng: random.Random, key: ItemKey) -> str:
    if key == "buyer_part":
        return _shape(rng, rng.choice(("MAT-{d6}", "{d4}-{d4}-{d2}", "C{d5}", "100{d5}")))
    prefix = rng.choice(("HX", "SKF", "GL", "CT", "PW", "LB", "AC"))
    return _shape(rng, rng.choice((prefix + "-{d4}-{d2}", prefix + "{d5}", "V-{d5}", "ART-{d5}")))


def _lines(rng: random.Random, lay: Layout | None, loc: _Locale, key: ItemKey) -> list[Line]:
    lo, hi = lay.lines_range if lay else (1, 12)
    count = rng.randint(lo, hi)
    step = lay.line_step if lay else 1
    long_share = lay.long_description_share if lay else 0.3
    out = []
    for i in range(1, count + 1):
        measured = rng.random() < 0.2
        if measured and rng.random() < 0.6:
            qty = Decimal(rng.randint(1, 60)) + Decimal("0.5")
        else:
            qty = Decimal(rng.choice((1, 2, 4, 5, 6, 10, 12, 20, 24, 25, 50, 100, 150, 200, 250, 500))
                          if rng.random() < 0.85 else rng.choice((1000, 1200, 2500, 5000)))
        r = rng.random() if qty < 1000 else 1.0
        if r < 0.12:
            cents = rng.randint(1000, 6000) * 100 + rng.randint(0, 99)
        elif r < 0.45:
            cents = rng.randint(1000, 90000)
        else:
            cents = rng.randint(5, 999)
        if qty != qty.to_integral_value():
            cents -= cents % 2  # x.5 * even cents: an exact line amount
            cents = max(cents, 2)
        price = Decimal(cents) / 100
        out.append(Line(
            line_number=str(i * step), quantity=qty, uom=rng.choice(UOMS_MEASURED if measured else UOMS),
            unit_price=price, description=_description(rng, loc, rng.random() < long_share),
            item_ids={key: _part(rng, key)},
        ))
    return out


def _money_totals(rng: random.Random, lay: Layout | None, lines: Sequence[Line]) -> Totals:
    subtotal = sum((_line_amount(ln) for ln in lines), Decimal("0.00"))
    tax = freight = None
    if lay is not None and lay.tax_rate is not None:
        if lay.freight:
            freight = Decimal(rng.choice((2500, 4500, 7950, 12000, 18575))) / 100
        tax = ((subtotal + (freight or 0)) * lay.tax_rate).quantize(CENT, rounding=ROUND_HALF_UP)
    amount = subtotal + (tax or 0) + (freight or 0)
    return Totals(amount=amount.quantize(CENT), tax=tax, freight=freight)


def _line_amount(line: Line) -> Decimal:
    assert line.quantity is not None and line.unit_price is not None
    return (line.quantity * line.unit_price).quantize(CENT, rounding=ROUND_HALF_UP)


def _rng(kind: str, seed: int, layout: str | None) -> random.Random:
    # A string seed is hashed with SHA-512 by `random`, so it is stable across runs and processes.
    return random.Random(f"{kind}:{seed}:{layout or ''}")


def make_order(seed: int, layout: str | None = None) -> Document:
    """A purchase order as a customer would send it; `layout` tailors locale, line count and totals."""
    lay = LAYOUTS[layout] if layout else None
    if lay is not None and lay.kind != "order":
        raise ValueError(f"{layout} is an invoice layout")
    locale = lay.locale if lay else "us"
    loc = _LOCALES[locale]
    rng = _rng("order", seed, layout)
    number = _shape(rng, rng.choice(loc.po_shapes))
    date = dt.date(2026, 1, 1) + dt.timedelta(days=rng.randint(0, 364))
    buyer = rng.choice(loc.buyers)
    parties = [Party(role="buyer", name=buyer, address=_address(rng, loc, locale))]
    parties.append(Party(role="seller", name=rng.choice(loc.vendors), address=_address(rng, loc, locale)))
    ship_name = buyer if rng.random() < 0.7 else rng.choice([b for b in loc.buyers if b != buyer])
    parties.append(Party(role="ship_to", name=ship_name, address=_address(rng, loc, locale, rng.choice(loc.sites))))
    parties.append(Party(role="bill_to", name=buyer, address=_address(rng, loc, locale, loc.ap)))
    key: ItemKey = lay.item_key if lay else "buyer_part"
    lines = _lines(rng, lay, loc, key)
    for ln in lines:
        ln.po_number = number
    return Document(
        kind="order", number=number, po_number=number, date=date, currency=loc.currency, parties=parties,
        lines=lines, totals=_money_totals(rng, lay, lines),
        dates={"delivery_requested": date + dt.timedelta(days=rng.randint(7, 45))},
        source=Source(format="pdf"),
    )


def make_invoice(seed: int, layout: str | None = None) -> Document:
    """A supplier's invoice against one of our POs (number = invoice number, po_number = the PO)."""
    lay = LAYOUTS[layout] if layout else None
    if lay is not None and lay.kind != "invoice":
        raise ValueError(f"{layout} is an order layout")
    locale = lay.locale if lay else "us"
    loc = _LOCALES[locale]
    rng = _rng("invoice", seed, layout)
    number = _shape(rng, rng.choice(loc.invoice_shapes))
    po = _shape(rng, rng.choice(loc.po_shapes))
    date = dt.date(2026, 1, 1) + dt.timedelta(days=rng.randint(0, 364))
    customer = rng.choice(loc.buyers)
    parties = [
        Party(role="seller", name=rng.choice(loc.vendors), address=_address(rng, loc, locale)),
        Party(role="bill_to", name=customer, address=_address(rng, loc, locale, loc.ap)),
        Party(role="ship_to", name=customer, address=_address(rng, loc, locale, rng.choice(loc.sites))),
    ]
    lines = _lines(rng, lay, loc, lay.item_key if lay else "vendor_part")
    for ln in lines:
        ln.po_number = po
    return Document(
        kind="invoice", number=number, po_number=po, date=date, currency=loc.currency, parties=parties, lines=lines,
        totals=_money_totals(rng, lay, lines), source=Source(format="pdf"),
    )


def make_document(layout: str, seed: int) -> Document:
    return make_order(seed, layout) if LAYOUTS[layout].kind == "order" else make_invoice(seed, layout)


def expected(doc: Document, layout: str | None = None) -> Document:
    """The canonical document the extractor should produce from `render(layout, doc)`.

    A PDF carries no envelope: source is {format: pdf}, sender/receiver/purpose stay empty. Parties
    keep the address lines as printed (no city/postal split is expected). With `layout`, whatever that
    layout does not print is dropped (the vendor block, the delivery date, a tax/freight row).
    """
    out = doc.model_copy(deep=True)
    out.source = Source(format="pdf", channel=None)
    out.sender = out.receiver = None
    out.purpose = None
    out.references = {}
    out.totals = Totals(amount=doc.totals.amount, tax=doc.totals.tax, freight=doc.totals.freight)
    for ln in out.lines:
        ln.po_number = out.po_number
    if layout is not None:
        lay = LAYOUTS[layout]
        printed = {"buyer", "ship_to", "bill_to"} if lay.kind == "order" else {"seller", "bill_to", "ship_to"}
        if lay.kind == "order" and lay.vendor_block:
            printed.add("seller")
        out.parties = [p for p in out.parties if p.role in printed]
        if "delivery" not in lay.labels:
            out.dates.pop("delivery_requested", None)
        if "tax" not in lay.totals_labels:
            out.totals.tax = None
        if "freight" not in lay.totals_labels:
            out.totals.freight = None
    return out


# --------------------------------------------------------------------------------------------------
# Rendering

PAGE_W, PAGE_H, MARGIN = 210.0, 297.0, 15.0
_FIXED_DATE = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


class _PDF(FPDF):
    """FPDF with a footer callback (fpdf2 draws footers from an overridable method)."""

    footer_fn: Callable[[_PDF], None] | None = None

    def footer(self) -> None:
        if self.footer_fn is not None:
            self.footer_fn(self)


def _find_font(filename: str) -> Path | None:
    for base in FONT_DIRS:
        if base.is_dir():
            hit = next(base.rglob(filename), None)
            if hit is not None:
                return hit
    return None


class _Renderer:
    """Draws one document in one layout; coordinates in mm from the top-left corner."""

    def __init__(self, lay: Layout, doc: Document) -> None:
        self.lay, self.doc = lay, doc
        self.pdf = _PDF(unit="mm", format="A4")
        self.pdf.set_creation_date(_FIXED_DATE)
        self.pdf.set_creator("edigw tests.pdf_factory")
        self.pdf.set_auto_page_break(False)
        self.pdf.set_margins(MARGIN, MARGIN, MARGIN)
        self.pdf.alias_nb_pages()
        self.family = self._load_font()
        self.size = lay.font_size
        self.lh = lay.font_size * 0.42  # line height in mm (1.2 x the font size)
        self.bottom = PAGE_H - MARGIN - (14 if lay.footer else 0)
        if lay.footer:
            self.pdf.footer_fn = self._footer

    # -- helpers
    def _load_font(self) -> str:
        name = self.lay.font
        if name in CORE_FONTS:
            return name
        files = TTF_FONTS.get(name)
        regular = _find_font(files[0]) if files else None
        bold = _find_font(files[1]) if files else None
        if regular is None or bold is None:
            return "helvetica"
        self.pdf.add_font(name, "", str(regular))
        self.pdf.add_font(name, "B", str(bold))
        return name

    def t(self, text: str) -> str:
        return text.upper() if self.lay.upper else text

    def font(self, style: str = "", size: float | None = None) -> None:
        self.pdf.set_font(self.family, style, size or self.size)

    def text(self, x: float, y: float, text: str, *, w: float = 0, style: str = "", size: float | None = None,
             align: Align = "L") -> float:
        """One line of text with its top at y; returns the y below it."""
        self.font(style, size)
        h = (size or self.size) * 0.42
        self.pdf.set_xy(x, y)
        if w == 0:
            w = self.pdf.get_string_width(self.t(text)) + 2 * self.pdf.c_margin + 0.5
        self.pdf.cell(w, h, self.t(text), align=align)
        return y + h

    def wrap(self, text: str, w: float, style: str = "") -> list[str]:
        self.font(style)
        lines = self.pdf.multi_cell(w, self.lh, self.t(text), dry_run=True, output="LINES")
        assert isinstance(lines, list)
        return [str(s) for s in lines] or [""]

    def label(self, key: str) -> str:
        return self.lay.labels[key]

    def amount(self, value: Decimal) -> str:
        return format_amount(self.lay, value)

    # -- blocks
    def issuer(self) -> Party | None:
        return self.doc.party("buyer" if self.lay.kind == "order" else "seller")

    def letterhead(self, y: float) -> float:
        party = self.issuer()
        if party is None or party.name is None:
            return y
        size = self.size + 5
        self.font("B", size)
        while self.pdf.get_string_width(self.t(party.name)) > 98 and size > self.size:
            size -= 0.5
            self.font("B", size)
        y = self.text(MARGIN, y, party.name, style="B", size=size)
        lines = party.address.lines if party.address else []
        return self.text(MARGIN, y + 1, "  -  ".join(lines), size=self.size - 1) + 2

    def party_block(self, x: float, y: float, w: float, role: str, label_key: str) -> float:
        party = self.doc.party(role)
        if party is None:
            return y
        y = self.text(x, y, self.label(label_key), w=w, style="B")
        if party.name:
            y = self.text(x, y + 0.5, party.name, w=w)
        for line in party.address.lines if party.address else []:
            y = self.text(x, y, line, w=w)
        return y

    def header_fields(self) -> list[tuple[str, str]]:
        d, lay = self.doc, self.lay
        fields = [(self.label("number"), d.number or "")]
        if d.date:
            fields.append((self.label("date"), format_date(lay, d.date)))
        if lay.kind == "invoice" and d.po_number:
            fields.append((self.label("po_ref"), d.po_number))
        if "delivery" in lay.labels and "delivery_requested" in d.dates:
            fields.append((self.label("delivery"), format_date(lay, d.dates["delivery_requested"])))
        if lay.currency_in == "label" and d.currency and "currency" in lay.labels:
            fields.append((self.label("currency"), d.currency))
        return fields

    def parties(self, y: float) -> float:
        lay = self.lay
        blocks: list[tuple[str, str]] = []
        if lay.kind == "order":
            if lay.vendor_block:
                blocks.append(("seller", "vendor"))
            blocks += [("ship_to", "ship_to"), ("bill_to", "bill_to")]
        else:
            blocks += [("bill_to", "bill_to"), ("ship_to", "ship_to")]
        if lay.party_style == "stacked":
            bottom = y
            for i, (role, key) in enumerate(blocks):
                x = MARGIN if i % 2 == 0 else 110
                if i % 2 == 0 and i:
                    y = bottom + 4
                bottom = max(bottom, self.party_block(x, y, 85, role, key))
            return bottom + 6
        w = 180 / max(len(blocks), 2)
        return max(self.party_block(MARGIN + i * w, y, w - 3, role, key) for i, (role, key) in enumerate(blocks)) + 6

    def head_left(self) -> float:
        """Letterhead left, title and `Label: value` rows right, then the address blocks."""
        y = self.letterhead(MARGIN)
        self.text(120, MARGIN, self.lay.title, style="B", size=self.size + 7)
        fy = MARGIN + 12
        for lab, val in self.header_fields():
            self.text(120, fy, lab, w=38, style="B")
            fy = self.text(158, fy, val, w=37) + 1
        return self.parties(max(y, fy) + 6)

    def head_above(self) -> float:
        """A row of boxes, each with a small label above its value."""
        lay = self.lay
        y = MARGIN
        if lay.letterhead:
            y = self.letterhead(y)
        else:
            buyer = self.doc.party("buyer")
            if buyer is not None and "buyer" in lay.labels:
                y = self.party_block(MARGIN, y, 90, "buyer", "buyer") + 2
        self.text(120, MARGIN, lay.title, style="B", size=self.size + 7)
        y += 4
        fields = self.header_fields()
        w = 180 / len(fields)
        h = self.lh * 2 + 4
        for i, (lab, val) in enumerate(fields):
            x = MARGIN + i * w
            if lay.header_fill is not None:
                self.pdf.set_fill_color(min(lay.header_fill + 20, 245))
                self.pdf.rect(x, y, w - 2, h, style="DF")
            else:
                self.pdf.rect(x, y, w - 2, h)
            self.text(x + 0.5, y + 1, lab, w=w - 3, size=self.size - 1.5)
            self.text(x + 0.5, y + 1.5 + self.lh, val, w=w - 3, style="B")
        return self.parties(y + h + 7)

    def head_box(self) -> float:
        """The number only in a framed box at the top right, label above value."""
        y = self.letterhead(MARGIN)
        bx, by, bw = 128.0, MARGIN - 3, 67.0
        fields = self.header_fields()
        bh = 11 + len(fields) * (2 * self.lh + 2)
        self.pdf.set_line_width(0.4)
        self.pdf.rect(bx, by, bw, bh)
        self.pdf.set_line_width(0.2)
        fy = self.text(bx, by + 2, self.lay.title, w=bw, style="B", size=self.size + 4, align="C") + 2
        for lab, val in fields:
            fy = self.text(bx + 3, fy, lab, w=bw - 6, size=self.size - 1)
            fy = self.text(bx + 3, fy, val, w=bw - 6, style="B", size=self.size + 1) + 1.5
        return self.parties(max(y, by + bh) + 6)

    def footer_text(self) -> tuple[str, str]:
        party = self.issuer()
        name = party.name if party and party.name else ""
        addr = ", ".join(party.address.lines) if party and party.address else ""
        if self.lay.locale == "de":
            extra = "Amtsgericht Stuttgart HRB 12345 - USt-IdNr. DE123456789 - IBAN DE89 3704 0044 0532 0130 00"
        else:
            extra = "Tel. +1 510 555 0199 - accounts@example.com - Tax ID 94-1234567"
        return f"{name} - {addr}", extra

    def _footer(self, pdf: _PDF) -> None:
        y = PAGE_H - MARGIN - 10
        pdf.set_draw_color(120)
        pdf.line(MARGIN, y, PAGE_W - MARGIN, y)
        pdf.set_draw_color(0)
        first, second = self.footer_text()
        self.text(MARGIN, y + 1, first, w=140, size=self.size - 2)
        self.text(MARGIN, y + 1 + (self.size - 2) * 0.42, second, w=140, size=self.size - 2)
        page = self.lay.page_label.format(p=pdf.page_no(), nb="{nb}")
        self.text(155, y + 1, page, w=40, size=self.size - 1, align="R")

    # -- table
    def cell_text(self, role: str, line: Line) -> str:
        if role == "line_number":
            return line.line_number or ""
        if role == "item":
            return line.item_ids.get(self.lay.item_key, "")
        if role == "description":
            return line.description or ""
        if role == "quantity":
            return format_quantity(self.lay, line.quantity) if line.quantity is not None else ""
        if role == "uom":
            return line.uom or ""
        if role == "unit_price":
            return self.amount(line.unit_price) if line.unit_price is not None else ""
        if role == "amount":
            return self.amount(_line_amount(line))
        raise ValueError(role)

    def header_row(self, y: float) -> float:
        lay = self.lay
        wrapped = [self.wrap(self.header_text(c), c.width, "B") for c in lay.columns]
        h = max(len(w) for w in wrapped) * self.lh + 3
        if lay.header_fill is not None:
            self.pdf.set_fill_color(lay.header_fill)
            self.pdf.rect(MARGIN, y, 180, h, style="F")
        x = MARGIN
        for col, lines in zip(lay.columns, wrapped, strict=True):
            if lay.rules == "grid":
                self.pdf.rect(x, y, col.width, h)
            for i, txt in enumerate(lines):
                self.text(x, y + 1.5 + i * self.lh, txt, w=col.width, style="B", align=col.align)
            x += col.width
        if lay.rules in ("horizontal", "none"):
            self.pdf.line(MARGIN, y + h, MARGIN + 180, y + h)
        elif lay.rules == "dashed":
            self.dashed(y + h)
        return y + h

    def header_text(self, col: Column) -> str:
        if self.lay.currency_in == "header" and col.role in ("unit_price", "amount") and self.doc.currency:
            return f"{col.header} ({self.doc.currency})"
        return col.header

    def dashed(self, y: float) -> None:
        self.pdf.set_dash_pattern(dash=1, gap=0.8)
        self.pdf.line(MARGIN, y, MARGIN + 180, y)
        self.pdf.set_dash_pattern()

    def new_page(self) -> float:
        self.pdf.add_page()
        y = MARGIN
        if self.lay.continued:
            y = self.text(MARGIN, y, self.lay.continued.format(number=self.doc.number), style="B") + 3
        return y

    def table(self, y: float) -> float:
        lay = self.lay
        y = self.header_row(y)
        for n, line in enumerate(self.doc.lines):
            cells = [self.wrap(self.cell_text(c.role, line), c.width) for c in lay.columns]
            h = max(len(c) for c in cells) * self.lh + 3
            if y + h > self.bottom:
                y = self.header_row(self.new_page())
            if lay.zebra and n % 2 == 1:
                self.pdf.set_fill_color(235)
                self.pdf.rect(MARGIN, y, 180, h, style="F")
            x = MARGIN
            for col, lines in zip(lay.columns, cells, strict=True):
                if lay.rules == "grid":
                    self.pdf.rect(x, y, col.width, h)
                for i, txt in enumerate(lines):
                    self.text(x, y + 1.5 + i * self.lh, txt, w=col.width, align=col.align)
                x += col.width
            y += h
            if lay.rules == "horizontal":
                self.pdf.set_draw_color(150)
                self.pdf.line(MARGIN, y, MARGIN + 180, y)
                self.pdf.set_draw_color(0)
        if lay.rules == "dashed":
            self.dashed(y)
        return y

    def totals(self, y: float) -> float:
        lay, d = self.lay, self.doc
        labels = lay.totals_labels
        rows: list[tuple[str, Decimal]] = []
        subtotal = sum((_line_amount(ln) for ln in d.lines), Decimal("0.00"))
        if "subtotal" in labels:
            rows.append((labels["subtotal"], subtotal))
        if "tax" in labels and d.totals.tax is not None:
            if "freight" in labels and d.totals.freight is not None:
                rows.append((labels["freight"], d.totals.freight))
            rows.append((labels["tax"], d.totals.tax))
        total_label = labels.get("total", "Total")
        if lay.currency_in == "total" and d.currency:
            total_label = f"{total_label} {d.currency}"
        rows.append((total_label, d.totals.amount if d.totals.amount is not None else subtotal))
        need = len(rows) * (self.lh + 2) + 6
        if y + need > self.bottom:
            y = self.new_page()
        y += 3
        for i, (lab, val) in enumerate(rows):
            last = i == len(rows) - 1
            if last and len(rows) > 1:
                self.pdf.line(120, y, 195, y)
                y += 0.8
            style = "B" if last else ""
            self.text(120, y, lab, w=45, style=style)
            y = self.text(160, y, self.amount(val), w=35, style=style, align="R") + 1.5
        return y + 4

    def notes(self, y: float) -> float:
        lay = self.lay
        notes = list(lay.notes)
        if lay.currency_in == "note" and self.doc.currency:
            notes.insert(0, f"All prices in {self.doc.currency}.")
        for note in notes:
            lines = self.wrap(note, 180)
            if y + len(lines) * self.lh > self.bottom:
                y = self.new_page()
            for txt in lines:
                y = self.text(MARGIN, y, txt, w=180)
            y += 1.5
        return y

    def render(self) -> bytes:
        self.pdf.add_page()
        style = self.lay.header_style
        y = self.head_left() if style == "left" else self.head_above() if style == "above" else self.head_box()
        y = self.table(y)
        y = self.totals(y)
        self.notes(y)
        return bytes(self.pdf.output())


def render(layout: str, doc: Document) -> bytes:
    """The document printed to a typed PDF in `layout`."""
    return _Renderer(LAYOUTS[layout], doc).render()


# --------------------------------------------------------------------------------------------------
# Scanning

def _scan_pages(pdf: bytes, seed: int, dpi: int) -> list[object]:
    import numpy as np
    import pypdfium2 as pdfium
    from PIL import Image, ImageFilter

    rng = random.Random(f"scan:{seed}")
    nrng = np.random.default_rng(rng.randrange(2**32))
    out: list[object] = []
    document = pdfium.PdfDocument(pdf)
    try:
        for page in document:
            bitmap = page.render(scale=dpi / 72, grayscale=True)
            img = bitmap.to_pil().convert("L")
            page.close()
            # paper feed: a small skew and offset
            angle = rng.uniform(-1.5, 1.5)
            img = img.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=255,
                             translate=(rng.randint(-12, 12), rng.randint(-12, 12)))
            # optics: slight blur
            img = img.filter(ImageFilter.GaussianBlur(radius=rng.uniform(0.5, 0.9)))
            arr = np.asarray(img, dtype=np.float32)
            # sensor: contrast loss (grey paper, dark-grey ink), uneven illumination, noise, dust
            ink, paper = rng.uniform(25, 55), rng.uniform(225, 245)
            arr = ink + arr * (paper - ink) / 255.0
            w = arr.shape[1]
            arr += np.linspace(0, rng.uniform(-10, 10), w, dtype=np.float32)[None, :]
            arr += nrng.normal(0, rng.uniform(2.5, 5), arr.shape).astype(np.float32)
            specks = nrng.random(arr.shape) < 0.00015
            arr[specks] = ink
            img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), mode="L")
            out.append(img)
    finally:
        document.close()
    return out


def scan(pdf: bytes, seed: int, dpi: int = 300, *, quality: int = 75, bilevel: bool = False) -> bytes:
    """`pdf` as an office scanner returns it: grey JPEG page images (or 1-bit CCITT G4 with `bilevel`,
    as a fax-mode scanner does), no text layer, `dpi` resolution."""
    from PIL import Image

    pages = [p for p in _scan_pages(pdf, seed, dpi) if isinstance(p, Image.Image)]
    options: dict[str, object] = {"quality": quality}
    if bilevel:
        pages = [p.point(lambda v: 255 if v > 140 else 0).convert("1", dither=Image.Dither.NONE) for p in pages]
        options = {}
    buf = io.BytesIO()
    stamp = time.strptime("2026-01-01", "%Y-%m-%d")  # Pillow would stamp the current time: not reproducible
    pages[0].save(buf, "PDF", resolution=float(dpi), save_all=True, append_images=pages[1:], creationDate=stamp,
                  modDate=stamp, title="scan", producer="tests.pdf_factory", **options)
    return buf.getvalue()


def scan_image(pdf: bytes, seed: int, dpi: int = 300, page: int = 1) -> bytes:
    """One scanned page (1-based) as PNG, as a phone or scanner sends a single image."""
    from PIL import Image

    pages = [p for p in _scan_pages(pdf, seed, dpi) if isinstance(p, Image.Image)]
    buf = io.BytesIO()
    pages[page - 1].save(buf, "PNG", dpi=(dpi, dpi))
    return buf.getvalue()


# --------------------------------------------------------------------------------------------------
# Cases and samples

@dataclass(frozen=True)
class Case:
    layout: str
    seed: int
    scanned: bool
    document: Document  # what was printed
    expected: Document  # what extraction should give
    pdf: bytes


def make_case(layout: str, seed: int, scanned: bool = False) -> Case:
    doc = make_document(layout, seed)
    pdf = render(layout, doc)
    if scanned:
        pdf = scan(pdf, seed)
    return Case(layout, seed, scanned, doc, expected(doc, layout), pdf)


def layout_table() -> str:
    """One line per layout: name, kind, item id key, what makes it different."""
    return "\n".join(f"{lay.name:18} {lay.kind:7} {lay.item_key:11} {lay.comment}" for lay in LAYOUTS.values())


SAMPLES: tuple[tuple[str, int, bool], ...] = (
    ("en_classic_ruled", 1, False),
    ("de_ruled_dejavu", 2, False),
    ("en_multipage", 3, False),
    ("inv_de_borderless", 4, False),
    ("en_box_topright", 5, True),
    ("de_courier_above", 6, True),
)


def write_samples(directory: Path) -> list[Path]:
    """A few typed and scanned samples with their expected canonical JSON (kept well under 1 MB)."""
    import json

    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for layout, seed, scanned in SAMPLES:
        case = make_case(layout, seed)
        pdf = scan(case.pdf, seed, quality=35) if scanned else case.pdf
        stem = f"{layout}_{'scanned' if scanned else 'typed'}"
        (directory / f"{stem}.pdf").write_bytes(pdf)
        (directory / f"{stem}.json").write_text(json.dumps([case.expected.to_json_dict()], indent=2,
                                                           ensure_ascii=False) + "\n", encoding="utf-8")
        written += [directory / f"{stem}.pdf", directory / f"{stem}.json"]
    return written


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.pdf_factory", description=__doc__.splitlines()[0])
    ap.add_argument("--write-samples", metavar="DIR", type=Path, help="write sample PDFs + expected JSON")
    ap.add_argument("--list", action="store_true", help="list the layouts")
    ap.add_argument("--render", nargs=2, metavar=("LAYOUT", "SEED"), help="write one PDF to stdout")
    ap.add_argument("--scanned", action="store_true", help="with --render: the scanned version")
    args = ap.parse_args(argv)
    if args.list:
        print(layout_table())
    if args.write_samples:
        for path in write_samples(args.write_samples):
            print(f"{path}  {path.stat().st_size:,} bytes")
    if args.render:
        case = make_case(args.render[0], int(args.render[1]), scanned=args.scanned)
        sys.stdout.buffer.write(case.pdf)
    if not (args.list or args.write_samples or args.render):
        ap.print_help()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
