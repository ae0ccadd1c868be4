"""Segments and delimiters: the tokens every X12 layer above the tokenizer works with."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Delimiters:
    """The separators of one interchange, as read from its ISA (or chosen for one we write)."""

    element: str = "*"
    component: str = ">"
    segment: str = "~"
    repetition: str | None = None

    @property
    def all(self) -> tuple[str, ...]:
        return tuple(d for d in (self.element, self.component, self.segment, self.repetition) if d)


DEFAULT_DELIMITERS = Delimiters()


class Segment:
    """One segment: `elements[0]` is the tag, `elements[i]` the i-th element in X12 numbering.

    `number` is the segment's 1-based position in the file and `offset` its byte offset, so any
    issue can point a person at the exact place in the raw input.
    """

    __slots__ = ("delimiters", "elements", "number", "offset")

    def __init__(self, elements: list[str], number: int, offset: int, delimiters: Delimiters) -> None:
        self.elements = elements
        self.number = number
        self.offset = offset
        self.delimiters = delimiters

    @property
    def tag(self) -> str:
        return self.elements[0]

    def __len__(self) -> int:
        """Number of data elements (the tag not counted)."""
        return len(self.elements) - 1

    def get(self, index: int) -> str:
        """The element at X12 position `index` (1-based), '' when absent."""
        elements = self.elements
        return elements[index] if index < len(elements) else ""

    def components(self, index: int) -> list[str]:
        return self.get(index).split(self.delimiters.component)

    def component(self, index: int, position: int) -> str:
        parts = self.components(index)
        return parts[position - 1] if position <= len(parts) else ""

    def repetitions(self, index: int) -> list[str]:
        value = self.get(index)
        rep = self.delimiters.repetition
        return value.split(rep) if rep else [value]

    def location(self, element: int | None = None, component: int | None = None) -> str:
        """Human-readable place, e.g. `segment 14 (PO1) at byte 512, PO104`."""
        where = f"segment {self.number} ({self.tag}) at byte {self.offset}"
        if element is not None:
            where += f", {self.tag}{element:02d}"
            if component is not None:
                where += f"-{component}"
        return where

    def text(self, delimiters: Delimiters | None = None) -> str:
        """The segment as X12 text without its terminator."""
        d = delimiters or self.delimiters
        return d.element.join(self.elements)

    def __repr__(self) -> str:
        return f"Segment({self.text()!r}, number={self.number}, offset={self.offset})"
