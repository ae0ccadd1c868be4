"""Configuration: a TOML file (embedded default in config/) plus EDIGW_* environment overrides.

Partner-specific behaviour lives here as data (identities, channels, acknowledgement settings),
never in code, so adding a partner is an edit to the file, not a release.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mappings.x12.guide import available_versions, load_guide
from mappings.x12.process import GuideOverlay

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config" / "gateway.toml"


class ConfigError(Exception):
    """The configuration cannot be used; the message says which file and which setting."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PartnerIdentity(_Model):
    qualifier: str = ""
    id: str

    def matches(self, qualifier: str, ident: str) -> bool:
        return self.id.strip() == ident.strip() and (not self.qualifier or self.qualifier == qualifier.strip())


class AckConfig(_Model):
    kind: Literal["997", "999"] = "997"
    ak2: Literal["all", "rejected"] = "all"
    ta1: Literal["never", "on_request", "on_error", "always"] = "on_request"
    enabled: bool = True


class OverlayConfig(_Model):
    """A partner's narrowing of a base guide: same shape as `Guide.with_overlay`, per set and versions."""

    set: str = Field(pattern=r"^\d{3}$")
    versions: list[str] = Field(default_factory=list)  # empty: every version of the set
    segments: dict[str, Any] = Field(default_factory=dict)
    loops: dict[str, Any] = Field(default_factory=dict)

    def to_overlay(self) -> GuideOverlay:
        return GuideOverlay(self.set, {"segments": self.segments, "loops": self.loops}, tuple(self.versions))


class OutboundConfig(_Model):
    """How we write X12 to this partner: version, delimiters, line endings, character set, ack deadline."""

    version: Literal["004010", "004010VICS", "005010"] = "004010"
    element: str = Field(default="*", min_length=1, max_length=1)
    component: str = Field(default=">", min_length=1, max_length=1)
    terminator: str = Field(default="~", min_length=1, max_length=2)
    repetition: str | None = None
    line_ending: Literal["", "\n", "\r\n"] = ""
    charset: Literal["ascii", "utf-8"] = "ascii"
    # Who we address: the partner's ISA qualifier/ID (default: its first identity).
    receiver: PartnerIdentity | None = None
    usage: Literal["P", "T"] = "P"
    ack_requested: bool = False
    # An outbound interchange with no 997/999 back within this many minutes becomes an exception.
    ack_overdue_minutes: int = 24 * 60


class EmailConfig(_Model):
    """How a customer (or supplier) sends documents by email, and how the gateway answers."""

    # Sender addresses ("buyer@acme.example") and whole domains ("acme.example") that are this partner.
    addresses: list[str] = Field(default_factory=list)
    domains: list[str] = Field(default_factory=list)
    # What this partner's PDFs are when they do not say: customers send orders, suppliers invoices.
    document_kind: Literal["order", "invoice"] = "order"
    # Fields read with less confidence than this go to a person instead of the ERP.
    confidence_threshold: float = Field(default=0.90, ge=0.0, le=1.0)
    # Item numbers this customer may order; empty: any. A PDF line with another item goes to a person.
    known_items: list[str] = Field(default_factory=list)
    # Answer the sender: a confirmation of what was understood, or what could not be read.
    reply: bool = True

    def owns(self, address: str) -> bool:
        address = address.strip().lower()
        domain = address.rpartition("@")[2]
        return address in (a.lower() for a in self.addresses) or domain in (d.lower().lstrip("@")
                                                                               for d in self.domains)


class PartnerConfig(_Model):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    name: str = ""
    identities: list[PartnerIdentity] = Field(default_factory=list)
    channels: list[str] = Field(default_factory=lambda: ["folder"])
    ack: AckConfig = Field(default_factory=AckConfig)
    # Accept test interchanges (ISA15=T) into the pipeline; they never reach a production ERP.
    accept_test: bool = True
    outbound: OutboundConfig = Field(default_factory=OutboundConfig)
    # When the partner's order gets its 855: "from_erp" (the ERP submits it once it accepts the order)
    # or "on_delivery" (the gateway answers "accepted" as soon as the ERP has the order).
    order_response: Literal["from_erp", "on_delivery"] = "from_erp"
    # 3-way matching of this supplier's invoices before they reach the ERP (see [matching]).
    match_invoices: bool = False
    # Count this partner's 856 ship notices as received goods (otherwise only as shipped).
    asn_counts_as_receipt: bool = False
    # Two-way (against ordered) or three-way (against received) for this partner; default: [matching] mode.
    match_mode: Literal["three_way", "two_way"] | None = None
    # The partner's implementation guide as overlays on the base X12 guides (narrowing only).
    overlays: list[OverlayConfig] = Field(default_factory=list)
    # Emailed PDFs (and EDI attachments) from this partner; None: it does not send by email.
    email: EmailConfig | None = None

    def guide_overlays(self) -> list[GuideOverlay]:
        return [o.to_overlay() for o in self.overlays]

    def owns(self, qualifier: str, ident: str) -> bool:
        return any(i.matches(qualifier, ident) for i in self.identities)


class GatewaySettings(_Model):
    data_dir: Path = Path("var")
    database_url: str = ""
    identities: list[PartnerIdentity] = Field(default_factory=lambda: [PartnerIdentity(qualifier="ZZ",
                                                                                         id="EDIGW")])
    duplicate_window_days: int = 90
    folder_poll_seconds: float = 2.0
    folder_settle_seconds: float = 0.2
    workers: int = 8
    # The HTTP API (ERP submissions, item status): loopback by default.
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    # An admin bearer token for the API besides users' own tokens (EDIGW_API_TOKEN overrides); empty: none.
    api_token: str = ""
    # How often overdue acknowledgements are looked for (seconds).
    overdue_check_seconds: float = 60.0


class ErpConfig(_Model):
    adapter: Literal["filedrop"] = "filedrop"
    path: Path = Path("var/erp/inbound")


class MatchingConfig(_Model):
    """Invoice matching: two- or three-way, tolerances (global, per partner, per item) and unit sizes."""

    mode: Literal["three_way", "two_way"] = "three_way"
    tolerances: dict[str, Any] = Field(default_factory=dict)  # see gateway.matching.tolerances
    units: dict[str, Any] = Field(default_factory=dict)  # see gateway.matching.uom
    # Per item, keyed like tolerances.items ("upc:012345678905", "buyer_part:FREIGHT"): { mode = "two_way" }.
    # The item's mode wins over the partner's match_mode and `mode` (see gateway.matching.items).
    items: dict[str, dict[Literal["mode"], Literal["three_way", "two_way"]]] = Field(default_factory=dict)


# --- Email: SMTP intake and outgoing mail (issue 5) ----------------------------------------------------
class SmtpConfig(_Model):
    """The SMTP listener customers (or the company's mail server) deliver purchase orders to.

    `accept` lists the recipient addresses taken at RCPT; an entry "@example.com" takes any address at
    that domain. `users` maps user names to passwords for AUTH: either a hash made by
    `gateway.channels.smtp.hash_password` ("scrypt$...", preferred) or, for a first setup only, the
    plain password. EDIGW_SMTP_PASSWORD sets the password of `user` without writing it into the file.
    AUTH is offered only over TLS (STARTTLS) unless `auth_plaintext_on_loopback` is set and the
    listener is bound to a loopback address.
    """

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=2525, ge=0, le=65535)  # 0: any free port (tests)
    hostname: str = "edigw.local"
    max_message_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)
    accept: list[str] = Field(default_factory=lambda: ["orders@edigw.local", "invoices@edigw.local"])
    auth_required: bool = False
    user: str = "edigw"
    users: dict[str, str] = Field(default_factory=dict)
    auth_plaintext_on_loopback: bool = False
    starttls: bool = False
    tls_cert: Path | None = None
    tls_key: Path | None = None
    # Seconds a client may stay silent before the connection is dropped.
    timeout_seconds: float = 300.0
    # Connections at once; more are told 421 (try later). Bounds memory: each may hold one message.
    max_connections: int = Field(default=20, ge=1)

    def accepts(self, address: str) -> bool:
        addr = address.strip().strip("<>").lower()
        domain = addr.rpartition("@")[2]
        for entry in self.accept:
            entry = entry.strip().lower()
            if entry == addr or (entry.startswith("@") and entry[1:] == domain):
                return True
        return False

    def credentials(self) -> dict[str, str]:
        """Users and their password hashes or passwords, with EDIGW_SMTP_PASSWORD applied to `user`."""
        users = dict(self.users)
        password = os.environ.get("EDIGW_SMTP_PASSWORD")
        if password:
            users[self.user] = password
        return users


class MailOutConfig(_Model):
    """Outgoing mail (replies to customers): through an SMTP relay, or into a folder when none is set.

    With `relay_host` empty every message is written to `outbox` as an .eml file a person can open.
    EDIGW_RELAY_PASSWORD overrides `relay_password`. `envelope_from` empty sends with a null reverse
    path (MAIL FROM:<>), as RFC 3834 asks of automatic replies so that bounces cannot loop.
    """

    relay_host: str = ""
    relay_port: int = Field(default=25, ge=1, le=65535)
    relay_starttls: bool = False
    relay_user: str = ""
    relay_password: str = ""
    relay_timeout_seconds: float = 30.0
    from_address: str = "orders@edigw.local"
    envelope_from: str = ""
    outbox: Path = Path("var/outbox")
    # Replies to one address per rolling hour, at most: a guard against mail loops.
    max_replies_per_hour: int = Field(default=20, ge=0)

    @property
    def password(self) -> str:
        return os.environ.get("EDIGW_RELAY_PASSWORD") or self.relay_password
# --- end of email configuration ----------------------------------------------------------------------


class Config(_Model):
    gateway: GatewaySettings = Field(default_factory=GatewaySettings)
    matching: MatchingConfig = Field(default_factory=MatchingConfig)
    erp: ErpConfig = Field(default_factory=ErpConfig)
    partners: list[PartnerConfig] = Field(default_factory=list)
    smtp: SmtpConfig = Field(default_factory=SmtpConfig)
    mail_out: MailOutConfig = Field(default_factory=MailOutConfig)

    @property
    def database_url(self) -> str:
        url = os.environ.get("EDIGW_DATABASE_URL") or self.gateway.database_url
        return url or f"sqlite:///{(self.gateway.data_dir / 'edigw.sqlite').resolve()}"

    @property
    def system_database_url(self) -> str:
        """Where the durable workflow engine keeps its state: beside the store."""
        url = os.environ.get("EDIGW_SYSTEM_DATABASE_URL")
        if url:
            return url
        if self.database_url.startswith("sqlite"):
            return f"sqlite:///{(self.gateway.data_dir / 'workflows.sqlite').resolve()}"
        return self.database_url

    def partner(self, partner_id: str | None) -> PartnerConfig | None:
        return next((p for p in self.partners if p.id == partner_id), None)

    def partner_for(self, qualifier: str, ident: str) -> PartnerConfig | None:
        return next((p for p in self.partners if p.owns(qualifier, ident)), None)

    def partner_for_email(self, address: str) -> PartnerConfig | None:
        """The partner a sender address belongs to by the configuration (exact addresses before domains)."""
        address = address.strip().lower()
        exact = next((p for p in self.partners if p.email and address in (a.lower() for a in p.email.addresses)),
                     None)
        return exact or next((p for p in self.partners if p.email and p.email.owns(address)), None)

    def is_us(self, qualifier: str, ident: str) -> bool:
        return any(i.matches(qualifier, ident) for i in self.gateway.identities)

    def partner_dir(self, partner_id: str) -> Path:
        return self.gateway.data_dir / "partners" / partner_id

    @property
    def shared_inbound(self) -> Path:
        """A folder for files whose partner is recognised from the content (the ISA sender)."""
        return self.gateway.data_dir / "inbound"


def load_config(path: str | Path | None = None) -> Config:
    """Load the config file (argument, else EDIGW_CONFIG, else the embedded default)."""
    chosen = Path(path or os.environ.get("EDIGW_CONFIG") or DEFAULT_CONFIG)
    try:
        data = tomllib.loads(chosen.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"configuration file {chosen} does not exist") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"configuration file {chosen} cannot be read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"configuration file {chosen} is not valid TOML: {exc}") from exc
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"configuration file {chosen}: {problems}") from exc
    ids = [p.id for p in config.partners]
    if len(ids) != len(set(ids)):
        raise ConfigError(f"configuration file {chosen}: partner ids must be unique, got {ids}")
    for partner in config.partners:
        for n, overlay in enumerate(partner.overlays):
            problem = check_overlay(overlay)
            if problem:
                raise ConfigError(f"configuration file {chosen}: partner {partner.id}, overlay {n + 1} "
                                  f"(set {overlay.set}): {problem}")
    return config


def check_overlay(overlay: OverlayConfig) -> str | None:
    """Why this overlay cannot apply to its base guides, or None when it can."""
    versions = overlay.versions or available_versions(overlay.set)
    if not versions:
        return f"there is no guide for transaction set {overlay.set}"
    for version in versions:
        guide, _ = load_guide(overlay.set, version)
        if guide is None or (overlay.versions and guide.version != version):
            return f"there is no {overlay.set} guide for version {version}"
        try:
            guide.with_overlay(overlay.to_overlay().spec)
        except (ValueError, KeyError, TypeError) as exc:
            return str(exc)
    return None
