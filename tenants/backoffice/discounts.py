"""Discount codes and automatic discounts in the back office."""

from __future__ import annotations
