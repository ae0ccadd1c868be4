"""Issues: what a parser, mapping or validator found wrong, said so a person can find and fix it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class X12Ref:
    """Where an issue sits in an X12 transaction set, in the terms a 997/999 reports (AK3/AK4, IK3/IK4).

    `segment_position` counts from ST = 1. `ak3_code` / `ak4_code` are the X12 syntax error codes
    (AK304 / AK403); an issue with neither is not reported in the acknowledgement's detail.
    """

    segment_id: str
    segment_position: int
    loop_id: str = ""
    element_position: int | None = None
    component_position: int | None = None
    repetition_position: int | None = None
    element_ref: str = ""
    ak3_code: str = ""
    ak4_code: str = ""
    value: str = ""


@dataclass(frozen=True, slots=True)
class PdfRef:
    """Where an issue sits on a PDF page (points from the top-left corner) and which field it concerns,
    so the inbox can draw the box over the page image."""

    page: int
    x0: float
    top: float
    x1: float
    bottom: float
    field: str = ""


@dataclass(frozen=True, slots=True)
class Issue:
    """One finding. `location` is the human-readable place (e.g. "segment 7 (PO1) at byte 412, PO102")."""

    severity: Severity
    code: str
    message: str
    location: str = ""
    x12: X12Ref | None = field(default=None, compare=False)
    pdf: PdfRef | None = field(default=None, compare=False)

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def as_dict(self) -> dict[str, Any]:
        """The contract's JSON form: `{severity, code, message, location}`."""
        return {"severity": self.severity, "code": self.code, "message": self.message, "location": self.location}


def error(code: str, message: str, location: str = "", x12: X12Ref | None = None,
          pdf: PdfRef | None = None) -> Issue:
    return Issue("error", code, message, location, x12, pdf)


def warning(code: str, message: str, location: str = "", x12: X12Ref | None = None,
            pdf: PdfRef | None = None) -> Issue:
    return Issue("warning", code, message, location, x12, pdf)


def has_errors(issues: list[Issue]) -> bool:
    return any(i.severity == "error" for i in issues)
