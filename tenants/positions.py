"""Ordered lists that merchants rearrange with up/down buttons (product images, a
collection's products, page sections, menu links): one way to move and renumber."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def move_one(items: list[Any], index: int, step: int) -> bool:
    """Swap `items[index]` with its neighbour (step -1: earlier, 1: later) in place.
    Returns False, changing nothing, when either place is outside the list."""
    other = index + step
    if not (0 <= index < len(items) and 0 <= other < len(items)):
        return False
    items[index], items[other] = items[other], items[index]
    return True


def renumber(rows: Iterable[Any]) -> None:
    """Give rows with a `position` the positions 1, 2, 3... in their order."""
    for position, row in enumerate(rows, 1):
        row.position = position
