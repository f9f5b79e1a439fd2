"""Stripe Billing for the fake Stripe: customers, prices, subscriptions, invoices and the
customer portal, as `BillingMixin` (which `FakeStripe` inherits).

The objects have the shapes of API version 2026-10-28 ("basil" and later): a
subscription's `current_period_start/end` live on its items, an invoice names its
subscription under `parent.subscription_details`, and prices are created with
`product_data[name]` or an existing `product`.

What it models, in whole cents: a subscription has one item (one price times a
quantity). Invoices are created, finalized and charged at once with the subscription's
(or else the customer's) default card; `decline_cards(customer)` makes that fail. A
price change of the same interval prorates as Stripe does (credit for the unused time on
the old price, charge for the remaining time on the new); a change of interval restarts
the period now and bills at once. A customer's credit (`balance` < 0) is applied to the
next invoice.

Events caused by API calls go out from the background queue, as Stripe's do; those of
the hosted pages ("Pay", the portal's buttons) before their redirect; those of the test
helpers (`renew`, `retry_invoice`, `update_card`, `trial_will_end`) synchronously, so a
test sees their effect on return (or holds them with `hold_webhooks()`).
"""

from __future__ import annotations

import calendar
import copy
import html
import secrets
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from werkzeug.exceptions import NotFound
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

_DAY = 24 * 3600
# Checkout wants a trial to end at least 48 hours ahead (and within two years).
_MIN_TRIAL, _MAX_TRIAL = 2 * _DAY, 730 * _DAY
_RETRY_AFTER = 3 * _DAY  # when Smart Retries tries a failed invoice again
_INTERVALS = ("day", "week", "month", "year")
_PRORATION = ("create_prorations", "always_invoice", "none")
_PAGING = ("limit", "starting_after", "ending_before", "expand")
_LIVE = ("active", "trialing", "past_due", "unpaid", "incomplete")

# Fields that hold an id and may be expanded into the object, and the table it lives in.
_EXPANDABLE = {
    "customer": "customer",
    "default_payment_method": "payment_method",
    "latest_invoice": "invoice",
    "product": "product",
    "subscription": "subscription",
    "invoice": "invoice",
}


def _now() -> int:
    return int(time.time())


def _snapshot(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy: events and answers must not change when the stored object does."""
    return copy.deepcopy(dict(obj))


def _changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """`previous_attributes`: the old values of the top-level fields that changed."""
    return {key: before.get(key) for key in after if before.get(key) != after[key]}


def _prorate(amount: int, part: int, whole: int) -> int:
    """round(amount * part / whole), halves away from zero, in integers (no floats)."""
    if whole <= 0:
        return 0
    sign = -1 if amount < 0 else 1
    return sign * ((2 * abs(amount) * part + whole) // (2 * whole))


def _shift(anchor: int, interval: str, count: int) -> int:
    """`anchor` plus `count` intervals; months keep the anchor's day where the month has
    it (Jan 31 -> Feb 28 -> Mar 31), as Stripe's billing cycles do."""
    if interval == "day":
        return anchor + count * _DAY
    if interval == "week":
        return anchor + count * 7 * _DAY
    start = datetime.fromtimestamp(anchor, UTC)
    months = start.month - 1 + count * (12 if interval == "year" else 1)
    year, month = start.year + months // 12, months % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return int(start.replace(year=year, month=month, day=day).timestamp())


def _next_end(anchor: int, after: int, interval: str, count: int) -> int:
    """The first cycle boundary from `anchor` that is later than `after`."""
    n = 1
    while _shift(anchor, interval, n * count) <= after:
        n += 1
    return _shift(anchor, interval, n * count)


def _date(ts: int) -> str:
    return time.strftime("%d %b %Y", time.gmtime(ts))


def _bool(value: Any, param: str) -> bool:
    if value in (True, "true"):
        return True
    if value in (False, "false"):
        return False
    raise core.ApiError(400, f"Invalid boolean: {value}", param=param)


def _every(recurring: Mapping[str, Any]) -> str:
    count, interval = recurring["interval_count"], recurring["interval"]
    return f"per {interval}" if count == 1 else f"every {count} {interval}s"


def _pdf(lines: Iterable[str]) -> bytes:
    """A small, valid one-page PDF showing `lines` (the "invoice PDF")."""
    text = "BT /F1 12 Tf 72 760 Td 16 TL " + " ".join(
        "({}) '".format(
            line.encode("latin-1", "replace")
            .decode("latin-1")
            .replace("\\", "\\\\")
            .replace("(", "\\(")
            .replace(")", "\\)")
        )
        for line in lines
    )
    stream = (text + " ET").encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


class BillingMixin:
    """Billing routes, handlers and test helpers; `FakeStripe` provides `_lock`,
    `_platform`, `_accounts`, `_outbox`, `_send_or_hold`, `make_event`, `url`, ..."""

    _lock: Any
    _platform: Any
    _accounts: dict[str, Any]
    _outbox: Any
    _declining: set[str]
    _pending_lines: dict[str, dict[str, Any]]
    sync_payment_webhooks: bool
    make_event: Any
    url: Any
    _send_or_hold: Any
    _find_session: Any
    _expand_session: Any

    def _billing_routes(self) -> list[Rule]:
        return [
            Rule("/v1/customers", methods=["POST"], endpoint="create_customer"),
            Rule("/v1/customers/<cid>", methods=["GET"], endpoint="get_customer"),
            Rule("/v1/customers/<cid>", methods=["POST"], endpoint="update_customer"),
            Rule("/v1/payment_methods/<pmid>", methods=["GET"], endpoint="get_payment_method"),
            Rule("/v1/products", methods=["POST"], endpoint="create_product"),
            Rule("/v1/products/<prid>", methods=["GET"], endpoint="get_product"),
            Rule("/v1/prices", methods=["POST"], endpoint="create_price"),
            Rule("/v1/prices", methods=["GET"], endpoint="list_prices"),
            Rule("/v1/prices/<prid>", methods=["GET"], endpoint="get_price"),
            Rule("/v1/subscriptions", methods=["GET"], endpoint="list_subscriptions"),
            Rule("/v1/subscriptions/<subid>", methods=["GET"], endpoint="get_subscription"),
            Rule("/v1/subscriptions/<subid>", methods=["POST"], endpoint="update_subscription"),
            Rule("/v1/subscriptions/<subid>", methods=["DELETE"], endpoint="cancel_subscription"),
            Rule("/v1/invoices", methods=["GET"], endpoint="list_invoices"),
            Rule("/v1/invoices/<iid>", methods=["GET"], endpoint="get_invoice"),
            Rule("/v1/billing_portal/sessions", methods=["POST"], endpoint="create_portal"),
            Rule("/portal/<bpsid>", methods=["GET"], endpoint="portal_page"),
            Rule("/portal/<bpsid>", methods=["POST"], endpoint="portal_action"),
            Rule("/invoices/<iid>", methods=["GET"], endpoint="invoice_page"),
            Rule("/invoices/<iid>/pdf", methods=["GET"], endpoint="invoice_pdf"),
        ]

    def _init_billing(self) -> None:
        self._declining = set()  # customers whose cards decline (`decline_cards`)
        self._pending_lines = {}  # invoice item id -> the invoice line it will be

    # --- lookups and shaping ----------------------------------------------------------

    def _spaces(self) -> list[Any]:
        return [self._platform, *self._accounts.values()]

    def _find(self, kind: str, object_id: str) -> tuple[Any, dict[str, Any]]:
        """An object of `kind` wherever it lives (for the test helpers and pages)."""
        for space in self._spaces():
            obj = space.table(kind).get(object_id)
            if obj is not None:
                return space, obj
        raise core.missing(kind, object_id)

    @staticmethod
    def _get(space: Any, kind: str, object_id: Any, param: str = "id") -> dict[str, Any]:
        obj = space.table(kind).get(str(object_id))
        if obj is None:
            raise core.missing(kind, str(object_id), param)
        return obj

    def _expanded(self, space: Any, obj: Mapping[str, Any], expand: Any) -> dict[str, Any]:
        """A copy of `obj` with the `expand[]` paths ("latest_invoice",
        "items.data.price.product", "data.customer" on lists) replaced by objects."""
        shown = _snapshot(obj)
        if expand in (None, ""):
            return shown
        for path in expand if isinstance(expand, list) else [expand]:
            self._expand_path(space, shown, str(path).split("."), str(path))
        return shown

    def _expand_path(self, space: Any, node: Any, parts: list[str], path: str) -> None:
        if isinstance(node, list):
            for element in node:
                self._expand_path(space, element, parts, path)
            return
        if not isinstance(node, dict) or parts[0] not in node:
            raise core.ApiError(400, f"This property cannot be expanded ({path}).", param="expand")
        key, rest = parts[0], parts[1:]
        if rest:
            self._expand_path(space, node[key], rest, path)
            return
        if key not in _EXPANDABLE:
            raise core.ApiError(400, f"This property cannot be expanded ({path}).", param="expand")
        if isinstance(node[key], str):
            found = space.table(_EXPANDABLE[key]).get(node[key])
            if found is not None:
                node[key] = _snapshot(found)

    def _list(
        self, space: Any, objects: list[dict[str, Any]], params: Mapping[str, Any], url: str
    ) -> dict[str, Any]:
        """Stripe's list object, newest first, with `limit` and `starting_after`."""
        limit = core._int(params.get("limit", 10), "limit", minimum=1)
        if limit > 100:
            raise core.ApiError(400, "This value must be less than or equal to 100.", param="limit")
        ordered = list(reversed(objects))  # tables keep creation order
        for name, step in (("starting_after", 1), ("ending_before", 0)):
            if params.get(name):
                ids = [o["id"] for o in ordered]
                if params[name] not in ids:
                    raise core.missing("object", str(params[name]), name)
                at = ids.index(params[name])
                ordered = ordered[at + 1 :] if step else ordered[:at]
        body = {
            "object": "list",
            "data": ordered[:limit],
            "has_more": len(ordered) > limit,
            "url": url,
        }
        return self._expanded(space, body, params.get("expand"))

    def _event(
        self,
        out: list[dict[str, Any]],
        space: Any,
        type: str,
        obj: Mapping[str, Any],
        previous: Mapping[str, Any] | None = None,
    ) -> None:
        """Add an event showing `obj` as it is now to `out` (sent later, in order)."""
        out.append(
            self.make_event(type, _snapshot(obj), account=space.id, previous_attributes=previous)
        )

    def _updated(
        self, out: list[dict[str, Any]], space: Any, sub: dict[str, Any], before: dict
    ) -> None:
        """`customer.subscription.updated` if anything changed since `before`."""
        previous = _changes(before, sub)
        if previous:
            self._event(out, space, "customer.subscription.updated", sub, previous)

    def _dispatch(self, events: list[dict[str, Any]], *, sync: bool) -> None:
        """Send now, in order (outside the lock), or from the background queue."""
        for event in events:
            if sync:
                self._send_or_hold(event)
            else:
                self._outbox.put(event)

    # --- customers, payment methods, products and prices ------------------------------

    _CUSTOMER_PARAMS = ("email", "name", "metadata", "description", "phone", "expand")

    def create_customer(self, space: Any, params: dict[str, Any]) -> dict[str, Any]:
        core._reject_unknown(params, self._CUSTOMER_PARAMS)
        customer = self._new_customer(
            space,
            email=params.get("email") or None,
            name=params.get("name") or None,
            description=params.get("description") or None,
            phone=params.get("phone") or None,
            metadata=core._metadata(params.get("metadata")),
        )
        return self._expanded(space, customer, params.get("expand"))

    def _new_customer(self, space: Any, **fields: Any) -> dict[str, Any]:
        customer = {
            "id": core.new_id("cus_", 14),
            "object": "customer",
            "address": None,
            "balance": 0,
            "created": _now(),
            "currency": None,
            "description": None,
            "email": None,
            "invoice_prefix": secrets.token_hex(4).upper(),
            "invoice_settings": {
                "custom_fields": None,
                "default_payment_method": None,
                "footer": None,
                "rendering_options": None,
            },
            "livemode": False,
            "metadata": {},
            "name": None,
            "next_invoice_sequence": 1,
            "phone": None,
            "preferred_locales": [],
            "tax_exempt": "none",
        }
        customer.update(fields)
        space.table("customer")[customer["id"]] = customer
        return customer

    def get_customer(self, space: Any, params: dict[str, Any], cid: str) -> dict[str, Any]:
        core._reject_unknown(params, ("expand",))
        return self._expanded(space, self._get(space, "customer", cid), params.get("expand"))

    def update_customer(self, space: Any, params: dict[str, Any], cid: str) -> dict[str, Any]:
        core._reject_unknown(params, (*self._CUSTOMER_PARAMS, "invoice_settings"))
        customer = self._get(space, "customer", cid)
        settings = params.get("invoice_settings") or {}
        core._reject_unknown(settings, ("default_payment_method",), "invoice_settings")
        if settings.get("default_payment_method"):
            pm = self._customer_pm(
                space, customer, settings["default_payment_method"], "invoice_settings"
            )
            customer["invoice_settings"]["default_payment_method"] = pm
        for name in ("email", "name", "description", "phone"):
            if name in params:
                customer[name] = params[name] or None
        if "metadata" in params:
            self._merge_metadata(customer, params["metadata"])
        return self._expanded(space, customer, params.get("expand"))

    def _customer_pm(self, space: Any, customer: dict, pm_id: Any, param: str) -> str:
        pm = space.table("payment_method").get(str(pm_id))
        if pm is None or pm["customer"] != customer["id"]:
            raise core.ApiError(
                400,
                f"The customer does not have a payment method with the ID {pm_id}. The "
                "payment method must be attached to the customer.",
                code="resource_missing",
                param=param,
            )
        return str(pm_id)

    @staticmethod
    def _merge_metadata(obj: dict[str, Any], value: Any) -> None:
        """Stripe's update semantics: keys merge, "" unsets one, metadata="" unsets all."""
        if value in (None, ""):
            obj["metadata"] = {}
            return
        merged = {**obj["metadata"], **core._metadata(value)}
        obj["metadata"] = {k: v for k, v in merged.items() if v != ""}

    def get_payment_method(self, space: Any, params: dict[str, Any], pmid: str) -> dict:
        core._reject_unknown(params, ("expand",))
        pm = self._get(space, "payment_method", pmid)
        return self._expanded(space, pm, params.get("expand"))

    def _attach_card(self, space: Any, customer: dict, brand: str, last4: str) -> dict:
        """A new card payment method on `customer`, made its default."""
        pm = {
            "id": core.new_id("pm_"),
            "object": "payment_method",
            "billing_details": {
                "address": None,
                "email": customer["email"],
                "name": customer["name"],
                "phone": None,
            },
            "card": {
                "brand": brand,
                "country": "US",
                "display_brand": brand,
                "exp_month": 12,
                "exp_year": datetime.now(UTC).year + 3,
                "funding": "credit",
                "last4": last4,
            },
            "created": _now(),
            "customer": customer["id"],
            "livemode": False,
            "metadata": {},
            "type": "card",
        }
        space.table("payment_method")[pm["id"]] = pm
        customer["invoice_settings"]["default_payment_method"] = pm["id"]
        return pm

    def create_product(self, space: Any, params: dict[str, Any]) -> dict[str, Any]:
        core._reject_unknown(params, ("name", "description", "metadata", "active", "expand"))
        product = self._new_product(
            space,
            core._require(params, "name"),
            core._metadata(params.get("metadata")),
            params.get("description") or None,
        )
        if "active" in params:
            product["active"] = _bool(params["active"], "active")
        return _snapshot(product)

    def _new_product(
        self, space: Any, name: str, metadata: dict[str, str], description: str | None = None
    ) -> dict[str, Any]:
        product = {
            "id": core.new_id("prod_", 14),
            "object": "product",
            "active": True,
            "created": _now(),
            "description": description,
            "livemode": False,
            "metadata": metadata,
            "name": str(name),
        }
        space.table("product")[product["id"]] = product
        return product

    def get_product(self, space: Any, params: dict[str, Any], prid: str) -> dict[str, Any]:
        core._reject_unknown(params, ("expand",))
        return _snapshot(self._get(space, "product", prid))

    _PRICE_PARAMS = (
        "currency",
        "unit_amount",
        "recurring",
        "product",
        "product_data",
        "lookup_key",
        "transfer_lookup_key",
        "metadata",
        "nickname",
        "active",
        "expand",
    )

    def create_price(self, space: Any, params: dict[str, Any]) -> dict[str, Any]:
        core._reject_unknown(params, self._PRICE_PARAMS)
        currency = str(core._require(params, "currency")).lower()
        if len(currency) != 3 or not currency.isalpha():
            raise core.ApiError(400, f"Invalid currency: {currency}.", param="currency")
        amount = core._int(core._require(params, "unit_amount"), "unit_amount")
        recurring = None
        if params.get("recurring") not in (None, ""):
            given = params["recurring"]
            if not isinstance(given, dict):
                raise core.ApiError(400, "Invalid object", param="recurring")
            core._reject_unknown(given, ("interval", "interval_count", "usage_type"), "recurring")
            interval = core._require(given, "interval", "recurring[")
            if interval not in _INTERVALS:
                raise core.ApiError(
                    400,
                    "Invalid recurring[interval]: must be one of day, month, week, or year",
                    param="recurring[interval]",
                )
            usage = given.get("usage_type", "licensed")
            if usage != "licensed":
                raise core.ApiError(
                    400, "The fake Stripe has licensed prices only.", param="recurring[usage_type]"
                )
            count = core._int(
                given.get("interval_count", 1), "recurring[interval_count]", minimum=1
            )
            recurring = {
                "interval": interval,
                "interval_count": count,
                "meter": None,
                "trial_period_days": None,
                "usage_type": "licensed",
            }
        if params.get("product") and params.get("product_data"):
            raise core.ApiError(
                400, "You may only specify one of these parameters: product, product_data."
            )
        if params.get("product"):
            product = self._get(space, "product", params["product"], "product")
        else:
            data = core._require(params, "product_data")
            if not isinstance(data, dict):
                raise core.ApiError(400, "Invalid object", param="product_data")
            core._reject_unknown(data, ("name", "metadata"), "product_data")
            product = self._new_product(
                space,
                core._require(data, "name", "product_data["),
                core._metadata(data.get("metadata"), "product_data[metadata]"),
            )
        lookup_key = params.get("lookup_key") or None
        if lookup_key is not None:
            holder = next(
                (p for p in space.table("price").values() if p["lookup_key"] == lookup_key), None
            )
            if holder is not None:
                if not _bool(params.get("transfer_lookup_key", False), "transfer_lookup_key"):
                    raise core.ApiError(
                        400,
                        f"A price (`{holder['id']}`) already uses that lookup key.",
                        param="lookup_key",
                    )
                holder["lookup_key"] = None
        price = {
            "id": core.new_id("price_"),
            "object": "price",
            "active": _bool(params.get("active", True), "active"),
            "billing_scheme": "per_unit",
            "created": _now(),
            "currency": currency,
            "livemode": False,
            "lookup_key": lookup_key,
            "metadata": core._metadata(params.get("metadata")),
            "nickname": params.get("nickname") or None,
            "product": product["id"],
            "recurring": recurring,
            "tax_behavior": "unspecified",
            "type": "recurring" if recurring else "one_time",
            "unit_amount": amount,
            "unit_amount_decimal": str(amount),
        }
        space.table("price")[price["id"]] = price
        return self._expanded(space, price, params.get("expand"))

    def get_price(self, space: Any, params: dict[str, Any], prid: str) -> dict[str, Any]:
        core._reject_unknown(params, ("expand",))
        return self._expanded(space, self._get(space, "price", prid), params.get("expand"))

    def list_prices(self, space: Any, params: dict[str, Any]) -> dict[str, Any]:
        core._reject_unknown(
            params,
            ("lookup_keys", "active", "product", "type", "currency", *_PAGING),
        )
        prices = list(space.table("price").values())
        keys = params.get("lookup_keys")
        if keys not in (None, ""):
            wanted = set(keys) if isinstance(keys, list) else {keys}
            prices = [p for p in prices if p["lookup_key"] in wanted]
        if "active" in params:
            active = _bool(params["active"], "active")
            prices = [p for p in prices if p["active"] == active]
        for name in ("product", "type", "currency"):
            if params.get(name):
                prices = [p for p in prices if p[name] == params[name]]
        return self._list(space, prices, params, "/v1/prices")

    def _product_name(self, space: Any, price: Mapping[str, Any]) -> str:
        product = space.table("product").get(price["product"])
        return product["name"] if product else price["product"]

    # --- Checkout in subscription mode ------------------------------------------------

    _SUBSCRIPTION_SESSION_PARAMS = (
        "mode",
        "line_items",
        "success_url",
        "cancel_url",
        "metadata",
        "expires_at",
        "customer",
        "customer_email",
        "client_reference_id",
        "subscription_data",
        "payment_method_types",
        "locale",
        "expand",
    )

    def _create_subscription_session(self, space: Any, params: dict[str, Any]) -> dict:
        """`POST /v1/checkout/sessions` with mode=subscription (called by create_session)."""
        core._reject_unknown(params, self._SUBSCRIPTION_SESSION_PARAMS)
        customer_id = params.get("customer") or None
        if customer_id and params.get("customer_email"):
            raise core.ApiError(
                400,
                "You may only specify one of these parameters: customer, customer_email.",
                param="customer_email",
            )
        if customer_id:
            self._get(space, "customer", customer_id, "customer")
        items = core._require(params, "line_items")
        if not isinstance(items, list) or not items:
            raise core.ApiError(400, "Invalid array", param="line_items")
        if len(items) > 1:
            raise core.ApiError(
                400, "The fake Stripe takes one price per subscription.", param="line_items"
            )
        item, prefix = items[0], "line_items[0]"
        if not isinstance(item, dict):
            raise core.ApiError(400, "Invalid object", param=prefix)
        core._reject_unknown(item, ("price", "quantity", "price_data"), prefix)
        if "price_data" in item:
            raise core.ApiError(
                400,
                "The fake Stripe takes line_items[0][price] (made with POST /v1/prices) in "
                "subscription mode.",
                param=f"{prefix}[price_data]",
            )
        price = self._get(
            space, "price", core._require(item, "price", f"{prefix}."), f"{prefix}[price]"
        )
        if price["type"] != "recurring":
            raise core.ApiError(
                400,
                "You must provide at least one recurring price in `subscription` mode when "
                "using prices.",
                param="line_items",
            )
        if not price["active"]:
            raise core.ApiError(
                400,
                "The price specified is inactive. This field only accepts active prices.",
                param=f"{prefix}[price]",
            )
        quantity = core._int(core._require(item, "quantity", f"{prefix}."), "quantity", minimum=1)
        success_url = core._url(core._require(params, "success_url"), "success_url")
        cancel_url = (
            core._url(params["cancel_url"], "cancel_url") if params.get("cancel_url") else None
        )
        now = _now()
        expires_at = core._int(params.get("expires_at") or now + _DAY, "expires_at")
        if not core._MIN_EXPIRY <= expires_at - now <= core._MAX_EXPIRY:
            raise core.ApiError(
                400,
                "The `expires_at` timestamp must be between 30 minutes and 24 hours from "
                "Checkout Session creation.",
                param="expires_at",
            )
        data = params.get("subscription_data") or {}
        if not isinstance(data, dict):
            raise core.ApiError(400, "Invalid object", param="subscription_data")
        core._reject_unknown(
            data, ("metadata", "trial_end", "trial_period_days", "description"), "subscription_data"
        )
        trial_end = None
        if data.get("trial_end") not in (None, "") and data.get("trial_period_days"):
            raise core.ApiError(
                400,
                "You may only specify one of these parameters: subscription_data[trial_end], "
                "subscription_data[trial_period_days].",
            )
        if data.get("trial_end") not in (None, ""):
            trial_end = core._int(data["trial_end"], "subscription_data[trial_end]")
            if not _MIN_TRIAL <= trial_end - now <= _MAX_TRIAL:
                raise core.ApiError(
                    400,
                    "The `trial_end` date has to be at least 2 days in the future (and at most "
                    "730 days).",
                    param="subscription_data[trial_end]",
                )
        elif data.get("trial_period_days"):
            days = core._int(
                data["trial_period_days"], "subscription_data[trial_period_days]", minimum=1
            )
            trial_end = now + days * _DAY
        amount = price["unit_amount"] * quantity
        due = 0 if trial_end else amount
        session_id = core.new_id("cs_test_", 58)
        session = {
            "id": session_id,
            "object": "checkout.session",
            "after_expiration": None,
            "allow_promotion_codes": None,
            "amount_subtotal": due,
            "amount_total": due,
            "automatic_tax": {"enabled": False, "liability": None, "status": None},
            "billing_address_collection": None,
            "cancel_url": cancel_url,
            "client_reference_id": params.get("client_reference_id"),
            "created": now,
            "currency": price["currency"],
            "customer": customer_id,
            "customer_creation": None,
            "customer_details": None,
            "customer_email": params.get("customer_email"),
            "expires_at": expires_at,
            "invoice": None,
            "livemode": False,
            "locale": params.get("locale"),
            "metadata": core._metadata(params.get("metadata")),
            "mode": "subscription",
            "payment_intent": None,
            "payment_link": None,
            "payment_method_types": params.get("payment_method_types") or ["card"],
            "payment_status": "unpaid",
            "status": "open",
            "submit_type": None,
            "subscription": None,
            "success_url": success_url,
            "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
            "ui_mode": "hosted",
            "url": self.url(f"/pay/{session_id}"),
        }
        line = {
            "id": core.new_id("li_"),
            "object": "item",
            "amount_subtotal": due,
            "amount_total": due,
            "currency": price["currency"],
            "description": self._product_name(space, price),
            "quantity": quantity,
            "price": _snapshot(price),
        }
        space.table("checkout.session")[session_id] = session
        space.table("line_items")[session_id] = {
            "lines": [line],
            "intent_data": {},
            "subscription_data": {
                "metadata": core._metadata(data.get("metadata"), "subscription_data[metadata]"),
                "trial_end": trial_end,
                "description": data.get("description") or None,
            },
        }
        return self._expand_session(space, session, params.get("expand"))

    def _plan_note(self, space: Any, session: Mapping[str, Any]) -> str:
        """What the hosted page adds for a subscription: the plan, its price, the trial."""
        if session.get("mode") != "subscription":
            return ""
        stored = space.table("line_items")[session["id"]]
        line, trial_end = stored["lines"][0], stored["subscription_data"]["trial_end"]
        price = line["price"]
        cost = core._money(price["unit_amount"] * line["quantity"], price["currency"])
        plan = (
            f"<strong>{html.escape(line['description'])}</strong>: {cost} "
            f"{_every(price['recurring'])}"
        )
        if trial_end:
            plan += f", after a free trial until {_date(trial_end)}"
        return f'<p id="plan">Subscription to {plan}.</p>'

    def _pay_subscription(self, session_id: str, *, email: str | None, name: str) -> str:
        """ "Pay" on a subscription session: a card, the subscription, its first invoice."""
        with self._lock:
            space, session = self._find_session(session_id)
            if session["status"] != "open" or session["expires_at"] < time.time():
                raise core.ApiError(400, f"This checkout session is {session['status']}.")
            stored = space.table("line_items")[session_id]
            line, data = stored["lines"][0], stored["subscription_data"]
            email = email or session["customer_email"] or "shopper@example.com"
            if session["customer"]:
                customer = space.table("customer")[session["customer"]]
            else:
                customer = self._new_customer(space, email=email, name=name)
            pm = self._attach_card(space, customer, "visa", "4242")
            price = space.table("price").get(line["price"]["id"], line["price"])
            sub, invoice_events = self._start_subscription(
                space, customer, price, line["quantity"], data, pm["id"]
            )
            session.update(
                status="complete",
                payment_status="paid" if sub["latest_invoice"] else "no_payment_required",
                customer=customer["id"],
                subscription=sub["id"],
                invoice=sub["latest_invoice"],
                url=None,
                customer_details={
                    "address": None,
                    "email": customer["email"] or email,
                    "name": customer["name"] or name,
                    "phone": None,
                    "tax_exempt": "none",
                    "tax_ids": [],
                },
            )
            events: list[dict[str, Any]] = []
            self._event(events, space, "customer.subscription.created", sub)
            events += invoice_events
            self._event(events, space, "checkout.session.completed", session)
            success_url = session["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id)
        self._dispatch(events, sync=self.sync_payment_webhooks)
        return success_url

    def _start_subscription(
        self,
        space: Any,
        customer: dict[str, Any],
        price: dict[str, Any],
        quantity: int,
        data: Mapping[str, Any],
        pm_id: str,
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """A new subscription: trialing, or active with its first invoice paid."""
        now, trial_end = _now(), data.get("trial_end")
        recurring = price["recurring"]
        sub_id = core.new_id("sub_")
        end = trial_end or _shift(now, recurring["interval"], recurring["interval_count"])
        sub = {
            "id": sub_id,
            "object": "subscription",
            "application": None,
            "billing_cycle_anchor": trial_end or now,
            "cancel_at": None,
            "cancel_at_period_end": False,
            "canceled_at": None,
            "cancellation_details": {"comment": None, "feedback": None, "reason": None},
            "collection_method": "charge_automatically",
            "created": now,
            "currency": price["currency"],
            "customer": customer["id"],
            "days_until_due": None,
            "default_payment_method": pm_id,
            "description": data.get("description"),
            "discounts": [],
            "ended_at": None,
            "items": {
                "object": "list",
                "data": [
                    {
                        "id": core.new_id("si_", 14),
                        "object": "subscription_item",
                        "created": now,
                        "current_period_end": end,
                        "current_period_start": now,
                        "metadata": {},
                        "price": _snapshot(price),
                        "quantity": quantity,
                        "subscription": sub_id,
                    }
                ],
                "has_more": False,
                "total_count": 1,
                "url": f"/v1/subscription_items?subscription={sub_id}",
            },
            "latest_invoice": None,
            "livemode": False,
            "metadata": dict(data.get("metadata") or {}),
            "pending_update": None,
            "start_date": now,
            "status": "trialing" if trial_end else "incomplete",
            "trial_end": trial_end,
            "trial_start": now if trial_end else None,
        }
        space.table("subscription")[sub_id] = sub
        events: list[dict[str, Any]] = []
        if not trial_end:
            item = sub["items"]["data"][0]
            self._bill(
                space,
                sub,
                "subscription_create",
                [self._price_line(space, sub, item, now, end)],
                events,
                card_ok=True,
            )
            sub["status"] = "active"
            self._settle(space, sub)
        return sub, events

    # --- invoices ---------------------------------------------------------------------

    def _price_line(
        self, space: Any, sub: Mapping[str, Any], item: Mapping[str, Any], start: int, end: int
    ) -> dict[str, Any]:
        """The line for one period of the item's price."""
        price, quantity = item["price"], item["quantity"]
        return self._line(
            space,
            sub,
            item,
            price["unit_amount"] * quantity,
            f"{quantity} × {self._product_name(space, price)} (at "  # noqa: RUF001 (Stripe's)
            f"{core._money(price['unit_amount'], price['currency'])} "
            f"{_every(price['recurring'])})",
            start,
            end,
        )

    def _line(
        self,
        space: Any,
        sub: Mapping[str, Any],
        item: Mapping[str, Any],
        amount: int,
        description: str,
        start: int,
        end: int,
        *,
        proration: bool = False,
    ) -> dict[str, Any]:
        price = item["price"]
        return {
            "id": core.new_id("il_"),
            "object": "line_item",
            "amount": amount,
            "currency": sub["currency"],
            "description": description,
            "invoice": None,
            "livemode": False,
            "metadata": {},
            "parent": {
                "type": "subscription_item_details",
                "subscription_item_details": {
                    "invoice_item": None,
                    "proration": proration,
                    "proration_details": {"credited_items": None},
                    "subscription": sub["id"],
                    "subscription_item": item["id"],
                },
            },
            "period": {"start": start, "end": end},
            "pricing": {
                "price_details": {"price": price["id"], "product": price["product"]},
                "type": "price_details",
                "unit_amount_decimal": str(price["unit_amount"]),
            },
            "quantity": item["quantity"] if not proration else 1,
        }

    def _pend(self, space: Any, sub: Mapping[str, Any], lines: list[dict[str, Any]]) -> None:
        """Proration lines wait as invoice items for the subscription's next invoice."""
        for line in lines:
            item_id = core.new_id("ii_")
            line["parent"]["subscription_item_details"]["invoice_item"] = item_id
            space.table("invoiceitem")[item_id] = {
                "id": item_id,
                "object": "invoiceitem",
                "amount": line["amount"],
                "currency": line["currency"],
                "customer": sub["customer"],
                "date": _now(),
                "description": line["description"],
                "invoice": None,
                "livemode": False,
                "metadata": {},
                "parent": {
                    "type": "subscription_details",
                    "subscription_details": {
                        "subscription": sub["id"],
                        "subscription_item": line["parent"]["subscription_item_details"][
                            "subscription_item"
                        ],
                    },
                },
                "period": dict(line["period"]),
                "proration": True,
                "quantity": 1,
            }
            self._pending_lines[item_id] = line  # the invoice line it becomes

    def _bill(
        self,
        space: Any,
        sub: dict[str, Any],
        reason: str,
        lines: list[dict[str, Any]],
        out: list[dict[str, Any]],
        *,
        period: tuple[int, int] | None = None,
        card_ok: bool = False,
    ) -> dict[str, Any]:
        """Create, finalize and charge an invoice for `sub`: `lines` plus its pending
        invoice items, less the customer's credit. Events go to `out`."""
        now = _now()
        invoice_id = core.new_id("in_")
        for pending in list(space.table("invoiceitem").values()):
            details = pending["parent"]["subscription_details"]
            if pending["invoice"] is None and details["subscription"] == sub["id"]:
                pending["invoice"] = invoice_id
                lines.append(self._pending_lines.pop(pending["id"]))
        for line in lines:
            line["invoice"] = invoice_id
        customer = space.table("customer")[sub["customer"]]
        total = sum(line["amount"] for line in lines)
        start, end = period or (now, now)
        invoice = {
            "id": invoice_id,
            "object": "invoice",
            "account_country": "US",
            "amount_due": max(total, 0),
            "amount_paid": 0,
            "amount_remaining": max(total, 0),
            "attempt_count": 0,
            "attempted": False,
            "auto_advance": True,
            "billing_reason": reason,
            "collection_method": "charge_automatically",
            "created": now,
            "currency": sub["currency"],
            "customer": customer["id"],
            "customer_email": customer["email"],
            "customer_name": customer["name"],
            "default_payment_method": None,
            "description": None,
            "ending_balance": None,
            "hosted_invoice_url": None,
            "invoice_pdf": None,
            "lines": {
                "object": "list",
                "data": lines,
                "has_more": False,
                "total_count": len(lines),
                "url": f"/v1/invoices/{invoice_id}/lines",
            },
            "livemode": False,
            "metadata": {},
            "next_payment_attempt": None,
            "number": None,
            "parent": {
                "type": "subscription_details",
                "quote_details": None,
                "subscription_details": {
                    "metadata": dict(sub["metadata"]),
                    "subscription": sub["id"],
                },
            },
            "period_end": end,
            "period_start": start,
            "starting_balance": 0,
            "status": "draft",
            "status_transitions": {
                "finalized_at": None,
                "marked_uncollectible_at": None,
                "paid_at": None,
                "voided_at": None,
            },
            "subtotal": total,
            "total": total,
        }
        space.table("invoice")[invoice_id] = invoice
        sub["latest_invoice"] = invoice_id
        self._event(out, space, "invoice.created", invoice)
        # Finalizing numbers the invoice and applies the customer's credit (balance < 0).
        net = total + customer["balance"]
        invoice.update(
            status="open",
            number=f"{customer['invoice_prefix']}-{customer['next_invoice_sequence']:04d}",
            starting_balance=customer["balance"],
            ending_balance=min(net, 0),
            amount_due=max(net, 0),
            amount_remaining=max(net, 0),
            hosted_invoice_url=self.url(f"/invoices/{invoice_id}"),
            invoice_pdf=self.url(f"/invoices/{invoice_id}/pdf"),
        )
        invoice["status_transitions"]["finalized_at"] = now
        customer["next_invoice_sequence"] += 1
        customer["balance"] = min(net, 0)
        self._event(out, space, "invoice.finalized", invoice)
        self._attempt(space, invoice, out, card_ok=card_ok)
        return invoice

    def _attempt(
        self, space: Any, invoice: dict[str, Any], out: list[dict[str, Any]], *, card_ok: bool
    ) -> bool:
        """Charge an open invoice with the default card; True when it is paid."""
        now = _now()
        customer = space.table("customer")[invoice["customer"]]
        sub = space.table("subscription").get(self._invoice_sub(invoice) or "")
        if invoice["amount_remaining"] > 0:
            card = (sub or {}).get("default_payment_method") or customer["invoice_settings"][
                "default_payment_method"
            ]
            invoice["attempt_count"] += 1
            invoice["attempted"] = True
            if not card_ok and (card is None or customer["id"] in self._declining):
                invoice["next_payment_attempt"] = now + _RETRY_AFTER
                self._event(out, space, "invoice.payment_failed", invoice)
                return False
        invoice.update(
            status="paid",
            amount_paid=invoice["amount_due"],
            amount_remaining=0,
            next_payment_attempt=None,
        )
        invoice["status_transitions"]["paid_at"] = now
        self._event(out, space, "invoice.paid", invoice)
        return True

    @staticmethod
    def _invoice_sub(invoice: Mapping[str, Any]) -> str | None:
        parent = invoice.get("parent") or {}
        return (parent.get("subscription_details") or {}).get("subscription")

    def _settle(self, space: Any, sub: dict[str, Any]) -> None:
        """A billed subscription is active when all its invoices are paid, else past due."""
        if sub["status"] not in ("active", "past_due", "unpaid", "incomplete"):
            return
        unpaid = any(
            inv["status"] == "open" and self._invoice_sub(inv) == sub["id"]
            for inv in space.table("invoice").values()
        )
        sub["status"] = "past_due" if unpaid else "active"

    def get_invoice(self, space: Any, params: dict[str, Any], iid: str) -> dict[str, Any]:
        core._reject_unknown(params, ("expand",))
        return self._expanded(space, self._get(space, "invoice", iid), params.get("expand"))

    def list_invoices(self, space: Any, params: dict[str, Any]) -> dict[str, Any]:
        core._reject_unknown(
            params,
            ("customer", "subscription", "status", "collection_method", *_PAGING),
        )
        invoices = list(space.table("invoice").values())
        if params.get("customer"):
            invoices = [i for i in invoices if i["customer"] == params["customer"]]
        if params.get("subscription"):
            invoices = [i for i in invoices if self._invoice_sub(i) == params["subscription"]]
        if params.get("status"):
            invoices = [i for i in invoices if i["status"] == params["status"]]
        return self._list(space, invoices, params, "/v1/invoices")

    # --- subscriptions ----------------------------------------------------------------

    def get_subscription(self, space: Any, params: dict[str, Any], subid: str) -> dict:
        core._reject_unknown(params, ("expand",))
        sub = self._get(space, "subscription", subid)
        return self._expanded(space, sub, params.get("expand"))

    def list_subscriptions(self, space: Any, params: dict[str, Any]) -> dict[str, Any]:
        core._reject_unknown(
            params,
            ("customer", "status", "price", "collection_method", *_PAGING),
        )
        subs = list(space.table("subscription").values())
        if params.get("customer"):
            subs = [s for s in subs if s["customer"] == params["customer"]]
        if params.get("price"):
            subs = [s for s in subs if s["items"]["data"][0]["price"]["id"] == params["price"]]
        status = params.get("status") or None
        if status is None:  # Stripe's default: every subscription not canceled
            subs = [s for s in subs if s["status"] != "canceled"]
        elif status != "all":
            if status not in (*_LIVE, "canceled", "ended", "incomplete_expired", "paused"):
                raise core.ApiError(400, f"Invalid status: {status}", param="status")
            ended = ("canceled", "incomplete_expired")
            subs = [
                s
                for s in subs
                if s["status"] == status or (status == "ended" and s["status"] in ended)
            ]
        return self._list(space, subs, params, "/v1/subscriptions")

    _UPDATE_PARAMS = (
        "items",
        "proration_behavior",
        "cancel_at_period_end",
        "metadata",
        "trial_end",
        "default_payment_method",
        "payment_behavior",
        "expand",
    )

    def update_subscription(self, space: Any, params: dict[str, Any], subid: str) -> dict:
        core._reject_unknown(params, self._UPDATE_PARAMS)
        sub = self._get(space, "subscription", subid)
        if sub["status"] == "canceled" and set(params) - {"metadata", "expand"}:
            raise core.ApiError(
                400,
                "A canceled subscription can only update its cancellation_details and metadata.",
            )
        behavior = params.get("proration_behavior") or "create_prorations"
        if behavior not in _PRORATION:
            raise core.ApiError(
                400,
                f"Invalid proration_behavior: must be one of {', '.join(_PRORATION)}",
                param="proration_behavior",
            )
        if params.get("payment_behavior") not in (None, "", "allow_incomplete"):
            raise core.ApiError(
                400,
                "The fake Stripe has payment_behavior=allow_incomplete only.",
                param="payment_behavior",
            )
        customer = space.table("customer")[sub["customer"]]
        change = self._item_change(space, sub, params.get("items"))
        pm = None
        if params.get("default_payment_method"):
            pm = self._customer_pm(
                space, customer, params["default_payment_method"], "default_payment_method"
            )
        trial_end: Any = params.get("trial_end")
        if trial_end not in (None, "", "now"):
            trial_end = core._int(trial_end, "trial_end")
            if trial_end <= _now():
                raise core.ApiError(
                    400,
                    "Invalid timestamp: must be an integer Unix timestamp in the future.",
                    param="trial_end",
                )
            if sub["status"] != "trialing":
                raise core.ApiError(
                    400,
                    "The fake Stripe moves trial_end only on trialing subscriptions.",
                    param="trial_end",
                )
        before, out = _snapshot(sub), []
        if "metadata" in params:
            self._merge_metadata(sub, params["metadata"])
        if pm:
            sub["default_payment_method"] = pm
        if "cancel_at_period_end" in params:
            self._set_cancel_at_period_end(
                sub, _bool(params["cancel_at_period_end"], "cancel_at_period_end")
            )
        if change:
            self._change_price(space, sub, *change, behavior, out)
        if trial_end == "now" and sub["status"] == "trialing":
            self._end_trial(space, sub, "subscription_update", out)
        elif isinstance(trial_end, int):
            sub["trial_end"] = trial_end
            sub["billing_cycle_anchor"] = trial_end
            sub["items"]["data"][0]["current_period_end"] = trial_end
        self._updated(out, space, sub, before)
        self._dispatch(out, sync=False)  # API calls' events come from the background
        return self._expanded(space, sub, params.get("expand"))

    def _item_change(
        self, space: Any, sub: dict[str, Any], items: Any
    ) -> tuple[dict[str, Any], int] | None:
        """The new (price, quantity) that `items` asks for, or None for no change."""
        if items in (None, ""):
            return None
        if not isinstance(items, list) or len(items) != 1 or not isinstance(items[0], dict):
            raise core.ApiError(
                400,
                "The fake Stripe updates one item: items[0][id] and its price.",
                param="items",
            )
        given, item = items[0], sub["items"]["data"][0]
        core._reject_unknown(given, ("id", "price", "quantity"), "items[0]")
        if given.get("id") != item["id"]:
            raise core.ApiError(
                400,
                f"Invalid subscription item {given.get('id')!r}: give items[0][id]={item['id']} "
                "(the fake Stripe keeps one item per subscription).",
                param="items[0][id]",
            )
        price = item["price"]
        if given.get("price"):
            price = self._get(space, "price", given["price"], "items[0][price]")
            if price["type"] != "recurring" or not price["active"]:
                raise core.ApiError(
                    400,
                    "The price specified must be an active recurring price.",
                    param="items[0][price]",
                )
            if price["currency"] != sub["currency"]:
                raise core.ApiError(
                    400,
                    f"The price specified is in {price['currency']}, but this subscription is "
                    f"in {sub['currency']}.",
                    param="items[0][price]",
                )
        quantity = core._int(
            given.get("quantity", item["quantity"]), "items[0][quantity]", minimum=1
        )
        if price["id"] == item["price"]["id"] and quantity == item["quantity"]:
            return None
        return price, quantity

    def _change_price(
        self,
        space: Any,
        sub: dict[str, Any],
        price: dict[str, Any],
        quantity: int,
        behavior: str,
        out: list[dict[str, Any]],
    ) -> None:
        """Swap the item's price and bill the difference as Stripe prorates it."""
        now, item = _now(), sub["items"]["data"][0]
        old = {"price": item["price"], "quantity": item["quantity"]}
        old_total = old["price"]["unit_amount"] * old["quantity"]
        new_total = price["unit_amount"] * quantity
        item.update(price=_snapshot(price), quantity=quantity)
        if sub["status"] == "trialing":
            return  # nothing was paid for the trial: nothing to prorate
        start, end = item["current_period_start"], item["current_period_end"]
        remaining, length = max(0, min(end - now, end - start)), end - start
        credit = -_prorate(old_total, remaining, length)
        when = _date(now)
        credit_line = self._line(
            space,
            sub,
            {**item, "price": old["price"]},
            credit,
            f"Unused time on {self._product_name(space, old['price'])} after {when}",
            now,
            end,
            proration=True,
        )
        old_every = (
            old["price"]["recurring"]["interval"],
            old["price"]["recurring"]["interval_count"],
        )
        new_every = (price["recurring"]["interval"], price["recurring"]["interval_count"])
        if old_every != new_every:
            # A new interval restarts the cycle now, billed at once: the new price for
            # the new period, less the unused time of the old one.
            new_end = _shift(now, *new_every)
            item.update(current_period_start=now, current_period_end=new_end)
            sub["billing_cycle_anchor"] = now
            lines = [self._price_line(space, sub, item, now, new_end)]
            if behavior != "none" and credit:
                lines.insert(0, credit_line)
            self._bill(space, sub, "subscription_update", lines, out)
            self._settle(space, sub)
            return
        if behavior == "none" or remaining == 0:
            return
        # Together the two lines make round((new - old) * remaining / period) exactly.
        amount = _prorate(new_total - old_total, remaining, length)
        charge_line = self._line(
            space,
            sub,
            item,
            amount - credit,
            f"Remaining time on {self._product_name(space, price)} after {when}",
            now,
            end,
            proration=True,
        )
        self._pend(space, sub, [credit_line, charge_line])
        if behavior == "always_invoice":
            self._bill(space, sub, "subscription_update", [], out)
            self._settle(space, sub)

    def _end_trial(
        self, space: Any, sub: dict[str, Any], reason: str, out: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """The trial ends now: a new cycle starts and its first invoice is charged."""
        now, item = _now(), sub["items"]["data"][0]
        recurring = item["price"]["recurring"]
        end = _shift(now, recurring["interval"], recurring["interval_count"])
        sub.update(trial_end=now, billing_cycle_anchor=now, status="active")
        item.update(current_period_start=now, current_period_end=end)
        invoice = self._bill(
            space, sub, reason, [self._price_line(space, sub, item, now, end)], out
        )
        self._settle(space, sub)
        return invoice

    @staticmethod
    def _set_cancel_at_period_end(sub: dict[str, Any], cancel: bool) -> None:
        end = sub["items"]["data"][0]["current_period_end"]
        sub.update(
            cancel_at_period_end=cancel,
            cancel_at=end if cancel else None,
            canceled_at=_now() if cancel else None,
        )

    def cancel_subscription(self, space: Any, params: dict[str, Any], subid: str) -> dict:
        core._reject_unknown(params, ("invoice_now", "prorate", "cancellation_details", "expand"))
        sub = self._get(space, "subscription", subid)
        if sub["status"] == "canceled":
            raise core.ApiError(
                400,
                f"This subscription ({subid}) is already canceled.",
            )
        details = params.get("cancellation_details") or {}
        core._reject_unknown(details, ("comment", "feedback"), "cancellation_details")
        now = _now()
        sub.update(status="canceled", canceled_at=now, ended_at=now, cancel_at=None)
        sub["cancellation_details"] = {
            "comment": details.get("comment"),
            "feedback": details.get("feedback"),
            "reason": "cancellation_requested",
        }
        out: list[dict[str, Any]] = []
        self._event(out, space, "customer.subscription.deleted", sub)
        self._dispatch(out, sync=False)
        return self._expanded(space, sub, params.get("expand"))

    # --- the customer portal ----------------------------------------------------------

    def create_portal(self, space: Any, params: dict[str, Any]) -> dict[str, Any]:
        core._reject_unknown(params, ("customer", "return_url", "locale", "configuration"))
        customer = self._get(space, "customer", core._require(params, "customer"), "customer")
        return_url = (
            core._url(params["return_url"], "return_url") if params.get("return_url") else None
        )
        portal_id = core.new_id("bps_")
        portal = {
            "id": portal_id,
            "object": "billing_portal.session",
            "configuration": params.get("configuration") or "bpc_fake_default",
            "created": _now(),
            "customer": customer["id"],
            "flow": None,
            "livemode": False,
            "locale": params.get("locale"),
            "on_behalf_of": None,
            "return_url": return_url,
            "url": self.url(f"/portal/{portal_id}"),
        }
        space.table("billing_portal.session")[portal_id] = portal
        return _snapshot(portal)

    def _portal(self, portal_id: str) -> tuple[Any, dict[str, Any]]:
        for space in self._spaces():
            portal = space.table("billing_portal.session").get(portal_id)
            if portal is not None:
                return space, portal
        raise NotFound()

    def portal_page(self, request: Request, bpsid: str, status: int = 200) -> Response:
        with self._lock:
            space, portal = self._portal(bpsid)
            customer = _snapshot(space.table("customer")[portal["customer"]])
            pm = space.table("payment_method").get(
                customer["invoice_settings"]["default_payment_method"] or ""
            )
            subs = [
                _snapshot(s)
                for s in reversed(space.table("subscription").values())
                if s["customer"] == customer["id"]
            ]
            invoices = [
                _snapshot(i)
                for i in reversed(space.table("invoice").values())
                if i["customer"] == customer["id"]
            ]
            names = {
                s["id"]: self._product_name(space, s["items"]["data"][0]["price"]) for s in subs
            }
        sections = "".join(self._portal_plan(sub, names[sub["id"]]) for sub in subs) or (
            "<p>You have no subscription.</p>"
        )
        card = (
            f"{html.escape(pm['card']['brand'].title())} ending in "
            f"{html.escape(pm['card']['last4'])}"
            if pm
            else "No card on file"
        )
        rows = "".join(
            f'<tr><td><a href="{html.escape(i["hosted_invoice_url"] or "")}">'
            f"{html.escape(i['number'] or i['id'])}</a></td><td>{_date(i['created'])}</td>"
            f"<td>{core._money(i['total'], i['currency'])}</td>"
            f"<td>{html.escape(i['status'])}</td></tr>"
            for i in invoices
        )
        back = (
            f'<p><a href="{html.escape(portal["return_url"])}">Return to the shop</a></p>'
            if portal["return_url"]
            else ""
        )
        who = html.escape(customer["email"] or customer["name"] or customer["id"])
        body = f"""
<p>Signed in as {who}.</p>
<h2>Subscriptions</h2>
{sections}
<h2>Payment method</h2>
<p id="card">{card}</p>
<form method="post">
  <button type="submit" name="action" value="update_card">Update card</button>
</form>
<h2>Invoices</h2>
<table><thead><tr><th scope="col">Invoice</th><th scope="col">Date</th>
<th scope="col">Amount</th><th scope="col">Status</th></tr></thead><tbody>{rows}</tbody></table>
{back}"""
        return core._page("Manage your subscription", body, status)

    @staticmethod
    def _portal_plan(sub: Mapping[str, Any], name: str) -> str:
        item = sub["items"]["data"][0]
        price = item["price"]
        cost = core._money(price["unit_amount"] * item["quantity"], price["currency"])
        end = item["current_period_end"]
        if sub["status"] == "canceled":
            when = f"Ended on {_date(sub['ended_at'] or end)}"
        elif sub["cancel_at_period_end"]:
            when = f"Cancels on {_date(end)}"
        elif sub["status"] == "trialing":
            when = f"Trial ends on {_date(end)}"
        else:
            when = f"Renews on {_date(end)}"
        button = ""
        if sub["status"] != "canceled":
            action, label = (
                ("renew", "Renew plan")
                if sub["cancel_at_period_end"]
                else ("cancel", "Cancel plan")
            )
            button = f"""
  <form method="post">
    <input type="hidden" name="subscription" value="{html.escape(sub["id"])}">
    <button type="submit" name="action" value="{action}">{label}</button>
  </form>"""
        heading = f"plan-{html.escape(sub['id'])}"
        return f"""
<section aria-labelledby="{heading}">
  <h3 id="{heading}">{html.escape(name)}</h3>
  <p>{cost} {_every(price["recurring"])}. Status: <strong class="status">{
            html.escape(sub["status"])
        }</strong>. {when}.</p>{button}
</section>"""

    def portal_action(self, request: Request, bpsid: str) -> Response:
        action = request.form.get("action")
        with self._lock:
            space, portal = self._portal(bpsid)
            customer_id = portal["customer"]
            sub = space.table("subscription").get(request.form.get("subscription", ""))
            if action in ("cancel", "renew") and (
                sub is None or sub["customer"] != customer_id or sub["status"] == "canceled"
            ):
                return core._page("Error", "<p>That subscription cannot be changed here.</p>", 400)
        if action == "update_card":
            self._replace_card(customer_id, "mastercard", "4444", sync=self.sync_payment_webhooks)
        elif action in ("cancel", "renew") and sub is not None:
            with self._lock:
                before, out = _snapshot(sub), []
                self._set_cancel_at_period_end(sub, action == "cancel")
                self._updated(out, space, sub, before)
            self._dispatch(out, sync=self.sync_payment_webhooks)
        else:
            return core._page("Error", "<p>Unknown action.</p>", 400)
        return core._redirect(self.url(f"/portal/{bpsid}"))

    # --- hosted invoice page and PDF --------------------------------------------------

    def invoice_page(self, request: Request, iid: str) -> Response:
        with self._lock:
            try:
                _, invoice = self._find("invoice", iid)
            except core.ApiError:
                raise NotFound() from None
            invoice = _snapshot(invoice)
        if invoice["status"] == "draft":
            raise NotFound()
        rows = "".join(
            f"<tr><td>{html.escape(line['description'])}</td>"
            f"<td>{_date(line['period']['start'])} to {_date(line['period']['end'])}</td>"
            f"<td>{core._money(line['amount'], line['currency'])}</td></tr>"
            for line in invoice["lines"]["data"]
        )
        money = core._money
        body = f"""
<p>Status: <strong id="status">{html.escape(invoice["status"])}</strong></p>
<table><thead><tr><th scope="col">Description</th><th scope="col">Period</th>
<th scope="col">Amount</th></tr></thead><tbody>{rows}</tbody></table>
<p>Total: {money(invoice["total"], invoice["currency"])}.
Amount due: <strong id="due">{money(invoice["amount_due"], invoice["currency"])}</strong>.
Paid: {money(invoice["amount_paid"], invoice["currency"])}.</p>
<p><a href="{html.escape(invoice["invoice_pdf"] or "")}">Download invoice (PDF)</a></p>"""
        return core._page(f"Invoice {invoice['number']}", body)

    def invoice_pdf(self, request: Request, iid: str) -> Response:
        with self._lock:
            try:
                _, invoice = self._find("invoice", iid)
            except core.ApiError:
                raise NotFound() from None
            invoice = _snapshot(invoice)
        if invoice["status"] == "draft":
            raise NotFound()
        lines = [
            f"Invoice {invoice['number']} ({invoice['status']})",
            f"Date: {_date(invoice['created'])}",
            *(
                f"{line['description']}: {core._money(line['amount'], line['currency'])}"
                for line in invoice["lines"]["data"]
            ),
            f"Amount due: {core._money(invoice['amount_due'], invoice['currency'])}",
        ]
        response = Response(_pdf(lines), mimetype="application/pdf")
        response.headers["Content-Disposition"] = f'inline; filename="{invoice["number"]}.pdf"'
        return response

    # --- test helpers -----------------------------------------------------------------

    def renew(self, subscription_id: str) -> dict[str, Any]:
        """The subscription's period (or trial) ends: the next one is invoiced and charged
        with the default card. Returns the invoice; for a subscription set to cancel at
        the period's end, ends it instead (`customer.subscription.deleted`) and returns
        the subscription."""
        with self._lock:
            space, sub = self._find("subscription", subscription_id)
            if sub["status"] == "canceled":
                raise core.ApiError(400, f"The subscription {subscription_id} is canceled.")
            before, out = _snapshot(sub), []
            item = sub["items"]["data"][0]
            end = item["current_period_end"]
            if sub["cancel_at_period_end"]:
                # It ends now: the fake's clock does not move, so a period's end in the
                # future stands for this moment (an app compares ended_at with its now).
                sub.update(status="canceled", ended_at=min(end, _now()), cancel_at=end)
                sub["cancellation_details"]["reason"] = "cancellation_requested"
                self._event(out, space, "customer.subscription.deleted", sub)
                result = sub
            else:
                recurring = item["price"]["recurring"]
                new_end = _next_end(
                    sub["billing_cycle_anchor"],
                    end,
                    recurring["interval"],
                    recurring["interval_count"],
                )
                billed = any(
                    self._invoice_sub(i) == sub["id"] for i in space.table("invoice").values()
                )
                start = item["current_period_start"]
                item.update(current_period_start=end, current_period_end=new_end)
                if sub["status"] == "trialing":
                    sub["status"] = "active"
                result = self._bill(
                    space,
                    sub,
                    "subscription_cycle" if billed else "subscription_create",
                    [self._price_line(space, sub, item, end, new_end)],
                    out,
                    period=(start, end),
                )
                self._settle(space, sub)
                self._updated(out, space, sub, before)
            result = _snapshot(result)
        self._dispatch(out, sync=True)
        return result

    def retry_invoice(self, invoice_id: str) -> dict[str, Any]:
        """Another automatic attempt at an open invoice (Smart Retries): paid, bringing
        its subscription back to active, or failed again."""
        with self._lock:
            space, invoice = self._find("invoice", invoice_id)
            if invoice["status"] != "open":
                raise core.ApiError(400, f"Invoice is already {invoice['status']}.")
            sub = space.table("subscription").get(self._invoice_sub(invoice) or "")
            before, out = _snapshot(sub or {}), []
            self._attempt(space, invoice, out, card_ok=False)
            if sub is not None:
                self._settle(space, sub)
                self._updated(out, space, sub, before)
            result = _snapshot(invoice)
        self._dispatch(out, sync=True)
        return result

    def decline_cards(self, customer_id: str, declined: bool = True) -> None:
        """From now on the customer's cards decline (or, with False, work again)."""
        with self._lock:
            self._find("customer", customer_id)
            if declined:
                self._declining.add(customer_id)
            else:
                self._declining.discard(customer_id)

    def update_card(
        self, customer_id: str, brand: str = "mastercard", last4: str = "4444"
    ) -> dict[str, Any]:
        """What the portal's "Update card" does: a new default card that works, then the
        customer's open invoices are retried. Returns the new payment method."""
        return self._replace_card(customer_id, brand, last4, sync=True)

    def _replace_card(self, customer_id: str, brand: str, last4: str, *, sync: bool) -> dict:
        with self._lock:
            space, customer = self._find("customer", customer_id)
            subs = [
                s
                for s in space.table("subscription").values()
                if s["customer"] == customer_id and s["status"] != "canceled"
            ]
            befores = {s["id"]: _snapshot(s) for s in subs}
            pm = self._attach_card(space, customer, brand, last4)
            self._declining.discard(customer_id)
            out: list[dict[str, Any]] = []
            for sub in subs:
                sub["default_payment_method"] = pm["id"]
            live = {s["id"] for s in subs}
            for invoice in list(space.table("invoice").values()):
                if (
                    invoice["customer"] == customer_id
                    and invoice["status"] == "open"
                    and self._invoice_sub(invoice) in live
                ):
                    self._attempt(space, invoice, out, card_ok=False)
            for sub in subs:
                self._settle(space, sub)
                self._updated(out, space, sub, befores[sub["id"]])
            result = _snapshot(pm)
        self._dispatch(out, sync=sync)
        return result

    def trial_will_end(self, subscription_id: str) -> Any:
        """Send `customer.subscription.trial_will_end` (Stripe's three-days notice)."""
        with self._lock:
            space, sub = self._find("subscription", subscription_id)
            event = self.make_event(
                "customer.subscription.trial_will_end", _snapshot(sub), account=space.id
            )
        return self._send_or_hold(event)

    def mutate(self, kind: str, object_id: str, **changes: Any) -> dict[str, Any]:
        """Change an object in place with no event (drift, for reconciliation tests).
        For subscriptions `price_id=` swaps the item's price and `current_period_start=` /
        `current_period_end=` set the item's period; other names set top-level fields."""
        if kind not in ("subscription", "invoice", "customer"):
            raise ValueError(f"mutate() changes subscriptions, invoices or customers, not {kind}")
        with self._lock:
            space, obj = self._find(kind, object_id)
            if kind == "subscription":
                item = obj["items"]["data"][0]
                if "price_id" in changes:
                    item["price"] = _snapshot(self._get(space, "price", changes.pop("price_id")))
                for name in ("current_period_start", "current_period_end"):
                    if name in changes:
                        item[name] = changes.pop(name)
            unknown = set(changes) - set(obj)
            if unknown:
                raise ValueError(f"a {kind} has no field {', '.join(sorted(unknown))}")
            obj.update(changes)
            return _snapshot(obj)

    def subscription(self, subscription_id: str) -> dict[str, Any]:
        with self._lock:
            return _snapshot(self._find("subscription", subscription_id)[1])

    def invoice(self, invoice_id: str) -> dict[str, Any]:
        with self._lock:
            return _snapshot(self._find("invoice", invoice_id)[1])

    def customer(self, customer_id: str) -> dict[str, Any]:
        with self._lock:
            return _snapshot(self._find("customer", customer_id)[1])


# stripe_server builds FakeStripe from BillingMixin, so this module reaches its helpers
# (ApiError, missing, _require, ...) through the module object, imported last: either
# module may then be imported first.
from tests.fakes import stripe_server as core  # noqa: E402
