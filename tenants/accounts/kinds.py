"""The two kinds of shop accounts as the shared flows see them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar

from flask_login import UserMixin
from sqlalchemy import FromClause

from tenants.accounts.problems import FormProblem

if TYPE_CHECKING:  # tokens imports this module's protocols at run time
    from tenants.accounts.tokens import Links


class Account(Protocol):
    """A person who logs in to the shop (`Staff`, `Customer`)."""

    id: int
    email: str
    name: str
    password_hash: str | None
    session_version: int


class ShopAccount(UserMixin):
    """What the platform's core (`saas.auth`, `saas.audit`) sees of a shop's own account,
    a staff member's or a customer's: which of the two it is, and that it is never an
    operator's impersonation nor read-only."""

    actor_type: ClassVar[str]  # "staff" or "customer"
    is_impersonation = False
    read_only = False

    @property
    def is_customer(self) -> bool:
        return self.actor_type == "customer"

    @property
    def is_shop_staff(self) -> bool:
        return self.actor_type == "staff"


class TokenRow(Protocol):
    """A stored single-use link (`StaffToken`, `CustomerToken`): only its hash is kept.

    Queries use the table's columns (`__table__.c`): the owner's column is named per kind.
    """

    __table__: ClassVar[FromClause]
    id: int
    purpose: str
    token_hash: str
    expires_at: datetime
    used_at: datetime | None


A = TypeVar("A", bound=Account)
T = TypeVar("T", bound=TokenRow)


@dataclass(frozen=True)
class AccountKind(Generic[A]):
    """What sets one kind of account apart in the flows both kinds share."""

    # Raised for input the person must correct (`StaffProblem`, `CustomerProblem`).
    problem: type[FormProblem]
    # `saas.ratelimit` actions: logging in (and changing the password, which proves the
    # current one just the same), and asking for a reset link.
    login_limit: str
    reset_limit: str
    reset_links: Links[A, Any]
