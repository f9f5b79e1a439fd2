"""Storefront content: theme settings and homepage sections, menus, static pages, subscribers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from saas.db import TenantModel
from tenants.private import PrivateModel


class ThemeSettings(TenantModel):
    """One row per theme the shop has customised.

    `draft` is what the merchant edits and previews; `published` is what shoppers see.
    Both hold {"settings": {...}, "sections": [...]}; publishing copies one onto the other.
    """

    __tablename__ = "theme_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    theme: Mapped[str] = mapped_column(String(50), unique=True)
    draft: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    published: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class Menu(TenantModel):
    """A navigation menu ("main" or "footer"): an ordered list of {title, url} links."""

    __tablename__ = "menus"

    id: Mapped[int] = mapped_column(primary_key=True)
    handle: Mapped[str] = mapped_column(String(50), unique=True)
    items: Mapped[list[dict[str, str]]] = mapped_column(JSONB, default=list)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class Page(TenantModel):
    """A static page (about, contact, FAQ, policies) at /pages/<handle>."""

    __tablename__ = "pages"

    id: Mapped[int] = mapped_column(primary_key=True)
    handle: Mapped[str] = mapped_column(String(255), unique=True)
    title: Mapped[str] = mapped_column(String(255))
    # Stored already sanitised (nh3): the storefront prints it as HTML.
    body_html: Mapped[str] = mapped_column(Text, default="")
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class NewsletterSubscriber(PrivateModel):
    __tablename__ = "newsletter_subscribers"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased: the unique constraint is the dedupe.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
