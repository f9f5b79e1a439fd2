"""Review photos: checked as images within the upload limit, re-encoded, resized by a job."""

from __future__ import annotations

import io

from PIL import Image

from saas.tenancy import tenant_context
from tenants import media
from tenants.reviews import photos, services

GOOD = {"rating": "5", "title": "Look", "body": "See the photo.", "author_name": "Pat"}


def _png(width: int = 800, height: int = 600) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 120, 40)).save(out, format="PNG")
    return out.getvalue()


def test_a_photo_is_stored_re_encoded_and_resized_by_its_job(app, bought, shop_client):
    client = shop_client(bought.tenant)
    sent = client.post(
        bought.path,
        data={**GOOD, "photos": (io.BytesIO(_png()), "cat.png")},
        content_type="multipart/form-data",
    )
    assert sent.status_code == 200
    with app.app_context(), tenant_context(bought.tenant):
        review = services.review_of_line(bought.line_id)
        assert review.photo_count == 1
        photo = review.photos[0]
        assert photo.file.endswith(".jpg") and (photo.width, photo.height) == (800, 600)
        assert (media.media_dir() / photo.file).exists()
        assert photos.resize_photo(photo.id) == [320, 640]
        path = media.media_dir() / photo.sized(320)
    assert path.exists()
    with app.app_context(), tenant_context(bought.tenant):
        review = services.review_of_line(bought.line_id)
        services.publish(review)
    text = client.get(f"/products/{bought.handle}?reviews=photos").get_data(as_text=True)
    assert photo.sized(320) in text and "With photos" in text


def test_a_file_that_is_not_an_image_is_refused_and_nothing_saved(app, bought, shop_client):
    page = shop_client(bought.tenant).post(
        bought.path,
        data={**GOOD, "photos": (io.BytesIO(b"<svg onload=alert(1)>"), "x.png")},
        content_type="multipart/form-data",
    )
    assert page.status_code == 400
    assert "Upload a PNG, JPEG, WebP or GIF image." in page.get_data(as_text=True)
    with app.app_context(), tenant_context(bought.tenant):
        assert services.review_of_line(bought.line_id) is None


def test_photos_over_the_upload_limit_or_too_many_are_refused(app, bought, shop_client):
    client = shop_client(bought.tenant)
    many = [(io.BytesIO(_png(10, 10)), f"{n}.png") for n in range(4)]
    page = client.post(
        bought.path, data={**GOOD, "photos": many}, content_type="multipart/form-data"
    )
    assert page.status_code == 400 and "at most 3 photos" in page.get_data(as_text=True)
    limit = app.config["MAX_UPLOAD_BYTES"]
    app.config["MAX_UPLOAD_BYTES"] = 1000
    try:
        page = client.post(
            bought.path,
            data={**GOOD, "photos": (io.BytesIO(_png()), "big.png")},
            content_type="multipart/form-data",
        )
    finally:
        app.config["MAX_UPLOAD_BYTES"] = limit
    assert page.status_code == 400 and "the limit is" in page.get_data(as_text=True)
    with app.app_context(), tenant_context(bought.tenant):
        assert services.review_of_line(bought.line_id) is None
