"""What each audit action is called on the audit page, marked for translation.

Keyed by the one vocabulary (:class:`haven.app.actions.Action`): an action added there without a name
here shows as its stored string (a test keeps this table whole).
"""

from __future__ import annotations

from haven.app.actions import Action
from haven.web.i18n import N_

ACTION_NAMES: dict[Action, str] = {
    Action.SITE_INIT: N_("Site created"),
    Action.SITE_SET: N_("Site setting changed"),
    Action.SEIZURE_VIEW: N_("Seizure view shown"),
    Action.AUDIT_VIEW: N_("Audit log read"),
    Action.STAFF_ADD: N_("Staff member added"),
    Action.STAFF_REMOVE: N_("Staff member removed"),
    Action.STAFF_PASSWD: N_("Passphrase changed"),
    Action.VISIT_ADD: N_("Visit recorded"),
    Action.VISIT_IMPORT: N_("Visits imported"),
    Action.VISIT_CORRECT: N_("Entry corrected"),
    Action.VISIT_VOID: N_("Entry voided"),
    Action.HISTORY_VIEW: N_("History read"),
    Action.SCHEDULE_VIEW: N_("Doses due read"),
    Action.HISTORY_EXPORT: N_("History exported"),
    Action.LOT_ADD: N_("Vaccine lot added"),
    Action.LOT_RETIRE: N_("Vaccine lot retired"),
    Action.COUNTS_FOLD: N_("Counts gathered"),
    Action.REPORT_VIEW: N_("Report read"),
    Action.CERTIFICATE_ISSUE: N_("Certificates issued"),
    Action.CERTIFICATE_IMPORT: N_("Certificate imported"),
    Action.TRUST_STANDALONE: N_("Standalone issuing set up"),
    Action.TRUST_ROOT: N_("Network root created"),
    Action.TRUST_NEW_KEY: N_("Signing key added"),
    Action.TRUST_ROTATE: N_("Signing key rotated"),
    Action.TRUST_REVOKE: N_("Key or certificate revoked"),
    Action.TRUST_EXPORT: N_("Trust list exported"),
    Action.TRUST_IMPORT: N_("Trust list updated"),
    Action.TRUST_JOIN: N_("Network joined"),
    Action.TRUST_EXPORT_KEY: N_("Signing key exported"),
    Action.TRUST_IMPORT_KEY: N_("Signing key imported"),
    Action.TRUST_ADD_ISSUER: N_("Foreign issuer added"),
    Action.SYNC_REQUEST: N_("Sync request made"),
    Action.SYNC_ROSTER: N_("Network roster updated"),
    Action.SYNC_EXPORT: N_("Sync bundle written"),
    Action.SYNC_STATE: N_("Sync state read"),
    Action.SYNC_IMPORT: N_("Sync bundle read in"),
    Action.SYNC_PULL: N_("Pulled from the hub"),
    Action.SYNC_HUB: N_("Synced with the hub"),
    Action.NETWORK_ADMIT: N_("Site admitted to the network"),
    Action.NETWORK_REMOVE: N_("Site removed from the network"),
    Action.NETWORK_COUNTS_KEY: N_("Network counts key made"),
}


def action_name(stored: str) -> str:
    """The msgid naming ``stored`` (an action string from the log), or the string itself if unknown."""
    try:
        return ACTION_NAMES.get(Action(stored), stored)
    except ValueError:
        return stored
