"""Embedded order and invoice XML -> canonical documents.

Covers the formats a PDF may carry as its machine-readable twin:
- CII invoices: Factur-X / ZUGFeRD 2.x / XRechnung-CII (rsm:CrossIndustryInvoice) and ZUGFeRD 1.0
  (rsm:CrossIndustryDocument, older element names, read through the same paths with alternatives);
- Order-X (rsm:SCRDMCCBDACIOMessageStructure): orders, changes and order responses;
- UBL 2.x Order, Invoice and CreditNote.

The XML is parsed with a hardened parser (no entity resolution, no DTD loading, no network, no huge
trees) and a document that declares a DTD is refused outright: orders and invoices never need one,
and entity tricks (billion laughs, external entities) live there. Elements are matched by local name
so the CII schema versions (ram ...:100, :128, ZUGFeRD 1.0's :12) read alike; an issue's `location`
is the XML path with the document's own prefixes, e.g. /rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:ID.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree

from mappings.canonical import Address, Document, DocumentKind, Line, Party, Source, Totals
from parsers.issues import Issue, error, warning

MAX_XML_BYTES = 10 * 1024 * 1024
_El = Any  # lxml's _Element (its stubs are not installed)

# UNTDID 1001 document name codes -> canonical purpose (invoices).
CII_INVOICE_PURPOSES = {"380": "original", "381": "credit", "383": "debit", "384": "replace", "389": "original",
                        "751": "original", "386": "prepayment", "261": "credit", "262": "credit"}
# UNTDID 1225 message function codes (Order-X PurposeCode) -> canonical purpose.
ORDER_PURPOSES = {"9": "original", "1": "cancel", "3": "cancel", "4": "change", "5": "replace", "7": "duplicate",
                  "31": "information_copy", "43": "original"}
# ISO 6523 scheme identifiers often seen on party and item IDs.
SCHEMES = {"0088": "gln", "0060": "duns", "0160": "gtin", "GTIN": "gtin", "GLN": "gln", "DUNS": "duns",
           "0204": "leitweg_id", "9930": "vat", "VA": "vat", "FC": "tax_number"}


class _Reader:
    """Finds values by local-name paths and records an issue, with the XML path, for each miss."""

    def __init__(self, root: _El) -> None:
        self.root = root
        self.issues: list[Issue] = []

    @staticmethod
    def name(el: _El) -> str:
        local = etree.QName(el).localname
        return f"{el.prefix}:{local}" if el.prefix else local

    def path(self, el: _El) -> str:
        parts = [self.name(a) for a in reversed(list(el.iterancestors()))] + [self.name(el)]
        return "/" + "/".join(parts)

    @staticmethod
    def _children(el: _El, step: str) -> list[_El]:
        wanted = {alt.split(":")[-1] for alt in step.split("|")}
        return [c for c in el if isinstance(c.tag, str) and etree.QName(c).localname in wanted]

    def find(self, el: _El | None, spec: str) -> _El | None:
        """The first element at `spec` ("ram:A/ram:B|ram:B2") under `el`, or None."""
        if el is None:
            return None
        if not spec:
            return el
        for step in spec.split("/"):
            found = self._children(el, step)
            if not found:
                return None
            el = found[0]
        return el

    def findall(self, el: _El | None, spec: str) -> list[_El]:
        if el is None:
            return []
        *head, last = spec.split("/")
        parent = self.find(el, "/".join(head)) if head else el
        return self._children(parent, last) if parent is not None else []

    def missing_at(self, el: _El | None, spec: str) -> str:
        """Where a missing value should have been: the deepest element found, then the rest of `spec`."""
        if el is None:
            return spec
        steps = spec.split("/")
        for i, step in enumerate(steps):
            found = self._children(el, step)
            if not found:
                return self.path(el) + "/" + "/".join(s.split("|")[0] for s in steps[i:])
            el = found[0]
        return self.path(el)

    def text(self, el: _El | None, spec: str, *, required: str = "", severity: str = "error") -> str | None:
        """The trimmed text at `spec`; if `required` names the field, a missing value is an issue."""
        found = self.find(el, spec) if spec else el
        value = (found.text or "").strip() if found is not None else ""
        if value:
            return value
        if required:
            where = self.missing_at(el, spec)
            make = error if severity == "error" else warning
            self.issues.append(make("XML_MISSING", f"The embedded XML has no {required} (expected at {where}).",
                                    where))
        return None

    def attr(self, el: _El | None, spec: str, attribute: str) -> str | None:
        found = self.find(el, spec) if spec else el
        value = found.get(attribute) if found is not None else None
        return value.strip() if value else None

    def amount(self, el: _El | None, spec: str, what: str, *, required: bool = False) -> Decimal | None:
        found = self.find(el, spec) if el is not None else None
        raw = self.text(el, spec, required=what if required else "")
        if raw is None:
            return None
        try:
            value = Decimal(raw)
            if not value.is_finite():
                raise InvalidOperation
            return value
        except InvalidOperation:
            where = self.path(found) if found is not None else spec
            self.issues.append(error("XML_BAD_VALUE", f"The {what} {raw!r} in the embedded XML is not a number "
                                     f"(at {where}).", where))
            return None

    def date(self, el: _El | None, spec: str, what: str, *, required: bool = False) -> dt.date | None:
        """CII dates (udt:DateTimeString format 102: YYYYMMDD) and UBL dates (YYYY-MM-DD)."""
        found = self.find(el, spec) if el is not None else None
        raw = self.text(el, spec, required=what if required else "")
        if raw is None:
            return None
        digits = re.sub(r"\D", "", raw)
        try:
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}.*", raw):
                return dt.date.fromisoformat(raw[:10])
            if len(digits) >= 8:
                return dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
        except ValueError:
            pass
        where = self.path(found) if found is not None else spec
        self.issues.append(error("XML_BAD_VALUE", f"The {what} {raw!r} in the embedded XML is not a date "
                                 f"(at {where}).", where))
        return None


def _parse(xml: bytes) -> tuple[_El | None, list[Issue]]:
    if len(xml) > MAX_XML_BYTES:
        return None, [error("XML_TOO_LARGE", f"The embedded XML is {len(xml):,} bytes; at most "
                            f"{MAX_XML_BYTES:,} are read.", "embedded XML")]
    prolog = xml[:65536]
    if prolog.startswith((b"\xff\xfe", b"\xfe\xff")):
        prolog = prolog.decode("utf-16", "ignore").encode()
    if b"<!DOCTYPE" in prolog or b"<!ENTITY" in xml:
        return None, [error("XML_DTD_FORBIDDEN", "The embedded XML declares a DTD or entities. Orders and invoices "
                            "never need one, and entity declarations are how XML bombs and file-stealing "
                            "references work, so it was not read. Ask the sender to export it without a "
                            "DOCTYPE.", "embedded XML, DOCTYPE")]
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                             dtd_validation=False, remove_comments=True, remove_pis=True)
    try:
        root = etree.fromstring(xml, parser)
    except etree.XMLSyntaxError as exc:
        line = f"line {exc.lineno}" if getattr(exc, "lineno", None) else "embedded XML"
        return None, [error("XML_UNREADABLE", f"The embedded XML is not well-formed: {exc.msg}.", line)]
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        return None, [error("XML_DTD_FORBIDDEN", "The embedded XML declares a DTD; it was not read.",
                            "embedded XML, DOCTYPE")]
    return root, []


def map_embedded_xml(xml: bytes, flavor: str) -> tuple[Document | None, list[Issue]]:
    """The canonical document for an embedded XML (see the module docstring for what is covered)."""
    root, issues = _parse(xml)
    if root is None:
        return None, issues
    local = etree.QName(root).localname
    mapper: Callable[[_Reader, str], Document | None] | None = {
        "CrossIndustryInvoice": _map_cii,
        "CrossIndustryDocument": _map_cii,
        "SCRDMCCBDACIOMessageStructure": _map_cii,
        "Order": _map_ubl,
        "Invoice": _map_ubl,
        "CreditNote": _map_ubl,
    }.get(local)
    if mapper is None:
        return None, [error("XML_UNSUPPORTED", f"The embedded XML is a {local!r} document; the gateway reads "
                            "Factur-X/ZUGFeRD/XRechnung invoices, Order-X and UBL orders and invoices.",
                            "/" + _Reader.name(root))]
    reader = _Reader(root)
    doc = mapper(reader, flavor)
    return doc, issues + reader.issues


# --- CII (Factur-X, ZUGFeRD, XRechnung-CII, Order-X) ----------------------------------------------------

_DOC = "rsm:ExchangedDocument|rsm:HeaderExchangedDocument"
_TX = "rsm:SupplyChainTradeTransaction|rsm:SpecifiedSupplyChainTradeTransaction"
_AGREEMENT = "ram:ApplicableHeaderTradeAgreement|ram:ApplicableSupplyChainTradeAgreement"
_DELIVERY = "ram:ApplicableHeaderTradeDelivery|ram:ApplicableSupplyChainTradeDelivery"
_SETTLEMENT = "ram:ApplicableHeaderTradeSettlement|ram:ApplicableSupplyChainTradeSettlement"
_SUMMATION = "ram:SpecifiedTradeSettlementHeaderMonetarySummation|ram:SpecifiedTradeSettlementMonetarySummation"
_DATE = "udt:DateTimeString"
_LINE_DELIVERY = "ram:SpecifiedLineTradeDelivery|ram:SpecifiedSupplyChainTradeDelivery"


def _cii_party(r: _Reader, el: _El | None, role: str) -> Party | None:
    if el is None:
        return None
    ids: dict[str, str] = {}
    for id_el in r.findall(el, "ram:ID"):
        if id_el.text and id_el.text.strip():
            ids.setdefault(SCHEMES.get(id_el.get("schemeID", ""), "id"), id_el.text.strip())
    for id_el in r.findall(el, "ram:GlobalID"):
        scheme = id_el.get("schemeID", "")
        if id_el.text and id_el.text.strip():
            ids[SCHEMES.get(scheme, f"scheme_{scheme}" if scheme else "global_id")] = id_el.text.strip()
    for reg in r.findall(el, "ram:SpecifiedTaxRegistration"):
        value = r.text(reg, "ram:ID")
        if value:
            ids[SCHEMES.get(r.attr(reg, "ram:ID", "schemeID") or "VA", "tax_id")] = value
    legal = r.text(el, "ram:SpecifiedLegalOrganization/ram:ID")
    if legal:
        ids.setdefault("legal_id", legal)
    addr = r.find(el, "ram:PostalTradeAddress")
    address = None
    if addr is not None:
        lines = [v for v in (r.text(addr, s) for s in ("ram:LineOne", "ram:LineTwo", "ram:LineThree")) if v]
        address = Address(lines=lines, city=r.text(addr, "ram:CityName"), postal_code=r.text(addr, "ram:PostcodeCode"),
                          state=r.text(addr, "ram:CountrySubDivisionName"), country=r.text(addr, "ram:CountryID"))
    return Party(role=role, name=r.text(el, "ram:Name"), ids=ids, address=address)


def _map_cii(r: _Reader, flavor: str) -> Document | None:
    root = r.root
    is_order = etree.QName(root).localname == "SCRDMCCBDACIOMessageStructure"
    head = r.find(root, _DOC)
    tx = r.find(root, _TX)
    agreement = r.find(tx, _AGREEMENT)
    delivery = r.find(tx, _DELIVERY)
    settlement = r.find(tx, _SETTLEMENT)
    type_code = r.text(head, "ram:TypeCode") or ""
    kind: DocumentKind = "invoice"
    if is_order:
        kind = "order_response" if type_code == "231" else "order"
        purpose = ORDER_PURPOSES.get(r.text(head, "ram:PurposeCode") or "9", "original")
        if type_code == "230" and purpose == "original":
            purpose = "change"
    else:
        purpose = CII_INVOICE_PURPOSES.get(type_code, "original")
    number = r.text(root, f"{_DOC}/ram:ID", required="document number")
    date = r.date(head, f"ram:IssueDateTime/{_DATE}", "document date", required=True)
    po_ref = "ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID|ram:ID"
    po_number = r.text(agreement, po_ref)
    if kind == "order":
        po_number = number
    elif po_number is None and kind == "invoice":
        r.text(agreement, po_ref, required="purchase order number (BuyerOrderReferencedDocument)",
               severity="warning")
    currency = r.text(settlement, "ram:InvoiceCurrencyCode|ram:OrderCurrencyCode")
    parties = [p for p in (
        _cii_party(r, r.find(agreement, "ram:SellerTradeParty"), "seller"),
        _cii_party(r, r.find(agreement, "ram:BuyerTradeParty"), "buyer"),
        _cii_party(r, r.find(delivery, "ram:ShipToTradeParty"), "ship_to"),
        _cii_party(r, r.find(delivery, "ram:ShipFromTradeParty"), "ship_from"),
        _cii_party(r, r.find(settlement, "ram:InvoiceeTradeParty"), "bill_to"),
        _cii_party(r, r.find(settlement, "ram:PayeeTradeParty"), "remit_to"),
    ) if p is not None]
    references = {k: v for k, v in {
        "buyer_reference": r.text(agreement, "ram:BuyerReference"),
        "contract": r.text(agreement, "ram:ContractReferencedDocument/ram:IssuerAssignedID"),
        "seller_order": r.text(agreement, "ram:SellerOrderReferencedDocument/ram:IssuerAssignedID"),
        "ship_notice": r.text(delivery, "ram:DespatchAdviceReferencedDocument/ram:IssuerAssignedID"),
    }.items() if v}
    dates = {k: v for k, v in {
        "delivered": r.date(delivery, f"ram:ActualDeliverySupplyChainEvent/ram:OccurrenceDateTime/{_DATE}",
                            "delivery date"),
        "delivery_requested": r.date(delivery, "ram:RequestedDeliverySupplyChainEvent/ram:OccurrenceDateTime/"
                                     f"{_DATE}", "requested delivery date"),
        "due": r.date(settlement, f"ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime/{_DATE}", "due date"),
    }.items() if v}
    summation = r.find(settlement, _SUMMATION)
    tax = _cii_tax(r, summation, currency)
    lines = [_cii_line(r, item, is_order) for item in r.findall(tx, "ram:IncludedSupplyChainTradeLineItem")]
    if not lines:
        r.text(tx, "ram:IncludedSupplyChainTradeLineItem", required="line items")
    extra = {"line_total": r.amount(summation, "ram:LineTotalAmount", "line total"),
             "charges": r.amount(summation, "ram:ChargeTotalAmount", "charge total"),
             "allowances": r.amount(summation, "ram:AllowanceTotalAmount", "allowance total"),
             "due": r.amount(summation, "ram:DuePayableAmount", "amount due")}
    totals = Totals(amount=r.amount(summation, "ram:GrandTotalAmount", "grand total", required=kind == "invoice"),
                    tax=tax, line_count=len(lines), **{k: v for k, v in extra.items() if v is not None})
    for line in lines:  # as the X12 mappings do: a line belongs to the document's PO unless it names its own
        line.po_number = line.po_number or po_number
    return Document(kind=kind, number=number, date=date, po_number=po_number, purpose=purpose, currency=currency,
                    parties=parties, lines=lines, totals=totals, dates=dates, references=references,
                    source=Source(format="pdf", version=flavor, set=etree.QName(root).localname))


def _cii_tax(r: _Reader, summation: _El | None, currency: str | None) -> Decimal | None:
    """TaxTotalAmount: there may be two (invoice and accounting currency); take the invoice currency's."""
    candidates = r.findall(summation, "ram:TaxTotalAmount")
    if not candidates:
        return None
    chosen = next((c for c in candidates if currency and c.get("currencyID") == currency), candidates[0])
    return r.amount(chosen, "", "tax total")


def _cii_line(r: _Reader, item: _El, is_order: bool) -> Line:
    product = r.find(item, "ram:SpecifiedTradeProduct")
    agreement = r.find(item, "ram:SpecifiedLineTradeAgreement|ram:SpecifiedSupplyChainTradeAgreement")
    delivery = r.find(item, _LINE_DELIVERY)
    qty_spec = "ram:RequestedQuantity|ram:AgreedQuantity" if is_order else "ram:BilledQuantity"
    quantity = r.amount(item, f"{_LINE_DELIVERY}/{qty_spec}", "line quantity", required=True)
    uom = r.attr(delivery, qty_spec, "unitCode")
    price_el = r.find(agreement, "ram:NetPriceProductTradePrice")
    if price_el is None:
        price_el = r.find(agreement, "ram:GrossPriceProductTradePrice")
    unit_price = r.amount(price_el, "ram:ChargeAmount", "unit price") if price_el is not None else None
    basis = r.amount(price_el, "ram:BasisQuantity", "price basis quantity") if price_el is not None else None
    if unit_price is not None and basis not in (None, Decimal(0), Decimal(1)):
        assert basis is not None
        unit_price = (unit_price / basis).normalize()
    ids: dict[str, str] = {}
    for key, spec in (("vendor_part", "ram:SellerAssignedID"), ("buyer_part", "ram:BuyerAssignedID")):
        value = r.text(product, spec)
        if value:
            ids[key] = value
    for gid in r.findall(product, "ram:GlobalID"):
        if gid.text and gid.text.strip():
            ids[SCHEMES.get(gid.get("schemeID", ""), "global_id")] = gid.text.strip()
    name = r.text(product, "ram:Name")
    description = r.text(product, "ram:Description")
    text = name if not description or description == name else f"{name} - {description}" if name else description
    return Line(line_number=r.text(item, "ram:AssociatedDocumentLineDocument/ram:LineID"), quantity=quantity,
                uom=uom, unit_price=unit_price, description=text, item_ids=ids,
                po_number=r.text(agreement, "ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID"))


# --- UBL ------------------------------------------------------------------------------------------------

def _ubl_party(r: _Reader, el: _El | None, role: str) -> Party | None:
    if el is None:
        return None
    ids: dict[str, str] = {}
    endpoint = r.find(el, "cbc:EndpointID")
    if endpoint is not None and endpoint.text and endpoint.text.strip():
        ids[SCHEMES.get(endpoint.get("schemeID", ""), "endpoint")] = endpoint.text.strip()
    for ident in r.findall(el, "cac:PartyIdentification"):
        id_el = r.find(ident, "cbc:ID")
        if id_el is not None and id_el.text and id_el.text.strip():
            ids.setdefault(SCHEMES.get(id_el.get("schemeID", ""), "id"), id_el.text.strip())
    vat = r.text(el, "cac:PartyTaxScheme/cbc:CompanyID")
    if vat:
        ids["vat"] = vat
    legal = r.text(el, "cac:PartyLegalEntity/cbc:CompanyID")
    if legal:
        ids.setdefault("legal_id", legal)
    addr = r.find(el, "cac:PostalAddress")
    address = None
    if addr is not None:
        lines = [v for v in (r.text(addr, "cbc:StreetName"), r.text(addr, "cbc:AdditionalStreetName")) if v]
        lines += [v for v in (r.text(line, "cbc:Line") for line in r.findall(addr, "cac:AddressLine")) if v]
        address = Address(lines=lines, city=r.text(addr, "cbc:CityName"), postal_code=r.text(addr, "cbc:PostalZone"),
                          state=r.text(addr, "cbc:CountrySubentity"),
                          country=r.text(addr, "cac:Country/cbc:IdentificationCode"))
    name = r.text(el, "cac:PartyName/cbc:Name") or r.text(el, "cac:PartyLegalEntity/cbc:RegistrationName")
    return Party(role=role, name=name, ids=ids, address=address)


def _ubl_delivery_party(r: _Reader, delivery: _El | None) -> Party | None:
    if delivery is None:
        return None
    party = _ubl_party(r, r.find(delivery, "cac:DeliveryParty"), "ship_to")
    location = r.find(delivery, "cac:DeliveryLocation")
    if location is None:
        return party
    if party is None:
        party = Party(role="ship_to")
    loc_id = r.find(location, "cbc:ID")
    if loc_id is not None and loc_id.text and loc_id.text.strip():
        party.ids.setdefault(SCHEMES.get(loc_id.get("schemeID", ""), "location"), loc_id.text.strip())
    addr = r.find(location, "cac:Address")
    if addr is not None and party.address is None:
        lines = [v for v in (r.text(addr, "cbc:StreetName"), r.text(addr, "cbc:AdditionalStreetName")) if v]
        party.address = Address(lines=lines, city=r.text(addr, "cbc:CityName"),
                                postal_code=r.text(addr, "cbc:PostalZone"), state=r.text(addr, "cbc:CountrySubentity"),
                                country=r.text(addr, "cac:Country/cbc:IdentificationCode"))
    return party


def _map_ubl(r: _Reader, flavor: str) -> Document | None:
    root = r.root
    local = etree.QName(root).localname
    is_order = local == "Order"
    kind: DocumentKind = "order" if is_order else "invoice"
    number = r.text(root, "cbc:ID", required="document number")
    date = r.date(root, "cbc:IssueDate", "document date", required=True)
    type_code = r.text(root, "cbc:InvoiceTypeCode|cbc:CreditNoteTypeCode|cbc:OrderTypeCode") or ""
    if is_order:
        purpose = "original"
        po_number = number
        seller_path, buyer_path = "cac:SellerSupplierParty/cac:Party", "cac:BuyerCustomerParty/cac:Party"
    else:
        purpose = "credit" if local == "CreditNote" else CII_INVOICE_PURPOSES.get(type_code, "original")
        po_number = r.text(root, "cac:OrderReference/cbc:ID")
        if po_number is None:
            r.text(root, "cac:OrderReference/cbc:ID", required="purchase order number (OrderReference)",
                   severity="warning")
        seller_path, buyer_path = "cac:AccountingSupplierParty/cac:Party", "cac:AccountingCustomerParty/cac:Party"
    currency = r.text(root, "cbc:DocumentCurrencyCode")
    delivery = r.find(root, "cac:Delivery")
    parties = [p for p in (
        _ubl_party(r, r.find(root, seller_path), "seller"),
        _ubl_party(r, r.find(root, buyer_path), "buyer"),
        _ubl_delivery_party(r, delivery),
        _ubl_party(r, r.find(root, "cac:AccountingCustomerParty/cac:Party"), "bill_to") if is_order else None,
        _ubl_party(r, r.find(root, "cac:PayeeParty"), "remit_to"),
    ) if p is not None]
    dates = {k: v for k, v in {
        "delivery_requested": r.date(delivery, "cac:RequestedDeliveryPeriod/cbc:StartDate", "requested delivery date"),
        "delivered": r.date(delivery, "cbc:ActualDeliveryDate", "delivery date"),
        "due": r.date(root, "cbc:DueDate", "due date"),
    }.items() if v}
    references = {k: v for k, v in {
        "buyer_reference": r.text(root, "cbc:BuyerReference"),
        "contract": r.text(root, "cac:ContractDocumentReference/cbc:ID|cac:Contract/cbc:ID"),
        "ship_notice": r.text(root, "cac:DespatchDocumentReference/cbc:ID"),
        "sales_order": r.text(root, "cac:OrderReference/cbc:SalesOrderID"),
    }.items() if v}
    monetary = r.find(root, "cac:AnticipatedMonetaryTotal" if is_order else "cac:LegalMonetaryTotal")
    amount = r.amount(monetary, "cbc:TaxInclusiveAmount", "total")
    if amount is None:
        amount = r.amount(monetary, "cbc:PayableAmount", "total")
    if amount is None and not is_order:
        r.text(monetary if monetary is not None else root, "cbc:PayableAmount" if monetary is not None else
               "cac:LegalMonetaryTotal/cbc:PayableAmount", required="invoice total")
    line_spec = {"Order": "cac:OrderLine", "Invoice": "cac:InvoiceLine", "CreditNote": "cac:CreditNoteLine"}[local]
    lines = [_ubl_line(r, el, local) for el in r.findall(root, line_spec)]
    if not lines:
        r.text(root, line_spec, required="line items")
    line_total = r.amount(monetary, "cbc:LineExtensionAmount", "line total")
    extra = {"line_total": line_total} if line_total is not None else {}
    totals = Totals(amount=amount, tax=r.amount(root, "cac:TaxTotal/cbc:TaxAmount", "tax total"),
                    line_count=len(lines), **extra)
    for line in lines:  # as the X12 mappings do: a line belongs to the document's PO unless it names its own
        line.po_number = line.po_number or po_number
    return Document(kind=kind, number=number, date=date, po_number=po_number, purpose=purpose, currency=currency,
                    parties=parties, lines=lines, totals=totals, dates=dates, references=references,
                    source=Source(format="pdf", version=flavor, set=local))


def _ubl_line(r: _Reader, el: _El, local: str) -> Line:
    line = r.find(el, "cac:LineItem") if local == "Order" else el
    qty_spec = {"Order": "cbc:Quantity", "Invoice": "cbc:InvoicedQuantity", "CreditNote": "cbc:CreditedQuantity"}[local]
    quantity = r.amount(line, qty_spec, "line quantity", required=True)
    unit_price = r.amount(line, "cac:Price/cbc:PriceAmount", "unit price")
    basis = r.amount(line, "cac:Price/cbc:BaseQuantity", "price base quantity")
    if unit_price is not None and basis not in (None, Decimal(0), Decimal(1)):
        assert basis is not None
        unit_price = (unit_price / basis).normalize()
    item = r.find(line, "cac:Item")
    ids: dict[str, str] = {}
    for key, spec in (("buyer_part", "cac:BuyersItemIdentification/cbc:ID"),
                      ("vendor_part", "cac:SellersItemIdentification/cbc:ID"),
                      ("manufacturer_part", "cac:ManufacturersItemIdentification/cbc:ID")):
        value = r.text(item, spec)
        if value:
            ids[key] = value
    std = r.find(item, "cac:StandardItemIdentification/cbc:ID")
    if std is not None and std.text and std.text.strip():
        ids[SCHEMES.get(std.get("schemeID", ""), "gtin")] = std.text.strip()
    name, description = r.text(item, "cbc:Name"), r.text(item, "cbc:Description")
    text = name if not description or description == name else f"{name} - {description}" if name else description
    return Line(line_number=r.text(line, "cbc:ID"), quantity=quantity, uom=r.attr(line, qty_spec, "unitCode"),
                unit_price=unit_price, description=text, item_ids=ids,
                po_number=r.text(el, "cac:OrderLineReference/cac:OrderReference/cbc:ID"))
