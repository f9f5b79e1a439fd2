"""A fake Stripe: a small WSGI app the real `stripe` SDK talks to, for tests and by hand.

It speaks Stripe's wire protocol as the SDK uses it (form-encoded requests with
bracketed keys, `Authorization: Bearer <secret key>`, `Stripe-Account`,
`Idempotency-Key`; JSON objects and errors in Stripe's shapes) for what the platform
uses so far:

* Checkout (mode=payment and mode=subscription): `POST /v1/checkout/sessions`,
  `GET /v1/checkout/sessions/{id}`, `POST /v1/checkout/sessions/{id}/expire`, and a
  hosted payment page `GET /pay/{id}` with "Pay", "Pay with a declined card" and
  "Cancel" buttons;
* `GET /v1/payment_intents/{id}`, `GET /v1/charges/{id}`, `POST /v1/refunds`,
  `GET /v1/refunds/{id}`;
* Connect OAuth: `GET /oauth/authorize` (a page with "Authorize" and "Deny"),
  `POST /oauth/token`, `POST /oauth/deauthorize`;
* Billing (in `tests/fakes/stripe_billing.py`, which `FakeStripe` inherits): customers,
  payment methods, products, prices, subscriptions (update with prorations, cancel),
  invoices with hosted pages and PDFs, and the customer portal (`POST
  /v1/billing_portal/sessions`, a page `GET /portal/{id}` with "Update card" and
  "Cancel plan").

Objects live in memory, per fake instance and per account: a request with
`Stripe-Account: acct_x` sees only acct_x's objects (another's answer 404, as on
Stripe); one without it sees the platform's own. A key already used replays the first
answer (`Idempotent-Replayed: true`); used with other parameters it is refused.

Webhooks: events (Stripe's shape, `account` set for connected accounts) are signed like
Stripe's (`Stripe-Signature: t=<unix>,v1=<HMAC-SHA256 of "t.payload">`) and posted to
`webhook_target`: a URL (`url_target`) or the app itself through a test client
(`app_target`). "Pay" on the hosted page delivers `checkout.session.completed` before
redirecting to the success URL (set `sync_payment_webhooks = False` for Stripe's real
timing, where the browser may come back first). Events caused by API calls
(`checkout.session.expired` after an expire, `account.application.deauthorized`) go out
from a background thread, as Stripe's do, so an app that calls Stripe while holding
locks cannot deadlock on its own webhook; `wait_for_webhooks()` waits for them.
`hold_webhooks()` / `release_webhooks(reverse=True)` deliver held events out of order.

Test helpers: `make_event`, `signature_header`, `deliver` (with a stale timestamp, a
wrong secret or a forged header), `deliver_concurrently`, `send_event`, `pay`,
`expire_session`, `connect_account`, `revoke_account`; for Billing `renew`,
`retry_invoice`, `decline_cards`, `update_card`, `trial_will_end`, `mutate` (drift with
no event) and the getters `subscription`, `invoice`, `customer`.

Extending: add routes to `_routes()` and handlers in the same pattern: validate with
`_require` / `_reject_unknown`, keep objects in `Account.objects[<kind>]`, return the
answer (or raise `ApiError` for Stripe-shaped errors), and queue the events an API call
causes on `_outbox` (sent from the background) or send a page's or helper's with
`_send_or_hold` after releasing `_lock`.

By hand (then run the app with the printed settings):

    .venv/bin/python -m tests.fakes.stripe_server --port 12111 \\
        --webhook-url http://localhost:5000/webhooks/stripe
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import hashlib
import hmac
import html
import json
import queue
import re
import secrets
import string
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from tests.fakes.stripe_billing import BillingMixin

API_VERSION = "2026-10-28.endive"
SECRET_KEY = "sk_test_fake_platform_key"
PUBLISHABLE_KEY = "pk_test_fake_platform_key"
WEBHOOK_SECRET = "whsec_fake_platform_secret"
CLIENT_ID = "ca_fake_platform_client"

_ALPHABET = string.ascii_letters + string.digits
# Checkout sessions last between 30 minutes and 24 hours (a minute of slack for clocks).
_MIN_EXPIRY, _MAX_EXPIRY = 30 * 60 - 60, 24 * 3600


def new_id(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


# --- wire format ----------------------------------------------------------------------

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


def decode_params(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding (`a[b][0][c]=v`, as the SDK writes it) into nested data."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        match = _KEY.match(key)
        if not match:
            raise ApiError(400, f"Invalid parameter name: {key}")
        path = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]
        node: dict[str, Any] = root
        for part in path[:-1]:
            child = node.setdefault(part or str(len(node)), {})
            if not isinstance(child, dict):
                raise ApiError(400, f"Invalid parameter structure: {key}")
            node = child
        node[path[-1] or str(len(node))] = value
    return _lists(root)


def _lists(value: Any) -> Any:
    if isinstance(value, dict):
        value = {k: _lists(v) for k, v in value.items()}
        if value and all(k.isdigit() for k in value):
            return [value[k] for k in sorted(value, key=int)]
    return value


class ApiError(Exception):
    """Answered as Stripe's error object: {"error": {"type", "message", "code", "param"}}."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.type, self.code, self.param = (
            status,
            message,
            type,
            code,
            param,
        )

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param:
            error["param"] = self.param
        return {"error": error}


class OAuthApiError(Exception):
    """Connect's OAuth errors have their own shape: {"error": code, "error_description"}."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description


def missing(resource: str, object_id: str, param: str = "id") -> ApiError:
    return ApiError(404, f"No such {resource}: '{object_id}'", code="resource_missing", param=param)


def _require(params: Mapping[str, Any], name: str, prefix: str = "") -> Any:
    if params.get(name) in (None, ""):
        raise ApiError(400, f"Missing required param: {prefix}{name}.", param=f"{prefix}{name}")
    return params[name]


def _reject_unknown(params: Mapping[str, Any], allowed: Iterable[str], prefix: str = "") -> None:
    for name in params:
        if name not in allowed:
            shown = f"{prefix}[{name}]" if prefix else name
            raise ApiError(400, f"Received unknown parameter: {shown}", param=shown)


def _int(value: Any, param: str, *, minimum: int = 0) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ApiError(400, f"Invalid integer: {value}", param=param) from None
    if number < minimum:
        raise ApiError(400, f"This value must be greater than or equal to {minimum}.", param=param)
    return number


def _metadata(value: Any, param: str = "metadata") -> dict[str, str]:
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise ApiError(400, "Invalid object", param=param)
    if len(value) > 50:
        raise ApiError(400, "Metadata can have at most 50 keys.", param=param)
    return {str(k): str(v) for k, v in value.items()}


def _url(value: Any, param: str) -> str:
    parts = urlsplit(str(value))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ApiError(400, "Not a valid URL", param=param)
    return str(value)


# --- state ----------------------------------------------------------------------------


@dataclass
class Account:
    """A Stripe account's objects: the platform's own (id None) or a connected one."""

    id: str | None
    authorized: bool = True  # False once the platform's access is revoked
    objects: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    def table(self, kind: str) -> dict[str, dict[str, Any]]:
        return self.objects.setdefault(kind, {})


@dataclass
class Delivery:
    """One webhook POST and the app's answer."""

    event_id: str
    type: str
    status: int
    body: str

    def json(self) -> Any:
        return json.loads(self.body)


WebhookTarget = Callable[[bytes, dict[str, str]], tuple[int, str]]


def url_target(url: str, timeout: float = 30) -> WebhookTarget:
    """Deliver webhooks over HTTP to `url` (the app's /webhooks/stripe on a live server)."""

    def post(body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        response = requests.post(url, data=body, headers=headers, timeout=timeout)
        return response.status_code, response.text

    return post


def app_target(app: Any, host: str = "localhost", path: str = "/webhooks/stripe") -> WebhookTarget:
    """Deliver webhooks to a Flask app through its test client (no server needed)."""

    def post(body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        client = app.test_client()
        response = client.post(path, data=body, headers=headers, base_url=f"http://{host}")
        return response.status_code, response.get_data(as_text=True)

    return post


class FakeStripe(BillingMixin):
    """One fake Stripe with its own keys, accounts and objects (see the module docstring)."""

    def __init__(
        self,
        *,
        secret_key: str = SECRET_KEY,
        publishable_key: str = PUBLISHABLE_KEY,
        webhook_secret: str = WEBHOOK_SECRET,
        client_id: str = CLIENT_ID,
    ) -> None:
        self.secret_key = secret_key
        self.publishable_key = publishable_key
        self.webhook_secret = webhook_secret
        self.client_id = client_id
        self.webhook_target: WebhookTarget | None = None
        self.sync_payment_webhooks = True
        self.deliveries: list[Delivery] = []
        self.requests: list[tuple[str, str, str | None]] = []  # (method, path, account)
        self._lock = threading.RLock()
        self._platform = Account(None)
        self._accounts: dict[str, Account] = {}
        self._codes: dict[str, dict[str, str]] = {}  # OAuth code -> grant
        self._idempotent: dict[tuple[str | None, str], tuple[str, int, bytes]] = {}
        self._held: list[dict[str, Any]] | None = None
        self._outbox: queue.Queue[dict[str, Any]] = queue.Queue()
        self._server: Any = None
        self.base_url = ""
        self._init_billing()
        self.url_map = Map(self._routes())

    # --- running ----------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> FakeStripe:
        self._server = make_server(host, port, self, threaded=True, request_handler=_Quiet)
        self.base_url = f"http://{host}:{self._server.server_port}"
        # A short poll interval lets `stop()` return at once (tests start their own fakes).
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        threading.Thread(target=self._deliver_outbox, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None

    def url(self, path: str) -> str:
        return self.base_url + path

    def app_config(self) -> dict[str, str]:
        """The app settings that point the platform at this fake."""
        return {
            "STRIPE_SECRET_KEY": self.secret_key,
            "STRIPE_PUBLISHABLE_KEY": self.publishable_key,
            "STRIPE_WEBHOOK_SECRET": self.webhook_secret,
            "STRIPE_CONNECT_CLIENT_ID": self.client_id,
            "STRIPE_API_BASE": self.base_url,
            "STRIPE_CONNECT_BASE": self.base_url,
        }

    # --- WSGI -------------------------------------------------------------------------

    def _routes(self) -> list[Rule]:
        return [
            Rule("/v1/checkout/sessions", methods=["POST"], endpoint="create_session"),
            Rule("/v1/checkout/sessions/<sid>", methods=["GET"], endpoint="get_session"),
            Rule("/v1/checkout/sessions/<sid>/expire", methods=["POST"], endpoint="expire"),
            Rule("/v1/payment_intents/<pid>", methods=["GET"], endpoint="get_payment_intent"),
            Rule("/v1/charges/<cid>", methods=["GET"], endpoint="get_charge"),
            Rule("/v1/refunds", methods=["POST"], endpoint="create_refund"),
            Rule("/v1/refunds/<rid>", methods=["GET"], endpoint="get_refund"),
            Rule("/oauth/authorize", methods=["GET"], endpoint="authorize_page"),
            Rule("/oauth/authorize", methods=["POST"], endpoint="authorize_decision"),
            Rule("/oauth/token", methods=["POST"], endpoint="oauth_token"),
            Rule("/oauth/deauthorize", methods=["POST"], endpoint="oauth_deauthorize"),
            Rule("/pay/<sid>", methods=["GET"], endpoint="pay_page"),
            Rule("/pay/<sid>", methods=["POST"], endpoint="pay_action"),
            *self._billing_routes(),
        ]

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        try:
            endpoint, args = self.url_map.bind_to_environ(environ).match()
            if request.path.startswith("/v1/"):
                response = self._api(request, endpoint, args)
            elif endpoint in ("oauth_token", "oauth_deauthorize"):
                response = self._oauth_api(request, endpoint)
            else:
                response = getattr(self, endpoint)(request, **args)
        except NotFound:
            if request.path.startswith("/v1/"):
                error = ApiError(
                    404, f"Unrecognized request URL ({request.method}: {request.path})."
                )
                response = _json(error.body(), error.status)
            else:
                response = _page("Not found", "<p>There is nothing at this address.</p>", 404)
        except HTTPException as error:
            response = error.get_response(environ)
        return response(environ, start_response)

    def _api(self, request: Request, endpoint: str, args: Mapping[str, Any]) -> Response:
        try:
            self._authenticate(request)
            account_id = request.headers.get("Stripe-Account") or None
            params = decode_params(
                request.form.items(multi=True)
                if request.method == "POST"
                else request.args.items(multi=True)
            )
            self.requests.append((request.method, request.path, account_id))
            key = request.headers.get("Idempotency-Key")
            fingerprint = json.dumps([request.path, params], sort_keys=True)
            with self._lock:
                space = self._space(account_id)
                if key and request.method == "POST":
                    stored = self._idempotent.get((account_id, key))
                    if stored is not None:
                        if stored[0] != fingerprint:
                            raise ApiError(
                                400,
                                "Keys for idempotent requests can only be used with the same "
                                "parameters they were first used with. Try using a key other "
                                f"than '{key}' if you meant to execute a different request.",
                                type="idempotency_error",
                            )
                        replay = Response(stored[2], stored[1], mimetype="application/json")
                        replay.headers["Idempotent-Replayed"] = "true"
                        return replay
                try:
                    body, status = getattr(self, endpoint)(space, params, **args), 200
                except ApiError as error:
                    body, status = error.body(), error.status
                encoded = json.dumps(body).encode()
                if key and request.method == "POST" and status < 500:
                    self._idempotent[(account_id, key)] = (fingerprint, status, encoded)
        except ApiError as error:
            return _json(error.body(), error.status)
        response = Response(encoded, status, mimetype="application/json")
        response.headers["Request-Id"] = new_id("req_", 14)
        return response

    def _authenticate(self, request: Request) -> None:
        auth = request.headers.get("Authorization", "")
        key = auth[7:] if auth.startswith("Bearer ") else ""
        if not key:
            raise ApiError(
                401,
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth.",
            )
        if not hmac.compare_digest(key, self.secret_key):
            raise ApiError(401, f"Invalid API Key provided: {key[:8]}***{key[-4:]}")

    def _space(self, account_id: str | None) -> Account:
        if account_id is None:
            return self._platform
        account = self._accounts.get(account_id)
        if account is None or not account.authorized:
            raise ApiError(
                403,
                f"The provided key '{self.secret_key[:8]}***' does not have access to account "
                f"'{account_id}' (or that account does not exist). Application access may "
                "have been revoked.",
                code="account_invalid",
            )
        return account

    # --- Checkout sessions ------------------------------------------------------------

    _SESSION_PARAMS = (
        "mode",
        "line_items",
        "success_url",
        "cancel_url",
        "metadata",
        "expires_at",
        "customer_email",
        "client_reference_id",
        "payment_intent_data",
        "payment_method_types",
        "locale",
        "submit_type",
        "expand",
    )
    _INTENT_DATA_PARAMS = ("metadata", "application_fee_amount", "description", "receipt_email")

    def create_session(self, space: Account, params: dict[str, Any]) -> dict[str, Any]:
        mode = _require(params, "mode")
        if mode == "subscription":
            return self._create_subscription_session(space, params)
        _reject_unknown(params, self._SESSION_PARAMS)
        if mode != "payment":
            raise ApiError(
                400,
                f"The fake Stripe supports mode=payment and mode=subscription, not {mode!r}.",
                param="mode",
            )
        items = _require(params, "line_items")
        if not isinstance(items, list) or not items:
            raise ApiError(400, "Invalid array", param="line_items")
        lines, currencies = [], set()
        for n, item in enumerate(items):
            prefix = f"line_items[{n}]"
            if not isinstance(item, dict):
                raise ApiError(400, "Invalid object", param=prefix)
            _reject_unknown(item, ("price_data", "quantity", "price"), prefix)
            if "price" in item:
                raise missing("price", str(item["price"]), f"{prefix}[price]")
            data = _require(item, "price_data", f"{prefix}.")
            _reject_unknown(
                data, ("currency", "unit_amount", "product_data"), f"{prefix}[price_data]"
            )
            currency = str(_require(data, "currency", f"{prefix}[price_data].")).lower()
            amount = _int(_require(data, "unit_amount", f"{prefix}[price_data]."), "unit_amount")
            product = _require(data, "product_data", f"{prefix}[price_data].")
            name = _require(product, "name", f"{prefix}[price_data][product_data].")
            quantity = _int(_require(item, "quantity", f"{prefix}."), "quantity", minimum=1)
            currencies.add(currency)
            lines.append(
                {
                    "id": new_id("li_"),
                    "object": "item",
                    "amount_subtotal": amount * quantity,
                    "amount_total": amount * quantity,
                    "currency": currency,
                    "description": name,
                    "quantity": quantity,
                    "price": {"object": "price", "currency": currency, "unit_amount": amount},
                }
            )
        if len(currencies) > 1:
            raise ApiError(
                400, "Checkout does not support multiple currencies.", param="line_items"
            )
        success_url = _url(_require(params, "success_url"), "success_url")
        cancel_url = _url(params["cancel_url"], "cancel_url") if params.get("cancel_url") else None
        now = int(time.time())
        expires_at = _int(params.get("expires_at") or now + 24 * 3600, "expires_at")
        if not _MIN_EXPIRY <= expires_at - now <= _MAX_EXPIRY:
            raise ApiError(
                400,
                "The `expires_at` timestamp must be between 30 minutes and 24 hours from "
                "Checkout Session creation.",
                param="expires_at",
            )
        intent_data = params.get("payment_intent_data") or {}
        _reject_unknown(intent_data, self._INTENT_DATA_PARAMS, "payment_intent_data")
        fee = intent_data.get("application_fee_amount")
        if fee is not None and space.id is None:
            raise ApiError(
                400,
                "Can only apply an application_fee_amount when the PaymentIntent is attempting "
                "a direct payment (using an OAuth key or Stripe-Account header).",
                param="payment_intent_data[application_fee_amount]",
            )
        total = sum(line["amount_total"] for line in lines)
        if total < 50:  # Stripe's minimum charge is about 0.50 in most currencies
            raise ApiError(
                400,
                "The Checkout Session's total amount due must add up to at least 0.50 "
                f"{next(iter(currencies))}.",
                param="line_items",
            )
        session_id = new_id("cs_test_", 58)
        session = {
            "id": session_id,
            "object": "checkout.session",
            "after_expiration": None,
            "allow_promotion_codes": None,
            "amount_subtotal": total,
            "amount_total": total,
            "automatic_tax": {"enabled": False, "liability": None, "status": None},
            "billing_address_collection": None,
            "cancel_url": cancel_url,
            "client_reference_id": params.get("client_reference_id"),
            "created": now,
            "currency": currencies.pop(),
            "customer": None,
            "customer_creation": "if_required",
            "customer_details": None,
            "customer_email": params.get("customer_email"),
            "expires_at": expires_at,
            "livemode": False,
            "locale": params.get("locale"),
            "metadata": _metadata(params.get("metadata")),
            "mode": "payment",
            "payment_intent": None,
            "payment_link": None,
            "payment_method_types": params.get("payment_method_types") or ["card"],
            "payment_status": "unpaid",
            "status": "open",
            "submit_type": params.get("submit_type"),
            "success_url": success_url,
            "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
            "ui_mode": "hosted",
            "url": self.url(f"/pay/{session_id}"),
        }
        space.table("checkout.session")[session_id] = session
        space.table("line_items")[session_id] = {"lines": lines, "intent_data": intent_data}
        return self._expand_session(space, session, params.get("expand"))

    def _session(self, space: Account, session_id: str) -> dict[str, Any]:
        session = space.table("checkout.session").get(session_id)
        if session is None:
            raise missing("checkout.session", session_id)
        return session

    def _expand_session(self, space: Account, session: dict[str, Any], expand: Any) -> dict:
        shown = dict(session)
        for path in expand or []:
            if path == "payment_intent" and session["payment_intent"]:
                shown["payment_intent"] = space.table("payment_intent")[session["payment_intent"]]
            elif path == "line_items":
                lines = space.table("line_items")[session["id"]]["lines"]
                shown["line_items"] = {
                    "object": "list",
                    "data": lines,
                    "has_more": False,
                    "url": f"/v1/checkout/sessions/{session['id']}/line_items",
                }
            elif path in ("customer", "subscription", "invoice") and path in session:
                self._expand_path(space, shown, [path], path)
        return shown

    def get_session(self, space: Account, params: dict[str, Any], sid: str) -> dict[str, Any]:
        return self._expand_session(space, self._session(space, sid), params.get("expand"))

    def expire(self, space: Account, params: dict[str, Any], sid: str) -> dict[str, Any]:
        session = self._session(space, sid)
        if session["status"] != "open":
            raise ApiError(400, 'Only Checkout Sessions with a status in ["open"] can be expired.')
        # Sent from the background, as Stripe does: never inside the caller's request.
        self._outbox.put(self._mark_expired(space, session))
        return dict(session)

    def _mark_expired(self, space: Account, session: dict[str, Any]) -> dict[str, Any]:
        session.update(status="expired", url=None)
        return self.make_event("checkout.session.expired", dict(session), account=space.id)

    # --- payments and refunds ---------------------------------------------------------

    def get_payment_intent(self, space: Account, params: dict[str, Any], pid: str) -> dict:
        intent = space.table("payment_intent").get(pid)
        if intent is None:
            raise missing("payment_intent", pid)
        return dict(intent)

    def get_charge(self, space: Account, params: dict[str, Any], cid: str) -> dict:
        charge = space.table("charge").get(cid)
        if charge is None:
            raise missing("charge", cid)
        return dict(charge)

    def get_refund(self, space: Account, params: dict[str, Any], rid: str) -> dict:
        refund = space.table("refund").get(rid)
        if refund is None:
            raise missing("refund", rid)
        return dict(refund)

    def create_refund(self, space: Account, params: dict[str, Any]) -> dict[str, Any]:
        _reject_unknown(params, ("payment_intent", "charge", "amount", "reason", "metadata"))
        if params.get("payment_intent"):
            intent = space.table("payment_intent").get(params["payment_intent"])
            if intent is None:
                raise missing("payment_intent", params["payment_intent"], "payment_intent")
            charge = space.table("charge").get(intent["latest_charge"] or "")
            if charge is None:
                raise ApiError(
                    400,
                    f"This PaymentIntent ({intent['id']}) does not have a successful charge to "
                    "refund.",
                    param="payment_intent",
                )
        elif params.get("charge"):
            charge = space.table("charge").get(params["charge"])
            if charge is None:
                raise missing("charge", params["charge"], "charge")
        else:
            raise ApiError(
                400,
                "One of the following params should be provided for this "
                "request: payment_intent or charge.",
            )
        left = charge["amount"] - charge["amount_refunded"]
        if left <= 0:
            raise ApiError(
                400,
                f"Charge {charge['id']} has already been refunded.",
                code="charge_already_refunded",
            )
        amount = _int(params.get("amount", left), "amount", minimum=1)
        if amount > left:
            raise ApiError(
                400,
                f"Refund amount ({amount}) is greater than unrefunded amount on charge ({left})",
                code="amount_too_large",
                param="amount",
            )
        reason = params.get("reason")
        if reason not in (None, "duplicate", "fraudulent", "requested_by_customer"):
            raise ApiError(400, f"Invalid reason: {reason}", param="reason")
        refund = {
            "id": new_id("re_"),
            "object": "refund",
            "amount": amount,
            "balance_transaction": new_id("txn_"),
            "charge": charge["id"],
            "created": int(time.time()),
            "currency": charge["currency"],
            "metadata": _metadata(params.get("metadata")),
            "payment_intent": charge["payment_intent"],
            "reason": reason,
            "status": "succeeded",
        }
        space.table("refund")[refund["id"]] = refund
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        return refund

    # --- the hosted payment page ------------------------------------------------------

    def _find_session(self, session_id: str) -> tuple[Account, dict[str, Any]]:
        for space in (self._platform, *self._accounts.values()):
            session = space.table("checkout.session").get(session_id)
            if session is not None:
                return space, session
        raise NotFound()

    def pay_page(self, request: Request, sid: str, error: str = "", status: int = 200) -> Response:
        with self._lock:
            space, session = self._find_session(sid)
            lines = list(space.table("line_items")[sid]["lines"])
            session = dict(session)
        if session["status"] != "open" or session["expires_at"] < time.time():
            what = "was paid already" if session["status"] == "complete" else "has expired"
            return _page("Checkout unavailable", f"<p>This checkout session {what}.</p>", 410)
        rows = "".join(
            f"<tr><td>{html.escape(line['description'])}</td><td>{line['quantity']}</td>"
            f"<td>{_money(line['amount_total'], line['currency'])}</td></tr>"
            for line in lines
        )
        email = html.escape(session["customer_email"] or "")
        with self._lock:
            plan = self._plan_note(space, session)
        alert = f'<p role="alert" class="error">{html.escape(error)}</p>' if error else ""
        body = f"""
<p>Fake Stripe Checkout for account {html.escape(space.id or "platform")}.</p>
<table><thead><tr><th scope="col">Item</th><th scope="col">Quantity</th>
<th scope="col">Amount</th></tr></thead><tbody>{rows}</tbody></table>
<p>Total: <strong id="total">{_money(session["amount_total"], session["currency"])}</strong></p>
{plan}{alert}
<form method="post">
  <label for="email">Email</label>
  <input id="email" name="email" type="email" value="{email or "shopper@example.com"}">
  <label for="card">Card number</label>
  <input id="card" name="card" value="4242 4242 4242 4242" inputmode="numeric">
  <button type="submit" name="action" value="pay">Pay</button>
  <button type="submit" name="action" value="decline">Pay with a declined card</button>
  <button type="submit" name="action" value="cancel">Cancel</button>
</form>"""
        return _page("Pay", body, status)

    def pay_action(self, request: Request, sid: str) -> Response:
        action = request.form.get("action")
        if action == "cancel":
            with self._lock:
                _, session = self._find_session(sid)
                target = session["cancel_url"] or session["success_url"]
            return _redirect(target)
        if action == "decline" or request.form.get("card", "").replace(" ", "").startswith(
            "4000000000000002"
        ):
            return self.pay_page(request, sid, "Your card was declined.", 402)
        try:
            success_url = self.pay(sid, email=request.form.get("email") or None)
        except ApiError as error:
            return _page("Checkout unavailable", f"<p>{html.escape(error.message)}</p>", 410)
        return _redirect(success_url)

    def pay(self, session_id: str, *, email: str | None = None, name: str = "Sam Shopper") -> str:
        """Complete a session as "Pay" does; returns the success URL to send the browser to."""
        if self.session(session_id)["mode"] == "subscription":
            return self._pay_subscription(session_id, email=email, name=name)
        with self._lock:
            space, session = self._find_session(session_id)
            if session["status"] != "open" or session["expires_at"] < time.time():
                raise ApiError(400, f"This checkout session is {session['status']}.")
            extra = space.table("line_items")[session_id]["intent_data"]
            now = int(time.time())
            intent_id, charge_id = new_id("pi_"), new_id("ch_")
            amount, currency = session["amount_total"], session["currency"]
            intent = {
                "id": intent_id,
                "object": "payment_intent",
                "amount": amount,
                "amount_capturable": 0,
                "amount_received": amount,
                "application_fee_amount": _int(extra["application_fee_amount"], "fee")
                if extra.get("application_fee_amount") is not None
                else None,
                "created": now,
                "currency": currency,
                "description": extra.get("description"),
                "latest_charge": charge_id,
                "livemode": False,
                "metadata": _metadata(extra.get("metadata")),
                "payment_method_types": ["card"],
                "status": "succeeded",
            }
            charge = {
                "id": charge_id,
                "object": "charge",
                "amount": amount,
                "amount_captured": amount,
                "amount_refunded": 0,
                "captured": True,
                "created": now,
                "currency": currency,
                "metadata": intent["metadata"],
                "paid": True,
                "payment_intent": intent_id,
                "refunded": False,
                "status": "succeeded",
            }
            space.table("payment_intent")[intent_id] = intent
            space.table("charge")[charge_id] = charge
            session.update(
                status="complete",
                payment_status="paid",
                payment_intent=intent_id,
                url=None,
                customer_details={
                    "address": None,
                    "email": email or session["customer_email"] or "shopper@example.com",
                    "name": name,
                    "phone": None,
                    "tax_exempt": "none",
                    "tax_ids": [],
                },
            )
            event = self.make_event("checkout.session.completed", dict(session), account=space.id)
            success_url = session["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id)
        if self.sync_payment_webhooks:
            self._send_or_hold(event)
        else:
            self._outbox.put(event)
        return success_url

    # --- Connect OAuth ----------------------------------------------------------------

    def authorize_page(self, request: Request) -> Response:
        args = request.args
        if args.get("client_id") != self.client_id:
            return _page("Error", "<p>Invalid client_id: no such application.</p>", 400)
        if args.get("response_type", "code") != "code":
            return _page("Error", "<p>Invalid response_type: use code.</p>", 400)
        if not args.get("redirect_uri"):
            return _page("Error", "<p>No redirect_uri: the fake has no default one.</p>", 400)
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in args.items(multi=True)
        )
        email = html.escape(args.get("stripe_user[email]", ""))
        body = f"""
<p>Storefront (fake) wants to connect to your Stripe account{f" ({email})" if email else ""}.</p>
<form method="post">
  {hidden}
  <label for="account">Existing account id (optional: empty makes a new account)</label>
  <input id="account" name="account" value="">
  <button type="submit" name="decision" value="allow">Authorize</button>
  <button type="submit" name="decision" value="deny">Deny</button>
</form>"""
        return _page("Connect with Stripe", body)

    def authorize_decision(self, request: Request) -> Response:
        form = request.form
        if form.get("client_id") != self.client_id or not form.get("redirect_uri"):
            return _page("Error", "<p>Invalid authorization request.</p>", 400)
        redirect_uri = form["redirect_uri"]
        answer: dict[str, str] = {}
        if form.get("decision") == "allow":
            account_id = self.connect_account(form.get("account") or None)
            code = new_id("ac_")
            with self._lock:
                self._codes[code] = {"account": account_id, "scope": form.get("scope", "read_only")}
            answer = {"code": code, "scope": form.get("scope", "read_only")}
        else:
            answer = {"error": "access_denied", "error_description": "The user denied your request"}
        if form.get("state") is not None:
            answer["state"] = form["state"]
        separator = "&" if "?" in redirect_uri else "?"
        return _redirect(f"{redirect_uri}{separator}{urlencode(answer)}", 302)

    def _oauth_api(self, request: Request, endpoint: str) -> Response:
        try:
            try:
                self._authenticate(request)
            except ApiError as error:
                raise OAuthApiError(401, "invalid_client", error.message) from None
            params = decode_params(request.form.items(multi=True))
            self.requests.append((request.method, request.path, None))
            with self._lock:
                body = getattr(self, endpoint)(params)
        except OAuthApiError as error:
            return _json(
                {"error": error.error, "error_description": error.description}, error.status
            )
        return _json(body)

    def oauth_token(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("grant_type") != "authorization_code":
            raise OAuthApiError(400, "unsupported_grant_type", "Only authorization_code here.")
        code = str(params.get("code") or "")
        grant = self._codes.pop(code, None)
        if grant is None:
            raise OAuthApiError(400, "invalid_grant", f"Authorization code does not exist: {code}")
        return {
            "access_token": new_id("sk_test_"),
            "livemode": False,
            "refresh_token": new_id("rt_"),
            "scope": grant["scope"],
            "stripe_publishable_key": new_id("pk_test_"),
            "stripe_user_id": grant["account"],
            "token_type": "bearer",
        }

    def oauth_deauthorize(self, params: dict[str, Any]) -> dict[str, Any]:
        account_id = str(params.get("stripe_user_id") or "")
        account = self._accounts.get(account_id)
        if params.get("client_id") != self.client_id or account is None or not account.authorized:
            raise OAuthApiError(
                401,
                "invalid_client",
                f"This application is not connected to stripe account {account_id}, or that "
                "account does not exist.",
            )
        account.authorized = False
        self._outbox.put(self._deauthorized_event(account_id))
        return {"stripe_user_id": account_id}

    def _deauthorized_event(self, account_id: str) -> dict[str, Any]:
        application = {"id": self.client_id, "object": "application", "name": "Storefront"}
        return self.make_event("account.application.deauthorized", application, account=account_id)

    # --- webhooks ---------------------------------------------------------------------

    def make_event(
        self,
        type: str,
        obj: Mapping[str, Any],
        *,
        account: str | None = None,
        created: int | None = None,
        event_id: str | None = None,
        previous_attributes: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """An event in Stripe's shape (not sent: see `deliver`)."""
        data: dict[str, Any] = {"object": dict(obj)}
        if previous_attributes is not None:
            data["previous_attributes"] = dict(previous_attributes)
        event: dict[str, Any] = {
            "id": event_id or new_id("evt_"),
            "object": "event",
            "api_version": API_VERSION,
            "created": created or int(time.time()),
            "data": data,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": type,
        }
        if account:
            event["account"] = account
        return event

    def signature_header(
        self, payload: bytes, *, timestamp: int | None = None, secret: str | None = None
    ) -> str:
        """`Stripe-Signature` as Stripe computes it: HMAC-SHA256 of "<t>.<payload>"."""
        t = int(time.time()) if timestamp is None else timestamp
        signed = f"{t}.".encode() + payload
        mac = hmac.new((secret or self.webhook_secret).encode(), signed, hashlib.sha256)
        return f"t={t},v1={mac.hexdigest()}"

    def deliver(
        self,
        event: Mapping[str, Any],
        *,
        timestamp: int | None = None,
        secret: str | None = None,
        signature: str | None = None,
        target: WebhookTarget | None = None,
    ) -> Delivery:
        """POST `event` to the webhook target now, signed (or with `signature` as given)."""
        target = target or self.webhook_target
        if target is None:
            raise RuntimeError("the fake Stripe has no webhook_target to deliver to")
        payload = json.dumps(event, indent=2).encode()  # Stripe's bodies are pretty-printed
        header = (
            signature
            if signature is not None
            else self.signature_header(payload, timestamp=timestamp, secret=secret)
        )
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            "Stripe-Signature": header,
        }
        status, body = target(payload, headers)
        delivery = Delivery(str(event.get("id")), str(event.get("type")), status, body)
        with self._lock:
            self.deliveries.append(delivery)
        return delivery

    def deliver_concurrently(self, event: Mapping[str, Any], times: int = 5) -> list[Delivery]:
        """Deliver the same event `times` times at once, from as many threads."""
        barrier = threading.Barrier(times)
        results: list[Delivery | BaseException] = []

        def send() -> None:
            barrier.wait()
            try:
                results.append(self.deliver(event))
            except BaseException as error:
                results.append(error)

        threads = [threading.Thread(target=send) for _ in range(times)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            raise failures[0]
        return [r for r in results if isinstance(r, Delivery)]

    def send_event(self, type: str, obj: Mapping[str, Any], **kwargs: Any) -> Delivery:
        """Make an event and deliver it (kwargs: account, created, event_id)."""
        return self.deliver(self.make_event(type, obj, **kwargs))

    def expire_session(self, session_id: str, *, deliver: bool = True) -> Delivery | None:
        """Let a session run out as Stripe does at its expires_at, sending the event."""
        with self._lock:
            space, session = self._find_session(session_id)
            if session["status"] != "open":
                raise ApiError(400, f"This checkout session is {session['status']}.")
            event = self._mark_expired(space, session)
        return self._send_or_hold(event) if deliver else None

    @contextlib.contextmanager
    def hold_webhooks(self) -> Iterator[list[dict[str, Any]]]:
        """Collect the events the fake would send instead of sending them (see
        `release_webhooks`)."""
        with self._lock:
            self._held = []
            held = self._held
        try:
            yield held
        finally:
            with self._lock:
                self._held = None

    def release_webhooks(self, events: list[dict[str, Any]], *, reverse: bool = False) -> list:
        """Deliver held events, in order or reversed."""
        ordered = list(reversed(events)) if reverse else list(events)
        return [self.deliver(event) for event in ordered]

    def wait_for_webhooks(self, timeout: float = 30) -> None:
        """Wait until events sent in the background (expire, deauthorize) are delivered."""
        deadline = time.monotonic() + timeout
        while self._outbox.unfinished_tasks:
            if time.monotonic() > deadline:
                raise TimeoutError("webhooks still pending")
            time.sleep(0.01)

    def _send_or_hold(self, event: dict[str, Any]) -> Delivery | None:
        with self._lock:
            if self._held is not None:
                self._held.append(event)
                return None
        if self.webhook_target is None:
            return None
        return self.deliver(event)

    def _deliver_outbox(self) -> None:
        while True:
            event = self._outbox.get()
            try:
                self._send_or_hold(event)
            except Exception as error:  # a target that is gone: Stripe would retry later
                with self._lock:
                    self.deliveries.append(Delivery(event["id"], event["type"], 0, repr(error)))
            finally:
                self._outbox.task_done()

    # --- accounts and inspection ------------------------------------------------------

    def connect_account(self, account_id: str | None = None) -> str:
        """A connected account the platform may act on (as after OAuth); made if new."""
        with self._lock:
            account_id = account_id or new_id("acct_", 16)
            account = self._accounts.setdefault(account_id, Account(account_id))
            account.authorized = True
            return account_id

    def revoke_account(self, account_id: str) -> Delivery | None:
        """The merchant disconnects the platform from Stripe's side: access ends, and
        `account.application.deauthorized` is sent."""
        with self._lock:
            self._accounts[account_id].authorized = False
        return self._send_or_hold(self._deauthorized_event(account_id))

    def is_authorized(self, account_id: str) -> bool:
        account = self._accounts.get(account_id)
        return account is not None and account.authorized

    def session(self, session_id: str) -> dict[str, Any]:
        """A session's current state, wherever it lives."""
        with self._lock:
            return dict(self._find_session(session_id)[1])

    def objects(self, kind: str, account_id: str | None = None) -> list[dict[str, Any]]:
        """Every object of `kind` ("checkout.session", "refund", "customer", "price",
        "subscription", "invoice", ...) in an account, oldest first."""
        with self._lock:
            space = self._platform if account_id is None else self._accounts[account_id]
            return [copy.deepcopy(o) for o in space.table(kind).values()]


# --- small HTTP helpers ---------------------------------------------------------------


class _Quiet(WSGIRequestHandler):
    """No access log: `FakeStripe.requests` records what was asked."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status, mimetype="application/json")


def _redirect(location: str, status: int = 303) -> Response:
    return Response("", status, headers={"Location": location})


def _money(amount: int, currency: str) -> str:
    return f"{amount / 100:.2f} {currency.upper()}"


def _page(title: str, body: str, status: int = 200) -> Response:
    document = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)} — Fake Stripe</title></head>
<body><main><h1>{html.escape(title)}</h1>{body}</main></body></html>"""
    return Response(document, status, mimetype="text/html")


def main() -> None:
    parser = argparse.ArgumentParser(description="Run a fake Stripe for local development.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument("--webhook-url", default="http://localhost:5000/webhooks/stripe")
    options = parser.parse_args()
    fake = FakeStripe().start(options.host, options.port)
    fake.webhook_target = url_target(options.webhook_url)
    print("Fake Stripe at", fake.base_url, "- start the app with:")
    for name, value in fake.app_config().items():
        print(f"  {name}={value}")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    # Run the importable copy of this module: the one whose ApiError stripe_billing raises.
    from tests.fakes import stripe_server

    stripe_server.main()
