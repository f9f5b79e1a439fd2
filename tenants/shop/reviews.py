"""Reviews on the storefront: writing one (from a buyer's signed link, or as a
non-buyer when the shop allows it) and reporting one. The product page's section is
built in `tenants.shop.product` through `section()`.

The forms are personal pages (a CSRF token, `private, no-store`), never cached. A
filled honeypot field gets the same "thank you" as a real review and saves nothing.
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort, make_response, redirect, request, url_for

from saas.auth import current_customer
from saas.db import db
from saas.ratelimit import limiter
from tenants.catalog.models import Product
from tenants.catalog.published import product_by_handle
from tenants.orders.models import Order, OrderLine
from tenants.reviews import links, photos
from tenants.reviews import services as reviews
from tenants.reviews.models import Review, ReviewStatus
from tenants.settings.services import get_settings
from tenants.shop import bp, render

HONEYPOT = "website"  # hidden from people by the theme's CSS; bots fill it in
MAX_PAGE = 1000


@bp.app_context_processor
def _reviews_context() -> dict[str, Any]:
    return {"review_link": _review_link}


def _review_link(order: Order, line: OrderLine) -> str | None:
    """For the order pages: the line's "Write a review" address, if it can be reviewed."""
    return links.write_path(line) if links.reviewable(order, line) else None


def _private(body: str, status: int) -> Response:
    response = make_response(body, status)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    # The link's token is the key to the form: never sent on to another site.
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def section(product: Product, args: Any, *, open_to_all: bool) -> dict[str, Any]:
    """The product page's reviews: the summary (one query) and one page of reviews (one
    query; photos only when some have them); none for a product nobody reviewed.
    `open_to_all`: non-buyers may write one (from the shop's snapshot)."""
    sort = args.get("reviews", "newest")
    sort = sort if sort in reviews.SORTS else "newest"
    raw = args.get("reviews_page", "1")
    page = int(raw) if raw.isascii() and raw.isdigit() and 0 < len(raw) < 5 else 1
    page = max(1, min(page, MAX_PAGE))
    summary = reviews.summary(product.id) if product.rating_count else reviews.Summary()
    total = summary.with_photos if sort == "photos" else summary.count
    items = reviews.published_page(product.id, sort, page) if total else []
    pages = max(1, -(-total // reviews.PER_PAGE))
    return {
        "summary": summary,
        "items": items,
        "photos": reviews.photos_of(items),
        "sort": sort,
        "sorts": reviews.SORTS,
        "page": min(page, pages),
        "pages": pages,
        "can_write": open_to_all,
    }


def json_ld(summary: reviews.Summary, items: list[Review]) -> dict[str, Any]:
    """`aggregateRating` and `review` for the product's JSON-LD: published reviews only
    (what `section` shows)."""
    if not summary.count:
        return {}
    return {
        "aggregateRating": {
            "@type": "AggregateRating",
            "ratingValue": f"{summary.average:.2f}",
            "reviewCount": summary.count,
            "bestRating": 5,
            "worstRating": 1,
        },
        "review": [
            {
                "@type": "Review",
                "author": {"@type": "Person", "name": r.author_name},
                "datePublished": (r.published_at or r.created_at).date().isoformat(),
                "reviewRating": {"@type": "Rating", "ratingValue": r.rating, "bestRating": 5},
                **({"name": r.title} if r.title else {}),
                "reviewBody": r.body,
            }
            for r in items
            if r.status == ReviewStatus.PUBLISHED
        ],
    }


# --- writing -----------------------------------------------------------------------


def _form_page(
    product: Product,
    action: str,
    *,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    verified: bool,
    needs_email: bool,
    existing: Review | None = None,
    status: int = 200,
) -> Response:
    body, status = render(
        "review_form.html",
        status=status,
        product=product,
        action=action,
        values=values,
        errors=errors or {},
        verified=verified,
        needs_email=needs_email,
        existing=existing,
        max_photos=photos.MAX_PHOTOS,
        honeypot=HONEYPOT,
    )
    return _private(body, status)


def _thanks(product: Product, review: Review | None) -> Response:
    published = review is not None and review.status == ReviewStatus.PUBLISHED
    body, status = render("review_thanks.html", product=product, published=published)
    return _private(body, status)


def _save(
    product: Product,
    action: str,
    *,
    line: OrderLine | None,
    order: Order | None,
    existing: Review | None,
) -> Response:
    """Check and save a posted review (the form again with its mistakes if any)."""
    form = request.form
    needs_email = line is None and current_customer() is None
    values = {k: form.get(k, "") for k in ("rating", "title", "body", "author_name", "email")}

    def again(errors: dict[str, str], status: int = 400) -> Response:
        return _form_page(
            product,
            action,
            values=values,
            errors=errors,
            verified=line is not None,
            needs_email=needs_email,
            existing=existing,
            status=status,
        )

    if form.get(HONEYPOT):
        return _thanks(product, None)
    try:
        entry = reviews.parse_review(form, needs_email=needs_email)
        uploads = photos.check_photos(
            [f.stream for f in request.files.getlist("photos") if f and f.filename]
        )
    except reviews.ReviewInvalid as problem:
        return again(problem.errors)
    if limited := limiter().hit("review", str(order.id) if order is not None else None):
        return again({"form": limited.message}, 429)
    customer = current_customer()
    review = reviews.write_review(
        product,
        entry,
        get_settings(),
        line=line,
        customer_id=customer.id if customer is not None else None,
    )
    if uploads:
        photos.replace_photos(review, uploads)
    return _thanks(product, review)


@bp.route("/reviews/write/<token>", methods=["GET", "POST"])
def review_write(token: str) -> Any:
    """A buyer's review of one order line, from the signed link: no login needed."""
    found = links.line_for_token(token)
    if found is None:
        body, status = render("review_link_problem.html", status=404)
        return _private(body, status)
    line, order, product = found
    existing = reviews.review_of_line(line.id)
    action = url_for("shop.review_write", token=token)
    if request.method == "POST":
        return _save(product, action, line=line, order=order, existing=existing)
    values: dict[str, Any] = {"author_name": _first_name(order.customer_name)}
    if existing is not None:
        values = {
            "rating": str(existing.rating),
            "title": existing.title,
            "body": existing.body,
            "author_name": existing.author_name,
        }
    return _form_page(
        product, action, values=values, verified=True, needs_email=False, existing=existing
    )


def _first_name(name: str) -> str:
    """A display name to start from: the first name and the surname's initial."""
    parts = name.split()
    if not parts:
        return ""
    return parts[0] if len(parts) == 1 else f"{parts[0]} {parts[-1][0]}."


@bp.route("/products/<handle>/reviews/new", methods=["GET", "POST"])
def review_new(handle: str) -> Any:
    """A review by someone who did not buy (only when the shop allows it)."""
    product = product_by_handle(handle)
    if product is None or not get_settings().reviews_allow_guests:
        body, status = render("404.html", status=404)
        return _private(body, status)
    action = url_for("shop.review_new", handle=product.handle)
    if request.method == "POST":
        return _save(product, action, line=None, order=None, existing=None)
    customer = current_customer()
    values = {"author_name": _first_name(customer.name) if customer is not None else ""}
    return _form_page(product, action, values=values, verified=False, needs_email=customer is None)


# --- reporting ---------------------------------------------------------------------


def _published_or_404(review_id: int) -> tuple[Review, Product]:
    review = db.session.get(Review, review_id)
    if review is None or review.status != ReviewStatus.PUBLISHED:
        abort(404)
    product = db.session.get(Product, review.product_id)
    if product is None:
        abort(404)
    return review, product


@bp.route("/reviews/<int:review_id>/report", methods=["GET", "POST"])
def review_report(review_id: int) -> Any:
    """Report a published review: a confirmation first (a link scanner never reports)."""
    if review_id > 2**31 - 1:
        abort(404)
    review, product = _published_or_404(review_id)
    error = None
    status = 200
    if request.method == "POST":
        if request.form.get(HONEYPOT):
            return redirect(url_for("shop.product", handle=product.handle, reported=1))
        if limited := limiter().hit("review-report"):
            error, status = limited.message, 429
        else:
            reviews.report(review)
            return redirect(url_for("shop.product", handle=product.handle, reported=1))
    body, status = render(
        "review_report.html",
        status=status,
        review=review,
        product=product,
        error=error,
        honeypot=HONEYPOT,
    )
    return _private(body, status)
