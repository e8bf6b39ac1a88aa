"""A holder's history in formats other health systems read (docs/export.md)."""
