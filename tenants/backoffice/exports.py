"""Orders and customers as CSV files: the list's "Export" button starts a job
(`tenants.exports.runs`); the run's page shows its progress, then the download.

Each kind has its own routes under its list, guarded by that list's area, so only staff
who may open the orders (or customers) download their file; another shop's run is not in
this shop's schema, so its id is a 404.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial, update_wrapper
from typing import Any

from flask import Response, abort, redirect, render_template, request, url_for

from saas import audit
from tenants.backoffice import bp
from tenants.backoffice.access import requires
from tenants.backoffice.customers import SORT_LABELS
from tenants.backoffice.helpers import acting_staff_id, get_or_404, queue_run, run_status
from tenants.exports import runs
from tenants.exports.models import ExportRun
from tenants.settings.services import get_settings, shop_zone
from tenants.staff.models import Area

# What the run's page says about each list's filters: (filter, label, {value: shown}).
FILTER_LABELS: dict[str, list[tuple[str, str, dict[str, str]]]] = {
    "orders": [
        ("q", "Search", {}),
        ("payment", "Payment", {"to_pay": "To pay", "cancelled": "Cancelled"}),
        ("fulfillment", "Fulfilment", {"to_ship": "To ship"}),
        ("from", "Placed from", {}),
        ("to", "Placed until", {}),
    ],
    "customers": [
        ("q", "Search", {}),
        ("account", "Account", {"yes": "Has an account", "no": "Guest (no account)"}),
        ("marketing", "Marketing email", {"yes": "Subscribed", "no": "Not subscribed"}),
        ("sort", "Sorted by", SORT_LABELS),
    ],
    "points": [],
}


def _start(kind: str) -> Any:
    run = runs.start(kind, request.form, staff_id=acting_staff_id())
    queue_run(runs.run_export, run.id, timeout=runs.TIMEOUT, fail_to_start=runs.fail_to_start)
    return redirect(url_for(f"backoffice.{kind}_export_run", run_id=run.id), code=303)


def _run_or_404(kind: str, run_id: int) -> ExportRun:
    run = get_or_404(ExportRun, run_id)
    if run.kind != kind:  # the other list's file: not under this list's area
        abort(404)
    return run


def _described_filters(run: ExportRun) -> list[tuple[str, str]]:
    return [
        (label, shown.get(run.filters[name], str(run.filters[name]).replace("_", " ")))
        for name, label, shown in FILTER_LABELS[run.kind]
        if run.filters.get(name)
    ]


def _page(kind: str, run_id: int) -> Any:
    run = _run_or_404(kind, run_id)
    exporter = runs.EXPORTERS[kind]
    return render_template(
        "backoffice/export_run.html",
        run=run,
        noun=exporter.noun,
        list_url=url_for(exporter.list_endpoint or f"backoffice.{kind}", **run.filters),
        start_url=url_for(f"backoffice.{kind}_export"),
        status_url=url_for(f"backoffice.{kind}_export_status", run_id=run.id),
        download_url=url_for(f"backoffice.{kind}_export_download", run_id=run.id),
        in_progress=run.status in runs.IN_PROGRESS,
        downloadable=runs.downloadable(run),
        expires_at=runs.expires_at(run),
        filters=_described_filters(run),
        zone=shop_zone(get_settings()),
    )


def _status(kind: str, run_id: int) -> Any:
    return run_status(_run_or_404(kind, run_id), runs.IN_PROGRESS)


def _download(kind: str, run_id: int) -> Any:
    run = _run_or_404(kind, run_id)
    if not runs.downloadable(run):
        return redirect(url_for(f"backoffice.{kind}_export_run", run_id=run.id))
    audit.record("export.downloaded", export_id=run.id, kind=kind)
    return Response(
        run.content,
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{run.filename}"',
            "Cache-Control": "no-store",
        },
    )


def _add_routes(kind: str, area: Area) -> None:
    """One kind's four routes under its list (`/<kind>/export`, `/<kind>/exports/<id>`,
    its `/status` and `/download`), each guarded by the list's area."""
    views: dict[str, tuple[str, str, Callable[..., Any]]] = {
        "export": ("/export", "POST", partial(_start, kind)),
        "export_run": ("/exports/<int:run_id>", "GET", partial(_page, kind)),
        "export_status": ("/exports/<int:run_id>/status", "GET", partial(_status, kind)),
        "export_download": ("/exports/<int:run_id>/download", "GET", partial(_download, kind)),
    }
    for name, (rule, method, view) in views.items():
        # A partial has no `__name__`, which Flask-WTF's CSRF check reads off every view
        # (a POST failed with a 500 while CSRF was on): give it its function's.
        named = update_wrapper(view, view.func) if isinstance(view, partial) else view
        bp.add_url_rule(f"/{kind}{rule}", f"{kind}_{name}", requires(area)(named), methods=[method])


_add_routes("orders", Area.ORDERS)
_add_routes("customers", Area.CUSTOMERS)
_add_routes("points", Area.CUSTOMERS)
