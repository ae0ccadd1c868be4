"""Embedded Factur-X / Order-X / UBL XML: found in the PDF, mapped to canonical documents, hostile XML refused.

The samples in samples/pdf/embedded/ are hand-written XML files (XSD-valid for Factur-X EN16931 and
Order-X BASIC) embedded into small fpdf2 PDFs; `python -m tests.test_pdf_embedded` rebuilds the PDFs
and the canonical JSON each must produce.
"""

from __future__ import annotations

import io
import json
import time
from decimal import Decimal
from pathlib import Path

import facturx
import pypdf
import pytest
from fpdf import FPDF

from mappings.pdf.xml_map import map_embedded_xml
from parsers.pdf.embedded import embedded_files, find_embedded_xml, xml_flavor
from parsers.pdf.safety import PdfLimits, preflight

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "pdf" / "embedded"
# sample XML -> (how it is embedded, expected flavour)
SAMPLE_FLAVORS = {"factur-x-invoice": "factur-x", "order-x-order": "order-x", "ubl-order": "ubl-order",
                  "ubl-invoice": "ubl-invoice"}


def printed(title: str) -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=14)
    pdf.cell(0, 10, title)
    return bytes(pdf.output())


def with_attachment(name: str, data: bytes, base: bytes | None = None) -> bytes:
    writer = pypdf.PdfWriter(clone_from=io.BytesIO(base or printed(name)))
    writer.add_attachment(name, data)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def sample_pdf(stem: str) -> bytes:
    xml = (SAMPLES / f"{stem}.xml").read_bytes()
    base = printed(stem.replace("-", " ").upper())
    if stem == "factur-x-invoice":
        return bytes(facturx.generate_from_binary(base, xml, flavor="factur-x", level="en16931", check_xsd=True))
    if stem == "order-x-order":
        return bytes(facturx.generate_from_binary(base, xml, flavor="order-x", level="basic", check_xsd=True))
    return with_attachment(f"{stem}.xml", xml, base)


def build_samples() -> None:
    for stem, flavor in SAMPLE_FLAVORS.items():
        pdf = sample_pdf(stem)
        (SAMPLES / f"{stem}.pdf").write_bytes(pdf)
        doc, issues = map_embedded_xml((SAMPLES / f"{stem}.xml").read_bytes(), flavor)
        assert doc is not None and not issues, issues
        (SAMPLES / f"{stem}.json").write_text(doc.to_json(indent=2) + "\n", encoding="utf-8")


@pytest.mark.parametrize("stem", sorted(SAMPLE_FLAVORS))
def test_samples_map_to_their_json(stem: str) -> None:
    data = (SAMPLES / f"{stem}.pdf").read_bytes()
    assert preflight(data, PdfLimits()) == []
    found = find_embedded_xml(data)
    assert found is not None
    xml, flavor = found
    assert flavor == SAMPLE_FLAVORS[stem]
    assert xml == (SAMPLES / f"{stem}.xml").read_bytes()
    doc, issues = map_embedded_xml(xml, flavor)
    assert issues == []
    assert doc is not None
    assert doc.to_json_dict() == json.loads((SAMPLES / f"{stem}.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("stem", sorted(SAMPLE_FLAVORS))
def test_freshly_built_pdfs_carry_the_xml(stem: str) -> None:
    found = find_embedded_xml(sample_pdf(stem))
    assert found == ((SAMPLES / f"{stem}.xml").read_bytes(), SAMPLE_FLAVORS[stem])


def test_factur_x_invoice_fields() -> None:
    doc, _ = map_embedded_xml((SAMPLES / "factur-x-invoice.xml").read_bytes(), "factur-x")
    assert doc is not None
    assert (doc.kind, doc.number, doc.po_number, doc.currency, str(doc.date)) == \
        ("invoice", "RE-2024-0815", "4711-2024", "EUR", "2024-03-20")
    assert doc.totals.amount == Decimal("99.96") and doc.totals.tax == Decimal("15.96")
    assert [p.role for p in doc.parties] == ["seller", "buyer", "ship_to"]
    seller = doc.party("seller")
    assert seller is not None and seller.ids == {"gln": "4000001000005", "vat": "DE123456789"}
    first, second = doc.lines
    assert (first.quantity, first.uom, first.unit_price) == (Decimal("12"), "C62", Decimal("4.50"))
    assert first.item_ids == {"vendor_part": "WID-1001", "buyer_part": "ACME-77", "gtin": "4012345000016"}
    assert second.unit_price == Decimal("0.12")  # 12.00 per 100
    assert all(line.po_number == "4711-2024" for line in doc.lines)
    assert doc.source.format == "pdf" and doc.source.version == "factur-x"


def test_order_x_is_an_order() -> None:
    doc, _ = map_embedded_xml((SAMPLES / "order-x-order.xml").read_bytes(), "order-x")
    assert doc is not None
    assert (doc.kind, doc.number, doc.po_number, doc.purpose) == ("order", "PO-88231", "PO-88231", "original")
    assert doc.dates["delivery_requested"].isoformat() == "2024-04-15"
    assert doc.lines[0].quantity == Decimal("250")


def test_order_x_change_and_response() -> None:
    xml = (SAMPLES / "order-x-order.xml").read_bytes()
    change, _ = map_embedded_xml(xml.replace(b"<ram:TypeCode>220<", b"<ram:TypeCode>230<"), "order-x")
    assert change is not None and (change.kind, change.purpose) == ("order", "change")
    response_xml = xml.replace(b"<ram:TypeCode>220<", b"<ram:TypeCode>231<").replace(
        b"<ram:BuyerReference>Procurement</ram:BuyerReference>",
        b"<ram:BuyerReference>Procurement</ram:BuyerReference>"
        b"<ram:BuyerOrderReferencedDocument><ram:IssuerAssignedID>PO-1</ram:IssuerAssignedID>"
        b"</ram:BuyerOrderReferencedDocument>")
    response, _ = map_embedded_xml(response_xml, "order-x")
    assert response is not None and (response.kind, response.po_number) == ("order_response", "PO-1")


def test_missing_values_name_their_xml_path() -> None:
    xml = (SAMPLES / "factur-x-invoice.xml").read_bytes()
    broken = xml.replace(b"<ram:ID>RE-2024-0815</ram:ID>", b"").replace(
        b"<ram:BilledQuantity unitCode=\"C62\">12</ram:BilledQuantity>", b"").replace(
        b"<ram:GrandTotalAmount>99.96<", b"<ram:GrandTotalAmount>99,96<")
    doc, issues = map_embedded_xml(broken, "factur-x")
    assert doc is not None and doc.number is None
    by_location = {i.location: i for i in issues}
    assert by_location["/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:ID"].code == "XML_MISSING"
    qty = ("/rsm:CrossIndustryInvoice/rsm:SupplyChainTradeTransaction/ram:IncludedSupplyChainTradeLineItem/"
           "ram:SpecifiedLineTradeDelivery/ram:BilledQuantity")
    assert by_location[qty].code == "XML_MISSING"
    total = ("/rsm:CrossIndustryInvoice/rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement/"
             "ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:GrandTotalAmount")
    assert by_location[total].code == "XML_BAD_VALUE" and "99,96" in by_location[total].message
    assert all(i.is_error for i in issues)


def test_ubl_invoice_without_order_reference_warns() -> None:
    xml = (SAMPLES / "ubl-invoice.xml").read_bytes().replace(
        b"<cac:OrderReference><cbc:ID>PO-5521</cbc:ID></cac:OrderReference>", b"")
    doc, issues = map_embedded_xml(xml, "ubl-invoice")
    assert doc is not None and doc.po_number is None
    assert [(i.severity, i.code, i.location) for i in issues] == [
        ("warning", "XML_MISSING", "/Invoice/cac:OrderReference/cbc:ID")]


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
  xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100">
<rsm:ExchangedDocument><ram:ID>&lol9;</ram:ID></rsm:ExchangedDocument></rsm:CrossIndustryInvoice>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE Order [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Order xmlns="urn:oasis:names:specification:ubl:schema:xsd:Order-2"
  xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"><cbc:ID>&xxe;</cbc:ID></Order>"""


@pytest.mark.parametrize("xml", [BILLION_LAUGHS, EXTERNAL_ENTITY,
                                 EXTERNAL_ENTITY.replace(b'<?xml version="1.0"?>', b"").decode().encode("utf-16")],
                         ids=["billion-laughs", "external-entity", "utf-16"])
def test_hostile_xml_is_refused(xml: bytes) -> None:
    started = time.perf_counter()
    doc, issues = map_embedded_xml(xml, "factur-x")
    assert time.perf_counter() - started < 1
    assert doc is None
    assert [i.code for i in issues] == ["XML_DTD_FORBIDDEN"]
    assert "DTD" in issues[0].message


def test_hostile_xml_in_a_pdf_is_found_but_never_expanded() -> None:
    data = with_attachment("factur-x.xml", BILLION_LAUGHS)
    started = time.perf_counter()
    found = find_embedded_xml(data)
    assert time.perf_counter() - started < 2
    assert found == (BILLION_LAUGHS, "factur-x")
    doc, issues = map_embedded_xml(*found)
    assert doc is None and issues[0].code == "XML_DTD_FORBIDDEN"


def test_unreadable_and_foreign_xml() -> None:
    doc, issues = map_embedded_xml(b"<rsm:CrossIndustryInvoice", "factur-x")
    assert doc is None and issues[0].code == "XML_UNREADABLE"
    doc, issues = map_embedded_xml(b"<notes><note>hi</note></notes>", "xml")
    assert doc is None and issues[0].code == "XML_UNSUPPORTED" and issues[0].location == "/notes"


def test_other_attachments_are_ignored() -> None:
    assert find_embedded_xml(printed("no attachments")) is None
    assert find_embedded_xml(with_attachment("notes.xml", b"<notes/>")) is None
    assert find_embedded_xml(with_attachment("logo.png", b"\x89PNG not xml")) is None
    ubl = (SAMPLES / "ubl-order.xml").read_bytes()
    assert find_embedded_xml(with_attachment("PO_5521.XML", ubl)) == (ubl, "ubl-order")
    assert xml_flavor(ubl, "order-x.xml") == "ubl-order"  # the root decides what it is


def test_attachments_are_size_bounded() -> None:
    big = b"<Order>" + b" " * (11 * 1024 * 1024) + b"</Order>"
    data = with_attachment("order.xml", big)
    assert embedded_files(data) == []
    assert embedded_files(b"%PDF-1.7 garbage") == []


ZUGFERD_1 = """<?xml version="1.0" encoding="UTF-8"?>
<rsm:CrossIndustryDocument xmlns:rsm="urn:ferd:CrossIndustryDocument:invoice:1p0"
  xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:12"
  xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:15">
 <rsm:HeaderExchangedDocument><ram:ID>471102</ram:ID><ram:TypeCode>380</ram:TypeCode>
  <ram:IssueDateTime><udt:DateTimeString format="102">20130305</udt:DateTimeString></ram:IssueDateTime>
 </rsm:HeaderExchangedDocument>
 <rsm:SpecifiedSupplyChainTradeTransaction>
  <ram:ApplicableSupplyChainTradeAgreement>
   <ram:SellerTradeParty><ram:Name>Lieferant GmbH</ram:Name></ram:SellerTradeParty>
   <ram:BuyerTradeParty><ram:Name>Kunden AG</ram:Name></ram:BuyerTradeParty>
   <ram:BuyerOrderReferencedDocument><ram:ID>PO-9</ram:ID></ram:BuyerOrderReferencedDocument>
  </ram:ApplicableSupplyChainTradeAgreement>
  <ram:ApplicableSupplyChainTradeSettlement><ram:InvoiceCurrencyCode>EUR</ram:InvoiceCurrencyCode>
   <ram:SpecifiedTradeSettlementMonetarySummation>
    <ram:TaxTotalAmount currencyID="EUR">37.62</ram:TaxTotalAmount>
    <ram:GrandTotalAmount currencyID="EUR">235.62</ram:GrandTotalAmount>
   </ram:SpecifiedTradeSettlementMonetarySummation>
  </ram:ApplicableSupplyChainTradeSettlement>
  <ram:IncludedSupplyChainTradeLineItem>
   <ram:AssociatedDocumentLineDocument><ram:LineID>1</ram:LineID></ram:AssociatedDocumentLineDocument>
   <ram:SpecifiedSupplyChainTradeAgreement><ram:NetPriceProductTradePrice>
    <ram:ChargeAmount currencyID="EUR">9.90</ram:ChargeAmount></ram:NetPriceProductTradePrice>
   </ram:SpecifiedSupplyChainTradeAgreement>
   <ram:SpecifiedSupplyChainTradeDelivery><ram:BilledQuantity unitCode="C62">20</ram:BilledQuantity>
   </ram:SpecifiedSupplyChainTradeDelivery>
   <ram:SpecifiedTradeProduct><ram:SellerAssignedID>TB100A4</ram:SellerAssignedID>
    <ram:Name>Trennblätter A4</ram:Name></ram:SpecifiedTradeProduct>
  </ram:IncludedSupplyChainTradeLineItem>
 </rsm:SpecifiedSupplyChainTradeTransaction>
</rsm:CrossIndustryDocument>""".encode()


def test_zugferd_1_reads_through_the_older_names() -> None:
    found = find_embedded_xml(with_attachment("ZUGFeRD-invoice.xml", ZUGFERD_1))
    assert found == (ZUGFERD_1, "zugferd")
    doc, issues = map_embedded_xml(*found)
    assert issues == [] and doc is not None
    assert (doc.number, doc.po_number, str(doc.date), doc.currency) == ("471102", "PO-9", "2013-03-05", "EUR")
    assert (doc.totals.amount, doc.totals.tax) == (Decimal("235.62"), Decimal("37.62"))
    line = doc.lines[0]
    assert (line.quantity, line.unit_price, line.description, line.item_ids) == \
        (Decimal("20"), Decimal("9.90"), "Trennblätter A4", {"vendor_part": "TB100A4"})


if __name__ == "__main__":
    build_samples()
