"""Files shoppers attach: pictures (of a damaged parcel, a wrong size) and PDFs.

They are private, so they never go to the shop's public media folder (served to
anyone at /media/...): they live in `<MEDIA_PATH>/_private/<schema>/inbox/`, reached
only through the back office (Inbox staff) and the conversation's signed link.
Pictures are decoded and re-encoded like every other upload (`tenants.media`), so
nothing but pixels is kept; a PDF must start like one and is only ever downloaded.
"""

from __future__ import annotations

import os
import re
import secrets
from functools import partial
from pathlib import Path
from typing import IO

from flask import Response, current_app, send_file

from saas import uploads
from saas.db import after_rollback
from saas.tenancy import current_tenant
from tenants import media
from tenants.catalog.images import encode_image
from tenants.inbox.models import Attachment, Message

MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024  # a phone photo; never above the upload limit
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")


class AttachmentError(ValueError):
    """An attachment that cannot be kept; the message is for the shopper."""


def limit() -> int:
    return min(MAX_ATTACHMENT_BYTES, uploads.upload_limit())


def limit_label() -> str:
    return uploads.size_label(limit())


def private_dir() -> Path:
    return Path(current_app.config["MEDIA_PATH"]) / "_private" / current_tenant.schema / "inbox"


def _display_name(filename: str | None, suffix: str) -> str:
    base = os.path.basename((filename or "").replace("\\", "/"))
    stem = _SAFE_NAME.sub("", os.path.splitext(base)[0]).strip(" .")[:80] or "attachment"
    return f"{stem}{suffix}"


def read(stream: IO[bytes], filename: str | None) -> tuple[bytes, str, str]:
    """(data to store, content type, shown name) of an upload, or AttachmentError."""
    size = uploads.stream_size(stream)
    if size > limit():
        raise AttachmentError(uploads.too_large(size, limit()))
    data = stream.read(limit() + 1)
    if len(data) > limit():
        raise AttachmentError(uploads.too_large(len(data), limit()))
    if not data:
        raise AttachmentError("The file is empty.")
    if data.startswith(b"%PDF-"):
        return data, "application/pdf", _display_name(filename, ".pdf")
    try:
        image = media.decode_image(data)
    except media.MediaError:
        raise AttachmentError("Attach a picture (PNG, JPEG, WebP or GIF) or a PDF.") from None
    encoded, suffix = encode_image(image)
    kind = "image/png" if suffix == ".png" else "image/jpeg"
    return encoded, kind, _display_name(filename, suffix)


def store(message: Message, data: bytes, content_type: str, name: str) -> Attachment:
    """Write the file, then its row (flushed by the caller's unit); the file goes again
    if the unit rolls back."""
    folder = private_dir()
    folder.mkdir(parents=True, exist_ok=True)
    stored = f"a{secrets.token_hex(16)}"
    temporary = folder / f".{stored}.tmp"
    temporary.write_bytes(data)
    os.replace(temporary, folder / stored)
    after_rollback(partial(_remove, folder / stored))
    row = Attachment(filename=name, stored_name=stored, content_type=content_type, size=len(data))
    message.attachments.append(row)
    return row


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)


def path_of(attachment: Attachment) -> Path:
    return private_dir() / attachment.stored_name


def download(attachment: Attachment) -> Response:
    """A stored attachment as a response for either door: always downloaded, never
    shown inline (a shopper's file must not run as a page of the shop), never cached,
    and sent with no referrer."""
    response = send_file(
        path_of(attachment),
        mimetype=attachment.content_type,
        as_attachment=True,
        download_name=attachment.filename,
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
