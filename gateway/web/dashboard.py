"""The dashboard, the partners view and Prometheus metrics: how the gateway is doing, at a glance.

Figures come from aggregate queries over the store (GROUP BY in the database), so they stay cheap
with a large history. Charts are plain server-rendered SVG with the numbers in a table beside them.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import Depends, FastAPI, Request, Response
from fastapi.responses import HTMLResponse
from markupsafe import Markup, escape
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import Date, cast, func
from sqlmodel import Session, col, select

from gateway.service import Gateway
from gateway.store.db import session_scope
from gateway.store.models import (
    Acknowledgement,
    DocumentRecord,
    ExceptionRecord,
    OutboundMessage,
    ReceivedItem,
    utcnow,
)
from gateway.web.auth import TEMPLATES, Principal, principal

PALETTE = ["#2f6db5", "#e08a1e", "#3b9a57", "#b5452f", "#7a56b0", "#8a8a8a", "#1f9aa8", "#c4a000"]


@dataclass
class Series:
    """Counts per day per key (channel or partner), for one stacked bar chart."""

    days: list[dt.date]
    counts: dict[str, dict[dt.date, int]] = field(default_factory=dict)

    def total(self, day: dt.date) -> int:
        return sum(c.get(day, 0) for c in self.counts.values())


def _days(n: int) -> list[dt.date]:
    today = utcnow().date()
    return [today - dt.timedelta(days=n - 1 - i) for i in range(n)]


def _per_day(session: Session, key: Any, days: list[dt.date]) -> Series:
    since = dt.datetime.combine(days[0], dt.time(), tzinfo=dt.UTC)
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":  # the UTC day, whatever the session's time zone
        day: Any = cast(func.timezone("UTC", ReceivedItem.received_at), Date)
    else:  # SQLite keeps UTC text; date() gives 'YYYY-MM-DD'
        day = func.date(ReceivedItem.received_at)
    rows = session.exec(
        select(day, key, func.count()).where(col(ReceivedItem.received_at) >= since,
                                             ReceivedItem.direction == "in")
        .group_by(day, key)
    ).all()
    series = Series(days)
    for d, k, n in rows:
        d = d if isinstance(d, dt.date) else dt.date.fromisoformat(str(d))
        series.counts.setdefault(str(k or "unknown"), {})[d] = int(n)
    return series


def bar_chart(series: Series, title: str) -> Markup:
    """A stacked bar chart as inline SVG, with a title and description for screen readers."""
    width, height, pad, legend_w = 640, 200, 28, 150
    top = max((series.total(d) for d in series.days), default=0) or 1
    bar_w = (width - legend_w - pad) / max(len(series.days), 1)
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height + 40}" role="img" '
             f'aria-label="{escape(title)}"><title>{escape(title)}</title>']
    keys = sorted(series.counts)
    for i, d in enumerate(series.days):
        x = pad + i * bar_w
        y: float = height
        for k_index, key in enumerate(keys):
            n = series.counts[key].get(d, 0)
            if not n:
                continue
            h = n / top * (height - 10)
            y -= h
            color = PALETTE[k_index % len(PALETTE)]
            parts.append(f'<rect x="{x + 2:.1f}" y="{y:.1f}" width="{bar_w - 4:.1f}" height="{h:.1f}" '
                         f'fill="{color}"><title>{escape(key)} {d:%b %d}: {n}</title></rect>')
        if i % 2 == 0 or len(series.days) <= 8:
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{height + 16}" font-size="10" text-anchor="middle">'
                         f'{d:%d %b}</text>')
    parts.append(f'<text x="2" y="12" font-size="10">{top}</text>'
                 f'<line x1="{pad}" y1="{height}" x2="{width - legend_w}" y2="{height}" stroke="#999"/>')
    for k_index, key in enumerate(keys[:10]):
        ly = 12 + k_index * 16
        parts.append(f'<rect x="{width - legend_w + 10}" y="{ly - 9}" width="10" height="10" '
                     f'fill="{PALETTE[k_index % len(PALETTE)]}"/><text x="{width - legend_w + 26}" y="{ly}" '
                     f'font-size="11">{escape(key)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))
    return ordered[k]


def delivery_seconds(session: Session, since: dt.datetime, limit: int = 50_000) -> list[float]:
    """Seconds from receipt to ERP delivery for documents delivered since `since` (newest first, capped)."""
    rows = session.exec(
        select(ReceivedItem.received_at, DocumentRecord.delivered_at)
        .join(ReceivedItem, col(ReceivedItem.id) == col(DocumentRecord.item_id))
        .where(col(DocumentRecord.delivered_at) >= since, ReceivedItem.direction == "in")
        .order_by(col(DocumentRecord.delivered_at).desc()).limit(limit)
    ).all()
    return [(d - r).total_seconds() for r, d in rows if r is not None and d is not None]


def overview(gw: Gateway, days: int = 14) -> dict[str, Any]:
    span = _days(days)
    since = dt.datetime.combine(span[0], dt.time(), tzinfo=dt.UTC)
    with session_scope(gw.engine) as s:
        by_channel = _per_day(s, ReceivedItem.channel, span)
        by_partner = _per_day(s, ReceivedItem.partner_id, span)
        items = s.exec(select(func.count()).select_from(ReceivedItem)
                       .where(col(ReceivedItem.received_at) >= since, ReceivedItem.direction == "in")).one()
        with_exception = s.exec(
            select(func.count(func.distinct(ExceptionRecord.item_id)))
            .where(col(ExceptionRecord.created_at) >= since)).one()
        open_exceptions = s.exec(select(func.count()).select_from(ExceptionRecord)
                                 .where(ExceptionRecord.status == "open")).one()
        latency = delivery_seconds(s, since)
        awaiting_partner_ack = s.exec(select(func.count()).select_from(OutboundMessage)
                                      .where(col(OutboundMessage.state).in_(["sent", "overdue"]))).one()
        overdue = s.exec(select(func.count()).select_from(OutboundMessage)
                         .where(OutboundMessage.state == "overdue")).one()
        unsent_acks = s.exec(select(func.count()).select_from(Acknowledgement)
                             .where(col(Acknowledgement.sent_at).is_(None))).one()
    return {
        "days": span, "by_channel": by_channel, "by_partner": by_partner, "items": int(items),
        "exception_rate": (int(with_exception) / int(items)) if items else None,
        "open_exceptions": int(open_exceptions),
        "latency_median": statistics.median(latency) if latency else None,
        "latency_p95": percentile(latency, 0.95), "latency_count": len(latency),
        "awaiting_partner_ack": int(awaiting_partner_ack), "overdue": int(overdue), "unsent_acks": int(unsent_acks),
    }


def seconds_text(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 120:
        return f"{value:.1f} s"
    return f"{value / 60:.1f} min"


def partner_rows(gw: Gateway) -> list[dict[str, Any]]:
    week = utcnow() - dt.timedelta(days=7)
    with session_scope(gw.engine) as s:
        traffic = dict(s.exec(select(ReceivedItem.partner_id, func.count()).where(
            col(ReceivedItem.received_at) >= week).group_by(ReceivedItem.partner_id)).all())
        last_seen = dict(s.exec(select(ReceivedItem.partner_id, func.max(ReceivedItem.received_at))
                                .group_by(ReceivedItem.partner_id)).all())
        open_exc = dict(s.exec(select(ExceptionRecord.partner_id, func.count()).where(
            ExceptionRecord.status == "open").group_by(ExceptionRecord.partner_id)).all())
        rows = []
        for p in gw.config.partners:
            recent = s.exec(select(DocumentRecord).where(DocumentRecord.partner_id == p.id)
                            .order_by(col(DocumentRecord.created_at).desc()).limit(8)).all()
            rows.append({"partner": p, "week": traffic.get(p.id, 0), "last_seen": last_seen.get(p.id),
                         "open": open_exc.get(p.id, 0),
                         "recent": [{"id": d.id, "item": d.item_id, "kind": d.kind, "number": d.number,
                                     "state": d.state, "at": d.created_at} for d in recent]})
    return rows


class StoreCollector:
    """Prometheus metrics read from the store at scrape time (nothing to keep in step in memory)."""

    def __init__(self, gw: Gateway) -> None:
        self.gw = gw

    def collect(self) -> Iterator[Metric]:
        with session_scope(self.gw.engine) as s:
            items = GaugeMetricFamily("edigw_items", "Received items by state and direction",
                                      labels=["state", "direction"])
            for state, direction, n in s.exec(select(ReceivedItem.state, ReceivedItem.direction, func.count())
                                              .group_by(ReceivedItem.state, ReceivedItem.direction)).all():
                items.add_metric([state, direction], n)
            docs = GaugeMetricFamily("edigw_documents", "Canonical documents by kind and state",
                                     labels=["kind", "state"])
            for kind, state, n in s.exec(select(DocumentRecord.kind, DocumentRecord.state, func.count())
                                         .group_by(DocumentRecord.kind, DocumentRecord.state)).all():
                docs.add_metric([kind, state], n)
            excs = GaugeMetricFamily("edigw_exceptions_open", "Open inbox exceptions", labels=["partner", "code"])
            for partner, code, n in s.exec(select(ExceptionRecord.partner_id, ExceptionRecord.code, func.count())
                                           .where(ExceptionRecord.status == "open")
                                           .group_by(ExceptionRecord.partner_id, ExceptionRecord.code)).all():
                excs.add_metric([partner or "unknown", code], n)
            waiting = GaugeMetricFamily("edigw_outbound_awaiting_ack", "Interchanges sent, no 997/999/TA1 yet",
                                        labels=["state"])
            for state, n in s.exec(select(OutboundMessage.state, func.count())
                                   .where(col(OutboundMessage.state).in_(["sent", "overdue"]))
                                   .group_by(OutboundMessage.state)).all():
                waiting.add_metric([state], n)
            latency = delivery_seconds(s, utcnow() - dt.timedelta(hours=24))
        delivery = GaugeMetricFamily("edigw_delivery_seconds", "Receipt to ERP delivery, last 24 h",
                                     labels=["quantile"])
        for q in (0.5, 0.95):
            value = percentile(latency, q)
            if value is not None:
                delivery.add_metric([str(q)], value)
        yield from (items, docs, excs, waiting, delivery)


def install_dashboard(app: FastAPI, gw: Gateway) -> None:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(gw))

    @app.get("/dashboard", response_class=HTMLResponse)
    def dashboard(request: Request, user: Principal = Depends(principal("viewer"))) -> Response:
        data = overview(gw)
        return TEMPLATES.TemplateResponse(request, "dashboard.html", {
            **data, "chart_channel": bar_chart(data["by_channel"], "Documents received per day, by channel"),
            "chart_partner": bar_chart(data["by_partner"], "Documents received per day, by partner"),
            "seconds_text": seconds_text, "table_channel": counts_table(data["by_channel"]),
            "table_partner": counts_table(data["by_partner"]),
        })

    @app.get("/partners", response_class=HTMLResponse)
    def partners(request: Request, user: Principal = Depends(principal("viewer"))) -> Response:
        return TEMPLATES.TemplateResponse(request, "partners.html", {"rows": partner_rows(gw)})

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type="text/plain; version=0.0.4; charset=utf-8")


def counts_table(series: Series) -> list[tuple[str, list[int]]]:
    return [(key, [series.counts[key].get(d, 0) for d in series.days]) for key in sorted(series.counts)]

