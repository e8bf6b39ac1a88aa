"""The web app: clinic pages for staff and a public, offline verifier (docs/web.md).

``create_app(settings, site)`` assembles everything explicitly; nothing is
created at import time. ``site`` is a :class:`Site`: a site folder's key slots
(``haven.site``), locked until a staff member signs in.
"""

from haven.app.certificates import CertificateIssuer
from haven.cert_services import CertificateSheet
from haven.web.app import create_app
from haven.web.settings import Limit, WebSettings
from haven.web.site import WebSite

__all__ = [
    "CertificateIssuer",
    "CertificateSheet",
    "Limit",
    "WebSettings",
    "WebSite",
    "create_app",
]
