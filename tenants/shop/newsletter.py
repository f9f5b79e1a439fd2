"""Leaving the newsletter from the link in a marketing email: no login, the signed
token is the proof. The link shows a page with one button (a mail scanner that follows
links never unsubscribes anyone); mail clients' one-click unsubscribe (RFC 8058) posts
to the same address."""

from __future__ import annotations

from typing import Any

from flask import make_response

from saas.extensions import csrf
from tenants.content import newsletter
from tenants.shop import bp, render


def _page(template_context: dict[str, Any], status: int = 200) -> Any:
    body, status = render("newsletter_unsubscribe.html", status=status, **template_context)
    response = make_response(body, status)
    # The address is personal and the link is the key: no shared cache keeps the page.
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/newsletter/unsubscribe/<token>")
def newsletter_unsubscribe(token: str) -> Any:
    email = newsletter.email_for_token(token)
    if email is None:
        return _page({"email": None, "done": False, "token": token}, 404)
    return _page({"email": email, "done": False, "token": token})


@bp.post("/newsletter/unsubscribe/<token>")
@csrf.exempt  # posted by mail clients too (one-click); the signed token authorises it
def newsletter_unsubscribe_confirm(token: str) -> Any:
    email = newsletter.email_for_token(token)
    if email is None:
        return _page({"email": None, "done": False, "token": token}, 404)
    newsletter.unsubscribe(email)  # a second click is the same success
    return _page({"email": email, "done": True, "token": token})
