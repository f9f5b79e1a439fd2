"""The points programme in the back office: its rules and what it owes (the liability),
and, on a customer's page, their points and the merchant's adjustments
(`tenants.loyalty`)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for

from saas import audit
from saas.db import atomic
from tenants.backoffice import bp
from tenants.backoffice.access import requires
from tenants.backoffice.helpers import confirm_then, get_or_404
from tenants.loyalty import emails as loyalty_emails
from tenants.loyalty import points, rules, tiers
from tenants.loyalty.models import LoyaltyTier, TierBasis
from tenants.settings.services import get_settings
from tenants.staff.models import Area


@bp.route("/customers/points", methods=["GET", "POST"])
@requires(Area.CUSTOMERS)
def loyalty_programme() -> Any:
    program = points.program()
    values, errors = rules.form_values(program), {}
    if request.method == "POST":
        try:
            with atomic():
                changed = rules.save(program, request.form)
        except rules.RulesInvalid as invalid:
            values, errors = dict(request.form), invalid.errors
        else:
            if changed:
                audit.record("loyalty.rules_changed", enabled=program.enabled)
            flash(
                ("Points programme saved." if changed else "Nothing changed.")
                + ("" if program.enabled else " It is off: customers earn and see no points.")
            )
            return redirect(url_for("backoffice.loyalty_programme"))
        program = points.program()
    currency = get_settings().currency
    owed = points.liability()
    return render_template(
        "backoffice/loyalty.html",
        program=program,
        tiers=tiers.all_tiers(),
        bases=list(rules.BASES.items()),
        basis_label=rules.BASES[TierBasis(program.tier_basis)],
        unit_cents=points.unit(currency),
        benefits=loyalty_emails.benefits,
        values=values,
        errors=errors,
        numbers=rules.NUMBERS,
        owed=owed,
        ledger_lines=points.ledger_lines(),
        owed_cents=owed.cents(program, currency),
        currency=currency,
    ), 400 if errors else 200


@bp.route("/customers/points/tiers/new", methods=["GET", "POST"], endpoint="loyalty_tier_new")
@bp.route("/customers/points/tiers/<int:tier_id>", methods=["GET", "POST"])
@requires(Area.CUSTOMERS)
def loyalty_tier(tier_id: int | None = None) -> Any:
    """Add a member tier (no id) or change one: the same form and checks."""
    tier = get_or_404(LoyaltyTier, tier_id)
    values: dict[str, Any] = {
        "name": tier.name if tier else "",
        "threshold": str(tier.threshold) if tier else "",
        "discount_percent": str(tier.discount_percent) if tier else "0",
        "free_shipping": "1" if tier and tier.free_shipping else "",
        "points_multiplier_percent": str(tier.points_multiplier_percent) if tier else "100",
    }
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            with atomic():
                saved = tiers.save_tier(tier, request.form)
        except tiers.TierInvalid as invalid:
            values, errors = dict(request.form), invalid.errors
            tier = get_or_404(LoyaltyTier, tier_id)
        else:
            audit.record("loyalty.tier_saved", tier=saved.name, threshold=saved.threshold)
            flash(
                f"Tier {saved.name} saved. Customers move into it when their next order is "
                "paid, and every night."
            )
            return redirect(url_for("backoffice.loyalty_programme") + "#tiers")
    return render_template(
        "backoffice/loyalty_tier.html",
        tier=tier,
        values=values,
        errors=errors,
        basis=rules.BASES[TierBasis(points.program().tier_basis)],
        spend=points.program().tier_basis == TierBasis.SPEND,
        currency=get_settings().currency,
    ), 400 if errors else 200


@bp.route("/customers/points/tiers/<int:tier_id>/delete", methods=["GET", "POST"])
@requires(Area.CUSTOMERS)
def loyalty_tier_delete(tier_id: int) -> Any:
    tier = get_or_404(LoyaltyTier, tier_id)
    name = tier.name

    def delete() -> str:
        tiers.delete_tier(tier)
        audit.record("loyalty.tier_deleted", tier=name)
        return f"Tier {name} deleted."

    return confirm_then(
        delete,
        heading=f"Delete the tier {name}?",
        message="Its members lose its benefits now and move to the tier below tonight.",
        button="Delete tier",
        back=url_for("backoffice.loyalty_programme") + "#tiers",
    )
