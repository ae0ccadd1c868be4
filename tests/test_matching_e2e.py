"""3-way matching end to end: an 850 sent to a supplier, its 856 and 810 back over the folder channel,
the goods receipt from the ERP over the API, and the invoice delivered matched (or held, then released)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from gateway.config import Config
from gateway.service import Gateway
from gateway.web import auth
from mappings.canonical import Document
from mappings.x12.outbound import OutboundNumbers, OutboundProfile, build_outbound
from tests.test_outbound_pipeline import API_TOKEN, Api, order
from tests.test_reliability import wait_for


@pytest.fixture
def served(config: Config, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Gateway, Api, str]]:
    monkeypatch.delenv("EDIGW_DATABASE_URL", raising=False)
    monkeypatch.setenv("EDIGW_API_TOKEN", API_TOKEN)
    acme = config.partner("acme")
    assert acme is not None
    acme.match_invoices = True
    gw = Gateway(config)
    gw.start()  # with the folder channel: the supplier's documents arrive as files
    auth.create_user(gw.engine, "ap", "operator", "correct horse battery staple")
    token = auth.new_token(gw.engine, "ap")
    api = Api(gw)
    try:
        yield gw, api, token
    finally:
        api.close()
        gw.stop()


def from_acme(doc: dict[str, Any], control: int) -> bytes:
    """The supplier's own X12 for a canonical document (ACME writes to us)."""
    document = Document.model_validate(doc)
    document.sender = document.receiver = None
    profile = OutboundProfile(sender=("ZZ", "ACMEBUYER"), receiver=("ZZ", "EDIGW"))
    return build_outbound([document], profile, OutboundNumbers(control, control), dt.datetime.now(dt.UTC)).data


def invoice_for(po: dict[str, Any], number: str, price_factor: Decimal = Decimal(1)) -> dict[str, Any]:
    lines = [{**ln, "unit_price": str((Decimal(ln["unit_price"]) * price_factor).quantize(Decimal("0.01")))}
             for ln in po["lines"]]
    amount = sum(Decimal(ln["quantity"]) * Decimal(ln["unit_price"]) for ln in lines)
    return {"kind": "invoice", "number": number, "date": po["date"], "po_number": po["number"], "purpose": "original",
            "currency": None, "sender": None, "receiver": None, "parties": [], "lines": lines,
            "totals": {"amount": str(amount)}, "dates": {}, "references": {},
            "source": {"format": "canonical", "version": None, "set": None, "control_numbers": {}, "channel": None}}


def html(api: Api, path: str) -> str:
    import urllib.request

    req = urllib.request.Request(api.base + path, headers={"Accept": "text/html",
                                                           "Authorization": f"Bearer {API_TOKEN}"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return str(resp.read().decode())


def drop(config: Config, name: str, raw: bytes) -> None:
    inbound = config.partner_dir("acme") / "inbound"
    (inbound / f".{name}.tmp").write_bytes(raw)
    (inbound / f".{name}.tmp").rename(inbound / name)


def delivered_invoices(config: Config) -> dict[str, dict[str, Any]]:
    docs = [json.loads(p.read_text()) for p in config.erp.path.glob("*.json")] if config.erp.path.exists() else []
    return {d["number"]: d for d in docs if d["kind"] == "invoice"}


def states(api: Api, token: str, code: str) -> list[dict[str, Any]]:
    return api.call("GET", f"/api/exceptions?code={code}", token=token)[1]


def test_an_invoice_waits_for_the_goods_then_goes_to_the_erp_matched(served: tuple[Gateway, Api, str],
                                                                     config: Config) -> None:
    gw, api, token = served
    po = order("PO-3WAY-1")
    code, sent = api.call("POST", "/api/outbound?partner=acme", po, token=token)
    assert code == 202
    gw.pipeline.wait(sent["id"])

    drop(config, "asn.edi", from_acme({**po, "kind": "ship_notice", "number": "SHIP-1", "po_number": po["number"]},
                                       301))
    drop(config, "inv.edi", from_acme(invoice_for(po, "INV-1"), 302))
    wait_for(lambda: bool(states(api, token, "MATCH_AWAITING_RECEIPT")), 30, "the invoice to wait for goods")
    assert "INV-1" not in delivered_invoices(config)  # a ship notice is shipped, not received, for ACME

    receipt = {"po_number": po["number"], "reference": "GR-77",
               "lines": [{"line_number": ln["line_number"], "quantity": ln["quantity"], "uom": ln["uom"]}
                         for ln in po["lines"]]}
    code, out = api.call("POST", "/api/receipts?partner=acme", receipt, token=token)
    assert code == 200 and len(out["released"]) == 1
    invoice = delivered_invoices(config)["INV-1"]
    assert invoice["match"]["outcome"] == "matched"
    assert states(api, token, "MATCH_AWAITING_RECEIPT") == []


def test_a_price_over_tolerance_holds_until_a_person_releases_it(served: tuple[Gateway, Api, str],
                                                               config: Config) -> None:
    gw, api, token = served
    po = order("PO-3WAY-2")
    gw.pipeline.wait(api.call("POST", "/api/outbound?partner=acme", po, token=token)[1]["id"])
    receipt = {"po_number": po["number"],
               "lines": [{"line_number": ln["line_number"], "quantity": ln["quantity"], "uom": ln["uom"]}
                         for ln in po["lines"]]}
    assert api.call("POST", "/api/receipts?partner=acme", receipt, token=token)[0] == 200
    drop(config, "inv2.edi", from_acme(invoice_for(po, "INV-2", Decimal("1.10")), 303))  # 10 % over
    wait_for(lambda: bool(states(api, token, "MATCH_HOLD")), 30, "the invoice to be held")
    [hold] = states(api, token, "MATCH_HOLD")
    assert "PRICE_OVER" in hold["message"] or "price" in hold["message"].lower()
    assert "INV-2" not in delivered_invoices(config)
    page = html(api, f"/items/{hold['item_id']}?document={hold['document_id']}")
    assert "Invoice against order and receipts" in page and "on hold" in page
    assert page.count('class="num variance"') >= 1  # the price column of the over-priced lines is marked
    assert api.call("POST", f"/api/documents/{hold['document_id']}/release", {"reason": ""}, token=token)[0] == 409
    code, out = api.call("POST", f"/api/documents/{hold['document_id']}/release",
                         {"reason": "price increase agreed by phone with ACME"}, token=token)
    assert code == 200, out
    invoice = delivered_invoices(config)["INV-2"]
    assert invoice["match"]["outcome"] == "on_hold" and "PRICE_OVER" in invoice["match"]["reason_codes"]


def test_a_po_change_from_the_erp_releases_an_invoice_held_against_the_old_quantity(
        served: tuple[Gateway, Api, str], config: Config) -> None:
    gw, api, token = served
    acme = config.partner("acme")
    assert acme is not None
    acme.match_mode = "two_way"  # this supplier is matched against ordered quantities only
    po = order("PO-3WAY-3")
    gw.pipeline.wait(api.call("POST", "/api/outbound?partner=acme", po, token=token)[1]["id"])
    billed = invoice_for(po, "INV-3")
    billed["lines"][0]["quantity"] = str(Decimal(po["lines"][0]["quantity"]) + 6)  # six more than ordered
    billed["totals"]["amount"] = str(sum(Decimal(ln["quantity"]) * Decimal(ln["unit_price"])
                                         for ln in billed["lines"]))
    drop(config, "inv3.edi", from_acme(billed, 304))
    wait_for(lambda: bool(states(api, token, "MATCH_HOLD")), 30, "the invoice to be held")
    [hold] = states(api, token, "MATCH_HOLD")
    assert "ordered" in hold["message"], hold["message"]

    change = {**po, "purpose": "replace"}
    change["lines"] = [dict(ln) for ln in po["lines"]]
    change["lines"][0]["quantity"] = billed["lines"][0]["quantity"]
    code, sent = api.call("POST", "/api/outbound?partner=acme", change, token=token)
    assert code == 202
    gw.pipeline.wait(sent["id"])
    assert delivered_invoices(config)["INV-3"]["match"]["outcome"] in ("matched", "matched_within_tolerance")
    assert states(api, token, "MATCH_HOLD") == []


def test_a_ship_notice_counts_as_received_only_for_the_partner_set_so(served: tuple[Gateway, Api, str],
                                                                       config: Config) -> None:
    gw, api, token = served
    acme = config.partner("acme")
    assert acme is not None
    acme.asn_counts_as_receipt = True  # this supplier's ASNs are trusted as goods received
    po = order("PO-3WAY-4")
    gw.pipeline.wait(api.call("POST", "/api/outbound?partner=acme", po, token=token)[1]["id"])
    drop(config, "inv4.edi", from_acme(invoice_for(po, "INV-4"), 305))
    wait_for(lambda: bool(states(api, token, "MATCH_AWAITING_RECEIPT")), 30, "the invoice to wait for goods")
    drop(config, "asn4.edi", from_acme({**po, "kind": "ship_notice", "number": "SHIP-4", "po_number": po["number"]},
                                        306))
    wait_for(lambda: "INV-4" in delivered_invoices(config), 30, "the ship notice to release the invoice")
    assert delivered_invoices(config)["INV-4"]["match"]["outcome"] == "matched"
