"""The base of a shop's private tables: rows no shop page shows (orders, carts, staff,
discount usage...), so writing them never drops the shop's cached pages
(`saas.page_cache` reads `storefront_visible`)."""

from saas.db import TenantModel


class PrivateModel(TenantModel):
    """A table of the shop's own schema that is never on a shop page."""

    __abstract__ = True
    storefront_visible = False
