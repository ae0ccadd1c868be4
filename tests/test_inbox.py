"""The web inbox on a real uvicorn server: list, filters, detail with the failing element, actions, roles, escaping."""

from __future__ import annotations

import datetime as dt
import html
import http.cookiejar
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlmodel import select

from gateway.config import Config, PartnerIdentity
from gateway.service import Gateway
from gateway.store.db import session_scope
from gateway.store.models import AuditEntry, DocumentRecord, ExceptionRecord, ReceivedItem, new_id, utcnow
from gateway.web.auth import create_user
from gateway.web.inbox import Filters, format_age, list_open
from gateway.web.render import Highlight, parse_location, preview, x12_view
from tests.live import LiveServer as Server
from tests.x12_factory import interchange, order_file, po_850

PASSWORD = "correct horse battery"
BAD_UOM = order_file("PO-FIX", 801).replace(b"PO1*1*11*EA", b"PO1*1*11*XX")


@pytest.fixture
def gateway(config: Config, monkeypatch: pytest.MonkeyPatch) -> Iterator[Gateway]:
    for name in ("EDIGW_DATABASE_URL", "EDIGW_API_TOKEN", "EDIGW_AUTH_DISABLED"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("EDIGW_COOKIE_SECURE", "0")  # plain http on loopback in tests
    gw = Gateway(config)
    gw.start(channels=False)
    create_user(gw.engine, "olivia", "operator", PASSWORD)
    create_user(gw.engine, "victor", "viewer", PASSWORD)
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
    body: str
    url: str
    headers: Any


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Browser:
    """A person's browser, roughly: a cookie jar, HTML accepted, forms posted url-encoded."""

    def __init__(self, server: Server) -> None:
        self.base = server.base
        self.jar = http.cookiejar.CookieJar()
        cookies = urllib.request.HTTPCookieProcessor(self.jar)
        self.follow = urllib.request.build_opener(cookies)
        self.stay = urllib.request.build_opener(cookies, _NoRedirect())

    def request(self, method: str, path: str, form: dict[str, Any] | list[tuple[str, str]] | None = None,
                follow: bool = True) -> Reply:
        data = urllib.parse.urlencode(form, doseq=True).encode() if form is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method, headers={"Accept": "text/html"})
        if data is not None:
            req.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            with (self.follow if follow else self.stay).open(req, timeout=60) as resp:
                return Reply(resp.status, resp.read().decode(), resp.url, resp.headers)
        except urllib.error.HTTPError as err:
            return Reply(err.code, err.read().decode(errors="replace"), err.url or "", err.headers)

    def get(self, path: str, follow: bool = True) -> Reply:
        return self.request("GET", path, follow=follow)

    def post(self, path: str, form: dict[str, Any] | list[tuple[str, str]], follow: bool = True) -> Reply:
        return self.request("POST", path, form, follow)

    def login(self, username: str, password: str = PASSWORD) -> None:
        page = self.get("/login")
        reply = self.post("/login", {"username": username, "password": password, "next": "/",
                                     "csrf_token": csrf(page.body)})
        assert reply.status == 200 and "Exception inbox" in reply.body, reply.body[:500]


def csrf(page: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert m, "no CSRF token on the page"
    return html.unescape(m.group(1))


def run(gw: Gateway, raw: bytes, partner: str | None = "acme", source_name: str = "in.edi") -> str:
    received = gw.ingest(raw, channel="folder", partner_id=partner, source_name=source_name)
    gw.pipeline.wait(received.item_id)
    return received.item_id


def document_of(gw: Gateway, item_id: str) -> DocumentRecord:
    with session_scope(gw.engine) as s:
        return s.exec(select(DocumentRecord).where(DocumentRecord.item_id == item_id)).one()


def open_exception(gw: Gateway, item_id: str) -> ExceptionRecord:
    with session_scope(gw.engine) as s:
        return s.exec(select(ExceptionRecord).where(ExceptionRecord.item_id == item_id,
                                                    ExceptionRecord.status == "open")).one()


def erp_numbers(config: Config) -> list[str]:
    return sorted(json.loads(p.read_text())["number"] for p in config.erp.path.glob("*.json")) \
        if config.erp.path.exists() else []


def edit_form(doc: DocumentRecord, token: str, **changes: str) -> dict[str, str]:
    """What the edit form posts when left as it is, with some fields changed."""
    content = json.loads(doc.content)
    form = {"csrf_token": token, "reason": "unit was a typo"}
    for name in ("number", "po_number", "date", "currency"):
        form[name] = content.get(name) or ""
    for n, line in enumerate(content["lines"]):
        for name in ("quantity", "uom", "unit_price", "description"):
            form[f"line-{n}-{name}"] = line.get(name) or ""
    form.update(changes)
    return form


def list_rows(page: str) -> str:
    """The list's table body only (the queue counts and filter options name codes too)."""
    m = re.search(r'<table class="exceptions">.*?</table>', page, re.S)
    return m.group(0) if m else ""


# --- the list and the detail page ------------------------------------------------------------------

def test_the_list_shows_a_broken_order_and_filters_and_search_narrow_it(gateway: Gateway, server: Server) -> None:
    broken = run(gateway, BAD_UOM)
    garbage = run(gateway, b"this is not EDI at all", source_name="notes.txt")
    other = run(gateway, order_file("PO-OTHER", 802, sender="123456789", sender_q="01")
              .replace(b"PO1*2*12*EA", b"PO1*2*12*XX"), partner="globex")
    browser = Browser(server)
    assert browser.get("/", follow=False).status == 303  # sign in first
    browser.login("victor")
    page = browser.get("/").body
    rows = list_rows(page)
    assert "PO-FIX" in rows and "X12_INVALID_CODE" in rows and "UNSUPPORTED_FORMAT" in rows and "PO-OTHER" in rows
    assert rows.index("PO-FIX") < rows.index("notes.txt") < rows.index("PO-OTHER")  # oldest first
    assert re.search(r"<time [^>]*>\d+ (s|min)</time>", rows)  # age shown
    assert "3 open exception(s)" in page
    assert re.search(r'X12_INVALID_CODE</a></td><td class="num">2</td>', page)  # count per code

    def shown(query: str) -> set[str]:
        body = list_rows(browser.get("/?" + query).body)
        return {name for name in ("PO-FIX", "notes.txt", "PO-OTHER") if name in body}

    assert shown("q=PO-FIX") == {"PO-FIX"}
    assert shown("q=po-fix") == {"PO-FIX"}
    assert shown("q=" + broken) == {"PO-FIX"}
    assert shown("q=NOPE") == set()
    assert shown("code=UNSUPPORTED_FORMAT") == {"notes.txt"}
    assert shown("partner=globex") == {"PO-OTHER"}
    assert shown("partner=acme&code=X12_INVALID_CODE") == {"PO-FIX"}
    assert shown("kind=order") == {"PO-FIX", "PO-OTHER"}
    assert shown("channel=folder") == {"PO-FIX", "notes.txt", "PO-OTHER"}
    assert shown("channel=smtp") == set()
    assert shown("age=1h") == {"PO-FIX", "notes.txt", "PO-OTHER"}
    assert shown("age=old") == set()
    assert shown("assignee=-") == {"PO-FIX", "notes.txt", "PO-OTHER"}
    assert shown("assignee=sam") == set()
    newest = list_rows(browser.get("/?order=newest").body)
    assert newest.index("PO-OTHER") < newest.index("PO-FIX")
    assert "Replay selected" not in page  # a viewer is offered no actions
    assert garbage and other


def test_the_detail_page_marks_the_failing_element_and_explains_it(gateway: Gateway, server: Server) -> None:
    item_id = run(gateway, BAD_UOM)
    exc = open_exception(gateway, item_id)
    browser = Browser(server)
    browser.login("victor")
    jump = browser.get(f"/exceptions/{exc.id}", follow=False)
    assert jump.status == 303 and jump.headers["Location"].endswith("#seg-10")
    page = browser.get(f"/exceptions/{exc.id}").body
    row = re.search(r'<tr id="seg-10" class="failing">.*?</tr>', page, re.S)
    assert row is not None, "the failing PO1 row is not highlighted"
    assert "<mark>XX</mark>" in row.group(0) and ">10</th>" in row.group(0)
    raw = re.search(r'<table class="x12">.*?</table>', page, re.S)
    assert raw is not None and raw.group(0).count("<mark>") == 1
    assert re.search(r'<tr id="seg-9">.*?N4', page, re.S)  # one segment per line, numbered
    assert "X12_INVALID_CODE" in page and "is &#39;XX&#39;, which is not a valid code" in page
    assert '<a href="#seg-10">segment 10 (PO1) at byte 323, PO103</a>' in page
    assert "canonical field <code>lines[0].uom</code>" in page
    assert 'id="f-line-0-uom"' not in page  # the edit form is for operators
    assert "ACME DISTRIBUTION CENTER 3" in page and "ITEM NUMBER 1" in page  # the document as understood
    assert "AK4*3*355*7*XX" in page  # the 997 that was sent
    assert "ack built" in page and "validated → exception" in page  # history


def test_non_x12_input_is_previewed_safely(gateway: Gateway, server: Server) -> None:
    text_item = run(gateway, b"Dear supplier, <b>please</b> ship\x00 soon", source_name="mail.txt")
    binary_item = run(gateway, bytes(range(256)) * 100, source_name="blob.bin")
    browser = Browser(server)
    browser.login("victor")
    page = browser.get(f"/items/{text_item}").body
    assert "Dear supplier, &lt;b&gt;please&lt;/b&gt; ship\\x00 soon" in page
    page = browser.get(f"/items/{binary_item}").body
    assert "00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f" in page and "first 4,096 of 25,600 bytes" in page


# --- actions ---------------------------------------------------------------------------------------

def test_correcting_the_unit_and_resubmitting_delivers_the_order(gateway: Gateway, server: Server,
                                                                   config: Config) -> None:
    item_id = run(gateway, BAD_UOM)
    doc = document_of(gateway, item_id)
    browser = Browser(server)
    browser.login("olivia")
    page = browser.get(f"/items/{item_id}").body
    assert re.search(r'<input id="f-line-0-uom" name="line-0-uom" type="text" size="4"\s+value="XX" '
                     r'class="invalid" aria-invalid="true">', page)
    token = csrf(page)

    refused = browser.post(f"/documents/{doc.id}/resubmit", edit_form(doc, token, **{"line-0-uom": "XY",
                                                                                    "line-1-description": "kept"}))
    assert refused.status == 422
    assert "Not resubmitted" in refused.body and "X12_INVALID_CODE" in refused.body
    assert 'value="XY"' in refused.body and 'value="kept"' in refused.body  # the edits are not lost
    bad_number = browser.post(f"/documents/{doc.id}/resubmit", edit_form(doc, token, **{"line-0-quantity": "lots"}))
    assert bad_number.status == 422 and "lines.0.quantity" in bad_number.body
    assert re.search(r'name="line-0-quantity"[^>]*value="lots" class="invalid"', bad_number.body)
    assert erp_numbers(config) == []

    done = browser.post(f"/documents/{doc.id}/resubmit", edit_form(doc, token, **{"line-0-uom": "EA"}),
                        follow=False)
    assert done.status == 303
    landed = browser.get(done.headers["Location"])
    assert "document PO-FIX corrected and delivered" in landed.body and 'class="flash flash-ok"' in landed.body
    assert "corrected and delivered" not in browser.get(done.headers["Location"]).body  # flash shown once
    assert erp_numbers(config) == ["PO-FIX"]
    assert "PO-FIX" not in list_rows(browser.get("/").body)
    with session_scope(gateway.engine) as s:
        entry = s.exec(select(AuditEntry).where(AuditEntry.action == "resubmit")).one()
    assert entry.actor == "olivia" and json.loads(entry.detail)["reason"] == "unit was a typo"


def test_assign_resolve_reject_and_replay_from_the_pages(gateway: Gateway, server: Server, config: Config) -> None:
    first = run(gateway, BAD_UOM)
    second = run(gateway, order_file("PO-REJ", 803).replace(b"PO1*1*11*EA", b"PO1*1*11*XX"))
    browser = Browser(server)
    browser.login("olivia")
    exc = open_exception(gateway, first)
    token = csrf(browser.get(f"/items/{first}").body)
    back = f"/items/{first}"
    reply = browser.post(f"/exceptions/{exc.id}/assign", {"csrf_token": token, "assignee": "sam", "back": back})
    assert reply.url.endswith(back) and "assigned to sam" in reply.body
    assert "PO-FIX" in list_rows(browser.get("/?assignee=sam").body)
    reply = browser.post(f"/exceptions/{exc.id}/resolve", {"csrf_token": token, "reason": " ", "back": back})
    assert "flash-error" in reply.body and "say why" in reply.body
    reply = browser.post(f"/exceptions/{exc.id}/resolve", {"csrf_token": token, "reason": "duplicate of a phone order",
                                                           "back": "https://evil.example/"})
    assert reply.url.startswith(server.base) and "resolved" in reply.body
    assert "PO-FIX" not in list_rows(browser.get("/").body)

    doc = document_of(gateway, second)
    reply = browser.post(f"/documents/{doc.id}/reject", {"csrf_token": token, "reason": "account on hold"})
    assert "order PO-REJ rejected; 855 rejection queued" in reply.body
    assert "PO-REJ" not in list_rows(browser.get("/").body)

    unknown = run(gateway, order_file("PO-NEW", 804, sender="NEWCO"), partner=None)
    reply = browser.post(f"/items/{unknown}/replay", {"csrf_token": token, "reason": "nothing changed yet"})
    assert f"item {unknown} replayed as" in reply.body
    with session_scope(gateway.engine) as s:
        actors = {(a.actor, a.action) for a in s.exec(select(AuditEntry)).all()}
    assert {("olivia", "assign"), ("olivia", "resolved"), ("olivia", "reject"), ("olivia", "replay")} <= actors


def test_bulk_replay_from_the_list_delivers_each_once(gateway: Gateway, server: Server, config: Config) -> None:
    first = run(gateway, order_file("PO-B1", 811, sender="NEWCO"), partner=None)
    second = run(gateway, order_file("PO-B2", 812, sender="NEWCO"), partner=None)
    browser = Browser(server)
    browser.login("olivia")
    page = browser.get("/").body
    assert f'name="item" value="{first}"' in page and "Replay selected items" in page
    config.partners[0].identities.append(PartnerIdentity(qualifier="ZZ", id="NEWCO"))
    reply = browser.post("/bulk-replay", [("csrf_token", csrf(page)), ("item", first), ("item", second),
                                          ("item", first), ("reason", "NEWCO added to acme"), ("back", "/")])
    assert "2 item(s) replayed." in reply.body
    with session_scope(gateway.engine) as s:
        replays = [i.id for i in s.exec(select(ReceivedItem).where(ReceivedItem.replay_of.in_([first, second]))  # type: ignore[union-attr]
                                        ).all()]
    assert len(replays) == 2
    for item_id in replays:
        gateway.pipeline.wait(item_id)
    assert erp_numbers(config) == ["PO-B1", "PO-B2"]
    assert "flash-error" in browser.post("/bulk-replay", {"csrf_token": csrf(page), "back": "/"}).body


# --- access and escaping ---------------------------------------------------------------------------

def test_a_viewer_cannot_act_and_forms_need_the_csrf_token(gateway: Gateway, server: Server) -> None:
    item_id = run(gateway, BAD_UOM)
    exc = open_exception(gateway, item_id)
    doc = document_of(gateway, item_id)
    viewer = Browser(server)
    viewer.login("victor")
    page = viewer.get(f"/items/{item_id}").body
    assert "Resubmit" not in page and "Mark resolved" not in page
    token = csrf(page)  # the sign-out form's: a valid token for this session
    for path, form in [(f"/exceptions/{exc.id}/resolve", {"reason": "x"}),
                       (f"/exceptions/{exc.id}/assign", {"assignee": "victor"}),
                       (f"/documents/{doc.id}/resubmit", edit_form(doc, token, **{"line-0-uom": "EA"})),
                       (f"/documents/{doc.id}/reject", {"reason": "x"}),
                       (f"/items/{item_id}/replay", {}),
                       ("/bulk-replay", {"item": item_id})]:
        assert viewer.post(path, {**form, "csrf_token": token}, follow=False).status == 403, path
    operator = Browser(server)
    operator.login("olivia")
    assert operator.post(f"/exceptions/{exc.id}/resolve", {"reason": "x", "csrf_token": "forged"}).status == 403
    assert operator.post(f"/exceptions/{exc.id}/resolve", {"reason": "x"}).status == 403
    anonymous = Browser(server)
    assert anonymous.post(f"/exceptions/{exc.id}/resolve", {"reason": "x"}, follow=False).status in (303, 401, 403)
    assert open_exception(gateway, item_id).status == "open"


def test_html_in_document_content_is_escaped(gateway: Gateway, server: Server, config: Config) -> None:
    script = "<script>alert(1)</script>"
    config.partners[0].name = "<script>alert(2)</script> Retail"
    segments = po_850("PO-XSS", 2)
    segments = [s.replace("ACME DISTRIBUTION CENTER 3", script) for s in segments]
    segments = [s.replace("PO1*1*11*EA", "PO1*1*11*XX") for s in segments]
    raw = interchange([segments], control=805, group_control=805, component=":")
    item_id = run(gateway, raw, source_name='<img src=x onerror="alert(3)">.edi')
    browser = Browser(server)
    browser.login("olivia")
    for page in (browser.get("/").body, browser.get(f"/items/{item_id}").body):
        assert "<script" not in page and "<img" not in page
        assert "&lt;script&gt;alert(2)&lt;/script&gt; Retail" in page
    detail = browser.get(f"/items/{item_id}").body
    assert "&lt;img src=x onerror=&#34;alert(3)&#34;&gt;.edi" in detail
    assert "N1*ST*&lt;script&gt;alert(1)&lt;/script&gt;" in detail.replace('<span class="sep">*</span>', "*")
    assert f"<td>{html.escape(script)}</td>" in detail.replace("&#39;", "'")  # the party name in the table


# --- the list's paging, without a server -------------------------------------------------------------

def _seed(gw: Gateway, count: int, partner: str = "acme") -> list[str]:
    start = utcnow() - dt.timedelta(hours=count)
    ids = []
    with session_scope(gw.engine) as s:
        for n in range(count):
            item = ReceivedItem(id=new_id("itm"), partner_id=partner, channel="folder", sha256=f"{n:064d}",
                                size=3, raw=b"abc", state="exception", received_at=start)
            s.add(item)
            s.flush()
            exc = ExceptionRecord(id=f"exc_{n:04d}", item_id=item.id, partner_id=partner, stage="parse",
                                  code="UNSUPPORTED_FORMAT" if n % 3 else "X12_BAD_ISA", message=f"number {n}",
                                  created_at=start + dt.timedelta(minutes=n // 2))  # ties on created_at
            s.add(exc)
            ids.append(exc.id)
    return ids


def test_keyset_paging_walks_every_open_exception_once_both_ways(gateway: Gateway) -> None:
    ids = _seed(gateway, 121)
    seen: list[str] = []
    f = Filters(limit=50)
    pages = []
    while True:
        page = list_open(gateway.engine, f)
        pages.append(page)
        seen += [r.id for r in page.rows]
        if not page.next_cursor:
            break
        f = Filters(limit=50, after=page.next_cursor)
    assert seen == ids and [len(p.rows) for p in pages] == [50, 50, 21]
    assert pages[0].prev_cursor is None and pages[1].prev_cursor is not None
    assert pages[0].open_total == 121 and pages[0].by_code == [("UNSUPPORTED_FORMAT", 80), ("X12_BAD_ISA", 41)]
    back = list_open(gateway.engine, Filters(limit=50, before=pages[2].prev_cursor or ""))
    assert [r.id for r in back.rows] == ids[50:100] and back.next_cursor is not None
    newest = list_open(gateway.engine, Filters(limit=50, order="newest"))
    assert [r.id for r in newest.rows] == ids[::-1][:50]
    newest2 = list_open(gateway.engine, Filters(limit=50, order="newest", after=newest.next_cursor or ""))
    assert [r.id for r in newest2.rows] == ids[::-1][50:100]
    filtered = list_open(gateway.engine, Filters(code="X12_BAD_ISA", limit=10))
    assert filtered.matching == 41 and all(r.code == "X12_BAD_ISA" for r in filtered.rows)


# --- rendering helpers -------------------------------------------------------------------------------

def test_locations_are_read_back_into_segment_element_and_component() -> None:
    loc = parse_location("segment 10 (PO1) at byte 321, PO103")
    assert loc is not None and (loc.segment, loc.tag, loc.byte, loc.element, loc.component) == (10, "PO1", 321, 3, None)
    loc = parse_location("segment 4 (N1) at byte 99, N104-2")
    assert loc is not None and (loc.element, loc.component) == (4, 2)
    loc = parse_location("segment 1 (ISA) at byte 0")
    assert loc is not None and loc.segment == 1 and loc.element is None
    loc = parse_location("byte 107")
    assert loc is not None and loc.segment is None and loc.byte == 107
    assert parse_location("") is None and parse_location("lines[0].uom") is None


def test_a_large_interchange_shows_the_start_and_the_failing_neighbourhood() -> None:
    sets = [po_850(f"PO{n:05d}", 5, st_control=f"{n + 1:04d}") for n in range(300)]
    raw = interchange(sets)
    loc = parse_location("segment 3000 (PO1) at byte 1, PO103")
    assert loc is not None
    view = x12_view(raw, [Highlight(loc, True)], head=100, window=5)
    assert view is not None and view.truncated
    numbers = [r.number for r in view.rows]
    assert numbers[:100] == list(range(1, 101)) and numbers[100:] == list(range(2995, 3006))
    assert view.rows[100].gap_before == 2894


def test_previews_cap_their_size_and_name_the_kind() -> None:
    assert preview(b"").kind == "empty"
    pv = preview(json.dumps({"name": "<b>x</b>"}).encode())
    assert pv.kind == "json" and '"name": "<b>x</b>"' in pv.text  # escaped by the template, not here
    pv = preview(b"a" * 200_000)
    assert pv.kind == "text" and pv.shown == 64 * 1024 and pv.truncated
    assert preview(b"\x00\x01\x02\xff" * 10).kind == "hex"


def test_ages_read_at_a_glance() -> None:
    now = utcnow()
    assert format_age(now - dt.timedelta(seconds=5), now) == "5 s"
    assert format_age(now - dt.timedelta(minutes=12), now) == "12 min"
    assert format_age(now - dt.timedelta(hours=3, minutes=59), now) == "3 h"
    assert format_age(now - dt.timedelta(days=2, hours=5), now) == "2 d"
