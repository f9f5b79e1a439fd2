"""Shoppers' photos on their reviews: checked and re-encoded like product images
(`tenants.catalog.images`), with the same sized copies made by a job."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import IO

from saas.db import after_commit, after_rollback, db
from saas.jobs import enqueue
from saas.page_cache import storefront_changed
from saas.tenancy import current_tenant
from tenants import media
from tenants.catalog.images import encode_image, write_sized_copies
from tenants.reviews.models import Review, ReviewPhoto, ReviewStatus
from tenants.reviews.services import ReviewInvalid, photo_files, remove_files

MAX_PHOTOS = 3


def check_photos(streams: Sequence[IO[bytes]]) -> list[bytes]:
    """The uploads' bytes once each is a readable image within the upload limit."""
    if len(streams) > MAX_PHOTOS:
        raise ReviewInvalid({"photos": f"Add at most {MAX_PHOTOS} photos."})
    out = []
    for stream in streams:
        try:
            data = media.read_upload(stream)
            media.decode_image(data)
        except media.MediaError as error:
            raise ReviewInvalid({"photos": str(error)}) from None
        out.append(data)
    return out


def replace_photos(review: Review, uploads: Sequence[bytes]) -> list[int]:
    """The review's photos become `uploads` (checked by `check_photos`). Flushes; the
    old files go once this commits, new ones if it does not; the resize jobs are queued
    after the commit. The new photos' ids."""
    old = photo_files(review.photos)
    review.photos.clear()
    db.session.flush()
    if old:
        after_commit(partial(remove_files, old))
    for position, data in enumerate(uploads, start=1):
        image = media.decode_image(data)
        encoded, suffix = encode_image(image)
        name = media.save_file(f"r{review.id}", encoded, suffix)
        after_rollback(partial(media.remove_file, name))
        review.photos.append(
            ReviewPhoto(
                file=name, position=position, width=image.width, height=image.height, sizes=[]
            )
        )
    review.photo_count = len(uploads)
    db.session.flush()
    ids = [p.id for p in review.photos]
    for photo_id in ids:
        enqueue(resize_photo, photo_id)
    return ids


def resize_photo(photo_id: int) -> list[int]:
    """Job: the photo's narrower copies. Safe to re-run."""
    row = db.session.get(ReviewPhoto, photo_id)
    if row is None:
        return []
    made = write_sized_copies(row.file)
    if made is not None:
        row.sizes = made
        if row.review.status == ReviewStatus.PUBLISHED:
            storefront_changed(current_tenant.id)  # pages may now offer the smaller copy
    return made or []
