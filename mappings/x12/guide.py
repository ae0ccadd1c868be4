"""X12 implementation guides as data: the structure, segments, elements, codes and syntax rules of a set.

Guides live as JSON under `guides/<version>/`: a `dictionary.json` per version (elements, composites,
segments; a version may name a `base` version and list only what changed) and one `<set>.json` per
transaction set (the ordered table of segments and loops). A flavour such as 004010VICS is a set file
with a `base` version and an `overlay` that narrows the base guide, so no guide is ever copied. New
sets (855, 856, 810) are added as data files alone.

Loading compiles everything into plain tuples and dicts once (`load_guide` is cached), so the
validator does no parsing or dictionary merging per segment.

Compact notation used in the data:
- an element use inside a segment or composite is `"<ref> <usage>"`, e.g. `"353 M"` or `"C040 O"`;
- usage is M (mandatory), O (optional) or X (relational: governed by a syntax rule);
- a syntax rule is X12 notation: a letter P/R/C/E/L and two-digit element positions, e.g. `"P0304"`;
- a structure entry is `[segment_id, usage, max_use]` (max_use null = unbounded) or a loop object
  `{"loop": id, "usage", "repeat", "body": [...]}` whose first entry is the loop's trigger segment.
"""

from __future__ import annotations

import copy
import functools
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from parsers.issues import Issue, warning

GUIDES_DIR = Path(__file__).parent / "guides"

# Element data types, as small ints so the validator branches cheaply.
T_AN, T_ID, T_N, T_R, T_DT, T_TM, T_B, T_COMPOSITE = range(8)
_TYPES = {"AN": T_AN, "ID": T_ID, "R": T_R, "DT": T_DT, "TM": T_TM, "B": T_B, "COMPOSITE": T_COMPOSITE}


def type_code(typ: str) -> int:
    """The validator's small-int code for an X12 data type (N0..N9 are all T_N)."""
    if typ.startswith("N"):
        return T_N
    return _TYPES.get(typ, T_AN)


@dataclass(frozen=True, slots=True)
class SyntaxRule:
    """One X12 syntax note: `kind` P/R/C/E/L over 1-based element (or component) positions."""

    kind: str
    positions: tuple[int, ...]
    lowest: int = 0  # the smallest position, so a check can skip rules wholly past a segment's end

    def __post_init__(self) -> None:
        object.__setattr__(self, "lowest", min(self.positions) if self.positions else 0)

    @property
    def text(self) -> str:
        return self.kind + "".join(f"{p:02d}" for p in self.positions)

    @classmethod
    def parse(cls, text: str) -> SyntaxRule:
        kind, digits = text[0], text[1:]
        if kind not in "PRCEL" or len(digits) < 4 or len(digits) % 2:
            raise ValueError(f"bad syntax rule {text!r}")
        return cls(kind, tuple(int(digits[i : i + 2]) for i in range(0, len(digits), 2)))


@dataclass(frozen=True, slots=True)
class ElementDef:
    """An element as used at one position of a segment (or composite): its dictionary facts and usage.

    `codes` is the enforced code set (None = not enforced); `code_list` keeps the order for messages.
    `composite` holds the component definitions when the element is a composite (e.g. C040).
    """

    position: int
    ref: str
    name: str
    usage: str
    type: str
    min_len: int
    max_len: int
    codes: frozenset[str] | None = None
    code_list: tuple[str, ...] = ()
    decimals: int = 0
    composite: CompositeDef | None = None
    tcode: int = T_AN  # type_code(type), stored so the validator does not recompute it per value
    common: tuple[str, ...] = ()  # the codes most used, named first in messages about a long list


@dataclass(frozen=True, slots=True)
class CompositeDef:
    ref: str
    name: str
    components: tuple[ElementDef, ...]
    rules: tuple[SyntaxRule, ...] = ()


@dataclass(frozen=True, slots=True)
class SegmentDef:
    """A segment's element list and syntax rules; `partial` = elements past the list are not checked."""

    id: str
    name: str
    elements: tuple[ElementDef, ...] | None
    rules: tuple[SyntaxRule, ...] = ()
    partial: bool = False
    mandatory: tuple[int, ...] = field(init=False, default=())  # positions of M elements, for the validator

    def __post_init__(self) -> None:
        object.__setattr__(self, "mandatory", tuple(e.position for e in self.elements or () if e.usage == "M"))


@dataclass(frozen=True, slots=True)
class SegmentUse:
    """A segment at one place of the structure: how often, and whether it must be there."""

    segment: SegmentDef
    usage: str
    max_use: int | None

    @property
    def id(self) -> str:
        return self.segment.id


@dataclass(frozen=True, slots=True)
class LoopDef:
    """A loop: its ID (the trigger segment's ID by X12 convention), usage, repeat and body."""

    id: str
    usage: str
    repeat: int | None
    children: tuple[SegmentUse | LoopDef, ...]

    @property
    def trigger(self) -> str:
        first = self.children[0]
        return first.id


@dataclass(eq=False)
class Node:
    """Compiled lookup table for one loop level (or the whole set): where each segment ID can go."""

    loop: LoopDef
    path: str
    children: tuple[SegmentUse | LoopDef, ...]
    # segment ID -> child indexes where it is a segment here, or the trigger of a child loop
    index: dict[str, tuple[int, ...]]
    child_nodes: dict[int, Node]
    mandatory: tuple[int, ...]


@dataclass(eq=False)
class Guide:
    """One transaction set guide for one version (or flavour), compiled for validation."""

    set_id: str
    version: str
    name: str
    root: LoopDef
    dictionary: dict[str, SegmentDef]
    known_ids: frozenset[str]
    source: str = ""
    compiled: Node = field(init=False, repr=False)
    set_segment_ids: frozenset[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.compiled = _compile(self.root, "")
        ids: set[str] = set()
        _collect_ids(self.root, ids)
        self.set_segment_ids = frozenset(ids)

    def segment_def(self, segment_id: str) -> SegmentDef | None:
        return self.dictionary.get(segment_id)

    def with_overlay(self, overlay: dict[str, Any]) -> Guide:
        """A copy of this guide narrowed by a partner (or flavour) overlay.

        Overlay keys:
        - `"segments"`: `{key: {"usage", "max", "elements": {pos: {"usage", "codes", "min", "max"}}}}`.
          `key` is a segment ID (elements narrowed everywhere the segment is used; usage/max applied to
          its positions outside any loop) or a loop path plus segment, e.g. `"PO1/REF"` or `"N1/N3"`
          (only the positions inside that loop path).
        - `"loops"`: `{loop path: {"usage", "repeat"}}`, e.g. `{"CTT": {"usage": "M"}}`.
        Narrowing only: usage O may become M or X, code lists are intersected with the base list (an
        open list becomes the given one), max use and repeat may only go down.
        """
        seg_over: dict[str, dict[str, Any]] = overlay.get("segments", {}) or {}
        loop_over: dict[str, dict[str, Any]] = overlay.get("loops", {}) or {}
        dictionary = dict(self.dictionary)
        for key, spec in seg_over.items():
            if "/" not in key and spec.get("elements") and key in dictionary:
                dictionary[key] = _narrow_segment(dictionary[key], spec["elements"])
        root = _overlay_loop(self.root, "", seg_over, loop_over, dictionary)
        return Guide(self.set_id, self.version, self.name, root, dictionary, self.known_ids,
                     source=self.source + "+overlay")


# ----------------------------------------------------------------------------------------------------
# overlay helpers


def _narrow_usage(base: str, new: str | None, what: str = "") -> str:
    if not new or new == base:
        return base
    if base == "M" and new != "M":
        raise ValueError(f"overlay cannot relax {what + ' ' if what else ''}usage M to {new}")
    return new


def _narrow_max(base: int | None, new: int | None) -> int | None:
    if new is None:
        return base
    return new if base is None else min(base, new)


def _narrow_element(el: ElementDef, spec: dict[str, Any]) -> ElementDef:
    codes = el.codes
    code_list = el.code_list
    if "codes" in spec:
        wanted = [str(c) for c in spec["codes"]]
        if codes is not None:
            wanted = [c for c in wanted if c in codes]
        codes = frozenset(wanted)
        code_list = tuple(wanted)
    common = tuple(c for c in el.common if codes is None or c in codes)
    return replace(el, common=common, usage=_narrow_usage(el.usage, spec.get("usage"), f"element {el.ref}"),
                   codes=codes,
                   code_list=code_list,
                   min_len=max(el.min_len, int(spec.get("min", el.min_len))),
                   max_len=min(el.max_len, int(spec.get("max", el.max_len))))


def _narrow_segment(seg: SegmentDef, elements: dict[str, Any]) -> SegmentDef:
    if seg.elements is None:
        return seg
    new = list(seg.elements)
    for pos_text, spec in elements.items():
        pos = int(pos_text)
        if not 1 <= pos <= len(new):
            raise ValueError(f"overlay names {seg.id}{pos:02d}, which the segment does not have")
        new[pos - 1] = _narrow_element(new[pos - 1], spec)
    return replace(seg, elements=tuple(new))


def _overlay_loop(loop: LoopDef, path: str, seg_over: dict[str, dict[str, Any]],
                  loop_over: dict[str, dict[str, Any]], dictionary: dict[str, SegmentDef]) -> LoopDef:
    children: list[SegmentUse | LoopDef] = []
    for child in loop.children:
        if isinstance(child, LoopDef):
            child_path = f"{path}/{child.id}" if path else child.id
            sub = _overlay_loop(child, child_path, seg_over, loop_over, dictionary)
            spec = loop_over.get(child_path)
            if spec:
                sub = replace(sub, usage=_narrow_usage(sub.usage, spec.get("usage"), f"loop {child_path}"),
                              repeat=_narrow_max(sub.repeat, spec.get("repeat")))
            children.append(sub)
            continue
        seg = dictionary.get(child.id, child.segment)
        use = replace(child, segment=seg)
        key = f"{path}/{child.id}" if path else child.id
        spec = seg_over.get(key)
        if spec:
            if path and spec.get("elements"):
                use = replace(use, segment=_narrow_segment(use.segment, spec["elements"]))
            use = replace(use, usage=_narrow_usage(use.usage, spec.get("usage"), f"segment {key}"),
                          max_use=_narrow_max(use.max_use, spec.get("max")))
        children.append(use)
    return replace(loop, children=tuple(children))


# ----------------------------------------------------------------------------------------------------
# compiling


def _collect_ids(loop: LoopDef, out: set[str]) -> None:
    for child in loop.children:
        if isinstance(child, LoopDef):
            _collect_ids(child, out)
        else:
            out.add(child.id)


def _compile(loop: LoopDef, path: str) -> Node:
    index: dict[str, list[int]] = {}
    child_nodes: dict[int, Node] = {}
    mandatory: list[int] = []
    for i, child in enumerate(loop.children):
        if isinstance(child, LoopDef):
            index.setdefault(child.trigger, []).append(i)
            child_nodes[i] = _compile(child, f"{path}/{child.id}" if path else child.id)
        else:
            index.setdefault(child.id, []).append(i)
        if child.usage == "M" and not (path and i == 0):
            mandatory.append(i)
    return Node(loop, path, loop.children, {k: tuple(v) for k, v in index.items()}, child_nodes,
                tuple(mandatory))


# ----------------------------------------------------------------------------------------------------
# loading


def _read_json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@functools.cache
def _raw_dictionary(version: str) -> dict[str, Any]:
    """A version's dictionary with its base versions merged in (later versions override)."""
    data = _read_json(GUIDES_DIR / version / "dictionary.json")
    # Sets added later bring their own segments in dictionary-<set>.json beside the shared dictionary;
    # a segment, element or composite defined twice must be defined identically.
    for extra in sorted((GUIDES_DIR / version).glob("dictionary-*.json")):
        more = _read_json(extra)
        for key in ("elements", "composites", "segments"):
            target = data.setdefault(key, {})
            for name, definition in more.get(key, {}).items():
                if name in target and target[name] != definition:
                    raise ValueError(f"{extra.name}: {key[:-1]} {name} is already defined differently in the "
                                     f"{version} dictionary")
                target[name] = definition
        data["other_segment_ids"] = sorted(set(data.get("other_segment_ids", []))
                                           | set(more.get("other_segment_ids", [])))
    base = data.get("base")
    if not base:
        return data
    merged = copy.deepcopy(_raw_dictionary(base))
    for key in ("elements", "composites", "segments"):
        merged.setdefault(key, {}).update(data.get(key, {}))
    merged["other_segment_ids"] = sorted(set(merged.get("other_segment_ids", []))
                                         | set(data.get("other_segment_ids", [])))
    merged["version"] = version
    return merged


def _element_def(use: str, position: int, raw: dict[str, Any], where: str) -> ElementDef:
    ref, usage = use.split()
    if usage not in ("M", "O", "X"):
        raise ValueError(f"{where}: bad usage {usage!r}")
    composites = raw.get("composites", {})
    if ref in composites:
        comp = composites[ref]
        parts = tuple(_element_def(c, i, raw, f"{where}/{ref}") for i, c in enumerate(comp["components"], 1))
        cdef = CompositeDef(ref, comp["name"], parts, tuple(SyntaxRule.parse(r) for r in comp.get("rules", ())))
        return ElementDef(position, ref, comp["name"], usage, "COMPOSITE", 0, 0, composite=cdef, tcode=T_COMPOSITE)
    try:
        e = raw["elements"][ref]
    except KeyError:
        raise ValueError(f"{where}: element {ref} is not in the {raw.get('version')} dictionary") from None
    codes: frozenset[str] | None = None
    code_list: tuple[str, ...] = tuple(e.get("codes", ()))
    if code_list and not e.get("open"):
        codes = frozenset(code_list)
    typ = e["type"]
    decimals = int(typ[1:]) if typ.startswith("N") and typ[1:].isdigit() else 0
    return ElementDef(position, ref, e["name"], usage, typ, int(e["min"]), int(e["max"]), codes, code_list,
                      decimals, tcode=type_code(typ), common=tuple(e.get("common", ())))


@functools.cache
def _dictionary(version: str) -> tuple[dict[str, SegmentDef], frozenset[str]]:
    raw = _raw_dictionary(version)
    segments: dict[str, SegmentDef] = {}
    for seg_id, s in raw.get("segments", {}).items():
        elements = tuple(_element_def(u, i, raw, seg_id) for i, u in enumerate(s["elements"], 1))
        rules = tuple(SyntaxRule.parse(r) for r in s.get("rules", ()))
        for rule in rules:
            if max(rule.positions) > len(elements):
                raise ValueError(f"{seg_id}: rule {rule.text} names an element the segment does not have")
        segments[seg_id] = SegmentDef(seg_id, s["name"], elements, rules, bool(s.get("partial")))
    known = frozenset(segments) | frozenset(raw.get("other_segment_ids", ()))
    return segments, known


def _build_loop(loop_id: str, usage: str, repeat: int | None, body: list[Any],
                dictionary: dict[str, SegmentDef]) -> LoopDef:
    children: list[SegmentUse | LoopDef] = []
    for entry in body:
        if isinstance(entry, dict):
            children.append(_build_loop(entry["loop"], entry["usage"], entry.get("repeat"), entry["body"], dictionary))
        else:
            seg_id, seg_usage, max_use = entry
            seg = dictionary.get(seg_id) or SegmentDef(seg_id, seg_id, None)
            children.append(SegmentUse(seg, seg_usage, max_use))
    if not children:
        raise ValueError(f"loop {loop_id} is empty")
    return LoopDef(loop_id, usage, repeat, tuple(children))


def _set_file(version: str, set_id: str) -> Path:
    return GUIDES_DIR / version / f"{set_id}.json"


@functools.cache
def build_guide(set_id: str, version: str) -> Guide:
    """Load the guide file for exactly this set and version (raises if absent)."""
    data = _read_json(_set_file(version, set_id))
    if "overlay" in data:
        base = build_guide(set_id, data["base"])
        g = base.with_overlay(data["overlay"])
        g.version = version
        g.source = f"{version}/{set_id}.json (overlay on {data['base']})"
        return g
    dictionary, known = _dictionary(version)
    root = _build_loop("", "M", 1, data["structure"], dictionary)
    return Guide(set_id, version, data.get("name", set_id), root, dictionary, known,
                 source=f"{version}/{set_id}.json")


def available_versions(set_id: str) -> list[str]:
    """The versions (and flavours) with a guide for this set."""
    if not GUIDES_DIR.is_dir():
        return []
    return sorted(p.name for p in GUIDES_DIR.iterdir() if (p / f"{set_id}.json").is_file())


def _numeric_version(version: str) -> int | None:
    digits = version[:6]
    if len(version) == 5 and version.isdigit():  # ISA12 form, e.g. 00401
        digits = version + "0"
    return int(digits) if len(digits) == 6 and digits.isdigit() else None


def resolve_version(set_id: str, version: str) -> tuple[str | None, str]:
    """Pick the guide version for a GS08/ST03 value; returns (version, reason it is not exact or '')."""
    known = available_versions(set_id)
    if not known:
        return None, ""
    v = version.strip().upper()
    if v in known:
        return v, ""
    if len(v) == 5 and v.isdigit() and v + "0" in known:
        return v + "0", ""
    bases = [k for k in known if k.isdigit()]
    if v[:6] in bases:
        return v[:6], f"no guide for {version!r}; validated against the {v[:6]} standard"
    number = _numeric_version(v)
    if number is None or not bases:
        pick = bases[0] if bases else known[0]
        return pick, f"version {version!r} is not an X12 version; validated against {pick}"
    pick = min(bases, key=lambda b: (abs(int(b) - number), int(b)))
    return pick, f"no guide for version {version!r}; validated against the nearest known version {pick}"


@functools.cache
def _load_cached(set_id: str, version: str) -> tuple[Guide | None, tuple[Issue, ...]]:
    picked, reason = resolve_version(set_id, version)
    if picked is None:
        return None, (warning("X12_GUIDE_UNKNOWN_SET",
                              f"There is no implementation guide for transaction set {set_id!r}; its segments "
                              "were not checked against a guide."),)
    issues: tuple[Issue, ...] = ()
    if reason:
        issues = (warning("X12_GUIDE_FALLBACK", f"Transaction set {set_id}: {reason}."),)
    guide = build_guide(set_id, picked)
    number = _numeric_version(version.strip())
    if number is not None and number < 4000 and picked.isdigit() and int(picked) >= 4000:
        guide = _with_six_digit_dates(guide)
    return guide, issues


def _with_six_digit_dates(guide: Guide) -> Guide:
    """Versions before 004010 write dates as YYMMDD: checked against a newer guide, DT accepts 6 digits."""
    def widen(el: ElementDef) -> ElementDef:
        if el.composite is not None:
            parts = tuple(widen(c) for c in el.composite.components)
            return replace(el, composite=replace(el.composite, components=parts))
        return replace(el, min_len=6) if el.tcode == T_DT and el.min_len == 8 else el

    dictionary = {
        seg_id: replace(seg, elements=tuple(widen(e) for e in seg.elements)) if seg.elements else seg
        for seg_id, seg in guide.dictionary.items()
    }
    root = _overlay_loop(guide.root, "", {}, {}, dictionary)
    return Guide(guide.set_id, guide.version, guide.name, root, dictionary, guide.known_ids,
                 source=guide.source + "+YYMMDD")


def load_guide(set_id: str, version: str) -> tuple[Guide | None, list[Issue]]:
    """The guide for ST01 `set_id` under a GS08/ST03 `version` (cached), and why it is not exact.

    Unknown versions fall back to the nearest known version of the same set with a warning; an
    unknown set gives None (and a warning saying so).
    """
    guide, issues = _load_cached(set_id.strip(), version)
    return guide, list(issues)
