"""The exception inbox in a browser: the open list, one item in detail, and the actions ops take on it.

Pages are server-rendered (Jinja2, autoescaped). Reads need a viewer, every action an operator; each
action is a POST carrying the session's CSRF token, calls `gateway.actions` (which writes the audit
entry) and redirects back with a one-time flash message, so a reload never repeats it.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import Engine, and_, func, or_
from sqlmodel import col, select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from gateway import actions
from gateway.service import Gateway
from gateway.store.db import session_scope
from gateway.store.models import (
    Acknowledgement,
    AuditEntry,
    DocumentRecord,
    ExceptionRecord,
    IssueRecord,
    ItemState,
    OutboundMessage,
    PdfExtractionRecord,
    ReceivedItem,
    utcnow,
)
from gateway.web.auth import Principal, principal, templates
from gateway.web.pdf_views import changed_fields, detail_context
from gateway.web.render import (
    Highlight,
    X12View,
    ack_lines,
    canonical_field_key,
    field_for,
    parse_location,
    preview,
    x12_view,
)
from mappings.canonical import Document

STATIC_DIR = Path(__file__).resolve().parent / "static"
FLASH_COOKIE = "edigw_flash"
PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
COUNT_CAP = 10_000  # "10,000+": counting every match of a broad filter is not worth a slow page
SEARCH_CAP = 1000  # a document or PO number matching more open exceptions than this is not a search
KINDS = ("order", "order_response", "ship_notice", "invoice", "receipt")
KNOWN_CHANNELS = ("folder", "sftp", "smtp", "http", "api", "cli", "inbox")
AGE_BUCKETS: dict[str, tuple[str, dt.timedelta | None, dt.timedelta | None]] = {
    # name: (label, at least this old, younger than this)
    "1h": ("under an hour", None, dt.timedelta(hours=1)),
    "1d": ("1 to 24 hours", dt.timedelta(hours=1), dt.timedelta(days=1)),
    "7d": ("1 to 7 days", dt.timedelta(days=1), dt.timedelta(days=7)),
    "old": ("over 7 days", dt.timedelta(days=7), None),
}
NOBODY = "-"  # the filter value for "no partner" / "unassigned"
HELD_STATES = (ItemState.EXCEPTION, ItemState.ON_HOLD, ItemState.VALIDATED)
HEADER_FIELDS = ("number", "po_number", "date", "currency")
LINE_FIELDS = ("quantity", "uom", "unit_price", "description")


# --- the list ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Filters:
    """What the list is narrowed to; also what the page's links carry along."""

    partner: str = ""
    channel: str = ""
    kind: str = ""
    code: str = ""
    age: str = ""
    assignee: str = ""
    q: str = ""
    order: str = "oldest"
    after: str = ""
    before: str = ""
    limit: int = PAGE_SIZE

    @property
    def narrowed(self) -> bool:
        return any((self.partner, self.channel, self.kind, self.code, self.age, self.assignee, self.q))

    def link(self, **changes: Any) -> str:
        """This list's URL with some parameters changed (paging resets unless given)."""
        changes.setdefault("after", "")
        changes.setdefault("before", "")
        values = replace(self, **changes)
        params = {k: v for k, v in values.__dict__.items()
                  if v and not (k == "order" and v == "oldest") and not (k == "limit" and v == PAGE_SIZE)}
        return "/?" + urlencode(params) if params else "/"


@dataclass
class ListRow:
    id: str
    item_id: str
    document_id: str | None
    partner_id: str | None
    stage: str
    code: str
    message: str
    assignee: str | None
    created_at: dt.datetime
    channel: str
    source_name: str
    kind: str | None
    number: str | None
    po_number: str | None
    age: str = ""


@dataclass
class ListPage:
    rows: list[ListRow]
    matching: int  # capped at COUNT_CAP + 1
    open_total: int
    by_code: list[tuple[str, int]]
    by_partner: list[tuple[str | None, int]]
    next_cursor: str | None = None
    prev_cursor: str | None = None

    @property
    def matching_label(self) -> str:
        return f"{COUNT_CAP:,}+" if self.matching > COUNT_CAP else f"{self.matching:,}"


def format_age(then: dt.datetime, now: dt.datetime | None = None) -> str:
    """ "40 s", "12 min", "3 h", "2 d": how long something has waited, at a glance."""
    seconds = max(0, int(((now or utcnow()) - then).total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"


def _cursor(row: ListRow) -> str:
    return f"{row.created_at.isoformat()}~{row.id}"


def _parse_cursor(value: str) -> tuple[dt.datetime, str] | None:
    stamp, _, ident = value.partition("~")
    try:
        at = dt.datetime.fromisoformat(stamp)
    except ValueError:
        return None
    if at.tzinfo is None or not ident:
        return None
    return at.astimezone(dt.UTC), ident


def _search_values(q: str) -> list[str]:
    q = q.strip()
    return sorted({q, q.upper()})


def list_open(engine: Engine, f: Filters, now: dt.datetime | None = None) -> ListPage:
    """One page of open exceptions (keyset-paged on created_at, id) with the counts per queue.

    Every query here is bounded: the page by LIMIT along the (status, created_at, id) index, a search by
    SEARCH_CAP, the match count by COUNT_CAP, the queue counts by one GROUP BY over the open rows'
    (status, code, partner_id) index (migration 0005).
    """
    now = now or utcnow()
    Exc, Item, Doc = ExceptionRecord, ReceivedItem, DocumentRecord
    conditions: list[Any] = [Exc.status == "open"]
    if f.partner:
        conditions.append(col(Exc.partner_id).is_(None) if f.partner == NOBODY else Exc.partner_id == f.partner)
    if f.code:
        conditions.append(Exc.code == f.code)
    if f.assignee:
        conditions.append(col(Exc.assignee).is_(None) if f.assignee == NOBODY else Exc.assignee == f.assignee)
    if f.channel:
        conditions.append(Item.channel == f.channel)
    if f.kind:
        conditions.append(Doc.kind == f.kind)
    if f.age in AGE_BUCKETS:
        _, older_than, younger_than = AGE_BUCKETS[f.age]
        if older_than is not None:
            conditions.append(col(Exc.created_at) <= now - older_than)
        if younger_than is not None:
            conditions.append(col(Exc.created_at) > now - younger_than)
    if f.q.strip():
        q = f.q.strip()
        if q.startswith(("itm_", "exc_", "doc_")):
            conditions.append(or_(col(Exc.item_id) == q, col(Exc.id) == q, col(Exc.document_id) == q))
        else:
            values = _search_values(q)
            docs = select(Doc.item_id).where(or_(col(Doc.number).in_(values), col(Doc.po_number).in_(values)))
            conditions.append(col(Exc.item_id).in_(docs))
    columns = [col(c) for c in (Exc.id, Exc.item_id, Exc.document_id, Exc.partner_id, Exc.stage, Exc.code,
                                Exc.message, Exc.assignee, Exc.created_at, Item.channel, Item.source_name, Doc.kind,
                                Doc.number, Doc.po_number)]
    base: Any = (select(*columns).join(Item, col(Item.id) == Exc.item_id)
                 .outerjoin(Doc, col(Doc.id) == Exc.document_id).where(*conditions))
    newest = f.order == "newest"
    backwards = False
    keyset = _parse_cursor(f.after) if f.after else None
    if keyset is None and f.before:
        keyset, backwards = _parse_cursor(f.before), True
    ascending = newest == backwards  # oldest-first forwards, or newest-first paging back
    limit = max(1, min(f.limit, MAX_PAGE_SIZE))
    with session_scope(engine) as session:
        if f.q.strip():
            # A search matches a handful of rows: fetch them all (no ORDER BY, so the planner starts from
            # the document number index rather than walking every open exception in age order), then page
            # them here the same way the database would.
            found = [ListRow(*r) for r in session.exec(base.limit(SEARCH_CAP)).all()]
            found.sort(key=lambda r: (r.created_at, r.id), reverse=not ascending)
            if keyset is not None:
                found = [r for r in found if ((r.created_at, r.id) > keyset) == ascending
                         and (r.created_at, r.id) != keyset]
            fetched = found[:limit + 1]
        else:
            stmt = base
            if keyset is not None:
                at, ident = keyset
                after_key = or_(col(Exc.created_at) > at, and_(col(Exc.created_at) == at, col(Exc.id) > ident))
                before_key = or_(col(Exc.created_at) < at, and_(col(Exc.created_at) == at, col(Exc.id) < ident))
                stmt = stmt.where(after_key if ascending else before_key)
            if ascending:
                order = (col(Exc.created_at).asc(), col(Exc.id).asc())
            else:
                order = (col(Exc.created_at).desc(), col(Exc.id).desc())
            fetched = [ListRow(*r) for r in session.exec(stmt.order_by(*order).limit(limit + 1)).all()]
        more = len(fetched) > limit
        rows = fetched[:limit]
        if backwards:
            rows.reverse()
        # One pass over the (status, code, partner_id) index gives both queue tables.
        queues = session.exec(select(Exc.code, Exc.partner_id, func.count()).where(Exc.status == "open")
                              .group_by(col(Exc.code), col(Exc.partner_id))).all()
        matching: int | None = None  # None: the queue counts below already say
        if f.q.strip():
            matching = len(found)
        elif f.channel or f.kind or f.age or f.assignee:
            counted: Any = select(Exc.id)
            if f.channel:
                counted = counted.join(Item, col(Item.id) == Exc.item_id)
            if f.kind:
                counted = counted.outerjoin(Doc, col(Doc.id) == Exc.document_id)
            capped = counted.where(*conditions).limit(COUNT_CAP + 1).subquery()
            matching = session.exec(select(func.count()).select_from(capped)).one()
    code_counts: dict[str, int] = {}
    partner_counts: dict[str | None, int] = {}
    for code, partner, n in queues:
        code_counts[code] = code_counts.get(code, 0) + n
        partner_counts[partner] = partner_counts.get(partner, 0) + n
    open_total = sum(code_counts.values())
    by_code = sorted(code_counts.items(), key=lambda x: (-x[1], x[0]))
    by_partner = sorted(partner_counts.items(), key=lambda x: (-x[1], x[0] or ""))
    if matching is None:  # no filter, or only partner and code
        partner_wanted = None if f.partner == NOBODY else f.partner
        matching = sum(n for code, partner, n in queues if (not f.code or code == f.code)
                       and (not f.partner or partner == partner_wanted))
    for r in rows:
        r.age = format_age(r.created_at, now)
    page = ListPage(rows, int(matching), open_total, by_code, by_partner)
    if rows:
        has_next = more if not backwards else True
        has_prev = (more if backwards else bool(f.after))
        page.next_cursor = _cursor(rows[-1]) if has_next else None
        page.prev_cursor = _cursor(rows[0]) if has_prev else None
    return page


# --- one item ------------------------------------------------------------------------------------

@dataclass
class IssueView:
    severity: str
    code: str
    message: str
    location: str
    anchor: str | None
    field: str | None
    document_id: str | None
    stage: str


@dataclass
class HistoryRow:
    at: dt.datetime
    actor: str
    action: str
    from_state: str | None
    to_state: str | None
    detail: str
    document_id: str | None


@dataclass
class Detail:
    item: ReceivedItem
    documents: list[DocumentRecord]
    document: DocumentRecord | None
    canonical: Document | None
    canonical_error: str | None
    exceptions: list[ExceptionRecord]
    issues: list[IssueView]
    history: list[HistoryRow]
    acks: list[tuple[Acknowledgement, list[str]]]
    outbound: list[tuple[OutboundMessage, list[str]]]
    related: list[ReceivedItem]
    x12: X12View | None
    raw_preview: Any
    marked: set[str] = field(default_factory=set)  # canonical fields an error points at

    @property
    def editable(self) -> bool:
        return (self.document is not None and self.canonical is not None
                and self.document.state in HELD_STATES
                and any(e.status == "open" for e in self.exceptions if e.document_id == self.document.id))

    @property
    def open_exceptions(self) -> list[ExceptionRecord]:
        return [e for e in self.exceptions if e.status == "open"]


def _looks_x12(raw: bytes) -> bool:
    return raw[:64].lstrip(b"\xef\xbb\xbf \r\n\t").startswith(b"ISA")


def load_detail(engine: Engine, item_id: str, document_id: str | None = None) -> Detail | None:
    """Everything the detail page shows about one received item, read in one transaction."""
    with session_scope(engine) as s:
        item = s.get(ReceivedItem, item_id)
        if item is None:
            return None
        documents = list(s.exec(select(DocumentRecord).where(DocumentRecord.item_id == item_id)
                                .order_by(col(DocumentRecord.position))).all())
        exceptions = list(s.exec(select(ExceptionRecord).where(ExceptionRecord.item_id == item_id)
                                 .order_by(col(ExceptionRecord.created_at), col(ExceptionRecord.id))).all())
        issue_rows = list(s.exec(select(IssueRecord).where(IssueRecord.item_id == item_id)
                                 .order_by(col(IssueRecord.id))).all())
        audit = list(s.exec(select(AuditEntry).where(AuditEntry.item_id == item_id)
                            .order_by(col(AuditEntry.at), col(AuditEntry.id))).all())
        acks = list(s.exec(select(Acknowledgement).where(Acknowledgement.item_id == item_id)
                           .order_by(col(Acknowledgement.position))).all())
        outbound = list(s.exec(select(OutboundMessage).where(OutboundMessage.item_id == item_id)
                               .order_by(col(OutboundMessage.created_at))).all())
        root = item.replay_of or item.id
        related = [i for i in s.exec(select(ReceivedItem).where(
            or_(col(ReceivedItem.id) == root, col(ReceivedItem.replay_of) == root))
            .order_by(col(ReceivedItem.received_at))).all() if i.id != item.id]
    chosen = next((d for d in documents if d.id == document_id), None)
    if chosen is None:
        open_docs = {e.document_id for e in exceptions if e.status == "open"}
        chosen = next((d for d in documents if d.id in open_docs), documents[0] if documents else None)
    canonical, canonical_error = None, None
    if chosen is not None:
        try:
            canonical = Document.model_validate(json.loads(chosen.content))
        except (ValueError, ValidationError) as exc:
            canonical_error = str(exc)[:2000]
    highlights = []
    locations = []
    for r in issue_rows:
        loc = parse_location(r.location)
        locations.append(loc)
        if loc is not None and loc.segment is not None:
            highlights.append(Highlight(loc, r.severity == "error"))
    raw = item.raw
    view = x12_view(raw, highlights) if _looks_x12(raw) else None
    issues = [IssueView(r.severity, r.code, r.message, r.location, loc.anchor if loc else None,
                        field_for(view, loc), r.document_id, r.stage) for r, loc in zip(issue_rows, locations,
                                                                                          strict=True)]
    marked = {canonical_field_key(i.field) for i in issues
              if i.field and i.severity == "error" and chosen is not None and i.document_id in (None, chosen.id)}
    return Detail(
        item=item, documents=documents, document=chosen, canonical=canonical, canonical_error=canonical_error,
        exceptions=exceptions, issues=issues,
        history=[HistoryRow(a.at, a.actor, a.action, a.from_state, a.to_state, a.detail, a.document_id)
                 for a in audit],
        acks=[(a, ack_lines(a.content)) for a in acks], outbound=[(m, ack_lines(m.content)) for m in outbound],
        related=related, x12=view, raw_preview=None if view is not None else preview(raw), marked=marked)


def form_key(canonical: str) -> str | None:
    """The edit form's input for a canonical field ("lines[0].uom" -> "line-0-uom"), if the form has one."""
    name = canonical_field_key(canonical)
    if name in HEADER_FIELDS:
        return name
    if name.startswith("lines["):
        index, _, rest = name[len("lines["):].partition("].")
        if index.isdigit() and rest in LINE_FIELDS:
            return f"line-{index}-{rest}"
    return None


def corrected_document(original: dict[str, Any], form: FormData) -> dict[str, Any]:
    """The canonical document with the form's header and line fields applied (blank means none)."""
    doc = json.loads(json.dumps(original))
    for name in HEADER_FIELDS:
        value = form.get(name)
        if isinstance(value, str):
            doc[name] = value.strip() or None
    for index, line in enumerate(doc.get("lines") or []):
        for name in LINE_FIELDS:
            value = form.get(f"line-{index}-{name}")
            if isinstance(value, str):
                line[name] = value.strip() or None
    return doc


# --- flash messages --------------------------------------------------------------------------------

def _set_flash(response: Response, request: Request, text: str, kind: str = "ok") -> None:
    """A one-time message for the page the redirect lands on (a cookie, so a URL cannot fake one)."""
    value = base64.urlsafe_b64encode(json.dumps({"kind": kind, "text": text[:1000]}).encode()).decode()
    response.set_cookie(FLASH_COOKIE, value, max_age=120, path="/", httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")


def _take_flash(request: Request) -> dict[str, str] | None:
    value = request.cookies.get(FLASH_COOKIE)
    if not value:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(value.encode()))
    except (ValueError, TypeError):
        return None
    if not isinstance(data, dict):
        return None
    return {"kind": "error" if data.get("kind") == "error" else "ok", "text": str(data.get("text", ""))}


def _page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    flash = _take_flash(request)
    response = templates().TemplateResponse(request, name, {"flash": flash, **context}, status_code=status)
    if flash is not None:
        response.delete_cookie(FLASH_COOKIE, path="/", httponly=True, samesite="strict",
                               secure=request.url.scheme == "https")
    return response


def _safe_back(value: object, default: str) -> str:
    """Only a path on this site, so a form cannot send anyone elsewhere after an action."""
    if not isinstance(value, str) or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    parts = urlsplit(value)
    return default if parts.scheme or parts.netloc else value


def _done(request: Request, back: str, text: str, kind: str = "ok") -> Response:
    response = RedirectResponse(back, status_code=303)
    _set_flash(response, request, text, kind)
    return response


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _refused_text(exc: actions.ActionRefused) -> str:
    details = "; ".join(f"{i.code}: {i.message}" for i in exc.issues[:5])
    return f"{exc}" + (f" ({details})" if details else "")


# --- routes ----------------------------------------------------------------------------------------

Viewer = Annotated[Principal, Depends(principal("viewer"))]
Operator = Annotated[Principal, Depends(principal("operator"))]


def inbox_router(gateway: Gateway) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    engine = gateway.engine

    @router.get("/static/inbox.css")
    def stylesheet() -> FileResponse:
        return FileResponse(STATIC_DIR / "inbox.css", media_type="text/css",
                            headers={"Cache-Control": "max-age=300"})

    @router.get("/")
    def inbox(request: Request, who: Viewer, partner: str = "", channel: str = "", kind: str = "",
              code: str = "", age: str = "", assignee: str = "", q: str = "", order: str = "oldest",
              after: str = "", before: str = "",
              limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = PAGE_SIZE) -> Response:
        f = Filters(partner=partner.strip(), channel=channel.strip(), kind=kind.strip(), code=code.strip(),
                    age=age if age in AGE_BUCKETS else "", assignee=assignee.strip(), q=q.strip()[:128],
                    order="newest" if order == "newest" else "oldest", after=after, before=before, limit=limit)
        page = list_open(engine, f)
        partners = sorted({p.id for p in gateway.config.partners} | {p for p, _ in page.by_partner if p})
        names = {p.id: p.name for p in gateway.config.partners}
        return _page(request, "inbox_list.html", {
            "who": who, "f": f, "page": page, "partners": partners, "partner_names": names,
            "channels": sorted(set(KNOWN_CHANNELS) | ({f.channel} if f.channel else set())),
            "kinds": KINDS, "ages": AGE_BUCKETS, "nobody": NOBODY,
            "codes": sorted({c for c, _ in page.by_code} | ({f.code} if f.code else set())),
            "can_act": who.can("operator"), "back": request.url.path + (
                f"?{request.url.query}" if request.url.query else ""),
        })

    def detail_page(request: Request, who: Principal, item_id: str, document: str | None,
                    refused: actions.ActionRefused | None = None, form: FormData | None = None,
                    status: int = 200) -> Response:
        d = load_detail(engine, item_id, document)
        if d is None:
            raise HTTPException(404, f"no item {item_id}")
        marked = set(d.marked)
        refused_issues: list[dict[str, str | None]] = []
        if refused is not None:
            for i in refused.issues:
                key = canonical_field_key(i.location) if i.location else None
                refused_issues.append({"code": i.code, "message": i.message, "location": i.location,
                                       "field": key})
                if key:
                    marked.add(key)
        values: dict[str, str] = {}
        if form is not None:
            values = {k: v for k, v in form.items() if isinstance(v, str)}
        partner = gateway.config.partner(d.item.partner_id) if d.item.partner_id else None
        return _page(request, "inbox_detail.html", {
            "who": who, "d": d, "can_act": who.can("operator"), "partner": partner,
            "marked_keys": {k for k in (form_key(m) for m in marked) if k},
            "refused": refused, "refused_issues": refused_issues, "values": values,
            "back": f"/items/{item_id}" + (f"?document={d.document.id}" if d.document else ""),
            "now": utcnow(), "format_age": format_age,
            "match": json.loads(d.document.match) if d.document is not None and d.document.match else None,
            **detail_context(gateway, d),  # PDFs and scans: pages, boxes, corrections; emails: sender, replies
        }, status)

    def held_document(document_id: str) -> tuple[str, str]:
        """(item id, canonical JSON) of a document, or 404."""
        with session_scope(engine) as s:
            record = s.get(DocumentRecord, document_id)
            if record is None:
                raise HTTPException(404, f"no document {document_id}")
            return record.item_id, record.content

    @router.get("/items/{item_id}")
    def item_detail(request: Request, who: Viewer, item_id: str, document: str | None = None) -> Response:
        return detail_page(request, who, item_id, document)

    @router.get("/exceptions/{exception_id}")
    def exception_detail(who: Viewer, exception_id: str) -> Response:
        """An exception's item, scrolled to the first failing segment of that exception's document."""
        with session_scope(engine) as s:
            exc = s.get(ExceptionRecord, exception_id)
            if exc is None:
                raise HTTPException(404, f"no exception {exception_id}")
            issues = s.exec(select(IssueRecord.location).where(
                IssueRecord.item_id == exc.item_id, IssueRecord.severity == "error",
                or_(col(IssueRecord.document_id) == exc.document_id, col(IssueRecord.document_id).is_(None)))
                .order_by(col(IssueRecord.id))).all()
        anchor = next((loc.anchor for loc in map(parse_location, issues) if loc and loc.anchor), None)
        target = f"/items/{exc.item_id}" + (f"?document={exc.document_id}" if exc.document_id else "")
        return RedirectResponse(target + f"#{anchor or 'exc-' + exc.id}", status_code=303)

    @router.post("/items/{item_id}/replay")
    async def replay(request: Request, who: Operator, item_id: str) -> Response:
        form = await request.form()
        back = _safe_back(form.get("back"), f"/items/{item_id}")
        reason = _text(form, "reason") or "replayed from the inbox"
        try:
            result = await run_in_threadpool(actions.replay, gateway, item_id, actor=who.username, reason=reason)
        except actions.ActionRefused as exc:
            return _done(request, back, _refused_text(exc), "error")
        return _done(request, f"/items/{result.item_id}" if result.item_id else back, result.message)

    @router.post("/bulk-replay")
    async def bulk_replay(request: Request, who: Operator) -> Response:
        form = await request.form()
        back = _safe_back(form.get("back"), "/")
        item_ids = list(dict.fromkeys(v for v in form.getlist("item") if isinstance(v, str) and v))
        if not item_ids:
            return _done(request, back, "Tick at least one item to replay.", "error")
        reason = _text(form, "reason") or "bulk replay from the inbox"
        done, failed = 0, []
        for item_id in item_ids:  # one by one, so one refusal does not hide the others' results
            try:
                await run_in_threadpool(actions.replay, gateway, item_id, actor=who.username, reason=reason)
                done += 1
            except actions.ActionRefused as exc:
                failed.append(f"{item_id}: {exc}")
        text = f"{done} item(s) replayed."
        if failed:
            text += f" {len(failed)} refused: " + "; ".join(failed[:5])
        return _done(request, back, text, "error" if failed else "ok")

    @router.post("/documents/{document_id}/resubmit")
    async def resubmit(request: Request, who: Operator, document_id: str) -> Response:
        form = await request.form()
        item_id, content = await run_in_threadpool(held_document, document_id)
        corrected = corrected_document(json.loads(content), form)
        reason = _text(form, "reason") or "corrected in the inbox"
        try:
            result = await run_in_threadpool(actions.resubmit, gateway, document_id, corrected,
                                             actor=who.username, reason=reason)
        except actions.ActionRefused as exc:
            # The page again, with the person's edits kept and what is still wrong next to them.
            return await run_in_threadpool(detail_page, request, who, item_id, document_id, exc, form, 422)
        return _done(request, f"/items/{item_id}?document={document_id}", result.message)

    @router.post("/documents/{document_id}/correct")
    async def correct(request: Request, who: Operator, document_id: str) -> Response:
        """A PDF document's fields corrected against the page: checked, delivered, and learnt from."""
        form = await request.form()
        item_id, content = await run_in_threadpool(held_document, document_id)
        extraction = await run_in_threadpool(pdf_extraction, item_id)
        values = {k: v for k, v in form.items() if isinstance(v, str)}
        corrections = changed_fields(Document.model_validate(json.loads(content)), extraction, values)
        try:
            result = await run_in_threadpool(actions.correct, gateway, document_id, corrections,
                                             actor=who.username, reason=_text(form, "reason"),
                                             learn=form.get("learn") == "on", force=form.get("force") == "on")
        except actions.ActionRefused as exc:
            return await run_in_threadpool(detail_page, request, who, item_id, document_id, exc, form, 422)
        return _done(request, f"/items/{item_id}?document={document_id}", result.message)

    def pdf_extraction(item_id: str) -> dict[str, Any] | None:
        with session_scope(engine) as s:
            row = s.get(PdfExtractionRecord, item_id)
            return json.loads(row.content) if row is not None else None

    @router.post("/documents/{document_id}/reject")
    async def reject(request: Request, who: Operator, document_id: str) -> Response:
        form = await request.form()
        item_id, _ = await run_in_threadpool(held_document, document_id)
        back = _safe_back(form.get("back"), f"/items/{item_id}?document={document_id}")
        reason = _text(form, "reason")
        if not reason:
            return _done(request, back, "Say why the document is rejected (the partner may see it).", "error")
        try:
            result = await run_in_threadpool(actions.reject, gateway, document_id, actor=who.username,
                                             reason=reason)
        except actions.ActionRefused as exc:
            return _done(request, back, _refused_text(exc), "error")
        return _done(request, back, result.message)

    @router.post("/exceptions/{exception_id}/resolve")
    async def resolve(request: Request, who: Operator, exception_id: str) -> Response:
        form = await request.form()
        back = _safe_back(form.get("back"), f"/exceptions/{exception_id}")
        try:
            result = await run_in_threadpool(actions.resolve, gateway, exception_id, actor=who.username,
                                             reason=_text(form, "reason"))
        except actions.ActionRefused as exc:
            return _done(request, back, _refused_text(exc), "error")
        return _done(request, back, result.message)

    @router.post("/exceptions/{exception_id}/assign")
    async def assign(request: Request, who: Operator, exception_id: str) -> Response:
        form = await request.form()
        back = _safe_back(form.get("back"), f"/exceptions/{exception_id}")
        assignee = _text(form, "assignee")[:64] or None
        try:
            result = await run_in_threadpool(actions.assign, gateway, exception_id, assignee, actor=who.username)
        except actions.ActionRefused as exc:
            return _done(request, back, _refused_text(exc), "error")
        return _done(request, back, result.message)

    return router


def install_inbox(app: FastAPI, gateway: Gateway) -> None:
    """Serve the inbox pages at / (install_auth must have run: every page needs a signed-in user)."""
    app.include_router(inbox_router(gateway))
