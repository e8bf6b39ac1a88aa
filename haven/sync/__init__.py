"""Sync between sites: membership roster, bundles, set reconciliation (docs/sync.md)."""
