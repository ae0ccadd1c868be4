"""PDF purchase orders and invoices: embedded XML first, then the text layer, then OCR."""
