"""The programme's periodic work, run by the sweep (`flask tenants sweep`) in each shop:
held points that have waited long enough become spendable, inactive balances expire,
and customers born today get their bonus."""

from __future__ import annotations

from datetime import UTC, datetime

from tenants.loyalty import points
from tenants.settings.services import get_settings, shop_zone


def sweep(now: datetime | None = None) -> dict[str, int]:
    """What was done, counted in the sweep's words."""
    now = now or datetime.now(UTC)
    if points.active_program() is None:
        return {}
    today = now.astimezone(shop_zone(get_settings())).date()
    return {
        "points line(s) made spendable": points.release_due(now=now),
        "points balance(s) expired": points.expire_inactive(now=now),
        "birthday bonus(es) given": points.award_birthdays(today),
    }
