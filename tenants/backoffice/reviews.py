"""Reviews in the back office: the moderation queue (filters, bulk publish, reject or
delete after a confirmation), one review's page with the public reply, the review
settings, and CSV import (with its dry run) and export. Staff need the "reviews" area."""

from __future__ import annotations

from functools import partial
from typing import Any

from flask import (
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from sqlalchemy import select

from saas import audit
from saas.db import atomic, db
from saas.tenancy import current_tenant
from tenants.backoffice import bp
from tenants.backoffice.access import requires
from tenants.backoffice.helpers import (
    acting_staff_id,
    get_or_404,
    paginate_or_404,
    queue_run,
    run_status,
    upload_dry_run,
)
from tenants.catalog.models import Product
from tenants.orders.models import Order, OrderLine
from tenants.reviews import csv as review_csv
from tenants.reviews import services
from tenants.reviews.models import Review, ReviewImport, ReviewStatus
from tenants.settings.services import get_settings, shop_zone
from tenants.staff.models import Area

PER_PAGE = 25
STATUS_LABELS = {
    ReviewStatus.PENDING: "Waiting for approval",
    ReviewStatus.PUBLISHED: "Published",
    ReviewStatus.REJECTED: "Rejected",
}
DONE = {"publish": "published", "reject": "rejected", "delete": "deleted"}


def _plural(count: int, word: str = "review") -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


@bp.get("/reviews")
@requires(Area.REVIEWS)
def reviews() -> Any:
    filters = services.list_filters(request.args)
    page = paginate_or_404(services.list_query(filters), PER_PAGE, scalars=False)
    filtered = filters != services.list_filters({})
    return render_template(
        "backoffice/reviews.html",
        page=page,
        filters=filters,
        filtered=filtered,
        status_filters=list(services.STATUS_FILTERS.items()),
        rating_filters=list(services.RATING_FILTERS.items()),
        status_labels=STATUS_LABELS,
        actions=list(services.BULK_ACTIONS.items()),
        pending=services.pending_count(),
    )


def _chosen_ids() -> list[int]:
    return [int(i) for i in request.form.getlist("review") if i.isascii() and i.isdigit()][:500]


@bp.post("/reviews/bulk")
@requires(Area.REVIEWS)
def reviews_bulk() -> Any:
    action = request.form.get("action", "")
    back = request.form.get("back") or ""
    back = back if back.startswith("/admin/reviews") else url_for("backoffice.reviews")
    ids = _chosen_ids()
    if action not in services.BULK_ACTIONS:
        flash("Choose what to do with the selected reviews.")
        return redirect(back)
    chosen = list(
        db.session.execute(
            select(Review, Product)
            .join(Product, Product.id == Review.product_id)
            .where(Review.id.in_(ids))
            .order_by(Review.id)
        )
    )
    if not chosen:
        flash("Select at least one review.")
        return redirect(back)
    if not request.form.get("confirm"):
        # Shoppers see the change at once (and a deletion is for good): ask first.
        return render_template(
            "backoffice/reviews_bulk.html",
            chosen=chosen,
            action=action,
            label=services.BULK_ACTIONS[action],
            back=back,
            single=False,
        )
    changed = services.moderate([r.id for r, _ in chosen], action)
    audit.record(f"review.bulk_{action}", review_ids=[r.id for r, _ in chosen])
    flash(f"{_plural(changed)} {DONE[action]}.")
    return redirect(back)


def _review_page(
    review: Review, errors: dict[str, str] | None = None, reply: str | None = None
) -> tuple[str, int]:
    product = db.session.get(Product, review.product_id)
    order = None
    if review.order_line_id is not None:
        line = db.session.get(OrderLine, review.order_line_id)
        order = db.session.get(Order, line.order_id) if line is not None else None
    return render_template(
        "backoffice/review.html",
        review=review,
        product=product,
        order=order,
        status_labels=STATUS_LABELS,
        errors=errors or {},
        reply=review.reply if reply is None else reply,
        photos=services.photos_of([review]).get(review.id, []),
    ), 400 if errors else 200


@bp.get("/reviews/<int:review_id>")
@requires(Area.REVIEWS)
def review(review_id: int) -> Any:
    return _review_page(get_or_404(Review, review_id))


@bp.post("/reviews/<int:review_id>/reply")
@requires(Area.REVIEWS)
def review_reply(review_id: int) -> Any:
    item = get_or_404(Review, review_id)
    text = request.form.get("reply", "")
    try:
        services.set_reply(item, text)
    except services.ReviewInvalid as problem:
        return _review_page(item, problem.errors, text)
    audit.record("review.reply", review_id=item.id)
    flash("Reply saved." if item.reply else "Reply removed.")
    return redirect(url_for("backoffice.review", review_id=item.id))


@bp.route("/reviews/<int:review_id>/<action>", methods=["GET", "POST"])
@requires(Area.REVIEWS)
def review_moderate(review_id: int, action: str) -> Any:
    """One review published, rejected or deleted, after a confirmation page."""
    if action not in services.BULK_ACTIONS:
        abort(404)
    item = get_or_404(Review, review_id)
    if request.method == "GET":
        product = db.session.get(Product, item.product_id)
        return render_template(
            "backoffice/reviews_bulk.html",
            chosen=[(item, product)],
            action=action,
            label=services.BULK_ACTIONS[action],
            back=url_for("backoffice.review", review_id=item.id),
            single=True,
        )
    services.moderate([item.id], action)
    audit.record(f"review.{action}", review_id=item.id)
    flash(f"Review {DONE[action]}.")
    if action == "delete":
        return redirect(url_for("backoffice.reviews"))
    return redirect(url_for("backoffice.review", review_id=item.id))


@bp.route("/reviews/settings", methods=["GET", "POST"])
@requires(Area.REVIEWS)
def review_settings() -> Any:
    settings = get_settings()
    errors: dict[str, str] = {}
    values = services.settings_values(settings)
    if request.method == "POST":
        form = request.form
        try:
            services.update_review_settings(settings, form)
        except services.ReviewInvalid as problem:
            errors = problem.errors
            values = {
                "moderation": form.get("moderation", ""),
                "hold_links": bool(form.get("hold_links")),
                "blocked_words": form.get("blocked_words", ""),
                "hold_rating": form.get("hold_rating", ""),
                "allow_guests": bool(form.get("allow_guests")),
                "request_days": form.get("request_days", ""),
            }
        else:
            audit.record("review.settings")
            flash("Review settings saved.")
            return redirect(url_for("backoffice.review_settings"))
    return render_template(
        "backoffice/review_settings.html",
        values=values,
        errors=errors,
        moderation=list(services.MODERATION.items()),
        hold_ratings=[("0", "Hold none for their rating")]
        + [(str(n), f"{n} star{'s' if n > 1 else ''} or fewer") for n in range(1, 5)],
    ), 400 if errors else 200


# --- CSV ---------------------------------------------------------------------------


@bp.route("/reviews/import", methods=["GET", "POST"])
@requires(Area.REVIEWS)
def reviews_import() -> Any:
    """The upload form; a posted file is checked and shown as a dry run."""
    error = None
    if request.method == "POST":
        preview = partial(review_csv.preview, staff_id=acting_staff_id())
        checked, error = upload_dry_run(
            review_csv.read_upload,
            preview,
            review_csv.CsvFileError,
            "backoffice.reviews_import_run",
        )
        if checked is not None:
            return checked
    return render_template(
        "backoffice/reviews_import.html",
        error=error,
        runs=review_csv.recent_runs(),
        columns=review_csv.COLUMNS,
        required=review_csv.REQUIRED,
        max_rows=review_csv.MAX_ROWS,
        zone=shop_zone(get_settings()),
    ), (400 if error else 200)


@bp.route("/reviews/import/<int:run_id>", methods=["GET", "POST"])
@requires(Area.REVIEWS)
def reviews_import_run(run_id: int) -> Any:
    """A dry run's findings; once the merchant confirms, the import's progress (a job),
    then how it ended."""
    run = get_or_404(ReviewImport, run_id)
    if request.method == "POST":
        try:
            with atomic():
                review_csv.confirm(run)
        except review_csv.ImportRefused as refused:
            flash(str(refused))
        else:
            audit.record("review.import_started", import_id=run.id, reviews=run.total)
            queue_run(
                review_csv.run_import,
                run.id,
                timeout=review_csv.IMPORT_TIMEOUT,
                fail_to_start=review_csv.fail_to_start,
            )
        return redirect(url_for("backoffice.reviews_import_run", run_id=run.id))
    return render_template(
        "backoffice/reviews_import_run.html",
        run=run,
        in_progress=run.status in review_csv.IN_PROGRESS,
        describe=review_csv.describe,
        zone=shop_zone(get_settings()),
    )


@bp.get("/reviews/import/<int:run_id>/status")
@requires(Area.REVIEWS)
def reviews_import_status(run_id: int) -> Any:
    """The run's progress for the page's script (the page works without it)."""
    return run_status(get_or_404(ReviewImport, run_id), review_csv.IN_PROGRESS)


@bp.get("/reviews/export.csv")
@requires(Area.REVIEWS)
def reviews_export() -> Any:
    """The reviews the queue's filters show (every status unless one is chosen)."""
    filters = services.list_filters({"status": "all", **request.args.to_dict()})
    return Response(
        stream_with_context(
            review_csv.export_csv(
                filters,
                tenant=current_tenant._get_current_object(),  # type: ignore[attr-defined]
            )
        ),
        mimetype="text/csv",
        headers={
            "Content-Disposition": (
                f'attachment; filename="{review_csv.export_filename(current_tenant.slug)}"'
            ),
            "Cache-Control": "no-store",
        },
    )
