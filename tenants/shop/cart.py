"""The shopper's cart: add, change, remove, discount code."""

from __future__ import annotations
