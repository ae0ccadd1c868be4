"""SMTP channel: customers' mail servers deliver purchase orders to the gateway (aiosmtpd).

A message is answered `250 OK` only after its bytes are committed to the store, so a sender that
gets 250 can forget the mail and one that does not will retry. What the channel refuses, it refuses
in the SMTP dialogue where the sending server reports it to the person: an unknown recipient at RCPT
(550), too much data (552), a wrong password (535). A store that cannot write answers 451 (try later):
the mail stays in the sender's queue, nothing is lost.

The stored bytes are the message as received with `Return-Path` (the envelope sender) and
`Delivered-To` (each accepted recipient) prepended, as a final-delivery MTA does: the reply step
needs the envelope sender (RFC 3834: never answer a null sender) and the recipient may be a Bcc.
Both are deterministic, so the same message delivered twice is still byte-identical.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import ipaddress
import logging
import os
import ssl
import warnings
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, AnyStr

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from sqlalchemy import Engine
from sqlmodel import Session as SqlSession

from gateway.config import Config, ConfigError, SmtpConfig
from gateway.intake import Received, receive, record_refused
from gateway.store import repo
from gateway.store.db import session_scope
from gateway.store.models import ReceivedItem
from parsers.mime import content_digest, message_id

log = logging.getLogger("edigw.smtp")

OnReceived = Callable[[Received], None]


class _AiosmtpdNoise(logging.Filter):
    """aiosmtpd warns on every AUTH about its own deprecated attribute; nothing an operator can act on."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "login_data is deprecated" not in record.getMessage()


logging.getLogger("mail.log").addFilter(_AiosmtpdNoise())


# --- passwords -----------------------------------------------------------------------------------------
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """A value for `[smtp] users` that does not reveal the password: "scrypt$n$r$p$salt$hash"."""
    salt = salt or os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    return "scrypt${n}${r}${p}${salt}${hash}".format(**_SCRYPT, salt=base64.b64encode(salt).decode(),
                                                     hash=base64.b64encode(digest).decode())


def check_password(stored: str, given: str) -> bool:
    """Compare in constant time against a scrypt hash, or against a plain password (first setup only)."""
    if stored.startswith("scrypt$"):
        try:
            _, n, r, p, salt, expected = stored.split("$")
            digest = hashlib.scrypt(given.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                                    dklen=len(base64.b64decode(expected)))
        except (ValueError, TypeError):
            log.error("[smtp] users: a stored password hash is malformed; make it again with hash_password()")
            return False
        return hmac.compare_digest(digest, base64.b64decode(expected))
    return hmac.compare_digest(stored.encode(), given.encode())


# --- storing a delivery --------------------------------------------------------------------------------
def source_name(msg_id: str | None, mail_from: str) -> str:
    return f"{msg_id or ''} from {mail_from or '<>'}"


def with_trace_headers(content: bytes, mail_from: str, rcpt_tos: list[str]) -> bytes:
    trace = f"Return-Path: <{mail_from}>\r\n" + "".join(f"Delivered-To: {r}\r\n" for r in rcpt_tos)
    return trace.encode("utf-8", "replace") + content


def store_message(engine: Engine, raw: bytes, *, mail_from: str) -> Received:
    """Commit one delivery; a second delivery of the same message is stored as its duplicate.

    Identical bytes are recognised by `intake.receive` (sha256; with no partner at intake, identical
    bytes from anyone are the same message). A message relayed twice differs in its trace headers,
    so a delivery with the same Message-ID as an earlier SMTP item whose *content digest* (the bytes
    without Received, Return-Path, Delivered-To, DKIM/ARC... see `parsers.mime.content_digest`) is
    equal is a duplicate of it too. The Message-ID narrows the candidates to a handful; the digest
    makes sure a sender re-using a Message-ID for different content is not silently dropped. Both
    checks run in the transaction that stores the item.
    """
    msg_id = message_id(raw)

    def earlier_delivery(session: SqlSession) -> ReceivedItem | None:
        if not msg_id:
            return None
        digest = content_digest(raw)
        return next((e for e in repo.smtp_deliveries(session, msg_id) if content_digest(e.raw) == digest), None)

    return receive(engine, raw, channel="smtp", source_name=source_name(msg_id, mail_from), same_as=earlier_delivery,
                   message_id=msg_id)


# --- the SMTP dialogue ---------------------------------------------------------------------------------
class _Handler:
    """aiosmtpd hooks: RCPT against the accepted addresses, DATA into the store (off the event loop)."""

    def __init__(self, channel: SmtpChannel) -> None:
        self.channel = channel
        self.smtp = channel.config.smtp

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        if not self.smtp.accepts(address):
            ours = ", ".join(a for a in self.smtp.accept[:3])
            return (f"550 5.1.1 <{address}>: no such mailbox at this order gateway; "
                    f"send orders to {ours}")
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        mail_from = (envelope.mail_from or "").strip("<>")  # aiosmtpd keeps the null sender as "<>"
        raw = with_trace_headers(content, mail_from, list(envelope.rcpt_tos))
        loop = asyncio.get_running_loop()
        try:
            received = await loop.run_in_executor(self.channel.executor, self.channel.store, raw, mail_from)
        except Exception:
            log.exception("could not store a %d-byte message from <%s>; answered 451 so the sender retries",
                          len(raw), mail_from)
            return "451 4.3.0 The gateway cannot store mail right now; please try again later"
        try:
            await loop.run_in_executor(self.channel.executor, self.channel.on_received, received)
        except Exception:  # stored: the pipeline's restart recovery picks it up
            log.exception("item %s stored but not handed to the pipeline; it resumes at the next start",
                          received.item_id)
        if received.duplicate_of:
            log.info("mail from <%s> is a duplicate of %s (stored as %s)", mail_from, received.duplicate_of,
                     received.item_id)
        return f"250 OK queued as {received.item_id}"


class _LimitedSMTP(SMTP):
    """aiosmtpd's SMTP session, turned away with 421 when `max_connections` sessions are already open.

    Each open session may hold a whole message in memory, so capping sessions bounds memory; the
    sender's server retries later. Runs on the event loop thread only, so a plain counter suffices.
    Lines longer than RFC 5322's 998 characters (HTML mail from some clients) are accepted rather than
    bounced: the message size limit still bounds memory.
    """

    line_length_limit = 1024 * 1024

    def __init__(self, handler: Any, *, channel: SmtpChannel, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._channel = channel
        self._holds_slot = False
        self._turned_away = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self.transport is None and not self._holds_slot:  # a new connection (not the STARTTLS upgrade)
            if self._channel.open_sessions >= self._channel.config.smtp.max_connections:
                self._turned_away = True
                if isinstance(transport, asyncio.WriteTransport):
                    transport.write(b"421 4.3.2 Too many connections to the order gateway; try again later\r\n")
                transport.close()
                log.warning("SMTP connection from %s turned away: %d sessions open",
                            transport.get_extra_info("peername"), self._channel.open_sessions)
                return
            self._channel.open_sessions += 1
            self._holds_slot = True
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        if self._turned_away:
            return
        if self._holds_slot:
            self._holds_slot = False
            self._channel.open_sessions -= 1
        super().connection_lost(error)

    def data_received(self, data: bytes) -> None:
        if not self._turned_away:
            super().data_received(data)

    def eof_received(self) -> bool | None:
        return None if self._turned_away else super().eof_received()

    async def smtp_MAIL(self, arg: str) -> None:
        self._mail_arg = arg or ""  # kept for a refusal at MAIL (SIZE= over the limit), which has no hook
        await super().smtp_MAIL(arg)

    async def push(self, status: AnyStr) -> None:
        """aiosmtpd answers an oversized message with 552 and offers no hook; ops still hear of it."""
        text = status.decode("ascii", "replace") if isinstance(status, bytes) else str(status)
        at_data = text.startswith("552 Error: Too much mail data")
        at_mail = text.startswith("552 Error: message size exceeds")
        if (at_data or at_mail) and self.envelope is not None:
            limit = self._channel.config.smtp.max_message_bytes
            if at_data:
                mail_from, rcpt_tos = (self.envelope.mail_from or "").strip("<>"), list(self.envelope.rcpt_tos)
            else:
                mail_from = getattr(self, "_mail_arg", "").partition("<")[2].partition(">")[0]
                rcpt_tos = []
            text = (f"552 5.3.4 Message larger than this order gateway accepts ({_size(limit)}); "
                    "please send the order as a smaller PDF")
            try:
                await asyncio.get_running_loop().run_in_executor(self._channel.executor, self._channel.refused,
                                                                 mail_from, rcpt_tos)
            except Exception:
                log.exception("could not record the oversized message from <%s> in the inbox", mail_from)
        await super().push(text)


class _Controller(Controller):
    """aiosmtpd's threaded controller, able to listen on port 0 (any free port) and report it."""

    def __init__(self, handler: Any, *, channel: SmtpChannel, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._channel = channel

    def factory(self) -> SMTP:
        return _LimitedSMTP(self.handler, channel=self._channel, **self.SMTP_kwargs)

    def _create_server(self) -> Awaitable[asyncio.AbstractServer]:
        pending = super()._create_server()

        async def bound() -> asyncio.AbstractServer:
            server = await pending
            sockets = getattr(server, "sockets", None)
            if sockets:
                self.port = int(sockets[0].getsockname()[1])
            return server

        return bound()


def _size(limit: int) -> str:
    return f"{limit / 1048576:.0f} MB" if limit >= 1048576 else f"{limit // 1024} KB"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def tls_context(smtp: SmtpConfig) -> ssl.SSLContext | None:
    """The server's TLS context for STARTTLS, or None when STARTTLS is off."""
    if not smtp.starttls:
        return None
    if smtp.tls_cert is None or smtp.tls_key is None:
        raise ConfigError("[smtp] starttls = true needs tls_cert and tls_key (PEM files); set both or turn "
                          "starttls off")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(str(smtp.tls_cert), str(smtp.tls_key))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"[smtp] tls_cert {smtp.tls_cert} / tls_key {smtp.tls_key} cannot be loaded: {exc}; "
                          "check the paths and that the key belongs to the certificate") from exc
    return context


class SmtpChannel:
    """The SMTP listener `edigw serve` runs: `start()` binds and returns once it answers, `stop()` ends it."""

    def __init__(self, config: Config, engine: Engine, on_received: OnReceived) -> None:
        self.config = config
        self.engine = engine
        self.on_received = on_received
        self.executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="edigw-smtp")  # store off the loop
        self._controller: _Controller | None = None
        self.open_sessions = 0

    @property
    def port(self) -> int:
        """The port listened on (the configured one, or the one chosen for port 0)."""
        return self._controller.port if self._controller is not None else self.config.smtp.port

    def store(self, raw: bytes, mail_from: str) -> Received:
        return store_message(self.engine, raw, mail_from=mail_from)

    def refused(self, mail_from: str, rcpt_tos: list[str]) -> str:
        """An inbox entry for a message refused as too large: who sent it, to whom, and the limit."""
        from gateway.emailed import partner_for_sender

        limit = self.config.smtp.max_message_bytes
        with session_scope(self.engine) as session:
            partner = partner_for_sender(session, self.config, mail_from)
        note = with_trace_headers(b"X-EDIGW-Refused: larger than the size limit; content not kept\r\n\r\n",
                                  mail_from, rcpt_tos)
        to = f" to {', '.join(rcpt_tos)}" if rcpt_tos else ""
        message = (f"A message from {mail_from or '(null sender)'}{to} was refused because "
                   f"it is larger than the {_size(limit)} limit ([smtp] max_message_bytes); its content "
                   "was not kept. The sender's mail server returns it to them with the reason. If such mail is "
                   "expected, raise the limit or ask the customer to send smaller PDFs.")
        return record_refused(self.engine, note, channel="smtp", code="MAIL_TOO_LARGE", message=message,
                              source_name=source_name(None, mail_from), partner_id=partner.id if partner else None)

    def _authenticate(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                      auth_data: Any) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user = auth_data.login.decode("utf-8", "replace")
        stored = self.config.smtp.credentials().get(user)
        if stored is not None and check_password(stored, auth_data.password.decode("utf-8", "replace")):
            return AuthResult(success=True, auth_data=user)
        log.warning("SMTP AUTH failed for user %r from %s", user, session.peer)
        return AuthResult(success=False, handled=False)

    def _smtp_kwargs(self) -> dict[str, Any]:
        smtp = self.config.smtp
        context = tls_context(smtp)
        plaintext_auth = smtp.auth_plaintext_on_loopback and _is_loopback(smtp.host)
        if smtp.auth_required:
            if context is None and not plaintext_auth:
                raise ConfigError("[smtp] auth_required = true sends passwords, so it needs starttls = true with "
                                  "tls_cert and tls_key (or, for a listener on 127.0.0.1 only, "
                                  "auth_plaintext_on_loopback = true)")
            if plaintext_auth:  # chosen on purpose for a loopback-only listener: aiosmtpd's warning is noise
                warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS",
                                        module="aiosmtpd")
            if not smtp.credentials():
                raise ConfigError("[smtp] auth_required = true but no user has a password: set EDIGW_SMTP_PASSWORD "
                                  "(for user "
                                  f"{smtp.user!r}) or [smtp] users")
        return {
            "server_hostname": smtp.hostname,
            "ident": "edigw order gateway",
            "data_size_limit": smtp.max_message_bytes,
            "enable_SMTPUTF8": True,
            "tls_context": context,
            "require_starttls": False,
            "timeout": smtp.timeout_seconds,
            "auth_required": smtp.auth_required,
            "auth_require_tls": not plaintext_auth,
            "authenticator": self._authenticate,
        }

    def start(self) -> None:
        smtp = self.config.smtp
        kwargs = self._smtp_kwargs()
        controller = _Controller(_Handler(self), channel=self, hostname=smtp.host, port=smtp.port,
                                 ready_timeout=10.0, **kwargs)
        try:
            controller.start()
        except OSError as exc:
            raise OSError(exc.errno, f"SMTP channel cannot listen on {smtp.host}:{smtp.port}: {exc.strerror}; "
                                     "another program uses the port, or set [smtp] port / enabled") from exc
        self._controller = controller
        log.info("SMTP listening on %s:%d for %s", smtp.host, self.port, ", ".join(smtp.accept))

    def stop(self) -> None:
        """Stop accepting, then let stores in flight finish (a mail cut off before 250 is retried)."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
        self.executor.shutdown(wait=True)
