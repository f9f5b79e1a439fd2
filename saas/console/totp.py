"""The operator's second factor: RFC 6238 codes (30 s steps, 6 digits) from pyotp.

A code is accepted for the current step and one step either side (clock drift), and
the step it matched is recorded: a code, or any code from an earlier step, is never
accepted again (`Operator.totp_last_step`).
"""

from __future__ import annotations

import hmac
import time

import pyotp
from sqlalchemy import or_, update

from saas.db import db
from saas.models import Operator

ISSUER = "Storefront console"
VALID_WINDOW = 1  # steps either side of now


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, email: str) -> str:
    """The otpauth:// URI an authenticator app reads (usually from a QR code)."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def current_code(secret: str) -> str:
    return pyotp.TOTP(secret).now()


def matching_step(secret: str, code: str, *, at: float | None = None) -> int | None:
    """The time step `code` belongs to (within the window), or None if it matches none.

    pyotp's `verify(valid_window=1)` only says yes or no; the step is needed to refuse
    replays, so the window is walked here, comparing in constant time.
    """
    code = (code or "").strip().replace(" ", "")
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    now_step = totp.timecode(at if at is not None else time.time())
    found = None
    for step in range(now_step - VALID_WINDOW, now_step + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    return found


def claim_step(operator_id: int, step: int) -> bool:
    """Record `step` as used, if no later or equal step was used before (one UPDATE
    decides, so two requests racing with the same code cannot both get in)."""
    claimed = db.session.scalar(
        update(Operator)
        .where(
            Operator.id == operator_id,
            or_(Operator.totp_last_step.is_(None), Operator.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .returning(Operator.id)
    )
    return claimed is not None
