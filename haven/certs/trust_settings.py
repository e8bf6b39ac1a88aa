"""A site's trust, rebuilt from its stored settings: Haven's trust list, its pinned root, external issuers.

The settings travel as bytes (to worker processes too) and are read here, so
every process that verifies for a site trusts exactly the same.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from haven.certs.issuers import ExternalIssuer, Issuer, load_signers
from haven.certs.result import Trust
from haven.certs.trust import parse_trust_list

# A site's trust list, the root public key it pinned and its external issuers (settings as stored, None if unset).
TrustSettings = tuple[bytes | None, bytes | None, bytes | None]
NO_TRUST_SETTINGS: TrustSettings = (None, None, None)  # no site: only --issuer-cert files


def trust_from_settings(settings: TrustSettings, extra: Iterable[ExternalIssuer] = ()) -> Trust:
    """What a site with these settings trusts, plus issuers given for one command (``--issuer-cert``)."""
    listed, root, issuers = settings
    doc = json.loads(issuers) if issuers else {"eu-dcc": [], "shc": []}
    out = Trust(
        haven=None if listed is None else parse_trust_list(listed, root),
        eudcc=[s for der in doc["eu-dcc"] for s in load_signers(der.encode())],
        shc={i["iss"]: Issuer.from_json(i) for i in doc["shc"]},
    )
    for issuer in extra:
        out.add(issuer)
    return out
