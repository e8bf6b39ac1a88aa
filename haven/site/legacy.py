"""Sites made before keys by role: converted once, by the first coordinator who opens them.

Such a site kept its staff names and audit entries in the clear (tables ``staff_v3``
and ``audit_v3`` since schema 4) and its root and signing keys unwrapped, and its key
slots carry no member key. The first coordinator to unlock it converts it in one
transaction: new role keys, every account sealed under the admin key, every audit
entry sealed again into a new chain (so heads witnessed before no longer match), the
private keys wrapped, the old tables dropped (``secure_delete`` zeroes their pages).
That coordinator's slot is then rewritten with their member key. Other accounts keep
working only once a coordinator sets them a new passphrase (``haven staff passwd
--name``), which writes their record and a new slot. Keys that lay in the clear must be
treated as exposed (docs/site-security.md, "Sites made before sealed keys").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from haven.errors import SiteError
from haven.site.audit import GENESIS, HEAD_SETTING, AuditEntry, Head, chain
from haven.site.rolekeys import AUDIT_PUBLIC, MemberRecord, RoleKeys, install, issuing_key, member_setting, wrap
from haven.site.roles import Role
from haven.site.staff import StaffMember, seal_member
from haven.store.sqlite import SQLiteStore

ROOT_KEY = "certs/root-key"
SIGNING_KEYS = "certs/signing-keys"


def is_legacy(store: SQLiteStore) -> bool:
    return bool(store.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'staff_v3'"))


def refuse(store: SQLiteStore, roles: Role) -> None:
    """The one line for a slot without a member key that cannot convert the site now."""
    if is_legacy(store):
        raise SiteError(
            "This site was made by an older Haven: a coordinator must open it first, to seal its keys and staff list."
        )
    raise SiteError(
        "Your passphrase was set by an older Haven: ask a coordinator to set you a new one "
        "(haven staff passwd --name YOUR-NAME)."
    )


def _put(conn: Any, name: str, value: bytes) -> None:
    conn.execute(
        "INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        (name, value),
    )


def convert(
    store: SQLiteStore, staff_id: bytes, random_bytes: Callable[[int], bytes]
) -> tuple[StaffMember, bytes, RoleKeys]:
    """Seal the site's accounts and audit entries for the coordinator ``staff_id``; return them, their new
    member key and their role keys. Safe to run again (it starts over) until :func:`finish` has run: the
    caller writes the coordinator's slot in between."""
    keys = RoleKeys.generate(random_bytes)
    admin = keys.require_admin()
    me: StaffMember | None = None
    member_key = random_bytes(32)
    with store.transaction() as conn:
        for sql in ("DELETE FROM staff", "DELETE FROM audit", "DELETE FROM settings WHERE name LIKE 'keys/%'"):
            conn.execute(sql)
        install(lambda name, value: _put(conn, name, value), keys, random_bytes)
        accounts = conn.execute("SELECT id, name, roles, slot_a, slot_b, added, removed FROM staff_v3").fetchall()
        for sid, name, roles, a, b, added, removed in accounts:
            sid = bytes(sid)
            if removed is not None:
                conn.execute("INSERT INTO staff (id, sealed, removed) VALUES (?, NULL, ?)", (sid, removed))
                continue
            member = StaffMember(sid, str(name), Role(int(roles)), (int(a), int(b)), str(added))
            sealed_member = seal_member(member, admin, random_bytes)
            conn.execute("INSERT INTO staff (id, sealed) VALUES (?, ?)", (sid, sealed_member))
            if sid == staff_id:
                me = member
        if me is None:
            raise SiteError("This older site has no account for this passphrase.")
        record = MemberRecord(me.name, me.slots, me.added, keys.for_roles(me.roles))
        _put(conn, member_setting(me.id), record.seal(member_key, me.id, random_bytes))
        public = bytes(conn.execute("SELECT value FROM settings WHERE name = ?", (AUDIT_PUBLIC,)).fetchone()[0])
        previous, seq = GENESIS, 0
        entries = conn.execute("SELECT seq, at, staff, action, count FROM audit_v3 ORDER BY seq").fetchall()
        for seq, at, sid, action, count in entries:
            sealed = AuditEntry(int(seq), str(at), bytes(sid), str(action), int(count)).seal(public)
            previous = chain(previous, int(seq), sealed)
            conn.execute("INSERT INTO audit (seq, sealed, hash) VALUES (?, ?, ?)", (seq, sealed, previous))
        conn.execute("DELETE FROM settings WHERE name = ?", (HEAD_SETTING,))
        if seq:
            _put(conn, HEAD_SETTING, Head(int(seq), previous).pack())
    return me, member_key, keys.for_roles(me.roles)


def finish(store: SQLiteStore, keys: RoleKeys, random_bytes: Callable[[int], bytes]) -> None:
    """Once the converting coordinator's slot holds their member key: wrap the private keys and drop the
    old tables, in one transaction (also run at that coordinator's next unlock if a crash came between)."""
    admin = keys.require_admin()
    with store.transaction() as conn:
        issuing = issuing_key(keys, lambda name: _get(conn, name))
        assert issuing is not None
        for name, key in ((ROOT_KEY, admin), (SIGNING_KEYS, issuing)):
            value = _get(conn, name)
            if value:
                _put(conn, name, wrap(key, name, value, random_bytes))
        conn.execute("DROP TABLE staff_v3")
        conn.execute("DROP TABLE audit_v3")


def _get(conn: Any, name: str) -> bytes | None:
    row = conn.execute("SELECT value FROM settings WHERE name = ?", (name,)).fetchone()
    return None if row is None else bytes(row[0])
