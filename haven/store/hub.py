"""The hub's database: the PostgreSQL store (``postgres.py``) with what a hub adds, and nothing that
groups a push.

The hub is a ``PostgresStore`` like any other: ``records(locator, id, sealed)``, the same rows every site
keeps, their ``sync_buckets`` digests kept in the merge's transaction, and ``settings`` (the roster, the
root it is signed by, a flag saying a rewrite is due); its staff, audit and tally tables stay empty. No
row records where it came from or when.

PostgreSQL keeps a table's rows in arrival order and stamps each with the id of the transaction that
inserted it (``ctid``, ``xmin``), so a push's rows would sit together under one id. After pushes the
hub therefore *reshuffles*: in one transaction it copies every row aside, empties the tables and writes
them back in locator order, and the buckets in bucket order (:meth:`HubStore.reshuffle`): afterwards
every row has the same ``xmin`` and its place follows its random locator. Until then the rows of pushes
since the last reshuffle are grouped (the server reshuffles a few seconds after the last push;
docs/sync.md, "Hub").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from haven.core.records import SealedRecord
from haven.store.base import Table
from haven.store.postgres import PostgresStore, translate_errors

ROSTER = "roster"
ROOT = "root"
RESHUFFLE_DUE = "reshuffle-due"

# The tables a seizure of the hub reads, with PostgreSQL's own row place and inserting transaction.
_SEIZED = ("records", "sync_buckets", "settings", "tallies", "staff", "audit", "haven_schema")


class HubStore(PostgresStore):
    """The PostgreSQL store as the hub uses it."""

    def merge(self, records: Iterable[SealedRecord]) -> int:
        """Union with ``records`` in one transaction (see ``PostgresStore.merge``); a reshuffle is marked
        due in the same transaction when any row was new."""
        with self.transaction():
            new = super().merge(records)
            if new:
                self.put_setting(RESHUFFLE_DUE, b"\x01")
        return new

    def put_settings(self, values: Mapping[str, bytes]) -> None:
        """Store settings, all or nothing."""
        with self.transaction():
            for name, value in values.items():
                self.put_setting(name, value)

    def reshuffle_due(self) -> bool:
        return self.get_setting(RESHUFFLE_DUE) is not None

    def reshuffle(self) -> int:
        """Rewrite every row in locator order in one transaction, so that no row's place or ``xmin``
        tells which rows arrived together. Merges wait meanwhile (the write lock), and readers of these
        tables too. Returns the row count."""
        with self._write() as conn:
            conn.execute("LOCK TABLE sync_buckets, records IN ACCESS EXCLUSIVE MODE")
            conn.execute("CREATE TEMPORARY TABLE records_aside ON COMMIT DROP AS SELECT * FROM records")
            conn.execute("CREATE TEMPORARY TABLE buckets_aside ON COMMIT DROP AS SELECT * FROM sync_buckets")
            conn.execute("TRUNCATE records, sync_buckets")
            moved = conn.execute("INSERT INTO records SELECT * FROM records_aside ORDER BY locator, id").rowcount
            conn.execute("INSERT INTO sync_buckets SELECT * FROM buckets_aside ORDER BY bucket")
            conn.execute("DELETE FROM settings WHERE name = %s", (RESHUFFLE_DUE,))
        return int(moved)

    def physical_tables(self) -> list[Table]:
        """Every table and row, raw, in place order, each row with its ``ctid`` and ``xmin`` first."""
        out = []
        with self._using(), translate_errors():
            conn = self._conn()
            for name in _SEIZED:
                cursor = conn.execute(
                    f"SELECT ctid::text AS ctid, xmin::text AS xmin, * FROM {name} ORDER BY {name}.ctid"
                )
                heads = tuple(d.name for d in cursor.description or ())
                out.append(Table(name, heads, [tuple(row) for row in cursor.fetchall()]))
        return out
