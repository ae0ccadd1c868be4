"""MIME unpacking: attachments wherever they sit, kinds from content, reasons instead of tracebacks."""

from __future__ import annotations

import base64
import io
from email import policy
from email.message import EmailMessage

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from parsers.mime import content_digest, image_size, sniff, unpack
from tests.conftest import SAMPLES

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\n" + b"0" * 2000 + b"\n%%EOF\n"


def png(width: int, height: int, noisy: bool = False) -> bytes:
    img = Image.new("RGB", (width, height), (200, 200, 200))
    if noisy:
        img = Image.effect_noise((width, height), 80).convert("RGB")
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def mail(subject: str = "PO 1", sender: str = "Jane <jane@buyer.example>") -> EmailMessage:
    m = EmailMessage()
    m["From"] = sender
    m["To"] = "orders@edigw.local"
    m["Subject"] = subject
    m["Message-ID"] = "<m1@buyer.example>"
    m.set_content("Order attached.\n")
    return m


def forwarded(msg: EmailMessage) -> EmailMessage:
    """A message/rfc822 part carrying `msg`, as a mail client forwards it."""
    part = EmailMessage()
    part.set_content(msg)
    return part


def test_a_plain_pdf_attachment_is_usable_with_its_place_and_the_senders_facts() -> None:
    m = unpack((SAMPLES / "eml" / "po-pdf.eml").read_bytes())
    assert m.from_address == "jane.buyer@bluebird.example" and m.from_display == "Jane Buyer"
    assert m.message_id == "<po-4711.20261120091402@bluebird.example>"
    assert m.subject == "Purchase order 4711" and m.to == ["orders@edigw.local"]
    assert "purchase order 4711 attached" in m.body_text and "\r" not in m.body_text
    [pdf] = m.usable
    assert (pdf.filename, pdf.sniffed, pdf.declared_type, pdf.path) == ("PO-4711.pdf", "pdf", "application/pdf",
                                                                       "2 / PO-4711.pdf")
    assert pdf.data.startswith(b"%PDF-") and m.no_reply_reason is None and not m.issues


def test_a_pdf_inside_a_forwarded_message_is_found_and_the_signature_logo_skipped() -> None:
    m = unpack((SAMPLES / "eml" / "forwarded-po.eml").read_bytes())
    [pdf] = m.usable
    assert pdf.path == "2/2 (forwarded message 'PO 4711') / PO-4711.pdf"
    [logo] = [a for a in m.attachments if a.sniffed == "png"]
    assert logo.skipped and "logo or signature" in logo.skipped
    assert m.body_text.startswith("See the order below.")


def test_a_forwarded_message_inside_a_forwarded_message_within_the_depth_limit() -> None:
    inner = mail("inner")
    inner.add_attachment(PDF, maintype="application", subtype="pdf", filename="deep.pdf")
    middle = mail("middle")
    middle.make_mixed()
    middle.attach(forwarded(inner))
    outer = mail("outer")
    outer.make_mixed()
    outer.attach(forwarded(middle))
    raw = outer.as_bytes()
    [pdf] = unpack(raw).usable
    assert "(forwarded message 'middle') (forwarded message 'inner')" in pdf.path
    shallow = unpack(raw, max_depth=1)
    assert not shallow.usable and "MIME_TOO_DEEP" in [i.code for i in shallow.issues]


def test_an_eml_attached_as_octet_stream_is_opened_too() -> None:
    inner = mail("the order")
    inner.add_attachment(PDF, maintype="application", subtype="pdf", filename="po.pdf")
    outer = mail("fw")
    outer.add_attachment(inner.as_bytes(), maintype="application", subtype="octet-stream", filename="fw.eml")
    [pdf] = unpack(outer.as_bytes()).usable
    assert "(attached message 'the order') / po.pdf" in pdf.path


def test_the_kind_comes_from_the_content_not_the_name_and_rfc2231_names_are_decoded() -> None:
    m = unpack((SAMPLES / "eml" / "misnamed-attachment.eml").read_bytes())
    [pdf] = m.usable
    assert pdf.filename == "Bestellung Müller.dat" and pdf.sniffed == "pdf"
    named_pdf = mail()
    named_pdf.add_attachment(b"PK\x03\x04 not really a pdf" + b"x" * 100, maintype="application", subtype="pdf",
                             filename="order.pdf")
    m = unpack(named_pdf.as_bytes())
    assert not m.usable and "ATTACHMENT_MISNAMED" in [i.code for i in m.issues]
    assert "NO_USABLE_ATTACHMENT" in [i.code for i in m.issues]


def test_x12_and_cxml_attachments_are_usable_whatever_they_are_called() -> None:
    m = unpack((SAMPLES / "eml" / "x12-attachment.eml").read_bytes())
    assert [(a.filename, a.sniffed) for a in m.usable] == [("order.txt", "x12")]
    cxml = mail()
    cxml.add_attachment(b'<?xml version="1.0"?><!DOCTYPE cXML SYSTEM "cXML.dtd"><cXML/>', maintype="text",
                        subtype="plain", filename="po.txt")
    assert [a.sniffed for a in unpack(cxml.as_bytes()).usable] == ["cxml"]


def test_inline_parts_with_names_are_attachments_and_big_scans_are_usable_images() -> None:
    m = mail()
    m.add_attachment(png(1240, 1754, noisy=True), maintype="image", subtype="png", filename="scan.png",
                     disposition="inline")
    [scan] = unpack(m.as_bytes()).usable
    assert scan.sniffed == "png" and image_size(scan.data, "png") == (1240, 1754)


def test_a_large_but_narrow_image_is_still_a_signature() -> None:
    m = mail()
    m.add_attachment(png(2000, 120, noisy=True), maintype="image", subtype="png", filename="banner.png")
    parsed = unpack(m.as_bytes())
    assert not parsed.usable and "2000x120 pixels" in (parsed.attachments[0].skipped or "")


def test_no_usable_attachment_says_what_was_there_and_what_would_fix_it() -> None:
    m = mail()
    m.add_attachment(png(40, 40), maintype="image", subtype="png", filename="logo.png")
    m.add_attachment(b"PK\x03\x04" + b"\0" * 300, maintype="application",
                     subtype="vnd.openxmlformats-officedocument.wordprocessingml.document", filename="notes.docx")
    parsed = unpack(m.as_bytes())
    [issue] = [i for i in parsed.issues if i.code == "NO_USABLE_ATTACHMENT"]
    assert issue.severity == "error"
    assert "2 attachments: logo.png (a small image" in issue.message
    assert "notes.docx (a ZIP archive or Office document, not a format we read)" in issue.message
    assert "Please send the purchase order as a PDF" in issue.message
    bare = unpack((SAMPLES / "eml" / "no-attachment.eml").read_bytes())
    assert "NO_USABLE_ATTACHMENT" in [i.code for i in bare.issues] and "12 blue widgets" in bare.body_text
    only_text = unpack(mail().as_bytes())
    assert "has no attachment" in only_text.issues[-1].message


def test_winmail_dat_and_empty_files_are_reported_not_used() -> None:
    m = mail()
    m.add_attachment(b"\x78\x9f\x3e\x22" + b"\0" * 500, maintype="application", subtype="ms-tnef",
                     filename="winmail.dat")
    m.add_attachment(b"", maintype="application", subtype="pdf", filename="empty.pdf")
    parsed = unpack(m.as_bytes())
    assert not parsed.usable
    found = {i.code for i in parsed.issues}
    assert {"TNEF_UNSUPPORTED", "EMPTY_ATTACHMENT", "NO_USABLE_ATTACHMENT"} <= found
    tnef = next(i for i in parsed.issues if i.code == "TNEF_UNSUPPORTED")
    assert tnef.severity == "warning" and "winmail.dat" in tnef.message


def test_quoted_printable_and_base64_are_decoded() -> None:
    raw = (b"From: a@b.example\r\nTo: orders@edigw.local\r\nSubject: qp\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain\r\n"
           b"Content-Transfer-Encoding: quoted-printable\r\n\r\nM=C3=BCller =\r\nsays hi\r\n"
           b"--XX\r\nContent-Type: application/pdf; name=\"a.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
           + base64.encodebytes(PDF) + b"--XX--\r\n")
    parsed = unpack(raw)
    assert parsed.body_text == "Müller says hi" and parsed.usable[0].data == PDF


def test_broken_mime_becomes_issues_not_exceptions() -> None:
    no_boundary = (b"From: a@b.example\r\nSubject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed\r\n\r\n"
                   b"--XX\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4 hello\r\n--XX--\r\n")
    parsed = unpack(no_boundary)
    assert "MIME_DEFECT" in [i.code for i in parsed.issues]
    bad_base64 = (b"From: a@b.example\r\nSubject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; "
                  b"boundary=XX\r\n\r\n--XX\r\nContent-Type: application/pdf; name=a.pdf\r\n"
                  b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK!!!###A\r\n--XX--\r\n")
    parsed = unpack(bad_base64)
    assert "ATTACHMENT_DAMAGED" in [i.code for i in parsed.issues]
    assert unpack(b"").issues[-1].code == "NO_USABLE_ATTACHMENT"
    assert unpack(b"\xff\xfe\x00garbage").from_address is None


def test_deep_nesting_and_many_parts_are_bounded() -> None:
    depth = 200
    raw = b"From: a@b.example\r\nMIME-Version: 1.0\r\n"
    for n in range(depth):
        raw += f"Content-Type: multipart/mixed; boundary=b{n}\r\n\r\n--b{n}\r\n".encode()
    raw += b"Content-Type: text/plain\r\n\r\nx\r\n"
    for n in reversed(range(depth)):
        raw += f"--b{n}--\r\n".encode()
    parsed = unpack(raw)
    assert "MIME_TOO_DEEP" in [i.code for i in parsed.issues] or not parsed.attachments
    many = mail()
    for n in range(60):
        many.add_attachment(PDF, maintype="application", subtype="pdf", filename=f"{n}.pdf")
    parsed = unpack(many.as_bytes(), max_attachments=50)
    assert len(parsed.attachments) == 50 and "TOO_MANY_ATTACHMENTS" in [i.code for i in parsed.issues]


def test_messages_we_must_not_answer_say_why() -> None:
    assert unpack((SAMPLES / "eml" / "auto-reply.eml").read_bytes()).no_reply_reason == \
        "it is an automatic message (Auto-Submitted: auto-replied)"
    cases = {
        "Precedence": ("bulk", "bulk or list mail"),
        "List-Id": ("<orders.lists.example>", "mailing list"),
        "X-Auto-Response-Suppress": ("All", "no automatic replies"),
        "X-EDIGW-Reply": ("1", "would loop"),
        "Return-Path": ("<>", "empty return path"),
    }
    for header, (value, why) in cases.items():
        m = mail()
        m[header] = value
        parsed = unpack(m.as_bytes())
        assert parsed.auto_submitted and why in (parsed.no_reply_reason or ""), header
    for sender in ("no-reply@shop.example", "NoReply@shop.example", "donotreply@x.example",
                   "MAILER-DAEMON@mx.example", "noreply+bounce@x.example"):
        assert "does not take replies" in (unpack(mail(sender=sender).as_bytes()).no_reply_reason or ""), sender
    ok = mail()
    ok["Auto-Submitted"] = "no"
    ok["Reply-To"] = "Purchasing <Purchasing@Buyer.example>"
    parsed = unpack(ok.as_bytes())
    assert parsed.no_reply_reason is None and parsed.reply_address == "purchasing@buyer.example"
    assert unpack(b"Subject: hi\r\n\r\nbody").no_reply_reason == "it has no readable sender address"


def test_sniffing() -> None:
    assert sniff(b"%PDF-1.7") == "pdf" and sniff(b"\xff\xd8\xff\xe0") == "jpeg" and sniff(b"II*\x00") == "tiff"
    assert sniff(b"ISA*00*          *00*") == "x12" and sniff(b"hello there") == "text" and sniff(b"") == "empty"
    assert sniff(b"\x00\x01\x02\x03binary") == "unknown"


def test_the_content_digest_ignores_relay_trace_headers_only() -> None:
    raw = mail().as_bytes(policy=policy.SMTP)
    relayed = (b"Received: from mx2.example by edigw.local; Fri, 20 Nov 2026 10:00:00 +0000\r\n"
               b"DKIM-Signature: v=1; a=rsa-sha256;\r\n b=abc\r\n" + raw)
    assert content_digest(relayed) == content_digest(raw) == content_digest(raw.replace(b"\r\n", b"\n"))
    assert content_digest(raw.replace(b"PO 1", b"PO 2")) != content_digest(raw)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000))
def test_any_bytes_unpack_without_a_traceback(data: bytes) -> None:
    unpack(data)


_HEADER_LINES = st.sampled_from([
    b"From: =?utf-8?q?J=C3=A4ne?= <j@x.example>", b"From: <<>>@@", b"From: \"a, b\" <a@b.c>, c@d",
    b"To: undisclosed-recipients:;", b"Content-Type: multipart/mixed; boundary=\"B\"",
    b"Content-Type: multipart/mixed", b"Content-Type: message/rfc822", b"Content-Type: application/pdf; name*=''%ff",
    b"Content-Transfer-Encoding: base64", b"Content-Transfer-Encoding: quoted-printable",
    b"Content-Disposition: attachment; filename*0*=utf-8''a%20; filename*1=b.pdf", b"Subject: =?x-unknown?b?AAAA?=",
    b"Content-Type: text/plain; charset=x-no-such", b"Message-ID: <<a@b>>", b"Return-Path: <>", b"--B", b"--B--",
    b"", b"%PDF-1.4", b"JVBERi0xLjQK", b"=C3=", b"ISA*00*", b"Auto-Submitted: auto-generated",
])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_HEADER_LINES, st.binary(max_size=40)), max_size=40))
def test_mime_shaped_garbage_unpacks_without_a_traceback(lines: list[bytes]) -> None:
    parsed = unpack(b"\r\n".join(lines))
    assert parsed.usable or any(i.code in ("NO_USABLE_ATTACHMENT", "MIME_UNREADABLE") for i in parsed.issues)
