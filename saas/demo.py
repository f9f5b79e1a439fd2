"""The demo platform: an operator and a few shops with products. Safe to run again."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from flask import current_app
from sqlalchemy import select

from saas.db import db
from saas.jobs import enqueue
from saas.models import Operator, Tenant
from saas.passwords import hash_password
from saas.provisioning import create_tenant
from saas.sites import absolute_url, public_host, shop_host
from saas.tenancy import tenant_context
from tenants.services.catalog import create_product
from tenants.services.onboarding import send_welcome_email

OPERATOR_EMAIL = "operator@example.com"
OPERATOR_PASSWORD = "demo-operator-pass"  # noqa: S105  (demo data, printed to the user)

SHOPS: list[dict] = [
    {
        "slug": "acme",
        "name": "Acme Outdoor",
        "theme": "base",
        "owner": "owner@acme.example",
        "products": [
            ("Trail Backpack 30L", 8900, "Light, roomy and rain-proof."),
            ("Camping Mug", 1450, "Enamel steel, 350 ml."),
            ("Headlamp", 2999, "300 lumens, USB rechargeable."),
            ("Down Sleeping Bag", 21900, "Comfort to -5 °C."),
        ],
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
    },
    {
        "slug": "pixel",
        "name": "Pixel Games",
        "theme": "midnight",
        "owner": "owner@pixel.example",
        "products": [
            ("Retro Handheld Console", 12900, "400 built-in classics."),
            ("Arcade Stick", 7900, "Sanwa-style buttons."),
            ("Pixel Art Poster", 1900, "A2, matte paper."),
            ("Game Cartridge Case", 1200, "Holds 12 cartridges."),
        ],
    },
]


def seed_demo(progress: Callable[[str], object] = print) -> Iterator[str]:
    """Create what is missing of the demo platform, then yield lines to show the user."""
    from saas.theming import themes

    available = themes()
    if db.session.scalar(select(Operator.id).where(Operator.email == OPERATOR_EMAIL)) is None:
        db.session.add(
            Operator(
                email=OPERATOR_EMAIL,
                name="Demo Operator",
                password_hash=hash_password(OPERATOR_PASSWORD),
            )
        )
        db.session.commit()
        progress(f"operator {OPERATOR_EMAIL} created")

    for spec in SHOPS:
        theme = spec["theme"] if spec["theme"] in available else "base"
        if db.session.scalar(select(Tenant.id).where(Tenant.slug == spec["slug"])) is not None:
            progress(f"shop {spec['slug']} already there")
            continue
        tenant = create_tenant(spec["slug"], spec["name"], owner_email=spec["owner"], theme=theme)
        db.session.commit()
        with tenant_context(tenant):
            for title, price, description in spec["products"]:
                create_product(title, price, description=description)
            db.session.commit()
        enqueue(send_welcome_email, spec["owner"], tenant_id=tenant.id, queue="mail")
        progress(f"shop {spec['slug']} created with {len(spec['products'])} products")

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    domain = app.config["SAAS_DOMAIN"]
    yield ""
    yield "Demo platform ready."
    yield f"  Platform:         {absolute_url(app, public_host(app, domain))}"
    console = public_host(app, f"{app.config['OPERATOR_SUBDOMAIN']}.{domain}")
    yield f"  Operator console: {absolute_url(app, console)}"
    yield f"                    login {OPERATOR_EMAIL} / {OPERATOR_PASSWORD}"
    for spec in SHOPS:
        url = absolute_url(app, shop_host(app, spec["slug"]), "")
        yield f"  {spec['name']:<17} {url}/   (outbox: {url}/admin/outbox)"
