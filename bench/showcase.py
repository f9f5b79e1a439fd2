"""A fully dressed shop to audit: what a real merchant's storefront looks like.

Used by `bench/lighthouse.py` (Lighthouse scores) and by the HTML validity and page
weight tests (`tests/test_html_valid.py`, `tests/test_page_weight.py`), so the pages
audited and the pages validated are the same. One call makes one shop in one theme:

* a logo, a contact email and address, theme settings with a phone number and social
  links, and a published homepage of every section type (a hero with a picture,
  featured collection, featured product, rich text, image with text, newsletter);
* a main and a footer menu linking to the collection and to a page;
* `FILLER_COUNT` plain products with a picture each (one sold out, one on sale) and
  one large product, `BIG_HANDLE`: three options
  (4 x 4 x 3 = 48 variants, SKUs, stock, a sale price) and `BIG_IMAGES` images with their
  resized copies, which is the heaviest product page a merchant is likely to build;
* a manual collection holding them all and published "About us" and "Refund policy"
  pages (the footer lists pages the footer menu leaves out).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from PIL import Image, ImageDraw

from saas.db import db
from saas.tenancy import TenantRecord, tenant_context
from saas.tenancy.provisioning import create_tenant

BIG_HANDLE = "trail-jacket"
BIG_OPTIONS = {
    "Size": ["XS", "S", "M", "L"],
    "Colour": ["Forest", "Slate", "Rust", "Sand"],
    "Fit": ["Regular", "Relaxed", "Tall"],
}
BIG_IMAGES = 8
FILLER_COUNT = 11
COLLECTION_HANDLE = "outdoor-gear"
PAGE_HANDLE = "about-us"
THEMES = ("base", "boutique", "midnight")
PALETTE = ["#2f5d50", "#6b7f8e", "#b5532f", "#d8c3a0", "#3c4a3e", "#8c6d4f", "#4e6e81", "#a33b2f"]


@dataclass(frozen=True)
class Showcase:
    """What was made, for building URLs."""

    tenant: TenantRecord
    host: str  # "<slug>.localhost"
    product: str  # the big product's handle
    collection: str
    page: str
    search: str  # a query that finds several products

    def paths(self) -> dict[str, str]:
        """The storefront pages worth auditing, by name."""
        return {
            "home": "/",
            "collection": f"/collections/{self.collection}",
            "product": f"/products/{self.product}",
            "search": f"/search?q={self.search}",
            "page": f"/pages/{self.page}",
        }


def picture(width: int, height: int, colour: str, seed: int) -> io.BytesIO:
    """A photo-like JPEG: a gradient with a few shapes (compresses like a real photo
    would far better than noise, far worse than a flat colour)."""
    image = Image.new("RGB", (width, height), colour)
    draw = ImageDraw.Draw(image)
    for row in range(0, height, 8):
        shade = 255 - round(120 * row / height)
        draw.rectangle((0, row, width, row + 8), fill=(shade, shade - 10, shade - 30))
    for n in range(6):
        x = (seed * 97 + n * 173) % width
        y = (seed * 61 + n * 131) % height
        radius = 40 + (seed * 13 + n * 29) % 160
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=colour)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    out.seek(0)
    return out


def _logo() -> bytes:
    image = Image.new("RGBA", (320, 96), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((4, 4, 316, 92), radius=20, fill="#2f5d50")
    draw.ellipse((24, 22, 76, 74), fill="#d8c3a0")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def seed_showcase(
    app: Any, slug: str, theme: str, name: str | None = None, *, reviews: int = 0
) -> Showcase:
    """Create and fill a launched shop in `theme`; commits. Returns where things are.
    `reviews`: published reviews of the big product (the product page's worst case)."""
    from tenants import media

    with app.app_context():
        tenant = create_tenant(slug, name or f"{theme.title()} Outfitters", theme=theme)
        db.session.commit()
        record = TenantRecord.of(tenant)
    with app.app_context(), tenant_context(record):
        from tenants.settings.models import ShopSettings

        settings = db.session.get(ShopSettings, 1)
        assert settings is not None
        settings.theme_chosen = True
        settings.contact_email = f"hello@{slug}.example"
        settings.address_line1, settings.city = "12 Harbour Street", "Portland"
        settings.region, settings.postal_code, settings.country = "US-OR", "97201", "US"
        settings.logo_file = media.save_file("logo", media.logo_png(_logo()))
        image_files = _catalog()
        _storefront_content(theme, image_files)
        _reviews(reviews)
        db.session.commit()
    return Showcase(
        tenant=record,
        host=f"{slug}.localhost",
        product=BIG_HANDLE,
        collection=COLLECTION_HANDLE,
        page=PAGE_HANDLE,
        search="wool",
    )


REVIEW_WORDS = (
    "Kept me dry through a whole weekend of rain on the ridge.",
    "Fits true to size; the hood packs away neatly.",
    "Lighter than my old shell and far quieter when I walk.",
    "The zips are stiff at first but loosen up after a week.",
)


def _reviews(count: int) -> None:
    """`count` published reviews of the big product, every rating, a few replies."""
    if not count:
        return
    from tenants.catalog.published import product_by_handle
    from tenants.reviews.models import Review, ReviewStatus
    from tenants.reviews.services import refresh_rating

    big = product_by_handle(BIG_HANDLE)
    assert big is not None
    now = datetime.now(UTC)
    for n in range(count):
        db.session.add(
            Review(
                product_id=big.id,
                rating=(5, 4, 5, 3, 4, 2, 5, 1)[n % 8],
                title=("Great shell", "Does the job", "Worth it", "Good, not perfect")[n % 4],
                body=REVIEW_WORDS[n % len(REVIEW_WORDS)],
                author_name=("Sam K.", "Ana P.", "Lee W.", "Jo M.", "Ravi S.")[n % 5],
                verified=n % 3 != 2,
                status=ReviewStatus.PUBLISHED,
                reply="Thank you for telling us!" if n % 7 == 0 else "",
                created_at=now - timedelta(hours=n),
                published_at=now - timedelta(hours=n),
            )
        )
    db.session.flush()
    refresh_rating(big.id)


def _catalog() -> list[str]:
    """The products, the collection and the images; returns the big product's files."""
    from tenants.catalog.images import add_image, resize_image
    from tenants.catalog.products import create_product, sync_summary
    from tenants.catalog.variants import save_options
    from tenants.collections.services import add_product, save_collection

    fillers = []
    for n in range(FILLER_COUNT):
        material = ("Wool", "Canvas", "Linen", "Leather")[n % 4]
        thing = ("Beanie", "Tote", "Scarf", "Wallet", "Gloves", "Socks")[n % 6]
        item = create_product(
            f"{material} {thing} {n + 1}",
            1500 + 250 * n,
            description=f"<p>A {material.lower()} {thing.lower()}, made to last.</p>",
            inventory_quantity=0 if n == 3 else 20,
        )
        item.tags = [material.lower(), "gift"]
        if n == 1:  # on sale: the card shows both prices and a badge
            item.variants[0].compare_at_cents = item.price_cents + 1000
        fillers.append(item)

    big = create_product(
        "Trail Jacket",
        18900,
        handle=BIG_HANDLE,
        description=(
            "<p>A <strong>waterproof, breathable</strong> shell for long days outside.</p>"
            "<ul><li>Taped seams</li><li>Two chest pockets</li><li>Packs into its hood</li></ul>"
        ),
    )
    big.vendor, big.product_type, big.tags = "Northwind", "Jacket", ["wool", "outerwear"]
    form: dict[str, str] = {}
    for n, (option, values) in enumerate(BIG_OPTIONS.items(), 1):
        form[f"option{n}_name"], form[f"option{n}_values"] = option, ", ".join(values)
    save_options(big, form)
    for n, variant in enumerate(big.variants):
        variant.sku = f"TJ-{variant.option1}-{variant.option2}-{variant.option3}".upper()
        variant.price_cents = 18900 + 1000 * (variant.option1 == "L")
        variant.compare_at_cents = 22900 if variant.option2 == "Rust" else None
        variant.inventory_tracked = True
        variant.inventory_quantity = (0, 2, 12)[n % 3]
    sync_summary(big)
    db.session.flush()

    files = []
    for n in range(BIG_IMAGES):
        image = add_image(
            big,
            picture(1600, 1200, PALETTE[n % len(PALETTE)], n),
            alt=f"Trail Jacket, view {n + 1}",
        )
        db.session.flush()
        resize_image(image.id)  # commits: the job's own transaction
        files.append(image.file)

    for n, item in enumerate(fillers):  # one square picture each, as a shop's cards have
        image = add_image(
            item,
            picture(900, 900, PALETTE[(n + 3) % len(PALETTE)], n + BIG_IMAGES),
            alt=item.title,
        )
        db.session.flush()
        resize_image(image.id)

    collection = save_collection(
        None,
        {
            "title": "Outdoor gear",
            "handle": COLLECTION_HANDLE,
            "kind": "manual",
            "sort": "manual",
            "description": "<p>Everything for a weekend in the hills.</p>",
        },
        "USD",
    )
    for item in [big, *fillers]:
        add_product(collection, item.id)
    return files


def _storefront_content(theme_name: str, image_files: list[str]) -> None:
    """Menus, a page, theme settings and a published homepage with every section."""
    from saas.theming import get_theme
    from tenants.content import services as content

    content.save_page(
        None,
        {
            "title": "About us",
            "handle": PAGE_HANDLE,
            "body": "<p>We make <em>outdoor</em> clothes that last.</p>"
            "<h2>Our workshop</h2><p>Every piece is checked by hand before it ships.</p>",
            "published": "1",
        },
    )
    content.save_page(
        None,
        {
            "title": "Refund policy",
            "handle": "refund-policy",
            "body": "<p>Send anything back within 30 days for a full refund.</p>",
            "published": "1",
        },
    )
    for menu, title, url in (
        ("main", "Outdoor gear", f"/collections/{COLLECTION_HANDLE}"),
        ("main", "Trail Jacket", f"/products/{BIG_HANDLE}"),
        ("main", "About us", f"/pages/{PAGE_HANDLE}"),
        ("footer", "About us", f"/pages/{PAGE_HANDLE}"),
        ("footer", "Catalog", "/"),
    ):
        errors = content.add_link(menu, {"title": title, "url": url})
        assert not errors, errors

    theme = get_theme(theme_name)
    settings = {
        key: ("on" if value else "") if isinstance(value, bool) else str(value)
        for key, value in theme.defaults().items()
    }
    settings["instagram"] = "https://www.instagram.com/example"
    settings["facebook"] = "https://www.facebook.com/example"
    settings["phone"] = "+1 503 555 0142"
    errors = content.save_settings(theme, settings)
    assert not errors, errors

    fields: dict[str, dict[str, str]] = {
        "hero": {
            "heading": "Made for the trail",
            "text": "Warm, dry and built to last.",
            "button_label": "Shop outdoor gear",
            "button_url": f"/collections/{COLLECTION_HANDLE}",
            "image": f"/media/{image_files[1]}",
            "image_alt": "A walker in the Trail Jacket on a misty ridge",
        },
        "featured_collection": {"heading": "New this season", "count": "8"},
        "featured_product": {"heading": "Staff pick", "product": BIG_HANDLE},
        "rich_text": {"heading": "Why we make things", "body": "<p>Less, but better.</p>"},
        "image_with_text": {
            "heading": "Our story",
            "body": "<p>Started in a garage, still <strong>independent</strong>.</p>",
            "image": f"/media/{image_files[0]}",
            "image_alt": "The Trail Jacket on a hillside",
            "side": "right",
        },
        "newsletter": {"heading": "Join our newsletter", "text": "News and offers, now and then."},
    }
    state = content.draft_state(theme_name)
    for section in list(state["sections"]):
        content.remove_section(theme_name, section["id"])
    for kind, values in fields.items():
        section = content.add_section(theme_name, kind)
        errors = content.update_section(theme_name, section["id"], values)
        assert not errors, (kind, errors)
    content.publish(theme_name)
