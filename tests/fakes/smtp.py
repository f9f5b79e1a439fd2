"""A mail server that keeps what it is given: `capture_smtp` points the app's
`SMTP_URL` at it and returns the list the messages land in (as `EmailMessage`s)."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

from saas import mail


def capture_smtp(monkeypatch: Any, app: Any, url: str = "smtp://mail.example.test:25") -> list:
    sent: list[EmailMessage] = []

    class FakeSMTP:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            pass

        def __enter__(self) -> FakeSMTP:
            return self

        def __exit__(self, *exc: Any) -> bool:
            return False

        def send_message(self, message: EmailMessage) -> None:
            sent.append(message)

    monkeypatch.setattr(mail.smtplib, "SMTP", FakeSMTP)
    monkeypatch.setitem(app.config, "SMTP_URL", url)
    return sent
