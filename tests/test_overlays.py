"""Partner overlays: a partner's guide narrows the base guide, from configuration, per set and version."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import ConfigError, load_config
from gateway.processing import sniff_partner
from mappings.x12.process import analyse_x12
from tests.conftest import ROOT
from tests.x12_factory import order_file

BASE = (ROOT / "config" / "gateway.toml").read_text()

OVERLAY = """
[[partners.overlays]]
set = "850"
versions = {versions}
segments = {{ PO1 = {{ elements = {{ "3" = {{ codes = ["CA"] }} }} }}, REF = {{ usage = "M" }} }}
"""


def config_with(tmp_path: Path, overlay: str) -> Path:
    # the overlay belongs to the first partner (acme): insert it right after acme's ack table
    text = BASE.replace('ta1 = "on_request"    # never | on_request | on_error | always\n',
                        'ta1 = "on_request"    # never | on_request | on_error | always\n' + overlay, 1)
    assert text != BASE
    path = tmp_path / "gateway.toml"
    path.write_text(text)
    return path


def codes(raw: bytes, path: Path, partner: str | None) -> list[str]:
    config = load_config(path)
    chosen = sniff_partner(config, partner, raw)
    analysis = analyse_x12(raw, chosen.guide_overlays() if chosen else ())
    return [i.code for i in analysis.issues if i.is_error]


def test_overlay_narrows_codes_and_usage_for_that_partner_only(tmp_path: Path) -> None:
    path = config_with(tmp_path, OVERLAY.format(versions="[]"))
    raw = order_file("PO-OV", 1)  # PO103 = EA, and it has a REF
    assert codes(raw, path, "acme") == ["X12_INVALID_CODE"] * 3  # three PO1 lines in EA
    assert codes(raw, path, "globex") == []
    no_ref = raw.replace(b"REF*IA*V10442~\n", b"").replace(b"SE*16*", b"SE*15*")
    assert "X12_MANDATORY_SEGMENT_MISSING" in codes(no_ref, path, "acme")


def test_overlay_found_from_the_isa_sender_when_no_partner_is_given(tmp_path: Path) -> None:
    path = config_with(tmp_path, OVERLAY.format(versions="[]"))
    assert codes(order_file("PO-OV", 1), path, None) == ["X12_INVALID_CODE"] * 3


def test_overlay_applies_only_to_its_versions(tmp_path: Path) -> None:
    path = config_with(tmp_path, OVERLAY.format(versions='["005010"]'))
    assert codes(order_file("PO-OV", 1), path, "acme") == []  # the input is 004010


def test_the_997_reports_what_the_overlay_rejects(tmp_path: Path) -> None:
    from mappings.x12.ack import AckNumbers, AckSettings, build_ack

    path = config_with(tmp_path, OVERLAY.format(versions="[]"))
    config = load_config(path)
    partner = config.partner("acme")
    assert partner is not None
    analysis = analyse_x12(order_file("PO-OV", 1), partner.guide_overlays())
    ic = analysis.interchanges[0]
    import datetime as dt

    ack = build_ack(ic.interchange, ic.groups, AckNumbers(1, 1), AckSettings(), dt.datetime.now(dt.UTC))
    assert ack is not None
    assert b"AK3*PO1*" in ack and b"AK4*3*355*7*EA" in ack and b"AK5*R" in ack


@pytest.mark.parametrize("overlay,problem", [
    ('\n[[partners.overlays]]\nset = "850"\nsegments = { BEG = { usage = "O" } }\n', "BEG"),
    ('\n[[partners.overlays]]\nset = "851"\n', "no guide"),
    ('\n[[partners.overlays]]\nset = "850"\nversions = ["003010"]\n', "003010"),
])
def test_an_overlay_that_cannot_apply_is_refused_when_the_config_loads(tmp_path: Path, overlay: str,
                                                                        problem: str) -> None:
    with pytest.raises(ConfigError) as exc:
        load_config(config_with(tmp_path, overlay))
    assert "partner acme, overlay 1" in str(exc.value) and problem in str(exc.value)
