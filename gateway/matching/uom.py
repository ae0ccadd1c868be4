"""Units of measure: quantities and prices are compared in the purchase order line's unit.

A supplier may order in cases and bill in eaches. Factors come from configuration, globally
(`{"CA": {"EA": 12}}`: one case is 12 each) and per item by any of its identifiers
(`{"upc:012345678905": {"CA": 24}}`: for that item a case is 24 each; a plain number means "this many
EA", a mapping names the unit). An item's factor wins over the global one for the same pair of units.
Conversions chain (PL -> CA -> EA) and run both ways. A dozen is 12 each unless configured otherwise.

Unit codes are compared after folding common synonyms (CS and CASE are CA, EACH/PC/PCE/UN are EA,
BOX is BX, PACK is PK, DOZ is DZ): X12 feeds use CS for "case" far more often than for "cassette".
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from gateway.matching.items import config_key, lookup_keys

UNIT_SYNONYMS: dict[str, str] = {
    "EACH": "EA", "PC": "EA", "PCE": "EA", "PCS": "EA", "UN": "EA", "UNIT": "EA", "UNITS": "EA", "C62": "EA",
    "CS": "CA", "CASE": "CA", "CT": "CA", "CTN": "CA", "CARTON": "CA",
    "BOX": "BX",
    "PACK": "PK", "PACKAGE": "PK",
    "DOZ": "DZ", "DOZEN": "DZ", "DZN": "DZ",
}

BUILT_IN: dict[str, dict[str, Decimal]] = {"DZ": {"EA": Decimal(12)}}

# u -> v -> (numerator, denominator): one u is numerator/denominator v. Kept as a ratio so that
# 24 EA -> CA of 12 is exactly 2, not 1.99999... from a rounded 1/12.
Ratio = tuple[Decimal, Decimal]
Edges = dict[str, dict[str, Ratio]]
ONE: Ratio = (Decimal(1), Decimal(1))


def unit(code: str | None) -> str | None:
    """A unit code folded to its canonical synonym (None stays None: the caller's unit is assumed)."""
    if code is None or not code.strip():
        return None
    code = code.strip().upper()
    return UNIT_SYNONYMS.get(code, code)


def _decimal(value: Any) -> Decimal:
    """Configuration numbers as Decimal; floats go through their text so 0.1 stays 0.1."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(str(value))


def _add(edges: Edges, a: str, b: str, factor: Decimal) -> None:
    if factor <= 0:
        raise ValueError(f"unit factor {a} -> {b} must be positive, got {factor}")
    edges.setdefault(a, {})[b] = (factor, Decimal(1))
    edges.setdefault(b, {})[a] = (Decimal(1), factor)


def _edges(table: Mapping[str, Any], default_to: str = "EA") -> Edges:
    edges: Edges = {}
    for a, targets in table.items():
        ua = unit(a) or a
        if isinstance(targets, Mapping):
            for b, factor in targets.items():
                _add(edges, ua, unit(b) or b, _decimal(factor))
        else:
            _add(edges, ua, default_to, _decimal(targets))
    return edges


class UnitConverter:
    """Converts quantities between units, per item where the item has its own pack sizes."""

    def __init__(self, factors: Mapping[str, Any] | None = None, items: Mapping[str, Mapping[str, Any]] | None = None):
        base: Edges = {a: dict(b) for a, b in _edges(BUILT_IN).items()}
        for a, targets in _edges(factors or {}).items():
            for b, factor in targets.items():
                base.setdefault(a, {})[b] = factor
        self._global = base
        self._items: dict[str, Edges] = {config_key(k): _edges(v) for k, v in (items or {}).items()}
        self._item_names = frozenset(self._items)
        self._cache: dict[tuple[str, str, tuple[str, ...]], Ratio | None] = {}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> UnitConverter:
        """`{"units": {"CA": {"EA": 12}}, "items": {"upc:012345678905": {"CA": 24}}}` (the TOML table)."""
        data = data or {}
        return cls(data.get("units"), data.get("items"))

    def factor(self, from_unit: str | None, to_unit: str | None, item_keys: Iterable[str] = ()) -> Decimal | None:
        """How many `to_unit` one `from_unit` is, for this item; None when no chain of factors links them."""
        r = self.ratio(from_unit, to_unit, item_keys)
        return None if r is None else r[0] / r[1]

    def ratio(self, from_unit: str | None, to_unit: str | None, item_keys: Iterable[str] = ()) -> Ratio | None:
        """`factor` as (numerator, denominator), to multiply then divide without rounding on the way."""
        a, b = unit(from_unit), unit(to_unit)
        if a is None or b is None or a == b:
            return ONE
        relevant: tuple[str, ...] = ()
        if self._item_names:
            relevant = tuple(sorted(lookup_keys(frozenset(item_keys)) & self._item_names))
        key = (a, b, relevant)
        if key in self._cache:
            return self._cache[key]
        edges = self._global
        if relevant:
            edges = {u: dict(t) for u, t in self._global.items()}
            for name in relevant:
                for u, targets in self._items[name].items():
                    edges.setdefault(u, {}).update(targets)
        found = _search(edges, a, b)
        self._cache[key] = found
        return found

    def convert(self, quantity: Decimal, from_unit: str | None, to_unit: str | None,
                item_keys: Iterable[str] = ()) -> Decimal | None:
        """The quantity in `to_unit`, or None when the units cannot be related."""
        r = self.ratio(from_unit, to_unit, item_keys)
        return None if r is None else quantity * r[0] / r[1]


def _search(edges: Edges, a: str, b: str) -> Ratio | None:
    """Breadth-first over the factor graph: the shortest chain of configured factors."""
    seen: dict[str, Ratio] = {a: ONE}
    queue = deque([a])
    while queue:
        u = queue.popleft()
        for v, (num, den) in edges.get(u, {}).items():
            if v not in seen:
                seen[v] = (seen[u][0] * num, seen[u][1] * den)
                if v == b:
                    return seen[v]
                queue.append(v)
    return None
