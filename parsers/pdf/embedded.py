"""Structured XML attached to a PDF: Factur-X / ZUGFeRD / XRechnung (CII or UBL), Order-X, plain UBL.

When a PDF carries its own machine-readable twin, that XML is the document and the printed page is
only its picture: reading it beats any layout analysis. The attachments are found through the
catalogue's /Names /EmbeddedFiles tree and its /AF list (PDF/A-3), walked with a visited set and
node limits so a circular or huge name tree costs nothing, and each file is decoded with the same
capped decoder the preflight uses. The XML's root element is read with a hardened parser (no DTD,
no entities, no network) to tell what it is; nothing else is parsed here.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Any

from lxml import etree

from parsers.pdf.safety import StreamTooLarge, decode_bounded, parse_filters

MAX_XML_BYTES = 10 * 1024 * 1024  # a 2,000-line Factur-X EXTENDED invoice is under 2 MiB
_MAX_NODES = 2_000  # name-tree nodes and file specifications visited
_MAX_FILES = 50

# Attachment names the standards fix, lower-cased -> flavour (ZUGFeRD 1.0 used ZUGFeRD-invoice.xml).
KNOWN_NAMES = {
    "factur-x.xml": "factur-x",
    "zugferd-invoice.xml": "zugferd",
    "xrechnung.xml": "xrechnung",
    "order-x.xml": "order-x",
}

CII_NS = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
ZUGFERD1_NS = "urn:ferd:CrossIndustryDocument:invoice:1p0"
ORDERX_NS = "urn:un:unece:uncefact:data:SCRDMCCBDACIOMessageStructure:100"
UBL_ORDER_NS = "urn:oasis:names:specification:ubl:schema:xsd:Order-2"
UBL_INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
UBL_CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"

# Root element (Clark notation) -> flavour when the file name says nothing more specific.
ROOT_FLAVORS = {
    f"{{{CII_NS}}}CrossIndustryInvoice": "cii-invoice",
    f"{{{ZUGFERD1_NS}}}CrossIndustryDocument": "zugferd",
    f"{{{ORDERX_NS}}}SCRDMCCBDACIOMessageStructure": "order-x",
    f"{{{UBL_ORDER_NS}}}Order": "ubl-order",
    f"{{{UBL_INVOICE_NS}}}Invoice": "ubl-invoice",
    f"{{{UBL_CREDIT_NOTE_NS}}}CreditNote": "ubl-credit-note",
}


@dataclass(frozen=True)
class EmbeddedFile:
    name: str
    data: bytes


def root_tag(xml: bytes) -> str | None:
    """The root element's name in Clark notation ({namespace}local), read without DTDs or entities."""
    try:
        for _event, element in etree.iterparse(io.BytesIO(xml), events=("start",), resolve_entities=False,
                                               no_network=True, load_dtd=False, huge_tree=False):
            return str(element.tag)
    except etree.LxmlError:
        return None
    return None


def xml_flavor(xml: bytes, filename: str = "") -> str | None:
    """What the XML is ("factur-x", "zugferd", "xrechnung", "order-x", "ubl-order", "ubl-invoice",
    "cii-invoice", ...), or None when it is no order or invoice format we map."""
    tag = root_tag(xml)
    if tag not in ROOT_FLAVORS:
        return None
    by_name = KNOWN_NAMES.get(filename.lower().rsplit("/", 1)[-1])
    if by_name and by_name != "order-x" and tag.endswith("}SCRDMCCBDACIOMessageStructure"):
        return "order-x"
    if by_name == "order-x" and not tag.endswith("}SCRDMCCBDACIOMessageStructure"):
        return ROOT_FLAVORS[tag]
    return by_name or ROOT_FLAVORS[tag]


def _text(value: Any) -> str:
    if hasattr(value, "get_object"):
        value = value.get_object()
    if isinstance(value, bytes):
        return value.decode("latin-1", "replace")
    return str(value) if value is not None else ""


def _file_from_spec(spec: Any, max_bytes: int) -> EmbeddedFile | None:
    """The embedded file a file specification points to, decoded within `max_bytes`, or None."""
    spec = spec.get_object()
    if not hasattr(spec, "get"):
        return None
    name = _text(spec.get("/UF") or spec.get("/F") or "")
    ef: Any = spec.get("/EF")
    ef = ef.get_object() if ef is not None else None
    if ef is None or not hasattr(ef, "get"):
        return None
    stream: Any = ef.get("/F") or ef.get("/UF")
    stream = stream.get_object() if stream is not None else None
    if stream is None or not hasattr(stream, "get"):
        return None
    params: Any = stream.get("/Params")
    params = params.get_object() if params is not None else None
    declared = params.get("/Size") if hasattr(params, "get") else None
    try:
        if declared is not None and int(declared.get_object() if hasattr(declared, "get_object") else declared) \
                > max_bytes:
            return None
    except (TypeError, ValueError):
        pass
    raw = getattr(stream, "_data", None)
    if not isinstance(raw, bytes):
        return None
    filters = parse_filters(_filters(stream.get("/Filter")))
    if type(stream).__name__ == "DecodedStreamObject":
        filters = []
    try:
        return EmbeddedFile(name, decode_bounded(raw, filters, max_bytes))
    except StreamTooLarge:
        return None
    except Exception:  # a damaged stream: not ours to read
        return None


def _filters(value: Any) -> list[str]:
    if value is None:
        return []
    value = value.get_object() if hasattr(value, "get_object") else value
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


def embedded_files(data: bytes, *, max_bytes: int = MAX_XML_BYTES) -> list[EmbeddedFile]:
    """Every file attached to the PDF's catalogue (name tree and /AF), each at most `max_bytes`."""
    import pypdf

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted:
                return []
            root: Any = reader.trailer["/Root"].get_object()
            specs: list[Any] = []
            names = root.get("/Names")
            tree = names.get_object().get("/EmbeddedFiles") if names is not None else None
            stack = [tree] if tree is not None else []
            seen: set[int] = set()
            visited = 0
            while stack and visited < _MAX_NODES:
                node: Any = stack.pop()
                ident = node.idnum if hasattr(node, "idnum") else id(node)
                if ident in seen:
                    continue
                seen.add(ident)
                visited += 1
                node = node.get_object()
                pairs = node.get("/Names")
                if pairs is not None:
                    pairs = pairs.get_object()
                    specs += [pairs[i] for i in range(1, min(len(pairs), 2 * _MAX_FILES), 2)]
                kids = node.get("/Kids")
                if kids is not None:
                    stack += list(kids.get_object())[:_MAX_NODES]
            af = root.get("/AF")
            if af is not None:
                specs += list(af.get_object())[:_MAX_FILES]
            files: list[EmbeddedFile] = []
            done: set[int] = set()
            for spec in specs[:_MAX_FILES]:
                key = getattr(spec, "idnum", id(spec))
                if key in done:
                    continue
                done.add(key)
                found = _file_from_spec(spec, max_bytes)
                if found is not None:
                    files.append(found)
            return files
    except Exception:  # a broken PDF has no attachments we can trust; the preflight reports the damage
        return []


def find_embedded_xml(data: bytes) -> tuple[bytes, str] | None:
    """The order or invoice XML attached to the PDF and its flavour, or None.

    Files with the standard names (factur-x.xml, zugferd-invoice.xml, xrechnung.xml, order-x.xml) come
    first; any other .xml attachment counts when its root is a UBL Order/Invoice, CII invoice or Order-X.
    """
    files = embedded_files(data)
    ranked = sorted(files, key=lambda f: (f.name.lower().rsplit("/", 1)[-1] not in KNOWN_NAMES,
                                          not f.name.lower().endswith(".xml")))
    for file in ranked:
        flavor = xml_flavor(file.data, file.name)
        if flavor:
            return file.data, flavor
    return None
