"""The inbox's reads and actions as JSON under /api/ (token or session auth), for scripts and other tools.

The same actions the pages offer, with the same rules: operators act, viewers read, every action
is audited under the caller's name, and a refusal says why (with the issues when there are some).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlmodel import col, select

from gateway import actions
from gateway.service import Gateway
from gateway.store.db import session_scope
from gateway.store.models import ExceptionRecord
from gateway.web.auth import Principal, principal


class ExceptionOut(BaseModel):
    id: str
    item_id: str
    document_id: str | None
    partner: str | None
    stage: str
    code: str
    message: str
    status: str
    assignee: str | None
    created_at: dt.datetime


class Reason(BaseModel):
    reason: str = Field(default="", max_length=500)


class Resubmission(BaseModel):
    document: dict[str, Any]
    reason: str = Field(default="", max_length=500)


class BulkReplay(BaseModel):
    items: list[str] = Field(min_length=1, max_length=1000)
    reason: str = Field(default="", max_length=500)


class Assignment(BaseModel):
    assignee: str | None = Field(default=None, max_length=64)


class ReceiptLine(BaseModel):
    po_number: str | None = Field(default=None, max_length=64)
    line_number: str | None = Field(default=None, max_length=32)
    item_ids: dict[str, str] = Field(default_factory=dict)
    quantity: Decimal
    uom: str | None = Field(default=None, max_length=8)


class GoodsReceipt(BaseModel):
    po_number: str | None = Field(default=None, max_length=64)
    date: dt.date | None = None
    reference: str | None = Field(default=None, max_length=64)
    lines: list[ReceiptLine] = Field(min_length=1, max_length=10_000)


class Correction(BaseModel):
    """Fields of a PDF document as ops reads them off the page: header names or lines.<n>.<cell>."""

    corrections: dict[str, str] = Field(default_factory=dict, max_length=500)
    reason: str = Field(default="", max_length=500)
    learn: bool = True
    force: bool = False


class HintOut(BaseModel):
    id: str
    partner: str
    field: str
    label: str | None
    region: list[float] | None
    example: str
    source_item_id: str | None
    created_by: str
    created_at: dt.datetime
    uses: int
    last_used_at: dt.datetime | None


class SenderIn(BaseModel):
    address: str = Field(min_length=3, max_length=320, description="an address, or @domain for the whole domain")
    partner: str = Field(min_length=1, max_length=64)
    replay: str | None = Field(default=None, max_length=40,
                               description="an UNKNOWN_SENDER exception or email item to replay with the binding")


class ActionOut(BaseModel):
    message: str
    item_id: str | None = None
    document_id: str | None = None


def _act(fn: Callable[[], actions.ActionResult]) -> ActionOut:
    try:
        result = fn()
    except actions.ActionRefused as refused:
        raise HTTPException(409, {"message": str(refused),
                                  "issues": [i.as_dict() for i in refused.issues]}) from refused
    return ActionOut(message=result.message, item_id=result.item_id, document_id=result.document_id)


def install_api_actions(app: FastAPI, gw: Gateway) -> None:
    @app.get("/api/exceptions", response_model=list[ExceptionOut])
    def exceptions(user: Annotated[Principal, Depends(principal("viewer"))],
                   status: Annotated[str, Query(pattern="^(open|resolved|all)$")] = "open",
                   partner: str | None = None, code: str | None = None, assignee: str | None = None,
                   limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[ExceptionOut]:
        """Exceptions, oldest first (the inbox's order)."""
        stmt = select(ExceptionRecord).order_by(col(ExceptionRecord.created_at), col(ExceptionRecord.id)).limit(limit)
        if status != "all":
            stmt = stmt.where(ExceptionRecord.status == status)
        if partner:
            stmt = stmt.where(ExceptionRecord.partner_id == partner)
        if code:
            stmt = stmt.where(ExceptionRecord.code == code)
        if assignee:
            stmt = stmt.where(ExceptionRecord.assignee == assignee)
        with session_scope(gw.engine) as session:
            return [ExceptionOut(id=e.id, item_id=e.item_id, document_id=e.document_id, partner=e.partner_id,
                                 stage=e.stage, code=e.code, message=e.message, status=e.status,
                                 assignee=e.assignee, created_at=e.created_at)
                    for e in session.exec(stmt).all()]

    @app.post("/api/documents/{document_id}/resubmit", response_model=ActionOut)
    def resubmit(document_id: str, body: Resubmission,
                 user: Annotated[Principal, Depends(principal("operator"))]) -> ActionOut:
        return _act(lambda: actions.resubmit(gw, document_id, body.document, actor=user.username,
                                             reason=body.reason))

    @app.post("/api/documents/{document_id}/reject", response_model=ActionOut)
    def reject(document_id: str, body: Reason, user: Annotated[Principal, Depends(principal("operator"))]) -> ActionOut:
        return _act(lambda: actions.reject(gw, document_id, actor=user.username, reason=body.reason))

    @app.post("/api/items/{item_id}/replay", response_model=ActionOut)
    def replay(item_id: str, body: Reason, user: Annotated[Principal, Depends(principal("operator"))]) -> ActionOut:
        return _act(lambda: actions.replay(gw, item_id, actor=user.username, reason=body.reason))

    @app.post("/api/items/replay", response_model=list[ActionOut])
    def bulk_replay(body: BulkReplay, user: Annotated[Principal, Depends(principal("operator"))]) -> Any:
        out: list[dict[str, Any]] = []
        for item_id in dict.fromkeys(body.items):  # once each, in the order given
            try:
                r = actions.replay(gw, item_id, actor=user.username, reason=body.reason)
                out.append(ActionOut(message=r.message, item_id=r.item_id).model_dump())
            except actions.ActionRefused as refused:
                out.append({"message": f"not replayed: {refused}", "item_id": item_id, "document_id": None})
        return JSONResponse(out)

    @app.post("/api/exceptions/{exception_id}/resolve", response_model=ActionOut)
    def resolve(exception_id: str, body: Reason,
                user: Annotated[Principal, Depends(principal("operator"))]) -> ActionOut:
        return _act(lambda: actions.resolve(gw, exception_id, actor=user.username, reason=body.reason))

    @app.post("/api/receipts", response_model=dict[str, list[str]])
    def receipt(body: GoodsReceipt, partner: Annotated[str, Query(description="supplier partner id")],
                user: Annotated[Principal, Depends(principal("operator"))]) -> dict[str, list[str]]:
        """Goods received (from the ERP): held invoices it completes are matched again and delivered."""
        try:
            released = actions.record_receipt(gw, partner, body.model_dump(), actor=user.username)
        except actions.ActionRefused as refused:
            raise HTTPException(409, {"message": str(refused), "issues": []}) from refused
        return {"released": released}

    @app.post("/api/documents/{document_id}/release", response_model=ActionOut)
    def release(document_id: str, body: Reason,
                user: Annotated[Principal, Depends(principal("operator"))]) -> ActionOut:
        return _act(lambda: actions.release(gw, document_id, actor=user.username, reason=body.reason))

    @app.post("/api/documents/{document_id}/correct", response_model=ActionOut)
    def correct(document_id: str, body: Correction,
                user: Annotated[Principal, Depends(principal("operator"))]) -> ActionOut:
        """Correct a PDF document's fields, learn the customer's layout from it, and deliver it."""
        return _act(lambda: actions.correct(gw, document_id, body.corrections, actor=user.username,
                                            reason=body.reason, learn=body.learn, force=body.force))

    @app.get("/api/hints", response_model=list[HintOut])
    def hints(user: Annotated[Principal, Depends(principal("viewer"))], partner: str | None = None) -> list[HintOut]:
        """Layout hints learnt from corrections, per customer."""
        from gateway.learning import list_hints

        with session_scope(gw.engine) as session:
            return [HintOut(id=h.id, partner=h.partner_id, field=h.field, label=h.label,
                            region=json.loads(h.region) if h.region else None, example=h.example,
                            source_item_id=h.source_item_id, created_by=h.created_by, created_at=h.created_at,
                            uses=h.uses, last_used_at=h.last_used_at) for h in list_hints(session, partner)]

    @app.delete("/api/hints/{hint_id}", response_model=ActionOut)
    def delete_hint(hint_id: str, user: Annotated[Principal, Depends(principal("operator"))]) -> ActionOut:
        return _act(lambda: actions.remove_hint(gw, hint_id, actor=user.username))

    @app.post("/api/senders", response_model=ActionOut)
    def bind_sender(body: SenderIn, user: Annotated[Principal, Depends(principal("operator"))]) -> ActionOut:
        """Bind an address or @domain to a customer; with `replay`, process that email again with it."""
        if body.replay:
            return _act(lambda: actions.bind_sender(gw, body.replay or "", body.address, body.partner,
                                                    actor=user.username))

        def bind_only() -> actions.ActionResult:
            from gateway.emailed import bind_sender as bind

            try:
                with session_scope(gw.engine) as session:
                    bind(session, gw.config, body.address, body.partner, actor=user.username, note="bound via the API")
            except (ValueError, LookupError) as exc:
                raise actions.ActionRefused(str(exc).strip("'\"")) from exc
            return actions.ActionResult(f"{body.address.strip().lower()} is now {body.partner}'s")

        return _act(bind_only)

    @app.post("/api/exceptions/{exception_id}/assign", response_model=ActionOut)
    def assign(exception_id: str, body: Assignment,
               user: Annotated[Principal, Depends(principal("operator"))]) -> ActionOut:
        return _act(lambda: actions.assign(gw, exception_id, body.assignee, actor=user.username))
