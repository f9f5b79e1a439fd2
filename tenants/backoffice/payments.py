"""Payment settings: offline methods and the merchant's own Stripe account."""

from __future__ import annotations
