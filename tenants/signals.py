"""What happens in a shop that other modules act on, as blinker signals (Flask's own
signal library): the domain that owns the change says what happened, and a module that
cares (loyalty points; later tiers and referrals) connects a receiver in `create_app`,
so orders, customers and reviews never import the modules built on them.

Receivers run inside the sender's unit of work: what they write commits or rolls back
with the change. The sender is the changed row.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# The order's money has arrived (an offline payment marked paid, Stripe's confirmation).
order_paid = _signals.signal("order-paid")
# Money went back (a refund, or a paid order's cancellation): `refunded_cents` is new.
order_refunded = _signals.signal("order-refunded")
# The order is cancelled (`cancelled_at` is set), paid or not.
order_cancelled = _signals.signal("order-cancelled")

# A customer's account was opened (registered, or a guest's finished by its link).
customer_signed_up = _signals.signal("customer-signed-up")
# A review is published (by the rules on its way in, or by the merchant).
review_published = _signals.signal("review-published")
