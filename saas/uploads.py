"""The one size limit of an uploaded file, and how a refusal tells it.

`MAX_UPLOAD_BYTES` (env `MAX_UPLOAD_MB`) is the limit of every file a merchant uploads
(product images, the logo, product CSV files); the forms' hints read it here. The
request body cap (`MAX_CONTENT_LENGTH`) is set a few times above it in `saas.config`, so
a file somewhat too large is still received and refused by the view with the form again
and its size, while a body far above any real upload is cut off by Werkzeug (413).
"""

from __future__ import annotations

import os
from decimal import ROUND_HALF_UP, Decimal
from typing import IO

from flask import current_app

MB = 1024 * 1024


def upload_limit() -> int:
    """The largest file, in bytes, any upload form takes."""
    return int(current_app.config["MAX_UPLOAD_BYTES"])


def size_label(size: int) -> str:
    """Bytes as people read them: '14.2 MB', '10 MB', '312 KB'."""
    if size >= MB:
        value = (Decimal(size) / MB).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    else:
        value = (Decimal(size) / 1024).quantize(Decimal("1"), rounding=ROUND_HALF_UP)
    text = f"{value:f}".removesuffix(".0")
    return f"{text} MB" if size >= MB else f"{max(int(value), 1)} KB"


def limit_label() -> str:
    """The limit as form hints show it: '10 MB'."""
    return size_label(upload_limit())


def too_large(size: int, limit: int | None = None) -> str:
    """The refusal of a file of `size` bytes: 'This file is 14.2 MB; the limit is 10 MB.'"""
    limit = upload_limit() if limit is None else limit
    return f"This file is {size_label(size)}; the limit is {size_label(limit)}."


def stream_size(stream: IO[bytes] | None) -> int:
    """The bytes left in an uploaded file's (seekable) stream, without consuming them."""
    if stream is None:
        return 0
    start = stream.tell()
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(start)
    return size - start
