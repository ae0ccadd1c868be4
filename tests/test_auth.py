"""Users and access, against a real uvicorn server on a loopback port: sessions, CSRF, roles, tokens, limits."""

from __future__ import annotations

import datetime as dt
import hashlib
import http.cookiejar
import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from gateway.config import Config
from gateway.service import Gateway
from gateway.store.db import session_scope
from gateway.store.models import ApiToken, LoginAttempt, User, WebSession
from gateway.web import auth
from tests.conftest import ROOT, SAMPLES
from tests.live import LiveServer as Server

PASSWORD = "correct horse battery"


@pytest.fixture
def gateway(config: Config, monkeypatch: pytest.MonkeyPatch) -> Iterator[Gateway]:
    for name in ("EDIGW_DATABASE_URL", "EDIGW_API_TOKEN", "EDIGW_AUTH_DISABLED"):
        monkeypatch.delenv(name, raising=False)
    # urllib's cookie jar (like a browser) never sends a Secure cookie over plain http.
    monkeypatch.setenv("EDIGW_COOKIE_SECURE", "0")
    gw = Gateway(config)
    gw.start(channels=False)
    try:
        yield gw
    finally:
        gw.stop()


@pytest.fixture
def server(gateway: Gateway) -> Iterator[Server]:
    s = Server(gateway)
    yield s
    s.close()


@dataclass
class Reply:
    status: int
    headers: Message
    body: str

    def json(self) -> Any:
        return json.loads(self.body)

    def cookie(self, name: str) -> str | None:
        """The whole Set-Cookie header for `name`, attributes included."""
        return next((c for c in self.headers.get_all("Set-Cookie") or [] if c.startswith(f"{name}=")), None)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Client:
    """A browser-like client: a cookie jar, no automatic redirects."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect)

    def request(self, method: str, path: str, *, form: dict[str, str] | None = None, body: Any = None,
                headers: dict[str, str] | None = None) -> Reply:
        data = None
        hdrs = dict(headers or {})
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=hdrs)
        try:
            with self.opener.open(req, timeout=30) as resp:
                return Reply(resp.status, resp.headers, resp.read().decode())
        except urllib.error.HTTPError as err:
            return Reply(err.code, err.headers, err.read().decode())

    def get_html(self, path: str) -> Reply:
        return self.request("GET", path, headers={"Accept": "text/html,application/xhtml+xml"})

    def login(self, username: str, password: str, *, ip: str | None = None, next_url: str = "/") -> Reply:
        page = self.get_html("/login")
        assert page.status == 200, page.body
        extra = {"X-Forwarded-For": ip} if ip else {}  # uvicorn trusts it from loopback: a client elsewhere
        return self.request("POST", "/login", form={"username": username, "password": password,
                                                    "csrf_token": form_token(page.body), "next": next_url},
                            headers={"Accept": "text/html", **extra})

    def session_cookie(self) -> str | None:
        return next((c.value for c in self.jar if c.name == auth.SESSION_COOKIE), None)

    def csrf(self) -> str:
        reply = self.request("GET", "/api/session")
        assert reply.status == 200, reply.body
        token: str = reply.json()["csrf_token"]
        return token


def form_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]*)"', html)
    assert found, "the form has no csrf_token field"
    return found.group(1)


def add_user(gw: Gateway, name: str, role: str, password: str = PASSWORD) -> None:
    auth.create_user(gw.engine, name, role, password)


def order(number: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((SAMPLES / "x12" / "acme_850_004010.json").read_text())[0]
    doc["number"] = doc["po_number"] = number
    for line in doc["lines"]:
        line["po_number"] = number
    doc["sender"] = doc["receiver"] = None
    doc["source"] = {"format": "canonical", "version": None, "set": None, "control_numbers": {}, "channel": None}
    return doc


# --- passwords ---------------------------------------------------------------------------------------

def test_password_hashes_are_salted_scrypt_and_verify() -> None:
    one, two = auth.hash_password(PASSWORD), auth.hash_password(PASSWORD)
    assert PASSWORD not in one and one != two and one.startswith("scrypt$16384$8$1$")
    assert auth.verify_password(PASSWORD, one) and auth.verify_password(PASSWORD, two)
    assert not auth.verify_password(PASSWORD + "x", one)
    for broken in ("", "plain", "scrypt$1$1$1$AA==$AA==", "md5$x$y$z$a$b", one[:-8]):
        assert not auth.verify_password(PASSWORD, broken)


def test_account_rules(gateway: Gateway) -> None:
    for name in ("a", "Has Space", "<script>", "-dash", "x" * 65):
        with pytest.raises(auth.AccountError, match="not allowed"):
            auth.create_user(gateway.engine, name, "viewer", PASSWORD)
    with pytest.raises(auth.AccountError, match="too short"):
        auth.create_user(gateway.engine, "shorty", "viewer", "elevenchars")
    with pytest.raises(auth.AccountError, match="unknown role"):
        auth.create_user(gateway.engine, "boss", "root", PASSWORD)
    add_user(gateway, "Mixed.Case", "viewer")
    with pytest.raises(auth.AccountError, match="already exists"):
        add_user(gateway, "mixed.case", "admin")
    with session_scope(gateway.engine) as s:
        [user] = s.exec(select(User)).all()
        assert user.username == "mixed.case" and PASSWORD not in user.password_hash
        assert auth.verify_password(PASSWORD, user.password_hash)


# --- signing in --------------------------------------------------------------------------------------

def test_login_sets_a_hardened_cookie_backed_by_a_server_side_session(gateway: Gateway, server: Server) -> None:
    add_user(gateway, "olga", "operator")
    client = Client(server.base)
    reply = client.login("olga", PASSWORD, next_url="/api/session")
    assert reply.status == 303 and reply.headers["Location"] == "/api/session"
    cookie = reply.cookie("edigw_session")
    assert cookie is not None
    attributes = [a.strip().lower() for a in cookie.split(";")[1:]]
    assert "httponly" in attributes and "samesite=strict" in attributes and "path=/" in attributes
    assert "secure" not in attributes  # EDIGW_COOKIE_SECURE=0 on plain-http loopback only
    value = client.session_cookie()
    assert value is not None and len(value) >= 43  # 32 random bytes
    with session_scope(gateway.engine) as s:
        [row] = s.exec(select(WebSession)).all()
        assert row.id == hashlib.sha256(value.encode()).hexdigest()  # the cookie itself is not stored
    me = client.request("GET", "/api/session").json()
    assert (me["username"], me["role"], me["via"]) == ("olga", "operator", "session") and me["csrf_token"]


def test_cookies_are_secure_unless_turned_off_for_loopback_tests(gateway: Gateway, server: Server,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    add_user(gateway, "olga", "operator")
    monkeypatch.delenv("EDIGW_COOKIE_SECURE")
    client = Client(server.base)
    page = client.get_html("/login")
    login_cookie = page.cookie("edigw_login")
    assert login_cookie is not None and "; Secure" in login_cookie
    # The jar will not send a Secure cookie over http; send it the way a browser on https would.
    token = form_token(page.body)
    reply = client.request("POST", "/login", form={"username": "olga", "password": PASSWORD, "csrf_token": token},
                           headers={"Cookie": f"edigw_login={token}"})
    assert reply.status == 303
    cookie = reply.cookie("edigw_session")
    assert cookie is not None
    assert {"secure", "httponly", "samesite=strict", "path=/"} <= {a.strip().lower() for a in cookie.split(";")}


def test_a_wrong_password_or_unknown_user_is_refused_alike(gateway: Gateway, server: Server) -> None:
    add_user(gateway, "olga", "operator")
    client = Client(server.base)
    for name, password in (("olga", "not the password"), ("nobody", PASSWORD)):
        reply = client.login(name, password)
        assert reply.status == 401 and "Wrong username or password." in reply.body
        assert reply.cookie("edigw_session") is None
    assert client.request("GET", "/api/session").status == 401


def test_the_login_form_needs_its_own_csrf_token(gateway: Gateway, server: Server) -> None:
    add_user(gateway, "olga", "operator")
    client = Client(server.base)
    reply = client.request("POST", "/login", form={"username": "olga", "password": PASSWORD, "csrf_token": "x"})
    assert reply.status == 403 and reply.cookie("edigw_session") is None


def test_login_only_redirects_within_the_site_and_escapes_what_it_echoes(gateway: Gateway, server: Server) -> None:
    add_user(gateway, "olga", "operator")
    client = Client(server.base)
    page = client.get_html('/login?next=/x"><script>alert(1)</script>')
    assert "<script>alert(1)</script>" not in page.body and "&lt;script&gt;" in page.body
    for evil in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        reply = Client(server.base).login("olga", PASSWORD, next_url=evil)
        assert reply.status == 303 and reply.headers["Location"] == "/"


# --- rate limiting -----------------------------------------------------------------------------------

def test_the_sixth_failed_attempt_is_refused_without_checking_the_password(
        gateway: Gateway, server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    add_user(gateway, "olga", "operator")
    checked: list[str] = []
    real_verify = auth.verify_password

    def counting_verify(password: str, stored: str) -> bool:
        checked.append(password)
        return real_verify(password, stored)

    monkeypatch.setattr(auth, "verify_password", counting_verify)
    client = Client(server.base)
    # from five different addresses: the limit is per username as well as per address
    for n in range(5):
        assert client.login("olga", f"wrong password {n}", ip=f"10.0.0.{n + 1}").status == 401
    reply = client.login("olga", PASSWORD, ip="10.0.0.9")
    assert reply.status == 429 and "Too many failed sign-in attempts" in reply.body
    assert reply.cookie("edigw_session") is None
    assert len(checked) == 5  # the sixth never reached the password check

    # Stored, not in memory: a restarted server (or another worker) still refuses.
    again = Server(gateway)
    try:
        assert Client(again.base).login("olga", PASSWORD, ip="10.0.0.10").status == 429
    finally:
        again.close()

    # Fifteen minutes later the window has passed.
    with session_scope(gateway.engine) as s:
        for attempt in s.exec(select(LoginAttempt)).all():
            attempt.at -= dt.timedelta(minutes=16)
            s.add(attempt)
    assert client.login("olga", PASSWORD, ip="10.0.0.11").status == 303


def test_failed_attempts_are_limited_per_address_too(gateway: Gateway, server: Server) -> None:
    add_user(gateway, "olga", "operator")
    client = Client(server.base)
    for n in range(5):
        assert client.login(f"guess{n}", PASSWORD, ip="192.0.2.7").status == 401
    assert client.login("olga", PASSWORD, ip="192.0.2.7").status == 429
    assert client.login("olga", PASSWORD, ip="192.0.2.8").status == 303


# --- sessions, CSRF, roles ---------------------------------------------------------------------------

def test_without_a_session_pages_redirect_to_login_and_the_api_says_401(gateway: Gateway, server: Server) -> None:
    client = Client(server.base)
    page = client.get_html("/admin/users?sort=name")
    assert page.status == 303 and page.headers["Location"] == "/login?next=/admin/users%3Fsort%3Dname"
    api = client.request("GET", "/api/items/itm_x", headers={"Accept": "text/html"})
    assert api.status == 401 and api.headers["WWW-Authenticate"] == "Bearer" and "detail" in api.json()
    assert client.request("POST", "/api/outbound?partner=acme", body=order("PO-A1")).status == 401
    assert client.request("POST", "/logout", form={"csrf_token": "x"}).status == 401


def test_unsafe_requests_on_a_cookie_session_need_the_sessions_csrf_token(gateway: Gateway, server: Server) -> None:
    add_user(gateway, "olga", "operator")
    client = Client(server.base)
    assert client.login("olga", PASSWORD).status == 303
    token = client.csrf()
    path = "/api/outbound?partner=acme"
    assert client.request("POST", path, body=order("PO-C1")).status == 403
    assert client.request("POST", path, body=order("PO-C1"), headers={"X-CSRF-Token": "wrong"}).status == 403
    # another session's token is no good either
    other = Client(server.base)
    assert other.login("olga", PASSWORD).status == 303
    assert client.request("POST", path, body=order("PO-C1"), headers={"X-CSRF-Token": other.csrf()}).status == 403
    accepted = client.request("POST", path, body=order("PO-C1"), headers={"X-CSRF-Token": token})
    assert accepted.status == 202, accepted.body
    gateway.pipeline.wait(accepted.json()["id"])
    # the form field works as well as the header
    assert client.request("POST", "/logout", form={"csrf_token": "wrong"}).status == 403
    assert client.request("GET", "/api/session").status == 200  # still signed in
    assert client.request("POST", "/logout", form={"csrf_token": token}).status == 303


def test_logout_ends_the_session_on_the_server(gateway: Gateway, server: Server) -> None:
    add_user(gateway, "olga", "operator")
    client = Client(server.base)
    assert client.login("olga", PASSWORD).status == 303
    old_cookie = client.session_cookie()
    token = client.csrf()
    reply = client.request("POST", "/logout", form={"csrf_token": token}, headers={"Accept": "text/html"})
    assert reply.status == 303 and reply.headers["Location"] == "/login"
    with session_scope(gateway.engine) as s:
        assert s.exec(select(WebSession)).all() == []
    # replaying the old cookie by hand (as a thief would) gets nothing
    stale = Client(server.base)
    assert stale.request("GET", "/api/session", headers={"Cookie": f"edigw_session={old_cookie}"}).status == 401
    page = stale.request("GET", "/admin/users", headers={"Cookie": f"edigw_session={old_cookie}",
                                                         "Accept": "text/html"})
    assert page.status == 303 and page.headers["Location"].startswith("/login")


def test_sessions_expire_when_idle_and_absolutely(gateway: Gateway, server: Server) -> None:
    add_user(gateway, "olga", "operator")
    for column, age in (("last_seen_at", dt.timedelta(hours=8, minutes=1)),
                        ("created_at", dt.timedelta(hours=24, minutes=1))):
        client = Client(server.base)
        assert client.login("olga", PASSWORD).status == 303
        assert client.request("GET", "/api/session").status == 200
        digest = hashlib.sha256((client.session_cookie() or "").encode()).hexdigest()
        with session_scope(gateway.engine) as s:
            row = s.get(WebSession, digest)
            assert row is not None
            setattr(row, column, getattr(row, column) - age)
            if column == "created_at":  # recently active, but too old
                row.last_seen_at = dt.datetime.now(dt.UTC)
            s.add(row)
        assert client.request("GET", "/api/session").status == 401


def test_a_viewer_cannot_act_and_an_operator_cannot_administer(gateway: Gateway, server: Server) -> None:
    add_user(gateway, "vera", "viewer")
    add_user(gateway, "olga", "operator")
    add_user(gateway, "adam", "admin")
    viewer = Client(server.base)
    assert viewer.login("vera", PASSWORD).status == 303
    assert viewer.request("GET", "/api/items/itm_missing").status == 404  # may look
    refused = viewer.request("POST", "/api/outbound?partner=acme", body=order("PO-V1"),
                             headers={"X-CSRF-Token": viewer.csrf()})
    assert refused.status == 403 and "operator" in refused.json()["detail"]

    operator = Client(server.base)
    assert operator.login("olga", PASSWORD).status == 303
    page = operator.get_html("/admin/users")
    assert page.status == 403 and "admin" in page.body and page.headers["Content-Type"].startswith("text/plain")

    admin = Client(server.base)
    assert admin.login("adam", PASSWORD).status == 303
    page = admin.get_html("/admin/users")
    assert page.status == 200
    assert all(f"<td>{name}</td>" in page.body for name in ("vera", "olga", "adam"))
    assert "Signed in as <strong>adam</strong>" in page.body and "(admin)" in page.body
    assert 'action="/logout"' in page.body and form_token(page.body) == admin.csrf()
    assert "password" not in page.body.lower() or "scrypt" not in page.body


def test_a_disabled_user_loses_sessions_and_tokens(gateway: Gateway, server: Server) -> None:
    add_user(gateway, "olga", "operator")
    token = auth.new_token(gateway.engine, "olga")
    client = Client(server.base)
    assert client.login("olga", PASSWORD).status == 303
    with session_scope(gateway.engine) as s:
        s.exec(update(User).values(disabled=True))
    assert client.request("GET", "/api/session").status == 401
    assert client.request("GET", "/api/session", headers={"Authorization": f"Bearer {token}"}).status == 401
    assert Client(server.base).login("olga", PASSWORD).status == 401


def test_a_password_change_ends_the_users_sessions(gateway: Gateway, server: Server) -> None:
    add_user(gateway, "olga", "operator")
    client = Client(server.base)
    assert client.login("olga", PASSWORD).status == 303
    auth.set_password(gateway.engine, "olga", "a brand new password")
    assert client.request("GET", "/api/session").status == 401
    assert client.login("olga", PASSWORD).status == 401
    assert client.login("olga", "a brand new password").status == 303


# --- the command line and API tokens -----------------------------------------------------------------

def edigw(config: Config, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "EDIGW_DATABASE_URL": config.database_url}
    env.pop("EDIGW_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "gateway", *args], input=stdin, capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=120)


def test_edigw_user_add_then_login_works(gateway: Gateway, server: Server, config: Config) -> None:
    done = edigw(config, "user", "add", "First.Admin", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    assert Client(server.base).login("first.admin", PASSWORD).status == 303
    listed = edigw(config, "user", "list")
    assert listed.returncode == 0 and json.loads(listed.stdout)["role"] == "admin"
    assert "scrypt" not in listed.stdout

    again = edigw(config, "user", "add", "first.admin", "--password-stdin", stdin=PASSWORD + "\n")
    assert again.returncode == 2 and again.stderr.count("\n") == 1 and "already exists" in again.stderr
    short = edigw(config, "user", "add", "someone", "--password-stdin", stdin="short\n")
    assert short.returncode == 2 and "at least 12" in short.stderr
    no_tty = edigw(config, "user", "add", "someone")
    assert no_tty.returncode == 2 and "--password-stdin" in no_tty.stderr
    bad_role = edigw(config, "user", "add", "someone", "--role", "root", "--password-stdin", stdin=PASSWORD + "\n")
    assert bad_role.returncode == 2 and "unknown role" in bad_role.stderr

    changed = edigw(config, "user", "passwd", "first.admin", "--password-stdin", stdin="the next password\n")
    assert changed.returncode == 0, changed.stderr
    assert Client(server.base).login("first.admin", "the next password").status == 303


def test_api_tokens_are_stored_hashed_and_carry_the_users_role(gateway: Gateway, server: Server,
                                                               config: Config) -> None:
    add_user(gateway, "vera", "viewer")
    add_user(gateway, "olga", "operator")
    made = edigw(config, "user", "token", "olga", "--label", "erp")
    assert made.returncode == 0, made.stderr
    operator_token = made.stdout.strip()
    viewer_token = auth.new_token(gateway.engine, "vera")
    with session_scope(gateway.engine) as s:
        rows = s.exec(select(ApiToken).order_by(col(ApiToken.id))).all()
        assert [r.token_sha256 for r in rows] == [hashlib.sha256(t.encode()).hexdigest()
                                                  for t in (operator_token, viewer_token)]
        assert all(operator_token not in (r.token_sha256 + r.label) for r in rows)

    client = Client(server.base)  # no cookies: bearer requests need no CSRF token
    bearer = {"Authorization": f"Bearer {operator_token}"}
    accepted = client.request("POST", "/api/outbound?partner=acme", body=order("PO-T1"), headers=bearer)
    assert accepted.status == 202, accepted.body
    item_id = accepted.json()["id"]
    gateway.pipeline.wait(item_id)
    me = client.request("GET", "/api/session", headers=bearer).json()
    assert (me["username"], me["role"], me["via"], me["csrf_token"]) == ("olga", "operator", "token", None)

    as_viewer = {"Authorization": f"Bearer {viewer_token}"}
    assert client.request("GET", f"/api/items/{item_id}", headers=as_viewer).status == 200
    assert client.request("POST", "/api/outbound?partner=acme", body=order("PO-T2"), headers=as_viewer).status == 403
    for wrong in (operator_token + "x", "edigw_nothing", "", operator_token[6:]):
        reply = client.request("GET", f"/api/items/{item_id}", headers={"Authorization": f"Bearer {wrong}"})
        assert reply.status == 401
    assert edigw(config, "user", "token", "nobody").returncode == 2


def test_a_bearer_request_is_not_rescued_by_a_session_cookie(gateway: Gateway, server: Server) -> None:
    add_user(gateway, "olga", "operator")
    client = Client(server.base)
    assert client.login("olga", PASSWORD).status == 303
    assert client.request("GET", "/api/session", headers={"Authorization": "Bearer wrong"}).status == 401


def test_the_single_configured_token_still_works_as_admin(gateway: Gateway, server: Server,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDIGW_API_TOKEN", "legacy-token-value")
    client = Client(server.base)
    me = client.request("GET", "/api/session", headers={"Authorization": "Bearer legacy-token-value"})
    assert me.status == 200 and me.json()["role"] == "admin"
    assert client.request("GET", "/api/session", headers={"Authorization": "Bearer legacy"}).status == 401


def test_the_api_is_open_only_when_auth_is_disabled_and_no_user_exists(gateway: Gateway, server: Server,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    client = Client(server.base)
    assert client.request("GET", "/api/items/itm_x").status == 401
    monkeypatch.setenv("EDIGW_AUTH_DISABLED", "1")
    assert client.request("GET", "/api/items/itm_x").status == 404  # open: loopback, no users
    assert client.get_html("/admin/users").status == 303  # pages always need a session
    add_user(gateway, "adam", "admin")
    assert client.request("GET", "/api/items/itm_x").status == 401  # users exist: sign in


def test_pages_carry_security_headers(gateway: Gateway, server: Server) -> None:
    page = Client(server.base).get_html("/login")
    assert page.headers["X-Frame-Options"] == "DENY" and page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Cache-Control"] == "no-store"
    assert '<label for="password">' in page.body and 'autocomplete="current-password"' in page.body
