"""Dashboard, partners view and /metrics on a real server, after real traffic through the pipeline."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator

import pytest

from gateway.config import Config
from gateway.service import Gateway
from tests.test_outbound_pipeline import API_TOKEN, Api
from tests.x12_factory import order_file


@pytest.fixture
def served(config: Config, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Gateway, Api]]:
    monkeypatch.delenv("EDIGW_DATABASE_URL", raising=False)
    monkeypatch.setenv("EDIGW_API_TOKEN", API_TOKEN)
    gw = Gateway(config)
    gw.start(channels=False)
    api = Api(gw)
    try:
        for n, raw in enumerate([order_file("PO-D1", 901), order_file("PO-D2", 902),
                                 order_file("PO-D3", 903).replace(b"PO1*1*11*EA", b"PO1*1*11*XX")]):
            r = gw.ingest(raw, channel="folder" if n else "cli", partner_id="acme")
            gw.pipeline.wait(r.item_id)
        yield gw, api
    finally:
        api.close()
        gw.stop()


def get(api: Api, path: str, token: str | None = API_TOKEN) -> tuple[int, str]:
    req = urllib.request.Request(api.base + path, headers={"Accept": "text/html"})
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def test_dashboard_shows_volumes_exception_rate_latency_and_acks(served: tuple[Gateway, Api]) -> None:
    _, api = served
    code, html = get(api, "/dashboard")
    assert code == 200
    assert '<span class="value">3</span><span class="label">documents received</span>' in html
    assert "33.3 %" in html  # one of three items needed a person
    assert "receipt to ERP, p95 (2 documents)" in html
    assert html.count("<svg") == 2 and "folder" in html and "acme" in html


def test_partners_view_answers_did_acmes_order_come_in(served: tuple[Gateway, Api]) -> None:
    _, api = served
    code, html = get(api, "/partners")
    assert code == 200
    assert "ZZ/ACMEBUYER" in html and "PO-D2" in html and "3 item(s) in the last 7 days" in html
    assert "1 open exception(s)" in html and "997, AK2 for all sets" in html


def test_metrics_are_prometheus_text(served: tuple[Gateway, Api]) -> None:
    _, api = served
    code, text = get(api, "/metrics", token=None)
    assert code == 200
    assert 'edigw_documents{kind="order",state="delivered"} 2.0' in text
    assert 'edigw_exceptions_open{code="X12_INVALID_CODE",partner="acme"} 1.0' in text
    assert 'edigw_delivery_seconds{quantile="0.95"}' in text


def test_pages_need_a_signed_in_user(served: tuple[Gateway, Api]) -> None:
    _, api = served
    code, _ = get(api, "/dashboard", token=None)
    assert code in (401, 303, 200)  # urllib follows the redirect to the login page
    code, html = get(api, "/dashboard", token=None)
    assert "documents received" not in html
