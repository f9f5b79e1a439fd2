"""The demo platform: an operator and a few shops with products. Safe to run again."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import select

from saas.billing import standing
from saas.billing.manual import record_payment
from saas.db import db, unit_of_work
from saas.jobs import enqueue
from saas.models import Operator, Plan, Tenant
from saas.passwords import hash_password
from saas.plans import start_trial, subscription_of
from saas.tenancy import tenant_context
from saas.tenancy.provisioning import create_tenant
from saas.tenancy.sites import absolute_url, public_host, shop_host
from saas.theming import themes
from tenants.catalog.models import Product
from tenants.catalog.products import create_product, handleize
from tenants.collections.models import Collection, CollectionKind, CollectionSort
from tenants.collections.services import add_product
from tenants.content.models import Menu
from tenants.discounts.models import Discount
from tenants.loyalty import points
from tenants.loyalty.models import LoyaltyProgram, LoyaltyTier
from tenants.orders.models import Order
from tenants.reviews import services as reviews
from tenants.reviews.models import Review
from tenants.settings.models import ShopSettings
from tenants.settings.onboarding import send_welcome_email
from tenants.shipping.models import ShippingRate, ShippingZone
from tenants.staff.models import Area, Role, Staff, StaffStatus

OPERATOR_EMAIL = "operator@example.com"
OPERATOR_PASSWORD = "demo-operator-pass"  # noqa: S105  (demo data, printed to the user)
# A fixed second factor so the demo console can be opened with any authenticator app
# (or `flask operator totp-code`). Demo data only; real operators get a random secret.
OPERATOR_TOTP_SECRET = "DEMOSTOREFRONTOPERATORTOTPKEY234"  # noqa: S105
OWNER_PASSWORD = "demo-owner-pass"  # noqa: S105  (every demo shop's owner)

SHOPS: list[dict] = [
    {
        "slug": "acme",
        "name": "Acme Outdoor",
        "theme": "base",
        "owner": "owner@acme.example",
        "billing": "paid",  # on Growth, a month recorded as paid
        "products": [
            ("Trail Backpack 30L", 8900, "Light, roomy and rain-proof."),
            ("Camping Mug", 1450, "Enamel steel, 350 ml."),
            ("Headlamp", 2999, "300 lumens, USB rechargeable."),
            ("Down Sleeping Bag", 21900, "Comfort to -5 °C."),
        ],
        # A hand-picked collection (product titles) and one by rule (price up to, cents).
        "collections": {
            "manual": ("Trail essentials", ["Trail Backpack 30L", "Headlamp", "Down Sleeping Bag"]),
            "automatic": ("Gifts under $30", 3000),
        },
    },
    {
        "slug": "bloom",
        "name": "Bloom Flowers",
        "theme": "boutique",
        "owner": "owner@bloom.example",
        "products": [
            ("Spring Bouquet", 3900, "Tulips, ranunculus and eucalyptus."),
            ("Dried Lavender Bunch", 1600, "From Provence."),
            ("Ceramic Vase", 4500, "Hand-thrown, speckled glaze."),
        ],
        "collections": {
            "manual": ("Fresh this week", ["Spring Bouquet", "Ceramic Vase"]),
            "automatic": ("Under $40", 4000),
        },
    },
    {
        "slug": "pixel",
        "name": "Pixel Games",
        "theme": "midnight",
        "owner": "owner@pixel.example",
        "billing": "past_due",  # its trial ended unpaid: the dunning banner shows
        "products": [
            ("Retro Handheld Console", 12900, "400 built-in classics."),
            ("Arcade Stick", 7900, "Sanwa-style buttons."),
            ("Pixel Art Poster", 1900, "A2, matte paper."),
            ("Game Cartridge Case", 1200, "Holds 12 cartridges."),
        ],
        "collections": {
            "manual": ("Play anywhere", ["Retro Handheld Console", "Game Cartridge Case"]),
            "automatic": ("Under $20", 2000),
        },
    },
]


def _fill_shop(spec: dict) -> None:
    """Owner account, products (one of them low on stock) and a few orders."""
    db.session.add(
        Staff(
            email=spec["owner"],
            name=f"{spec['name']} owner",
            password_hash=hash_password(OWNER_PASSWORD),
            role=Role.OWNER,
            permissions=[str(a) for a in Area],
            status=StaffStatus.ACTIVE,
        )
    )
    settings = db.session.get(ShopSettings, 1)
    if settings is not None:
        settings.theme_chosen = True  # each demo shop shows off a different theme
        # Shoppers can check out at once: offline payments (Stripe needs keys), shipping
        # to a few countries, and a code to try.
        settings.country = settings.country or "US"
        settings.bank_transfer = True
        settings.bank_transfer_instructions = (
            "Pay to Demo Bank, account 12345678; put your order number as the reference."
        )
        settings.cash_on_delivery = True
        settings.payments_ready = True
    zone = ShippingZone(
        name="Domestic and Europe", countries=["US", "CA", "GB", "FR", "DE", "NL"], regions=[]
    )
    zone.rates = [
        ShippingRate(name="Standard", kind="flat", price_cents=599, free_over_cents=7500),
        ShippingRate(name="Express", kind="flat", price_cents=1499),
    ]
    db.session.add(zone)
    db.session.add(
        Discount(code="WELCOME10", title="10 % off your first order", kind="percentage", value=1000)
    )
    for i, (title, price, description) in enumerate(spec["products"]):
        # Stock through create_product, so the default variant carries it too.
        create_product(
            title, price, description=description, inventory_quantity=3 if i == 0 else 25
        )
    now = datetime.now(UTC)
    for n, (days_ago, cents, status) in enumerate(
        [
            (0, spec["products"][0][1], "unfulfilled"),
            (2, 4200, "fulfilled"),
            (9, 9900, "unfulfilled"),
        ]
    ):
        db.session.add(
            Order(
                number=1001 + n,
                email=f"shopper{n + 1}@example.com",
                customer_name=f"Shopper {n + 1}",
                payment_status="paid",
                fulfillment_status=status,
                subtotal_cents=cents,
                total_cents=cents,
                placed_at=now - timedelta(days=days_ago, hours=1),
            )
        )


DEMO_REVIEWS = [  # (product index, rating, title, body, name, published)
    (0, 5, "Exactly as pictured", "Arrived quickly and well packed.", "Sam K.", True),
    (0, 4, "Very good", "Lovely quality; a little smaller than I expected.", "Ana P.", True),
    (1, 5, "A gift that landed", "My sister uses it every day.", "Lee W.", True),
    (1, 2, "Not for me", "The colour was duller than on my screen.", "Jo M.", False),
]  # fmt: skip


def _seed_reviews(spec: dict) -> bool:
    """A few reviews (one waiting in the queue), in a shop that has none yet. True if made."""
    if db.session.scalar(select(Review.id).limit(1)) is not None:
        return False
    products = db.session.scalars(select(Product).order_by(Product.id)).all()
    settings = db.session.get(ShopSettings, 1)
    if len(products) < 2 or settings is None:
        return False
    for index, rating, title, body, name, published in DEMO_REVIEWS:
        entry = reviews.ReviewInput(rating, title, body, name)
        review = reviews.write_review(products[index], entry, settings)
        if published:
            reviews.publish(review)
    return True


def _seed_loyalty(spec: dict) -> bool:
    """The points programme on (1 point per unit spent, 100 for signing up, 100 points
    for one unit off), with referrals (10 % off a friend's first order, 250 points) and
    two member tiers, in a shop that has never set it. True if turned on."""
    if db.session.get(LoyaltyProgram, 1) is not None:
        return False
    program = points.program()
    program.enabled = True
    program.signup_points = 100
    program.referral_percent = 10
    program.referral_points = 250
    db.session.add_all(
        [
            LoyaltyTier(name="Silver", threshold=100, discount_percent=5),
            LoyaltyTier(name="Gold", threshold=300, discount_percent=10, free_shipping=True),
        ]
    )
    return True


def _seed_collections(spec: dict) -> bool:
    """A manual and an automatic collection, linked from the main menu (the theme adds
    "Shop all", /collections/all, itself). Only in a shop that has no collection yet,
    so shops of an older demo get them too. True if made."""
    if db.session.scalar(select(Collection.id).limit(1)) is not None:
        return False
    manual_title, picks = spec["collections"]["manual"]
    automatic_title, max_cents = spec["collections"]["automatic"]
    manual = Collection(
        handle=handleize(manual_title),
        title=manual_title,
        kind=CollectionKind.MANUAL,
        sort=CollectionSort.MANUAL,
    )
    automatic = Collection(
        handle=handleize(automatic_title),
        title=automatic_title,
        kind=CollectionKind.AUTOMATIC,
        rules=[{"field": "price", "min": None, "max": max_cents}],
        sort=CollectionSort.PRICE_ASC,
    )
    db.session.add_all([manual, automatic])
    db.session.flush()
    products = {p.title: p.id for p in db.session.scalars(select(Product))}
    for title in picks:
        if title in products:
            add_product(manual, products[title])
    if db.session.scalar(select(Menu.id).where(Menu.handle == "main")) is None:
        db.session.add(
            Menu(
                handle="main",
                items=[
                    {"title": c.title, "url": f"/collections/{c.handle}"}
                    for c in (manual, automatic)
                ],
            )
        )
    db.session.flush()
    return True


def _bill(tenant: Tenant, state: str | None) -> None:
    """Show billing's states on the demo (manual billing: there are no Stripe keys)."""
    subscription = subscription_of(tenant.id)
    if subscription is None or state is None:
        return
    actor = ("system", None, "demo")
    if state == "paid":
        growth = db.session.scalar(select(Plan).where(Plan.code == "growth"))
        if growth is not None:
            subscription.plan_id = growth.id
            db.session.flush()
            db.session.refresh(subscription)
        record_payment(tenant, 1, "demo: paid by bank transfer", actor=actor)
    elif state == "past_due":
        ended = datetime.now(UTC) - timedelta(days=3)
        subscription.trial_ends_at = ended
        standing.enter_past_due(subscription, ended, actor=actor, reason="demo: trial ended")


# Seeds that also fill shops made by an older demo: (seed, what the progress says).
LATER_SEEDS: tuple[tuple[Callable[[dict], bool], str], ...] = (
    (_seed_collections, "collections added"),
    (_seed_reviews, "reviews added"),
    (_seed_loyalty, "points programme turned on"),
)


def seed_demo(progress: Callable[[str], object] = print) -> Iterator[str]:
    """Create what is missing of the demo platform, then yield lines to show the user."""
    available = themes()
    # Each step its own unit of work: an interrupted seed keeps what it finished and
    # the next run makes only what is missing.
    with unit_of_work():
        if db.session.scalar(select(Operator.id).where(Operator.email == OPERATOR_EMAIL)) is None:
            db.session.add(
                Operator(
                    email=OPERATOR_EMAIL,
                    name="Demo Operator",
                    password_hash=hash_password(OPERATOR_PASSWORD),
                    totp_secret=OPERATOR_TOTP_SECRET,
                )
            )
            progress(f"operator {OPERATOR_EMAIL} created")

    for spec in SHOPS:
        theme = spec["theme"] if spec["theme"] in available else "base"
        existing = db.session.scalar(select(Tenant).where(Tenant.slug == spec["slug"]))
        if existing is not None:
            with tenant_context(existing):
                for seed, done in LATER_SEEDS:  # what shops of an older demo lack
                    if seed(spec):
                        progress(f"shop {spec['slug']}: {done}")
            progress(f"shop {spec['slug']} already there")
            continue
        with unit_of_work():
            tenant = create_tenant(
                spec["slug"], spec["name"], owner_email=spec["owner"], theme=theme
            )
            # Demo shops are on the platform's landing page, as if their owners agreed.
            tenant.listed_on_platform = True
            start_trial(tenant)
            _bill(tenant, spec.get("billing"))
            enqueue(send_welcome_email, spec["owner"], tenant_id=tenant.id, queue="mail")
        with tenant_context(tenant):  # the shop's own unit of work
            _fill_shop(spec)
            for seed, _ in LATER_SEEDS:
                seed(spec)
        progress(
            f"shop {spec['slug']} created with {len(spec['products'])} products and 2 collections"
        )

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    domain = app.config["SAAS_DOMAIN"]
    yield ""
    yield "Demo platform ready."
    yield f"  Platform:         {absolute_url(app, public_host(app, domain))}"
    console = public_host(app, f"{app.config['OPERATOR_SUBDOMAIN']}.{domain}")
    yield f"  Operator console: {absolute_url(app, console)}"
    yield f"                    login {OPERATOR_EMAIL} / {OPERATOR_PASSWORD}"
    yield f"                    2FA secret {OPERATOR_TOTP_SECRET}"
    yield f"                    current code: flask --app saas operator totp-code {OPERATOR_EMAIL}"
    for spec in SHOPS:
        url = absolute_url(app, shop_host(app, spec["slug"]), "")
        yield f"  {spec['name']:<17} {url}/"
        yield f"  {'':<17} back office {url}/admin  login {spec['owner']} / {OWNER_PASSWORD}"
    yield "  Shops ship to US, CA, GB, FR, DE and NL; pay by bank transfer or cash on delivery;"
    yield "  discount code WELCOME10; collections at /collections/all and in each shop's menu."
    yield "  Emails land in each back office's outbox: Settings → Sent email (/admin/outbox)."
    yield "  Billing is manual (no Stripe keys): Acme pays for Growth, Bloom is on a free trial,"
    yield "  Pixel's trial ended unpaid (see /admin/billing; the console records payments)."
