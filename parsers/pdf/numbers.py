"""Numbers as printed: 1,234.56 and 1.234,56 (and 1 234,56, 1'234.56), with currency signs around them."""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Literal

NumberFormat = Literal["dot", "comma"]

_CLEAN = re.compile(r"[^\d.,\-()]")


def parse_number(text: str, fmt: NumberFormat | None = None) -> Decimal | None:
    """The value of a printed number, or None when it is not one.

    `fmt` says which mark is the decimal separator ("dot": 1,234.56; "comma": 1.234,56). Without it a
    lone separator followed by exactly three digits is read as thousands only when another number on
    the page settles it; here it is read as a decimal mark, which callers avoid by passing the format.
    """
    s = text.strip().replace("\u2212", "-").replace("\u00a0", "").replace(" ", "").replace("'", "")
    negative = s.startswith("-") or s.endswith("-") or (s.startswith("(") and s.endswith(")"))
    s = _CLEAN.sub("", s).strip("-()")
    if not s or not any(c.isdigit() for c in s):
        return None
    if fmt is None:
        fmt = guess_format([s]) or "dot"
    decimal_mark, group_mark = (".", ",") if fmt == "dot" else (",", ".")
    if s.count(decimal_mark) > 1:
        return None
    s = s.replace(group_mark, "").replace(decimal_mark, ".")
    if not re.fullmatch(r"\d+(\.\d+)?|\.\d+", s):
        return None
    try:
        value = Decimal(s)
    except InvalidOperation:
        return None
    return -value if negative else value


def guess_format(texts: Iterable[str]) -> NumberFormat | None:
    """Which mark is the decimal separator, from the numbers on a document (None: no evidence)."""
    dot = comma = 0
    for raw in texts:
        s = _CLEAN.sub("", raw)
        last_dot, last_comma = s.rfind("."), s.rfind(",")
        if last_dot >= 0 and last_comma >= 0:
            if last_dot > last_comma:
                dot += 2
            else:
                comma += 2
        elif last_comma >= 0 and len(s) - last_comma - 1 in (1, 2) and s.count(",") == 1:
            comma += 1
        elif last_dot >= 0 and len(s) - last_dot - 1 in (1, 2) and s.count(".") == 1:
            dot += 1
    if dot == comma == 0:
        return None
    return "dot" if dot >= comma else "comma"
