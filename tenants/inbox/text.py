"""What shoppers type becomes plain text: tags are dropped (a pasted email's HTML, a
bot's links markup), control characters go, lines and length are bounded. Themes and
emails print it escaped; nothing from a shopper is ever printed as HTML."""

from __future__ import annotations

import html
import re

import nh3

MAX_BODY = 10_000
MAX_SUBJECT = 200
MAX_NAME = 200
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BLANK_LINES = re.compile(r"\n{3,}")


def plain_text(raw: str | None, limit: int = MAX_BODY) -> str:
    """`raw` without markup or control characters, newlines as `\\n`, at most `limit`."""
    text = (raw or "").replace("\r\n", "\n").replace("\r", "\n")
    # nh3 with no allowed tag keeps only the text; it escapes what is left, undone here
    # because the text is escaped again wherever it is printed.
    text = html.unescape(nh3.clean(text, tags=set()))
    text = _CONTROL.sub("", text)
    text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()[:limit]


def one_line(raw: str | None, limit: int) -> str:
    """A name or subject: plain text on one line."""
    return " ".join(plain_text(raw, limit * 2).split())[:limit]
