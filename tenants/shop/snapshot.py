"""What every storefront page reads about its shop, read once per change, not per page.

The published look (theme settings and homepage sections), the menus, the published
pages and the few shop settings the theme shows (currency, logo, low-stock threshold,
the footer's email and address) would cost four queries on every page. They change
only when the merchant saves something, and every such commit bumps the shop's page
version (`tenants.shop.cache`), so a snapshot is kept in this process under `(shop id,
page version, theme)`: a new version is a new key, and the old entry ages out of the
LRU. Nothing is shared between shops but the LRU itself, and the key starts with the
shop's id. Storefront code only reads a snapshot.

Staff previewing a draft never use it (they read the draft from the database).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

from saas.tenancy import current_tenant
from saas.theming import Theme
from tenants.content import services as content
from tenants.geo.addresses import format_lines
from tenants.settings.services import get_settings
from tenants.shop import cache

MAX_ENTRIES = 512


@dataclass(frozen=True)
class ShopSnapshot:
    look: dict[str, Any]  # {"settings": ..., "sections": [...]}, published
    menus: dict[str, list[dict[str, str]]]
    currency: str
    logo_file: str | None
    low_stock_threshold: int
    contact_email: str = ""
    address_lines: tuple[str, ...] = ()  # the shop's address as on a label, for the footer
    pages: tuple[tuple[str, str], ...] = ()  # published pages (title, handle): policies...
    # Shoppers who bought nothing may review (the product page's "Write a review").
    reviews_open: bool = False


T = TypeVar("T")
_entries: OrderedDict[tuple[Hashable, ...], Any] = OrderedDict()
_lock = threading.Lock()


def remembered(what: tuple[Hashable, ...], read: Callable[[], T]) -> T:
    """`read()` for the current shop, kept until its page version changes.

    For data every visitor sees alike that costs queries on each page (the snapshot
    below, a collection's filter values). What `read` returns is shared by later
    requests: treat it as read-only.
    """
    version = cache.page_version()
    if version is None:  # Redis down: no way to know a kept copy is current
        return read()
    key = (current_tenant.id, version, *what)
    with _lock:
        if key in _entries:
            _entries.move_to_end(key)
            return _entries[key]
    value = read()
    with _lock:
        _entries[key] = value
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)
    return value


def _read(theme: Theme) -> ShopSnapshot:
    settings = get_settings()
    return ShopSnapshot(
        look=content.look(theme),
        menus=content.all_menus(),
        currency=settings.currency,
        logo_file=settings.logo_file,
        low_stock_threshold=settings.low_stock_threshold,
        contact_email=settings.contact_email,
        address_lines=_address(settings),
        pages=tuple(content.published_page_links()),
        reviews_open=settings.reviews_allow_guests,
    )


def _address(settings: Any) -> tuple[str, ...]:
    """The address only once it says where the shop is (a street and a town)."""
    if not (settings.address_line1 and settings.city):
        return ()
    parts = {
        "line1": settings.address_line1,
        "line2": settings.address_line2,
        "city": settings.city,
        "region": settings.region,
        "postal_code": settings.postal_code,
        "country": settings.country,
    }
    return tuple(format_lines(parts))


def shop_snapshot(theme: Theme) -> ShopSnapshot:
    """The current shop's snapshot for `theme`."""
    return remembered(("snapshot", theme.name), lambda: _read(theme))
