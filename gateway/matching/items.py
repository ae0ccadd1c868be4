"""Item identifiers as comparable keys, shared by line matching, unit overrides and item tolerances.

Two lines are the same item when they share one identifier of the same kind (`buyer_part`,
`vendor_part`, `sku`, ...). The GS1 family is one kind: a UPC-A `012345678905`, an EAN-13 and a
GTIN-14 `00012345678905` name the same trade item, so all of them become `gtin:` plus 14 digits.
Configuration may name an item by `kind:value` (`upc:012345678905`) or by a bare value that matches
any kind.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

# Kinds that carry a GS1 number (UPC-A, EAN-8/13, GTIN-8/12/13/14, UCC-12/14).
GTIN_KINDS = frozenset({"upc", "upc_a", "ean", "ean8", "ean13", "gtin", "gtin8", "gtin12", "gtin13", "gtin14",
                        "ucc", "ucc12", "ucc14"})


def item_key(kind: str, value: str) -> str:
    """One identifier as `kind:VALUE` (GS1 numbers as `gtin:` + 14 digits)."""
    kind = kind.strip().lower()
    value = value.strip()
    if kind in GTIN_KINDS and value.isdigit() and len(value) <= 14:
        return "gtin:" + value.zfill(14)
    return f"{kind}:{value.upper()}"


def item_keys(ids: Mapping[str, str]) -> frozenset[str]:
    """Every identifier of a line as keys, empty values left out."""
    return _keys(tuple(ids.items())) if ids else frozenset()


@lru_cache(maxsize=65536)
def _keys(pairs: tuple[tuple[str, str], ...]) -> frozenset[str]:
    """Memoised: the same items come back on the order, the receipts and every invoice."""
    return frozenset(item_key(k, v) for k, v in pairs if v and v.strip())


def config_key(name: str) -> str:
    """A configuration key: `kind:value` normalised like a line's ids, or a bare value (`*:VALUE`)."""
    kind, sep, value = name.partition(":")
    if sep and kind.strip() and value.strip():
        return item_key(kind, value)
    return "*:" + name.strip().upper()


def lookup_keys(keys: frozenset[str]) -> frozenset[str]:
    """A line's keys plus the bare-value forms, so a configuration key without a kind matches too."""
    bare = {"*:" + k.partition(":")[2] for k in keys}
    for key in keys:
        if key.startswith("gtin:"):  # a GTIN-14 is also written as its 13, 12 or 8 digit form
            digits = key[5:]
            bare |= {"*:" + digits[14 - n:] for n in (8, 12, 13) if not digits[: 14 - n].strip("0")}
    return keys | bare


def conflicting(a: frozenset[str], b: frozenset[str]) -> bool:
    """True when two lines name the same kind of identifier with different values and share none."""
    if not a or not b or a & b:
        return False
    kinds_a = {k.partition(":")[0] for k in a}
    return any(k.partition(":")[0] in kinds_a for k in b)
