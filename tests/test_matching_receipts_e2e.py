"""Receipts the supplier's side sends (861 receiving advice, 944 warehouse receipt advice) over the folder
channel release invoices waiting for the goods, are acknowledged with a 997 and reach the ERP; an invoice
billing two purchase orders (the second only on a line) is found by a receipt for either."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from gateway.config import Config
from gateway.service import Gateway
from tests.test_matching_e2e import (  # noqa: F401  (served is a fixture)
    delivered_invoices,
    drop,
    from_acme,
    invoice_for,
    served,
    states,
)
from tests.test_outbound_pipeline import Api, order
from tests.test_reliability import wait_for


def interchange(control: int, gs01: str, version: str, body: list[str]) -> bytes:
    """ACME's interchange around one transaction set (`body` from ST to before SE)."""
    isa12, rep = ("00501", "^") if version.startswith("005") else ("00401", "U")
    isa = (f"ISA*00*          *00*          *ZZ*{'ACMEBUYER':<15}*ZZ*{'EDIGW':<15}*250320*0915*{rep}*{isa12}*"
           f"{control:09d}*0*P*>")
    segs = [*body, f"SE*{len(body) + 1}*0001"]
    return ("~".join([isa, f"GS*{gs01}*ACMEBUYER*EDIGW*20250320*0915*{control}*X*{version}", *segs,
                      f"GE*1*{control}", f"IEA*1*{control:09d}"]) + "~\n").encode()


def advice_861(po: dict[str, Any], number: str, control: int) -> bytes:
    """A receiving advice: every line of the PO received in full, by PO line (REF*LI) and item ids (LIN)."""
    body = ["ST*861*0001", f"BRA*{number}*20250320*00*1", "DTM*050*20250320", f"PRF*{po['number']}"]
    for ln in po["lines"]:
        ids = ln["item_ids"]
        body += [f"RCD*{ln['line_number']}*{ln['quantity']}*{ln['uom']}",
                 f"LIN*{ln['line_number']}*BP*{ids['buyer_part']}*VP*{ids['vendor_part']}",
                 f"REF*LI*{ln['line_number']}"]
    body.append(f"CTT*{len(po['lines'])}")
    return interchange(control, "RC", "004010", body)


def advice_944(po_number: str, lines: list[dict[str, Any]], number: str, control: int) -> bytes:
    """A 3PL's warehouse receipt advice (005010): W07 loops under LX, PO in N9*PO, PO lines in N9*LI."""
    body = ["ST*944*0001*005010", f"W17*F*20250321*{number}*{po_number}", "N1*WH*ACME 3PL*92*WH07",
            f"N9*PO*{po_number}"]
    for n, ln in enumerate(lines, 1):
        body += [f"LX*{n}", f"W07*{ln['quantity']}*{ln['uom']}**BP*{ln['item_ids']['buyer_part']}",
                 f"N9*LI*{ln['line_number']}"]
    body.append(f"W14*{sum(Decimal(ln['quantity']) for ln in lines)}")
    return interchange(control, "RE", "005010", body)


def delivered(config: Config, kind: str) -> dict[str, dict[str, Any]]:
    docs = [json.loads(p.read_text()) for p in config.erp.path.glob("*.json")] if config.erp.path.exists() else []
    return {d["number"]: d for d in docs if d["kind"] == kind}


def acknowledged(config: Config, set_id: str, control: int) -> bool:
    """A 997 back to ACME accepting the set of interchange `control` (AK1 group, AK2 set, AK5 A)."""
    folder = config.partner_dir("acme") / "outbound"
    for path in folder.glob("*.x12") if folder.exists() else []:
        text = path.read_text()
        if f"AK2*{set_id}*0001" in text and f"*{control}" in text.split("AK1*", 1)[-1][:20] and "AK5*A" in text:
            return True
    return False


def sent_po(gw: Gateway, api: Api, token: str, number: str) -> dict[str, Any]:
    po = order(number)
    code, sent = api.call("POST", "/api/outbound?partner=acme", po, token=token)
    assert code == 202
    gw.pipeline.wait(sent["id"])
    return po


def test_an_861_from_the_partner_releases_the_invoice_waiting_for_the_goods(
        served: tuple[Gateway, Api, str], config: Config) -> None:  # noqa: F811
    gw, api, token = served
    po = sent_po(gw, api, token, "PO-861-1")
    drop(config, "inv861.edi", from_acme(invoice_for(po, "INV-861"), 401))
    wait_for(lambda: bool(states(api, token, "MATCH_AWAITING_RECEIPT")), 30, "the invoice to wait for goods")
    assert "INV-861" not in delivered_invoices(config)

    drop(config, "rcv861.edi", advice_861(po, "RCV-861", 402))
    wait_for(lambda: "INV-861" in delivered_invoices(config), 30, "the 861 to release the invoice")
    invoice = delivered_invoices(config)["INV-861"]
    assert invoice["match"]["outcome"] == "matched"
    assert [ln["received"] for ln in invoice["match"]["lines"]] == [ln["quantity"] for ln in po["lines"]]
    assert states(api, token, "MATCH_AWAITING_RECEIPT") == []
    wait_for(lambda: "RCV-861" in delivered(config, "receipt"), 30, "the receipt at the ERP")
    receipt = delivered(config, "receipt")["RCV-861"]  # the receipt goes to the ERP like every document
    assert receipt["po_number"] == "PO-861-1" and receipt["source"]["set"] == "861"
    wait_for(lambda: acknowledged(config, "861", 402), 30, "a 997 accepting the 861")


def test_a_944_from_the_warehouse_releases_the_invoice_and_an_invoice_billing_two_pos(
        served: tuple[Gateway, Api, str], config: Config) -> None:  # noqa: F811
    gw, api, token = served
    first = sent_po(gw, api, token, "PO-944-A")
    second = sent_po(gw, api, token, "PO-944-B")
    # One invoice for both orders: its header names PO-944-A; the PO-944-B lines say so only on the line.
    billed = invoice_for(first, "INV-944")
    billed["lines"] += [{**ln, "line_number": ln["line_number"], "po_number": second["number"]}
                        for ln in invoice_for(second, "x")["lines"]]
    billed["totals"]["amount"] = str(sum(Decimal(ln["quantity"]) * Decimal(ln["unit_price"])
                                         for ln in billed["lines"]))
    drop(config, "inv944.edi", from_acme(billed, 411))
    wait_for(lambda: bool(states(api, token, "MATCH_AWAITING_RECEIPT")), 30, "the invoice to wait for goods")

    # The ERP receives PO-944-A in full: PO-944-B's goods are still missing.
    receipt = {"po_number": first["number"],
               "lines": [{"line_number": ln["line_number"], "quantity": ln["quantity"], "uom": ln["uom"]}
                         for ln in first["lines"]]}
    code, out = api.call("POST", "/api/receipts?partner=acme", receipt, token=token)
    assert code == 200 and out["released"] == []
    [waiting] = states(api, token, "MATCH_AWAITING_RECEIPT")
    assert "PO-944-B" in waiting["message"] and "PO-944-A" not in waiting["message"]

    # The warehouse's 944 for PO-944-B (a PO the invoice names only on its lines) finds and releases it.
    drop(config, "wr944.edi", advice_944(second["number"], second["lines"], "WR-944", 412))
    wait_for(lambda: "INV-944" in delivered_invoices(config), 30, "the 944 to release the invoice")
    invoice = delivered_invoices(config)["INV-944"]
    assert invoice["match"]["outcome"] == "matched"
    assert {ln["po_number"] for ln in invoice["match"]["lines"]} == {"PO-944-A", "PO-944-B"}
    wait_for(lambda: "WR-944" in delivered(config, "receipt"), 30, "the receipt at the ERP")
    assert delivered(config, "receipt")["WR-944"]["source"]["set"] == "944"
    wait_for(lambda: acknowledged(config, "944", 412), 30, "a 997 accepting the 944")
