"""The operator console on the reserved operator host (`admin.<domain>` by default).

Every page but the two sign-in steps needs a signed-in operator: the user loader in
`saas.auth` accepts only `op:` sessions on this host, so a shop's staff session (or
anything else) is anonymous here and sent to the sign-in page.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import current_app

from saas.tenancy.sites import SiteBlueprint, absolute_url, shop_host

bp = SiteBlueprint(
    "console", __name__, site="console", static_folder="../static", static_url_path="/static"
)


# The console's navigation: (endpoint, label, endpoints that count as "in" the section).
NAV = [
    (
        "console.tenants",
        "Shops",
        ("console.tenants", "console.tenant", "console.delete_tenant", "console.record_payment"),
    ),
    ("console.billing", "Billing", ("console.billing",)),
    ("console.figures", "Figures", ("console.figures",)),
    ("console.plans", "Plans", ("console.plans", "console.new_plan", "console.edit_plan")),
    ("console.audit", "Audit log", ("console.audit",)),
]


def shop_url(slug: str) -> str:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return absolute_url(app, shop_host(app, slug))


def utc_time(value: datetime | None, seconds: bool = False) -> str:
    """A timestamp as the console shows it: always UTC, whatever the server's zone."""
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M" + (":%S" if seconds else "")) + " UTC"


@bp.context_processor
def _console_context() -> dict[str, Any]:
    return {"console_nav": NAV, "shop_url": shop_url, "utc_time": utc_time}


# View modules register their routes on `bp` (imported last: they import `bp`).
from saas.console import audit_log, auth, billing, figures_page, plans, tenants  # noqa: E402

__all__ = ["audit_log", "auth", "billing", "bp", "figures_page", "plans", "tenants"]
