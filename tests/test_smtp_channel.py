"""The SMTP channel in real SMTP conversations on loopback: stored before 250, refusals said in SMTP."""

from __future__ import annotations

import datetime as dt
import smtplib
import ssl
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import col, select

from gateway.channels import smtp as smtp_module
from gateway.channels.smtp import SmtpChannel, check_password, hash_password
from gateway.config import Config, ConfigError
from gateway.intake import Received
from gateway.store.db import make_engine, migrate, session_scope
from gateway.store.models import ExceptionRecord, ItemState, ReceivedItem
from parsers.mime import unpack
from tests.conftest import make_config

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = make_engine(f"sqlite:///{tmp_path / 'store.sqlite'}")
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def cfg(tmp_path: Path) -> Config:
    config = make_config(tmp_path)
    config.smtp.port = 0
    config.smtp.host = "127.0.0.1"
    config.mail_out.outbox = tmp_path / "outbox"
    return config


class Running:
    def __init__(self, config: Config, engine: Engine) -> None:
        self.received: list[Received] = []
        self.channel = SmtpChannel(config, engine, self.received.append)
        self.engine = engine

    def client(self) -> smtplib.SMTP:
        return smtplib.SMTP("127.0.0.1", self.channel.port, timeout=10)

    def items(self) -> list[ReceivedItem]:
        with session_scope(self.engine) as s:
            return list(s.exec(select(ReceivedItem).order_by(col(ReceivedItem.received_at))).all())


@pytest.fixture
def served(cfg: Config, engine: Engine) -> Iterator[Running]:
    running = Running(cfg, engine)
    running.channel.start()
    yield running
    running.channel.stop()


def order_mail(msg_id: str = "<po-1@buyer.example>", body: str = "Order attached.\n") -> bytes:
    m = EmailMessage()
    m["From"] = "Jane Buyer <jane@buyer.example>"
    m["To"] = "orders@edigw.local"
    m["Subject"] = "PO 1"
    m["Message-ID"] = msg_id
    m.set_content(body)
    m.add_attachment(b"%PDF-1.4\n" + b"0" * 500, maintype="application", subtype="pdf", filename="po.pdf")
    return m.as_bytes().replace(b"\n", b"\r\n")


def test_accepted_mail_is_in_the_store_when_the_client_gets_250(served: Running) -> None:
    raw = order_mail()
    with served.client() as c:
        c.ehlo("mx.buyer.example")
        code, text = c.mail("jane@buyer.example")
        assert code == 250
        assert c.rcpt("Orders@EDIGW.local")[0] == 250
        code, text = c.data(raw)
        # Nothing else has happened in between: the item was committed before the 250 was written.
        [item] = served.items()
    assert code == 250 and item.id in text.decode()
    assert item.channel == "smtp" and item.state == ItemState.RECEIVED and item.partner_id is None
    assert item.source_name == "<po-1@buyer.example> from jane@buyer.example"
    assert item.raw.startswith(b"Return-Path: <jane@buyer.example>\r\nDelivered-To: Orders@EDIGW.local\r\n")
    assert item.raw.endswith(raw.rstrip(b"\r\n") + b"\r\n")
    assert [r.item_id for r in served.received] == [item.id]


def test_overlong_lines_are_accepted(served: Running) -> None:
    raw = order_mail().replace(b"Order attached.", b"<p>" + b"x" * 5000 + b"</p>")
    with served.client() as c:
        c.sendmail("jane@buyer.example", ["orders@edigw.local"], raw)
    [item] = served.items()
    assert item.raw.endswith(raw)


def test_a_bounce_is_stored_with_an_empty_return_path_and_is_never_answered(served: Running) -> None:
    with served.client() as c:
        c.sendmail("", ["orders@edigw.local"], order_mail())
    [item] = served.items()
    assert item.raw.startswith(b"Return-Path: <>\r\n") and item.source_name.endswith(" from <>")
    assert "empty return path" in (unpack(item.raw).no_reply_reason or "")


def test_an_unknown_recipient_is_refused_at_rcpt_with_the_addresses_we_take(served: Running,
                                                                            cfg: Config) -> None:
    cfg.smtp.accept.append("@buyers.edigw.local")
    with served.client() as c:
        c.ehlo()
        c.mail("jane@buyer.example")
        code, text = c.rcpt("sales@edigw.local")
        assert code == 550 and b"5.1.1" in text and b"orders@edigw.local" in text
        assert c.rcpt("anyone@buyers.edigw.local")[0] == 250
    with pytest.raises(smtplib.SMTPRecipientsRefused), served.client() as c:
        c.sendmail("jane@buyer.example", ["sales@edigw.local"], order_mail())
    assert served.items() == []


def test_oversized_mail_is_refused_with_552_and_ops_see_it_without_its_content(cfg: Config,
                                                                               engine: Engine) -> None:
    cfg.smtp.max_message_bytes = 4096
    running = Running(cfg, engine)
    running.channel.start()
    try:
        big = order_mail(body="x" * 70 + "\n") + (b"y" * 70 + b"\r\n") * 100
        with running.client() as c:
            c.ehlo()
            c.mail("jane@buyer.example")  # no SIZE= announced: the limit is enforced while reading DATA
            c.rcpt("orders@edigw.local")
            code, _ = c.data(big)
            assert code == 552
        with pytest.raises(smtplib.SMTPSenderRefused) as refused, running.client() as c:
            c.sendmail("jane@buyer.example", ["orders@edigw.local"], big)  # SIZE= announced: refused at MAIL
        assert refused.value.smtp_code == 552 and b"5.3.4" in refused.value.smtp_error
        assert running.received == []  # nothing reaches the pipeline
        items = running.items()
        assert len(items) == 2 and all(i.state == ItemState.EXCEPTION for i in items)
        assert all(b"yyyy" not in i.raw for i in items)  # the content was never kept
        with session_scope(engine) as session:
            found = session.exec(select(ExceptionRecord)).all()
        assert [e.code for e in found] == ["MAIL_TOO_LARGE"] * 2
        assert all("jane@buyer.example" in e.message and "4 KB limit ([smtp] max_message_bytes)" in e.message
                   for e in found)
        assert "to orders@edigw.local" in found[0].message or "to orders@edigw.local" in found[1].message
    finally:
        running.channel.stop()


def test_auth_required_refuses_unauthenticated_mail_and_wrong_passwords(cfg: Config, engine: Engine,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    cfg.smtp.auth_required = True
    cfg.smtp.auth_plaintext_on_loopback = True
    cfg.smtp.users = {"scanner": hash_password("s3cret")}
    monkeypatch.setenv("EDIGW_SMTP_PASSWORD", "from-env")
    running = Running(cfg, engine)
    running.channel.start()
    try:
        with running.client() as c:
            c.ehlo()
            code, _ = c.mail("jane@buyer.example")
            assert code == 530
            with pytest.raises(smtplib.SMTPAuthenticationError) as wrong:
                c.login("scanner", "guess")
            assert wrong.value.smtp_code == 535
        with running.client() as c:
            c.login("scanner", "s3cret")
            c.sendmail("scan@buyer.example", ["orders@edigw.local"], order_mail())
        with running.client() as c:
            c.login("edigw", "from-env")  # [smtp] user with EDIGW_SMTP_PASSWORD
            c.sendmail("scan@buyer.example", ["orders@edigw.local"], order_mail("<po-2@buyer.example>"))
        assert len(running.items()) == 2
    finally:
        running.channel.stop()


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "edigw.local")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "smtp.crt", tmp_path / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_starttls_then_auth(cfg: Config, engine: Engine, tmp_path: Path) -> None:
    cfg.smtp.starttls = True
    cfg.smtp.tls_cert, cfg.smtp.tls_key = self_signed(tmp_path)
    cfg.smtp.auth_required = True
    cfg.smtp.users = {"buyer": "plain-for-first-setup"}
    running = Running(cfg, engine)
    running.channel.start()
    client_tls = ssl.create_default_context()
    client_tls.check_hostname = False
    client_tls.verify_mode = ssl.CERT_NONE
    try:
        with running.client() as c:
            c.ehlo()
            assert c.has_extn("starttls") and not c.has_extn("auth")  # no passwords in the clear
            c.starttls(context=client_tls)
            c.ehlo()
            assert c.has_extn("auth")
            c.login("buyer", "plain-for-first-setup")
            raw = order_mail()
            c.sendmail("jane@buyer.example", ["orders@edigw.local"], raw)
        [item] = running.items()
        assert item.raw.endswith(raw)
    finally:
        running.channel.stop()


def test_misconfigured_auth_or_tls_is_a_config_error_that_says_what_to_set(cfg: Config, engine: Engine) -> None:
    cfg.smtp.auth_required = True
    cfg.smtp.users = {"a": "b"}
    with pytest.raises(ConfigError, match="needs starttls = true"):
        SmtpChannel(cfg, engine, lambda r: None).start()
    cfg.smtp.auth_required = False
    cfg.smtp.starttls = True
    with pytest.raises(ConfigError, match="needs tls_cert and tls_key"):
        SmtpChannel(cfg, engine, lambda r: None).start()


def test_a_store_failure_answers_451_and_the_retry_is_stored(served: Running,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    real = smtp_module.receive
    failures = iter([True])

    def flaky(*args: object, **kwargs: object) -> Received:
        if next(failures, False):
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(smtp_module, "receive", flaky)
    with served.client() as c:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            c.sendmail("jane@buyer.example", ["orders@edigw.local"], order_mail())
        assert refused.value.smtp_code == 451 and b"try again later" in refused.value.smtp_error
        assert served.items() == []
        c.rset()
        c.sendmail("jane@buyer.example", ["orders@edigw.local"], order_mail())  # the sender's retry
    [item] = served.items()
    assert item.state == ItemState.RECEIVED and len(served.received) == 1


def test_duplicate_deliveries_are_recognised(served: Running) -> None:
    raw = order_mail()
    relayed = b"Received: from mx2.buyer.example by relay.example; Fri, 20 Nov 2026 10:00:00 +0000\r\n" + raw
    changed = order_mail(body="A different order with a re-used Message-ID.\n")
    with served.client() as c:
        for message in (raw, raw, relayed, changed):
            c.sendmail("jane@buyer.example", ["orders@edigw.local"], message)
    first, same, via_relay, different = served.items()
    assert first.state == ItemState.RECEIVED
    assert (same.state, same.duplicate_of) == (ItemState.DUPLICATE, first.id)
    assert (via_relay.state, via_relay.duplicate_of) == (ItemState.DUPLICATE, first.id)
    assert "only relay trace headers differ" in via_relay.summary
    assert different.state == ItemState.RECEIVED and different.duplicate_of is None
    assert [r.state for r in served.received] == ["received", "duplicate", "duplicate", "received"]


def test_concurrent_senders_are_all_stored(served: Running) -> None:
    errors: list[Exception] = []

    def send(n: int) -> None:
        try:
            with served.client() as c:
                c.sendmail(f"s{n}@buyer.example", ["orders@edigw.local"], order_mail(f"<po-{n}@buyer.example>"))
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert not errors and len(served.items()) == 8


def test_connections_beyond_the_limit_are_told_to_try_later(cfg: Config, engine: Engine) -> None:
    cfg.smtp.max_connections = 2
    running = Running(cfg, engine)
    running.channel.start()
    try:
        first, second = running.client(), running.client()
        first.ehlo()
        second.ehlo()
        with pytest.raises(smtplib.SMTPConnectError) as refused:
            running.client()
        assert refused.value.smtp_code == 421
        first.quit()
        second.sendmail("jane@buyer.example", ["orders@edigw.local"], order_mail())
        second.quit()
        deadline = time.monotonic() + 5
        while running.channel.open_sessions and time.monotonic() < deadline:
            time.sleep(0.02)
        with running.client() as c:
            c.sendmail("jane@buyer.example", ["orders@edigw.local"], order_mail("<po-9@buyer.example>"))
        assert len(running.items()) == 2
    finally:
        running.channel.stop()


def test_password_hashes() -> None:
    stored = hash_password("pw")
    assert stored.startswith("scrypt$") and "pw" not in stored.split("$", 4)[-1]
    assert check_password(stored, "pw") and not check_password(stored, "PW")
    assert check_password("plain", "plain") and not check_password("scrypt$broken", "x")


def test_edigw_serve_runs_the_smtp_channel(cfg: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway.service import Gateway

    monkeypatch.delenv("EDIGW_DATABASE_URL", raising=False)
    gw = Gateway(cfg)
    gw.start()
    try:
        assert gw.smtp is not None
        with smtplib.SMTP("127.0.0.1", gw.smtp.port, timeout=10) as c:
            c.sendmail("jane@buyer.example", ["orders@edigw.local"], order_mail())
        with session_scope(gw.engine) as s:
            assert [i.channel for i in s.exec(select(ReceivedItem)).all()] == ["smtp"]
    finally:
        gw.stop()
