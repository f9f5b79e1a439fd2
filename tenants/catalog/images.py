"""Product images: decoded and re-encoded on upload (as shop logos are, see `media`),
kept in the shop's media folder, with smaller copies made by a background job.

The original is stored re-encoded (JPEG, or PNG when it has transparency) so nothing
but pixels survives from the upload. `resize_image` then writes copies 320, 640 and
1200 px wide next to it (never wider than the original) and records which exist.
"""

from __future__ import annotations

import io
from functools import partial
from typing import IO

from PIL import Image
from sqlalchemy import func, select

from saas.db import after_commit, after_rollback, db
from saas.jobs import enqueue
from tenants import media
from tenants.catalog.models import Product, ProductImage
from tenants.positions import move_one, renumber

WIDTHS = (320, 640, 1200)
MAX_ALT = 512
MAX_IMAGES = 250


class ImageError(ValueError):
    """An image that cannot be added; `field` names the form field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def encode_image(image: Image.Image) -> tuple[bytes, str]:
    """A decoded upload as stored: JPEG, or PNG when it has transparency."""
    out = io.BytesIO()
    if image.mode == "RGBA":
        image.save(out, format="PNG", optimize=True)
        return out.getvalue(), ".png"
    image.save(out, format="JPEG", quality=88, optimize=True, progressive=True)
    return out.getvalue(), ".jpg"


def _clean_alt(alt: str) -> str:
    alt = " ".join((alt or "").split())
    if len(alt) > MAX_ALT:
        raise ImageError("alt", f"Use at most {MAX_ALT} characters.")
    return alt


def add_image(product: Product, stream: IO[bytes] | None, alt: str = "") -> ProductImage:
    """Store an uploaded image as the product's last one. Flushes; the caller commits,
    then calls `enqueue_resize`. Writes the file first, so there is never a row without
    its file; the file goes again if the row is not kept."""
    alt = _clean_alt(alt)
    if stream is None:
        raise ImageError("image", "Choose an image file to upload.")
    if len(product.images) >= MAX_IMAGES:
        raise ImageError("image", f"A product can have at most {MAX_IMAGES} images.")
    try:
        data = media.read_upload(stream)
        image = media.decode_image(data)
    except media.MediaError as error:
        raise ImageError("image", str(error)) from None
    encoded, suffix = encode_image(image)
    name = media.save_file(f"p{product.id}", encoded, suffix)
    after_rollback(partial(media.remove_file, name))
    last = db.session.scalar(
        select(func.max(ProductImage.position)).where(ProductImage.product_id == product.id)
    )
    row = ProductImage(
        product_id=product.id,
        file=name,
        alt=alt,
        position=(last or 0) + 1,
        width=image.width,
        height=image.height,
        sizes=[],
    )
    db.session.add(row)
    db.session.flush()
    db.session.refresh(product, ["images"])
    return row


def enqueue_resize(image_id: int) -> None:
    """Make the smaller copies in a job, once the image's row commits."""
    enqueue(resize_image, image_id)


def resize_image(image_id: int) -> list[int]:
    """Job: write the image's narrower copies and record their widths. Safe to re-run."""
    row = db.session.get(ProductImage, image_id)
    if row is None:
        return []  # deleted before the job ran
    made = write_sized_copies(row.file)
    if made is not None:
        row.sizes = made
    return made or []


def write_sized_copies(file: str) -> list[int] | None:
    """Write the narrower copies of one of the shop's stored images (product images,
    review photos) and return their widths; None if the file is gone."""
    path = media.media_dir() / file
    try:
        with Image.open(path) as opened:
            opened.load()
            source = opened.copy()
    except FileNotFoundError:
        return None
    stem, _, suffix = file.rpartition(".")
    made: list[int] = []
    for width in WIDTHS:
        if width >= source.width:
            continue
        height = max(1, round(source.height * width / source.width))
        copy = source.resize((width, height), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        if suffix == "png":
            copy.save(out, format="PNG", optimize=True)
        else:
            copy.convert("RGB").save(out, format="JPEG", quality=85, optimize=True)
        target = media.media_dir() / f"{stem}-{width}w.{suffix}"
        temporary = target.with_name(f".{target.name}.tmp")
        temporary.write_bytes(out.getvalue())
        temporary.replace(target)
        made.append(width)
    return made


def image_of(product: Product, image_id: int) -> ProductImage | None:
    image = db.session.get(ProductImage, image_id)
    return image if image is not None and image.product_id == product.id else None


def set_alt(image: ProductImage, alt: str) -> None:
    image.alt = _clean_alt(alt)
    db.session.flush()


def move_image(product: Product, image: ProductImage, step: int) -> None:
    """Swap the image with its neighbour (step -1: earlier, 1: later). Flushes."""
    ordered = list(product.images)
    move_one(ordered, ordered.index(image), step)
    renumber(ordered)
    db.session.flush()


def delete_image(product: Product, image: ProductImage) -> None:
    """Delete the row (variants showing it fall back to none); its files are removed
    once the deletion commits."""
    files = [image.file] + [image.sized(w) for w in image.sizes or []]
    product.images.remove(image)
    db.session.delete(image)
    db.session.flush()
    renumber(product.images)
    db.session.flush()
    after_commit(partial(_remove_files, files))


def _remove_files(files: list[str]) -> None:
    for name in files:
        media.remove_file(name)
