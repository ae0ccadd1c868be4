"""MIME unpacking: one email's bytes in; sender facts, body text, every attachment and issues out.

Pure code over the stdlib `email` package (policy=default). Nothing here trusts a file name or a
declared Content-Type to say what a file is: the kind of every attachment is sniffed from its bytes.
Damaged or hostile mail never raises: what could not be read becomes an issue with a plain reason.
Work is bounded by the message size (the SMTP channel caps it) plus explicit limits on parts,
attachments and nesting depth.
"""

from __future__ import annotations

import email.errors
import hashlib
import html as html_lib
import re
import struct
from dataclasses import dataclass, field
from email import policy
from email.message import Message
from email.parser import BytesHeaderParser, BytesParser
from email.utils import collapse_rfc2231_value, getaddresses, parseaddr

from parsers.detect import detect_format
from parsers.issues import Issue, error, warning

USABLE = frozenset({"pdf", "x12", "cxml", "png", "jpeg", "tiff"})
IMAGE_KINDS = frozenset({"png", "jpeg", "tiff"})
MIN_IMAGE_BYTES = 10 * 1024
MIN_IMAGE_PIXELS = 300
MAX_PARTS = 1000
MAX_BODY_CHARS = 100_000

# Headers that relays add or rewrite on the way: two deliveries of one message differ only in these.
TRACE_HEADERS = frozenset({
    b"received", b"return-path", b"delivered-to", b"x-original-to", b"dkim-signature", b"arc-seal",
    b"arc-message-signature", b"arc-authentication-results", b"authentication-results", b"received-spf",
    b"x-received", b"x-spam-status", b"x-spam-score", b"x-spam-flag", b"x-virus-scanned",
    b"x-ms-exchange-organization-authas", b"x-forwarded-to", b"x-forwarded-for", b"x-envelope-from",
    b"x-envelope-to", b"envelope-to", b"x-google-smtp-source", b"x-gm-message-state",
})

_NO_REPLY_LOCAL = re.compile(r"^(?:no[-_.]?reply|do[-_.]?not[-_.]?reply|bounces?|mailer[-_]daemon|postmaster)"
                             r"(?:[-+._].*)?$", re.IGNORECASE)
_DESCRIBE = {
    "pdf": "a PDF", "x12": "an X12 EDI file", "cxml": "a cXML document", "xml": "an XML file that is not cXML",
    "png": "a PNG image", "jpeg": "a JPEG image", "tiff": "a TIFF image", "gif": "a GIF image",
    "zip": "a ZIP archive or Office document", "tnef": "an Outlook winmail.dat wrapper",
    "eml": "an email message", "text": "plain text", "html": "an HTML page", "empty": "an empty file",
    "unknown": "a file of a kind we do not recognise",
}
_EXTENSION = {"pdf": "pdf", "x12": "edi", "cxml": "xml", "xml": "xml", "png": "png", "jpeg": "jpg",
              "tiff": "tif", "gif": "gif", "zip": "zip", "tnef": "dat", "eml": "eml", "text": "txt",
              "html": "html"}


@dataclass
class Attachment:
    """One file found in the mail. `sniffed` is what the bytes are; `skipped` why it is not an order."""

    filename: str
    declared_type: str
    sniffed: str
    data: bytes
    path: str
    skipped: str | None = None

    @property
    def usable(self) -> bool:
        return self.sniffed in USABLE and self.skipped is None

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class Mail:
    """What one email says about itself, its readable text and the files it carries."""

    message_id: str | None = None
    from_address: str | None = None
    from_display: str = ""
    reply_to: str | None = None
    to: list[str] = field(default_factory=list)
    subject: str = ""
    date: str = ""
    references: list[str] = field(default_factory=list)
    return_path: str | None = None  # None: no Return-Path header; "": the null sender <>
    auto_submitted: bool = False
    no_reply_reason: str | None = None
    from_gateway: bool = False  # carries our own X-EDIGW-Reply marker: one of our replies came back
    body_text: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)

    @property
    def usable(self) -> list[Attachment]:
        return [a for a in self.attachments if a.usable]

    @property
    def reply_address(self) -> str | None:
        """Where an answer goes: Reply-To when the sender set one, else From."""
        return self.reply_to or self.from_address


# --- sniffing ------------------------------------------------------------------------------------------
def sniff(data: bytes) -> str:
    """The kind of a file from its first bytes: detect_format's kinds, images, and a few we name to explain."""
    if not data:
        return "empty"
    head = data[:8192]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "tiff"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if head.startswith(b"\x78\x9f\x3e\x22"):
        return "tnef"
    kind = detect_format(head)
    if kind != "unknown":
        return kind
    text = head.lstrip()
    if text[:15].lower().startswith((b"<!doctype html", b"<html")):
        return "html"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the 8 KiB boundary
            return "unknown"
    return "text" if not any(b < 9 or 13 < b < 32 for b in head[:512]) else "unknown"


def image_size(data: bytes, kind: str) -> tuple[int, int] | None:
    """Width and height in pixels from the image header, or None when it cannot be read."""
    try:
        if kind == "png" and len(data) >= 24 and data[12:16] == b"IHDR":
            w, h = struct.unpack(">II", data[16:24])
            return int(w), int(h)
        if kind == "jpeg":
            return _jpeg_size(data)
        if kind == "tiff":
            return _tiff_size(data)
    except (struct.error, IndexError, ValueError):
        return None
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i = 2
    end = min(len(data), 2 * 1024 * 1024)
    while i + 9 < end:
        if data[i] != 0xFF:
            i += 1
            continue
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
            i += 1 if marker == 0xFF else 2
            continue
        length = struct.unpack(">H", data[i + 2:i + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            h, w = struct.unpack(">HH", data[i + 5:i + 9])
            return int(w), int(h)
        if length < 2:
            return None
        i += 2 + length
    return None


def _tiff_size(data: bytes) -> tuple[int, int] | None:
    order = "<" if data[:2] == b"II" else ">"
    offset = struct.unpack(order + "I", data[4:8])[0]
    count = struct.unpack(order + "H", data[offset:offset + 2])[0]
    found: dict[int, int] = {}
    for n in range(min(count, 512)):
        entry = data[offset + 2 + 12 * n: offset + 14 + 12 * n]
        tag, typ = struct.unpack(order + "HH", entry[:4])
        if tag in (256, 257):
            value = struct.unpack(order + ("H" if typ == 3 else "I"), entry[8:10] if typ == 3 else entry[8:12])[0]
            found[tag] = int(value)
    if 256 in found and 257 in found:
        return found[256], found[257]
    return None


def describe(kind: str) -> str:
    return _DESCRIBE.get(kind, _DESCRIBE["unknown"])


# --- duplicate deliveries ------------------------------------------------------------------------------
def content_digest(raw: bytes) -> str:
    """sha256 of the message without its trace headers, with line endings normalised.

    Two deliveries of one message (a retry through another relay, a second MX) differ only in the
    headers relays add (Received, Return-Path, Delivered-To, DKIM/ARC, spam scores), so this digest
    is the same for both while any change to what the sender wrote changes it.
    """
    data = raw.replace(b"\r\n", b"\n")
    head, sep, body = data.partition(b"\n\n")
    if not sep:
        head, body = data, b""
    kept: list[bytes] = []
    keep = True
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t"):
            if keep:
                kept.append(line)
            continue
        name = line.split(b":", 1)[0].strip().lower()
        keep = name not in TRACE_HEADERS
        if keep:
            kept.append(line)
    digest = hashlib.sha256()
    digest.update(b"\n".join(kept))
    digest.update(b"\n\n")
    digest.update(body)
    return digest.hexdigest()


def message_id(raw: bytes) -> str | None:
    """The Message-ID from the header block alone (cheap: the body is not parsed), or None."""
    head = raw[:256 * 1024]
    end = head.find(b"\r\n\r\n")
    end = head.find(b"\n\n") if end < 0 else end
    try:
        msg = BytesHeaderParser(policy=policy.default).parsebytes(head if end < 0 else head[:end + 2])
        value = msg.get("Message-ID")
        found = re.search(r"<[^<>\s]{1,900}>", str(value)) if value is not None else None
    except Exception:
        return None
    return found.group(0) if found else None


# --- unpacking -----------------------------------------------------------------------------------------
def parse_message(raw: bytes) -> Message | None:
    """The stdlib parse, or None when the bytes defeat it (it is recursive on deeply nested parts)."""
    try:
        return BytesParser(policy=policy.default).parsebytes(raw)
    except Exception:  # any failure of the parser (RecursionError included) is a broken mail
        return None


def unpack(raw: bytes, *, max_attachments: int = 50, max_depth: int = 5) -> Mail:
    """Everything a person or the pipeline needs from one email; never raises on any bytes."""
    msg = parse_message(raw)
    if msg is None:
        mail = Mail()
        mail.issues.append(error("MIME_UNREADABLE", "The email could not be read as a MIME message at all; "
                                 "ask the sender to send it again, with the order attached as a PDF.",
                                 "message"))
        return mail
    mail = _headers(msg)
    walker = _Walker(mail, max_attachments=max_attachments, max_depth=max_depth)
    try:
        walker.walk(msg, [], [], depth=0)
    except RecursionError:
        mail.issues.append(warning("MIME_TOO_DEEP", "The email's parts are nested too deeply to read all of them; "
                                   "what was found before that is listed.", "message"))
    body = walker.plain if walker.plain.strip() else _html_to_text(walker.html)
    mail.body_text = body.replace("\r\n", "\n").replace("\r", "\n").strip()[:MAX_BODY_CHARS]
    if not mail.usable and not any(i.code == "MIME_UNREADABLE" for i in mail.issues):
        mail.issues.append(error("NO_USABLE_ATTACHMENT", _no_usable_message(mail), "attachments"))
    return mail


def _header(msg: Message, name: str) -> str:
    """A header's decoded text; the raw value when the modern parser chokes on it; "" when absent."""
    try:
        value = msg.get(name)
        return "" if value is None else str(value).strip()
    except Exception:  # the stdlib header parser has bugs on hostile input
        for key, raw_value in msg.raw_items():
            if key.lower() == name.lower():
                return str(raw_value).strip()
        return ""


def _address(value: str) -> tuple[str, str | None]:
    """(display name, lower-cased addr-spec or None) of the first address in a header value."""
    try:
        display, addr = parseaddr(value)
    except Exception:
        return "", None
    addr = addr.strip().lower()
    return display.strip(), addr if "@" in addr or addr == "mailer-daemon" else None


def _from(msg: Message) -> tuple[str, str | None]:
    """The From address via the structured header (encoded display names with commas), else parseaddr."""
    try:
        header = msg.get("From")
        addresses = getattr(header, "addresses", None)
        if addresses:
            first = addresses[0]
            spec = (first.addr_spec or "").strip().lower()
            if "@" in spec or spec == "mailer-daemon":
                return (first.display_name or "").strip(), spec
    except Exception:  # fall back to the lenient parser below
        pass
    return _address(_header(msg, "From"))


def _headers(msg: Message) -> Mail:
    mail = Mail()
    mail.message_id = _header(msg, "Message-ID") or None
    mail.from_display, mail.from_address = _from(msg)
    mail.reply_to = _address(_header(msg, "Reply-To"))[1]
    try:
        mail.to = [a.lower() for _, a in getaddresses([_header(msg, "To"), _header(msg, "Cc")]) if "@" in a]
    except Exception:
        mail.to = []
    mail.subject = " ".join(_header(msg, "Subject").split())
    mail.date = _header(msg, "Date")
    mail.references = re.findall(r"<[^<>\s]+>", _header(msg, "References"))
    has_return_path = any(k.lower() == "return-path" for k in msg)
    if has_return_path:
        rp = _header(msg, "Return-Path").strip()
        mail.return_path = "" if rp in ("", "<>") else _address(rp)[1] or ""
    mail.from_gateway = bool(_header(msg, "X-EDIGW-Reply"))
    mail.no_reply_reason = _no_reply_reason(msg, mail)
    mail.auto_submitted = mail.no_reply_reason is not None
    for defect in msg.defects:
        mail.issues.append(warning("MIME_DEFECT", f"The email's header is malformed ({_defect_text(defect)}); "
                                   "it was read as far as possible.", "message header"))
    return mail


def _no_reply_reason(msg: Message, mail: Mail) -> str | None:
    """Why answering this message could cause a loop or reach nobody (RFC 3834 section 2), else None."""
    auto = _header(msg, "Auto-Submitted").lower()
    if auto and auto.split(";")[0].strip() != "no":
        return f"it is an automatic message (Auto-Submitted: {auto})"
    if mail.from_gateway:
        return "it is a reply the gateway sent itself (X-EDIGW-Reply header): answering would loop"
    precedence = _header(msg, "Precedence").lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"it is bulk or list mail (Precedence: {precedence})"
    if _header(msg, "List-Id") or _header(msg, "List-Unsubscribe"):
        return "it came through a mailing list (List-Id / List-Unsubscribe)"
    suppress = _header(msg, "X-Auto-Response-Suppress").lower()
    if suppress and any(t in suppress for t in ("all", "autoreply", "oof")):
        return f"the sender asked for no automatic replies (X-Auto-Response-Suppress: {suppress})"
    if _header(msg, "X-Autoreply") or _header(msg, "X-Autorespond"):
        return "it is an automatic reply (X-Autoreply)"
    if msg.get_content_type() == "multipart/report":
        return "it is a delivery or read report"
    if mail.return_path == "":
        return "it was sent with an empty return path (a bounce or automatic notice)"
    if not mail.from_address:
        return "it has no readable sender address"
    local = mail.from_address.partition("@")[0]
    if _NO_REPLY_LOCAL.match(local):
        return f"the sender address {mail.from_address} does not take replies"
    return None


def _defect_text(defect: object) -> str:
    if isinstance(defect, email.errors.MessageDefect):
        text = (defect.__doc__ or type(defect).__name__).strip().splitlines()[0]
        return text.rstrip(".").lower()
    return str(defect)


class _Walker:
    """Depth-first walk that numbers parts like IMAP (1, 2, 2/1) and keeps count against the limits."""

    def __init__(self, mail: Mail, *, max_attachments: int, max_depth: int) -> None:
        self.mail = mail
        self.max_attachments = max_attachments
        self.max_depth = max_depth
        self.parts = 0
        self.capped = False
        self.plain = ""
        self.html = ""

    def walk(self, part: Message, numbers: list[int], context: list[str], *, depth: int) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            if not self.capped:
                self.capped = True
                self.mail.issues.append(warning("MIME_TOO_MANY_PARTS", f"The email has more than {MAX_PARTS} "
                                                "parts; only the first ones were read.", "message"))
            return
        ctype = _content_type(part)
        if ctype == "message/rfc822" or (ctype.startswith("message/") and part.is_multipart()):
            self._forwarded(part, numbers, context, depth=depth)
            return
        if part.is_multipart():
            children = _children(part)
            for defect in part.defects:
                self._defect(defect, numbers, context)
            if len(numbers) > 40:
                self.mail.issues.append(warning("MIME_TOO_DEEP", "Parts nested more than 40 levels deep were "
                                                "not read.", _where(numbers, context)))
                return
            for n, child in enumerate(children, 1):
                self.walk(child, [*numbers, n], context, depth=depth)
            return
        self._leaf(part, numbers or [1], context, ctype, depth=depth)

    def _forwarded(self, part: Message, numbers: list[int], context: list[str], *, depth: int) -> None:
        inner = _children(part)
        if not inner:
            return
        if depth + 1 > self.max_depth:
            self.mail.issues.append(warning("MIME_TOO_DEEP", f"A message forwarded inside more than {self.max_depth} "
                                            "other messages was not opened.", _where(numbers, context)))
            return
        subject = " ".join(_header(inner[0], "Subject").split())[:80]
        label = f"forwarded message {subject!r}" if subject else "forwarded message"
        self.walk(inner[0], numbers, [*context, label], depth=depth + 1)

    def _leaf(self, part: Message, numbers: list[int], context: list[str], ctype: str, *, depth: int) -> None:
        filename = _filename(part)
        try:
            disposition = part.get_content_disposition() or ""
        except Exception:
            disposition = ""
        data = _payload(part)
        for defect in part.defects:  # after decoding: base64 damage is recorded while decoding
            self._defect(defect, numbers, context)
        if data is None:
            self.mail.issues.append(warning("ATTACHMENT_DAMAGED", f"Part {_where(numbers, context)} "
                                            "could not be decoded and was left out.", _where(numbers, context)))
            return
        is_text_body = ctype in ("text/plain", "text/html") and disposition != "attachment" and not filename
        if is_text_body:
            kind = sniff(data)
            if kind not in ("x12", "cxml"):  # EDI pasted into the body counts as an attachment
                if not context or not (self.plain or self.html):  # a bare forward: the forwarded text
                    self._body(part, data, ctype)
                return
        kind = sniff(data)
        if kind == "eml" and depth + 1 <= self.max_depth and ctype not in ("text/plain",):
            inner = parse_message(data)
            if inner is not None:
                subject = " ".join(_header(inner, "Subject").split())[:80]
                label = f"attached message {subject!r}" if subject else "attached message"
                self.walk(inner, numbers, [*context, label], depth=depth + 1)
                return
        if len(self.mail.attachments) >= self.max_attachments:
            if not any(i.code == "TOO_MANY_ATTACHMENTS" for i in self.mail.issues):
                self.mail.issues.append(warning("TOO_MANY_ATTACHMENTS", f"The email has more than "
                                                f"{self.max_attachments} attachments; only the first "
                                                f"{self.max_attachments} were read.", "attachments"))
            return
        name = filename or f"part-{'-'.join(map(str, numbers))}.{_EXTENSION.get(kind, 'bin')}"
        where = f"{_where(numbers, context)} / {name}"
        attachment = Attachment(filename=name, declared_type=ctype, sniffed=kind, data=data, path=where)
        attachment.skipped = self._skip_reason(attachment, filename)
        self.mail.attachments.append(attachment)

    def _skip_reason(self, a: Attachment, filename: str) -> str | None:
        lower = a.filename.lower()
        if a.sniffed == "empty":
            self.mail.issues.append(warning("EMPTY_ATTACHMENT", f"{a.filename} is empty (0 bytes).", a.path))
            return "empty (0 bytes)"
        if a.sniffed == "tnef" or lower == "winmail.dat" or a.declared_type == "application/ms-tnef":
            self.mail.issues.append(warning(
                "TNEF_UNSUPPORTED", f"{a.filename} is an Outlook rich-text wrapper (winmail.dat) that the gateway "
                "cannot open; the files inside it were not read. Ask the sender to switch Outlook to HTML or "
                "plain-text mail for this address, or to attach the PDF again.", a.path))
            return "Outlook winmail.dat wrapper, not supported"
        if filename and _claims(lower, a.declared_type) not in (None, a.sniffed) and a.sniffed != "unknown":
            claimed = _claims(lower, a.declared_type) or ""
            self.mail.issues.append(warning(
                "ATTACHMENT_MISNAMED", f"{a.filename} is named or labelled as {describe(claimed)} but its content "
                f"is {describe(a.sniffed)}; it is treated as what its content is.", a.path))
        elif filename and _claims(lower, a.declared_type) == "pdf" and a.sniffed != "pdf":
            self.mail.issues.append(warning(
                "ATTACHMENT_MISNAMED", f"{a.filename} is named like a PDF but its content is not a PDF "
                f"({describe(a.sniffed)}); it may be damaged.", a.path))
        if a.sniffed in IMAGE_KINDS:
            size = image_size(a.data, a.sniffed)
            if a.size < MIN_IMAGE_BYTES:
                return f"a small image ({a.size // 1024 or 1} KB): a logo or signature, not a scanned order"
            if size is not None and (size[0] < MIN_IMAGE_PIXELS or size[1] < MIN_IMAGE_PIXELS):
                return (f"a small image ({size[0]}x{size[1]} pixels): a logo or signature, "
                        "not a scanned order")
        return None

    def _body(self, part: Message, data: bytes, ctype: str) -> None:
        """The first plain-text part is the body; HTML only stands in when there is no plain text."""
        if ctype == "text/plain" and not self.plain.strip():
            self.plain = _decode_text(part, data[:MAX_BODY_CHARS * 4])
        elif ctype == "text/html" and not self.html:
            self.html = _decode_text(part, data[:MAX_BODY_CHARS * 4])

    def _defect(self, defect: object, numbers: list[int], context: list[str]) -> None:
        where = _where(numbers, context) if numbers else "message"
        text = _defect_text(defect)
        code = "ATTACHMENT_DAMAGED" if "base64" in text.lower() else "MIME_DEFECT"
        message = (f"Part {where} has a damaged base64 encoding ({text}); the file may be incomplete."
                   if code == "ATTACHMENT_DAMAGED" else f"Part {where} is malformed ({text}); it was read as far "
                   "as possible.")
        issue = warning(code, message, where)
        if issue not in self.mail.issues:
            self.mail.issues.append(issue)


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:
        return "application/octet-stream"


def _children(part: Message) -> list[Message]:
    try:
        payload = part.get_payload()
    except Exception:
        return []
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, Message)]
    return []


def _filename(part: Message) -> str:
    """The attachment's name (RFC 2231 and encoded words decoded), path parts and control chars removed."""
    name: object = None
    try:
        name = part.get_filename() or part.get_param("name", header="content-type")
    except Exception:
        name = None
    if isinstance(name, tuple):  # an undecoded RFC 2231 triple
        try:
            name = collapse_rfc2231_value(name)
        except Exception:
            name = None
    if not isinstance(name, str):
        return ""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[:200]


def _payload(part: Message) -> bytes | None:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        return None
    if data is None:
        try:
            raw = part.get_payload()
        except Exception:
            return None
        if isinstance(raw, str):
            return raw.encode("utf-8", "surrogateescape")
        return None
    return data if isinstance(data, bytes) else None


def _decode_text(part: Message, data: bytes) -> str:
    charset = "utf-8"
    try:
        charset = part.get_content_charset() or "utf-8"
        return data.decode(charset, errors="replace")
    except Exception:  # unknown charset names (LookupError) and the like
        return data.decode("utf-8", errors="replace")


def _html_to_text(html: str) -> str:
    html = re.sub(r"(?is)<(script|style)\b.*?</\1\s*>", " ", html[:MAX_BODY_CHARS * 4])
    html = re.sub(r"(?i)<br\s*/?>|</p\s*>|</div\s*>|</tr\s*>", "\n", html)
    text = html_lib.unescape(re.sub(r"<[^>]*>", " ", html))
    return "\n".join(" ".join(line.split()) for line in text.splitlines() if line.strip())


def _claims(lower_name: str, declared: str) -> str | None:
    """What the name or declared type says the file is (only for kinds we would act on)."""
    ext = lower_name.rsplit(".", 1)[-1] if "." in lower_name else ""
    by_ext = {"pdf": "pdf", "png": "png", "jpg": "jpeg", "jpeg": "jpeg", "tif": "tiff", "tiff": "tiff",
              "edi": "x12", "x12": "x12"}.get(ext)
    by_type = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpeg", "image/tiff": "tiff",
               "application/edi-x12": "x12"}.get(declared)
    return by_ext or by_type


def _where(numbers: list[int], context: list[str]) -> str:
    number = "/".join(map(str, numbers)) if numbers else "1"
    return number + "".join(f" ({c})" for c in context)


def _no_usable_message(mail: Mail) -> str:
    fix = ("Please send the purchase order as a PDF (typed or scanned) or as an X12 or cXML file attached to "
           "the email.")
    if not mail.attachments:
        return f"The email has no attachment, so there was no order to read. {fix}"
    listed = []
    for a in mail.attachments:
        if a.skipped:
            why = a.skipped
        elif a.sniffed in USABLE:
            why = describe(a.sniffed)
        else:
            why = f"{describe(a.sniffed)}, not a format we read"
        listed.append(f"{a.filename} ({why})")
    count = len(mail.attachments)
    noun = "attachment" if count == 1 else "attachments"
    return f"No attachment could be read as an order. {count} {noun}: {', '.join(listed)}. {fix}"
