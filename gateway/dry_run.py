"""Parse, map and validate one input without storing anything: what `edigw parse` prints.

The same readers the pipeline uses, minus the store: an email is unpacked and each usable
attachment parsed in turn, its customer found from the sender by the configuration only.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from gateway.config import Config, PartnerConfig
from mappings.x12.process import analyse_x12
from parsers.issues import Issue, error
from parsers.mime import describe, sniff, unpack

_IMAGES = ("png", "jpeg", "tiff")


@dataclass
class ParseResult:
    documents: list[dict[str, Any]] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"documents": self.documents, "issues": [i.as_dict() for i in self.issues]}


def parse_input(config: Config, raw: bytes, fmt: str = "auto", partner: PartnerConfig | None = None) -> ParseResult:
    """`fmt` "auto" sniffs the content; a named format is trusted (and its reader reports a mismatch)."""
    kind = sniff(raw) if fmt == "auto" else fmt
    if kind == "x12" or (fmt == "auto" and kind in ("unknown", "text") and b"ISA" in raw[:8192]):
        return _x12(config, raw, partner)
    if kind in ("pdf", *_IMAGES):
        return _pdf(raw, "pdf" if fmt == "pdf" else kind, partner)
    if kind == "eml":
        return _email(config, raw, partner)
    if kind == "cxml":
        return ParseResult(issues=[error("UNSUPPORTED_FORMAT", "cXML is not read by this gateway yet; send the "
                                         "document as X12, a PDF or an email with a PDF attached.", "byte 0")])
    return ParseResult(issues=[error("UNSUPPORTED_FORMAT", f"The input looks like {describe(kind)}, which the "
                                     "gateway does not read. Send an X12 interchange (starting with ISA), a PDF, "
                                     "a scanned image or an email (.eml) carrying one of those.", "byte 0")])


def _x12(config: Config, raw: bytes, partner: PartnerConfig | None) -> ParseResult:
    from gateway.processing import sniff_partner

    guide_partner = partner or sniff_partner(config, None, raw)
    analysis = analyse_x12(raw, guide_partner.guide_overlays() if guide_partner else ())
    return ParseResult([s.document.to_json_dict() for s in analysis.sets if s.document is not None],
                       list(analysis.issues))


def _pdf(raw: bytes, kind: str, partner: PartnerConfig | None) -> ParseResult:
    from gateway.pdf_documents import extract_and_map

    outcome = extract_and_map(raw, kind, [], partner, "cli")
    documents = [outcome.document.to_json_dict()] if outcome.document is not None else []
    return ParseResult(documents, outcome.issues)


def _email(config: Config, raw: bytes, partner: PartnerConfig | None) -> ParseResult:
    mail = unpack(raw)
    result = ParseResult(issues=list(mail.issues))
    customer = partner or config.partner_for_email(mail.from_address or "")
    if customer is None and mail.usable:
        result.issues.append(error("UNKNOWN_SENDER", f"The sender {mail.from_address or '(none)'} is not a known "
                                   "customer; pass --partner, or add the address to a customer's [email] "
                                   "addresses in the configuration.", "From"))
    for attachment in mail.usable:
        inner = parse_input(config, attachment.data, "auto", customer if attachment.sniffed != "x12" else partner)
        where = f"attachment {attachment.filename or attachment.path}"
        for document in inner.documents:
            if attachment.sniffed != "x12" and mail.from_address:
                document["sender"] = {"qualifier": "email", "id": mail.from_address}
            document["source"]["channel"] = "email"
        result.documents += inner.documents
        result.issues += [replace(i, location=f"{where}: {i.location}" if i.location else where)
                          for i in inner.issues]
    return result
