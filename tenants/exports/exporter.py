"""What an exportable list tells the export job (each domain makes its own)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select


@dataclass(frozen=True)
class Exporter:
    """One list's export.

    `filters` cleans a query string into the list's filters (what is kept on the run);
    `query` is the list's own query for those filters, in the list's order; `make_row`,
    called once per file (to read the shop's settings once), returns what turns one of
    its result rows into the file's cells (`header`'s columns); `options` are loader
    options for what the rows read (`selectinload(...)`).
    """

    kind: str  # "orders": the run's kind, the file's name, the URLs
    noun: tuple[str, str]  # ("order", "orders")
    area: str  # the back-office area whose staff may download it
    header: Sequence[str]
    filters: Callable[[Mapping[str, str]], dict[str, str]]
    query: Callable[[Mapping[str, str]], Select[*tuple[Any, ...]]]
    make_row: Callable[[], Callable[[Any], list[str]]]
    options: tuple[Any, ...] = field(default=())
    # The page the export belongs to (its "back to" link); default `backoffice.<kind>`.
    list_endpoint: str = ""
