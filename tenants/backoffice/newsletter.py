"""Newsletter subscribers under Customers: the list with search and pages, and the
CSV export of what the list shows. The rules live in `tenants.content.newsletter`."""

from __future__ import annotations

from typing import Any

from flask import Response, render_template, request

from saas.tenancy import current_tenant
from tenants.backoffice import bp
from tenants.backoffice.access import requires
from tenants.backoffice.helpers import paginate_or_404
from tenants.content import newsletter
from tenants.staff.models import Area

PER_PAGE = 50


def _query() -> str:
    return request.args.get("q", "").strip()[: newsletter.MAX_QUERY]


@bp.get("/customers/newsletter")
@requires(Area.CUSTOMERS)
def newsletter_subscribers() -> Any:
    q = _query()
    return render_template(
        "backoffice/newsletter.html",
        page=paginate_or_404(newsletter.subscribers_query(q), PER_PAGE),
        q=q,
        total=newsletter.subscriber_count(),
    )


@bp.get("/customers/newsletter.csv")
@requires(Area.CUSTOMERS)
def newsletter_export() -> Any:
    """The subscribers the list shows (its search applies) as CSV."""
    # Built before the response goes out: the shop's unit of work ends with the view.
    return Response(
        "".join(newsletter.export_csv(_query())),
        mimetype="text/csv",
        headers={
            "Content-Disposition": (
                f'attachment; filename="{newsletter.export_filename(current_tenant.slug)}"'
            ),
            "Cache-Control": "no-store",
        },
    )
