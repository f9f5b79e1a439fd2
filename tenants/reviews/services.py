"""Writing, moderating and reading reviews.

Every service that changes what is published (publish, reject, report, delete, an edit
of a published review) recomputes the product's `rating_average` / `rating_count` in
the same transaction (`refresh_rating`) and moves the shop's page cache on, so product
cards and the "rating" sort never query reviews and a page never shows a stale review.
Services flush; the request, job or command commits.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import Any

import nh3
from sqlalchemy import Select, case, func, select, update

from saas.db import after_commit, db
from saas.page_cache import storefront_changed
from saas.tenancy import current_tenant
from tenants import media, signals
from tenants.catalog.models import Product
from tenants.orders.models import Order, OrderLine
from tenants.reviews.models import Review, ReviewPhoto, ReviewStatus
from tenants.settings.models import ShopSettings

MAX_TITLE = 150
MAX_BODY = 5000
MAX_NAME = 80
MAX_REPLY = 5000
MAX_EMAIL = 320
PER_PAGE = 10

MODERATION = {
    "approve": "Approve every review before it shows",
    "auto": "Publish reviews at once, except those held below",
}

# Shoppers' sorts of a product's reviews, in the order the page offers them.
SORTS = {
    "newest": "Newest",
    "highest": "Highest rated",
    "lowest": "Lowest rated",
    "photos": "With photos",
}

# Anything that reads as an address: a scheme, "www.", or a dotted name with a common
# top-level domain ("cheap-pills.com").
_LINK = re.compile(
    r"(?i)\b(?:https?://|www\.)|\b[a-z0-9-]+\.(?:com|net|org|info|biz|ru|cn|io|co|xyz|top|shop)\b"
)


class ReviewInvalid(ValueError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass
class ReviewInput:
    rating: int
    title: str
    body: str
    author_name: str
    email: str = ""


def plain(text: str | None, limit: int) -> str:
    """Text as shoppers typed it, without markup: nh3 drops every tag (and the content
    of scripts and styles); what is left is stored as plain text and escaped when shown."""
    cleaned = html.unescape(nh3.clean(text or "", tags=set()))
    cleaned = "\n".join(" ".join(line.split()) for line in cleaned.replace("\r", "").split("\n"))
    cleaned = re.sub(r"\n{3,}", "\n\n", cleaned).strip()
    return cleaned[: limit + 1]


def parse_review(form: Mapping[str, str], *, needs_email: bool = False) -> ReviewInput:
    """The review a form describes, or ReviewInvalid with a message per field."""
    errors: dict[str, str] = {}
    raw = (form.get("rating") or "").strip()
    rating = int(raw) if raw.isascii() and raw.isdigit() and len(raw) == 1 else 0
    if not 1 <= rating <= 5:
        errors["rating"] = "Choose a rating from 1 to 5 stars."
    title = plain(form.get("title"), MAX_TITLE)
    if len(title) > MAX_TITLE:
        errors["title"] = f"Use at most {MAX_TITLE} characters."
    body = plain(form.get("body"), MAX_BODY)
    if not body:
        errors["body"] = "Tell other shoppers what you thought."
    elif len(body) > MAX_BODY:
        errors["body"] = f"Use at most {MAX_BODY} characters."
    name = plain(form.get("author_name"), MAX_NAME)
    if not name:
        errors["author_name"] = "Enter the name to show with your review."
    elif len(name) > MAX_NAME:
        errors["author_name"] = f"Use at most {MAX_NAME} characters."
    email = (form.get("email") or "").strip().lower()
    if needs_email:
        if not email:
            errors["email"] = "Enter your email address (it is never shown)."
        elif len(email) > MAX_EMAIL or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
            errors["email"] = "Enter an email address like name@example.com."
    if errors:
        raise ReviewInvalid(errors)
    return ReviewInput(rating, title, body, name, email if needs_email else "")


def blocked_words(settings: ShopSettings) -> list[str]:
    return [w.strip().lower() for w in settings.reviews_blocked_words.splitlines() if w.strip()]


def hold_reason(review: ReviewInput, settings: ShopSettings) -> str:
    """Why an auto-publishing shop keeps this review for the merchant ("" if none)."""
    text = f"{review.title}\n{review.body}\n{review.author_name}"
    if settings.reviews_hold_links and _LINK.search(text):
        return "Contains a link"
    lowered = text.lower()
    for word in blocked_words(settings):
        if word in lowered:
            return f"Contains a blocked word ({word})"
    if review.rating <= settings.reviews_hold_rating:
        return f"Rated {review.rating} of 5"
    return ""


def _first_status(review: ReviewInput, settings: ShopSettings) -> tuple[str, str]:
    if settings.reviews_moderation != "auto":
        return ReviewStatus.PENDING, ""
    reason = hold_reason(review, settings)
    return (ReviewStatus.PENDING, reason) if reason else (ReviewStatus.PUBLISHED, "")


# --- what is published -------------------------------------------------------------


def refresh_rating(product_id: int) -> None:
    """Set the product's published rating summary from its reviews (one UPDATE, in the
    caller's transaction) and move the shop's page cache on."""
    published = (Review.product_id == product_id) & (Review.status == ReviewStatus.PUBLISHED)
    average = select(func.coalesce(func.round(func.avg(Review.rating), 2), 0)).where(published)
    count = select(func.count()).select_from(Review).where(published)
    db.session.execute(
        update(Product)
        .where(Product.id == product_id)
        .values(
            rating_average=average.scalar_subquery(),
            rating_count=count.scalar_subquery(),
            updated_at=Product.updated_at,  # a review is not an edit of the product
        )
        .execution_options(synchronize_session="fetch")
    )
    storefront_changed(current_tenant.id)


def _settle(review: Review, was_published: bool) -> None:
    """After a change to `review`: the product's summary when what shows changed."""
    db.session.flush()
    if was_published or review.status == ReviewStatus.PUBLISHED:
        refresh_rating(review.product_id)
    if review.status == ReviewStatus.PUBLISHED and not was_published:
        signals.review_published.send(review)


def _set_status(review: Review, status: str) -> None:
    review.status = status
    if status == ReviewStatus.PUBLISHED:
        review.held_reason = ""
        review.published_at = review.published_at or datetime.now(UTC)


# --- writing -----------------------------------------------------------------------


def review_of_line(line_id: int) -> Review | None:
    return db.session.scalar(select(Review).where(Review.order_line_id == line_id))


def write_review(
    product: Product,
    entry: ReviewInput,
    settings: ShopSettings,
    *,
    line: OrderLine | None = None,
    customer_id: int | None = None,
) -> Review:
    """Save a shopper's review of `product`: the review of `line` (a bought line, shown
    as a verified buyer's) replaced if there is one, else a new one. Flushes."""
    if line is not None and line.product_id != product.id:
        raise ValueError("the order line is not of this product")
    review = review_of_line(line.id) if line is not None else None
    was_published = review is not None and review.status == ReviewStatus.PUBLISHED
    if review is None:
        review = Review(product_id=product.id, order_line_id=line.id if line else None)
        db.session.add(review)
    if line is not None:
        order = db.session.get(Order, line.order_id)
        review.customer_id = order.customer_id if order is not None else customer_id
        review.email = order.email if order is not None else ""
        review.verified = True
    else:
        review.customer_id = customer_id
        review.email = entry.email
        review.verified = False
    review.rating = entry.rating
    review.title = entry.title
    review.body = entry.body
    review.author_name = entry.author_name
    # An edit is moderated afresh, as a new review would be; past reports no longer apply.
    review.status, review.held_reason = _first_status(entry, settings)
    review.report_count = 0
    if review.status == ReviewStatus.PUBLISHED:
        review.published_at = review.published_at or datetime.now(UTC)
    _settle(review, was_published)
    return review


# --- moderation --------------------------------------------------------------------


def publish(review: Review) -> None:
    was_published = review.status == ReviewStatus.PUBLISHED
    _set_status(review, ReviewStatus.PUBLISHED)
    _settle(review, was_published)


def reject(review: Review) -> None:
    was_published = review.status == ReviewStatus.PUBLISHED
    _set_status(review, ReviewStatus.REJECTED)
    _settle(review, was_published)


def delete_review(review: Review) -> None:
    """Delete the review; its photos' files go once the deletion commits."""
    was_published = review.status == ReviewStatus.PUBLISHED
    product_id = review.product_id
    files = photo_files(review.photos)
    db.session.delete(review)
    db.session.flush()
    if was_published:
        refresh_rating(product_id)
    if files:
        after_commit(partial(remove_files, files))


def photo_files(photos: Iterable[ReviewPhoto]) -> list[str]:
    """Every file of these photos: the original and its sized copies."""
    return [name for p in photos for name in [p.file, *(p.sized(w) for w in p.sizes or [])]]


def remove_files(files: list[str]) -> None:
    for name in files:
        media.remove_file(name)


def report(review: Review) -> None:
    """A shopper's report: a published review goes back to the queue until the
    merchant publishes it again (reported reviews never show)."""
    was_published = review.status == ReviewStatus.PUBLISHED
    review.report_count += 1
    if was_published:
        review.status = ReviewStatus.PENDING
        review.held_reason = "Reported by a shopper"
    _settle(review, was_published)


def set_reply(review: Review, text: str) -> None:
    """The merchant's public answer ("" removes it)."""
    reply = plain(text, MAX_REPLY)
    if len(reply) > MAX_REPLY:
        raise ReviewInvalid({"reply": f"Use at most {MAX_REPLY} characters."})
    review.reply = reply
    review.replied_at = datetime.now(UTC) if reply else None
    db.session.flush()
    if review.status == ReviewStatus.PUBLISHED:
        storefront_changed(current_tenant.id)


BULK_ACTIONS = {"publish": "Publish", "reject": "Reject", "delete": "Delete"}


def moderate(ids: Iterable[int], action: str) -> int:
    """Publish, reject or delete the shop's reviews with these ids; how many changed."""
    apply = {"publish": publish, "reject": reject, "delete": delete_review}[action]
    wanted = sorted({int(i) for i in ids})[:500]
    if not wanted:
        return 0
    rows = db.session.scalars(select(Review).where(Review.id.in_(wanted)).order_by(Review.id))
    done = 0
    for review in rows.all():
        apply(review)
        done += 1
    return done


# --- the back office's queue -------------------------------------------------------

STATUS_FILTERS = {
    "pending": "Waiting for approval",
    "published": "Published",
    "rejected": "Rejected",
    "reported": "Reported",
    "all": "All",
}
RATING_FILTERS = {str(n): f"{n} star{'s' if n > 1 else ''}" for n in range(5, 0, -1)}


def list_filters(args: Mapping[str, str]) -> dict[str, str]:
    status = args.get("status", "pending")
    rating = args.get("rating", "")
    return {
        "status": status if status in STATUS_FILTERS else "pending",
        "rating": rating if rating in RATING_FILTERS else "",
        "q": (args.get("q") or "").strip()[:200],
        "product": (args.get("product") or "").strip()[:255],
    }


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_")
    return f"%{escaped}%"


def list_query(filters: Mapping[str, str]) -> Select[Review, Product]:
    """Reviews with their products, newest first, as the filters ask."""
    query = select(Review, Product).join(Product, Product.id == Review.product_id)
    status = filters.get("status", "pending")
    if status == "reported":
        query = query.where(Review.report_count > 0)
    elif status != "all":
        query = query.where(Review.status == status)
    if filters.get("rating"):
        query = query.where(Review.rating == int(filters["rating"]))
    if q := filters.get("q"):
        like = _like(q)
        query = query.where(
            Review.title.ilike(like) | Review.body.ilike(like) | Review.author_name.ilike(like)
        )
    if handle := filters.get("product"):
        query = query.where(Product.handle == handle)
    return query.order_by(Review.created_at.desc(), Review.id.desc())


def pending_count() -> int:
    return (
        db.session.scalar(
            select(func.count()).select_from(Review).where(Review.status == ReviewStatus.PENDING)
        )
        or 0
    )


# --- the product page --------------------------------------------------------------


@dataclass
class Summary:
    """A product's published reviews in figures: count, average, stars, with photos."""

    count: int = 0
    average: Decimal = Decimal(0)
    with_photos: int = 0
    stars: dict[int, int] = field(default_factory=lambda: dict.fromkeys(range(5, 0, -1), 0))

    def share(self, stars: int) -> int:
        """Per cent of the reviews with this many stars (for the bars)."""
        return round(100 * self.stars[stars] / self.count) if self.count else 0


def summary(product_id: int) -> Summary:
    """One query: the published reviews by star, and how many have photos."""
    rows = db.session.execute(
        select(
            Review.rating,
            func.count(),
            func.count(case((Review.photo_count > 0, 1))),
        )
        .where(Review.product_id == product_id, Review.status == ReviewStatus.PUBLISHED)
        .group_by(Review.rating)
    ).all()
    out = Summary()
    total = 0
    for rating, count, photos in rows:
        out.stars[int(rating)] = int(count)
        out.count += int(count)
        out.with_photos += int(photos)
        total += int(rating) * int(count)
    if out.count:
        out.average = (Decimal(total) / out.count).quantize(Decimal("0.01"))
    return out


_ORDER = {
    "newest": (Review.created_at.desc(), Review.id.desc()),
    "highest": (Review.rating.desc(), Review.created_at.desc(), Review.id.desc()),
    "lowest": (Review.rating.asc(), Review.created_at.desc(), Review.id.desc()),
    "photos": (Review.created_at.desc(), Review.id.desc()),
}


def published_page(product_id: int, sort: str, page: int, per_page: int = PER_PAGE) -> list[Review]:
    """One page of the product's published reviews (one query on the product/status
    index; photos are loaded only for the reviews that have some)."""
    query = select(Review).where(
        Review.product_id == product_id, Review.status == ReviewStatus.PUBLISHED
    )
    if sort == "photos":
        query = query.where(Review.photo_count > 0)
    query = query.order_by(*_ORDER.get(sort, _ORDER["newest"]))
    rows = list(db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)))
    return rows


def latest_published(product_id: int, limit: int) -> list[Review]:
    return published_page(product_id, "newest", 1, limit)


def rating_of(value: Decimal | float | int) -> float:
    return float(round(Decimal(value), 1))


def photos_of(reviews: Iterable[Review]) -> dict[int, list[ReviewPhoto]]:
    """The photos of those reviews that have some, in one query (none when none do)."""
    ids = [r.id for r in reviews if r.photo_count]
    if not ids:
        return {}
    out: dict[int, list[ReviewPhoto]] = {i: [] for i in ids}
    for photo in db.session.scalars(
        select(ReviewPhoto)
        .where(ReviewPhoto.review_id.in_(ids))
        .order_by(ReviewPhoto.position, ReviewPhoto.id)
    ):
        out[photo.review_id].append(photo)
    return out


# --- the merchant's settings -------------------------------------------------------

MAX_BLOCKED = 2000
MAX_REQUEST_DAYS = 90


def settings_values(settings: ShopSettings) -> dict[str, Any]:
    return {
        "moderation": settings.reviews_moderation,
        "hold_links": settings.reviews_hold_links,
        "blocked_words": settings.reviews_blocked_words,
        "hold_rating": str(settings.reviews_hold_rating),
        "allow_guests": settings.reviews_allow_guests,
        "request_days": str(settings.reviews_request_days),
    }


def update_review_settings(settings: ShopSettings, form: Mapping[str, str]) -> None:
    """Save the review settings a form sends, or ReviewInvalid (nothing saved). Flushes."""
    errors: dict[str, str] = {}
    moderation = form.get("moderation", "")
    if moderation not in MODERATION:
        errors["moderation"] = "Choose how reviews are published."
    words = "\n".join(
        " ".join(w.split()) for w in (form.get("blocked_words") or "").splitlines() if w.strip()
    )
    if len(words) > MAX_BLOCKED:
        errors["blocked_words"] = f"Use at most {MAX_BLOCKED} characters."
    hold = (form.get("hold_rating") or "0").strip()
    if hold not in {"0", "1", "2", "3", "4"}:
        errors["hold_rating"] = "Choose a rating from the list."
    days = (form.get("request_days") or "").strip()
    if not (days.isascii() and days.isdigit() and int(days) <= MAX_REQUEST_DAYS):
        errors["request_days"] = f"Enter a number of days from 0 to {MAX_REQUEST_DAYS}."
    if errors:
        raise ReviewInvalid(errors)
    settings.reviews_moderation = moderation
    settings.reviews_hold_links = bool(form.get("hold_links"))
    settings.reviews_blocked_words = words
    settings.reviews_hold_rating = int(hold)
    settings.reviews_allow_guests = bool(form.get("allow_guests"))
    settings.reviews_request_days = int(days)
    db.session.flush()
