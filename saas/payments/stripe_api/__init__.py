"""The one door to Stripe, through the official `stripe` SDK.

Callers get plain data back (dataclasses, dicts for raw Stripe objects), never SDK
objects, so nothing outside this package imports `stripe`. Callers use the package
itself (`from saas.payments import stripe_api`; `stripe_api.refund(...)`): it re-exports
its modules' public names on purpose, because "Stripe behind one module" means one
import for the rest of the code base, while the modules group the calls by subject:

* `client`: settings, the SDK client, `StripeFailure` and `StripeNotConfigured`.
* `connect`: Connect OAuth, linking a merchant's own account.
* `checkout`: shopper Checkout sessions, payments and refunds on that account.
* `billing`: the platform's customers, prices, subscriptions, invoices, the portal.
* `webhooks`: verifying deliveries (`construct_event`, `WebhookEvent`).

The modules call one another's public functions through this package (`stripe_api.x`),
never through their own globals, so a test that monkeypatches `stripe_api.x` reaches
every caller, as it did when this was one module.

Settings come from the app config at call time (`saas.config`): `STRIPE_SECRET_KEY`,
`STRIPE_PUBLISHABLE_KEY`, `STRIPE_WEBHOOK_SECRET` (one or more, comma-separated),
`STRIPE_CONNECT_CLIENT_ID`, and the base URLs `STRIPE_API_BASE` / `STRIPE_CONNECT_BASE`,
which tests point at the local fake Stripe server (`tests/fakes/stripe_server.py`).
With no keys, `configured()` is false and the pages that offer Stripe say so.

Shopper payments act on the merchant's own account, connected through Stripe Connect
(OAuth, Standard accounts): every call that takes an `account_id` sends it as the
`Stripe-Account` header, so the money and the objects belong to the merchant.

Every POST takes an idempotency key from the caller: retrying the same logical action
(a double click, a job run twice, the SDK's own network retries) makes one object.
"""

from saas.payments.stripe_api.billing import (
    cancel_subscription,
    create_customer,
    create_portal_session,
    create_price,
    create_subscription_checkout,
    list_invoices,
    list_subscriptions,
    retrieve_invoice,
    retrieve_subscription,
    update_subscription,
)
from saas.payments.stripe_api.checkout import (
    CheckoutSession,
    LineItem,
    PaymentIntent,
    Refund,
    create_checkout_session,
    expire_checkout_session,
    refund,
    retrieve_checkout_session,
    retrieve_payment_intent,
)
from saas.payments.stripe_api.client import (
    NETWORK_RETRIES,
    REQUEST_TIMEOUT,
    StripeFailure,
    StripeNotConfigured,
    configured,
    connect_configured,
    publishable_key,
    webhook_secrets,
)
from saas.payments.stripe_api.connect import (
    CONNECT_STATE_MAX_AGE,
    ConnectState,
    ConnectStateInvalid,
    check_connect_state,
    connect_authorize_url,
    deauthorize,
    exchange_connect_code,
    read_connect_state,
)
from saas.payments.stripe_api.webhooks import (
    WEBHOOK_TOLERANCE,
    WebhookEvent,
    WebhookInvalid,
    construct_event,
)

__all__ = [
    "CONNECT_STATE_MAX_AGE",
    "NETWORK_RETRIES",
    "REQUEST_TIMEOUT",
    "WEBHOOK_TOLERANCE",
    "CheckoutSession",
    "ConnectState",
    "ConnectStateInvalid",
    "LineItem",
    "PaymentIntent",
    "Refund",
    "StripeFailure",
    "StripeNotConfigured",
    "WebhookEvent",
    "WebhookInvalid",
    "cancel_subscription",
    "check_connect_state",
    "configured",
    "connect_authorize_url",
    "connect_configured",
    "construct_event",
    "create_checkout_session",
    "create_customer",
    "create_portal_session",
    "create_price",
    "create_subscription_checkout",
    "deauthorize",
    "exchange_connect_code",
    "expire_checkout_session",
    "list_invoices",
    "list_subscriptions",
    "publishable_key",
    "read_connect_state",
    "refund",
    "retrieve_checkout_session",
    "retrieve_invoice",
    "retrieve_payment_intent",
    "retrieve_subscription",
    "update_subscription",
    "webhook_secrets",
]
