"""GS1 check digits (UPC-A, EAN-8/13, GTIN-14, SSCC-18, GLN): one mod-10 rule for all of them."""

from __future__ import annotations


def gs1_check_digit(body: str) -> int:
    """The check digit for the digits before it (weights 3,1,3,... from the right)."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        total += int(ch) * (3 if i % 2 == 0 else 1)
    return (10 - total % 10) % 10


def gs1_valid(code: str, lengths: tuple[int, ...] = (8, 12, 13, 14, 18)) -> bool:
    """True when `code` is all digits, of one of `lengths`, with a correct last (check) digit."""
    return code.isdigit() and len(code) in lengths and gs1_check_digit(code[:-1]) == int(code[-1])


def upc_valid(code: str) -> bool:
    return gs1_valid(code, (12,))


def ean_valid(code: str) -> bool:
    return gs1_valid(code, (8, 13))


def gtin_valid(code: str) -> bool:
    """Any GTIN form: GTIN-8, UPC-A (12), EAN-13, GTIN-14."""
    return gs1_valid(code, (8, 12, 13, 14))


def sscc_valid(code: str) -> bool:
    """SSCC-18 (on 856 MAN*GM marks; some senders prefix the AI '00', making 20 digits)."""
    if len(code) == 20 and code.startswith("00"):
        code = code[2:]
    return gs1_valid(code, (18,))
