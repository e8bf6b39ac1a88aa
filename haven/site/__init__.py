"""A site: one installation in one folder (its database and, later, its key slots)."""
