"""GS1 check digits against published example numbers."""

from __future__ import annotations

import pytest

from mappings.check_digits import ean_valid, gs1_check_digit, gtin_valid, sscc_valid, upc_valid


@pytest.mark.parametrize("code", ["036000291452", "012345678905"])
def test_valid_upc(code: str) -> None:
    assert upc_valid(code) and gtin_valid(code)


@pytest.mark.parametrize("code", ["4006381333931", "96385074"])
def test_valid_ean(code: str) -> None:
    assert ean_valid(code) and gtin_valid(code)


def test_gtin14_and_sscc() -> None:
    assert gtin_valid("10012345678902")
    assert sscc_valid("106141411234567897") and sscc_valid("00106141411234567897")
    assert gs1_check_digit("10614141123456789") == 7


@pytest.mark.parametrize("code", ["036000291453", "03600029145", "03600029145X", "", "4006381333932"])
def test_wrong_digit_length_or_characters_fail(code: str) -> None:
    assert not gtin_valid(code)
    assert not sscc_valid("106141411234567898")
