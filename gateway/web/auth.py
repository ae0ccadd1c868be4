"""Users and access for the web inbox and the API: accounts, sessions, CSRF, tokens, login rate limiting.

Who may do what is decided here and nowhere else: pages and API endpoints declare the least role
they need with `Depends(principal("operator"))`. A browser signs in with a form and gets a
server-side session (so logout and password changes end it at once); a program sends
`Authorization: Bearer <token>`. Only cookie sessions need CSRF tokens: a bearer token is never sent
by a browser on its own.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import hmac
import ipaddress
import os
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from sqlalchemy import Engine, delete, func, or_, update
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from gateway.store.db import session_scope
from gateway.store.models import ApiToken, LoginAttempt, User, WebSession, utcnow

if TYPE_CHECKING:
    from gateway.service import Gateway

ROLES = ("viewer", "operator", "admin")
_RANK = {role: n for n, role in enumerate(ROLES)}

SESSION_COOKIE = "edigw_session"
LOGIN_COOKIE = "edigw_login"  # a pre-session token against login CSRF (signing a victim in as someone else)
SESSION_IDLE = dt.timedelta(hours=8)
SESSION_ABSOLUTE = dt.timedelta(hours=24)
LAST_SEEN_EVERY = dt.timedelta(seconds=60)  # write last_seen at most this often, not on every request

LOGIN_WINDOW = dt.timedelta(minutes=15)
LOGIN_MAX_FAILURES = 5

MIN_PASSWORD = 12
MAX_PASSWORD = 1024  # hashing a megabyte "password" is a cheap denial of service
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
USERNAME_RULE = ("2 to 64 characters: lowercase letters, digits, '.', '_' or '-', "
                 "starting with a letter or digit")
TOKEN_PREFIX = "edigw_"
LEGACY_TOKEN_USER = "api-token"

_SCRYPT_N, _SCRYPT_R, _SCRYPT_P, _SCRYPT_LEN = 2**14, 8, 1, 32
# Written as the attribute is usually spelled; Starlette types it lowercase, browsers accept both.
_SAMESITE: Any = "Strict"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"


class AuthError(HTTPException):
    """Refused for a reason of access (401, 403, 429): JSON for programs, a plain message for people."""


class LoginRequired(AuthError):
    """A person without a session asked for a page: send them to the login form, and back afterwards."""

    def __init__(self, next_url: str) -> None:
        super().__init__(303, "please sign in", headers={"Location": f"/login?next={quote(next_url, safe='/')}"})


class AccountError(ValueError):
    """A user account cannot be created or changed as asked; the message says why, for a person."""


@dataclass
class Principal:
    """Who is making a request, with which role, and how they proved it."""

    username: str
    role: str  # "viewer" | "operator" | "admin"
    via: str  # "session" | "token"
    session_id: str | None = None  # the session row's id (sha256 of the cookie), never the cookie itself
    csrf_token: str | None = None  # what every form of this session must send back as `csrf_token`

    def can(self, role: str) -> bool:
        """True when this principal's role is at least `role`."""
        if role not in _RANK:
            raise ValueError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
        return _RANK.get(self.role, -1) >= _RANK[role]


# --- passwords ---------------------------------------------------------------------------------------

def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str) -> str:
    """scrypt (memory-hard, standard library) with a fresh 16-byte salt; parameters stored with the hash."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P,
                            dklen=_SCRYPT_LEN)
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """Constant-time check of a password against a stored hash; False for anything malformed."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        n_, r_, p_ = int(n), int(r), int(p)
        if not (2 <= n_ <= 2**20 and 1 <= r_ <= 32 and 1 <= p_ <= 16):
            return False
        expected, salt_bytes = base64.b64decode(digest, validate=True), base64.b64decode(salt, validate=True)
        if len(expected) != _SCRYPT_LEN or len(salt_bytes) < 16:  # a cut-down hash would be easier to match
            return False
        got = hashlib.scrypt(password.encode("utf-8"), salt=salt_bytes, n=n_, r=r_, p=p_,
                             dklen=_SCRYPT_LEN, maxmem=256 * 1024 * 1024)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


@functools.cache
def _dummy_hash() -> str:
    """A real hash to check against when the username is unknown, so both cases take the same time."""
    return hash_password(secrets.token_urlsafe(16))


def check_username(username: str) -> str:
    name = username.strip().lower()
    if not USERNAME_RE.match(name):
        raise AccountError(f"username {username!r} is not allowed: {USERNAME_RULE}")
    return name


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password is too short: at least {MIN_PASSWORD} characters, please")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"the password is too long: at most {MAX_PASSWORD} characters")
    if not password.strip():
        raise AccountError("the password cannot be only spaces")


def check_role(role: str) -> str:
    if role not in _RANK:
        raise AccountError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
    return role


# --- accounts (used by the CLI) ----------------------------------------------------------------------

def create_user(engine: Engine, username: str, role: str, password: str) -> User:
    name, role = check_username(username), check_role(role)
    check_password(password)
    with session_scope(engine) as s:
        if s.exec(select(User).where(User.username == name)).first() is not None:
            raise AccountError(f"user {name!r} already exists (change the password with: edigw user passwd {name})")
        user = User(username=name, role=role, password_hash=hash_password(password))
        s.add(user)
        s.flush()
        return user


def set_password(engine: Engine, username: str, password: str) -> None:
    """New password; every session of the user ends (API tokens stay: they are separate credentials)."""
    check_password(password)
    with session_scope(engine) as s:
        user = _user(s, username)
        user.password_hash = hash_password(password)
        user.password_changed_at = utcnow()
        s.add(user)
        s.exec(delete(WebSession).where(col(WebSession.user_id) == user.id))


def new_token(engine: Engine, username: str, label: str = "") -> str:
    """A new API token for the user; only its sha256 is kept, so it is shown exactly once."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with session_scope(engine) as s:
        user = _user(s, username)
        assert user.id is not None
        s.add(ApiToken(user_id=user.id, token_sha256=_sha256(token), label=label[:128]))
    return token


def list_users(engine: Engine) -> list[dict[str, Any]]:
    with session_scope(engine) as s:
        users = s.exec(select(User).order_by(col(User.username))).all()
        tokens = dict(s.exec(select(ApiToken.user_id, func.count())
                             .where(col(ApiToken.revoked_at).is_(None)).group_by(col(ApiToken.user_id))).all())
        return [{"username": u.username, "role": u.role, "disabled": u.disabled,
                 "created_at": u.created_at.isoformat(),
                 "last_login_at": u.last_login_at.isoformat() if u.last_login_at else None,
                 "tokens": tokens.get(u.id or 0, 0)} for u in users]


def get_user(engine: Engine, username: str) -> User:
    """The user by name (case-insensitive), or AccountError saying there is none."""
    with session_scope(engine) as s:
        return _user(s, username)


def _user(s: Session, username: str) -> User:
    user = s.exec(select(User).where(User.username == username.strip().lower())).first()
    if user is None:
        raise AccountError(f"no user {username!r} (see: edigw user list)")
    return user


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


# --- authentication of a request ---------------------------------------------------------------------

def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


def _client_ip(request: Request) -> str:
    return (request.client.host if request.client else "unknown")[:64]


def _env_flag(name: str, default: str) -> bool:
    return os.environ.get(name, default).strip().lower() not in ("0", "false", "no", "off", "")


def _legacy_token(gateway: Gateway) -> str:
    return os.environ.get("EDIGW_API_TOKEN") or gateway.config.gateway.api_token


def _session_principal(engine: Engine, cookie: str, now: dt.datetime) -> Principal | None:
    with session_scope(engine) as s:
        row = s.get(WebSession, _sha256(cookie))
        if row is None:
            return None
        if now - row.last_seen_at > SESSION_IDLE or now - row.created_at > SESSION_ABSOLUTE:
            s.delete(row)
            return None
        user = s.get(User, row.user_id)
        if user is None or user.disabled:
            s.delete(row)
            return None
        if now - row.last_seen_at > LAST_SEEN_EVERY:
            row.last_seen_at = now
            s.add(row)
        return Principal(username=user.username, role=user.role, via="session", session_id=row.id,
                         csrf_token=row.csrf_token)


def _token_principal(engine: Engine, presented: str, legacy: str, now: dt.datetime) -> Principal | None:
    if legacy and hmac.compare_digest(presented.encode(), legacy.encode()):
        return Principal(username=LEGACY_TOKEN_USER, role="admin", via="token")
    if not presented.startswith(TOKEN_PREFIX):
        return None
    with session_scope(engine) as s:
        token = s.exec(select(ApiToken).where(ApiToken.token_sha256 == _sha256(presented))).first()
        if token is None or token.revoked_at is not None:
            return None
        user = s.get(User, token.user_id)
        if user is None or user.disabled:
            return None
        if token.last_used_at is None or now - token.last_used_at > LAST_SEEN_EVERY:
            token.last_used_at = now
            s.add(token)
        return Principal(username=user.username, role=user.role, via="token")


def _no_users(engine: Engine) -> bool:
    with session_scope(engine) as s:
        return s.exec(select(User.id).limit(1)).first() is None


def _gateway_of(request: Request) -> Gateway:
    gateway: Gateway | None = getattr(request.app.state, "gateway", None)
    if gateway is None:
        raise RuntimeError("install_auth(app, gateway) was not called for this app")
    return gateway


async def authenticate(request: Request) -> Principal | None:
    """The principal behind a request (bearer token first, else the session cookie), or None."""
    gateway = _gateway_of(request)
    now = utcnow()
    authorization = request.headers.get("authorization")
    if authorization is not None:
        scheme, _, presented = authorization.partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            return None
        # A bearer request is judged by its token alone, never by a cookie that happens to come along.
        return await run_in_threadpool(_token_principal, gateway.engine, presented.strip(),
                                       _legacy_token(gateway), now)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        return await run_in_threadpool(_session_principal, gateway.engine, cookie, now)
    return None


async def _csrf_presented(request: Request) -> str:
    header = request.headers.get("x-csrf-token")
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get("csrf_token")
        return value if isinstance(value, str) else ""
    return ""


_dependencies: dict[str, Callable[..., Awaitable[Principal]]] = {}


def principal(required: str = "viewer") -> Callable[..., Awaitable[Principal]]:
    """A FastAPI dependency: the signed-in principal with at least `required` role, else 401/303/403."""
    if required not in _RANK:
        raise ValueError(f"unknown role {required!r}; roles are {', '.join(ROLES)}")
    if required in _dependencies:  # the same callable each time, so dependency_overrides work
        return _dependencies[required]

    async def dependency(request: Request) -> Principal:
        who = await authenticate(request)
        if who is None:
            who = await _open_api_principal(request)
        if who is None:
            if _wants_html(request):
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                raise LoginRequired(target)
            raise AuthError(401, "sign in or send a valid bearer token (Authorization: Bearer ...)",
                            headers={"WWW-Authenticate": "Bearer"})
        request.state.principal = who
        if who.via == "session" and request.method not in _SAFE_METHODS:
            presented = await _csrf_presented(request)
            if not (who.csrf_token and presented
                    and hmac.compare_digest(presented.encode(), who.csrf_token.encode())):
                raise AuthError(403, "the form's security token is missing or out of date; "
                                     "reload the page and try again")
        if not who.can(required):
            raise AuthError(403, f"this needs the {required} role; {who.username} is {who.role}")
        return who

    dependency.__name__ = f"principal_{required}"
    _dependencies[required] = dependency
    return dependency


async def _open_api_principal(request: Request) -> Principal | None:
    """EDIGW_AUTH_DISABLED=1 keeps the API open on loopback as before users existed; nothing else does."""
    if not request.url.path.startswith("/api/") or os.environ.get("EDIGW_AUTH_DISABLED") != "1":
        return None
    if request.headers.get("authorization") or not _is_loopback(_client_ip(request)):
        return None
    gateway = _gateway_of(request)
    if _legacy_token(gateway) or not await run_in_threadpool(_no_users, gateway.engine):
        return None
    return Principal(username="anonymous", role="admin", via="token")


def _is_loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


# --- login rate limiting -----------------------------------------------------------------------------

def _begin_attempt(engine: Engine, username: str, ip: str, now: dt.datetime) -> tuple[int, bool]:
    """Record the attempt first, then count: concurrent guesses can never get more than five checks."""
    with session_scope(engine) as s:
        attempt = LoginAttempt(username=username, client_ip=ip, at=now)
        s.add(attempt)
        s.flush()
        assert attempt.id is not None
        attempt_id = attempt.id
    since = now - LOGIN_WINDOW
    counted = col(LoginAttempt.outcome).in_(("pending", "failure"))
    with session_scope(engine) as s:
        last_success = s.exec(select(func.max(LoginAttempt.at)).where(
            LoginAttempt.username == username, LoginAttempt.outcome == "success")).first()
        user_since = max(since, last_success) if last_success is not None else since
        by_user = s.exec(select(func.count()).select_from(LoginAttempt).where(
            LoginAttempt.username == username, counted, col(LoginAttempt.at) >= user_since)).one()
        by_ip = s.exec(select(func.count()).select_from(LoginAttempt).where(
            LoginAttempt.client_ip == ip, counted, col(LoginAttempt.at) >= since)).one()
    allowed = by_user <= LOGIN_MAX_FAILURES and by_ip <= LOGIN_MAX_FAILURES
    if not allowed:
        _finish_attempt(engine, attempt_id, "refused")
    return attempt_id, allowed


def _finish_attempt(engine: Engine, attempt_id: int, outcome: str) -> None:
    with session_scope(engine) as s:
        s.exec(update(LoginAttempt).where(col(LoginAttempt.id) == attempt_id)
               .values(outcome=outcome))


def _login(engine: Engine, username: str, password: str, ip: str) -> tuple[str, str | None]:
    """("ok", cookie value) | ("refused", None) | ("failed", None), for one sign-in attempt."""
    now = utcnow()
    name = username.strip().lower()[:64]
    attempt_id, allowed = _begin_attempt(engine, name, ip, now)
    if not allowed:
        return "refused", None
    with session_scope(engine) as s:
        user = s.exec(select(User).where(User.username == name)).first()
    # scrypt runs outside any transaction: on SQLite a transaction holds the write lock.
    stored = user.password_hash if user is not None else _dummy_hash()
    good = verify_password(password[:MAX_PASSWORD], stored)
    if not good or user is None or user.disabled or user.id is None:
        _finish_attempt(engine, attempt_id, "failure")
        return "failed", None
    cookie = secrets.token_urlsafe(32)
    with session_scope(engine) as s:
        s.add(WebSession(id=_sha256(cookie), user_id=user.id, csrf_token=secrets.token_urlsafe(32),
                         created_at=now, last_seen_at=now, client_ip=ip))
        s.exec(update(User).where(col(User.id) == user.id).values(last_login_at=now))
        # Housekeeping while we are here: expired sessions and old attempts.
        s.exec(delete(WebSession).where(or_(
            col(WebSession.created_at) < now - SESSION_ABSOLUTE, col(WebSession.last_seen_at) < now - SESSION_IDLE)))
        s.exec(delete(LoginAttempt).where(col(LoginAttempt.at) < now - dt.timedelta(days=1)))
    _finish_attempt(engine, attempt_id, "success")
    return "ok", cookie


def _logout(engine: Engine, session_id: str) -> None:
    with session_scope(engine) as s:
        s.exec(delete(WebSession).where(col(WebSession.id) == session_id))


# --- cookies and templates ---------------------------------------------------------------------------

def _cookie_secure(request: Request) -> bool:
    """Secure always, except plain http on loopback when EDIGW_COOKIE_SECURE=0 (local tests only)."""
    if _env_flag("EDIGW_COOKIE_SECURE", "1"):
        return True
    return not (request.url.scheme == "http" and _is_loopback(request.url.hostname)
                and _is_loopback(_client_ip(request)))


def _set_cookie(response: Response, request: Request, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", secure=_cookie_secure(request), httponly=True,
                        samesite=_SAMESITE)


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never //host or a scheme, so the login form cannot send people elsewhere."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    return "/" if parts.scheme or parts.netloc else target


def csrf_token(request: Request) -> str:
    """The CSRF token for forms on this page: the session's, or the login form's pre-session token."""
    who: Principal | None = getattr(request.state, "principal", None)
    if who is not None and who.csrf_token:
        return who.csrf_token
    return str(getattr(request.state, "login_csrf", ""))


def csrf_field(request: Request) -> Markup:
    """The hidden input every form carries: `{{ csrf_field(request) }}`."""
    return Markup('<input type="hidden" name="csrf_token" value="{}">').format(escape(csrf_token(request)))


def current_principal(request: Request) -> Principal | None:
    """Who is signed in on this page (set by the `principal` dependency), for the header."""
    return getattr(request.state, "principal", None)


TEMPLATES = Jinja2Templates(directory=str(TEMPLATE_DIR))
TEMPLATES.env.globals.update(csrf_token=csrf_token, csrf_field=csrf_field, current_principal=current_principal)


def templates(gateway: Gateway | None = None) -> Jinja2Templates:
    """The one template set for the web pages (autoescaping on, CSRF helpers installed)."""
    return TEMPLATES


_ADMIN_USERS = TEMPLATES.env.from_string("""{% extends "base.html" %}
{% block title %}Users{% endblock %}
{% block content %}
<h1>Users</h1>
<table>
  <thead><tr><th scope="col">User</th><th scope="col">Role</th><th scope="col">Status</th>
  <th scope="col">Last sign-in</th><th scope="col">API tokens</th></tr></thead>
  <tbody>
  {% for u in users %}
    <tr><td>{{ u.username }}</td><td>{{ u.role }}</td><td>{{ "disabled" if u.disabled else "active" }}</td>
    <td>{{ u.last_login_at or "never" }}</td><td>{{ u.tokens }}</td></tr>
  {% endfor %}
  </tbody>
</table>
<p>Add users with <code>edigw user add NAME --role viewer|operator|admin</code>.</p>
{% endblock %}
""")


# --- routes ------------------------------------------------------------------------------------------

def install_auth(app: FastAPI, gateway: Gateway) -> None:
    """Add /login, /logout, /api/session, /admin/users, the access-error handler and security headers."""
    app.state.gateway = gateway

    @app.exception_handler(AuthError)
    async def auth_error(request: Request, exc: AuthError) -> Response:
        headers = dict(exc.headers or {})
        if isinstance(exc, LoginRequired):
            return RedirectResponse(headers["Location"], status_code=303)
        if _wants_html(request):
            return PlainTextResponse(str(exc.detail), status_code=exc.status_code, headers=headers)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if "text/html" in response.headers.get("content-type", ""):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    def login_page(request: Request, next_url: str, message: str = "", status: int = 200,
                   username: str = "") -> Response:
        token = secrets.token_urlsafe(32)
        request.state.login_csrf = token
        response = TEMPLATES.TemplateResponse(request, "login.html",
                                              {"next": _safe_next(next_url), "message": message,
                                               "username": username}, status_code=status)
        _set_cookie(response, request, LOGIN_COOKIE, token, max_age=3600)
        return response

    @app.get("/login", include_in_schema=False)
    def login_form(request: Request, next: str = "/") -> Response:
        return login_page(request, next)

    @app.post("/login", include_in_schema=False)
    def login(request: Request, username: Annotated[str, Form()] = "", password: Annotated[str, Form()] = "",
              csrf_token: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/") -> Response:
        expected = request.cookies.get(LOGIN_COOKIE, "")
        if not (expected and csrf_token and hmac.compare_digest(expected.encode(), csrf_token.encode())):
            return login_page(request, next, "The sign-in form expired. Please try again.", 403, username)
        outcome, cookie = _login(gateway.engine, username, password, _client_ip(request))
        if outcome == "refused":
            return login_page(request, next, "Too many failed sign-in attempts. Wait 15 minutes, then try again.",
                              429, username)
        if outcome != "ok" or cookie is None:
            return login_page(request, next, "Wrong username or password.", 401, username)
        response = RedirectResponse(_safe_next(next), status_code=303)
        _set_cookie(response, request, SESSION_COOKIE, cookie, max_age=int(SESSION_ABSOLUTE.total_seconds()))
        response.delete_cookie(LOGIN_COOKIE, path="/", secure=_cookie_secure(request), httponly=True,
                               samesite=_SAMESITE)
        return response

    @app.post("/logout", include_in_schema=False)
    async def logout(request: Request, who: Annotated[Principal, Depends(principal("viewer"))]) -> Response:
        if who.session_id is not None:
            await run_in_threadpool(_logout, gateway.engine, who.session_id)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/", secure=_cookie_secure(request), httponly=True,
                               samesite=_SAMESITE)
        return response

    @app.get("/api/session", tags=["access"])
    def whoami(who: Annotated[Principal, Depends(principal("viewer"))]) -> dict[str, str | None]:
        """Who is signed in, with which role, and the CSRF token a script must send as X-CSRF-Token."""
        return {"username": who.username, "role": who.role, "via": who.via, "csrf_token": who.csrf_token}

    @app.get("/admin/users", include_in_schema=False)
    def admin_users(request: Request, who: Annotated[Principal, Depends(principal("admin"))]) -> Response:
        return HTMLResponse(_ADMIN_USERS.render(request=request, users=list_users(gateway.engine)))
