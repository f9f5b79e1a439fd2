"""The people who run a shop: its staff accounts, and their one-time tokens."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ARRAY, DateTime, ForeignKey, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from saas.tenancy import current_tenant
from tenants.accounts.kinds import ShopAccount
from tenants.private import PrivateModel


class Role(enum.StrEnum):
    OWNER = "owner"  # everything, including other admins and closing the shop
    ADMIN = "admin"  # every area and staff management, but not the owner
    STAFF = "staff"  # only the areas listed in `permissions`


class Area(enum.StrEnum):
    """Back-office areas a staff member can be given. Owners and admins have all."""

    PRODUCTS = "products"
    ORDERS = "orders"
    CUSTOMERS = "customers"
    CONTENT = "content"  # pages, navigation and themes
    REVIEWS = "reviews"  # product reviews: moderation, replies, their settings
    SETTINGS = "settings"
    BILLING = "billing"
    INBOX = "inbox"  # customer-service conversations, the FAQ and saved replies


AREA_LABELS = {
    Area.PRODUCTS: "Products",
    Area.ORDERS: "Orders",
    Area.CUSTOMERS: "Customers",
    Area.CONTENT: "Content and themes",
    Area.REVIEWS: "Reviews",
    Area.SETTINGS: "Settings",
    Area.BILLING: "Billing",
    Area.INBOX: "Inbox",
}


class StaffStatus(enum.StrEnum):
    INVITED = "invited"
    ACTIVE = "active"
    DISABLED = "disabled"


class Staff(ShopAccount, PrivateModel):
    __tablename__ = "staff"
    actor_type = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # stored lowercased
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(String(255))  # None until accepted
    role: Mapped[str] = mapped_column(String(20), default=Role.STAFF)
    permissions: Mapped[list[str]] = mapped_column(ARRAY(String(20)), default=list)
    status: Mapped[str] = mapped_column(String(20), default=StaffStatus.INVITED)
    # Bumped at password change and removal: sessions issued before stop working.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    invited_by: Mapped[Staff | None] = relationship(remote_side=[id])

    def get_id(self) -> str:
        return f"staff:{current_tenant.id}:{self.id}:{self.session_version}"

    def can(self, area: str) -> bool:
        if self.status != StaffStatus.ACTIVE:
            return False
        return self.role in (Role.OWNER, Role.ADMIN) or area in (self.permissions or [])

    @property
    def manages_staff(self) -> bool:
        return self.status == StaffStatus.ACTIVE and self.role in (Role.OWNER, Role.ADMIN)

    def __repr__(self) -> str:
        return f"<Staff {self.id} {self.email!r} {self.role}>"


class TokenPurpose(enum.StrEnum):
    RESET = "reset"
    INVITE = "invite"


class StaffToken(PrivateModel):
    """A password-reset or invitation link. Only its hash is stored; single use."""

    __tablename__ = "staff_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    staff: Mapped[Staff] = relationship()
