"""The addresses every form that takes an email must refuse or accept (issue 12): one
table, so each form's test checks the same cases with the same messages."""

from __future__ import annotations

from saas.email_address import INVALID_EMAIL, TOO_LONG

BAD_EMAILS = [
    ("sam@example", INVALID_EMAIL),  # no dot after the @: the confirmation goes nowhere
    ("sam@", INVALID_EMAIL),
    ("@x.com", INVALID_EMAIL),
    ("a b@c.com", INVALID_EMAIL),
    ("sam@@example.com", INVALID_EMAIL),
    ("Sam <sam@example.com>", INVALID_EMAIL),
    ("x" * 65 + "@example.com", TOO_LONG),  # RFC 5321: 64 before the @
    ("x@" + ("a" * 60 + ".") * 5 + "com", TOO_LONG),  # 254 in all
]
BAD_IDS = ["no-dot", "no-domain", "no-local", "space", "two-ats", "display-name", "local", "all"]

# (as typed, as stored): trimmed and lowercased whole, Unicode kept.
GOOD_EMAILS = [
    ("  Sam.Lee+Shop@Example.COM ", "sam.lee+shop@example.com"),
    ("o'neil@mail.example.co.uk", "o'neil@mail.example.co.uk"),
    ("José@Exämple.com", "josé@exämple.com"),
]
