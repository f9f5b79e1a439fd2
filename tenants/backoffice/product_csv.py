"""Products in and out as CSV (Shopify's layout): upload and dry run, confirm, the
import's progress, and the export. The rules live in `tenants.catalog.csv`."""

from __future__ import annotations

from functools import partial
from typing import Any

from flask import (
    Response,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)

from saas import audit
from saas.db import atomic
from saas.tenancy import current_tenant
from tenants.backoffice import bp
from tenants.backoffice.access import requires
from tenants.backoffice.catalog import LIST_FILTERS
from tenants.backoffice.helpers import (
    acting_staff_id,
    get_or_404,
    queue_run,
    run_status,
    upload_dry_run,
)
from tenants.catalog.csv import export, findings, layout, plan, read, runs
from tenants.catalog.models import IMPORT_IN_PROGRESS, ProductImport
from tenants.settings.services import get_settings, shop_zone
from tenants.staff.models import Area

IN_PROGRESS = IMPORT_IN_PROGRESS  # while these last, the run's page refreshes itself


# 10,000 rows took about 55 s here (stock updates on existing variants, the slowest case).
IMPORT_TIMEOUT = 15 * 60


@bp.route("/products/import", methods=["GET", "POST"])
@requires(Area.PRODUCTS)
def products_import() -> Any:
    """The upload form; a posted file is checked and shown as a dry run."""
    error = None
    if request.method == "POST":
        preview = partial(
            runs.preview,
            tenant_id=current_tenant.id,
            currency=get_settings().currency,
            staff_id=acting_staff_id(),
        )
        checked, error = upload_dry_run(
            read.read_upload, preview, read.CsvFileError, "backoffice.products_import_run"
        )
        if checked is not None:
            return checked
    return render_template(
        "backoffice/products_import.html",
        error=error,
        runs=runs.recent_runs(),
        zone=shop_zone(get_settings()),
        max_rows=plan.MAX_ROWS,
        columns=layout.HEADER,
    ), (400 if error else 200)


@bp.get("/products/import/<int:run_id>")
@requires(Area.PRODUCTS)
def products_import_run(run_id: int) -> Any:
    """One import: its dry run, its progress, or how it ended."""
    run = get_or_404(ProductImport, run_id)
    return render_template(
        "backoffice/products_import_run.html",
        run=run,
        in_progress=run.status in IN_PROGRESS,
        describe=findings.describe,
        zone=shop_zone(get_settings()),
    )


@bp.post("/products/import/<int:run_id>")
@requires(Area.PRODUCTS)
def products_import_confirm(run_id: int) -> Any:
    run = get_or_404(ProductImport, run_id)
    try:
        with atomic():
            runs.confirm(run)
    except runs.ImportRefused as refused:
        flash(str(refused))
        return redirect(url_for("backoffice.products_import_run", run_id=run_id))
    audit.record(
        "product.import_started",
        import_id=run.id,
        filename=run.filename,
        create=run.summary.get("create", 0),
        update=run.summary.get("update", 0),
    )
    queue_run(runs.run_import, run.id, timeout=IMPORT_TIMEOUT, fail_to_start=runs.fail_to_start)
    return redirect(url_for("backoffice.products_import_run", run_id=run.id))


@bp.get("/products/import/<int:run_id>/status")
@requires(Area.PRODUCTS)
def products_import_status(run_id: int) -> Any:
    """The run's progress for the page's script (the page works without it)."""
    return run_status(get_or_404(ProductImport, run_id), IN_PROGRESS)


@bp.get("/products/export.csv")
@requires(Area.PRODUCTS)
def products_export() -> Any:
    """All products (or those the list's filters show) as a Shopify-layout CSV."""
    filters = {name: request.args.get(name, "").strip() for name in LIST_FILTERS}
    ids = export.export_ids(filters)
    # Image addresses on the host the merchant is using (file names are random, URL-safe).
    media = url_for("shop.media", filename="_", _external=True).removesuffix("_")
    body = export.export_csv(
        ids,
        tenant=current_tenant._get_current_object(),  # type: ignore[attr-defined]
        currency=get_settings().currency,
        image_url=lambda name: media + name,
    )
    filename = export.export_filename(current_tenant.slug)
    return Response(
        stream_with_context(body),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
