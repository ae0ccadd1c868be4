"""From what a PDF says (parsers.pdf) to canonical documents, with arithmetic and confidence checks."""
