"""Format detection from content, never from a file name."""

from __future__ import annotations

import re
from typing import Literal

Format = Literal["x12", "cxml", "xml", "pdf", "eml", "unknown"]

_EMAIL_HEADER = re.compile(rb"^(?:Received|Return-Path|From|To|Subject|Date|Message-ID|MIME-Version|"
                           rb"Content-Type|Delivered-To|X-[\w-]+):", re.IGNORECASE)


def detect_format(head: bytes) -> Format:
    """Guess the format from the first bytes (a few KiB are enough)."""
    data = head[:8192]
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    stripped = data.lstrip(b" \t\r\n")
    if stripped.startswith(b"ISA") and len(stripped) > 3 and not stripped[3:4].isalnum():
        return "x12"
    if stripped.startswith(b"%PDF-"):
        return "pdf"
    if stripped.startswith(b"<"):
        return "cxml" if b"<cXML" in data or b"cXML.dtd" in data else "xml"
    if _EMAIL_HEADER.match(stripped):
        return "eml"
    # X12 preceded by garbage is still X12 as far as the reader is concerned: it reports the garbage.
    if b"ISA" in data and b"GS" in data:
        return "x12"
    return "unknown"
