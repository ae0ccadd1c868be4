"""Item identifiers as comparable keys, shared by line matching, unit overrides and item tolerances.

Two lines are the same item when they share one identifier of the same kind (`buyer_part`,
`vendor_part`, `sku`, ...). The GS1 family is one kind: a UPC-A `012345678905`, an EAN-13 and a
GTIN-14 `00012345678905` name the same trade item, so all of them become `gtin:` plus 14 digits.
Configuration may name an item by `kind:value` (`upc:012345678905`) or by a bare value that matches
any kind.

Two- or three-way per item (`ItemModes`), configured like the item tolerances:

    [matching.items."buyer_part:FREIGHT"]
    mode = "two_way"          # services and charges are never received: match them against the order
    [matching.items."upc:012345678905"]
    mode = "three_way"        # always against what was received, even for a two-way supplier

The most specific setting wins: the item's, else the partner's `match_mode`, else `[matching] mode`.
An item setting may loosen (two-way for a service) as well as tighten; where two item settings name
the same line (by different ids) and disagree, three-way wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Literal

Mode = Literal["three_way", "two_way"]

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


class ItemModes:
    """Two- or three-way per item, looked up by a line's ids (see the module docstring)."""

    __slots__ = ("_cache", "_index", "_names")

    def __init__(self, modes: Mapping[str, Mode]) -> None:
        self._index: dict[str, tuple[str, Mode]] = {config_key(name): (name, mode) for name, mode in modes.items()}
        self._names = frozenset(self._index)
        self._cache: dict[frozenset[str], tuple[Mode, str] | None] = {}

    @classmethod
    def from_dict(cls, data: Mapping[str, str | None] | None) -> ItemModes:
        """From `{item: mode}`; items without a mode are left out, an unknown mode is refused."""
        modes: dict[str, Mode] = {}
        for name, mode in (data or {}).items():
            if mode is None:
                continue
            if mode not in ("three_way", "two_way"):
                raise ValueError(f"matching.items.{name}.mode is {mode!r}; use \"three_way\" or \"two_way\"")
            modes[name] = "three_way" if mode == "three_way" else "two_way"
        return cls(modes)

    def __bool__(self) -> bool:
        return bool(self._index)

    @property
    def any_three_way(self) -> bool:
        return any(mode == "three_way" for _, mode in self._index.values())

    def for_item(self, keys: frozenset[str]) -> tuple[Mode, str] | None:
        """(mode, the configuration key that set it) for a line's ids, or None when no item setting names it."""
        if not self._index or not keys:
            return None
        relevant = lookup_keys(keys) & self._names
        if not relevant:
            return None
        found = self._cache.get(relevant)
        if found is None:
            name, mode = min((self._index[k] for k in relevant), key=lambda nm: (nm[1] != "three_way", nm[0]))
            found = self._cache[relevant] = (mode, name)
        return found
