"""The programme's periodic work, run by the sweep (`flask tenants sweep`) in each shop:
held points that have waited long enough become spendable, inactive balances expire,
customers born today get their bonus, and once a day every customer is put in the tier
their last 12 months earn (a year-old order stops counting)."""

from __future__ import annotations

from datetime import UTC, datetime

from tenants.loyalty import points, tiers
from tenants.settings.services import get_settings, shop_zone


def sweep(now: datetime | None = None) -> dict[str, int]:
    """What was done, counted in the sweep's words."""
    now = now or datetime.now(UTC)
    if points.active_program() is None:
        return {}
    today = now.astimezone(shop_zone(get_settings())).date()
    done = {
        "points line(s) made spendable": points.release_due(now=now),
        "points balance(s) expired": points.expire_inactive(now=now),
        "birthday bonus(es) given": points.award_birthdays(today),
    }
    program = points.program()
    if program.tiers_checked_on != today:
        program.tiers_checked_on = today
        done["member tier change(s)"] = tiers.recompute_all(now=now)
    return done
