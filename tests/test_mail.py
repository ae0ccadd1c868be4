"""Replies: whom we never answer, the RFC 3834 headers, the texts, and how mail leaves (relay or outbox)."""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterator
from decimal import Decimal
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from gateway.config import MailOutConfig
from gateway.mail import (
    MailSendError,
    build_reply,
    confirmation_text,
    problem_text,
    reply_subject,
    send_mail,
    write_outbox,
)
from mappings.canonical import Document, Line, Source, Totals
from parsers.mime import Mail, unpack
from tests.conftest import SAMPLES

pytestmark = pytest.mark.timeout(30)
US = "orders@edigw.local"


def incoming(**headers: str) -> Mail:
    m = EmailMessage()
    m["From"] = headers.pop("From", "Jane Buyer <jane@buyer.example>")
    m["To"] = US
    m["Subject"] = headers.pop("Subject", "PO 4711")
    m["Message-ID"] = "<po-4711@buyer.example>"
    for name, value in headers.items():
        m[name.replace("_", "-")] = value
    m.set_content("see attached")
    return unpack(m.as_bytes())


def reply(mail: Mail, subject: str | None = None) -> tuple[EmailMessage | None, str | None]:
    return build_reply(mail, from_address=US, subject=subject if subject is not None else mail.subject,
                       body="Thank you.", reply_to_id=mail.message_id)


def test_a_reply_carries_the_rfc_3834_headers_and_threads_under_the_original() -> None:
    mail = incoming(References="<earlier@buyer.example>")
    msg, why_not = reply(mail)
    assert why_not is None and msg is not None
    assert msg["To"] == "Jane Buyer <jane@buyer.example>" and msg["From"] == US
    assert msg["Subject"] == "Re: PO 4711"
    assert msg["Auto-Submitted"] == "auto-replied" and msg["X-Auto-Response-Suppress"] == "All"
    assert msg["In-Reply-To"] == "<po-4711@buyer.example>"
    assert msg["References"] == "<earlier@buyer.example> <po-4711@buyer.example>"
    assert msg["Message-ID"].endswith("@edigw.local>") and msg["Date"] and msg["X-EDIGW-Reply"]
    assert msg["Precedence"] is None
    assert msg.get_content().strip() == "Thank you."


def test_the_subject_gets_one_re() -> None:
    assert reply_subject("Re: Re: AW: PO 4711") == "Re: PO 4711"
    assert reply_subject("Fwd: RE: order") == "Re: order"
    assert reply_subject("") == "Re: your email"
    assert reply_subject("Regarding order 5") == "Re: Regarding order 5"
    msg, _ = reply(incoming(Subject="RE: PO 4711"))
    assert msg is not None and msg["Subject"] == "Re: PO 4711"


def test_reply_to_wins_over_from() -> None:
    msg, _ = reply(incoming(Reply_To="purchasing@buyer.example"))
    assert msg is not None and msg["To"] == "purchasing@buyer.example"


@pytest.mark.parametrize(("headers", "why"), [
    ({"From": "no-reply@shop.example"}, "does not take replies"),
    ({"From": "Shop <NoReply@shop.example>"}, "does not take replies"),
    ({"Reply_To": "donotreply@shop.example"}, "does not take replies"),
    ({"Auto_Submitted": "auto-replied"}, "Auto-Submitted: auto-replied"),
    ({"Auto_Submitted": "auto-generated"}, "automatic message"),
    ({"Precedence": "bulk"}, "bulk or list mail"),
    ({"List_Unsubscribe": "<mailto:leave@list.example>"}, "mailing list"),
    ({"Return_Path": "<>"}, "empty return path"),
    ({"From": "MAILER-DAEMON@mx.example"}, "does not take replies"),
    ({"From": US}, "gateway's own address"),
    ({"X_EDIGW_Reply": "1"}, "would loop"),
])
def test_no_reply_to_machines_lists_ourselves_or_our_own_replies(headers: dict[str, str], why: str) -> None:
    msg, why_not = reply(incoming(**headers))
    assert msg is None and why_not is not None and why in why_not


def test_no_reply_without_a_sender_address() -> None:
    mail = unpack(b"Subject: hello\r\n\r\nno from here")
    msg, why_not = reply(mail)
    assert msg is None and why_not == "it has no readable sender address"


def test_our_reply_coming_back_is_not_answered() -> None:
    first, _ = reply(incoming())
    assert first is not None
    bounced = unpack(first.as_bytes())
    assert bounced.auto_submitted
    assert reply(bounced)[0] is None


def order() -> Document:
    return Document(kind="order", number="4711", po_number="4711", date=dt.date(2026, 11, 20), currency="USD",
                    lines=[Line(line_number="1", quantity=Decimal("12"), uom="EA", unit_price=Decimal("4.50"),
                                description="Widget, blue", item_ids={"buyer_part": "WID-100"}),
                           Line(line_number="2", quantity=Decimal("3.000"), uom="BX", unit_price=Decimal("19.90"),
                                description="Hex bolt M8")],
                    totals=Totals(amount=Decimal("113.70")), source=Source(format="pdf"))


def test_the_confirmation_lists_what_was_understood() -> None:
    text = confirmation_text(incoming(), [order()], attachment="PO-4711.pdf")
    assert text.startswith("Hello Jane Buyer,\n")
    assert 'thank you for your email "PO 4711". This is what we read from it (PO-4711.pdf):' in text
    assert "Purchase order 4711, dated 2026-11-20" in text and "2 lines:" in text
    assert "1. 12 x WID-100 Widget, blue at 4.50 USD" in text
    assert "2. 3 BX x Hex bolt M8 at 19.90 USD" in text
    assert "Total: 113.70 USD" in text and "passed on to our order processing" in text
    review = confirmation_text(incoming(), [order()], under_review=True)
    assert "A colleague is checking" in review


def test_the_problem_text_is_plain_words_without_tracebacks() -> None:
    problems = ["Page 1: the PO number could not be found.",
                "Traceback (most recent call last):\n  File \"x.py\", line 1\nValueError: boom\n"
                "Line 3 has no quantity.",
                "Page 1: the PO number could not be found."]
    text = problem_text(incoming(), problems, attachment="PO-4711.pdf")
    assert "could not read the order in it (PO-4711.pdf)" in text
    assert "  - Page 1: the PO number could not be found.\n  - Line 3 has no quantity.\n" in text
    assert "Traceback" not in text and "ValueError" not in text and 'File "' not in text
    assert "What you can do:" in text


def test_the_outbox_gets_a_complete_eml_a_person_can_open(tmp_path: Path) -> None:
    msg, _ = reply(incoming())
    assert msg is not None
    where = send_mail(msg, MailOutConfig(outbox=tmp_path / "outbox"))
    path = Path(where)
    assert path.parent == tmp_path / "outbox" and path.suffix == ".eml"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left behind
    parsed = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    assert parsed["Subject"] == "Re: PO 4711" and parsed["Auto-Submitted"] == "auto-replied"
    second = write_outbox(msg, tmp_path / "outbox")
    assert second != path


def test_an_unwritable_outbox_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    msg, _ = reply(incoming())
    assert msg is not None
    with pytest.raises(MailSendError, match="outbox"):
        send_mail(msg, MailOutConfig(outbox=blocker / "outbox"))


class Recorder:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.messages.append((envelope.mail_from or "", list(envelope.rcpt_tos), envelope.original_content or b""))
        return "250 OK"


@pytest.fixture
def relay() -> Iterator[tuple[Recorder, int]]:
    recorder = Recorder()

    def authenticator(server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                      auth_data: Any) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"gw", b"relay-pw")
        return AuthResult(success=ok, handled=False)

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(recorder, hostname="127.0.0.1", port=port, authenticator=authenticator,
                            auth_require_tls=False)
    controller.start()
    yield recorder, port
    controller.stop()


def test_the_relay_gets_the_reply_with_a_null_envelope_sender(relay: tuple[Recorder, int],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    recorder, port = relay
    msg, _ = reply(incoming())
    assert msg is not None
    monkeypatch.setenv("EDIGW_RELAY_PASSWORD", "relay-pw")
    config = MailOutConfig(relay_host="127.0.0.1", relay_port=port, relay_user="gw", relay_timeout_seconds=5)
    where = send_mail(msg, config)
    assert where == f"relay 127.0.0.1:{port} {msg['Message-ID']}"
    [(mail_from, rcpts, content)] = recorder.messages
    assert mail_from == "<>" and rcpts == ["jane@buyer.example"]  # MAIL FROM:<>, as RFC 3834 asks
    assert BytesParser(policy=policy.default).parsebytes(content)["In-Reply-To"] == "<po-4711@buyer.example>"


def test_relay_failures_say_what_to_check(relay: tuple[Recorder, int]) -> None:
    _, port = relay
    msg, _ = reply(incoming())
    assert msg is not None
    with pytest.raises(MailSendError, match="relay_user and EDIGW_RELAY_PASSWORD"):
        send_mail(msg, MailOutConfig(relay_host="127.0.0.1", relay_port=port, relay_user="gw",
                                     relay_password="wrong", relay_timeout_seconds=5))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    with pytest.raises(MailSendError, match="could not be reached"):
        send_mail(msg, MailOutConfig(relay_host="127.0.0.1", relay_port=closed, relay_timeout_seconds=5))


def test_samples_reply_decisions() -> None:
    assert reply(unpack((SAMPLES / "eml" / "auto-reply.eml").read_bytes()))[0] is None
    msg, _ = reply(unpack((SAMPLES / "eml" / "po-pdf.eml").read_bytes()))
    assert msg is not None and msg["Subject"] == "Re: Purchase order 4711"
