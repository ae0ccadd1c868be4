"""Sending a payload back to a partner on the channel the partner used."""

from __future__ import annotations

from gateway.config import Config
from gateway.files import write_atomic


def send_outbound(config: Config, partner_id: str, channel: str, name: str, payload: bytes) -> str:
    """Deliver `payload` to the partner; returns where it went.

    Folder (and CLI) partners get the file in their outbound folder, written atomically under a stable
    name, so sending the same acknowledgement twice leaves one file.
    """
    target = config.partner_dir(partner_id) / "outbound" / name
    write_atomic(target, payload)
    return str(target)
