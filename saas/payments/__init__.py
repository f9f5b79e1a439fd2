"""Payments through Stripe, shared by shopper checkout and platform billing.

* `stripe_api`: the one package that imports the `stripe` SDK (its modules by subject,
  its names re-exported as one door): configuration, Connect OAuth, Checkout sessions,
  refunds, Billing, webhook verification; plain data in and out.
* `webhooks`: the platform's `POST /webhooks/stripe` (verified, deduplicated, routed to
  the shop that owns the connected account) and the handler registry (`register()`,
  called by `create_app`); also the Connect OAuth return on the platform's host.
"""
