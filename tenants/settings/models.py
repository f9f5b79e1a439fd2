"""The shop's own settings: one row per shop (id 1)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, DateTime, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from saas.db import TenantModel
from saas.money import locale_for_country


class ShopSettings(TenantModel):
    __tablename__ = "shop_settings"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, default=1, autoincrement=False)
    contact_email: Mapped[str] = mapped_column(String(320), default="")
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    address_line1: Mapped[str] = mapped_column(String(200), default="")
    address_line2: Mapped[str] = mapped_column(String(200), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    region: Mapped[str] = mapped_column(String(100), default="")
    postal_code: Mapped[str] = mapped_column(String(20), default="")
    country: Mapped[str] = mapped_column(String(2), default="")
    # File name under the shop's media folder, re-encoded by us; None: no logo.
    logo_file: Mapped[str | None] = mapped_column(String(100))
    # argon2 hash of the password that lets visitors in before launch; None: none set.
    storefront_password_hash: Mapped[str | None] = mapped_column(String(255))
    theme_chosen: Mapped[bool] = mapped_column(Boolean, default=False)
    payments_ready: Mapped[bool] = mapped_column(Boolean, default=False)
    low_stock_threshold: Mapped[int] = mapped_column(Integer, default=5, server_default="5")
    # Taxes: are catalog prices entered with tax in them? Is shipping taxed too?
    prices_include_tax: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    tax_shipping: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # Payment methods the merchant offers. Offline ones leave the order "payment pending"
    # until the merchant marks it paid.
    cash_on_delivery: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    bank_transfer: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    bank_transfer_instructions: Mapped[str] = mapped_column(Text, default="", server_default="")
    # The merchant's own Stripe account, connected through Stripe Connect (OAuth); the
    # platform's keys act on it with the `Stripe-Account` header. None: not connected.
    stripe_account_id: Mapped[str | None] = mapped_column(String(255))
    local_pickup: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    pickup_instructions: Mapped[str] = mapped_column(Text, default="", server_default="")
    # The suggested shipping a new shop starts with awaits the merchant's confirmation.
    shipping_needs_review: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default="false"
    )
    # Analytics ignore visitors who send Do Not Track or Global Privacy Control (the
    # storefront's counting reads a copy in Redis: `tenants.analytics.visits`).
    respect_privacy_signals: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default="false"
    )
    # Reviews (`tenants.reviews`): "auto" publishes unless a hold below applies,
    # "approve" waits for the merchant on every review.
    reviews_moderation: Mapped[str] = mapped_column(
        String(10), default="approve", server_default="approve"
    )
    reviews_hold_links: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    # One word or phrase a line; a review containing one waits for the merchant.
    reviews_blocked_words: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Reviews rated at or under this wait for the merchant (0: none do).
    reviews_hold_rating: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    reviews_allow_guests: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default="false"
    )
    # Days after delivery the review request goes out (0: none is sent).
    reviews_request_days: Mapped[int] = mapped_column(Integer, default=7, server_default="7")
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    @property
    def locale(self) -> str:
        """The locale amounts are typed and shown in: shops have no language setting, so
        it follows the shop's country (`saas.money.locale_for_country`)."""
        return locale_for_country(self.country)
