"""Session cookies bound to the host that issued them.

Cookies are already host-only (no `Domain` attribute), but any subdomain can set a
cookie for the parent domain ("cookie tossing"), so one shop could plant a session on
another shop or on the console. Signing each host's sessions with a host-specific salt
makes a cookie issued on one host worthless on every other.
"""

from __future__ import annotations

from typing import Any

from flask import request
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer

from saas.tenancy.sites import SITE_ENVIRON_KEY


class HostBoundSessionInterface(SecureCookieSessionInterface):
    def get_signing_serializer(self, app: Any) -> URLSafeTimedSerializer | None:
        serializer = super().get_signing_serializer(app)
        if serializer is None:
            return None
        site = request.environ.get(SITE_ENVIRON_KEY)
        host = site.host if site is not None else "-invalid-host-"
        serializer.salt = f"{self.salt}:{host}".encode()
        return serializer
