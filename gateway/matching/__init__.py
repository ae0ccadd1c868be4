"""Invoice matching (issue 6): an invoice against its purchase orders, receipts and earlier invoices.

Pure functions over canonical documents; the store and pipeline gather the inputs and act on the
result (`engine` explains the rules, `tolerances` the limits and their defaults, `uom` the units).
"""

from gateway.matching.engine import (
    REASONS,
    LineResult,
    MatchInput,
    MatchResult,
    Mode,
    Outcome,
    Reason,
    Receipt,
    Variance,
    match,
)
from gateway.matching.items import ItemModes
from gateway.matching.tolerances import (
    DEFAULTS,
    DIMENSIONS,
    Check,
    Dimension,
    Limit,
    Tolerance,
    ToleranceLevel,
    Tolerances,
)
from gateway.matching.uom import UnitConverter

__all__ = [
    "DEFAULTS",
    "DIMENSIONS",
    "REASONS",
    "Check",
    "Dimension",
    "ItemModes",
    "Limit",
    "LineResult",
    "MatchInput",
    "MatchResult",
    "Mode",
    "Outcome",
    "Reason",
    "Receipt",
    "Tolerance",
    "ToleranceLevel",
    "Tolerances",
    "UnitConverter",
    "Variance",
    "match",
]
