"""The platform's cut of a shop's card sales: the plan's transaction fee, taken by
Stripe as an application fee on each Checkout payment (shopper payments go to the
merchant's own connected account; the fee comes to the platform's)."""

from __future__ import annotations

from saas.plans import subscription_of


def transaction_fee(tenant_id: int, amount_cents: int) -> int:
    """The fee on a payment of `amount_cents`, rounded half up to a whole cent."""
    subscription = subscription_of(tenant_id)
    if subscription is None or amount_cents <= 0:
        return 0
    bps = subscription.plan.transaction_fee_bps or 0
    return (amount_cents * bps + 5_000) // 10_000
