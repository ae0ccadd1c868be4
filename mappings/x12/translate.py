"""X12 transaction set -> canonical document: the one entry point the gateway calls.

`MAPPERS` is the registry (one mapper per set; 855/856/810 join later). `map_set` never lets a
mapper's exception escape into the service: it becomes an `X12_MAPPING_FAILED` error issue naming
the set and, when it can be found, the segment the mapper was working on. The exception is still
logged with its traceback, and `strict=True` (what tests use) re-raises it so a bug is never hidden.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable

from mappings.canonical import Document
from mappings.x12.map_850 import map_850
from parsers.issues import Issue, X12Ref, error, warning
from parsers.x12.reader import TransactionSet
from parsers.x12.segments import Segment

log = logging.getLogger(__name__)

Mapper = Callable[[TransactionSet], tuple[Document, list[Issue]]]

MAPPERS: dict[str, Mapper] = {"850": map_850}


def mapper_for(set_id: str) -> Mapper | None:
    """The registered mapper, else `map_<set>` from a module `mappings.x12.map_<set>` if there is one."""
    mapper = MAPPERS.get(set_id)
    if mapper is None and set_id.isdigit():
        try:
            module = importlib.import_module(f"mappings.x12.map_{set_id}")
        except ModuleNotFoundError as exc:
            if exc.name != f"mappings.x12.map_{set_id}":
                raise  # the module exists but is broken: that is a bug to see, not a missing mapper
            return None
        found = getattr(module, f"map_{set_id}", None)
        if callable(found):
            mapper = MAPPERS.setdefault(set_id, found)
    return mapper


def _set_label(ts: TransactionSet) -> tuple[str, str]:
    """Set ID and control number, read defensively (the set may be arbitrarily broken)."""
    try:
        st = ts.segments[0]
        return st.get(1), st.get(2)
    except Exception:
        return "", ""


def _failing_segment(exc: BaseException) -> Segment | None:
    """The segment the innermost frame of the traceback was handling, if any local holds one."""
    tb = exc.__traceback__
    found: Segment | None = None
    while tb is not None:
        local = tb.tb_frame.f_locals
        preferred = [local[k] for k in ("seg", "segment") if k in local]
        for value in [*preferred, *local.values()]:
            if isinstance(value, Segment):
                found = value
                break
        tb = tb.tb_next
    return found


def map_set(ts: TransactionSet, *, strict: bool = False) -> tuple[Document | None, list[Issue]]:
    """Map one transaction set; (None, issues) when there is no mapper for it or the mapper failed."""
    set_id, control = _set_label(ts)
    mapper = mapper_for(set_id)
    if mapper is None:
        where = ts.segments[0].location(1) if ts.segments and ts.segments[0].elements else ""
        return None, [warning("X12_SET_NOT_MAPPED",
                              f"Transaction set {set_id or '(no ST01)'} {control} is read and acknowledged, but "
                              "there is no mapping to a canonical document for it yet.", where)]
    try:
        return mapper(ts)
    except Exception as exc:
        if strict:
            raise
        log.exception("mapping transaction set %s %s failed", set_id, control)
        seg = _failing_segment(exc)
        where, ref = "", None
        if seg is not None and seg.elements:
            st_number = ts.segments[0].number if ts.segments else seg.number
            position = seg.number - st_number + 1
            where = f"{seg.location()}, position {position} in the set"
            ref = X12Ref(seg.tag, position)
        near = f" at segment {seg.tag} (position {ref.segment_position})" if ref is not None and seg is not None else ""
        return None, [error("X12_MAPPING_FAILED",
                            f"Transaction set {set_id} {control} could not be mapped{near}: internal error "
                            f"{type(exc).__name__}: {exc}. The input is kept; report this to the gateway team.",
                            where, ref)]
