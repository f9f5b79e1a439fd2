"""What a shop's plan allows: the one place that knows the limits and the features.

Four limits, each counted the same way wherever it is checked or shown:

* products — those not archived (active and draft ones): archiving a product frees its
  place, so "archive what you no longer sell" is always a way back under the limit;
* staff seats — everyone not removed (invited people hold a seat too);
* custom domains — the shop's rows in `domains`;
* storage — the bytes of the files in the shop's media folder (logo, product images
  and their smaller copies), shown and limited in MB.

And the features a plan lists (`Plan.features`): discount codes (refused when a code
is created or switched on, and at checkout), abandoned-checkout emails (none scheduled
or sent), custom domains (`saas.domains`), API access (there is no JSON API yet: when
there is, it asks `feature_problem(tenant_id, Feature.API_ACCESS)`).

A limit of None is unlimited, and a shop with no subscription has no limits and every
feature (shops made by the CLI or tests before they choose a plan).

Views and services ask `limit_problem` (or `feature_problem`) before they write; the
answer carries the sentence to show and what to do about it, and `problem.html()` adds
"Upgrade your plan" as a link to the billing page. With `lock=True` the shop's
subscription row is locked until the transaction ends, so two additions racing for the
last place are decided one after the other: call it before writing, in the transaction
that writes, and commit after.

`downgrade_problems` says what must change before a shop can move to a smaller plan:
a plan change is refused, not scheduled, while the shop uses more than the plan allows.
"""

from __future__ import annotations

import enum
import math
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import IO

from flask import current_app, has_request_context, url_for
from markupsafe import Markup
from sqlalchemy import func, select
from werkzeug.routing import BuildError

from saas.db import db, schema_for
from saas.models import Domain, Feature, Plan, Subscription, Tenant
from saas.tenancy import get_current_tenant, tenant_context
from saas.uploads import stream_size

MB = 1024 * 1024
BILLING_PATH = "/admin/billing"  # the back office's billing page (`backoffice.billing`)


class Limit(enum.StrEnum):
    PRODUCTS = "products"
    STAFF = "staff"
    DOMAINS = "domains"
    STORAGE = "storage"


LIMIT_LABELS = {
    Limit.PRODUCTS: "Products",
    Limit.STAFF: "Staff seats",
    Limit.DOMAINS: "Custom domains",
    Limit.STORAGE: "Storage (MB)",
}

# How each feature reads in a sentence: (verb, what upgrading lets the merchant do).
_FEATURE_WORDS = {
    Feature.DISCOUNT_CODES: ("are", "offer discount codes"),
    Feature.ABANDONED_CHECKOUT_EMAILS: ("are", "send abandoned-checkout emails"),
    Feature.CUSTOM_DOMAIN: ("are", "use your own domain"),
    Feature.API_ACCESS: ("is", "use the API"),
}


@dataclass(frozen=True)
class Usage:
    """How much of one plan limit a shop uses. `limit` None: unlimited.

    Storage is in whole MB here (rounded up, so a shop never looks under a limit it has
    reached); the checks themselves count bytes.
    """

    label: str
    used: int
    limit: int | None
    kind: str = ""

    @property
    def over(self) -> bool:
        return self.limit is not None and self.used > self.limit

    @property
    def at_limit(self) -> bool:
        return self.limit is not None and self.used >= self.limit


@dataclass(frozen=True)
class LimitProblem:
    """Why something is not allowed on the shop's plan, in words for the merchant.

    `message` states the fact ("Your Starter plan allows 50 products, and your catalog
    has 50."); `remedy` is what the merchant can do without paying more, if anything;
    `goal` ends the upgrade hint ("Upgrade your plan to add more products.").

    `str()` is the whole text (for the CLI, jobs, logs). In a page, `problem.html()` (or
    `{{ problem }}` in a template) is the same text with "Upgrade your plan" as a link
    to the billing page; it is a `Markup` string, so it fits a form's errors and `flash()`.
    """

    kind: str  # a Limit or a Feature
    message: str
    goal: str
    remedy: str = ""
    plan_name: str = ""
    limit: int | None = None  # a limit's: the plan's number (storage: MB) ...
    used: int = 0  # ... what the shop uses (storage: bytes) ...
    adding: int = 0  # ... and what was asked for

    @property
    def hint(self) -> str:
        return f"Upgrade your plan to {self.goal}."

    @property
    def upgrade_url(self) -> str:
        if not has_request_context():
            return BILLING_PATH
        try:
            return url_for("backoffice.billing")
        except BuildError:  # not a shop's request (the console's, the platform's)
            return BILLING_PATH

    def __str__(self) -> str:
        return " ".join(part for part in (self.message, self.remedy, self.hint) if part)

    def html(self) -> Markup:
        """The text with "Upgrade your plan" as a link to the billing page (escaped)."""
        text = " ".join(part for part in (self.message, self.remedy) if part)
        return Markup('{} <a href="{}">Upgrade your plan</a> to {}.').format(
            text, self.upgrade_url, self.goal
        )

    __html__ = html  # `{{ problem }}` in a template


# --- the shop's subscription and what it uses ---------------------------------------------


def subscription(tenant_id: int, *, lock: bool = False) -> Subscription | None:
    """The shop's subscription; with `lock`, its row stays locked until the transaction ends."""
    query = select(Subscription).where(Subscription.tenant_id == tenant_id)
    if lock:  # (and read afresh: the row may have changed before the lock was granted)
        query = query.with_for_update().execution_options(populate_existing=True)
    return db.session.scalar(query)


def plan_of(tenant_id: int) -> Plan | None:
    found = subscription(tenant_id)
    return found.plan if found is not None else None


def limit_of(plan: Plan, kind: Limit | str) -> int | None:
    """The plan's limit of that kind (storage in MB); None: unlimited."""
    return {
        Limit.PRODUCTS: plan.max_products,
        Limit.STAFF: plan.max_staff,
        Limit.DOMAINS: plan.max_domains,
        Limit.STORAGE: plan.max_storage_mb,
    }[Limit(kind)]


@contextmanager
def _in_shop(tenant_id: int) -> Iterator[None]:
    """Read the shop's own tables: in the current session when this is that shop's
    request or job (so a caller's lock and uncommitted rows count), else in its schema."""
    current = get_current_tenant()
    if current is not None and current.id == tenant_id:
        yield
        return
    tenant = db.session.get(Tenant, tenant_id)
    if tenant is None:
        raise LookupError(f"no shop {tenant_id}")
    with tenant_context(tenant):
        yield


# How the current shop's use of a limit kept in its own schema is counted: registered
# by `create_app` from the domains that own those tables (products, staff).
_counters: dict[Limit, Callable[[], int]] = {}


def register_counter(kind: Limit, count: Callable[[], int]) -> None:
    """Count the current shop's use of `kind` with `count()` (run inside the shop)."""
    _counters[Limit(kind)] = count


def _count(kind: Limit) -> int:
    try:
        return _counters[kind]()
    except KeyError:
        raise LookupError(f"no counter registered for the {kind} limit") from None


def counted_products() -> int:
    """Products that count against the plan in the current shop: all but archived ones."""
    return _count(Limit.PRODUCTS)


def used_seats() -> int:
    """Staff seats in use in the current shop: invited and active people, not removed ones."""
    return _count(Limit.STAFF)


def domain_hosts(tenant_id: int) -> list[str]:
    return list(
        db.session.scalars(
            select(Domain.host).where(Domain.tenant_id == tenant_id).order_by(Domain.host)
        )
    )


def storage_bytes(tenant_id: int) -> int:
    """The bytes of the shop's uploaded media (its folder under MEDIA_PATH).

    Half-written temporary files (".name.tmp") are left out: they are either renamed
    into place in a moment, or are leftovers of a crash that nobody can see.
    """
    folder = Path(current_app.config["MEDIA_PATH"]) / schema_for(tenant_id)
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            if name.startswith("."):
                continue
            try:
                total += os.stat(os.path.join(root, name)).st_size
            except FileNotFoundError:  # removed while we looked
                continue
    return total


def upload_size(stream: IO[bytes] | None) -> int:
    """The bytes of an uploaded file, read from its (seekable) stream without consuming it.

    Uploads are checked against the storage limit by this size: the stored file is the
    upload re-encoded, about as large, and the smaller copies made later count once made.
    """
    return stream_size(stream)


def used(tenant_id: int, kind: Limit | str) -> int:
    """How much of `kind` the shop uses (storage in bytes)."""
    kind = Limit(kind)
    if kind == Limit.DOMAINS:
        return (
            db.session.scalar(select(func.count(Domain.id)).where(Domain.tenant_id == tenant_id))
            or 0
        )
    if kind == Limit.STORAGE:
        return storage_bytes(tenant_id)
    with _in_shop(tenant_id):
        return counted_products() if kind == Limit.PRODUCTS else used_seats()


def usage(tenant_id: int, plan: Plan) -> list[Usage]:
    """The shop's use of each limit of `plan`: products, staff seats, custom domains, storage."""
    if db.session.get(Tenant, tenant_id) is None:
        return []
    with _in_shop(tenant_id):
        products, staff = counted_products(), used_seats()
    return [
        Usage(LIMIT_LABELS[Limit.PRODUCTS], products, plan.max_products, Limit.PRODUCTS),
        Usage(LIMIT_LABELS[Limit.STAFF], staff, plan.max_staff, Limit.STAFF),
        Usage(
            LIMIT_LABELS[Limit.DOMAINS],
            used(tenant_id, Limit.DOMAINS),
            plan.max_domains,
            Limit.DOMAINS,
        ),
        Usage(
            LIMIT_LABELS[Limit.STORAGE],
            math.ceil(storage_bytes(tenant_id) / MB),
            plan.max_storage_mb,
            Limit.STORAGE,
        ),
    ]


# --- the checks -----------------------------------------------------------------------------


def _plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{count:,} {word if count == 1 else plural or word + 's'}"


def megabytes(size: int) -> str:
    """Bytes as merchants read them: "1,020.4 MB" (one decimal, rounded half up), or
    "310 KB" under a tenth of a MB (rounded up: never "0")."""
    if 0 < size < MB // 10:
        return f"{math.ceil(size / 1024):,} KB"
    value = (Decimal(size) / MB).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    if value == value.to_integral():
        return f"{int(value):,} MB"
    return f"{value:,} MB"


def limit_problem(
    tenant_id: int, kind: Limit | str, adding: int = 1, *, lock: bool = False
) -> LimitProblem | None:
    """Why the shop cannot add `adding` more of `kind` under its plan; None if it can.

    `adding` counts products, seats or domains, or bytes for storage. With `lock`, the
    subscription row is locked first (see the module's docstring).
    """
    kind = Limit(kind)
    found = subscription(tenant_id, lock=lock)
    if found is None:
        return None
    plan = found.plan
    limit = limit_of(plan, kind)
    if limit is None or adding <= 0:
        return None
    current = used(tenant_id, kind)
    allowed = limit * MB if kind == Limit.STORAGE else limit
    if current + adding <= allowed:
        return None
    return _problem(plan, kind, limit, current, adding)


def _problem(plan: Plan, kind: Limit, limit: int, current: int, adding: int) -> LimitProblem:
    problem = _describe(plan.name, kind, limit, current, adding)
    return replace(problem, plan_name=plan.name, limit=limit, used=current, adding=adding)


def _describe(name: str, kind: Limit, limit: int, current: int, adding: int) -> LimitProblem:
    room = max(limit - current, 0)
    if kind == Limit.PRODUCTS:
        message = (
            f"Your {name} plan allows {_plural(limit, 'product')}, and your catalog has "
            f"{current:,}."
        )
        if adding > 1:
            message += f" There is room for {room:,} more, not {adding:,}."
        return LimitProblem(
            kind,
            message,
            "add more products",
            "Archived products don't count: archive those you no longer sell to make room.",
        )
    if kind == Limit.STAFF:
        return LimitProblem(
            kind,
            f"Your {name} plan includes {_plural(limit, 'staff seat')}, and all are in use "
            "(pending invitations count).",
            "invite more people",
            "Remove someone to free a seat.",
        )
    if kind == Limit.DOMAINS:
        return LimitProblem(
            kind,
            f"Your {name} plan allows {_plural(limit, 'custom domain')}, and your shop has "
            f"{current:,}.",
            "add more domains",
            "Remove a domain you no longer use to make room.",
        )
    return LimitProblem(
        kind,
        f"Your {name} plan includes {limit:,} MB of storage for images, and your shop uses "
        f"{megabytes(current)}; this file needs {megabytes(adding)}.",
        "get more storage",
        "Delete images you no longer need to make room.",
    )


def feature_problem(tenant_id: int, feature: Feature | str) -> LimitProblem | None:
    """Why the shop's plan does not allow `feature`; None if it does (or has no plan)."""
    plan = plan_of(tenant_id)
    if plan is None or plan.includes(feature):
        return None
    return feature_missing(plan, Feature(feature))


def feature_missing(plan: Plan, feature: Feature) -> LimitProblem:
    verb, goal = _FEATURE_WORDS[feature]
    return LimitProblem(
        feature,
        f"{feature.label} {verb} not included in your {plan.name} plan.",
        goal,
        plan_name=plan.name,
    )


def has_feature(tenant_id: int, feature: Feature | str) -> bool:
    return feature_problem(tenant_id, feature) is None


# --- moving to another plan -----------------------------------------------------------------


def downgrade_problems(tenant_id: int, plan: Plan) -> list[str]:
    """What must change before the shop can move to `plan`, one sentence each.

    Empty: the move is fine. A plan change is refused while this is not empty (the
    merchant archives, removes or deletes first, then changes plan).
    """
    problems: list[str] = []
    name = plan.name
    with _in_shop(tenant_id):
        products, seats = counted_products(), used_seats()
    if plan.max_products is not None and products > plan.max_products:
        extra = products - plan.max_products
        problems.append(
            f"Archive {_plural(extra, 'product')}: {name} allows "
            f"{_plural(plan.max_products, 'product')} (archived ones don't count), and you "
            f"have {products:,}."
        )
    if plan.max_staff is not None and seats > plan.max_staff:
        extra = seats - plan.max_staff
        problems.append(
            f"Remove {_plural(extra, 'staff member')}: {name} includes "
            f"{_plural(plan.max_staff, 'staff seat')}, and {seats:,} are in use (pending "
            "invitations count)."
        )
    hosts = domain_hosts(tenant_id)
    if hosts and not plan.includes(Feature.CUSTOM_DOMAIN):
        problems.append(f"Custom domains are not included in {name}: remove {_join(hosts)}.")
    elif plan.max_domains is not None and len(hosts) > plan.max_domains:
        if plan.max_domains == 0:
            which = "the custom domain" if len(hosts) == 1 else "the custom domains"
            problems.append(f"Remove {which} {_join(hosts)}: {name} allows none.")
        else:
            extra = len(hosts) - plan.max_domains
            problems.append(
                f"Remove {extra:,} of your {len(hosts):,} custom domains ({_join(hosts)}): "
                f"{name} allows {_plural(plan.max_domains, 'custom domain')}."
            )
    if plan.max_storage_mb is not None:
        stored = storage_bytes(tenant_id)
        allowed = plan.max_storage_mb * MB
        if stored > allowed:
            problems.append(
                f"Delete {math.ceil((stored - allowed) / MB):,} MB of images: {name} includes "
                f"{plan.max_storage_mb:,} MB of storage, and your shop uses {megabytes(stored)}."
            )
    return problems


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"
