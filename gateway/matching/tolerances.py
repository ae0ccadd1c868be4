"""Tolerances: how far an invoice may stray from the order and the receipts before it is held.

Each dimension has a `Tolerance` with an upper (over) and a lower (under) side, each side with a
percentage of the expected value and an absolute amount. Every limit that is set applies:

- a value is within tolerance only if its difference is within EVERY applicable limit: the
  percentage and the absolute amount, at the global level, the partner's and the item's;
- so the allowed difference is the smallest of all those limits (the strictest), and that is the
  limit a hold reports ("the strictest breached limit wins"): "2% or $5, whichever is less";
- a limit left unset (None) does not apply; a side with no limit at all is unlimited. 0 means "no
  difference allowed";
- a percentage is of the expected value, so against an expected 0 it allows nothing;
- levels only narrow: a partner or item setting can tighten the global limits, never loosen them.
  To loosen for one partner, loosen globally and tighten the rest.

Defaults (the global level when nothing is configured), chosen to pass rounding and small honest
differences and to stop anything an AP clerk would want to look at:

| dimension            | over (invoice higher)          | under (invoice lower)   |
|----------------------|--------------------------------|-------------------------|
| unit_price           | 2% and 5.00 per unit           | 0.01 per unit (rounding) |
| quantity_vs_received | 0                              | unlimited (still to bill) |
| quantity_vs_ordered  | 0                              | unlimited (still to bill) |
| line_amount          | 2% and 10.00                   | 2% and 10.00            |
| invoice_total        | 0.5% and 1.00                  | 0.5% and 1.00           |
| tax                  | 1% and 1.00                    | 1% and 1.00             |
| freight              | 50.00                          | unlimited               |
| date (days)          | 365 days after the order       | 0 (dated before the order) |

A lower price holds too (beyond a cent per unit, which is the rounding of a price per each converted to
a price per case): a supplier billing under the PO usually billed the wrong item or will send a debit.
Set `under_amount` to None to accept favourable prices.

Keep the line_amount percentage at least the unit_price one: every limit applies, so a tighter line
percentage would hold every price the unit price tolerance lets through. The line amount's own job is
the absolute cap, catching a small per-unit variance on a large quantity (1.5% on 20,000.00 is 300.00).

Amounts are in the invoice currency (unit_price per unit of the order line); quantities in the order
line's unit; date in days, where percentages do not apply.

Configuration (a TOML table or a dict; numbers may be strings):

    [matching.tolerances]
    unit_price = { over_percent = "2", over_amount = "5.00", under_amount = "0" }
    [matching.tolerances.partners.acme]
    unit_price = { over_percent = "1" }
    [matching.tolerances.items."upc:012345678905"]
    quantity_vs_received = { over_amount = "0" }
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from gateway.matching.items import config_key, lookup_keys

Dimension = Literal["unit_price", "quantity_vs_received", "quantity_vs_ordered", "line_amount", "invoice_total",
                    "tax", "freight", "date"]
DIMENSIONS: tuple[Dimension, ...] = ("unit_price", "quantity_vs_received", "quantity_vs_ordered", "line_amount",
                                     "invoice_total", "tax", "freight", "date")
HUNDRED = Decimal(100)
ZERO_PCT = Decimal("0.00")


class Tolerance(BaseModel):
    """One dimension's limits; None means "this limit does not apply", 0 means "nothing allowed"."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    over_percent: Decimal | None = None
    over_amount: Decimal | None = None
    under_percent: Decimal | None = None
    under_amount: Decimal | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _no_float(cls, value: Any) -> Any:
        """TOML floats go through their text, so 0.1 is 0.1 and never 0.1000000000000000055."""
        return Decimal(repr(value)) if isinstance(value, float) else value

    @field_validator("*")
    @classmethod
    def _not_negative(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and value < 0:
            raise ValueError("a tolerance is a size, it cannot be negative")
        return value


def _t(over_percent: str | None = None, over_amount: str | None = None, under_percent: str | None = None,
       under_amount: str | None = None) -> Tolerance:
    def d(v: str | None) -> Decimal | None:
        return None if v is None else Decimal(v)

    return Tolerance(over_percent=d(over_percent), over_amount=d(over_amount), under_percent=d(under_percent),
                     under_amount=d(under_amount))


DEFAULTS: dict[Dimension, Tolerance] = {
    "unit_price": _t("2", "5.00", None, "0.01"),
    "quantity_vs_received": _t(None, "0"),
    "quantity_vs_ordered": _t(None, "0"),
    "line_amount": _t("2", "10.00", "2", "10.00"),
    "invoice_total": _t("0.5", "1.00", "0.5", "1.00"),
    "tax": _t("1", "1.00", "1", "1.00"),
    "freight": _t(None, "50.00"),
    "date": _t(None, "365", None, "0"),
}


class ToleranceLevel(BaseModel):
    """The tolerances one level (a partner, an item) sets; a dimension left out adds no limit."""

    model_config = ConfigDict(extra="forbid")

    unit_price: Tolerance | None = None
    quantity_vs_received: Tolerance | None = None
    quantity_vs_ordered: Tolerance | None = None
    line_amount: Tolerance | None = None
    invoice_total: Tolerance | None = None
    tax: Tolerance | None = None
    freight: Tolerance | None = None
    date: Tolerance | None = None


@dataclass(frozen=True, slots=True)
class Limit:
    """The allowed difference on one side, and where it comes from (for the clerk's message)."""

    amount: Decimal
    source: str  # "global", "partner acme", "item upc:012345678905"
    basis: str  # "2% of 38.50" or "5.00"


@dataclass(frozen=True, slots=True)
class Check:
    """One comparison: expected vs actual, the side it strays to, the binding limit, within or not."""

    dimension: Dimension
    expected: Decimal
    actual: Decimal
    difference: Decimal
    percentage: Decimal | None
    side: Literal["over", "under"] | None
    limit: Limit | None  # None: the side is unlimited (or there is no difference)
    within: bool


class Tolerances(ToleranceLevel):
    """Global tolerances (the dimension fields, defaulted) plus per-partner and per-item levels."""

    unit_price: Tolerance | None = Field(default_factory=lambda: DEFAULTS["unit_price"])
    quantity_vs_received: Tolerance | None = Field(default_factory=lambda: DEFAULTS["quantity_vs_received"])
    quantity_vs_ordered: Tolerance | None = Field(default_factory=lambda: DEFAULTS["quantity_vs_ordered"])
    line_amount: Tolerance | None = Field(default_factory=lambda: DEFAULTS["line_amount"])
    invoice_total: Tolerance | None = Field(default_factory=lambda: DEFAULTS["invoice_total"])
    tax: Tolerance | None = Field(default_factory=lambda: DEFAULTS["tax"])
    freight: Tolerance | None = Field(default_factory=lambda: DEFAULTS["freight"])
    date: Tolerance | None = Field(default_factory=lambda: DEFAULTS["date"])
    partners: dict[str, ToleranceLevel] = Field(default_factory=dict)
    items: dict[str, ToleranceLevel] = Field(default_factory=dict)

    _cache: dict[tuple[str, str | None, frozenset[str]], tuple[tuple[str, Tolerance], ...]] = PrivateAttr(
        default_factory=dict)
    _item_index: dict[str, tuple[str, ToleranceLevel]] = PrivateAttr(default_factory=dict)
    _item_names: frozenset[str] = PrivateAttr(default_factory=frozenset)

    def model_post_init(self, __context: Any) -> None:
        self._item_index = {config_key(name): (name, level) for name, level in self.items.items()}
        self._item_names = frozenset(self._item_index)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Tolerances:
        """From the `[matching.tolerances]` table; dimensions not given keep their defaults."""
        return cls.model_validate(data or {})

    def applicable(self, dimension: Dimension, partner: str | None = None,
                   item_keys: frozenset[str] = frozenset()) -> tuple[tuple[str, Tolerance], ...]:
        """Every level's tolerance for this dimension, as (source, tolerance), global first."""
        relevant: frozenset[str] = frozenset()
        if self._item_index and item_keys:
            relevant = lookup_keys(item_keys) & self._item_names
        key = (dimension, partner, relevant)
        found = self._cache.get(key)
        if found is not None:
            return found
        levels: list[tuple[str, Tolerance]] = []
        glob = getattr(self, dimension)
        if glob is not None:
            levels.append(("global", glob))
        level = self.partners.get(partner) if partner else None
        if level is not None and getattr(level, dimension) is not None:
            levels.append((f"partner {partner}", getattr(level, dimension)))
        for name in sorted(relevant):
            label, item_level = self._item_index[name]
            if getattr(item_level, dimension) is not None:
                levels.append((f"item {label}", getattr(item_level, dimension)))
        self._cache[key] = tuple(levels)
        return self._cache[key]

    def check(self, dimension: Dimension, expected: Decimal, actual: Decimal, *, partner: str | None = None,
              item_keys: frozenset[str] = frozenset(), percentages: bool = True) -> Check:
        """Compare actual with expected under every applicable limit; the strictest one binds."""
        difference = actual - expected
        if not difference:
            return Check(dimension, expected, actual, difference, ZERO_PCT if expected else None, None, None, True)
        percentage = (difference * HUNDRED / abs(expected)).quantize(Decimal("0.01")) if expected else None
        side: Literal["over", "under"] = "over" if difference > 0 else "under"
        size = abs(difference)
        best: Limit | None = None
        for source, tol in self.applicable(dimension, partner, item_keys):
            pct = (tol.over_percent if side == "over" else tol.under_percent) if percentages else None
            amount = tol.over_amount if side == "over" else tol.under_amount
            if amount is not None and (best is None or amount < best.amount):
                best = Limit(amount, source, _num(amount))
            if pct is not None:
                allowed = abs(expected) * pct / HUNDRED
                if best is None or allowed < best.amount:
                    best = Limit(allowed, source, f"{_num(pct)}% of {_num(abs(expected))}")
        within = best is None or size <= best.amount
        return Check(dimension, expected, actual, difference, percentage, side, best, within)


def _num(value: Decimal) -> str:
    """A decimal for people: no exponent, no trailing zeros beyond what the value needs."""
    if value == value.to_integral_value():
        return format(value.quantize(Decimal(1)), "f")
    return format(value.normalize(), "f")
