"""Shipping zones and rates, local pickup, and taxes in the back office."""

from __future__ import annotations
