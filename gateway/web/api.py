"""The JSON API the ERP side uses: submit documents for a partner, follow an item's state."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from pydantic import BaseModel
from sqlmodel import col, select

from gateway.service import Gateway
from gateway.store.db import session_scope
from gateway.store.models import DocumentRecord, ExceptionRecord, ReceivedItem
from gateway.web.api_actions import install_api_actions
from gateway.web.auth import install_auth, principal
from gateway.web.dashboard import install_dashboard
from gateway.web.inbox import install_inbox
from gateway.web.pdf_views import install_pdf_views

MAX_SUBMISSION = 20 * 1024 * 1024


class Submitted(BaseModel):
    id: str
    state: str
    duplicate_of: str | None = None


class DocumentState(BaseModel):
    id: str
    kind: str
    number: str | None
    state: str


class ItemStatus(BaseModel):
    id: str
    partner: str | None
    direction: str
    state: str
    summary: str
    documents: list[DocumentState]
    exceptions: list[dict[str, str]]


def create_app(gateway: Gateway) -> FastAPI:
    app = FastAPI(title="edigw", summary="EDI gateway API: submit documents for partners, follow their state.")
    install_auth(app, gateway)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/api/outbound", status_code=202, response_model=Submitted,
              dependencies=[Depends(principal("operator"))])
    async def submit(request: Request, partner: Annotated[str, Query(description="partner id")]) -> Submitted:
        """Send canonical documents (one or a list) to a partner as its X12; returns the item to follow."""
        if gateway.config.partner(partner) is None:
            raise HTTPException(404, f"unknown partner {partner!r}")
        body = await request.body()
        if len(body) > MAX_SUBMISSION:
            raise HTTPException(413, f"submission over {MAX_SUBMISSION} bytes")
        received = gateway.submit(body, partner_id=partner, channel="api")
        return Submitted(id=received.item_id, state=received.state, duplicate_of=received.duplicate_of)

    @app.get("/api/items/{item_id}", response_model=ItemStatus, dependencies=[Depends(principal("viewer"))])
    def item(item_id: str) -> ItemStatus:
        with session_scope(gateway.engine) as session:
            it = session.get(ReceivedItem, item_id)
            if it is None:
                raise HTTPException(404, f"no item {item_id}")
            docs = session.exec(select(DocumentRecord).where(DocumentRecord.item_id == item_id)
                                .order_by(col(DocumentRecord.position))).all()
            excs = session.exec(select(ExceptionRecord).where(ExceptionRecord.item_id == item_id)).all()
            return ItemStatus(id=it.id, partner=it.partner_id, direction=it.direction, state=it.state,
                              summary=it.summary,
                              documents=[DocumentState(id=d.id, kind=d.kind, number=d.number, state=d.state)
                                         for d in docs],
                              exceptions=[{"code": e.code, "message": e.message, "status": e.status}
                                          for e in excs])

    install_inbox(app, gateway)  # the web inbox at /
    install_dashboard(app, gateway)  # /dashboard, /partners, /metrics
    install_api_actions(app, gateway)  # the inbox's reads and actions as JSON
    install_pdf_views(app, gateway)  # PDF page images, learnt hints, sender binding
    return app


def serve_in_thread(gateway: Gateway) -> Any:
    """Run the API with uvicorn on the configured loopback address in a background thread."""
    import threading

    import uvicorn

    config = uvicorn.Config(create_app(gateway), host=gateway.config.gateway.http_host,
                            port=gateway.config.gateway.http_port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="edigw-http", daemon=True)
    thread.start()
    return server
