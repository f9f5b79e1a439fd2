"""Signup to live shop, over real HTTP: the time from submitting the signup form to the
new shop's back office answering with its dashboard.

The timed part is what the merchant waits for: POST /signup (provisioning, owner
account, trial, hand-off token) -> 303 to the shop's host -> GET /admin/enter (spends
the token, logs in) -> 302 -> GET /admin/ (the dashboard, 200). Loading the form first
(for its CSRF token and cookie) is not timed: the merchant is reading it.
"""

from __future__ import annotations

import http.client
import re
import time
import uuid
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode, urlsplit

PASSWORD = "copper-lagoon-thistle-84"


class Browser:
    """Just enough of a browser: one cookie jar per host, redirects followed by hand."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.jars: dict[str, dict[str, str]] = {}

    def request(
        self, method: str, host: str, path: str, form: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Host": f"{host}:{self.port}"}
        jar = self.jars.setdefault(host, {})
        if jar:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in jar.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        for value in response.headers.get_all("Set-Cookie") or []:
            cookie: SimpleCookie = SimpleCookie()
            cookie.load(value)
            for key, morsel in cookie.items():
                jar[key] = morsel.value
        conn.close()
        return response.status, dict(response.headers), text

    def follow(self, host: str, location: str) -> tuple[str, str]:
        parts = urlsplit(location)
        host = (parts.hostname or host) if parts.netloc else host
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        return host, path


def one_signup(port: int, domain: str = "localhost") -> float:
    """Seconds from submitting the form to the new shop's dashboard answering."""
    browser = Browser(port)
    status, _, page = browser.request("GET", domain, "/signup")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    key = re.search(r'name="signup_key" value="([^"]+)"', page)
    if status != 200 or not token or not key:
        raise RuntimeError(f"signup form did not load ({status})")
    slug = f"signup-{uuid.uuid4().hex[:10]}"
    form = {
        "csrf_token": token.group(1),
        "signup_key": key.group(1),
        "shop_name": "Bench Signup Shop",
        "slug": slug,
        "owner_name": "Bench Owner",
        "email": f"{slug}@example.com",
        "email_confirm": f"{slug}@example.com",
        "password": PASSWORD,
    }
    started = time.perf_counter()
    status, headers, page = browser.request("POST", domain, "/signup", form)
    host, path = domain, "/signup"
    hops = 0
    while status in (301, 302, 303) and hops < 5:
        host, path = browser.follow(host, headers["Location"])
        status, headers, page = browser.request("GET", host, path)
        hops += 1
    elapsed = time.perf_counter() - started
    if status != 200 or host != f"{slug}.{domain}" or path.rstrip("/") != "/admin":
        raise RuntimeError(f"signup ended at {host}{path} with {status}: {page[:300]!r}")
    return elapsed


def signup_latencies(app: Any, count: int) -> list[float]:
    """Time `count` signups against `app` served over HTTP (rate limits off for the run)."""
    from bench.throughput import served

    app.config["RATELIMIT_ENABLED"] = False
    try:
        with served(app) as port:
            one_signup(port)  # warm-up: first templates, first connection
            return [one_signup(port) for _ in range(count)]
    finally:
        app.config["RATELIMIT_ENABLED"] = True
