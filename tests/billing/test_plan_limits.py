"""What a plan allows (saas/billing/limits.py), enforced on every path that can exceed it.

Each path is tried through its real form (or the CLI, for custom domains) on a shop at
its limit: the page says why, links to the billing page, and the database holds nothing
new. Then: racing additions, the features a plan may leave out, what a downgrade needs
first, the operator's plan form, and one shop's usage never counting for another.
"""

from __future__ import annotations

import io
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from saas.billing import limits
from saas.billing.limits import Limit
from saas.db import db
from saas.domains import DomainError, add_domain
from saas.models import Domain, Feature, Plan, Tenant
from saas.outbox import OutboxMessage
from saas.plans import DEFAULT_PLANS
from saas.tenancy import tenant_context
from tenants.catalog.models import Product, ProductImage, ProductStatus
from tenants.catalog.products import create_product
from tenants.checkout import recovery
from tenants.checkout.models import Cart
from tenants.discounts.models import Discount
from tenants.staff.models import Staff, StaffStatus
from tests.backoffice.test_backoffice import image_bytes, media_files, settings_form, shop_settings
from tests.catalog.test_product_csv import csv_of, preview, run_row, work
from tests.checkout.test_checkout import add_to_cart, open_shop
from tests.checkout.test_recovery import abandon
from tests.conftest import product_titles
from tests.console.test_console import as_operator, plan_form
from tests.core.test_cli import run
from tests.discounts.test_discounts import VALID as DISCOUNT_FORM
from tests.factories import make_plan, subscribe
from tests.staff.test_staff import invite, member, new_email, staff_count

UPGRADE = '<a href="/admin/billing">Upgrade your plan</a>'
EVERYTHING = [f.value for f in Feature]


def without(*features: Feature) -> list[str]:
    return [f for f in EVERYTHING if f not in {x.value for x in features}]


def on_plan(app, tenant, max_products: int | None = None, **fields: Any) -> int:
    """Put the shop on a new "Tiny" plan with these limits; the plan's id."""
    plan_id = make_plan(app, max_products, **fields)
    subscribe(app, tenant, plan_id)
    return plan_id


def statuses(app, tenant) -> dict[str, str]:
    with app.app_context(), tenant_context(tenant):
        return {p.title: p.status for p in db.session.scalars(select(Product))}


def add_products(app, tenant, *titles: str, status: str = ProductStatus.ACTIVE) -> list[int]:
    with app.app_context(), tenant_context(tenant):
        ids = [create_product(title, 100, status=status).id for title in titles]
        db.session.commit()
        return ids


def fill_media(app, tenant, megabytes: int, name: str = "old-photo.jpg") -> None:
    """Put `megabytes` MB of files in the shop's media folder (as uploads would)."""
    folder = Path(app.config["MEDIA_PATH"]) / tenant.schema
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(b"\0" * (megabytes * limits.MB))


def new_product(client, title: str = "Another", status: str = "active"):
    return client.post("/admin/products/new", data={"title": title, "price": "5", "status": status})


def plan_of(app, tenant) -> int:
    with app.app_context():
        plan = limits.plan_of(tenant.id)
        assert plan is not None
        return plan.id


# --- products -----------------------------------------------------------------------------


def test_adding_a_product_at_the_limit_says_why_and_links_to_billing(
    app, make_tenant, staff_client
):
    tenant = make_tenant(products=[("One", 100), ("Two", 100)])
    on_plan(app, tenant, max_products=2)
    client = staff_client(tenant, role="owner")
    form = client.get("/admin/products/new").text
    assert "Your Tiny plan allows 2 products, and your catalog has 2." in form
    assert f"{UPGRADE} to add more products." in form
    refused = new_product(client, status="draft")  # drafts count too
    assert refused.status_code == 400
    assert "Your Tiny plan allows 2 products, and your catalog has 2." in refused.text
    assert "archive those you no longer sell to make room." in refused.text
    assert UPGRADE in refused.text
    assert 'value="Another"' in refused.text  # the form keeps what was typed
    assert product_titles(app, tenant) == ["One", "Two"]


def test_archived_products_do_not_count(app, make_tenant, staff_client):
    tenant = make_tenant(products=[("Live", 100)])
    add_products(app, tenant, "Old", "Older", status=ProductStatus.ARCHIVED)
    on_plan(app, tenant, max_products=2)
    client = staff_client(tenant, role="owner")
    assert "Your Tiny plan allows" not in client.get("/admin/products/new").text
    assert new_product(client, "Fits").status_code == 302
    assert new_product(client, "Too many").status_code == 400
    assert product_titles(app, tenant) == ["Fits", "Live", "Old", "Older"]
    with app.app_context():
        rows = limits.usage(tenant.id, db.session.get(Plan, plan_of(app, tenant)))
    [products] = [u for u in rows if u.kind == Limit.PRODUCTS]
    assert (products.used, products.limit, products.at_limit) == (2, 2, True)


def test_unarchiving_at_the_limit_is_refused_on_the_product_page(app, make_tenant, staff_client):
    tenant = make_tenant(products=[("Live", 100)])
    [old] = add_products(app, tenant, "Old", status=ProductStatus.ARCHIVED)
    on_plan(app, tenant, max_products=1)
    client = staff_client(tenant, role="owner")
    form = {
        "title": "Old but renamed",
        "handle": "old",
        "description": "",
        "status": "active",
        "tags": "",
    }
    refused = client.post(f"/admin/products/{old}", data=form)
    assert refused.status_code == 400
    assert "Your Tiny plan allows 1 product, and your catalog has 1." in refused.text
    assert UPGRADE in refused.text and "Keep it archived, or make room first." in refused.text
    assert statuses(app, tenant) == {"Live": "active", "Old": "archived"}  # not renamed either
    # Still archived, it can be edited; once there is room it can come back.
    assert (
        client.post(f"/admin/products/{old}", data={**form, "status": "archived"}).status_code
        == 302
    )
    assert "Old but renamed" in client.get(f"/admin/products/{old}").text
    with app.app_context(), tenant_context(tenant):
        db.session.scalar(select(Product).where(Product.title == "Live")).status = "archived"
        db.session.commit()
    assert client.post(f"/admin/products/{old}", data=form).status_code == 302
    assert statuses(app, tenant) == {"Live": "archived", "Old but renamed": "active"}


def test_bulk_publishing_archived_products_at_the_limit_is_refused(app, make_tenant, staff_client):
    tenant = make_tenant(products=[("Live", 100)])
    archived = add_products(app, tenant, "A", "B", status=ProductStatus.ARCHIVED)
    on_plan(app, tenant, max_products=2)
    client = staff_client(tenant, role="owner")
    for action in ("publish", "draft"):
        refused = client.post(
            "/admin/products/bulk",
            data={"action": action, "product": [str(i) for i in archived]},
            follow_redirects=True,
        )
        assert "Your Tiny plan allows 2 products, and your catalog has 1." in refused.text
        assert "There is room for 1 more, not 2." in refused.text
        assert UPGRADE in refused.text  # the flash keeps its link
        assert statuses(app, tenant) == {"Live": "active", "A": "archived", "B": "archived"}
    one = client.post(
        "/admin/products/bulk",
        data={"action": "publish", "product": [str(archived[0])]},
        follow_redirects=True,
    )
    assert "1 product published." in one.text
    assert statuses(app, tenant) == {"Live": "active", "A": "active", "B": "archived"}


def test_two_products_added_at_once_for_the_last_place(app, make_tenant, staff_client):
    tenant = make_tenant(products=[("One", 100), ("Two", 100)])
    on_plan(app, tenant, max_products=3)
    clients = [staff_client(tenant, role="owner") for _ in range(2)]
    start = threading.Barrier(len(clients))
    answers: list[int] = []

    def add(client, title) -> None:
        start.wait()
        answers.append(new_product(client, title).status_code)

    threads = [
        threading.Thread(target=add, args=(client, f"Racer {n}"))
        for n, client in enumerate(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(answers) == [302, 400]
    assert len(product_titles(app, tenant)) == 3


# --- the CSV import -------------------------------------------------------------------------


def test_the_import_counts_products_not_archived_and_names_the_rows_over(
    app, make_tenant, staff_client
):
    tenant = make_tenant(products=[("Live", 100)])
    add_products(app, tenant, "Old", "Older", status=ProductStatus.ARCHIVED)
    on_plan(app, tenant, max_products=3)
    client = staff_client(tenant, permissions=["products"])
    rows = [{"Handle": f"new-{n}", "Title": f"New {n}", "Variant Price": "1"} for n in range(1, 5)]
    _, page = preview(client, csv_of(*rows))
    assert (
        "This file would add 4 products to your catalog, but your Tiny plan allows 3 and your "
        "catalog has 1: 2 too many (the first over the limit is “new-3”, row 4)."
    ) in page
    assert "Import at most 2 new products" in page
    assert f"{UPGRADE} to add more products." in page
    assert '<button type="submit">Import' not in page
    # Bringing an archived product back counts; archiving one in the same file frees a place.
    swap = csv_of(
        {"Handle": "old", "Title": "Old", "Status": "active"},
        {"Handle": "live", "Title": "Live", "Status": "archived"},
        {"Handle": "new-1", "Title": "New 1", "Variant Price": "1"},
        {"Handle": "new-2", "Title": "New 2", "Variant Price": "1"},
    )
    run_id, page = preview(client, swap)
    assert '<button type="submit">Import 4 products</button>' in page, page
    client.post(f"/admin/products/import/{run_id}")
    work(app)
    assert run_row(app, tenant, run_id).status == "done"
    assert statuses(app, tenant) == {
        "Live": "archived",
        "Old": "active",
        "Older": "archived",
        "New 1": "active",
        "New 2": "active",
    }


def test_an_import_over_the_limit_at_run_time_changes_nothing(app, make_tenant, staff_client):
    tenant = make_tenant()
    [archived] = add_products(app, tenant, "Old", status=ProductStatus.ARCHIVED)
    on_plan(app, tenant, max_products=1)
    client = staff_client(tenant, permissions=["products"])
    run_id, _ = preview(client, csv_of({"Handle": "new", "Title": "New", "Variant Price": "1"}))
    client.post(f"/admin/products/import/{run_id}")
    with app.app_context(), tenant_context(tenant):  # meanwhile, the archived one is back
        db.session.get(Product, archived).status = "active"
        db.session.commit()
    work(app)
    run = run_row(app, tenant, run_id)
    assert run.status == "failed" and "product limit" in run.failure
    assert "1 too many (the first over the limit is “new”, row 2)" in run.problems[0]["message"]
    assert UPGRADE in client.get(f"/admin/products/import/{run_id}").text
    assert product_titles(app, tenant) == ["Old"]


# --- staff seats ----------------------------------------------------------------------------


def test_inviting_one_person_too_many(app, make_tenant, staff_client):
    tenant = make_tenant()
    on_plan(app, tenant, max_staff=2)
    owner = staff_client(tenant, role="owner")
    assert invite(owner, new_email()).status_code == 302
    refused = invite(owner, email := new_email())
    assert refused.status_code == 400
    assert "Your Tiny plan includes 2 staff seats, and all are in use" in refused.text
    assert "Remove someone to free a seat." in refused.text
    assert f"{UPGRADE} to invite more people." in refused.text
    assert f'value="{email}"' in refused.text
    assert member(app, tenant, email=email) is None and staff_count(app, tenant) == 2


def test_inviting_a_removed_person_back_needs_a_seat(app, make_tenant, staff_client, make_staff):
    tenant = make_tenant()
    on_plan(app, tenant, max_staff=2)
    owner = staff_client(tenant, role="owner")
    gone = make_staff(tenant, status=StaffStatus.DISABLED)
    make_staff(tenant)  # the second seat
    refused = invite(owner, gone.email)
    assert refused.status_code == 400 and UPGRADE in refused.text
    assert member(app, tenant, email=gone.email).status == StaffStatus.DISABLED


# --- custom domains -------------------------------------------------------------------------


def test_a_custom_domain_needs_the_feature_and_a_free_place(app, make_tenant):
    tenant = make_tenant()
    plan_id = on_plan(app, tenant, max_domains=1, features=without(Feature.CUSTOM_DOMAIN))
    host = f"{tenant.slug}.brand-example.test"
    refused = run(app, "tenants", "add-domain", tenant.slug, host)
    assert refused.exit_code == 2
    assert "Custom domains are not included in your Tiny plan." in refused.output
    assert domains_of(app, tenant) == []

    with app.app_context():
        db.session.get(Plan, plan_id).features = EVERYTHING
        db.session.commit()
    assert run(app, "tenants", "add-domain", tenant.slug, host).exit_code == 0
    second = run(app, "tenants", "add-domain", tenant.slug, f"www.{host}")
    assert second.exit_code == 2
    assert "Your Tiny plan allows 1 custom domain, and your shop has 1." in second.output
    assert domains_of(app, tenant) == [host]
    with app.app_context():
        with pytest.raises(DomainError) as refused_again:
            add_domain(db.session.get(Tenant, tenant.id), f"shop.{host}")
        db.session.rollback()
    assert refused_again.value.problem is not None
    assert refused_again.value.problem.kind == Limit.DOMAINS


def domains_of(app, tenant) -> list[str]:
    with app.app_context():
        return limits.domain_hosts(tenant.id)


# --- storage --------------------------------------------------------------------------------


def test_a_product_image_over_the_storage_limit_is_refused(app, make_tenant, staff_client):
    tenant = make_tenant()
    [product] = add_products(app, tenant, "Mug")
    on_plan(app, tenant, max_storage_mb=1)
    fill_media(app, tenant, 1)
    client = staff_client(tenant, role="owner")
    refused = client.post(
        f"/admin/products/{product}",
        data={"images": (io.BytesIO(image_bytes()), "mug.jpg"), "vendor": "A mug maker"},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 400
    assert "Your Tiny plan includes 1 MB of storage for images, and your shop uses 1 MB" in (
        refused.text
    )
    assert f"{UPGRADE} to get more storage." in refused.text
    assert 'value="A mug maker"' in refused.text  # what was typed stays
    assert media_files(app, tenant) == ["old-photo.jpg"]
    with app.app_context(), tenant_context(tenant):
        assert db.session.scalar(select(func.count(ProductImage.id))) == 0
    # Room again: the same upload is taken.
    (Path(app.config["MEDIA_PATH"]) / tenant.schema / "old-photo.jpg").unlink()
    added = client.post(
        f"/admin/products/{product}",
        data={"images": (io.BytesIO(image_bytes()), "mug.jpg"), "vendor": "A mug maker"},
        content_type="multipart/form-data",
    )
    assert added.status_code == 302


def test_a_logo_over_the_storage_limit_is_refused_and_nothing_is_saved(
    app, make_tenant, staff_client
):
    tenant = make_tenant()
    on_plan(app, tenant, max_storage_mb=1)
    fill_media(app, tenant, 1)
    before = shop_settings(app, tenant)
    owner = staff_client(tenant, role="owner")
    refused = owner.post(
        "/admin/settings",
        data={**settings_form(name="Renamed"), "logo": (io.BytesIO(image_bytes()), "l.jpg")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 400
    assert "Your Tiny plan includes 1 MB of storage for images" in refused.text
    assert UPGRADE in refused.text and 'value="Renamed"' in refused.text
    assert shop_settings(app, tenant) == before
    assert media_files(app, tenant) == ["old-photo.jpg"]
    with app.app_context():
        assert db.session.get(Tenant, tenant.id).name != "Renamed"


# --- discount codes -------------------------------------------------------------------------


def test_a_plan_without_discount_codes_creates_none(app, make_tenant, staff_client):
    tenant = make_tenant()
    on_plan(app, tenant, features=without(Feature.DISCOUNT_CODES))
    client = staff_client(tenant, role="owner")
    listing = client.get("/admin/discounts").text
    assert "Discount codes are not included in your Tiny plan." in listing
    assert f"{UPGRADE} to offer discount codes." in listing
    refused = client.post("/admin/discounts/new", data=DISCOUNT_FORM)
    assert refused.status_code == 400
    assert "Discount codes are not included in your Tiny plan." in refused.text
    assert UPGRADE in refused.text and 'value="SUMMER15"' in refused.text
    assert discounts_of(app, tenant) == []
    # Automatic discounts are not codes: they are on every plan.
    automatic = {**DISCOUNT_FORM, "method": "automatic", "code": "", "title": "Summer sale"}
    assert client.post("/admin/discounts/new", data=automatic).status_code == 302
    assert discounts_of(app, tenant) == [(None, True)]


def test_a_code_cannot_be_switched_on_without_the_feature(app, make_tenant, staff_client):
    tenant = make_tenant()
    with app.app_context(), tenant_context(tenant):
        code = Discount(code="OLD10", kind="percentage", value=1000, active=False, times_used=0)
        db.session.add(code)
        db.session.commit()
        code_id = code.id
    on_plan(app, tenant, features=without(Feature.DISCOUNT_CODES))
    client = staff_client(tenant, role="owner")
    refused = client.post(f"/admin/discounts/{code_id}/activate", follow_redirects=True)
    assert "Discount codes are not included in your Tiny plan." in refused.text
    assert UPGRADE in refused.text
    saved_on = client.post(f"/admin/discounts/{code_id}", data={**DISCOUNT_FORM, "code": "OLD10"})
    assert saved_on.status_code == 400 and UPGRADE in saved_on.text
    assert discounts_of(app, tenant) == [("OLD10", False)]
    # While off it can still be edited (or deleted).
    off = {**DISCOUNT_FORM, "code": "OLD15", "active": ""}
    assert client.post(f"/admin/discounts/{code_id}", data=off).status_code == 302
    assert discounts_of(app, tenant) == [("OLD15", False)]


def test_the_checkout_refuses_codes_when_the_plan_has_none(app, make_tenant, shop_client):
    tenant = make_tenant()
    variant = open_shop(app, tenant)
    with app.app_context(), tenant_context(tenant):
        db.session.add(Discount(code="SAVE10", kind="percentage", value=1000, times_used=0))
        db.session.commit()
    plan_id = on_plan(app, tenant, features=without(Feature.DISCOUNT_CODES))
    client = shop_client(tenant)
    add_to_cart(client, variant)
    refused = client.post("/cart/discount", data={"code": "SAVE10"})
    assert refused.status_code == 400
    assert "This shop does not accept discount codes." in refused.text
    with app.app_context(), tenant_context(tenant):
        assert db.session.scalar(select(Cart.discount_code)) in ("", None)
    with app.app_context():  # with the feature, the same code applies
        db.session.get(Plan, plan_id).features = EVERYTHING
        db.session.commit()
    assert client.post("/cart/discount", data={"code": "SAVE10"}).status_code == 302


def discounts_of(app, tenant) -> list[tuple[str | None, bool]]:
    with app.app_context(), tenant_context(tenant):
        rows = db.session.scalars(select(Discount).order_by(Discount.id))
        return [(d.code, d.active) for d in rows]


# --- abandoned-checkout emails --------------------------------------------------------------


def test_no_reminder_is_scheduled_or_sent_without_the_feature(
    app, make_tenant, shop_client, staff_client, monkeypatch
):
    import saas.jobs

    tenant = make_tenant()
    variant = open_shop(app, tenant)
    plan_id = on_plan(app, tenant, features=without(Feature.ABANDONED_CHECKOUT_EMAILS))
    queued: list[Any] = []
    real_enqueue = saas.jobs.enqueue

    def spy(func, *args, **kwargs):
        queued.append(func)
        return real_enqueue(func, *args, **kwargs)

    monkeypatch.setattr(saas.jobs, "enqueue", spy)
    cart_id = abandon(app, tenant, shop_client(tenant), variant)
    assert recovery.remind not in queued
    with app.app_context(), tenant_context(tenant):
        assert recovery.remind(cart_id) is False
        assert recovery.sweep().reminded == 0
        assert db.session.scalar(select(func.count(OutboxMessage.id))) == 0
        assert db.session.get(Cart, cart_id).recovery_sent_at is None

    settings = staff_client(tenant, role="owner").get("/admin/settings").text
    assert "Abandoned-checkout emails are not included in your Tiny plan." in settings
    assert f"{UPGRADE} to send abandoned-checkout emails." in settings

    with app.app_context():  # upgraded: the sweep reminds the cart still waiting
        db.session.get(Plan, plan_id).features = EVERYTHING
        db.session.commit()
    with app.app_context(), tenant_context(tenant):
        assert recovery.sweep().reminded == 1
    settings = staff_client(tenant, role="owner").get("/admin/settings").text
    assert "get one reminder 1 hour later" in settings and UPGRADE not in settings


# --- features and downgrades ----------------------------------------------------------------


def test_feature_gates(app, make_tenant):
    bare = make_tenant()
    tenant = make_tenant()
    on_plan(app, tenant, features=[Feature.DISCOUNT_CODES.value])
    with app.app_context():
        for feature in Feature:  # no plan yet: nothing is held back
            assert limits.feature_problem(bare.id, feature) is None
        assert limits.feature_problem(tenant.id, Feature.DISCOUNT_CODES) is None
        api = limits.feature_problem(tenant.id, Feature.API_ACCESS)
        assert api is not None and api.kind == Feature.API_ACCESS
        assert str(api) == (
            "API access is not included in your Tiny plan. Upgrade your plan to use the API."
        )
        assert api.html() == (
            f"API access is not included in your Tiny plan. {UPGRADE} to use the API."
        )
        assert not limits.has_feature(tenant.id, "custom_domain")


def test_downgrade_problems_say_what_must_change_first(app, make_tenant, make_staff):
    tenant = make_tenant(products=[(f"P{n}", 100) for n in range(5)])
    add_products(app, tenant, "Archived", status=ProductStatus.ARCHIVED)
    for _ in range(3):
        make_staff(tenant)
    with app.app_context():
        db.session.add_all(
            Domain(host=f"{name}.{tenant.slug}.test", tenant_id=tenant.id) for name in ("a", "b")
        )
        db.session.commit()
    fill_media(app, tenant, 3)
    small = make_plan(app, 3, name="Small", max_staff=2, max_domains=1, max_storage_mb=1)
    plain = make_plan(
        app,
        3,
        name="Plain",
        max_staff=2,
        max_storage_mb=None,
        features=[Feature.DISCOUNT_CODES.value],
    )
    roomy = make_plan(app, None, max_staff=None, max_domains=None)
    subscribe(app, tenant, roomy)
    hosts = [f"a.{tenant.slug}.test", f"b.{tenant.slug}.test"]
    with app.app_context():
        assert limits.downgrade_problems(tenant.id, db.session.get(Plan, roomy)) == []
        assert limits.downgrade_problems(tenant.id, db.session.get(Plan, small)) == [
            "Archive 2 products: Small allows 3 products (archived ones don't count), and you "
            "have 5.",
            "Remove 1 staff member: Small includes 2 staff seats, and 3 are in use (pending "
            "invitations count).",
            f"Remove 1 of your 2 custom domains ({hosts[0]} and {hosts[1]}): Small allows 1 "
            "custom domain.",
            "Delete 2 MB of images: Small includes 1 MB of storage, and your shop uses 3 MB.",
        ]
        problems = limits.downgrade_problems(tenant.id, db.session.get(Plan, plain))
        assert f"Custom domains are not included in Plain: remove {hosts[0]} and {hosts[1]}." in (
            problems
        )
        assert not any("MB" in p for p in problems)


def test_usage_reports_every_limit(app, make_tenant, make_staff):
    tenant = make_tenant(products=[("A", 1), ("B", 1)], domains=[f"x.{short_id()}.test"])
    add_products(app, tenant, "Gone", status=ProductStatus.ARCHIVED)
    make_staff(tenant)
    make_staff(tenant, status=StaffStatus.DISABLED)
    fill_media(app, tenant, 2)
    plan_id = on_plan(app, tenant, max_products=10, max_staff=3, max_domains=1, max_storage_mb=2)
    with app.app_context():
        rows = limits.usage(tenant.id, db.session.get(Plan, plan_id))
    assert [(u.label, u.used, u.limit, u.at_limit) for u in rows] == [
        ("Products", 2, 10, False),
        ("Staff seats", 1, 3, False),
        ("Custom domains", 1, 1, True),
        ("Storage (MB)", 2, 2, True),
    ]


def short_id() -> str:
    return uuid.uuid4().hex[:8]


def test_default_plans():
    by_code = {spec["code"]: spec for spec in DEFAULT_PLANS}
    for spec in DEFAULT_PLANS:
        assert spec["yearly_price_cents"] == 10 * spec["price_cents"]
    assert [by_code[c]["max_storage_mb"] for c in ("starter", "growth", "pro")] == [
        1024,
        10240,
        None,
    ]
    assert by_code["starter"]["features"] == ["discount_codes", "custom_domain"]
    assert set(by_code["growth"]["features"]) == {
        "discount_codes",
        "custom_domain",
        "abandoned_checkout_emails",
    }
    assert by_code["pro"]["features"] == EVERYTHING


# --- the operator's plan form ---------------------------------------------------------------


@pytest.fixture
def console(console_client, make_operator):
    """The console, signed in as an operator."""
    return as_operator(console_client, make_operator())


def plan_by_code(app, code: str) -> Plan:
    with app.app_context():
        plan = db.session.scalar(select(Plan).where(Plan.code == code))
        db.session.expunge(plan)
        return plan


def test_plan_form_yearly_price_storage_and_features_round_trip(app, console):
    data = plan_form(
        name="Yearly",
        yearly_price="199.90",
        max_storage_mb="2048",
        features_shown="1",
        features=["discount_codes", "api_access"],
    )
    assert console.post("/plans/new", data=data).status_code == 302
    plan = plan_by_code(app, data["code"])
    assert (plan.price_cents, plan.yearly_price_cents, plan.max_storage_mb) == (1999, 19990, 2048)
    assert plan.features == ["discount_codes", "api_access"]
    page = console.get(f"/plans/{plan.id}/edit").text
    assert 'value="199.90"' in page and 'value="2048"' in page
    assert "<legend>Features included</legend>" in page
    assert (
        'id="feature-discount_codes" name="features" type="checkbox" value="discount_codes" checked'
        in page
    )
    assert 'value="custom_domain" checked' not in page
    assert (
        '<label for="feature-abandoned_checkout_emails">Abandoned-checkout emails</label>' in page
    )
    listing = console.get("/plans").text
    row = listing.split(f"<code>{data['code']}</code>")[1].split("</tr>")[0]
    assert "$199.90" in row and "2,048 MB" in row and "Discount codes, API access" in row

    # Blank yearly price: monthly only; no box ticked: no features.
    again = {**data, "yearly_price": "", "max_storage_mb": "", "features": []}
    assert console.post(f"/plans/{plan.id}/edit", data=again).status_code == 302
    plan = plan_by_code(app, data["code"])
    assert (plan.yearly_price_cents, plan.max_storage_mb, plan.features) == (None, None, [])
    listing = console.get("/plans").text
    row = listing.split(f"<code>{data['code']}</code>")[1].split("</tr>")[0]
    assert "Unlimited" in row and "None" in row


def test_plan_form_errors_are_per_field_and_save_nothing(app, console):
    data = plan_form(yearly_price="12.345", max_storage_mb="-5", features_shown="1")
    refused = console.post("/plans/new", data=data)
    assert refused.status_code == 400
    assert "“12.345” has too many decimals: the yearly price in USD has at most 2" in refused.text
    assert "Storage: enter a whole number of MB from 0 to 1,000,000" in refused.text
    assert 'value="12.345"' in refused.text and 'value="-5"' in refused.text
    words = console.post("/plans/new", data={**data, "yearly_price": "lots", "max_storage_mb": "1"})
    assert "“lots” cannot be read as the yearly price. Write it like 12.50." in words.text
    with app.app_context():
        assert db.session.scalar(select(Plan).where(Plan.code == data["code"])) is None


def test_a_new_amount_clears_the_stripe_price_made_for_the_old_one(app, console):
    data = plan_form(yearly_price="100.00", features_shown="1", features=EVERYTHING)
    console.post("/plans/new", data=data)
    plan = plan_by_code(app, data["code"])

    def set_prices() -> None:
        with app.app_context():
            row = db.session.get(Plan, plan.id)
            row.stripe_price_month, row.stripe_price_year = "price_month", "price_year"
            db.session.commit()

    def prices() -> tuple[str | None, str | None]:
        row = plan_by_code(app, data["code"])
        return row.stripe_price_month, row.stripe_price_year

    set_prices()
    console.post(f"/plans/{plan.id}/edit", data={**data, "name": "Renamed"})
    assert prices() == ("price_month", "price_year")  # no amount changed
    console.post(f"/plans/{plan.id}/edit", data={**data, "price": "21.00"})
    assert prices() == (None, "price_year")
    set_prices()
    console.post(f"/plans/{plan.id}/edit", data={**data, "price": "21.00", "yearly_price": "210"})
    assert prices() == ("price_month", None)
    set_prices()
    console.post(
        f"/plans/{plan.id}/edit",
        data={**data, "price": "21.00", "yearly_price": "210", "currency": "eur"},
    )
    assert prices() == (None, None)


def test_a_post_without_the_feature_boxes_keeps_the_features(app, console):
    data = plan_form(features_shown="1", features=["custom_domain"])
    console.post("/plans/new", data=data)
    plan = plan_by_code(app, data["code"])
    bare = {k: v for k, v in data.items() if k not in ("features_shown", "features")}
    assert console.post(f"/plans/{plan.id}/edit", data=bare).status_code == 302
    assert plan_by_code(app, data["code"]).features == ["custom_domain"]
    fresh = plan_form()  # a new plan posted without them includes everything
    console.post("/plans/new", data=fresh)
    assert plan_by_code(app, fresh["code"]).features == EVERYTHING


# --- isolation ------------------------------------------------------------------------------


def test_one_shops_usage_never_counts_for_another(app, make_tenant, staff_client):
    full, other = make_tenant(products=[("Mine", 100)]), make_tenant()
    plan_id = make_plan(app, 1, max_staff=2, max_storage_mb=1)
    subscribe(app, full, plan_id)
    subscribe(app, other, plan_id)
    fill_media(app, full, 1)
    staff_client(full)  # with the owner below, the full shop's two seats are taken
    full_owner = staff_client(full, role="owner")
    assert new_product(full_owner).status_code == 400
    assert invite(full_owner, new_email()).status_code == 400

    owner = staff_client(other, role="owner")
    assert new_product(owner, "Theirs").status_code == 302
    assert invite(owner, new_email()).status_code == 302
    with app.app_context(), tenant_context(other):
        product = db.session.scalar(select(Product.id))
    uploaded = owner.post(
        f"/admin/products/{product}",
        data={"images": (io.BytesIO(image_bytes(size=(200, 100))), "x.jpg")},
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 302
    assert product_titles(app, full) == ["Mine"] and product_titles(app, other) == ["Theirs"]
    with app.app_context():
        plan = db.session.get(Plan, plan_id)
        assert [u.used for u in limits.usage(other.id, plan)][:2] == [1, 2]
        assert limits.limit_problem(other.id, Limit.PRODUCTS) is not None  # now full itself
        assert limits.limit_problem(full.id, Limit.STORAGE, 1) is not None
        assert limits.limit_problem(other.id, Limit.STORAGE, 1) is None
        with tenant_context(other):  # asked from inside the other shop, the same answers
            assert limits.used(full.id, Limit.PRODUCTS) == 1
            assert limits.used(full.id, Limit.STAFF) == 2
    with app.app_context(), tenant_context(full):
        assert db.session.scalar(select(func.count(Staff.id))) == 2


# --- the pages stay valid HTML --------------------------------------------------------------


def test_pages_with_limit_messages_are_valid_html(
    app, make_tenant, staff_client, console, tmp_path
):
    from tests.shop.test_html_valid import assert_valid, check_html, checker_command

    command = checker_command()  # skips without the checker
    tenant = make_tenant(products=[("Live", 100)])
    [old] = add_products(app, tenant, "Old", status=ProductStatus.ARCHIVED)
    on_plan(
        app,
        tenant,
        max_products=1,
        max_staff=1,
        max_storage_mb=1,
        features=without(Feature.DISCOUNT_CODES, Feature.ABANDONED_CHECKOUT_EMAILS),
    )
    fill_media(app, tenant, 1)
    owner = staff_client(tenant, role="owner")
    logo = {**settings_form(), "logo": (io.BytesIO(image_bytes()), "l.jpg")}
    run_id, _ = preview(owner, csv_of({"Handle": "new", "Title": "New", "Variant Price": "1"}))
    responses = {
        "add product": owner.get("/admin/products/new"),
        "unarchive": owner.post(
            f"/admin/products/{old}",
            data={"title": "Old", "handle": "old", "status": "active"},
        ),
        "bulk publish": owner.post(
            "/admin/products/bulk",
            data={"action": "publish", "product": [str(old)]},
            follow_redirects=True,
        ),
        "import": owner.get(f"/admin/products/import/{run_id}"),
        "invite": invite(owner, new_email()),
        "logo": owner.post("/admin/settings", data=logo, content_type="multipart/form-data"),
        "discounts": owner.get("/admin/discounts"),
        "discount form": owner.post("/admin/discounts/new", data=DISCOUNT_FORM),
        "plan form": console.get("/plans/new"),
        "plan form, errors": console.post(
            "/plans/new", data=plan_form(yearly_price="x", max_storage_mb="-1", features_shown="1")
        ),
        "plans": console.get("/plans"),
    }
    pages = {name: response.get_data(as_text=True) for name, response in responses.items()}
    for name in ("add product", "unarchive", "bulk publish", "invite", "logo", "discounts"):
        assert UPGRADE in pages[name], name
    messages = check_html(command, pages, tmp_path / "html")
    assert_valid(messages, list(pages))
