"""Guide-driven validation of one X12 transaction set: structure, elements, codes and syntax rules.

Every finding is an `Issue` whose `X12Ref` carries what a 997/999 reports: AK3 (segment ID, position
from ST = 1, loop ID, AK304 code) and AK4 (element and component position, element reference number,
AK403 code, bad value). Element-level findings carry AK304 "8" (segment has data element errors).

The structure walk is a loop-aware state machine over the guide's compiled tables: a stack of open
loop iterations, each remembering how far into its body it has read and how often each position was
used. A segment is matched forward from the current place, closing inner loops as needed; a segment
that fits nowhere forward is reported once (out of sequence, unexpected, not in this set or
unrecognized) and skipped, so the walk resynchronises on the next segment instead of cascading.
"""

from __future__ import annotations

import datetime
import functools

from mappings.x12.guide import (
    T_AN,
    T_COMPOSITE,
    T_DT,
    T_ID,
    T_N,
    T_R,
    T_TM,
    ElementDef,
    Guide,
    LoopDef,
    Node,
    SegmentDef,
    SegmentUse,
    SyntaxRule,
)
from parsers.issues import Issue, X12Ref, error, warning
from parsers.x12.reader import TransactionSet
from parsers.x12.segments import Segment

# AK304 segment syntax error codes
AK3_UNRECOGNIZED = "1"
AK3_UNEXPECTED = "2"
AK3_MANDATORY_MISSING = "3"
AK3_LOOP_OVER_MAX = "4"
AK3_OVER_MAX_USE = "5"
AK3_NOT_IN_SET = "6"
AK3_OUT_OF_SEQUENCE = "7"
AK3_ELEMENT_ERRORS = "8"

# AK403 data element syntax error codes
AK4_MANDATORY_MISSING = "1"
AK4_CONDITIONAL_MISSING = "2"
AK4_TOO_MANY = "3"
AK4_TOO_SHORT = "4"
AK4_TOO_LONG = "5"
AK4_INVALID_CHARACTER = "6"
AK4_INVALID_CODE = "7"
AK4_INVALID_DATE = "8"
AK4_INVALID_TIME = "9"
AK4_EXCLUSION = "10"

_MAX_CODES_IN_MESSAGE = 12


@functools.lru_cache(maxsize=4096)
def _valid_date(value: str) -> bool:
    """CCYYMMDD (or YYMMDD) that names a real calendar day."""
    try:
        if len(value) == 8:
            datetime.date(int(value[:4]), int(value[4:6]), int(value[6:8]))
        elif len(value) == 6:
            yy = int(value[:2])
            datetime.date((2000 if yy < 50 else 1900) + yy, int(value[2:4]), int(value[4:6]))
        else:
            return False
    except ValueError:
        return False
    return True


def _valid_time(value: str) -> bool:
    """HHMM, HHMMSS, HHMMSSd or HHMMSSdd on a 24-hour clock."""
    n = len(value)
    if n not in (4, 6, 7, 8) or not (value.isdigit() and value.isascii()):
        return False
    if int(value[:2]) > 23 or int(value[2:4]) > 59:
        return False
    return not (n >= 6 and int(value[4:6]) > 59)


def _present(value: str) -> bool:
    return bool(value) and not value.isspace()


def _rule_broken(rule: SyntaxRule, els: list[str], n: int) -> bool:
    """Cheap yes/no check of one syntax rule; the reporting path re-derives the details."""
    positions = rule.positions
    if rule.kind == "P" and len(positions) == 2:  # the common case (qualifier/value pairs), inlined
        a, b = positions
        va = els[a] if a <= n else ""
        vb = els[b] if b <= n else ""
        return (bool(va) and not va.isspace()) != (bool(vb) and not vb.isspace())
    count = 0
    first = False
    for i, p in enumerate(rule.positions):
        if p <= n:
            v = els[p]
            if v and not (v[0] == " " and v.isspace()):
                count += 1
                if i == 0:
                    first = True
    kind = rule.kind
    if kind == "P":
        return 0 < count < len(rule.positions)
    if kind == "R":
        return count == 0
    if kind == "C":
        return first and count < len(rule.positions)
    if kind == "E":
        return count > 1
    return first and count == 1  # L


def _label(seg_id: str, d: ElementDef, component: int | None = None) -> str:
    where = f"{seg_id}{d.position:02d}" if component is None else f"{seg_id}-{component:02d}"
    return f"{where} ({d.name}, element {d.ref})"


def _codes_text(d: ElementDef) -> str:
    codes = d.code_list
    if len(codes) <= _MAX_CODES_IN_MESSAGE:
        return ", ".join(codes)
    lead = d.common or codes[:_MAX_CODES_IN_MESSAGE]
    return ", ".join(lead) + f" ... ({len(codes)} codes in all)"


class _Frame:
    """One open loop iteration (or the whole set): how far into its body, and use counts."""

    __slots__ = ("counts", "idx", "index", "loop_id", "node")

    def __init__(self, node: Node) -> None:
        self.node = node
        self.index = node.index  # looked up once per segment: keep it one attribute away
        self.idx = 0
        self.counts = [0] * len(node.children)
        self.loop_id = node.loop.id


class _Validator:
    """State for one transaction set; see the module docstring."""

    def __init__(self, ts: TransactionSet, guide: Guide) -> None:
        self.ts = ts
        self.guide = guide
        self.issues: list[Issue | None] = []
        self.base = ts.segments[0].number - 1 if ts.segments else 0
        self.stack: list[_Frame] = [_Frame(guide.compiled)]
        # (frame id, child index) -> index in self.issues of its "mandatory missing" report
        self.pending_missing: dict[tuple[int, int], int] = {}

    # ------------------------------------------------------------------ structure
    def run(self) -> list[Issue]:
        last: Segment | None = None
        for seg in self.ts.segments:
            last = seg
            self.segment(seg)
        if last is not None:
            self.close(len(self.stack) - 1, -1, last, final=True)
        return [i for i in self.issues if i is not None]

    def segment(self, seg: Segment) -> None:
        tag = seg.elements[0]
        stack = self.stack
        level = len(stack) - 1
        while level >= 0:
            fr = stack[level]
            cands = fr.index.get(tag)
            if cands:
                start = fr.idx
                if level and start == 0:
                    start = 1  # a loop's trigger starts a new iteration in the parent, never repeats here
                for j in cands:
                    if j >= start:
                        self.place(seg, level, j)
                        return
            level -= 1
        self.misplaced(seg, tag)

    def place(self, seg: Segment, level: int, j: int) -> None:
        stack = self.stack
        if level < len(stack) - 1:
            self.close(len(stack) - 1, level, seg)
        fr = stack[level]
        node = fr.node
        if j > fr.idx + 1:  # positions were skipped: were any of them mandatory?
            for i in node.mandatory:
                if fr.idx < i < j and fr.counts[i] == 0:
                    self.missing(fr, i, seg)
        child = node.children[j]
        fr.idx = j
        fr.counts[j] += 1
        position = seg.number - self.base
        if isinstance(child, LoopDef):
            if child.repeat is not None and fr.counts[j] > child.repeat:
                self.add(error("X12_LOOP_OVER_MAX",
                               f"Loop {child.id} occurs {fr.counts[j]} times; the guide allows at most "
                               f"{child.repeat}. Split the document or remove the extra {child.id} loops.",
                               seg.location(), X12Ref(seg.tag, position, child.id, ak3_code=AK3_LOOP_OVER_MAX)))
            sub = _Frame(node.child_nodes[j])
            sub.counts[0] = 1
            stack.append(sub)
            use = child.children[0]
            assert isinstance(use, SegmentUse)
            self.elements(seg, use.segment, position, child.id)
            return
        if child.max_use is not None and fr.counts[j] > child.max_use:
            where = f" in loop {fr.loop_id}" if fr.loop_id else ""
            self.add(error("X12_SEGMENT_OVER_MAX_USE",
                           f"Segment {seg.tag} is used {fr.counts[j]} times here{where}; the guide allows at most "
                           f"{child.max_use}. Remove or combine the extra {seg.tag} segments.",
                           seg.location(), X12Ref(seg.tag, position, fr.loop_id, ak3_code=AK3_OVER_MAX_USE)))
        self.elements(seg, child.segment, position, fr.loop_id)

    def close(self, top: int, keep: int, seg: Segment, final: bool = False) -> None:
        """Close frames above `keep` (all when keep = -1), reporting mandatory positions never reached."""
        stack = self.stack
        for level in range(top, keep, -1):
            fr = stack[level]
            for i in fr.node.mandatory:
                if i > fr.idx and fr.counts[i] == 0:
                    child = fr.node.children[i]
                    if final and level == 0 and not isinstance(child, LoopDef) and child.id == "SE":
                        continue  # a missing SE is the envelope reader's finding
                    self.missing(fr, i, seg, after=final)
            if level > 0:
                stack.pop()

    def missing(self, fr: _Frame, i: int, seg: Segment, after: bool = False) -> None:
        child = fr.node.children[i]
        position = seg.number - self.base
        if isinstance(child, LoopDef):
            seg_id, loop_id, what = child.trigger, child.id, f"loop {child.id} (starting with segment {child.trigger})"
        else:
            seg_id, loop_id, what = child.id, fr.loop_id, f"segment {child.id} ({child.segment.name})"
        where = f" in loop {fr.loop_id}" if fr.loop_id else ""
        rel = f"after segment {position} ({seg.tag})" if after else f"before segment {position} ({seg.tag})"
        fr.counts[i] = max(fr.counts[i], 0)
        self.pending_missing[(id(fr), i)] = len(self.issues)
        self.add(error("X12_MANDATORY_SEGMENT_MISSING",
                       f"Mandatory {what}{where} is missing; it was expected {rel}. Add it.",
                       seg.location(), X12Ref(seg_id, position, loop_id, ak3_code=AK3_MANDATORY_MISSING)))

    def misplaced(self, seg: Segment, tag: str) -> None:
        position = seg.number - self.base
        top = self.stack[-1]
        loop_id = top.loop_id
        guide = self.guide
        # earlier in an open loop (or the set): out of sequence
        for level in range(len(self.stack) - 1, -1, -1):
            fr = self.stack[level]
            for j in fr.node.index.get(tag, ()):
                if j < fr.idx or (level and j == 0):
                    key = (id(fr), j)
                    if key in self.pending_missing:
                        self.issues[self.pending_missing.pop(key)] = None
                    where = f"loop {fr.loop_id}" if fr.loop_id else "the transaction set"
                    self.add(error("X12_SEGMENT_OUT_OF_SEQUENCE",
                                   f"Segment {tag} at position {position} is out of order: in {where} it must come "
                                   f"before segment {self._child_name(fr, fr.idx)}. Move it to its place.",
                                   seg.location(),
                                   X12Ref(tag, position, fr.loop_id, ak3_code=AK3_OUT_OF_SEQUENCE)))
                    sdef = guide.dictionary.get(tag)
                    if sdef is not None:
                        self.elements(seg, sdef, position, fr.loop_id, ak3=AK3_OUT_OF_SEQUENCE)
                    return
        if tag in guide.set_segment_ids:
            code, ak3 = "X12_UNEXPECTED_SEGMENT", AK3_UNEXPECTED
            msg = (f"Segment {tag} at position {position} is not expected here"
                   f"{' in loop ' + loop_id if loop_id else ''}: in a {guide.set_id} it only belongs in another "
                   "part of the set. Move or remove it.")
        elif tag in guide.known_ids:
            code, ak3 = "X12_SEGMENT_NOT_IN_SET", AK3_NOT_IN_SET
            msg = (f"Segment {tag} at position {position} is an X12 segment but not part of transaction set "
                   f"{guide.set_id} ({guide.version}). Remove it.")
        else:
            code, ak3 = "X12_UNRECOGNIZED_SEGMENT", AK3_UNRECOGNIZED
            msg = (f"Segment ID {tag[:10]!r} at position {position} is not a recognised X12 segment. Check the "
                   "segment tag and the delimiters.")
        self.add(error(code, msg, seg.location(), X12Ref(tag[:3], position, loop_id, ak3_code=ak3)))

    @staticmethod
    def _child_name(fr: _Frame, i: int) -> str:
        child = fr.node.children[i]
        return child.trigger if isinstance(child, LoopDef) else child.id

    def add(self, issue: Issue) -> None:
        self.issues.append(issue)

    # ------------------------------------------------------------------ elements
    def elements(self, seg: Segment, sdef: SegmentDef, position: int, loop_id: str,
                 ak3: str = AK3_ELEMENT_ERRORS) -> None:
        defs = sdef.elements
        if defs is None:
            return
        els = seg.elements
        n = len(els) - 1
        nd = len(defs)
        if n > nd and not sdef.partial:
            extra = [i for i in range(nd + 1, n + 1) if _present(els[i])]
            if extra:
                k = extra[0]
                self.add(error("X12_TOO_MANY_ELEMENTS",
                               f"Segment {seg.tag} has {n} elements; the guide defines {nd}. {seg.tag}{k:02d} "
                               f"({els[k][:40]!r}) and after are not allowed. Remove the extra elements.",
                               seg.location(k),
                               X12Ref(seg.tag, position, loop_id, k, element_ref="", ak3_code=ak3,
                                      ak4_code=AK4_TOO_MANY, value=els[k][:99])))
            else:
                self._trailing(seg, position, loop_id)
        elif n > 0 and not els[n]:
            self._trailing(seg, position, loop_id)
        comp_sep = seg.delimiters.component
        for d in defs[:n] if n < nd else defs:
            value = els[d.position]
            if not value or (value[0] == " " and value.isspace()):
                if d.usage == "M":
                    self.element_issue("X12_MANDATORY_ELEMENT_MISSING", AK4_MANDATORY_MISSING, seg, position,
                                       loop_id, d, None, value, ak3,
                                       f"{_label(seg.tag, d)} is mandatory but missing. Fill it in.")
                continue
            t = d.tcode
            # fast paths: the common valid cases cost one or two C-level checks; anything else goes to
            # `value`, which re-checks from scratch and reports
            if t == T_ID:
                codes = d.codes
                if codes is not None:
                    if value in codes:
                        continue
                elif d.min_len <= len(value) <= d.max_len:
                    continue
            elif t == T_N:
                if value.isdigit() and value.isascii() and d.min_len <= len(value) <= d.max_len:
                    continue
            elif t == T_R:
                digits = value.replace(".", "", 1)
                if digits.isdigit() and digits.isascii() and d.min_len <= len(digits) <= d.max_len:
                    continue
            elif t == T_DT:
                if value.isdigit() and value.isascii() and d.min_len <= len(value) <= d.max_len \
                        and _valid_date(value):
                    continue
            elif t == T_TM:
                if d.min_len <= len(value) <= d.max_len and _valid_time(value):
                    continue
            elif t == T_AN:
                if d.min_len <= len(value) <= d.max_len and comp_sep not in value and value.isprintable():
                    continue
                if comp_sep in value:
                    self.element_issue("X12_INVALID_CHARACTER", AK4_INVALID_CHARACTER, seg, position, loop_id, d,
                                       None, value, ak3,
                                       f"{_label(seg.tag, d)} contains the component separator {comp_sep!r}, "
                                       "which cannot appear inside data. Remove or replace it.")
                    continue
            elif t == T_COMPOSITE:
                self.composite(seg, d, value, comp_sep, position, loop_id, ak3)
                continue
            self.value(seg, d, value, position, loop_id, None, ak3)
        if n < nd:
            for p in sdef.mandatory:
                if p > n:
                    d = defs[p - 1]
                    self.element_issue("X12_MANDATORY_ELEMENT_MISSING", AK4_MANDATORY_MISSING, seg, position,
                                       loop_id, d, None, "", ak3,
                                       f"{_label(seg.tag, d)} is mandatory but missing. Fill it in.")
        if sdef.rules:
            for rule in sdef.rules:
                # A rule whose elements all lie past the segment's end can only be broken if it is R.
                if rule.lowest > n and rule.kind != "R":
                    continue
                if _rule_broken(rule, els, n):
                    self.rules(seg, (rule,), defs, els, n, position, loop_id, ak3, None)

    def _trailing(self, seg: Segment, position: int, loop_id: str) -> None:
        self.add(warning("X12_TRAILING_EMPTY_ELEMENTS",
                         f"Segment {seg.tag} ends with empty elements (trailing separators); the standard asks "
                         "senders to drop them. It was accepted.", seg.location(),
                         X12Ref(seg.tag, position, loop_id)))

    def composite(self, seg: Segment, d: ElementDef, value: str, sep: str, position: int, loop_id: str,
                  ak3: str) -> None:
        comp = d.composite
        assert comp is not None
        parts = value.split(sep)
        n = len(parts)
        parts.insert(0, d.ref)
        if n > len(comp.components):
            k = len(comp.components) + 1
            self.element_issue("X12_TOO_MANY_COMPONENTS", AK4_TOO_MANY, seg, position, loop_id, d, k, parts[k], ak3,
                               f"{seg.tag}{d.position:02d} ({d.name}, composite {d.ref}) has {n} components; "
                               f"{len(comp.components)} are defined. Remove the extra components.")
        for c in comp.components:
            p = c.position
            v = parts[p] if p <= n else ""
            if not _present(v):
                if c.usage == "M":
                    self.element_issue("X12_MANDATORY_ELEMENT_MISSING", AK4_MANDATORY_MISSING, seg, position,
                                       loop_id, c, p, v, ak3,
                                       f"{seg.tag}{d.position:02d}-{p:02d} ({c.name}, element {c.ref}, in {d.ref}) "
                                       "is mandatory but missing. Fill it in.", d)
                continue
            self.value(seg, c, v, position, loop_id, (d, p), ak3)
        for rule in comp.rules:
            if _rule_broken(rule, parts, n):
                self.rules(seg, (rule,), comp.components, parts, n, position, loop_id, ak3, d)

    def value(self, seg: Segment, d: ElementDef, value: str, position: int, loop_id: str,
              comp: tuple[ElementDef, int] | None, ak3: str) -> None:
        """Type, length and code checks of one non-empty simple element (or component) value."""
        t = d.tcode
        if t == T_ID:
            codes = d.codes
            if codes is not None:
                if value not in codes:
                    self.bad(seg, d, value, position, loop_id, comp, ak3, "X12_INVALID_CODE", AK4_INVALID_CODE,
                             f"is {value[:40]!r}, which is not a valid code; expected one of {_codes_text(d)}. "
                             "Correct the code.")
                return
            length = len(value)
        elif t == T_AN:
            length = len(value)
            if not value.isprintable():
                self.bad(seg, d, value, position, loop_id, comp, ak3, "X12_INVALID_CHARACTER", AK4_INVALID_CHARACTER,
                         f"contains a control character ({value[:40]!r}). Remove it.")
                return
        elif t == T_N:
            v = value[1:] if value[0] == "-" else value
            if not (v.isdigit() and v.isascii()):
                self.bad(seg, d, value, position, loop_id, comp, ak3, "X12_INVALID_NUMBER", AK4_INVALID_CHARACTER,
                         f"is {value[:40]!r}, not a whole number (type {d.type}: digits only, optional leading "
                         "minus, no decimal point). Correct the number.")
                return
            length = len(v)
        elif t == T_R:
            v = value[1:] if value[0] == "-" else value
            digits = v.replace(".", "", 1)
            if not (digits.isdigit() and digits.isascii()):
                self.bad(seg, d, value, position, loop_id, comp, ak3, "X12_INVALID_NUMBER", AK4_INVALID_CHARACTER,
                         f"is {value[:40]!r}, not a decimal number (digits, at most one decimal point, optional "
                         "leading minus). Correct the number.")
                return
            length = len(digits)
        elif t == T_DT:
            if not (value.isdigit() and value.isascii()):
                self.bad(seg, d, value, position, loop_id, comp, ak3, "X12_INVALID_DATE", AK4_INVALID_DATE,
                         f"is {value[:40]!r}, not a date; expected {'CCYYMMDD' if d.max_len == 8 else 'YYMMDD'}.")
                return
            length = len(value)
            if d.min_len <= length <= d.max_len and not _valid_date(value):
                self.bad(seg, d, value, position, loop_id, comp, ak3, "X12_INVALID_DATE", AK4_INVALID_DATE,
                         f"is {value!r}, which is not a real calendar date. Correct the date.")
                return
        elif t == T_TM:
            length = len(value)
            if d.min_len <= length <= d.max_len and not _valid_time(value):
                self.bad(seg, d, value, position, loop_id, comp, ak3, "X12_INVALID_TIME", AK4_INVALID_TIME,
                         f"is {value[:40]!r}, not a valid time; expected HHMM, HHMMSS or HHMMSSd(d) on a 24-hour "
                         "clock.")
                return
        else:
            length = len(value)
        if length < d.min_len:
            self.bad(seg, d, value, position, loop_id, comp, ak3, "X12_ELEMENT_TOO_SHORT", AK4_TOO_SHORT,
                     f"is {value[:40]!r} ({length} characters); it must be at least {d.min_len}.")
        elif length > d.max_len:
            self.bad(seg, d, value, position, loop_id, comp, ak3, "X12_ELEMENT_TOO_LONG", AK4_TOO_LONG,
                     f"is {length} characters ({value[:40]!r}...); at most {d.max_len} are allowed. Shorten it.")

    def bad(self, seg: Segment, d: ElementDef, value: str, position: int, loop_id: str,
            comp: tuple[ElementDef, int] | None, ak3: str, code: str, ak4: str, text: str) -> None:
        if comp is None:
            self.element_issue(code, ak4, seg, position, loop_id, d, None, value, ak3,
                               f"{_label(seg.tag, d)} {text}")
        else:
            outer, p = comp
            label = f"{seg.tag}{outer.position:02d}-{p:02d} ({d.name}, element {d.ref}, in {outer.ref})"
            self.element_issue(code, ak4, seg, position, loop_id, d, p, value, ak3, f"{label} {text}", outer)

    def element_issue(self, code: str, ak4: str, seg: Segment, position: int, loop_id: str, d: ElementDef,
                      component: int | None, value: str, ak3: str, message: str,
                      outer: ElementDef | None = None) -> None:
        element_position = outer.position if outer is not None else d.position
        self.add(error(code, message, seg.location(element_position, component),
                       X12Ref(seg.tag, position, loop_id, element_position, component, element_ref=d.ref,
                              ak3_code=ak3, ak4_code=ak4, value=value[:99])))

    # ------------------------------------------------------------------ syntax rules
    def rules(self, seg: Segment, rules: tuple[SyntaxRule, ...], defs: tuple[ElementDef, ...], els: list[str],
              n: int, position: int, loop_id: str, ak3: str, outer: ElementDef | None) -> None:
        def present(p: int) -> bool:
            return p <= n and _present(els[p])

        def name(p: int) -> str:
            if outer is None:
                return f"{seg.tag}{p:02d}"
            return f"{seg.tag}{outer.position:02d}-{p:02d}"

        def report(code: str, ak4: str, p: int, text: str) -> None:
            d = defs[p - 1]
            value = els[p] if p <= n else ""
            if outer is None:
                self.element_issue(code, ak4, seg, position, loop_id, d, None, value, ak3,
                                   f"{text} ({d.name}, element {d.ref}).")
            else:
                self.element_issue(code, ak4, seg, position, loop_id, d, p, value, ak3,
                                   f"{text} ({d.name}, element {d.ref}, in {outer.ref}).", outer)

        for rule in rules:
            ps = rule.positions
            kind = rule.kind
            if kind == "P":
                have = [p for p in ps if present(p)]
                if have and len(have) != len(ps):
                    miss = [p for p in ps if not present(p)]
                    report("X12_SYNTAX_PAIRED", AK4_CONDITIONAL_MISSING, miss[0],
                           f"{' and '.join(name(p) for p in ps)} must be used together (rule {rule.text}): "
                           f"{name(have[0])} is given but {name(miss[0])} is missing")
            elif kind == "R":
                if not any(present(p) for p in ps):
                    report("X12_SYNTAX_REQUIRED", AK4_CONDITIONAL_MISSING, ps[0],
                           f"At least one of {', '.join(name(p) for p in ps)} is required (rule {rule.text}); "
                           f"all are empty — {name(ps[0])} is missing")
            elif kind == "C":
                if present(ps[0]):
                    for p in ps[1:]:
                        if not present(p):
                            report("X12_SYNTAX_CONDITIONAL", AK4_CONDITIONAL_MISSING, p,
                                   f"{name(ps[0])} is given, so {name(p)} is required (rule {rule.text}) but it "
                                   "is missing")
            elif kind == "E":
                have = [p for p in ps if present(p)]
                if len(have) > 1:
                    report("X12_SYNTAX_EXCLUSION", AK4_EXCLUSION, have[1],
                           f"Only one of {', '.join(name(p) for p in ps)} may be used (rule {rule.text}), but "
                           f"{' and '.join(name(p) for p in have)} are all given; remove {name(have[1])}")
            elif kind == "L" and present(ps[0]) and not any(present(p) for p in ps[1:]):
                report("X12_SYNTAX_LIST_CONDITIONAL", AK4_CONDITIONAL_MISSING, ps[1],
                       f"{name(ps[0])} is given, so at least one of {', '.join(name(p) for p in ps[1:])} is "
                       f"required (rule {rule.text}); {name(ps[1])} is missing")


def validate_set(ts: TransactionSet, guide: Guide) -> list[Issue]:
    """Check one transaction set (ST..SE) against its guide; never raises on bad input."""
    if not ts.segments:
        return []
    return _Validator(ts, guide).run()
