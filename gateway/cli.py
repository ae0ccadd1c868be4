"""`edigw`: the gateway's command line (contracts in DESIGN.md: serve, parse, ack, ingest).

Exit codes: 0 fine, 1 the input has errors (the output still says what was understood), 2 unusable
invocation or unreadable file. No command ever ends in a traceback: unexpected failures are reported
in one line on stderr with exit code 2.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import signal
import sys
import threading
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import click
import typer
from sqlmodel import col, select

from gateway.config import Config, ConfigError, PartnerConfig, load_config
from mappings.canonical import json_schema
from mappings.x12.ack import AckNumbers, AckSettings, build_ack
from mappings.x12.process import analyse_x12
from parsers.detect import detect_format
from parsers.issues import Issue, error

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="EDI and document-ingestion gateway: X12 in, canonical documents to the ERP, acks back.")

ConfigOpt = Annotated[Path | None, typer.Option("--config", help="Configuration file (default: EDIGW_CONFIG or the "
                                                "embedded defaults in config/).")]
PartnerOpt = Annotated[str | None, typer.Option("--partner", help="Partner id from the configuration.")]


class InputFormat(StrEnum):
    auto = "auto"
    x12 = "x12"
    cxml = "cxml"
    pdf = "pdf"
    eml = "eml"


def _die(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"edigw: {message}", err=True)
    raise typer.Exit(code)


def _config(path: Path | None) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        _die(str(exc))


def _partner(config: Config, partner_id: str | None) -> PartnerConfig | None:
    if partner_id is None:
        return None
    partner = config.partner(partner_id)
    if partner is None:
        known = ", ".join(p.id for p in config.partners) or "none"
        _die(f"unknown partner {partner_id!r} (configured: {known})")
    return partner


def _read(file: Path) -> bytes:
    try:
        return file.read_bytes()
    except FileNotFoundError:
        _die(f"{file}: no such file")
    except IsADirectoryError:
        _die(f"{file}: is a directory, not a file")
    except OSError as exc:
        _die(f"{file}: cannot be read ({exc.strerror or exc})")


def _unsupported(fmt: str) -> Issue:
    return error("UNSUPPORTED_FORMAT",
                 f"The input is {fmt}, which this gateway cannot read yet; only X12 is supported so far.",
                 "byte 0")


@app.command()
def parse(file: Path, format: Annotated[InputFormat, typer.Option("--format")] = InputFormat.auto,
          partner: PartnerOpt = None, config: ConfigOpt = None) -> None:
    """Parse, map and validate one input without storing it; print {"documents", "issues"} as JSON."""
    from gateway.dry_run import parse_input

    cfg = _config(config)
    chosen = _partner(cfg, partner)
    raw = _read(file)
    result = parse_input(cfg, raw, format.value, chosen)
    typer.echo(json.dumps(result.as_dict(), indent=2))
    raise typer.Exit(1 if any(i.is_error for i in result.issues) else 0)


@app.command()
def ack(file: Path, partner: PartnerOpt = None, config: ConfigOpt = None) -> None:
    """Print, byte for byte, the acknowledgement interchange(s) the gateway would send back for FILE."""
    cfg = _config(config)
    chosen = _partner(cfg, partner)
    raw = _read(file)
    if detect_format(raw[:8192]) not in ("x12", "unknown"):
        _die(f"{file}: not an X12 interchange; only X12 inputs are acknowledged with TA1/997/999", 1)
    from gateway.processing import sniff_partner

    guide_partner = sniff_partner(cfg, partner, raw)
    analysis = analyse_x12(raw, guide_partner.guide_overlays() if guide_partner else ())
    now = dt.datetime.now(dt.UTC)
    out = bytearray()
    for position, ic in enumerate(analysis.interchanges):
        p = chosen or cfg.partner_for(*ic.interchange.sender)
        settings = (AckSettings(kind=p.ack.kind, ak2=p.ack.ak2, ta1=p.ack.ta1) if p else AckSettings())
        content = build_ack(ic.interchange, ic.groups, AckNumbers(interchange=position + 1, group=position + 1),
                            settings, now)
        if content:
            out += content
    sys.stdout.buffer.write(bytes(out))
    sys.stdout.buffer.flush()
    if not analysis.interchanges:
        first = analysis.file_issues[0].message if analysis.file_issues else "no interchange found"
        _die(f"{file}: nothing to acknowledge: {first}", 1)


@app.command()
def ingest(files: list[Path], partner: PartnerOpt = None,
           channel: Annotated[str, typer.Option("--channel")] = "cli", config: ConfigOpt = None) -> None:
    """Run inputs through the full pipeline as if received; print one JSON line per resulting document."""
    from gateway.service import Gateway

    cfg = _config(config)
    _partner(cfg, partner)
    payloads = [(f, _read(f)) for f in files]
    _quiet_logs()
    gw = Gateway(cfg)
    gw.start(channels=False)
    try:
        received = [gw.ingest(raw, channel=channel, partner_id=partner, source_name=f.name) for f, raw in payloads]
        _report(gw, [r.item_id for r in received if r.needs_processing or r.resumed], [r.item_id for r in received])
    finally:
        gw.stop()


@app.command()
def send(file: Path, partner: Annotated[str, typer.Option("--partner", help="Partner to send to.")],
         config: ConfigOpt = None) -> None:
    """Send canonical documents (a JSON document or list) to a partner as its X12, as the ERP would."""
    from gateway.service import Gateway

    cfg = _config(config)
    _partner(cfg, partner)
    raw = _read(file)
    _quiet_logs()
    gw = Gateway(cfg)
    gw.start(channels=False)
    try:
        received = gw.submit(raw, partner_id=partner, channel="cli", source_name=file.name)
        _report(gw, [received.item_id] if received.needs_processing else [], [received.item_id])
    finally:
        gw.stop()


@app.command()
def replay(item_id: str, reason: Annotated[str, typer.Option("--reason")] = "", config: ConfigOpt = None) -> None:
    """Run a stored item again from its raw input with the current mappings and configuration."""
    from gateway.intake import replay as replay_item
    from gateway.service import Gateway

    cfg = _config(config)
    _quiet_logs()
    gw = Gateway(cfg)
    gw.start(channels=False)
    try:
        try:
            received = replay_item(gw.engine, item_id, reason=reason)
        except LookupError as exc:
            _die(str(exc))
        gw.pipeline.submit(received.item_id)
        _report(gw, [received.item_id], [received.item_id])
    finally:
        gw.stop()


def _report(gw: Any, wait_for: list[str], item_ids: list[str]) -> None:
    """Wait for the items' workflows, then print one JSON line per resulting document."""
    from gateway.store.db import session_scope
    from gateway.store.models import DocumentRecord, ReceivedItem

    for item_id in wait_for:
        gw.pipeline.wait(item_id)
    with session_scope(gw.engine) as session:
        for item_id in item_ids:
            docs = session.exec(select(DocumentRecord).where(DocumentRecord.item_id == item_id)
                                .order_by(col(DocumentRecord.position))).all()
            if not docs:
                item = session.get(ReceivedItem, item_id)
                typer.echo(json.dumps({"id": item_id, "kind": None, "number": None,
                                       "state": item.state if item else "unknown"}))
            for d in docs:
                typer.echo(json.dumps({"id": d.id, "kind": d.kind, "number": d.number, "state": d.state}))


@app.command()
def serve(config: ConfigOpt = None) -> None:
    """Run every configured channel and the workers until interrupted."""
    from gateway.service import Gateway

    cfg = _config(config)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    _quiet_logs()
    gw = Gateway(cfg)
    gw.start()
    from gateway.web.api import serve_in_thread

    http = serve_in_thread(gw)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    typer.echo(f"edigw serving: data in {cfg.gateway.data_dir.resolve()}, ERP drop {cfg.erp.path.resolve()}, "
               f"API on http://{cfg.gateway.http_host}:{cfg.gateway.http_port}, "
               + (f"SMTP on {cfg.smtp.host}:{gw.smtp.port}" if gw.smtp is not None else
                  "SMTP not listening" + (" (see the error above)" if cfg.smtp.enabled else " (disabled)")), err=True)
    try:
        while not stop.is_set():
            time.sleep(0.2)
    finally:
        http.should_exit = True
        gw.stop()


@app.command()
def items(state: Annotated[str | None, typer.Option("--state")] = None,
          limit: Annotated[int, typer.Option("--limit")] = 50, config: ConfigOpt = None) -> None:
    """List received items, newest first, as JSON lines."""
    from gateway.store.db import make_engine, migrate, session_scope
    from gateway.store.models import ReceivedItem

    cfg = _config(config)
    engine = make_engine(cfg.database_url)
    migrate(engine)
    with session_scope(engine) as session:
        stmt = select(ReceivedItem).order_by(col(ReceivedItem.received_at).desc()).limit(limit)
        if state:
            stmt = stmt.where(ReceivedItem.state == state)
        for it in session.exec(stmt).all():
            typer.echo(json.dumps({"id": it.id, "partner": it.partner_id, "channel": it.channel,
                                   "source": it.source_name, "received_at": it.received_at.isoformat(),
                                   "state": it.state, "summary": it.summary}))


@app.command()
def documents(state: Annotated[str | None, typer.Option("--state")] = None,
              kind: Annotated[str | None, typer.Option("--kind")] = None,
              number: Annotated[str | None, typer.Option("--number", help="document or PO number")] = None,
              partner: PartnerOpt = None, limit: Annotated[int, typer.Option("--limit")] = 50,
              config: ConfigOpt = None) -> None:
    """List canonical documents, newest first, as JSON lines ("did Acme's order 4711 come in?")."""
    from sqlalchemy import or_

    from gateway.store.db import make_engine, migrate, session_scope
    from gateway.store.models import DocumentRecord

    cfg = _config(config)
    engine = make_engine(cfg.database_url)
    migrate(engine)
    with session_scope(engine) as session:
        stmt = select(DocumentRecord).order_by(col(DocumentRecord.created_at).desc()).limit(limit)
        if state:
            stmt = stmt.where(DocumentRecord.state == state)
        if kind:
            stmt = stmt.where(DocumentRecord.kind == kind)
        if partner:
            stmt = stmt.where(DocumentRecord.partner_id == partner)
        if number:
            stmt = stmt.where(or_(col(DocumentRecord.number) == number, col(DocumentRecord.po_number) == number))
        for d in session.exec(stmt).all():
            typer.echo(json.dumps({"id": d.id, "item": d.item_id, "partner": d.partner_id, "kind": d.kind,
                                   "number": d.number, "po_number": d.po_number, "state": d.state,
                                   "test": d.test, "created_at": d.created_at.isoformat(),
                                   "delivered_to": d.delivery_ref}))


@app.command()
def show(item_id: str, config: ConfigOpt = None) -> None:
    """Show one item: its state, documents, issues, exceptions and history, as JSON."""
    from gateway.store.db import make_engine, migrate, session_scope
    from gateway.store.models import AuditEntry, DocumentRecord, ExceptionRecord, IssueRecord, ReceivedItem

    cfg = _config(config)
    engine = make_engine(cfg.database_url)
    migrate(engine)
    with session_scope(engine) as session:
        it = session.get(ReceivedItem, item_id)
        if it is None:
            _die(f"no item {item_id}")
        docs = session.exec(select(DocumentRecord).where(DocumentRecord.item_id == item_id)).all()
        issues = session.exec(select(IssueRecord).where(IssueRecord.item_id == item_id)).all()
        excs = session.exec(select(ExceptionRecord).where(ExceptionRecord.item_id == item_id)).all()
        audit = session.exec(select(AuditEntry).where(AuditEntry.item_id == item_id)
                             .order_by(col(AuditEntry.id))).all()
        out = {
            "id": it.id, "partner": it.partner_id, "channel": it.channel, "source": it.source_name,
            "sha256": it.sha256, "size": it.size, "state": it.state, "summary": it.summary,
            "duplicate_of": it.duplicate_of,
            "documents": [{"id": d.id, "kind": d.kind, "number": d.number, "state": d.state,
                           "delivered_to": d.delivery_ref} for d in docs],
            "issues": [{"severity": i.severity, "code": i.code, "message": i.message, "location": i.location,
                        "stage": i.stage} for i in issues],
            "exceptions": [{"id": e.id, "code": e.code, "message": e.message, "status": e.status} for e in excs],
            "history": [{"at": a.at.isoformat(), "actor": a.actor, "action": a.action, "from": a.from_state,
                         "to": a.to_state, "detail": a.detail} for a in audit],
        }
        typer.echo(json.dumps(out, indent=2))


@app.command()
def schema() -> None:
    """Print the JSON Schema of the canonical document."""
    typer.echo(json.dumps(json_schema(), indent=2))


user_app = typer.Typer(no_args_is_help=True, help="Accounts for the web inbox and the API (roles: viewer, "
                       "operator, admin).")
app.add_typer(user_app, name="user")

PasswordStdinOpt = Annotated[bool, typer.Option("--password-stdin", help="Read the password from the first line "
                                                "of stdin instead of asking.")]


def _store(config: Path | None) -> Any:
    from gateway.store.db import make_engine, migrate

    engine = make_engine(_config(config).database_url)
    migrate(engine)
    return engine


def _new_password(from_stdin: bool) -> str:
    """The password from stdin's first line, or asked twice on a terminal; never echoed, never an argument."""
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            _die("--password-stdin: nothing on stdin")
        return line.rstrip("\r\n")
    if not sys.stdin.isatty():
        _die("no terminal to ask for the password on; use --password-stdin")
    first = typer.prompt("Password", hide_input=True)
    if typer.prompt("Repeat password", hide_input=True) != first:
        _die("the passwords do not match; nothing changed")
    return str(first)


@user_app.command("add")
def user_add(name: str, role: Annotated[str, typer.Option("--role", help="viewer, operator or admin")] = "viewer",
             password_stdin: PasswordStdinOpt = False, config: ConfigOpt = None) -> None:
    """Create a user (the first one should be an admin: edigw user add NAME --role admin)."""
    from gateway.web.auth import AccountError, check_password, check_role, check_username, create_user

    try:
        check_username(name)
        check_role(role)
        password = _new_password(password_stdin)
        check_password(password)
        user = create_user(_store(config), name, role, password)
    except AccountError as exc:
        _die(str(exc))
    typer.echo(f"user {user.username} created with role {user.role}", err=True)


@user_app.command("list")
def user_list(config: ConfigOpt = None) -> None:
    """List users as JSON lines (never their password hashes)."""
    from gateway.web.auth import list_users

    for user in list_users(_store(config)):
        typer.echo(json.dumps(user))


@user_app.command("passwd")
def user_passwd(name: str, password_stdin: PasswordStdinOpt = False, config: ConfigOpt = None) -> None:
    """Set a user's password; the user's browser sessions end."""
    from gateway.web.auth import AccountError, check_password, get_user, set_password

    try:
        engine = _store(config)
        get_user(engine, name)  # before asking for a password
        password = _new_password(password_stdin)
        check_password(password)
        set_password(engine, name, password)
    except AccountError as exc:
        _die(str(exc))
    typer.echo(f"password of {name.strip().lower()} changed; their sessions have ended", err=True)


@user_app.command("token")
def user_token(name: str, label: Annotated[str, typer.Option("--label", help="what the token is for")] = "",
               config: ConfigOpt = None) -> None:
    """Print a new API token for the user (shown once; it acts with the user's role)."""
    from gateway.web.auth import AccountError, new_token

    try:
        token = new_token(_store(config), name, label)
    except AccountError as exc:
        _die(str(exc))
    typer.echo(token)


def _quiet_logs() -> None:
    for name in ("dbos", "alembic", "watchdog", "mail.log"):
        logging.getLogger(name).setLevel(logging.WARNING)


def main() -> None:
    """Entry point: usage errors in one line, and never a traceback."""
    try:
        # Without standalone mode the command's exit code is returned instead of raised.
        code = app(standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except SystemExit:
        raise
    except (KeyboardInterrupt, click.Abort, typer.Abort):
        sys.exit(130)
    except (click.exceptions.Exit, typer.Exit) as exc:
        sys.exit(getattr(exc, "exit_code", 0))
    except Exception as exc:  # the contract: never a traceback
        # Usage errors come from click or from the click Typer bundles; both carry these two attributes.
        message, exit_code = getattr(exc, "format_message", None), getattr(exc, "exit_code", None)
        if callable(message) and isinstance(exit_code, int):
            ctx = getattr(exc, "ctx", None)
            name = getattr(ctx, "command_path", "") if ctx is not None else ""
            hint = f" (see: {name} --help)" if name and exit_code == 2 else ""
            typer.echo(f"edigw: {message()}{hint}", err=True)
            sys.exit(exit_code)
        typer.echo(f"edigw: internal error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(2)
