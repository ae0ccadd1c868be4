"""HTTP: the JSON API (ERP submissions, item status) and, later, the exception inbox pages."""
