"""Acknowledgements: the 997/999 and TA1 the gateway sends back for one inbound interchange.

Everything the acknowledgement says comes from the issues found on the way in: envelope issues from
the reader, guide-validation issues (with an `X12Ref` saying where, and the AK3/AK4 codes) and mapping
issues. Only error-severity issues affect acceptance. The decisions (set accepted or rejected, group
accepted, partially accepted or rejected, interchange accepted or rejected) are public functions so
the gateway processes exactly what the acknowledgement tells the partner it accepted.

Also here: `parse_ack`, which reads a 997/999/TA1 interchange back into plain results (for incoming
acknowledgements of what we sent, and for tests).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from parsers.issues import Issue, X12Ref
from parsers.x12.reader import (
    AK5_CODES,
    AK9_CODES,
    TA1_NOTE_CODES,
    FunctionalGroup,
    Interchange,
    TransactionSet,
    TransactionSetSummary,
)
from parsers.x12.segments import Delimiters, Segment
from parsers.x12.tokenizer import tokenize, version_has_repetition
from parsers.x12.writer import Element, GroupData, build_isa, write_interchange

AckKind = Literal["997", "999"]
IMPLEMENTATION_999 = "005010X231A1"
MAX_AK4_PER_AK3 = 99  # AK4 / IK4 max use
MAX_AK3_PER_AK2 = 999999  # AK3 / IK3 loop repeat
MAX_SET_CODES = 5  # AK502..AK506
MAX_GROUP_CODES = 5  # AK905..AK909
MAX_BAD_VALUE = 99  # AK404 / IK404 length

# Codes that only exist from 005010 on, and what older versions get instead ("" = no code).
_AK9_CODES_SINCE_5010 = {"19": ""}

# Interchange findings that make the whole interchange unusable: only a TA1 R can answer them.
_TA1_FATAL_PREFIXES = ("X12_ISA_", "X12_BAD_")
_TA1_NONFATAL = {"X12_ISA_ACK_REQUESTED"}
_TA1_FATAL = {"X12_DUPLICATE_INTERCHANGE"}


@dataclass
class SetResult:
    """Everything known about one inbound transaction set when it is acknowledged.

    `issues` holds ALL the set's issues (envelope, guide validation, mapping); only error-severity
    ones matter, and only those whose `x12` carries an AK3/AK4 code appear as AK3/AK4 detail.
    """

    set_id: str
    control_number: str
    implementation_ref: str
    issues: list[Issue] = field(default_factory=list)

    @classmethod
    def from_set(cls, ts: TransactionSet, extra: Iterable[Issue] = ()) -> SetResult:
        return cls(ts.set_id, ts.control_number, ts.implementation_ref, [*ts.issues, *extra])

    @classmethod
    def from_summary(cls, summary: TransactionSetSummary, extra: Iterable[Issue] = ()) -> SetResult:
        return cls(summary.set_id, summary.control_number, summary.implementation_ref,
                   [*summary.envelope_issues, *extra])

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.is_error]


@dataclass
class GroupResult:
    """One inbound functional group and the results of each set it held (one per set read)."""

    group: FunctionalGroup
    sets: list[SetResult] = field(default_factory=list)

    @classmethod
    def from_group(cls, group: FunctionalGroup) -> GroupResult:
        """Envelope issues only: what the reader alone knows about the group's sets."""
        return cls(group, [SetResult.from_summary(s) for s in group.sets])


@dataclass
class AckSettings:
    """Per-partner acknowledgement choices.

    `ta1`: "on_request" sends a TA1 when ISA14 = 1 and also whenever the interchange envelope has
    errors (a TA1 is the only answer possible then); "on_error" only for envelope errors.
    `accept_with_errors`: sets with errors are reported E (accepted, errors noted) instead of R.
    """

    kind: AckKind = "997"
    ak2: Literal["all", "rejected"] = "all"
    ta1: Literal["never", "on_request", "on_error", "always"] = "on_request"
    accept_with_errors: bool = False
    line_ending: Literal["", "\n", "\r\n"] = ""


@dataclass
class AckNumbers:
    """Control numbers for the acknowledgement interchange (allocated by the gateway per partner)."""

    interchange: int
    group: int


# --- decisions ---------------------------------------------------------------------------------------


def set_ack_code(result: SetResult, settings: AckSettings | None = None) -> Literal["A", "E", "R"]:
    """AK501/IK501: A without errors, else R (or E for partners that accept with errors)."""
    if not result.errors:
        return "A"
    return "E" if settings is not None and settings.accept_with_errors else "R"


def group_ack_code(group: GroupResult, settings: AckSettings | None = None) -> Literal["A", "E", "P", "R"]:
    """AK901: R when the group envelope itself is in error or every set was rejected, P when some were."""
    if any(i.is_error for i in group.group.issues):
        return "R"
    codes = [set_ack_code(s, settings) for s in group.sets]
    rejected = codes.count("R")
    if not codes:
        return "A"
    if rejected == len(codes):
        return "R"
    if rejected:
        return "P"
    return "E" if "E" in codes else "A"


def _ta1_note(issue: Issue) -> str:
    if issue.code in TA1_NOTE_CODES:
        return TA1_NOTE_CODES[issue.code]
    if issue.code == "X12_TRUNCATED":
        return "023"  # improper (premature) end-of-file
    return "024"  # invalid interchange content


def _is_fatal(issue: Issue) -> bool:
    if issue.code in _TA1_NONFATAL:
        return False
    return issue.code in _TA1_FATAL or issue.code.startswith(_TA1_FATAL_PREFIXES)


def interchange_ack(interchange: Interchange) -> tuple[Literal["A", "E", "R"], str]:
    """TA104 and TA105 for an interchange.

    R when the ISA itself is wrong (or the interchange is a repeat): nothing inside is processed and
    only a TA1 answers. E when only the trailer or the structure between groups is off (IEA count or
    control number, a missing IEA): the groups are still read and acknowledged by 997s.
    """
    errors = interchange.envelope_errors
    if not errors:
        return "A", "000"
    fatal = [i for i in errors if _is_fatal(i)]
    if fatal:
        return "R", _ta1_note(fatal[0])
    return "E", _ta1_note(errors[0])


# --- building ------------------------------------------------------------------------------------------


def _clean(value: str, delimiters: Delimiters, limit: int | None = None) -> str:
    """A value safe to write: delimiter characters removed, surrounding blanks trimmed, length capped."""
    for d in delimiters.all:
        value = value.replace(d, "")
    value = "".join(c for c in value if c.isprintable()).strip()
    return value[:limit] if limit else value


def _ack_delimiters(interchange: Interchange) -> Delimiters:
    """The inbound delimiters, with a repetition separator made up only where ISA11 needs one."""
    d = interchange.delimiters
    element, component, segment = d.element, d.component, d.segment
    # the ISA is fixed-width in bytes: a multi-byte separator cannot be mirrored there, nor can a
    # line break or blank stand in the ISA as a separator
    def usable(sep: str) -> bool:
        return len(sep.encode()) == 1 and sep.isprintable() and not sep.isalnum() and sep != " "

    if not usable(element):
        element = "*" if "*" not in (component, segment) else "|"
    if not usable(component) or component == element:
        component = ">" if ">" not in (element, segment) else ":"
    repetition = d.repetition if d.repetition not in (element, component, segment) else None
    if version_has_repetition(_ack_isa_version(interchange)) and not repetition:
        used = {element, component, segment}
        repetition = next(c for c in "^~!|`" if c not in used)
    return Delimiters(element, component, segment, repetition)


def _ack_isa_version(interchange: Interchange) -> str:
    """ISA12 mirrored; a version the reader did not know was read as 00401, so it is answered as 00401."""
    v = interchange.version
    return v if len(v) == 5 and v.isdigit() and "00200" <= v <= "00801" else "00401"


def _is_5010(version: str) -> bool:
    return len(version) >= 6 and version[:6].isdigit() and version[:6] >= "005010"


def _ack_isa(interchange: Interchange, delimiters: Delimiters, numbers: AckNumbers, now: datetime,
             own_id: tuple[str, str] | None = None) -> list[str]:
    """Sender and receiver swapped, version and usage mirrored, ISA14 = 0.

    A broken inbound ISA may lack an ID: ours then comes from `own_id` (the gateway knows it), and
    anything still unusable becomes ZZ / UNKNOWN so the TA1 R can still be written as valid X12.
    """
    def ident(pair: tuple[str, str], fallback: tuple[str, str] | None) -> tuple[str, str]:
        qualifier = pair[0] if re.fullmatch(r"[A-Z0-9]{2}", pair[0]) else ""
        ident = _clean(pair[1], delimiters, 15)
        if not ident and fallback:
            return fallback
        return qualifier or "ZZ", ident or "UNKNOWN"

    usage = interchange.usage if interchange.usage in ("P", "T", "I") else "P"
    return build_isa(sender=ident(interchange.receiver, own_id), receiver=ident(interchange.sender, None),
                     control_number=numbers.interchange, now=now, delimiters=delimiters,
                     version=_ack_isa_version(interchange), ack_requested=False, usage=usage)


def _ta1_segment(interchange: Interchange, code: str, note: str) -> list[Element]:
    isa = interchange.isa
    control = isa.get(13).strip()
    date, time = isa.get(9).strip(), isa.get(10).strip()
    return ["TA1",
            control if len(control) == 9 and control.isdigit() else "000000000",
            date if len(date) == 6 and date.isdigit() else "000000",
            time if len(time) == 4 and time.isdigit() else "0000",
            code, note]


def _element_position(ref: X12Ref, is_5010: bool) -> Element:
    """C030: element position, then component position, then (005010 on) repetition position."""
    assert ref.element_position is not None
    parts = [str(ref.element_position)]
    if ref.component_position is not None:
        parts.append(str(ref.component_position))
    if is_5010 and ref.repetition_position is not None:
        if len(parts) == 1:
            parts.append("")
        parts.append(str(ref.repetition_position))
    return parts if len(parts) > 1 else parts[0]


def _segment_detail(result: SetResult, delimiters: Delimiters, kind: AckKind, is_5010: bool) -> list[list[Element]]:
    """AK3/AK4 (IK3/IK4) for every error carrying an X12Ref code, one AK3 per segment in error."""
    by_segment: dict[tuple[int, str], list[X12Ref]] = {}
    for issue in result.errors:
        ref = issue.x12
        if ref is None or not (ref.ak3_code or ref.ak4_code):
            continue
        by_segment.setdefault((ref.segment_position, ref.segment_id), []).append(ref)
    seg_tag, elem_tag = ("AK3", "AK4") if kind == "997" else ("IK3", "IK4")
    out: list[list[Element]] = []
    for (position, segment_id), refs in sorted(by_segment.items())[:MAX_AK3_PER_AK2]:
        codes = [r.ak3_code for r in refs if r.ak3_code]
        code = next((c for c in codes if c != "8"), codes[0] if codes else "8")
        loop_id = _clean(next((r.loop_id for r in refs if r.loop_id), ""), delimiters)
        loop_id = loop_id if len(loop_id) <= 4 else ""  # AK303 is at most 4 characters: omit, never cut
        out.append([seg_tag, _clean(segment_id, delimiters, 3), str(max(position, 1)), loop_id, code])
        seen: set[tuple[object, ...]] = set()
        count = 0
        for ref in refs:
            if ref.element_position is None or not ref.ak4_code:
                continue
            position_element = _element_position(ref, is_5010)
            bad = _clean(ref.value, delimiters, MAX_BAD_VALUE)
            element_ref = ref.element_ref if ref.element_ref.isdigit() and len(ref.element_ref) <= 4 else ""
            key = (str(position_element), element_ref, ref.ak4_code, bad)
            if key in seen:
                continue
            seen.add(key)
            count += 1
            if count > MAX_AK4_PER_AK3:
                break
            out.append([elem_tag, position_element, element_ref, ref.ak4_code, bad])
    return out


def _set_codes(result: SetResult, has_detail: bool) -> list[str]:
    codes: list[str] = []
    for issue in result.errors:
        code = AK5_CODES.get(issue.code)
        if code is None and issue.x12 is not None:
            code = "5"  # one or more segments in error
        if code and code not in codes:
            codes.append(code)
    if has_detail and "5" not in codes:
        codes.append("5")
    return codes[:MAX_SET_CODES]


def _group_codes(group: FunctionalGroup, is_5010: bool) -> list[str]:
    codes: list[str] = []
    for issue in group.issues:
        if not issue.is_error:
            continue
        code = AK9_CODES.get(issue.code, "")
        if not is_5010:
            code = _AK9_CODES_SINCE_5010.get(code, code)
        if code and code not in codes:
            codes.append(code)
    return codes[:MAX_GROUP_CODES]


def _group_control(group: FunctionalGroup) -> str:
    """AK102: the inbound GS06; a GS06 that is no number cannot be echoed, so 0 stands for it."""
    value = group.control_number.strip()
    return value if value.isdigit() and len(value) <= 9 else "0"


def _ack_set(gr: GroupResult, number: int, delimiters: Delimiters, settings: AckSettings,
             ack_version: str) -> list[list[Element]]:
    """One 997 (or 999) for one inbound group: ST, AK1, AK2 loops, AK9 (SE is added by the writer)."""
    is_5010 = _is_5010(ack_version)
    kind = settings.kind
    group = gr.group
    st: list[Element] = ["ST", kind, f"{number:04d}"]
    if kind == "999":
        st.append(IMPLEMENTATION_999)
    ak1: list[Element] = ["AK1", _clean(group.functional_id, delimiters, 2), _group_control(group)]
    if is_5010:
        ak1.append(_clean(group.version, delimiters, 12))
    segments: list[list[Element]] = [st, ak1]
    accepted = 0
    for result in gr.sets:
        code = set_ack_code(result, settings)
        if code != "R":
            accepted += 1
        if settings.ak2 == "rejected" and code == "A":
            continue
        # AK201/AK202 are mandatory: a missing ST01/ST02 (reported by AK5 6/7) is answered 000/0000
        ak2: list[Element] = ["AK2", _clean(result.set_id, delimiters, 3) or "000",
                              _clean(result.control_number, delimiters, 9) or "0000"]
        if is_5010:
            ak2.append(_clean(result.implementation_ref, delimiters, 35))
        segments.append(ak2)
        detail = _segment_detail(result, delimiters, kind, is_5010) if code != "A" else []
        segments.extend(detail)
        ak5_codes = _set_codes(result, bool(detail)) if code != "A" else []
        segments.append(["AK5" if kind == "997" else "IK5", code, *ak5_codes])
    group_code = group_ack_code(gr, settings)
    if group_code == "R":
        accepted = 0 if any(i.is_error for i in group.issues) else accepted
    seen = len(gr.sets)
    segments.append(["AK9", group_code, str(seen), str(seen), str(accepted), *_group_codes(group, is_5010)])
    return segments


def _acknowledged_groups(groups: list[GroupResult]) -> list[GroupResult]:
    """Groups that get a 997: real GS groups that are not acknowledgements themselves."""
    return [g for g in groups if g.group.gs.tag == "GS" and g.group.functional_id.strip() != "FA"]


def build_ack(interchange: Interchange, groups: list[GroupResult], numbers: AckNumbers,
              settings: AckSettings, now: datetime, *, own_id: tuple[str, str] | None = None) -> bytes | None:
    """The one acknowledgement interchange for `interchange`, or None when nothing is to be sent.

    It holds a TA1 (per `settings.ta1`, and always on envelope errors unless ta1 = "never") and one
    FA group with one 997/999 per inbound group, except when the ISA itself is in error: then the
    groups cannot be trusted and only the TA1 R is sent.
    """
    ta1_code, ta1_note = interchange_ack(interchange)
    send_ta1 = (settings.ta1 == "always"
                or (settings.ta1 == "on_request" and (interchange.ack_requested or ta1_code != "A"))
                or (settings.ta1 == "on_error" and ta1_code != "A"))
    acked = [] if ta1_code == "R" else _acknowledged_groups(groups)
    if not send_ta1 and not acked:
        return None
    delimiters = _ack_delimiters(interchange)
    isa = _ack_isa(interchange, delimiters, numbers, now, own_id)
    preamble: list[list[Element]] = [_ta1_segment(interchange, ta1_code, ta1_note)] if send_ta1 else []
    out_groups: list[GroupData] = []
    if acked:
        first = acked[0].group
        if settings.kind == "999":
            ack_version = IMPLEMENTATION_999
        else:
            ack_version = _clean(first.version, delimiters, 12) or _ack_isa_version(interchange) + "0"
        app_id = _clean(first.receiver_id, delimiters, 15) or isa[6].strip()
        their_app_id = _clean(first.sender_id, delimiters, 15) or isa[8].strip()
        gs07 = first.gs.get(7) if first.gs.get(7) in ("X", "T") else "X"  # the only responsible agencies
        gs: list[Element] = ["GS", "FA", app_id, their_app_id, now.strftime("%Y%m%d"), now.strftime("%H%M"),
                             str(numbers.group), gs07, ack_version]
        sets = [_ack_set(gr, n, delimiters, settings, ack_version) for n, gr in enumerate(acked, start=1)]
        out_groups.append(GroupData(gs, sets))
    return write_interchange(isa, out_groups, delimiters, settings.line_ending, preamble)


def build_ta1_only(interchange: Interchange, numbers: AckNumbers, now: datetime,
                   line_ending: Literal["", "\n", "\r\n"] = "", *, own_id: tuple[str, str] | None = None) -> bytes:
    """A TA1 interchange (no groups) for `interchange`, whatever its envelope state."""
    code, note = interchange_ack(interchange)
    delimiters = _ack_delimiters(interchange)
    isa = _ack_isa(interchange, delimiters, numbers, now, own_id)
    return write_interchange(isa, [], delimiters, line_ending, [_ta1_segment(interchange, code, note)])


# --- reading acknowledgements back ---------------------------------------------------------------------


@dataclass
class AckedElement:
    """AK4 / IK4: `position` as written in C030, e.g. "3" or "3:1" (element:component[:repetition])."""

    position: str
    element_ref: str
    code: str
    value: str


@dataclass
class AckedSegment:
    """AK3 / IK3."""

    segment_id: str
    position: int
    loop_id: str
    code: str
    elements: list[AckedElement] = field(default_factory=list)


@dataclass
class AckedSet:
    """AK2 .. AK5 (IK5)."""

    set_id: str
    control_number: str
    implementation_ref: str = ""
    code: str = ""
    error_codes: list[str] = field(default_factory=list)
    segments: list[AckedSegment] = field(default_factory=list)


@dataclass
class AckedGroup:
    """One 997/999: the group it acknowledges (AK1) and the AK9 verdict."""

    kind: str
    control_number: str  # ST02 of the 997 itself
    functional_id: str = ""
    group_control_number: str = ""
    version: str = ""
    sets: list[AckedSet] = field(default_factory=list)
    code: str = ""
    included: int | None = None
    received: int | None = None
    accepted: int | None = None
    error_codes: list[str] = field(default_factory=list)


@dataclass
class Ta1Result:
    control_number: str
    date: str
    time: str
    code: str
    note: str


@dataclass
class ParsedAck:
    """One acknowledgement interchange read back."""

    sender: tuple[str, str]
    receiver: tuple[str, str]
    control_number: str
    ta1: list[Ta1Result] = field(default_factory=list)
    groups: list[AckedGroup] = field(default_factory=list)


def _int(value: str) -> int | None:
    return int(value) if value.isdigit() else None


def parse_ack(data: bytes) -> list[ParsedAck]:
    """Read every TA1, 997 and 999 in `data` (one ParsedAck per interchange); other sets are skipped.

    Reads the tokenizer's segments directly, so a TA1 between ISA and GS is understood.
    """
    out: list[ParsedAck] = []
    current: ParsedAck | None = None
    ack: AckedGroup | None = None
    ts: AckedSet | None = None
    seg3: AckedSegment | None = None
    for token in tokenize(data):
        if not isinstance(token, Segment):
            continue
        seg = token
        tag = seg.tag
        if tag == "ISA":
            current = ParsedAck((seg.get(5).strip(), seg.get(6).strip()), (seg.get(7).strip(), seg.get(8).strip()),
                                seg.get(13).strip())
            out.append(current)
            continue
        if current is None:
            continue
        if tag == "TA1":
            current.ta1.append(Ta1Result(seg.get(1), seg.get(2), seg.get(3), seg.get(4), seg.get(5)))
        elif tag == "ST":
            ack = AckedGroup(seg.get(1), seg.get(2)) if seg.get(1) in ("997", "999") else None
            ts = seg3 = None
            if ack is not None:
                current.groups.append(ack)
        elif ack is None:
            continue
        elif tag == "AK1":
            ack.functional_id, ack.group_control_number, ack.version = seg.get(1), seg.get(2), seg.get(3)
        elif tag == "AK2":
            ts = AckedSet(seg.get(1), seg.get(2), seg.get(3))
            seg3 = None
            ack.sets.append(ts)
        elif tag in ("AK3", "IK3") and ts is not None:
            seg3 = AckedSegment(seg.get(1), _int(seg.get(2)) or 0, seg.get(3), seg.get(4))
            ts.segments.append(seg3)
        elif tag in ("AK4", "IK4") and seg3 is not None:
            position = seg.get(1).replace(seg.delimiters.component, ":")
            seg3.elements.append(AckedElement(position, seg.get(2), seg.get(3), seg.get(4)))
        elif tag in ("AK5", "IK5") and ts is not None:
            ts.code = seg.get(1)
            ts.error_codes = [e for e in seg.elements[2:] if e]
        elif tag == "AK9":
            ack.code = seg.get(1)
            ack.included, ack.received, ack.accepted = _int(seg.get(2)), _int(seg.get(3)), _int(seg.get(4))
            ack.error_codes = [e for e in seg.elements[5:] if e]
        elif tag == "SE":
            ack = ts = seg3 = None
    return out
