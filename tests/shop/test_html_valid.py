"""Every page a shopper or a merchant sees is valid HTML, in every built-in theme.

The pages are rendered by the app (a fully dressed shop per theme, `bench.showcase`)
and checked by the Nu Html Checker (`vnu.jar` from npm's `vnu-jar`, installed by
`make audit-tools` into tools/node_modules), all in one JVM start. Errors fail the test;
warnings are printed. Without the checker (or Java) the tests skip, unless
REQUIRE_AUDIT_TOOLS=1 (CI sets it once the install succeeded): then they fail.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from sqlalchemy import select

from bench.showcase import THEMES, Showcase, seed_showcase
from saas.config import PROJECT_ROOT
from saas.db import db
from saas.passwords import hash_password
from saas.tenancy import TenantRecord, tenant_context
from saas.tenancy.provisioning import create_tenant
from tenants.catalog.models import Product
from tenants.content import newsletter
from tenants.settings.services import get_settings
from tenants.staff.models import Area, Role, Staff, StaffStatus
from tests.conftest import STAFF_PASSWORD, SiteClient, client_for, log_in_as

VNU_JAR = PROJECT_ROOT / "tools" / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
JAVA = os.environ.get("JAVA", "java")


def checker_command() -> list[str]:
    """`java -jar vnu.jar`, or skip (fail when REQUIRE_AUDIT_TOOLS=1) if either is missing."""
    java = shutil.which(JAVA)
    problem = None
    if not VNU_JAR.exists():
        problem = f"the Nu Html Checker is not installed ({VNU_JAR}): run `make audit-tools`"
    elif java is None:
        problem = f"no Java runtime ({JAVA!r} is not on PATH) to run the Nu Html Checker"
    if problem:
        if os.environ.get("REQUIRE_AUDIT_TOOLS") == "1":
            pytest.fail(f"{problem} (REQUIRE_AUDIT_TOOLS=1)", pytrace=False)
        pytest.skip(problem)
    assert java is not None
    return [java, "-Xss4m", "-jar", str(VNU_JAR)]


def check_html(
    command: list[str], pages: dict[str, str], folder: Path
) -> dict[str, list[dict[str, Any]]]:
    """Validate every page in one run of the checker; its messages by page name."""
    folder.mkdir(parents=True, exist_ok=True)
    by_path: dict[str, str] = {}
    for n, (name, html) in enumerate(pages.items()):
        path = folder / f"page{n:03d}.html"
        path.write_text(html, encoding="utf-8")
        by_path[str(path.resolve())] = name
    done = subprocess.run(
        [*command, "--format", "json", "--stdout", *sorted(str(p) for p in folder.glob("*.html"))],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise AssertionError(
            f"the checker did not answer in JSON (exit {done.returncode}): "
            f"{done.stdout[-1000:]} {done.stderr[-2000:]}"
        ) from None
    messages: dict[str, list[dict[str, Any]]] = {name: [] for name in pages}
    for message in report.get("messages", []):
        # The checker names files "file:/tmp/...": the path part is the file's.
        page_name = by_path.get(unquote(urlsplit(message.get("url", "")).path))
        if page_name is None:
            raise AssertionError(f"a message about an unknown file: {message}")
        messages[page_name].append(message)
    return messages


def describe(message: dict[str, Any]) -> str:
    where = f"line {message.get('lastLine', '?')}"
    extract = " ".join((message.get("extract") or "").split())
    return f"{where}: {message.get('message')}  [{extract}]"


def is_error(message: dict[str, Any]) -> bool:
    # "error", "non-document-error" (could not read it) and fatal "info"s are failures;
    # "info" with subType "warning" is a warning.
    return message.get("type") != "info"


def assert_valid(messages: dict[str, list[dict[str, Any]]], names: list[str]) -> None:
    failures: list[str] = []
    for name in names:
        for message in messages[name]:
            line = f"{name}: {describe(message)}"
            if is_error(message):
                failures.append(line)
            else:
                print(f"warning: {line}")
    assert not failures, "invalid HTML:\n" + "\n".join(failures)


# --------------------------------------------------------------------------- pages


def get(client: SiteClient, path: str, status: int = 200, **kwargs: Any) -> str:
    response = client.get(path, **kwargs)
    assert response.status_code == status, f"{client.host}{path}: {response.status}"
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


def post(client: SiteClient, path: str, data: dict[str, str], status: int = 200) -> str:
    response = client.post(path, data=data)
    assert response.status_code == status, f"{client.host}{path}: {response.status}"
    return response.get_data(as_text=True)


def last_variant(app: Any, shop: Showcase) -> dict[str, str]:
    """The big product's last variant as the picker's query (not the default choice)."""
    with app.app_context(), tenant_context(shop.tenant):
        product = db.session.scalars(select(Product).where(Product.handle == shop.product)).one()
        last = product.variants[-1]
        values = (last.option1, last.option2, last.option3)
        return {f"option{n}": value for n, value in enumerate(values, 1) if value}


def storefront_pages(app: Any, shop: Showcase, theme: str) -> dict[str, str]:
    """Every page a shopper can reach in this shop (there is no cart yet)."""
    client = client_for(app, shop.host)
    paths = shop.paths()
    pages = {f"{theme} {name}": get(client, path) for name, path in paths.items()}
    product = paths["product"]
    chosen = last_variant(app, shop)
    pages[f"{theme} product, variant chosen"] = get(client, product, query_string=chosen)
    pages[f"{theme} product, unavailable combination"] = get(
        client, product, query_string={**chosen, "option3": "No such fit"}
    )
    pages[f"{theme} collection, nothing matches"] = get(
        client, paths["collection"], query_string={"tag": "no-such-tag", "sort": "price-asc"}
    )
    pages[f"{theme} search, no query"] = get(client, "/search")
    pages[f"{theme} search, no results"] = get(client, "/search?q=zzzzqqq")
    pages[f"{theme} 404, unknown product"] = get(client, "/products/no-such-thing", 404)
    pages[f"{theme} 404, unknown page"] = get(client, "/pages/no-such-page", 404)
    reader = f"reader-{uuid.uuid4().hex[:6]}@example.com"
    pages[f"{theme} newsletter, subscribed"] = post(client, "/newsletter", {"email": reader})
    with app.app_context(), tenant_context(shop.tenant):
        leave = urlsplit(newsletter.unsubscribe_url(reader)).path
    pages[f"{theme} newsletter, unsubscribe"] = get(client, leave)
    pages[f"{theme} newsletter, unsubscribed"] = post(client, leave, {})
    pages[f"{theme} collection, all products"] = get(client, "/collections/all")
    pages[f"{theme} newsletter, bad address"] = post(
        client, "/newsletter", {"email": "not an address"}, status=400
    )
    return pages


SHOPPER = {
    "email": "ann@example.com",
    "name": "Ann Lee",
    "line1": "1 Main Street",
    "city": "Albany",
    "region": "US-NY",
    "postal_code": "12207",
    "country": "US",
}


def shopping_pages(app: Any, shop: Showcase, theme: str) -> dict[str, str]:
    """Cart, every checkout step (and an error), and the order status page."""
    from tenants.shipping.models import ShippingRate, ShippingZone

    with app.app_context(), tenant_context(shop.tenant):
        settings = get_settings()
        settings.bank_transfer = True
        settings.bank_transfer_instructions = "Pay to account 12345678."
        zone = ShippingZone(name="US", countries=["US"], regions=[])
        zone.rates = [ShippingRate(name="Ground", kind="flat", price_cents=500)]
        db.session.add(zone)
        db.session.commit()
        from tenants.catalog.products import create_product

        tote = create_product(f"Canvas Tote {theme}", 2500, inventory_quantity=10)
        db.session.commit()
        variant_id = tote.variants[0].id
    client = client_for(app, shop.host)
    added = client.post("/cart/add", data={"variant": variant_id, "quantity": 1})
    assert added.status_code == 302 and added.location.endswith("/cart"), (
        added.status,
        added.location,
        variant_id,
    )
    pages = {f"{theme} cart": get(client, "/cart")}
    pages[f"{theme} checkout, information"] = get(client, "/checkout")
    pages[f"{theme} checkout, information with errors"] = post(
        client, "/checkout", {"email": "nope", "country": "US"}, status=400
    )
    assert client.post("/checkout", data=SHOPPER).status_code == 302
    pages[f"{theme} checkout, shipping"] = get(client, "/checkout/shipping")
    rate = pages[f"{theme} checkout, shipping"].split('name="shipping" value="')[1].split('"')[0]
    client.post("/checkout/shipping", data={"shipping": rate})
    pages[f"{theme} checkout, payment"] = get(client, "/checkout/payment")
    client.post("/checkout/payment", data={"payment": "bank_transfer"})
    review = get(client, "/checkout/review")
    pages[f"{theme} checkout, review"] = review
    total = review.split('name="total" value="')[1].split('"')[0]
    placed = client.post("/checkout/review", data={"total": total})
    assert placed.status_code == 302, placed.status
    pages[f"{theme} order status"] = get(client, urlsplit(placed.location).path)
    return pages


def coming_soon_pages(app: Any, theme: str) -> dict[str, str]:
    """A shop before launch: the coming-soon page, with its password form and its error,
    and the shop as its staff preview it."""
    slug = f"soon{uuid.uuid4().hex[:8]}"
    with app.app_context():
        tenant = create_tenant(slug, "Soon Shop", theme=theme, launched=False)
        db.session.commit()
        record = TenantRecord.of(tenant)
    with app.app_context(), tenant_context(record):
        get_settings().storefront_password_hash = hash_password("open-sesame-42")
        db.session.commit()
    client = client_for(app, f"{slug}.localhost")
    return {
        f"{theme} coming soon": get(client, "/"),
        f"{theme} coming soon, wrong password": post(
            client, "/password", {"password": "wrong", "next": "/"}, status=400
        ),
    }


@pytest.fixture(scope="module")
def checker() -> list[str]:
    """The checker's command line; asked for first, so nothing is seeded without it."""
    return checker_command()


@pytest.fixture(scope="module")
def showcases(app: Any, checker: list[str]) -> dict[str, Showcase]:
    return {
        theme: seed_showcase(app, f"valid-{theme}-{uuid.uuid4().hex[:6]}", theme)
        for theme in THEMES
    }


def backoffice_pages(app: Any, shop: Showcase) -> dict[str, str]:
    """A few back-office pages, as the shop's owner sees them, and the storefront's
    preview bar (staff previewing a draft look)."""
    client = client_for(app, shop.host)
    with app.app_context(), tenant_context(shop.tenant):
        owner = Staff(
            email=f"owner-{uuid.uuid4().hex[:6]}@example.com",
            name="Olga Owner",
            password_hash=hash_password(STAFF_PASSWORD),
            role=Role.OWNER,
            permissions=[str(area) for area in Area],
            status=StaffStatus.ACTIVE,
        )
        db.session.add(owner)
        db.session.commit()
        log_in_as(client, f"staff:{shop.tenant.id}:{owner.id}:1")
        product_id = db.session.scalar(select(Product.id).where(Product.handle == shop.product))
    pages = {
        "back office: products": get(client, "/admin/products"),
        "back office: product edit": get(client, f"/admin/products/{product_id}"),
        "back office: theme customize": get(client, "/admin/themes/customize"),
        "back office: orders": get(client, "/admin/orders"),
        "back office: order": get(client, "/admin/orders/1001"),
        "back office: order cancel": get(client, "/admin/orders/1001/cancel"),
        "back office: customers": get(client, "/admin/customers"),
        "back office: discounts": get(client, "/admin/discounts"),
        "back office: payments": get(client, "/admin/settings/payments"),
        "back office: shipping": get(client, "/admin/settings/shipping"),
        "back office: taxes": get(client, "/admin/settings/taxes"),
        "back office: settings": get(client, "/admin/settings"),
        "back office: sent email": get(client, "/admin/outbox"),
        "back office: newsletter subscribers": get(client, "/admin/customers/newsletter"),
    }
    pages |= billing_pages(app, client, shop)
    assert "Trail Jacket" in pages["back office: product edit"]
    assert client.post("/admin/themes/preview").status_code in {302, 303}
    pages["storefront: theme preview bar"] = get(client, "/")
    assert "unpublished theme changes" in pages["storefront: theme preview bar"]
    return pages


def billing_pages(app: Any, client: Any, shop: Showcase) -> dict[str, str]:
    """The billing page on a trial with an invoice and an overdue banner, and its
    confirmation pages."""
    from datetime import UTC, datetime

    from saas.billing import standing
    from saas.models import Invoice, Plan, Tenant
    from saas.plans import start_trial, subscription_of

    with app.app_context():
        tenant = db.session.get(Tenant, shop.tenant.id)
        subscription = subscription_of(tenant.id) or start_trial(tenant)
        now = datetime.now(UTC)
        db.session.add(
            Invoice(
                tenant_id=tenant.id,
                number="ABC-0001",
                status="open",
                description="Starter plan",
                amount_due_cents=900,
                amount_paid_cents=0,
                currency="usd",
                attempt_count=1,
                hosted_url="https://invoice.stripe.com/i/abc",
                pdf_url="https://pay.stripe.com/invoice/abc/pdf",
                issued_at=now,
            )
        )
        standing.enter_past_due(subscription, now, actor=("system", None, "test"), reason="t")
        db.session.commit()
        code = db.session.scalars(select(Plan.code).where(Plan.retired_at.is_(None))).first()
    pages = {
        "back office: billing": get(client, "/admin/billing"),
        "back office: billing plan": get(client, f"/admin/billing/plan?plan={code}&interval=month"),
        "back office: billing cancel": get(client, "/admin/billing/cancel"),
    }
    assert "ABC-0001" in pages["back office: billing"]
    assert "payment is overdue" in pages["back office: billing"]
    with app.app_context():  # the rest of the module sees the shop as it was
        tenant = db.session.get(Tenant, shop.tenant.id)
        standing.settle(subscription_of(tenant.id), actor=("system", None, "test"), reason="t")
        db.session.commit()
    return pages


# A page that must fail: proves the checker runs and its messages reach the right page.
BROKEN = '<!doctype html>\n<html lang="en"><title>x</title>\n<p><div>hi</p>\n</html>'


@pytest.fixture(scope="module")
def messages(
    app: Any,
    checker: list[str],
    showcases: dict[str, Showcase],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, list[dict[str, Any]]]:
    """Render everything, then validate it all in one run of the checker (one JVM)."""
    pages: dict[str, str] = {"broken on purpose": BROKEN}
    for theme, shop in showcases.items():
        pages |= storefront_pages(app, shop, theme)
        pages |= shopping_pages(app, shop, theme)
        pages |= coming_soon_pages(app, theme)
    pages |= backoffice_pages(app, showcases["base"])
    platform = client_for(app, "localhost")
    pages["platform: landing"] = get(platform, "/")
    pages["platform: signup"] = get(platform, "/signup")
    pages["platform: signup, with errors"] = post(
        platform, "/signup", {"shop_name": "", "email": "nope"}, status=400
    )
    return check_html(checker, pages, tmp_path_factory.mktemp("html"))


@pytest.mark.parametrize("theme", THEMES)
def test_storefront_pages_are_valid_html(theme: str, messages: dict[str, list[Any]]) -> None:
    names = [name for name in messages if name.startswith(f"{theme} ")]
    assert len(names) >= 16  # every page was rendered and checked
    assert_valid(messages, names)


def test_platform_pages_are_valid_html(messages: dict[str, list[Any]]) -> None:
    assert_valid(messages, [name for name in messages if name.startswith("platform: ")])


def test_backoffice_pages_are_valid_html(messages: dict[str, list[Any]]) -> None:
    names = [name for name in messages if name.startswith(("back office: ", "storefront: "))]
    assert len(names) == 18
    assert_valid(messages, names)


def test_the_checker_catches_invalid_html(messages: dict[str, list[Any]]) -> None:
    """The checker really ran: the broken page is reported, as an error, on its line."""
    found = messages["broken on purpose"]
    assert any(is_error(m) and m.get("lastLine") == 3 for m in found), found
