"""Outgoing mail: replies to the people who email us orders, and the way they leave the gateway.

The rules that keep an automatic responder from doing harm (RFC 3834) live here: never answer an
automatic message, a list, a bounce, a no-reply address, ourselves or one of our own replies; mark
every reply `Auto-Submitted: auto-replied` and send it with a null envelope sender so that whatever
bounces or auto-answers it cannot start a loop. No `Precedence` header is set: RFC 3834 does not
define one for responses, and "bulk"/"junk" make some providers file the reply as spam.

Texts are plain English for a buyer, not an EDI analyst: what was understood (PO number, lines,
total) or what could not be read and what they can do about it.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import smtplib
import ssl
import tempfile
from collections.abc import Iterable
from decimal import Decimal
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, getaddresses, make_msgid
from pathlib import Path
from typing import NamedTuple

from gateway.config import MailOutConfig
from mappings.canonical import Document, Line
from parsers.mime import Mail

LOOP_HEADER = "X-EDIGW-Reply"
MAX_LINES_LISTED = 20
MAX_PROBLEMS_LISTED = 10
_REPLY_PREFIX = re.compile(r"^\s*((re|aw|sv|antw|réf|ref|vs|fwd?|wg|tr)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
_NO_REPLY_LOCAL = re.compile(r"^(?:no[-_.]?reply|do[-_.]?not[-_.]?reply|mailer[-_]daemon|postmaster|bounces?)"
                             r"(?:[-+._].*)?$", re.IGNORECASE)


class MailSendError(RuntimeError):
    """A reply could not be handed to the relay or written to the outbox; the message says where and why."""


class ReplyDecision(NamedTuple):
    """The reply to send, or None and the reason not to (unpacks as `message, why_not`)."""

    message: EmailMessage | None
    reason: str | None


# --- deciding and building -----------------------------------------------------------------------------
def reply_subject(subject: str) -> str:
    """ "Re: " once, whatever reply/forward prefixes the subject already carries ("Re: AW: Fwd: x" -> "Re: x")."""
    core = _REPLY_PREFIX.sub("", " ".join(subject.split())).strip()
    return f"Re: {core or 'your email'}"[:200]


def why_not_reply(original: Mail, *, from_address: str, own_addresses: Iterable[str] = ()) -> str | None:
    """Why this email must get no automatic answer, or None when answering is safe."""
    if original.no_reply_reason:
        return original.no_reply_reason
    if original.from_gateway:
        return "it is one of the gateway's own replies coming back"
    to = (original.reply_address or "").lower()
    if not to or "@" not in to:
        return "it has no sender address to answer"
    ours = {a.strip().lower() for a in [from_address, *own_addresses] if a}
    if to in ours or (original.from_address or "").lower() in ours:
        return f"it came from the gateway's own address {to}: answering would loop"
    if _NO_REPLY_LOCAL.match(to.partition("@")[0]):
        return f"the reply address {to} does not take replies"
    return None


def build_reply(original: Mail, *, from_address: str, subject: str, body: str, reply_to_id: str | None = None,
                own_addresses: Iterable[str] = ()) -> ReplyDecision:
    """The answer to `original` (RFC 3834 headers set), or None with the reason it must not be answered.

    `subject` is the original's subject (or our own words); it gets one "Re: ". The reply goes to
    Reply-To when the sender set one, else to From. `reply_to_id` defaults to the original's
    Message-ID and threads the reply (In-Reply-To, References).
    """
    reason = why_not_reply(original, from_address=from_address, own_addresses=own_addresses)
    if reason:
        return ReplyDecision(None, reason)
    to = (original.reply_address or "").lower()
    parent_id = reply_to_id or original.message_id
    msg = EmailMessage()
    try:
        msg["From"] = from_address
        msg["To"] = formataddr((original.from_display, to)) if to == original.from_address else to
        msg["Subject"] = reply_subject(subject)
        msg["Date"] = format_datetime(dt.datetime.now(dt.UTC))
        msg["Message-ID"] = make_msgid(idstring="edigw", domain=from_address.rpartition("@")[2] or "edigw.local")
        if parent_id:
            msg["In-Reply-To"] = parent_id
            msg["References"] = " ".join([*[r for r in original.references if r != parent_id][-9:], parent_id])
        msg["Auto-Submitted"] = "auto-replied"
        msg["X-Auto-Response-Suppress"] = "All"
        msg[LOOP_HEADER] = "1"
        msg.set_content(body, cte="quoted-printable" if not body.isascii() else "7bit")
    except (ValueError, TypeError) as exc:  # a header value the email package refuses (e.g. a broken address)
        return ReplyDecision(None, f"the reply could not be built: {exc}")
    return ReplyDecision(msg, None)


# --- the texts -----------------------------------------------------------------------------------------
def _greeting(mail: Mail) -> str:
    name = mail.from_display.strip().strip('"')
    if name and "@" not in name and len(name) <= 60:
        return f"Hello {name},"
    return "Hello,"


def _number(value: Decimal | None) -> str:
    if value is None:
        return ""
    text = format(value.normalize(), "f") if value == value.to_integral_value() else format(value, "f")
    return text


def _line_text(line: Line, currency: str | None) -> str:
    item = next(iter(line.item_ids.values()), "")
    what = " ".join(p for p in (item, line.description or "") if p) or "(no description)"
    qty = _number(line.quantity)
    unit = f" {line.uom}" if line.uom and line.uom.upper() not in ("EA", "EACH", "PCE", "PC") else ""
    text = f"{qty or '?'}{unit} x {what}"
    if line.unit_price is not None:
        text += f" at {_number(line.unit_price)}" + (f" {currency}" if currency else "")
    return text


def _document_text(doc: Document) -> list[str]:
    kind = {"order": "Purchase order", "invoice": "Invoice", "ship_notice": "Ship notice",
            "order_response": "Order response", "receipt": "Receiving advice"}.get(doc.kind, "Document")
    head = f"{kind} {doc.number or doc.po_number or '(no number found)'}"
    if doc.date:
        head += f", dated {doc.date:%Y-%m-%d}"
    out = [head]
    count = len(doc.lines)
    out.append(f"{count} line{'s' if count != 1 else ''}:" if count else "No order lines were found.")
    for n, line in enumerate(doc.lines[:MAX_LINES_LISTED], 1):
        out.append(f"  {line.line_number or n}. {_line_text(line, doc.currency)}")
    if count > MAX_LINES_LISTED:
        out.append(f"  ... and {count - MAX_LINES_LISTED} more")
    if doc.totals.amount is not None:
        out.append(f"Total: {_number(doc.totals.amount)}" + (f" {doc.currency}" if doc.currency else ""))
    return out


def confirmation_text(mail: Mail, documents: list[Document], *, attachment: str = "",
                      under_review: bool = False) -> str:
    """What we understood from the email: per document its number, lines (qty x item at price) and total."""
    source = f" ({attachment})" if attachment else ""
    subject = f' "{mail.subject}"' if mail.subject else ""
    lines = [_greeting(mail), "", f"thank you for your email{subject}. This is what we read from it{source}:", ""]
    for doc in documents:
        lines += [f"  {t}" for t in _document_text(doc)]
        lines.append("")
    if under_review:
        lines.append("A colleague is checking a few details before the order goes into our system. You do not "
                     "need to do anything; we will contact you if something is unclear.")
    else:
        lines.append("It has been passed on to our order processing.")
    lines += ["", "If anything above is not what you ordered, please reply to this email and tell us what to "
              "change.", "", "This is an automatic message from our order gateway."]
    return "\n".join(lines) + "\n"


_TECHNICAL = re.compile(r"^(Traceback|  File \"|\w+(Error|Exception):)")


def problem_text(mail: Mail, problems: list[str], *, attachment: str = "") -> str:
    """What could not be read, in plain words (no stack traces, no codes), and what the sender can do."""
    cleaned: list[str] = []
    for problem in problems:
        text = "\n".join(ln for ln in str(problem).splitlines() if not _TECHNICAL.match(ln)).strip()
        text = " ".join(text.split())
        if len(text) > 400:
            text = text[:397].rsplit(" ", 1)[0] + "..."
        if text and text not in cleaned:
            cleaned.append(text)
    source = f" ({attachment})" if attachment else ""
    subject = f' "{mail.subject}"' if mail.subject else ""
    lines = [_greeting(mail), "", f"we received your email{subject}, but could not read the order in it{source}."]
    if cleaned:
        lines += ["", "What we could not read:"]
        lines += [f"  - {p}" for p in cleaned[:MAX_PROBLEMS_LISTED]]
        if len(cleaned) > MAX_PROBLEMS_LISTED:
            lines.append(f"  - ... and {len(cleaned) - MAX_PROBLEMS_LISTED} more")
    lines += ["", "What you can do:",
              "  - Send the order again as a PDF saved from your ordering system (rather than a photo), attached "
              "to the email;",
              "  - or, if it was a scan, scan it again straight and at a higher resolution (300 dpi);",
              "  - or simply reply to this email: a colleague has been told and will look at it.",
              "", "This is an automatic message from our order gateway."]
    return "\n".join(lines) + "\n"


# --- sending -------------------------------------------------------------------------------------------
def _recipients(msg: EmailMessage) -> list[str]:
    fields = [str(v) for name in ("To", "Cc", "Bcc") for v in (msg.get_all(name) or [])]
    return [addr for _, addr in getaddresses(fields) if "@" in addr]


def _safe_name(message_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", message_id.strip("<>"))[:120] or "message"


def send_mail(msg: EmailMessage, config: MailOutConfig) -> str:
    """Hand one message to the relay, or (no relay configured) write it to the outbox; returns where it went."""
    if not msg["Message-ID"]:
        msg["Message-ID"] = make_msgid(domain=config.from_address.rpartition("@")[2] or "edigw.local")
    if config.relay_host:
        return _relay(msg, config)
    return str(write_outbox(msg, config.outbox))


def _relay(msg: EmailMessage, config: MailOutConfig) -> str:
    where = f"{config.relay_host}:{config.relay_port}"
    to = _recipients(msg)
    if not to:
        raise MailSendError(f"message {msg['Message-ID']} has no recipient address; nothing was sent")
    try:
        with smtplib.SMTP(config.relay_host, config.relay_port, timeout=config.relay_timeout_seconds) as smtp:
            smtp.ehlo()
            if config.relay_starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if config.relay_user:
                smtp.login(config.relay_user, config.password)
            smtp.send_message(msg, from_addr=config.envelope_from, to_addrs=to)
    except smtplib.SMTPAuthenticationError as exc:
        raise MailSendError(f"relay {where} refused user {config.relay_user!r}: {exc.smtp_code} "
                            f"{exc.smtp_error!r}; check [mail_out] relay_user and EDIGW_RELAY_PASSWORD") from exc
    except smtplib.SMTPResponseException as exc:
        raise MailSendError(f"relay {where} refused the reply to {', '.join(to)}: {exc.smtp_code} "
                            f"{exc.smtp_error!r}") from exc
    except smtplib.SMTPRecipientsRefused as exc:
        raise MailSendError(f"relay {where} refused the recipients {', '.join(exc.recipients)}") from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise MailSendError(f"relay {where} could not be reached or failed ({exc}); check [mail_out] relay_host, "
                            "relay_port and relay_starttls") from exc
    return f"relay {where} {msg['Message-ID']}"


def write_outbox(msg: EmailMessage, outbox: Path) -> Path:
    """Write `<outbox>/<UTC timestamp>-<message-id>.eml` whole or not at all (temp file, fsync, rename)."""
    try:
        outbox.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
        target = outbox / f"{stamp}-{_safe_name(str(msg['Message-ID'] or ''))}.eml"
        fd, tmp = tempfile.mkstemp(dir=outbox, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(msg.as_bytes())
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise MailSendError(f"the reply could not be written to the outbox {outbox}: {exc.strerror or exc}; "
                            "check [mail_out] outbox and the folder's permissions") from exc
    return target
