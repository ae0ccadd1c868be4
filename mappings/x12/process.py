"""One X12 input through reader, guide validation and mapping: the pure core of the X12 path.

`process_x12` streams: it yields each transaction set's outcome as soon as the set is read, and
each interchange's outcome (everything an acknowledgement needs) when its IEA is read. Nothing
here touches a store or a network; the gateway and the CLI share it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, BinaryIO

from mappings.canonical import Document
from mappings.x12.ack import GroupResult, SetResult
from mappings.x12.guide import Guide, load_guide
from mappings.x12.translate import map_set
from mappings.x12.validate import validate_set
from parsers.issues import Issue
from parsers.x12.reader import (
    FileIssue,
    FunctionalGroup,
    GroupEnd,
    GroupStart,
    Interchange,
    InterchangeEnd,
    SetRead,
    X12Reader,
)


@dataclass(eq=False)
class SetOutcome:
    """One transaction set: the canonical document (if it could be mapped) and every issue found."""

    interchange: Interchange
    group: FunctionalGroup
    set_id: str
    control_number: str
    position: int  # 1-based ordinal of the set in the input
    segment_count: int
    document: Document | None
    issues: list[Issue]

    @property
    def accepted(self) -> bool:
        return not any(i.is_error for i in self.issues)


@dataclass(eq=False)
class InterchangeOutcome:
    interchange: Interchange
    groups: list[GroupResult] = field(default_factory=list)

    @property
    def envelope_errors(self) -> list[Issue]:
        return self.interchange.envelope_errors


Outcome = SetOutcome | InterchangeOutcome | FileIssue


@dataclass(frozen=True)
class GuideOverlay:
    """A partner's narrowing of a base guide (see `Guide.with_overlay`), for one set and some versions."""

    set_id: str
    spec: dict[str, Any]
    versions: tuple[str, ...] = ()  # empty: every version

    def applies(self, set_id: str, version: str) -> bool:
        return set_id == self.set_id and (not self.versions or version in self.versions)


class _Guides:
    """Guides for one input: the base guide per set and version, with the partner's overlays applied once."""

    def __init__(self, overlays: Sequence[GuideOverlay]) -> None:
        self.overlays = tuple(overlays)
        self._cache: dict[tuple[str, str], tuple[Guide | None, list[Issue]]] = {}

    def get(self, set_id: str, version: str) -> tuple[Guide | None, list[Issue]]:
        key = (set_id, version)
        if key not in self._cache:
            guide, issues = load_guide(set_id, version)
            if guide is not None:
                for overlay in self.overlays:
                    if overlay.applies(set_id, guide.version):
                        guide = guide.with_overlay(overlay.spec)
            self._cache[key] = (guide, issues)
        return self._cache[key]


# Mapping errors that are about one element's value, and the AK4 code that says so in a 997/999.
_MAPPING_AK4: dict[str, str] = {
    "X12_GTIN_CHECK_DIGIT": "7",
    "X12_SSCC_CHECK_DIGIT": "7",
    "X12_INVALID_CURRENCY": "7",
    "X12_INVALID_DATE": "8",
    "X12_INVALID_TIME": "9",
    "X12_INVALID_QUANTITY": "6",
    "X12_INVALID_PRICE": "6",
    "X12_INVALID_NUMBER": "6",
}


def _for_the_ack(issue: Issue) -> Issue:
    """A mapping error about one element's value is reported in the acknowledgement's AK3/AK4 detail too."""
    ref = issue.x12
    code = _MAPPING_AK4.get(issue.code)
    if not issue.is_error or ref is None or code is None or ref.ak3_code or ref.element_position is None:
        return issue
    return replace(issue, x12=replace(ref, ak3_code="8", ak4_code=code))


def process_x12(source: BinaryIO | bytes, overlays: Sequence[GuideOverlay] = ()) -> Iterator[Outcome]:
    """Read, validate and map every transaction set of an X12 input, streaming."""
    reader = X12Reader(source)
    guides = _Guides(overlays)
    current: InterchangeOutcome | None = None
    group_result: GroupResult | None = None
    ordinal = 0
    for event in reader.events():
        if isinstance(event, SetRead):
            ts = event.transaction_set
            ordinal += 1
            issues = list(ts.issues)
            guide, guide_issues = guides.get(ts.set_id, ts.implementation_ref)
            issues.extend(guide_issues)
            if guide is not None and ts.complete:
                issues.extend(validate_set(ts, guide))
            document: Document | None = None
            if ts.set_id not in ("997", "999", "TA1"):
                document, map_issues = map_set(ts)
                issues.extend(_for_the_ack(i) for i in map_issues)
            if group_result is not None:
                group_result.sets.append(SetResult(ts.set_id, ts.control_number, ts.implementation_ref, issues))
            yield SetOutcome(ts.group.interchange, ts.group, ts.set_id, ts.control_number, ordinal,
                             len(ts.segments), document, issues)
        elif isinstance(event, GroupStart):
            group_result = GroupResult(event.group, [])
        elif isinstance(event, GroupEnd):
            if current is not None and group_result is not None:
                current.groups.append(group_result)
            group_result = None
        elif isinstance(event, InterchangeEnd):
            if current is not None:
                yield current
            current = None
        elif isinstance(event, FileIssue):
            yield event
        else:  # InterchangeStart
            current = InterchangeOutcome(event.interchange)


@dataclass
class X12Analysis:
    """All outcomes of one input, collected (for inputs that fit in memory, e.g. one received file)."""

    sets: list[SetOutcome] = field(default_factory=list)
    interchanges: list[InterchangeOutcome] = field(default_factory=list)
    file_issues: list[Issue] = field(default_factory=list)

    @property
    def issues(self) -> list[Issue]:
        """Every issue: file-level, envelope-level and per set, in input order of their kind."""
        out = list(self.file_issues)
        for ic in self.interchanges:
            out.extend(ic.interchange.issues)
            for g in ic.groups:
                out.extend(g.group.issues)
        for s in self.sets:
            out.extend(s.issues)
        return out


def analyse_x12(source: BinaryIO | bytes, overlays: Sequence[GuideOverlay] = ()) -> X12Analysis:
    result = X12Analysis()
    for outcome in process_x12(source, overlays):
        if isinstance(outcome, SetOutcome):
            result.sets.append(outcome)
        elif isinstance(outcome, InterchangeOutcome):
            result.interchanges.append(outcome)
        else:
            result.file_issues.append(outcome.issue)
    return result
