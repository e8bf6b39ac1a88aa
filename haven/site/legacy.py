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

from haven.errors import SiteError
from haven.site.audit import GENESIS, AuditEntry, Head, chain
from haven.site.rolekeys import AUDIT_PUBLIC, MemberRecord, RoleKeys, install, issuing_key, member_setting, wrap
from haven.site.roles import Role
from haven.site.staff import StaffMember, seal_member
from haven.store.base import AuditRow, StaffRow, Store

ROOT_KEY = "certs/root-key"
SIGNING_KEYS = "certs/signing-keys"


def is_legacy(store: Store) -> bool:
    return store.legacy_rows("staff_v3") is not None


def refuse(store: Store, roles: Role) -> None:
    """The one line for a slot without a member key that cannot convert the site now."""
    if is_legacy(store):
        raise SiteError(
            "This site was made by an older Haven: a coordinator must open it first, to seal its keys and staff list."
        )
    raise SiteError(
        "Your passphrase was set by an older Haven: ask a coordinator to set you a new one "
        "(haven staff passwd --name YOUR-NAME)."
    )


def convert(store: Store, staff_id: bytes, random_bytes: Callable[[int], bytes]) -> tuple[StaffMember, bytes, RoleKeys]:
    """Seal the site's accounts and audit entries for the coordinator ``staff_id``; return them, their new
    member key and their role keys. Safe to run again (it starts over) until :func:`finish` has run: the
    caller writes the coordinator's slot in between."""
    keys = RoleKeys.generate(random_bytes)
    admin = keys.require_admin()
    me: StaffMember | None = None
    member_key = random_bytes(32)
    with store.transaction():
        store.clear_staff()
        store.clear_audit()
        for name in store.setting_names("keys/"):
            store.delete_setting(name)
        install(store.put_setting, keys, random_bytes)
        for sid, name, roles, a, b, added, removed in store.legacy_rows("staff_v3") or ():
            sid = bytes(sid)
            if removed is not None:
                store.add_staff(StaffRow(sid, None, str(removed)))
                continue
            member = StaffMember(sid, str(name), Role(int(roles)), (int(a), int(b)), str(added))
            store.add_staff(StaffRow(sid, seal_member(member, admin, random_bytes)))
            if sid == staff_id:
                me = member
        if me is None:
            raise SiteError("This older site has no account for this passphrase.")
        record = MemberRecord(me.name, me.slots, me.added, keys.for_roles(me.roles))
        store.put_setting(member_setting(me.id), record.seal(member_key, me.id, random_bytes))
        public = store.get_setting(AUDIT_PUBLIC)
        assert public is not None  # (install wrote it)
        previous = GENESIS
        for seq, at, sid, action, count, *_ in store.legacy_rows("audit_v3") or ():
            sealed = AuditEntry(int(seq), str(at), bytes(sid), str(action), int(count)).seal(public)
            previous = chain(previous, int(seq), sealed)
            store.append_audit(AuditRow(int(seq), sealed, previous), Head(int(seq), previous).pack())
    return me, member_key, keys.for_roles(me.roles)


def finish(store: Store, keys: RoleKeys, random_bytes: Callable[[int], bytes]) -> None:
    """Once the converting coordinator's slot holds their member key: wrap the private keys and drop the
    old tables, in one transaction (also run at that coordinator's next unlock if a crash came between)."""
    admin = keys.require_admin()
    with store.transaction():
        issuing = issuing_key(keys, store.get_setting)
        assert issuing is not None
        for name, key in ((ROOT_KEY, admin), (SIGNING_KEYS, issuing)):
            value = store.get_setting(name)
            if value:
                store.put_setting(name, wrap(key, name, value, random_bytes))
        store.drop_legacy("staff_v3")
        store.drop_legacy("audit_v3")
