"""Envelope reader: groups the tokenizer's segments into interchanges, groups and transaction sets.

It streams typed events (after StAEDI's reader): an interchange starts, a group starts, a complete
transaction set is read, a group ends, an interchange ends. Memory is bounded by the largest
transaction set. The envelope is checked as it goes (ISA/IEA, GS/GE, ST/SE control numbers and
counts, functional identifier against transaction set, duplicates within the file) and each finding
lands on the envelope it belongs to, so an acknowledgement can be built from the events alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from parsers.issues import Issue, X12Ref, error, warning
from parsers.x12.segments import Delimiters, Segment
from parsers.x12.tokenizer import tokenize

# Transaction set -> functional identifier (GS01) it must travel in.
FUNCTIONAL_IDS: dict[str, str] = {
    "810": "IN", "820": "RA", "824": "AG", "832": "SC", "846": "IB", "850": "PO", "855": "PR",
    "856": "SH", "860": "PC", "861": "RC", "864": "TX", "865": "CA", "940": "OW", "944": "RE",
    "945": "SW", "997": "FA", "999": "FA", "869": "RS", "870": "RS", "812": "CD",
}
# Aerospace and other industry guides carry sets in other groups (e.g. SC for X357/X358); allowed.
ALTERNATE_FUNCTIONAL_IDS: dict[str, set[str]] = {"850": {"SC"}, "855": {"SC"}, "810": {"SC"}}

# Our issue codes -> the code an acknowledgement reports for them.
TA1_NOTE_CODES: dict[str, str] = {
    "X12_IEA_CONTROL_MISMATCH": "001",
    "X12_ISA_SENDER_QUALIFIER": "005",
    "X12_ISA_SENDER_ID": "006",
    "X12_ISA_RECEIVER_QUALIFIER": "007",
    "X12_ISA_RECEIVER_ID": "008",
    "X12_ISA_AUTH_QUALIFIER": "010",
    "X12_ISA_SECURITY_QUALIFIER": "012",
    "X12_ISA_DATE": "014",
    "X12_ISA_TIME": "015",
    "X12_ISA_STANDARDS_ID": "016",
    "X12_ISA_VERSION": "017",
    "X12_ISA_CONTROL_NUMBER": "018",
    "X12_ISA_ACK_REQUESTED": "019",
    "X12_ISA_USAGE": "020",
    "X12_IEA_GROUP_COUNT": "021",
    "X12_ENVELOPE_STRUCTURE": "022",
    "X12_IEA_MISSING": "023",
    "X12_ISA_INVALID": "024",
    "X12_DUPLICATE_INTERCHANGE": "025",
}
AK9_CODES: dict[str, str] = {
    "X12_GS_NOT_SUPPORTED": "1",
    "X12_GS_VERSION": "2",
    "X12_GE_MISSING": "3",
    "X12_GE_CONTROL_MISMATCH": "4",
    "X12_GE_SET_COUNT": "5",
    "X12_GS_CONTROL_NUMBER": "6",
    "X12_DUPLICATE_GROUP": "19",
}
AK5_CODES: dict[str, str] = {
    "X12_SET_NOT_SUPPORTED": "1",
    "X12_SE_MISSING": "2",
    "X12_SE_CONTROL_MISMATCH": "3",
    "X12_SE_COUNT": "4",
    "X12_ST_ID": "6",
    "X12_ST_CONTROL_NUMBER": "7",
    "X12_FUNCTIONAL_ID_MISMATCH": "6",
    "X12_DUPLICATE_SET": "23",
}

_DIGITS = re.compile(r"^\d+$")
# Tags that end (or break) an open transaction set; every other tag just joins the set.
_SET_ENDS = frozenset({"SE", "ST", "GE", "IEA", "GS", "ISA"})
_ISA_WIDTHS = {1: 2, 2: 10, 3: 2, 4: 10, 5: 2, 6: 15, 7: 2, 8: 15, 9: 6, 10: 4, 11: 1, 12: 5, 13: 9,
               14: 1, 15: 1, 16: 1}


@dataclass(eq=False)
class Interchange:
    isa: Segment
    iea: Segment | None = None
    issues: list[Issue] = field(default_factory=list)
    groups_seen: int = 0
    ta1s: list[Segment] = field(default_factory=list)  # interchange acknowledgements sent to us

    @property
    def delimiters(self) -> Delimiters:
        return self.isa.delimiters

    @property
    def control_number(self) -> str:
        return self.isa.get(13).strip()

    @property
    def sender(self) -> tuple[str, str]:
        return self.isa.get(5).strip(), self.isa.get(6).strip()

    @property
    def receiver(self) -> tuple[str, str]:
        return self.isa.get(7).strip(), self.isa.get(8).strip()

    @property
    def version(self) -> str:
        return self.isa.get(12).strip()

    @property
    def ack_requested(self) -> bool:
        return self.isa.get(14).strip() == "1"

    @property
    def usage(self) -> str:
        """ISA15: P production, T test, I information."""
        return self.isa.get(15).strip()

    @property
    def envelope_errors(self) -> list[Issue]:
        return [i for i in self.issues if i.is_error]


@dataclass(eq=False)
class FunctionalGroup:
    gs: Segment
    interchange: Interchange
    ge: Segment | None = None
    issues: list[Issue] = field(default_factory=list)
    sets_seen: int = 0
    sets: list[TransactionSetSummary] = field(default_factory=list)

    @property
    def functional_id(self) -> str:
        return self.gs.get(1)

    @property
    def control_number(self) -> str:
        return self.gs.get(6)

    @property
    def version(self) -> str:
        return self.gs.get(8)

    @property
    def sender_id(self) -> str:
        return self.gs.get(2)

    @property
    def receiver_id(self) -> str:
        return self.gs.get(3)


@dataclass(eq=False)
class TransactionSetSummary:
    """What a group remembers of each set it held once the set itself has been handed on."""

    set_id: str
    control_number: str
    implementation_ref: str
    envelope_issues: list[Issue]


@dataclass(eq=False)
class TransactionSet:
    """ST through SE (inclusive) and the envelope findings for this set."""

    segments: list[Segment]
    group: FunctionalGroup
    issues: list[Issue] = field(default_factory=list)
    complete: bool = True

    @property
    def st(self) -> Segment:
        return self.segments[0]

    @property
    def set_id(self) -> str:
        return self.st.get(1)

    @property
    def control_number(self) -> str:
        return self.st.get(2)

    @property
    def implementation_ref(self) -> str:
        """ST03 (005010 on), else GS08."""
        return self.st.get(3) or self.group.version

    @property
    def body(self) -> list[Segment]:
        """Segments between ST and SE."""
        end = -1 if self.complete and self.segments[-1].tag == "SE" else len(self.segments)
        return self.segments[1:end]

    def position(self, segment: Segment) -> int:
        """Position of a segment within the set, ST = 1 (as AK302 / IK302 count)."""
        return segment.number - self.st.number + 1


@dataclass(eq=False)
class InterchangeStart:
    interchange: Interchange


@dataclass(eq=False)
class GroupStart:
    group: FunctionalGroup


@dataclass(eq=False)
class SetRead:
    transaction_set: TransactionSet


@dataclass(eq=False)
class GroupEnd:
    group: FunctionalGroup


@dataclass(eq=False)
class InterchangeEnd:
    interchange: Interchange


@dataclass(eq=False)
class FileIssue:
    """A finding outside any interchange (garbage, truncation before an ISA, an empty file)."""

    issue: Issue


Event = InterchangeStart | GroupStart | SetRead | GroupEnd | InterchangeEnd | FileIssue


def _check_isa(isa: Segment) -> list[Issue]:
    issues: list[Issue] = []
    if len(isa) != 16:
        issues.append(error("X12_ISA_INVALID", f"The ISA segment has {len(isa)} elements; it must have 16.",
                            isa.location()))
        return issues
    for pos, width in _ISA_WIDTHS.items():
        value = isa.get(pos)
        if any(c in "\r\n" for c in value):
            issues.append(error("X12_ISA_INVALID",
                                f"ISA{pos:02d} contains a line break ({value!r}): the ISA segment is split "
                                "across lines. Send the ISA on one line.", isa.location(pos)))
            return issues
        if len(value) != width and pos != 16:
            issues.append(warning("X12_ISA_WIDTH",
                                  f"ISA{pos:02d} is {len(value)} characters ({value!r}); the standard fixes "
                                  f"it at {width}.", isa.location(pos)))
    checks: list[tuple[int, str, str, str]] = [
        (1, "X12_ISA_AUTH_QUALIFIER", r"^\d\d$", "an authorization qualifier such as 00"),
        (3, "X12_ISA_SECURITY_QUALIFIER", r"^\d\d$", "a security qualifier such as 00"),
        (5, "X12_ISA_SENDER_QUALIFIER", r"^[A-Z0-9]{2}$", "a 2-character ID qualifier such as ZZ or 01"),
        (7, "X12_ISA_RECEIVER_QUALIFIER", r"^[A-Z0-9]{2}$", "a 2-character ID qualifier such as ZZ or 01"),
        (9, "X12_ISA_DATE", r"^\d{6}$", "a date as YYMMDD"),
        (10, "X12_ISA_TIME", r"^\d{4}$", "a time as HHMM"),
        (13, "X12_ISA_CONTROL_NUMBER", r"^\d{9}$", "a 9-digit interchange control number"),
        (14, "X12_ISA_ACK_REQUESTED", r"^[01]$", "0 or 1 (TA1 requested)"),
        (15, "X12_ISA_USAGE", r"^[PTI]$", "P (production), T (test) or I (information)"),
    ]
    for pos, code, pattern, expected in checks:
        value = isa.get(pos).strip() if pos in (5, 7) else isa.get(pos)
        if not re.match(pattern, value):
            issues.append(error(code, f"ISA{pos:02d} is {value!r}; expected {expected}.", isa.location(pos)))
    if not isa.get(6).strip():
        issues.append(error("X12_ISA_SENDER_ID", "ISA06 (interchange sender ID) is empty.", isa.location(6)))
    if not isa.get(8).strip():
        issues.append(error("X12_ISA_RECEIVER_ID", "ISA08 (interchange receiver ID) is empty.",
                            isa.location(8)))
    if not _DIGITS.match(isa.get(12)):
        issues.append(error("X12_ISA_VERSION", f"ISA12 is {isa.get(12)!r}; expected a 5-digit version "
                            "such as 00401 or 00501.", isa.location(12)))
    return issues


class X12Reader:
    """Reads one input and streams envelope events; see the module docstring."""

    def __init__(self, source: BinaryIO | bytes) -> None:
        self._source = source
        self.interchange_count = 0
        self.segment_count = 0

    def __iter__(self) -> Iterator[Event]:
        return self.events()

    def events(self) -> Iterator[Event]:
        interchange: Interchange | None = None
        group: FunctionalGroup | None = None
        current: list[Segment] | None = None
        current_issues: list[Issue] = []
        seen_isa13: set[tuple[str, str, str]] = set()
        seen_gs06: set[str] = set()
        seen_st02: set[str] = set()
        pending_warnings: list[Issue] = []

        def close_set(se: Segment | None) -> SetRead:
            nonlocal current, current_issues
            assert current is not None and group is not None
            segments = current
            st = segments[0]
            issues = current_issues
            if se is None:
                issues.append(error("X12_SE_MISSING",
                                    f"Transaction set {st.get(1)} {st.get(2)} has no SE trailer; the set "
                                    "is incomplete.", st.location()))
            else:
                if se.get(2) != st.get(2):
                    issues.append(error("X12_SE_CONTROL_MISMATCH",
                                        f"SE02 {se.get(2)!r} does not match ST02 {st.get(2)!r}.",
                                        se.location(2)))
                counted = len(segments)
                if se.get(1) != str(counted) and (not _DIGITS.match(se.get(1)) or int(se.get(1)) != counted):
                    issues.append(error("X12_SE_COUNT",
                                        f"SE01 says {se.get(1)!r} segments but the set has {counted} "
                                        "(ST through SE).", se.location(1)))
            ts = TransactionSet(segments, group, issues, complete=se is not None)
            group.sets.append(TransactionSetSummary(ts.set_id, ts.control_number, ts.implementation_ref,
                                                    list(issues)))
            current = None
            current_issues = []
            return SetRead(ts)

        def close_group(ge: Segment | None) -> GroupEnd:
            nonlocal group
            assert group is not None
            g = group
            if ge is None:
                g.issues.append(error("X12_GE_MISSING",
                                      f"Functional group {g.control_number} has no GE trailer.",
                                      g.gs.location()))
            else:
                if ge.get(2) != g.control_number:
                    g.issues.append(error("X12_GE_CONTROL_MISMATCH",
                                          f"GE02 {ge.get(2)!r} does not match GS06 {g.control_number!r}.",
                                          ge.location(2)))
                if not _DIGITS.match(ge.get(1)) or int(ge.get(1)) != g.sets_seen:
                    g.issues.append(error("X12_GE_SET_COUNT",
                                          f"GE01 says {ge.get(1)!r} transaction sets but the group has "
                                          f"{g.sets_seen}.", ge.location(1)))
            g.ge = ge
            group = None
            return GroupEnd(g)

        def close_interchange(iea: Segment | None) -> InterchangeEnd:
            nonlocal interchange
            assert interchange is not None
            ic = interchange
            if iea is None:
                ic.issues.append(error("X12_IEA_MISSING",
                                       f"Interchange {ic.control_number} has no IEA trailer; the file "
                                       "ends early or the envelope is broken.", ic.isa.location()))
            else:
                if iea.get(2) != ic.control_number:
                    ic.issues.append(error("X12_IEA_CONTROL_MISMATCH",
                                           f"IEA02 {iea.get(2)!r} does not match ISA13 "
                                           f"{ic.control_number!r}.", iea.location(2)))
                if not _DIGITS.match(iea.get(1)) or int(iea.get(1)) != ic.groups_seen:
                    ic.issues.append(error("X12_IEA_GROUP_COUNT",
                                           f"IEA01 says {iea.get(1)!r} functional groups but the "
                                           f"interchange has {ic.groups_seen}.", iea.location(1)))
            ic.iea = iea
            interchange = None
            return InterchangeEnd(ic)

        def close_all() -> Iterator[Event]:
            if current is not None:
                yield close_set(None)
            if group is not None:
                yield close_group(None)
            if interchange is not None:
                yield close_interchange(None)

        for token in tokenize(self._source):
            if isinstance(token, Issue):
                if interchange is None:
                    if token.severity == "warning" and token.code in ("X12_BOM", "X12_LEADING_WHITESPACE"):
                        pending_warnings.append(token)
                    else:
                        yield FileIssue(token)
                else:
                    target = current_issues if current is not None else (
                        group.issues if group is not None else interchange.issues)
                    if token.is_error:
                        # truncation / garbage inside an envelope breaks that envelope
                        interchange.issues.append(token)
                    else:
                        target.append(token)
                continue
            seg = token
            self.segment_count += 1
            tag = seg.elements[0]
            if current is not None and tag not in _SET_ENDS:
                current.append(seg)  # the common case: a segment inside an open transaction set
                continue
            if tag == "ISA":
                if interchange is not None:
                    yield from close_all()
                interchange = Interchange(seg, issues=pending_warnings + _check_isa(seg))
                pending_warnings = []
                key = (interchange.sender[0], interchange.sender[1], interchange.control_number)
                if key in seen_isa13:
                    interchange.issues.append(error(
                        "X12_DUPLICATE_INTERCHANGE",
                        f"Interchange control number {interchange.control_number} from "
                        f"{interchange.sender[1]} appears twice in this file; the repeat is not processed.",
                        seg.location(13)))
                seen_isa13.add(key)
                seen_gs06 = set()
                self.interchange_count += 1
                yield InterchangeStart(interchange)
                continue
            if interchange is None:
                yield FileIssue(error("X12_ENVELOPE_STRUCTURE",
                                      f"Segment {tag} outside any interchange.", seg.location()))
                continue
            if current is not None:
                if tag == "SE":
                    current.append(seg)
                    group_ref = group
                    assert group_ref is not None
                    yield close_set(seg)
                    continue
                if tag in ("ST", "GE", "IEA", "GS"):
                    yield close_set(None)
                else:
                    current.append(seg)
                    continue
            if tag == "GS":
                if group is not None:
                    yield close_group(None)
                group = FunctionalGroup(seg, interchange)
                interchange.groups_seen += 1
                if len(seg) < 8:
                    group.issues.append(error("X12_GS_INVALID", f"GS has {len(seg)} elements; it needs 8.",
                                              seg.location()))
                if not re.match(r"^\d{1,9}$", seg.get(6)):
                    group.issues.append(error("X12_GS_CONTROL_NUMBER",
                                              f"GS06 {seg.get(6)!r} is not a 1-9 digit group control "
                                              "number.", seg.location(6)))
                if seg.get(6) in seen_gs06:
                    group.issues.append(error("X12_DUPLICATE_GROUP",
                                              f"Group control number {seg.get(6)} is used twice in "
                                              "interchange " + interchange.control_number + ".",
                                              seg.location(6)))
                seen_gs06.add(seg.get(6))
                seen_st02 = set()
                yield GroupStart(group)
            elif tag == "ST":
                if group is None:
                    interchange.issues.append(error("X12_ENVELOPE_STRUCTURE",
                                                    "ST outside a functional group (no GS before it).",
                                                    seg.location()))
                    group = FunctionalGroup(seg, interchange)  # placeholder so the set is still read
                    yield GroupStart(group)
                current = [seg]
                current_issues = []
                group.sets_seen += 1
                set_id, control = seg.get(1), seg.get(2)
                if not re.match(r"^\d{3}$", set_id):
                    current_issues.append(error("X12_ST_ID", f"ST01 {set_id!r} is not a transaction set "
                                                "identifier.", seg.location(1),
                                                X12Ref("ST", 1, element_position=1, element_ref="143",
                                                       ak3_code="8", ak4_code="7", value=set_id)))
                if not re.match(r"^[A-Za-z0-9]{4,9}$", control):
                    current_issues.append(error("X12_ST_CONTROL_NUMBER",
                                                f"ST02 {control!r} must be 4-9 characters.",
                                                seg.location(2)))
                if control in seen_st02:
                    current_issues.append(error("X12_DUPLICATE_SET",
                                                f"Transaction set control number {control} is used twice in "
                                                f"group {group.control_number}.", seg.location(2)))
                seen_st02.add(control)
                expected = FUNCTIONAL_IDS.get(set_id)
                if (expected and group.functional_id != expected
                        and group.functional_id not in ALTERNATE_FUNCTIONAL_IDS.get(set_id, set())):
                    current_issues.append(error("X12_FUNCTIONAL_ID_MISMATCH",
                                                f"Transaction set {set_id} travels in a group with GS01 "
                                                f"{group.functional_id!r}; it belongs in {expected!r}.",
                                                seg.location(1)))
            elif tag == "GE":
                if group is None:
                    interchange.issues.append(error("X12_ENVELOPE_STRUCTURE", "GE without a GS before it.",
                                                    seg.location()))
                    continue
                yield close_group(seg)
            elif tag == "IEA":
                if group is not None:
                    yield close_group(None)
                yield close_interchange(seg)
            elif tag == "TA1" and group is None:
                interchange.ta1s.append(seg)
            elif tag == "SE":
                interchange.issues.append(error("X12_ENVELOPE_STRUCTURE", "SE without an ST before it.",
                                                seg.location()))
            else:
                where = f"group {group.control_number}" if group else "the interchange"
                (group.issues if group else interchange.issues).append(error(
                    "X12_ENVELOPE_STRUCTURE",
                    f"Segment {tag} sits in {where} outside any transaction set (no ST before it).",
                    seg.location()))
        yield from close_all()
        for w in pending_warnings:
            yield FileIssue(w)


def read_x12(source: BinaryIO | bytes) -> Iterator[Event]:
    """Stream the envelope events of an X12 input (see `X12Reader`)."""
    return X12Reader(source).events()
