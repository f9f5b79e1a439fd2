"""The Analytics area: one page per report (`tenants.analytics.reports`) for a date range
of the shop's own time zone, compared with the period before, and each report as CSV."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, render_template, request

from saas.spreadsheet import csv_line
from tenants.analytics import reports
from tenants.analytics.ranges import RANGE_CHOICES, DateRange, RangeError, parse_range, shop_today
from tenants.backoffice import bp
from tenants.backoffice.access import requires
from tenants.settings.services import get_settings, shop_zone
from tenants.staff.models import Area


def _range() -> tuple[DateRange, RangeError | None]:
    """The range the page asks for; with a mistake in custom dates, the default range
    and the mistake (the form shows it by the date it is about)."""
    today = shop_today(shop_zone(get_settings()))
    try:
        return parse_range(request.args, today), None
    except RangeError as error:
        return parse_range({}, today), error


def _built(report: str, chosen: DateRange) -> reports.Report:
    if report not in reports.TITLES:
        abort(404)
    settings = get_settings()
    return reports.build(report, chosen, shop_zone(settings), settings.currency)


@bp.get("/analytics", defaults={"report": "overview"})
@bp.get("/analytics/<report>")
@requires(Area.ORDERS)
def analytics(report: str) -> Any:
    chosen, problem = _range()
    built = _built(report, chosen)
    return render_template(
        "backoffice/analytics.html",
        report=built,
        reports=reports.REPORTS,
        chosen=chosen,
        previous=chosen.previous(),
        choices=RANGE_CHOICES,
        range_errors={problem.field: str(problem)} if problem else {},
        # What was typed stays in the form when it could not be shown.
        typed={k: request.args.get(k, "") for k in ("range", "start", "end")} if problem else {},
        timezone=get_settings().timezone,
    ), 400 if problem else 200


@bp.get("/analytics/<report>.csv")
@requires(Area.ORDERS)
def analytics_csv(report: str) -> Any:
    chosen, problem = _range()
    if problem:
        abort(400, str(problem))
    table = _built(report, chosen).export_table()
    lines = [csv_line(table.headers)] + [csv_line(row) for row in table.rows] if table else []
    name = f"{report}-{chosen.start.isoformat()}-{chosen.end.isoformat()}.csv"
    return Response(
        "".join(lines),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
