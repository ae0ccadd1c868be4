"""Channels: how documents arrive and how answers leave. A channel knows transport, not formats."""
