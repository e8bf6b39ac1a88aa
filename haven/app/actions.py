"""The audit vocabulary: every action an audit entry can name, in one place.

The values are the strings stored in the log since the first version, so an old log reads the same;
a new use case adds its action here, never a string of its own.
"""

from __future__ import annotations

import enum


class Action(enum.StrEnum):
    SITE_INIT = "site.init"
    SITE_SET = "site.set"
    SEIZURE_VIEW = "seizure.view"
    AUDIT_VIEW = "audit.view"
    STAFF_ADD = "staff.add"
    STAFF_REMOVE = "staff.remove"
    STAFF_PASSWD = "staff.passwd"
    VISIT_ADD = "visit.add"
    VISIT_IMPORT = "visit.import"
    VISIT_CORRECT = "visit.correct"
    VISIT_VOID = "visit.void"
    HISTORY_VIEW = "history.view"
    SCHEDULE_VIEW = "schedule.view"
    HISTORY_EXPORT = "history.export"
    LOT_ADD = "lot.add"
    LOT_RETIRE = "lot.retire"
    COUNTS_FOLD = "counts.fold"
    REPORT_VIEW = "report.view"
    CERTIFICATE_ISSUE = "certificate.issue"
    CERTIFICATE_IMPORT = "certificate.import"
    TRUST_STANDALONE = "trust.standalone"
    TRUST_ROOT = "trust.root"
    TRUST_NEW_KEY = "trust.new-key"
    TRUST_ROTATE = "trust.rotate"
    TRUST_REVOKE = "trust.revoke"
    TRUST_EXPORT = "trust.export"
    TRUST_IMPORT = "trust.import"
    TRUST_JOIN = "trust.join"
    TRUST_EXPORT_KEY = "trust.export-key"
    TRUST_IMPORT_KEY = "trust.import-key"
    TRUST_ADD_ISSUER = "trust.add-issuer"
    # Sync between sites (haven/sync/service.py).
    SYNC_REQUEST = "sync.request"
    SYNC_ROSTER = "sync.roster"
    SYNC_EXPORT = "sync.export"
    SYNC_STATE = "sync.state"
    SYNC_IMPORT = "sync.import"
    SYNC_PULL = "sync.pull"
    SYNC_HUB = "sync.hub"
    NETWORK_ADMIT = "network.admit"
    NETWORK_REMOVE = "network.remove"
    NETWORK_COUNTS_KEY = "network.counts-key"
