"""File-drop ERP adapter: one JSON file per document, written atomically and named by its key."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from gateway.files import write_atomic


class FileDropAdapter:
    """Writes `<key>.json` into a folder the ERP imports from.

    The file appears complete or not at all (write to a temporary name, fsync, rename), and a second
    delivery with the same key replaces the file with identical content, so the ERP sees one document.
    """

    name = "filedrop"

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def deliver(self, document: dict[str, Any], key: str) -> str:
        if not key or os.sep in key or key.startswith("."):
            raise ValueError(f"unusable idempotency key {key!r}")
        target = self.folder / f"{key}.json"
        payload = json.dumps(document, indent=2, sort_keys=True).encode("utf-8") + b"\n"
        write_atomic(target, payload)
        return str(target)
