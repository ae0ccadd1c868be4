"""X12: streaming tokenizer, envelope reader and writer."""
