"""The inbox's reads and actions over the JSON API, on a real server, with users' bearer tokens."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from gateway.config import Config
from gateway.service import Gateway
from gateway.web import auth
from tests.test_outbound_pipeline import API_TOKEN, Api
from tests.x12_factory import order_file


@pytest.fixture
def served(config: Config, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Gateway, Api, dict[str, str]]]:
    monkeypatch.delenv("EDIGW_DATABASE_URL", raising=False)
    monkeypatch.setenv("EDIGW_API_TOKEN", API_TOKEN)
    gw = Gateway(config)
    gw.start(channels=False)
    tokens = {}
    for name, role in (("olivia", "operator"), ("victor", "viewer")):
        auth.create_user(gw.engine, name, role, "correct horse battery staple")
        tokens[role] = auth.new_token(gw.engine, name)
    api = Api(gw)
    try:
        yield gw, api, tokens
    finally:
        api.close()
        gw.stop()


def broken(gw: Gateway, number: str, control: int) -> str:
    r = gw.ingest(order_file(number, control).replace(b"PO1*1*11*EA", b"PO1*1*11*XX"), channel="folder",
                  partner_id="acme")
    gw.pipeline.wait(r.item_id)
    return r.item_id


def test_list_correct_and_resubmit_through_the_api(served: tuple[Gateway, Api, dict[str, str]],
                                                   config: Config) -> None:
    gw, api, tokens = served
    broken(gw, "PO-API-9", 951)
    code, listed = api.call("GET", "/api/exceptions?code=X12_INVALID_CODE", token=tokens["viewer"])
    assert code == 200 and [e["code"] for e in listed] == ["X12_INVALID_CODE"]
    document_id = listed[0]["document_id"]
    code, item = api.call("GET", f"/api/items/{listed[0]['item_id']}", token=tokens["viewer"])
    assert code == 200 and item["documents"][0]["state"] == "exception"

    from gateway.store.db import session_scope
    from gateway.store.models import DocumentRecord

    with session_scope(gw.engine) as s:
        record = s.get(DocumentRecord, document_id)
        assert record is not None
        doc: dict[str, Any] = json.loads(record.content)
    doc["lines"][0]["uom"] = "XY"
    code, refused = api.call("POST", f"/api/documents/{document_id}/resubmit",
                             {"document": doc, "reason": "try"}, token=tokens["operator"])
    assert code == 409 and [i["code"] for i in refused["detail"]["issues"]] == ["X12_INVALID_CODE"]
    doc["lines"][0]["uom"] = "EA"
    assert api.call("POST", f"/api/documents/{document_id}/resubmit", {"document": doc, "reason": "typo"},
                    token=tokens["viewer"])[0] == 403
    code, done = api.call("POST", f"/api/documents/{document_id}/resubmit", {"document": doc, "reason": "typo"},
                          token=tokens["operator"])
    assert code == 200 and "delivered" in done["message"]
    assert [json.loads(p.read_text())["number"] for p in config.erp.path.glob("*.json")] == ["PO-API-9"]
    code, still_open = api.call("GET", "/api/exceptions", token=tokens["viewer"])
    assert still_open == []


def test_assign_resolve_and_bulk_replay_through_the_api(served: tuple[Gateway, Api, dict[str, str]]) -> None:
    gw, api, tokens = served
    first, second = broken(gw, "PO-API-1", 961), broken(gw, "PO-API-2", 962)
    _, listed = api.call("GET", "/api/exceptions", token=tokens["viewer"])
    exc_id = listed[0]["id"]
    code, out = api.call("POST", f"/api/exceptions/{exc_id}/assign", {"assignee": "sam"}, token=tokens["operator"])
    assert code == 200 and "sam" in out["message"]
    _, mine = api.call("GET", "/api/exceptions?assignee=sam", token=tokens["viewer"])
    assert [e["id"] for e in mine] == [exc_id]
    assert api.call("POST", f"/api/exceptions/{exc_id}/resolve", {"reason": " "}, token=tokens["operator"])[0] == 409
    code, _ = api.call("POST", f"/api/exceptions/{exc_id}/resolve", {"reason": "duplicate of a phone order"},
                       token=tokens["operator"])
    assert code == 200
    code, results = api.call("POST", "/api/items/replay", {"items": [first, second, first, "itm_nope"],
                                                           "reason": "after guide fix"}, token=tokens["operator"])
    assert code == 200 and len(results) == 3
    assert results[-1]["message"].startswith("not replayed")
    assert api.call("GET", "/api/exceptions", token=None)[0] == 401
