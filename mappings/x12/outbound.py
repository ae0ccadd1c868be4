"""Outbound X12: canonical documents -> one interchange for one partner, checked before it may leave.

The set builders (`mappings.x12.build_<set>`, function `build_<set>(doc, version)`) return the
segments between ST and SE as element lists; they are found by module name, so a new set needs no
edit here. This module owns everything around them: the partner's envelope settings
(`OutboundProfile`), control numbers, one GS group per functional ID, the delimiter / character-set
checks X12 cannot express (it has no escaping), and a final self-check: the bytes are read back with
the same reader, guides and mappers the inbound side uses. Anything wrong is an `OutboundInvalid`
carrying every issue found, each naming the document and the field: invalid outbound data is an
exception, never a transmission.

Plain data only (no gateway imports): the gateway fills `OutboundProfile` from its partner config.
"""

from __future__ import annotations

import importlib
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from types import ModuleType
from typing import Any, Literal

from mappings.canonical import Document
from mappings.x12.guide import load_guide
from mappings.x12.translate import mapper_for
from mappings.x12.validate import validate_set
from parsers.issues import Issue, error, warning
from parsers.x12.reader import FileIssue, GroupEnd, InterchangeEnd, SetRead, TransactionSet, read_x12
from parsers.x12.segments import Delimiters
from parsers.x12.tokenizer import version_has_repetition
from parsers.x12.writer import GroupData, build_isa, write_interchange

KIND_TO_SET: dict[str, str] = {"order": "850", "order_response": "855", "ship_notice": "856", "invoice": "810"}
SET_TO_FUNCTIONAL_ID: dict[str, str] = {"850": "PO", "855": "PR", "856": "SH", "810": "IN"}
_KIND_WORDS = {"order": "order", "order_response": "order response", "ship_notice": "ship notice",
               "invoice": "invoice"}
MAX_CONTROL = 999_999_999

Builder = Callable[[Document, str], list[list[str]]]
# (segments ST..last body segment, 1-based position with ST = 1, element position) -> canonical field
FieldDescriber = Callable[[Sequence[Sequence[str]], int, int | None], str | None]


# --- errors a builder may raise ------------------------------------------------------------------


@dataclass(frozen=True)
class FieldProblem:
    """One canonical field a builder cannot express: where, what was found, and what would fix it."""

    field: str
    value: object
    message: str
    code: str = "X12_OUTBOUND_FIELD"


class BuildError(ValueError):
    """Raised by a set builder for data it cannot write; carries every problem, not just the first."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))
        self.problems = problems


class OutboundInvalid(Exception):
    """The documents cannot be sent as they are; `issues` says what, where and how to fix it."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = issues
        errors = [i for i in issues if i.is_error] or issues
        head = "; ".join(i.message for i in errors[:3])
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        super().__init__(f"outbound X12 not sent: {len(errors)} error(s): {head}{more}")


# --- configuration and results -------------------------------------------------------------------


@dataclass(frozen=True)
class OutboundProfile:
    """A partner's X12 settings for what we send them.

    `version` is GS08 ("004010", "004010VICS", "005010"); ISA12 is its first five digits.
    `charset` "ascii" refuses any non-ASCII character in a value unless `transliterate` is set, in
    which case accented letters lose their accents (with a warning) and anything else is refused.
    `repetition` is needed from ISA12 00402 on (ISA11) and ignored before.
    """

    sender: tuple[str, str]  # our ISA05 / ISA06
    receiver: tuple[str, str]  # the partner's ISA07 / ISA08
    version: str = "004010"
    element: str = "*"
    component: str = ">"
    terminator: str = "~"
    repetition: str | None = None
    line_ending: Literal["", "\n", "\r\n"] = ""
    charset: Literal["ascii", "utf-8"] = "ascii"
    transliterate: bool = False
    application_sender: str = ""  # GS02; our ISA06 when empty
    application_receiver: str = ""  # GS03; their ISA08 when empty
    usage: Literal["P", "T"] = "P"
    ack_requested: bool = False  # ISA14: ask for a TA1
    # The partner's guide overlays (mappings.x12.process.GuideOverlay): what we send meets its guide too.
    overlays: tuple[Any, ...] = ()

    @property
    def isa_version(self) -> str:
        return self.version[:5]

    @property
    def delimiters(self) -> Delimiters:
        rep = self.repetition if version_has_repetition(self.isa_version) else None
        return Delimiters(self.element, self.component, self.terminator, rep)

    def problems(self) -> list[str]:
        """What makes this profile unusable, in words an operator can act on (empty when fine)."""
        out: list[str] = []
        if not re.fullmatch(r"\d{6}[A-Z0-9]{0,6}", self.version):
            out.append(f"version {self.version!r} is not an X12 version such as 004010, 004010VICS or 005010")
        seps = {"element separator": self.element, "component separator": self.component,
                "segment terminator": self.terminator}
        if version_has_repetition(self.isa_version):
            if not self.repetition:
                out.append(f"version {self.version} needs a repetition separator (ISA11), e.g. '^'")
            else:
                seps["repetition separator"] = self.repetition
        for name, sep in seps.items():
            if len(sep) != 1:
                out.append(f"the {name} must be one character, got {sep!r}")
            elif sep.isalnum() or sep == " ":
                out.append(f"the {name} {sep!r} would be taken for data; use a punctuation character")
            elif self.charset == "ascii" and not sep.isascii():
                out.append(f"the {name} {sep!r} is not ASCII but the partner's character set is ascii")
        for name in ("element separator", "component separator"):
            sep = seps[name]
            if len(sep.encode()) != 1 or not sep.isprintable():
                out.append(f"the {name} {sep!r} must be a single printable byte (it sits in the fixed-width ISA)")
        if len(set(seps.values())) != len(seps):
            out.append(f"the delimiters must all differ: {seps}")
        if self.terminator in "\r\n" and self.line_ending:
            out.append("a line-break segment terminator takes no extra line ending")
        if self.line_ending not in ("", "\n", "\r\n"):
            out.append(f"line ending must be '', '\\n' or '\\r\\n', got {self.line_ending!r}")
        if self.charset not in ("ascii", "utf-8"):
            out.append(f"charset must be 'ascii' or 'utf-8', got {self.charset!r}")
        if self.usage not in ("P", "T"):
            out.append(f"usage indicator must be P (production) or T (test), got {self.usage!r}")
        for who, (qualifier, ident) in (("our", self.sender), ("the partner's", self.receiver)):
            if not re.fullmatch(r"[A-Z0-9]{2}", qualifier):
                out.append(f"{who} ID qualifier {qualifier!r} must be 2 characters such as ZZ, 01 or 12")
            if not 1 <= len(ident) <= 15 or ident != ident.strip():
                out.append(f"{who} interchange ID {ident!r} must be 1-15 characters without surrounding blanks")
        for name, value in (("GS02 application sender", self.application_sender or self.sender[1]),
                            ("GS03 application receiver", self.application_receiver or self.receiver[1])):
            if not 2 <= len(value) <= 15:
                out.append(f"the {name} code {value!r} must be 2-15 characters")
        return out


@dataclass(frozen=True)
class OutboundNumbers:
    """Control numbers to use: ISA13, and GS06 of the first group (further groups count on from it)."""

    interchange: int
    group: int


@dataclass(frozen=True)
class SentSet:
    """Where one input document went, so an inbound 997 (AK1 GS06 + AK2 ST02) can be matched to it."""

    document_index: int  # position in the `documents` list given to build_outbound
    kind: str
    number: str | None
    set_id: str
    functional_id: str
    isa13: str
    gs06: str
    st02: str

    @property
    def control_numbers(self) -> dict[str, str]:
        """The same keys the canonical `source.control_numbers` uses."""
        return {"isa13": self.isa13, "gs06": self.gs06, "st02": self.st02}


@dataclass(frozen=True)
class SentGroup:
    functional_id: str
    gs06: str
    version: str
    st02s: tuple[str, ...]


@dataclass(frozen=True)
class OutboundResult:
    data: bytes
    isa13: str
    groups: tuple[SentGroup, ...]
    sets: tuple[SentSet, ...]  # in the order of the input documents
    warnings: tuple[Issue, ...]
    next_numbers: OutboundNumbers  # what the caller's counters should hold after this interchange

    @property
    def gs06(self) -> dict[str, str]:
        """Functional ID -> GS06 of its group."""
        return {g.functional_id: g.gs06 for g in self.groups}


# --- value formatting shared by the builders -----------------------------------------------------


def x12_decimal(value: Decimal) -> str:
    """An R (real) value: never an exponent (1E+2 -> 100), no sign on zero, and fractional zeros beyond
    the second decimal dropped as noise (2.500000 -> 2.50) while a stated 2083.00 stays as stated."""
    if not value.is_finite():
        raise ValueError(f"{value} is not a number X12 can carry")
    text = format(value, "f")
    if "." in text:
        whole, frac = text.split(".")
        frac = frac[:2] + frac[2:].rstrip("0")
        text = f"{whole}.{frac}" if frac else whole
    if text.lstrip("-").strip("0.") == "":
        return "0"
    return text


def x12_date(value: date) -> str:
    """CCYYMMDD (DT from 004010 on)."""
    return value.strftime("%Y%m%d")


# --- builders --------------------------------------------------------------------------------------


def builder_module(set_id: str) -> ModuleType | None:
    """`mappings.x12.build_<set>` when it exists; a module that exists but fails to import raises."""
    name = f"mappings.x12.build_{set_id}"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        return None


def builder_for(set_id: str) -> Builder | None:
    module = builder_module(set_id)
    found = getattr(module, f"build_{set_id}", None) if module is not None else None
    return found if callable(found) else None


# --- the build ------------------------------------------------------------------------------------

_SUBSTITUTES = {"ß": "ss", "Æ": "AE", "æ": "ae", "Ø": "O", "ø": "o", "Œ": "OE", "œ": "oe", "Ł": "L", "ł": "l",
                "Đ": "D", "đ": "d", "Þ": "TH", "þ": "th", "‘": "'", "’": "'", "‚": ",", "“": '"', "”": '"',
                "„": '"', "–": "-", "—": "-", "…": "...", "\u00a0": " ", "€": "EUR"}
_TAG = re.compile(r"^[A-Z][A-Z0-9]{1,2}$")
_ENVELOPE_TAGS = frozenset({"ISA", "IEA", "GS", "GE", "ST", "SE", "TA1"})


def _transliterate(value: str) -> str:
    out = []
    for ch in value:
        if ch.isascii():
            out.append(ch)
        elif ch in _SUBSTITUTES:
            out.append(_SUBSTITUTES[ch])
        else:
            out.append("".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c)))
    return "".join(out)


@dataclass
class _Pending:
    """One document on its way: what was built, and where it goes."""

    index: int
    doc: Document
    set_id: str
    segments: list[list[str]]  # ST + body
    module: ModuleType | None
    gs06: str = ""
    st02: str = ""


class _Run:
    def __init__(self, profile: OutboundProfile) -> None:
        self.profile = profile
        self.delimiters = profile.delimiters
        self.errors: list[Issue] = []
        self.warnings: list[Issue] = []

    # -- naming things for people -------------------------------------------------------------

    @staticmethod
    def label(index: int, doc: Document, set_id: str = "", st02: str = "") -> str:
        what = _KIND_WORDS.get(doc.kind, doc.kind)
        number = repr(doc.number) if doc.number else "(no number)"
        sent = f", {set_id} {st02}" if st02 else (f", {set_id}" if set_id else "")
        return f"{what} {number} (document {index + 1}{sent})"

    @staticmethod
    def field_name(p: _Pending, position: int, element: int | None) -> str:
        """X12 element label, with the canonical field when the builder module can say which."""
        segs = p.segments
        if not 1 <= position <= len(segs):
            return ""
        tag = segs[position - 1][0]
        label = f"{tag}{element:02d}" if element is not None else tag
        describe: FieldDescriber | None = getattr(p.module, "describe_field", None) if p.module else None
        canonical = describe(segs, position, element) if describe is not None else None
        return f"{label} (canonical field {canonical})" if canonical else label

    def issue(self, p: _Pending, base: Issue, *, position: int | None = None,
              element: int | None = None) -> Issue:
        """`base` restated with the document's number and, when known, the field it is about."""
        if position is None and base.x12 is not None:
            position, element = base.x12.segment_position, base.x12.element_position
        where = self.field_name(p, position, element) if position else ""
        prefix = self.label(p.index, p.doc, p.set_id, p.st02)
        message = f"{prefix}: {base.message}" + (f" [field {where}]" if where else "")
        return Issue(base.severity, base.code, message, base.location, base.x12)

    # -- building and checking one document -------------------------------------------------------

    def build(self, index: int, doc: Document) -> _Pending | None:
        profile = self.profile
        set_id = KIND_TO_SET.get(doc.kind)
        label = self.label(index, doc)
        if set_id is None:
            self.errors.append(error("X12_OUTBOUND_KIND", f"{label}: kind {doc.kind!r} has no X12 transaction "
                                     f"set; expected one of {', '.join(KIND_TO_SET)}."))
            return None
        for role, ident, expected in (("sender", doc.sender, profile.sender),
                                      ("receiver", doc.receiver, profile.receiver)):
            if ident is not None and (ident.id != expected[1] or (ident.qualifier and ident.qualifier != expected[0])):
                self.errors.append(error(
                    "X12_OUTBOUND_IDENTITY",
                    f"{label}: the document's {role} is {ident.qualifier}/{ident.id} but this interchange goes "
                    f"from {profile.sender[0]}/{profile.sender[1]} to {profile.receiver[0]}/{profile.receiver[1]}; "
                    f"send it with the right partner's profile or correct the document's {role}."))
        module = builder_module(set_id)
        builder = getattr(module, f"build_{set_id}", None) if module is not None else None
        if not callable(builder):
            self.errors.append(error("X12_OUTBOUND_NO_BUILDER",
                                     f"{label}: there is no builder for transaction set {set_id} "
                                     f"(mappings/x12/build_{set_id}.py, function build_{set_id}) yet."))
            return None
        try:
            body = builder(doc, profile.version)
        except BuildError as exc:
            for problem in exc.problems:
                self.errors.append(error(problem.code, f"{label}: {problem.message} [field {problem.field}, "
                                         f"value {problem.value!r}]"))
            return None
        except ValueError as exc:
            self.errors.append(error("X12_OUTBOUND_BUILD", f"{label}: the {set_id} could not be built: {exc}"))
            return None
        shape = self._shape_problem(body)
        if shape:
            self.errors.append(error("X12_OUTBOUND_BUILDER_OUTPUT",
                                     f"{label}: build_{set_id} returned {shape}; this is a bug in the builder."))
            return None
        pending = _Pending(index, doc, set_id, [["ST", set_id, ""], *[list(s) for s in body]], module)
        self._check_values(pending)
        return pending

    @staticmethod
    def _shape_problem(body: object) -> str:
        if not isinstance(body, list):
            return f"a {type(body).__name__}, not a list of segments"
        for n, seg in enumerate(body, start=1):
            if not isinstance(seg, list) or not seg or not all(isinstance(e, str) for e in seg):
                return f"segment {n} {seg!r}, which is not a list of strings"
            if not _TAG.match(seg[0]) or seg[0] in _ENVELOPE_TAGS:
                return f"segment {n} with tag {seg[0]!r} (only body segments between ST and SE belong there)"
        return ""

    def _check_values(self, p: _Pending) -> None:
        """Delimiters, control characters and the character set, value by value (X12 cannot escape)."""
        d = self.delimiters
        names = [("element separator", d.element), ("component separator", d.component),
                 ("segment terminator", d.segment), ("repetition separator", d.repetition or "")]
        ascii_only = self.profile.charset == "ascii"
        for position, seg in enumerate(p.segments[1:], start=2):
            for element in range(1, len(seg)):
                value = seg[element]
                if ascii_only and not value.isascii() and self.profile.transliterate:
                    replaced = _transliterate(value)
                    self.warnings.append(self.issue(p, warning(
                        "X12_OUTBOUND_TRANSLITERATED",
                        f"{value!r} is sent as {replaced!r}: the partner takes ASCII only."),
                        position=position, element=element))
                    seg[element] = value = replaced
                where = f"{p.set_id} segment {position} ({seg[0]}), {seg[0]}{element:02d}"
                for name, delim in names:
                    if delim and delim in value:
                        self.errors.append(self.issue(p, error(
                            "X12_OUTBOUND_DELIMITER_IN_VALUE",
                            f"the value {value!r} contains the {name} {delim!r}; X12 has no escaping, so change "
                            "the value or agree other delimiters with the partner.", where),
                            position=position, element=element))
                bad = [c for c in value if unicodedata.category(c) == "Cc"]
                if bad:
                    self.errors.append(self.issue(p, error(
                        "X12_OUTBOUND_CONTROL_CHARACTER",
                        f"the value {value!r} contains the control character {bad[0]!r}; remove it "
                        "(line breaks and tabs cannot travel inside an X12 value).", where),
                        position=position, element=element))
                if ascii_only and not value.isascii():
                    others = sorted({c for c in value if not c.isascii()})
                    self.errors.append(self.issue(p, error(
                        "X12_OUTBOUND_CHARSET",
                        f"the value {value!r} contains {', '.join(repr(c) for c in others)}, which the partner's "
                        "ASCII character set cannot carry; replace the character(s) or enable transliteration "
                        "for this partner.", where),
                        position=position, element=element))

    # -- the interchange ------------------------------------------------------------------------

    def write(self, pending: list[_Pending], numbers: OutboundNumbers, now: datetime) -> tuple[bytes, list[SentGroup]]:
        profile = self.profile
        by_fid: dict[str, list[_Pending]] = {}
        for p in pending:
            by_fid.setdefault(SET_TO_FUNCTIONAL_ID.get(p.set_id, ""), []).append(p)
        gs_date = now.strftime("%Y%m%d") if profile.version[:6] >= "004010" else now.strftime("%y%m%d")
        groups: list[GroupData] = []
        sent: list[SentGroup] = []
        for offset, (fid, members) in enumerate(by_fid.items()):
            gs06 = str(numbers.group + offset)
            for n, p in enumerate(members, start=1):
                p.gs06, p.st02 = gs06, f"{n:04d}"
                p.segments[0][2] = p.st02
            gs = ["GS", fid, profile.application_sender or profile.sender[1],
                  profile.application_receiver or profile.receiver[1], gs_date, now.strftime("%H%M"), gs06, "X",
                  profile.version]
            groups.append(GroupData(list(gs), [[list(s) for s in p.segments] for p in members]))
            sent.append(SentGroup(fid, gs06, profile.version, tuple(p.st02 for p in members)))
        isa = build_isa(sender=profile.sender, receiver=profile.receiver, control_number=numbers.interchange,
                        now=now, delimiters=self.delimiters, version=profile.isa_version,
                        ack_requested=profile.ack_requested, usage=profile.usage)
        return write_interchange(isa, groups, self.delimiters, profile.line_ending), sent

    def recheck(self, data: bytes, pending: list[_Pending]) -> None:
        """Read our own bytes back: envelope, guide, and mapping back to canonical (what did not survive)."""
        in_order = sorted(pending, key=lambda p: (int(p.gs06), p.st02))
        sets_read = 0
        for event in read_x12(data):
            if isinstance(event, SetRead):
                ts = event.transaction_set
                if sets_read >= len(in_order):
                    self.errors.append(error("X12_OUTBOUND_ENVELOPE", f"the interchange read back holds an "
                                             f"unexpected set {ts.set_id} {ts.control_number}.", ts.st.location()))
                    continue
                p = in_order[sets_read]
                sets_read += 1
                self._recheck_set(p, ts)
            elif isinstance(event, GroupEnd):
                self._envelope(event.group.issues, f"group {event.group.control_number}")
            elif isinstance(event, InterchangeEnd):
                self._envelope(event.interchange.issues, f"interchange {event.interchange.control_number}")
            elif isinstance(event, FileIssue):
                self._envelope([event.issue], "file")
        if sets_read != len(in_order):
            self.errors.append(error("X12_OUTBOUND_ENVELOPE", f"{len(in_order)} sets were written but "
                                     f"{sets_read} were read back."))

    def _envelope(self, issues: list[Issue], where: str) -> None:
        for i in issues:
            if i.code == "X12_LINE_BREAKS" and self.profile.line_ending:
                continue  # the line ending the partner asked for
            restated = Issue(i.severity, i.code, f"outbound {where}: {i.message}", i.location, i.x12)
            (self.errors if i.is_error else self.warnings).append(restated)

    def _recheck_set(self, p: _Pending, ts: TransactionSet) -> None:
        found: list[Issue] = list(ts.issues)
        guide, guide_issues = load_guide(ts.set_id, ts.implementation_ref)
        found += guide_issues
        if guide is not None:
            for overlay in self.profile.overlays:
                if overlay.applies(ts.set_id, guide.version):
                    guide = guide.with_overlay(overlay.spec)
            found += validate_set(ts, guide)
        mapper = mapper_for(ts.set_id)
        if mapper is not None:
            try:
                back, map_issues = mapper(ts)
            except Exception as exc:  # a mapper bug must not hide what we were about to send
                found.append(error("X12_OUTBOUND_MAPPING_FAILED", f"mapping the {ts.set_id} back failed: "
                                   f"{type(exc).__name__}: {exc}"))
            else:
                found += [i for i in map_issues if i.code != "X12_LINE_PARTY_NOT_MAPPED"]
                found += [warning("X12_OUTBOUND_NOT_CARRIED", text) for text in _not_carried(p.doc, back)]
        for i in found:
            restated = self.issue(p, i)
            (self.errors if i.is_error else self.warnings).append(restated)


def _not_carried(before: Document, after: Document) -> list[str]:
    """Every value stated in `before` that reads back differently from the X12 (source aside)."""
    exclude = {"source"}
    old = before.model_dump(mode="python", exclude=exclude)
    new = after.model_dump(mode="python", exclude=exclude)
    out: list[str] = []

    def walk(a: Any, b: Any, path: str) -> None:
        if a is None or a == {} or a == []:
            return
        if isinstance(a, dict):
            b = b if isinstance(b, dict) else {}
            for key, value in a.items():
                walk(value, b.get(key), f"{path}.{key}" if path else key)
        elif isinstance(a, list):
            b = b if isinstance(b, list) else []
            for n, value in enumerate(a):
                walk(value, b[n] if n < len(b) else None, f"{path}[{n}]")
        elif a != b:
            shown = format(a, "f") if isinstance(a, Decimal) else a
            got = format(b, "f") if isinstance(b, Decimal) else b
            out.append(f"{path} {shown!r} does not survive the X12 as built: the partner will read {got!r}.")

    walk(old, new, "")
    return out


def build_outbound(documents: list[Document], profile: OutboundProfile, numbers: OutboundNumbers,
                   now: datetime) -> OutboundResult:
    """One interchange holding `documents` (one GS group per functional ID), checked before it may go.

    Raises OutboundInvalid with every error found (profile, builder, values, envelope, guide, mapping
    back); warnings travel in the result. The same inputs always give the same bytes.
    """
    problems = profile.problems()
    if not documents:
        problems.append("there are no documents to send")
    for name, value in (("interchange", numbers.interchange), ("group", numbers.group)):
        if not 1 <= value <= MAX_CONTROL:
            problems.append(f"the {name} control number {value} is outside 1-{MAX_CONTROL}")
    if problems:
        raise OutboundInvalid([error("X12_OUTBOUND_PROFILE", f"outbound profile for "
                                     f"{profile.receiver[0]}/{profile.receiver[1]}: {p}.") for p in problems])
    run = _Run(profile)
    pending = [p for p in (run.build(i, doc) for i, doc in enumerate(documents)) if p is not None]
    if run.errors:
        raise OutboundInvalid(run.errors + run.warnings)
    fids = {SET_TO_FUNCTIONAL_ID.get(p.set_id, "") for p in pending}
    if numbers.group + len(fids) - 1 > MAX_CONTROL:
        raise OutboundInvalid([error("X12_OUTBOUND_PROFILE", f"group control numbers {numbers.group}.. would "
                                     f"pass {MAX_CONTROL}; wrap the partner's group counter to 1.")])
    try:
        data, groups = run.write(pending, numbers, now)
    except ValueError as exc:  # the writer's last line of defence (e.g. an ISA field that does not fit)
        raise OutboundInvalid([error("X12_OUTBOUND_ENVELOPE", f"the interchange could not be written: {exc}")]) \
            from exc
    if profile.charset == "ascii" and not data.isascii():
        run.errors.append(error("X12_OUTBOUND_CHARSET", "the interchange holds non-ASCII bytes although the "
                                "partner takes ASCII only."))
    run.recheck(data, pending)
    if run.errors:
        raise OutboundInvalid(run.errors + run.warnings)
    isa13 = f"{numbers.interchange:09d}"
    sets = tuple(SentSet(p.index, p.doc.kind, p.doc.number, p.set_id, SET_TO_FUNCTIONAL_ID.get(p.set_id, ""),
                         isa13, p.gs06, p.st02) for p in pending)
    following = OutboundNumbers(numbers.interchange % MAX_CONTROL + 1,
                                (numbers.group + len(groups) - 1) % MAX_CONTROL + 1)
    return OutboundResult(data, isa13, tuple(groups), sets, tuple(run.warnings), following)


__all__ = ["KIND_TO_SET", "SET_TO_FUNCTIONAL_ID", "BuildError", "FieldProblem", "OutboundInvalid",
           "OutboundNumbers", "OutboundProfile", "OutboundResult", "SentGroup", "SentSet", "build_outbound",
           "builder_for", "x12_date", "x12_decimal"]
