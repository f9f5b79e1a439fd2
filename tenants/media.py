"""Files a shop uploads (its logo), kept in the shop's own folder under `MEDIA_PATH`.

Uploads are never served as sent: an image is decoded with Pillow, shrunk, and
re-encoded as PNG, so whatever else the upload carried (scripts, polyglots, metadata)
is gone. Each shop's files live in `<MEDIA_PATH>/<schema>/`, named with a random part
so a new logo gets a new URL and can be cached for ever.
"""

from __future__ import annotations

import io
import logging
import os
import secrets
import warnings
from pathlib import Path
from typing import IO

from flask import current_app
from PIL import Image, ImageOps, UnidentifiedImageError

from saas import uploads
from saas.tenancy import TenantRecord, current_tenant

log = logging.getLogger(__name__)

MAX_LOGO_SIDE = 1024  # pixels; larger logos are scaled down
# Refuse images whose header promises more pixels than this before decoding them: a
# small file can claim to be enormous (a "decompression bomb").
MAX_SOURCE_PIXELS = 40_000_000
LOGO_FORMATS = ("PNG", "JPEG", "WEBP", "GIF")


class MediaError(ValueError):
    """An upload that cannot be used; the message is meant for the merchant."""


def media_dir(tenant: TenantRecord | None = None) -> Path:
    """The folder holding this shop's files (named after its schema, never after input)."""
    tenant = tenant or current_tenant
    return Path(current_app.config["MEDIA_PATH"]) / tenant.schema


def read_upload(stream: IO[bytes]) -> bytes:
    """An uploaded file's bytes; MediaError, telling its size, if over the upload limit."""
    limit = uploads.upload_limit()
    size = uploads.stream_size(stream)
    if size > limit:
        raise MediaError(uploads.too_large(size, limit))
    data = stream.read(limit + 1)
    if len(data) > limit:  # a stream that could not tell its size
        raise MediaError(uploads.too_large(len(data), limit))
    if not data:
        raise MediaError("The file is empty.")
    return data


def logo_png(data: bytes) -> bytes:
    """Decode an uploaded logo and return it re-encoded as a PNG of at most 1024 px a side."""
    image = decode_image(data)
    image.thumbnail((MAX_LOGO_SIDE, MAX_LOGO_SIDE))
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def decode_image(data: bytes) -> Image.Image:
    """Decode an upload by its content (never its name or type header), upright, as RGB(A).

    Raises MediaError for anything that is not a readable PNG/JPEG/WebP/GIF of at most
    40 megapixels.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            source = Image.open(io.BytesIO(data), formats=LOGO_FORMATS)
            if source.width * source.height > MAX_SOURCE_PIXELS:
                raise MediaError("The image is too large: use one under 40 megapixels.")
            source.load()
            image: Image.Image = ImageOps.exif_transpose(source)  # phones store rotation in EXIF
    except MediaError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise MediaError("Upload a PNG, JPEG, WebP or GIF image.") from None
    except (OSError, ValueError, SyntaxError):  # truncated or corrupt data
        raise MediaError("This image could not be read; it may be damaged.") from None
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    return image.convert("RGBA" if has_alpha else "RGB")


def save_file(prefix: str, data: bytes, suffix: str = ".png") -> str:
    """Write `data` to a new, randomly named file in the shop's folder; return its name."""
    folder = media_dir()
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{prefix}-{secrets.token_hex(8)}{suffix}"
    temporary = folder / f".{name}.tmp"
    temporary.write_bytes(data)
    os.replace(temporary, folder / name)  # readers never see half a file
    return name


def remove_file(name: str | None) -> None:
    """Delete one of the shop's files; a missing file is not an error."""
    if not name or "/" in name or "\\" in name or name.startswith("."):
        return
    try:
        (media_dir() / name).unlink(missing_ok=True)
    except OSError:
        log.warning("could not remove media file %s of shop %s", name, current_tenant.slug)
