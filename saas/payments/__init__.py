"""Payments through Stripe, shared by shopper checkout and platform billing.

* `stripe_api`: the only module that imports the `stripe` SDK: configuration, Connect
  OAuth, Checkout sessions, refunds, webhook verification; plain data in and out.
* `webhooks`: the platform's `POST /webhooks/stripe` (verified, deduplicated, routed to
  the shop that owns the connected account) and the handler registry `on()`; also the
  Connect OAuth return on the platform's host.
"""
