"""Staff accounts, the audit log and site settings: who may manage them, and their audit entries.

The key slot work is the site vault's (:class:`haven.site.site.UnlockedSite`): it holds the slot lock
around the database transaction that stores the account and its audit entry, so the vault writes
the entry (the action named here) in that transaction.
"""

from __future__ import annotations

from typing import Any

from haven.app.actions import Action
from haven.app.usecase import Area, use_case
from haven.hub.pull import remember
from haven.site.audit import Head
from haven.site.roles import Permission, Role
from haven.site.staff import StaffMember, check_name


class StaffUseCases(Area):
    @use_case(Permission.STAFF_MANAGE, Action.STAFF_ADD)
    def add(self, name: str, roles: Role, passphrase: str, duress: str | None = None) -> StaffMember:
        """A new account with its passphrase (and, if given, its duress passphrase)."""
        return self.site.add_staff(name, roles, passphrase, duress)

    @use_case(Permission.STAFF_MANAGE, Action.STAFF_REMOVE)
    def remove(self, name: str) -> None:
        """Overwrite the account's slots (its passphrases stop working at once) and forget its name."""
        self.site.remove_staff(name)

    @use_case(Permission.STAFF_MANAGE, None)
    def list(self) -> list[StaffMember]:
        """The active accounts (names and roles live only inside the encrypted database)."""
        return self.site.staff_table().active()

    @use_case(None, Action.STAFF_PASSWD)
    def change_passphrase(
        self, new: str, *, name: str | None = None, duress: str | None = None, clear_duress: bool = False
    ) -> StaffMember:
        """Your own passphrase (anyone), or another member's (coordinators): see
        :meth:`haven.site.site.UnlockedSite.change_passphrase`."""
        own = name is None or check_name(name) == self.site.staff.name
        self.site.require(Permission.OWN_PASSPHRASE if own else Permission.STAFF_MANAGE)
        return self.site.change_passphrase(new, name=name, duress=duress, clear_duress=clear_duress)


class AuditUseCases(Area):
    @use_case(Permission.AUDIT_VIEW, Action.AUDIT_VIEW)
    def show(self, last: int | None = None) -> list[dict[str, Any]]:
        """The entries (the last ``last``), with staff names where the account still exists."""
        rows = self.site.audit.rows()
        names = self.site.staff_table().names()
        self.viewed(Action.AUDIT_VIEW)
        if last is not None:
            rows = rows[-last:]
        return [
            {
                "seq": e.seq,
                "at": e.at,
                "staff": names.get(e.staff) or "(removed)",
                "action": e.action,
                "count": e.count,
                "hash": digest.hex(),
            }
            for e, digest in rows
        ]

    @use_case(Permission.AUDIT_VIEW, None)
    def verify(self, witnesses: tuple[Head, ...] = ()) -> Head:
        """Recompute the hash chain (it must pass through every ``witnesses`` head); the head."""
        return self.site.audit.verify(witnesses)


class SettingsUseCases(Area):
    @use_case(Permission.SITE_CONFIGURE, Action.SITE_SET)
    def set_erase_after(self, failures: int) -> None:
        """Erase the site after this many wrong passphrases in a row (0: never)."""
        self.site.set_erase_after(failures)

    @use_case(Permission.SITE_CONFIGURE, Action.SITE_SET)
    def set_hub(self, url: str) -> None:
        """Remember the network's hub at ``url`` ('': forget it): visits are then recorded after a pull."""
        remember(self.site, url)
