"""Pagination for lists in the console and the back office: links keep the query's filters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import request, url_for
from sqlalchemy import Select, func, select

from saas.db import db


@dataclass
class Page:
    items: list[Any]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    def url(self, page: int) -> str:
        """This page's URL with the same filters, at `page`."""
        values: dict[str, Any] = dict(request.view_args or {})
        values.update((k, v) for k, v in request.args.items() if k != "page" and v != "")
        if page > 1:
            values["page"] = str(page)
        return url_for(request.endpoint or "", **values)


def current_page() -> int:
    page = request.args.get("page", 1, type=int) or 1
    return max(1, min(page, 100_000))


def paginate(query: Select, per_page: int, *, scalars: bool = True) -> Page:
    page = current_page()
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    limited = query.limit(per_page).offset((page - 1) * per_page)
    rows = db.session.scalars(limited).all() if scalars else db.session.execute(limited).all()
    return Page(list(rows), total or 0, page, per_page)
