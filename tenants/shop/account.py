"""Customer accounts on the storefront: register, log in, orders, addresses, wishlist."""

from __future__ import annotations
