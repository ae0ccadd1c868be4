"""The canonical model: the one shape every channel's documents take (DESIGN.md, "Canonical document").

Defined once here; the store, validation, matching, ERP adapters and the CLI all use it. Money and
quantities are Decimal and serialise as strings; dates as YYYY-MM-DD.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

DocumentKind = Literal["order", "order_response", "ship_notice", "invoice", "receipt"]

# Decimals travel as strings in JSON so no float ever touches money or quantities.
Amount = Annotated[
    Decimal,
    PlainSerializer(lambda v: format(v, "f"), return_type=str, when_used="json"),
    Field(json_schema_extra={"type": "string", "pattern": r"^-?\d+(\.\d+)?$"}),
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Identity(_Model):
    """A partner identity as received: X12 qualifier + ID (ISA05/06, GS02), a cXML domain + identity, ..."""

    qualifier: str = ""
    id: str


class Address(_Model):
    lines: list[str] = Field(default_factory=list)
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None


class Party(_Model):
    role: str
    name: str | None = None
    ids: dict[str, str] = Field(default_factory=dict)
    address: Address | None = None


class Line(_Model):
    line_number: str | None = None
    quantity: Amount | None = None
    uom: str | None = None
    unit_price: Amount | None = None
    description: str | None = None
    item_ids: dict[str, str] = Field(default_factory=dict)
    po_number: str | None = None
    package: str | None = None
    status: str | None = None


class Totals(_Model):
    model_config = ConfigDict(extra="allow")

    amount: Amount | None = None
    tax: Amount | None = None
    freight: Amount | None = None
    line_count: int | None = None
    quantity: Amount | None = None


class Source(_Model):
    format: str
    version: str | None = None
    set: str | None = None
    control_numbers: dict[str, str] = Field(default_factory=dict)
    channel: str | None = None


class Document(_Model):
    kind: DocumentKind
    number: str | None = None
    date: dt.date | None = None
    po_number: str | None = None
    purpose: str | None = None
    currency: str | None = None
    sender: Identity | None = None
    receiver: Identity | None = None
    parties: list[Party] = Field(default_factory=list)
    lines: list[Line] = Field(default_factory=list)
    totals: Totals = Field(default_factory=Totals)
    dates: dict[str, dt.date] = Field(default_factory=dict)
    references: dict[str, str] = Field(default_factory=dict)
    source: Source

    def to_json_dict(self) -> dict[str, Any]:
        """The contract's JSON form (decimals as strings, dates as YYYY-MM-DD)."""
        return self.model_dump(mode="json")

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_json_dict(), indent=indent, sort_keys=False)

    @classmethod
    def from_json_dict(cls, data: dict[str, Any]) -> Document:
        return cls.model_validate(data)

    def party(self, role: str) -> Party | None:
        return next((p for p in self.parties if p.role == role), None)


def json_schema() -> dict[str, Any]:
    """JSON Schema of the canonical document, as `edigw schema` prints it."""
    schema = Document.model_json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "edigw canonical document"
    return schema
