"""X12 implementation guides, validation against them, mappings to canonical documents and acknowledgements."""
