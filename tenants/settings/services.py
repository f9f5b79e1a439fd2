"""Shop settings: reading them, validating a whole form at once, saving (launching is in
`tenants.settings.launch`).

Nothing is written unless every field is valid: `update_settings` checks the lot first
(the logo is decoded in memory too), then stages the changes in the caller's
transaction. A replaced logo's file is removed once that commits; a new logo's file is
removed if it rolls back.
"""

from __future__ import annotations

import hashlib
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache, partial
from typing import IO, Any

from saas import audit
from saas.db import after_commit, after_rollback, db
from saas.email_address import InvalidEmail, validate_email_address
from saas.models import Tenant
from saas.passwords import hash_password, verify_password
from saas.tenancy import current_tenant
from tenants import media
from tenants.accounts.problems import FormInvalid
from tenants.geo import loader as geo
from tenants.settings.models import ShopSettings

# Currencies a shop can sell in: ISO 4217 codes whose minor units `saas.money` formats
# correctly (two decimals, or none for JPY and KRW). Kept in tenants/geo/data/.
CURRENCIES: list[tuple[str, str]] = [(code, name) for code, name in geo.currencies()]
CURRENCY_CODES = frozenset(code for code, _ in CURRENCIES)

# ISO 3166-1 alpha-2 codes, by English name (from the tz database's iso3166.tab).
COUNTRIES: list[tuple[str, str]] = [(code, name) for code, name in geo.countries()]
COUNTRY_CODES = frozenset(code for code, _ in COUNTRIES)

# Free-text fields: (label, maximum length, required).
TEXT_FIELDS: dict[str, tuple[str, int, bool]] = {
    "name": ("Shop name", 200, True),
    "contact_email": ("Contact email", 320, True),
    "address_line1": ("Address line 1", 200, False),
    "address_line2": ("Address line 2", 200, False),
    "city": ("City", 100, False),
    "region": ("State, county or region", 100, False),
    "postal_code": ("Postal code", 20, False),
}
FIELDS = (*TEXT_FIELDS, "currency", "timezone", "country", "low_stock_threshold")
# The text fields that live on ShopSettings (the shop's name is on the platform's Tenant
# row; the threshold is a number, handled on its own).
SETTINGS_FIELDS = tuple(f for f in FIELDS if f not in ("name", "low_stock_threshold"))

STOREFRONT_PASSWORD_MIN = 6
STOREFRONT_PASSWORD_MAX = 128


@lru_cache(maxsize=1)
def timezones() -> list[str]:
    """IANA time zone names a shop can pick, sorted."""
    return sorted(zoneinfo.available_timezones())


def shop_zone(settings: ShopSettings) -> zoneinfo.ZoneInfo:
    """The shop's time zone (UTC if the stored name is no longer known)."""
    try:
        return zoneinfo.ZoneInfo(settings.timezone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def get_settings() -> ShopSettings:
    """The current shop's settings row (created at provisioning; made here if missing)."""
    settings = db.session.get(ShopSettings, 1)
    if settings is None:
        settings = ShopSettings(id=1)
        db.session.add(settings)
        db.session.flush()
    return settings


def shop_row() -> Tenant:
    """The current shop's platform row, for the fields kept there (name, theme, launch)."""
    tenant = db.session.get(Tenant, current_tenant.id)
    if tenant is None:  # the request resolved the shop a moment ago
        raise LookupError(f"shop {current_tenant.id} has no tenant row")
    return tenant


def form_values(tenant: Tenant, settings: ShopSettings) -> dict[str, str]:
    """What the settings form shows, as strings."""
    values = {f: getattr(settings, f) or "" for f in SETTINGS_FIELDS}
    values["name"] = tenant.name
    values["listed_on_platform"] = "1" if tenant.listed_on_platform else ""
    values["low_stock_threshold"] = str(settings.low_stock_threshold)
    return values


MAX_LOW_STOCK_THRESHOLD = 100_000


def validate(form: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """(cleaned values, errors by field) for the settings form."""
    cleaned: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, (label, max_length, required) in TEXT_FIELDS.items():
        value = (form.get(name) or "").strip()
        cleaned[name] = value
        if required and not value:
            errors[name] = f"{label} is required."
        elif len(value) > max_length:
            errors[name] = f"{label} can have at most {max_length} characters."
        elif any(ord(c) < 32 or ord(c) == 127 for c in value):
            errors[name] = f"{label} cannot contain control characters."
    if "contact_email" not in errors:
        try:
            cleaned["contact_email"] = validate_email_address(cleaned["contact_email"])
        except InvalidEmail as invalid:
            errors["contact_email"] = invalid.message

    currency = (form.get("currency") or "").strip().upper()
    cleaned["currency"] = currency
    if currency not in CURRENCY_CODES:
        errors["currency"] = "Choose a currency from the list."

    zone = (form.get("timezone") or "").strip()
    cleaned["timezone"] = zone
    if zone not in timezones():
        errors["timezone"] = "Choose a time zone from the list."

    country = (form.get("country") or "").strip().upper()
    cleaned["country"] = country
    if country and country not in COUNTRY_CODES:
        errors["country"] = "Choose a country from the list."

    if "low_stock_threshold" not in form:  # a form from before the field: keep the value
        return cleaned, errors
    threshold = (form.get("low_stock_threshold") or "").strip()
    cleaned["low_stock_threshold"] = threshold
    if not threshold.isdigit() or int(threshold) > MAX_LOW_STOCK_THRESHOLD:
        errors["low_stock_threshold"] = (
            f"Enter a whole number from 0 to {MAX_LOW_STOCK_THRESHOLD:,}, like 5."
        )
    else:
        cleaned["low_stock_threshold"] = int(threshold)
    return cleaned, errors


class SettingsInvalid(FormInvalid):
    """The form has mistakes; `errors` maps field names to messages for people."""


@dataclass
class SettingsUpdate:
    """What `update_settings` staged: the changed fields and any logo file swap."""

    changed: list[str] = field(default_factory=list)
    new_logo: str | None = None
    old_logo: str | None = None


def update_settings(
    form: Mapping[str, str],
    *,
    logo: IO[bytes] | None = None,
    remove_logo: bool = False,
    storefront_password: str = "",
    clear_storefront_password: bool = False,
) -> SettingsUpdate:
    """Validate the whole settings form, then stage every change (the caller commits).

    Raises:
        SettingsInvalid: with a message per wrong field; nothing has been changed.
    """
    cleaned, errors = validate(form)
    logo_png: bytes | None = None
    if logo is not None and not remove_logo:
        try:
            logo_png = media.logo_png(media.read_upload(logo))
        except media.MediaError as error:
            errors["logo"] = str(error)
    if storefront_password and clear_storefront_password:
        errors["storefront_password"] = (
            "Either set a new password or remove the current one, not both."  # noqa: S105
        )
    elif storefront_password and not (
        STOREFRONT_PASSWORD_MIN <= len(storefront_password) <= STOREFRONT_PASSWORD_MAX
    ):
        errors["storefront_password"] = (
            f"Use between {STOREFRONT_PASSWORD_MIN} and {STOREFRONT_PASSWORD_MAX} characters."
        )
    if errors:
        raise SettingsInvalid(errors)

    tenant = shop_row()
    settings = get_settings()
    update = SettingsUpdate()
    if tenant.name != cleaned["name"]:
        tenant.name = cleaned["name"]  # an ORM change: the host cache drops the old name
        update.changed.append("name")
    # A checkbox: absent from the form when unticked, so off unless the owner ticks it.
    listed = form.get("listed_on_platform") == "1"
    if tenant.listed_on_platform != listed:
        tenant.listed_on_platform = listed
        update.changed.append("listed_on_platform")
    for name in (*SETTINGS_FIELDS, "low_stock_threshold"):
        if name in cleaned and getattr(settings, name) != cleaned[name]:
            setattr(settings, name, cleaned[name])
            update.changed.append(name)
    if logo_png is not None:
        update.old_logo = settings.logo_file
        update.new_logo = settings.logo_file = media.save_file("logo", logo_png)
        update.changed.append("logo")
    elif remove_logo and settings.logo_file:
        update.old_logo, settings.logo_file = settings.logo_file, None
        update.changed.append("logo")
    if clear_storefront_password and settings.storefront_password_hash:
        settings.storefront_password_hash = None
        update.changed.append("storefront_password")
    elif storefront_password:
        settings.storefront_password_hash = hash_password(storefront_password)
        update.changed.append("storefront_password")
    if update.old_logo and update.old_logo != update.new_logo:
        after_commit(partial(media.remove_file, update.old_logo))
    if update.new_logo:
        after_rollback(partial(media.remove_file, update.new_logo))
    if update.changed:
        audit.record("settings.updated", fields=update.changed)
    db.session.flush()
    return update


# --- the storefront password --------------------------------------------------------


def storefront_key(settings: ShopSettings) -> str | None:
    """A value a visitor's session holds once they gave the storefront password.

    Derived from the password's hash, so changing or removing the password locks out
    everyone who entered the old one.
    """
    if not settings.storefront_password_hash:
        return None
    return hashlib.sha256(settings.storefront_password_hash.encode()).hexdigest()[:32]


def check_storefront_password(settings: ShopSettings, password: str) -> bool:
    if not password or len(password) > STOREFRONT_PASSWORD_MAX:
        return False
    return verify_password(settings.storefront_password_hash, password)


def seed_new_shop(session: Any, tenant: Any) -> None:
    """A new shop's settings row (`saas.tenancy.provisioning` runs this in its new schema)."""
    session.add(ShopSettings(id=1, contact_email=tenant.owner_email or ""))
