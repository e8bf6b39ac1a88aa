"""The web app: clinic pages for staff and a public, offline verifier (docs/web.md).

``create_app(settings, site)`` assembles everything explicitly; nothing is
created at import time.
"""

from haven.web.app import create_app
from haven.web.auth import MemoryStaffDirectory, Role, Staff, StaffDirectory
from haven.web.settings import Limit, WebSettings
from haven.web.site import CertificateIssuer, Site

__all__ = [
    "CertificateIssuer",
    "Limit",
    "MemoryStaffDirectory",
    "Role",
    "Site",
    "Staff",
    "StaffDirectory",
    "WebSettings",
    "create_app",
]
