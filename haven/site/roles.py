"""Staff roles and what each may do: the one matrix the CLI and the web app consult.

A role check is an application rule for what the database holds in the clear
(every staff passphrase unwraps the same site master key), and a cryptographic
boundary for what is wrapped under role keys: the signing and root keys, the staff
records and the audit entries (:mod:`haven.site.rolekeys`). What protects holders
from an informant account is that the database holds nothing to look people up by
(docs/threat-model.md); roles keep honest staff to their job and make the audit
log say who did what.

>>> allowed(Role.REGISTRAR, Permission.VISIT_ADD), allowed(Role.REGISTRAR, Permission.HISTORY_VIEW)
(True, False)
>>> Role.parse(["clinician", "registrar"]).names()
['registrar', 'clinician']
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

from haven.errors import InputError, PermissionDeniedError


class Role(enum.IntFlag):
    REGISTRAR = 1  # cards and visits
    CLINICIAN = 2  # visits, histories, certificates
    COORDINATOR = 4  # staff, reports, trust list, audit, site settings

    @classmethod
    def parse(cls, names: Iterable[str]) -> Role:
        roles = cls(0)
        for name in names:
            try:
                roles |= cls[name.strip().upper()]
            except KeyError:
                raise InputError(f"Unknown role {name!r}; roles are registrar, clinician and coordinator.") from None
        if not roles:
            raise InputError("A staff member needs at least one role.", problem="no-role")
        return roles

    def names(self) -> list[str]:
        return [r.name.lower() for r in Role if r in self and r.name]


ALL_ROLES = Role.REGISTRAR | Role.CLINICIAN | Role.COORDINATOR


class Permission(enum.StrEnum):
    CARD_NEW = "card.new"
    VISIT_ADD = "visit.add"
    VISIT_IMPORT = "visit.import"
    VISIT_CORRECT = "visit.correct"
    HISTORY_VIEW = "history.view"
    SCHEDULE_VIEW = "schedule.view"
    CERTIFICATE_ISSUE = "certificate.issue"
    CERTIFICATE_VERIFY = "certificate.verify"
    CERTIFICATE_IMPORT = "certificate.import"
    TRUST_VIEW = "trust.view"
    REPORT_VIEW = "report.view"
    TRUST_MANAGE = "trust.manage"
    STAFF_MANAGE = "staff.manage"
    AUDIT_VIEW = "audit.view"
    SITE_CONFIGURE = "site.configure"
    SEIZURE_VIEW = "seizure.view"
    OWN_PASSPHRASE = "passphrase.change"
    SYNC = "sync"
    LOT_VIEW = "lot.view"
    LOT_MANAGE = "lot.manage"


MATRIX: dict[Permission, Role] = {
    Permission.CARD_NEW: Role.REGISTRAR | Role.CLINICIAN,
    Permission.VISIT_ADD: Role.REGISTRAR | Role.CLINICIAN,
    Permission.VISIT_IMPORT: Role.REGISTRAR | Role.CLINICIAN,
    Permission.HISTORY_VIEW: Role.CLINICIAN,
    # Correcting an entry means reading it: those who record entries and may read the history.
    Permission.VISIT_CORRECT: Role.CLINICIAN,
    # Whoever records a dose needs to know which one is due; the doses due are not the history.
    Permission.SCHEDULE_VIEW: Role.REGISTRAR | Role.CLINICIAN,
    Permission.CERTIFICATE_ISSUE: Role.CLINICIAN,
    # Verifying reads only the trust list, which the network publishes anyway.
    Permission.CERTIFICATE_VERIFY: ALL_ROLES,
    Permission.CERTIFICATE_IMPORT: Role.CLINICIAN,
    Permission.TRUST_VIEW: ALL_ROLES,
    Permission.REPORT_VIEW: Role.COORDINATOR,
    Permission.TRUST_MANAGE: Role.COORDINATOR,
    Permission.STAFF_MANAGE: Role.COORDINATOR,
    Permission.AUDIT_VIEW: Role.COORDINATOR,
    Permission.SITE_CONFIGURE: Role.COORDINATOR,
    # Any passphrase holder can read the raw database with an SQLCipher shell anyway;
    # seizure-view shows them (and everyone) exactly that.
    Permission.SEIZURE_VIEW: ALL_ROLES,
    Permission.OWN_PASSPHRASE: ALL_ROLES,
    # Bundles carry every row of the network and are signed with the site's sync key, which is
    # wrapped under the admin key: a seized clinician's passphrase can neither forge nor read one.
    Permission.SYNC: Role.COORDINATOR,
    # The lot register is site inventory (docs/lots.md): whoever records doses picks from it.
    Permission.LOT_VIEW: ALL_ROLES,
    Permission.LOT_MANAGE: Role.COORDINATOR,
}


def allowed(roles: Role, permission: Permission) -> bool:
    return bool(roles & MATRIX[permission])


def require(roles: Role, permission: Permission) -> None:
    """Raise :class:`PermissionDeniedError` unless one of ``roles`` grants ``permission``."""
    if not allowed(roles, permission):
        needed = " or ".join(Role(r).names()[0] for r in Role if r & MATRIX[permission])
        raise PermissionDeniedError(
            f"Only a {needed} may do this ({permission.value}).",
            permission=permission.value,
        )
