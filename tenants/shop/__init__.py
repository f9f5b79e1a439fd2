"""The storefront shoppers see on `<slug>.<domain>`, rendered with the shop's theme."""

from __future__ import annotations

from typing import Any

from flask import abort, make_response, redirect, request, send_from_directory, session, url_for
from flask_login import current_user

from saas.auth import is_shop_staff, safe_next
from saas.ratelimit import limiter
from saas.tenancy import current_tenant
from saas.tenancy.sites import SiteBlueprint
from saas.theming import get_theme, render_theme, themes
from tenants.analytics import visits
from tenants.catalog import product_page as storefront
from tenants.catalog.cards import Card, cards, section_pictures
from tenants.catalog.published import active_products, product_by_handle, redirected_handle
from tenants.collections.services import listed_collections
from tenants.media import media_dir
from tenants.settings.models import ShopSettings
from tenants.settings.services import check_storefront_password, get_settings, storefront_key

bp = SiteBlueprint("shop", __name__, site="shop")

PER_PAGE = 24
# The session key that remembers a visitor gave the storefront password. Sessions are
# bound to their host (`saas.sessions`), so it never lets anyone into another shop.
ACCESS_KEY = "storefront_access"
# What stays reachable before launch: the coming-soon page needs its theme's assets
# and the logo, and the password form must be able to answer; robots.txt tells crawlers
# to keep out until launch.
# The mail provider's webhook carries replies to conversations, which exist only once
# the shop is open, but it must be answered (and refused) by its signature, not a page.
GATE_OPEN = {
    "shop.theme_asset",
    "shop.media",
    "shop.password",
    "shop.robots",
    "shop.inbound_email",
}
MEDIA_MAX_AGE = 365 * 24 * 3600  # media names are random: a changed file is a new URL


def product_cards(products: list[Any]) -> list[Card]:
    """What lists of products show of each (first image, price, sold out or not)."""
    return cards(products, lambda name: url_for("shop.media", filename=name))


def render(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    # Before launch only signed-in staff (or an operator) get past the gate without the
    # storefront password: tell them shoppers cannot see this yet (customers are shoppers).
    context.setdefault("staff_preview", not current_tenant.launched and is_shop_staff(current_user))
    return render_theme(current_tenant.theme, template, shop=current_tenant, **context), status


def coming_soon(settings: ShopSettings, error: str | None = None, status: int = 200) -> Any:
    body, status = render(
        "coming_soon.html",
        status=status,
        staff_preview=False,  # this page is what shoppers see
        has_password=settings.storefront_password_hash is not None,
        logo_file=settings.logo_file,
        error=error,
        next=safe_next(request.full_path.rstrip("?"), "/") if request.method == "GET" else "/",
    )
    response = make_response(body, status)
    # Not a page for search engines, and not one a shared cache may keep: the same URL
    # shows the real shop to staff and to visitors who gave the password.
    response.headers["X-Robots-Tag"] = "noindex"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.before_request
def _gate() -> Any:
    """Before launch, shoppers see "coming soon"; staff and password holders see the shop."""
    if current_tenant.launched or request.endpoint in GATE_OPEN:
        return None
    if is_shop_staff(current_user):  # staff (or an operator) signed in here; not customers
        return None
    settings = get_settings()
    key = storefront_key(settings)
    if key is not None and session.get(ACCESS_KEY) == key:
        return None
    return coming_soon(settings)


@bp.post("/password")
def password() -> Any:
    if current_tenant.launched:
        return redirect(url_for("shop.home"))
    target = safe_next(request.form.get("next"), url_for("shop.home"))
    settings = get_settings()
    # Per address, wrong passwords only (the shop's password has no account to lock).
    if locked := limiter().locked("storefront-password"):
        return coming_soon(settings, locked.refusal, 429)
    if not check_storefront_password(settings, request.form.get("password", "")):
        wrong = limiter().count("storefront-password").after("That password is not correct.")
        return coming_soon(settings, wrong, 400)
    session[ACCESS_KEY] = storefront_key(settings)
    return redirect(target)


@bp.get("/")
def home() -> Any:
    look = pages.current_look(get_theme(current_tenant.theme))
    sections = look["sections"]
    # Featured products: the shop's newest, until collections can be featured.
    count = max(
        (int(s.get("count") or 0) for s in sections if s["type"] == "featured_collection"),
        default=0,
    )
    products = product_cards(active_products(page=1, per_page=min(count, 24))[0]) if count else []
    chosen = {
        s["product"]: item
        for s in sections
        if s["type"] == "featured_product"
        and s.get("product")
        and (item := product_by_handle(s["product"])) is not None
    }
    # As cards: the featured product shows its picture, sale price and stock like a tile.
    featured = dict(zip(chosen, product_cards(list(chosen.values())), strict=True))
    pictures = section_pictures(
        [s["image"] for s in sections if s.get("image")],
        lambda name: url_for("shop.media", filename=name),
    )
    listed = max(
        (int(s.get("count") or 0) for s in sections if s["type"] == "collection_list"), default=0
    )
    return render(
        "index.html",
        sections=sections,
        products=products,
        featured=featured,
        pictures=pictures,
        collections=listed_collections(min(listed, 24)) if listed else [],
    )


@bp.get("/products/<handle>")
def product(handle: str) -> Any:
    item = product_by_handle(handle)
    if item is None:
        # A renamed product keeps its old address working: permanently moved.
        current = redirected_handle(handle)
        if current is not None:
            return redirect(url_for("shop.product", handle=current), code=301)
        return render("404.html", status=404)
    snapshot = shop_snapshot(get_theme(current_tenant.theme))
    threshold, currency = snapshot.low_stock_threshold, snapshot.currency
    choice = storefront.choose_variant(item, request.args, threshold)
    variant = choice.variant
    page_url = url_for("shop.product", handle=item.handle)

    def media_url(name: str) -> str:
        return url_for("shop.media", filename=name)

    images = storefront.gallery(item, variant)
    json_ld = storefront.product_json_ld(
        item,
        url=pages.canonical_url(page_url),
        currency=currency,
        low_threshold=threshold,
        image_urls=[pages.canonical_url(media_url(i.file)) for i in images],
        variant_url=lambda v: pages.canonical_url(f"{page_url}?variant={v.id}"),
    )
    review_section = reviews.section(item, request.args, open_to_all=snapshot.reviews_open)
    json_ld.update(reviews.json_ld(review_section["summary"], review_section["items"]))
    return render(
        "product.html",
        product=item,
        variant=variant,
        selected=choice.selected,
        stock=None if variant is None else storefront.stock_of(variant, item, threshold),
        currency=currency,
        images=[
            (image, media_url(image.file), storefront.srcset(image, media_url)) for image in images
        ],
        product_json_ld=json_ld,
        reviews=review_section,
    )


@bp.get("/assets/<theme_name>/<path:filename>")
def theme_asset(theme_name: str, filename: str) -> Any:
    if theme_name not in themes():
        abort(404)
    return send_from_directory(get_theme(theme_name).path / "static", filename, max_age=3600)


@bp.get("/media/<path:filename>")
def media(filename: str) -> Any:
    """A file of this shop's (its logo): only ever from this shop's own folder."""
    # send_from_directory joins safely: `..`, absolute paths and missing files are 404.
    response = send_from_directory(media_dir(), filename, max_age=MEDIA_MAX_AGE)
    response.headers["Cache-Control"] = f"public, max-age={MEDIA_MAX_AGE}, immutable"
    return response


# Route modules register on `bp` (imported last: they import `bp`).
from tenants.shop import (  # noqa: E402
    account,
    cache,
    cart,
    checkout,
    collections,
    contact,
    newsletter,
    pages,
    points,
    reviews,
    search,
    seo,
)
from tenants.shop.snapshot import shop_snapshot  # noqa: E402

cache.register(bp)  # after the launch gate: a coming-soon page is never served from cache


@bp.after_request
def _count_visit(response: Any) -> Any:
    """Count the page (FrontCache counts the hits it answers itself). Registered after
    the cache's hooks, so it runs before them: it sees the page, not a 304."""
    visits.count_request(response)
    return response


__all__ = [
    "account",
    "bp",
    "cache",
    "cart",
    "checkout",
    "collections",
    "contact",
    "newsletter",
    "pages",
    "points",
    "reviews",
    "search",
    "seo",
]
