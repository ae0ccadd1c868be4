"""ERP adapters: hand a canonical document to the ERP exactly once, keyed by an idempotency key.

An adapter knows its ERP, not X12. `deliver` must be idempotent for the same key: the pipeline may
call it again after a crash, and the ERP must still see the document once.
"""

from __future__ import annotations

from typing import Any, Protocol

from gateway.config import Config


class ErpAdapter(Protocol):
    name: str

    def deliver(self, document: dict[str, Any], key: str) -> str:
        """Deliver `document`; return a reference to where it went. Same key, same effect."""
        ...


def make_adapter(config: Config) -> ErpAdapter:
    from gateway.erp.filedrop import FileDropAdapter

    return FileDropAdapter(config.erp.path)
