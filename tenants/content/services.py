"""Storefront content: theme settings, homepage sections, menus, static pages, newsletter.

Theme settings and homepage sections are kept per theme in `ThemeSettings`: the
merchant edits the draft (and can preview it), shoppers see the published copy. Every
function here stages changes in the caller's transaction; views commit once.
"""

from __future__ import annotations

import copy
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from saas.db import db
from saas.email_address import InvalidEmail, validate_email_address
from saas.theming import Theme, https_url_problem, resolved_settings, validate_settings
from tenants.catalog.models import Product, ProductStatus
from tenants.catalog.products import handleize
from tenants.content.models import Menu, NewsletterSubscriber, Page, ThemeSettings
from tenants.content.rich_text import clean_html
from tenants.positions import move_one

# ---------------------------------------------------------------- rich text

# The session key that says a staff member previews the theme settings they are editing
# (set by the back office, read by the storefront).
PREVIEW_KEY = "theme_preview"
MAX_RICH_TEXT = 20_000
# One allow-list for all of a shop's rich text.
sanitize = clean_html


# ---------------------------------------------------------------- sections


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    kind: str = "text"  # text | textarea | richtext | link | image | count | product | side
    required: bool = False
    max_length: int = 200
    hint: str | None = None


@dataclass(frozen=True)
class SectionType:
    label: str
    fields: tuple[FieldSpec, ...]


SECTION_TYPES: dict[str, SectionType] = {
    "hero": SectionType(
        "Hero banner",
        (
            FieldSpec("heading", "Heading", hint="Left empty, the shop's name is shown."),
            FieldSpec("text", "Text", "textarea", max_length=500),
            FieldSpec("button_label", "Button label", max_length=60),
            FieldSpec("button_url", "Button link", "link", hint="/, /pages/…, or https://…"),
            FieldSpec("image", "Image address", "image", max_length=300,
                      hint="A picture of this shop's, like /media/… (empty: a plain banner)."),
            FieldSpec("image_alt", "Image description (alt text)", max_length=200,
                      hint="Leave empty if the picture is only decoration."),
        ),
    ),
    "featured_collection": SectionType(
        "Featured collection",
        (
            FieldSpec("heading", "Heading", required=True),
            FieldSpec("count", "How many products", "count", required=True, hint="1 to 24"),
        ),
    ),
    "collection_list": SectionType(
        "Collection list",
        (
            FieldSpec("heading", "Heading", required=True),
            FieldSpec("count", "How many collections", "count", required=True, hint="1 to 24"),
        ),
    ),
    "featured_product": SectionType(
        "Featured product",
        (
            FieldSpec("heading", "Heading"),
            FieldSpec("product", "Product handle", "product", required=True, max_length=255),
        ),
    ),
    "rich_text": SectionType(
        "Rich text",
        (
            FieldSpec("heading", "Heading"),
            FieldSpec("body", "Text", "richtext", required=True, max_length=MAX_RICH_TEXT,
                      hint="Paragraphs, bold, italics, lists and links are kept."),
        ),
    ),
    "image_with_text": SectionType(
        "Image with text",
        (
            FieldSpec("heading", "Heading", required=True),
            FieldSpec("body", "Text", "richtext", max_length=MAX_RICH_TEXT),
            FieldSpec("image", "Image address", "image", max_length=300,
                      hint="A picture of this shop's, like /media/… (leave empty for none)."),
            FieldSpec("image_alt", "Image description (alt text)", max_length=200),
            FieldSpec("side", "Image side", "side", required=True),
        ),
    ),
    "newsletter": SectionType(
        "Newsletter signup",
        (
            FieldSpec("heading", "Heading", required=True),
            FieldSpec("text", "Text", "textarea", max_length=500),
        ),
    ),
}  # fmt: skip
SECTION_DEFAULTS: dict[str, dict[str, Any]] = {
    "hero": {
        "heading": "Welcome", "text": "", "button_label": "Shop now",
        "button_url": "/collections/all", "image": "", "image_alt": "",
    },
    "featured_collection": {"heading": "Featured products", "count": 8},
    "collection_list": {"heading": "Shop by collection", "count": 6},
    "featured_product": {"heading": "", "product": ""},
    "rich_text": {"heading": "", "body": "<p>Tell shoppers about your shop.</p>"},
    "image_with_text": {
        "heading": "Our story", "body": "", "image": "", "image_alt": "", "side": "left",
    },
    "newsletter": {"heading": "Join our newsletter", "text": "News and offers, now and then."},
}  # fmt: skip
MAX_SECTIONS = 20
MAX_COUNT = 24


def new_section(kind: str) -> dict[str, Any]:
    return {"id": secrets.token_hex(4), "type": kind, **copy.deepcopy(SECTION_DEFAULTS[kind])}


def default_sections() -> list[dict[str, Any]]:
    """What a shop that never arranged its homepage shows: a hero and its products."""
    # The shop's name over a call to browse everything it sells.
    hero = {**SECTION_DEFAULTS["hero"], "id": "default-hero", "type": "hero", "heading": ""}
    hero["button_label"] = "Shop all"
    featured = {**SECTION_DEFAULTS["featured_collection"], "id": "default-featured"}
    return [hero, {**featured, "type": "featured_collection"}]


LINK_PATH = re.compile(r"^/((pages|collections|products)/[a-z0-9][a-z0-9-]{0,254})?$")
MEDIA_PATH = re.compile(r"^/(media|assets)/[A-Za-z0-9._/-]{1,250}$")


def link_problem(value: str) -> str | None:
    """Links go to this shop's home, pages, collections, products, or an https site."""
    if LINK_PATH.match(value):
        return None
    if value.startswith("/"):
        return "Link to /, /pages/<handle>, /collections/<handle> or /products/<handle>."
    return https_url_problem(value)


def clean_section(kind: str, form: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for spec in SECTION_TYPES[kind].fields:
        raw = (form.get(spec.name) or "").strip()
        values[spec.name] = raw
        if not raw:
            if spec.required:
                errors[spec.name] = f"Enter the {spec.label.lower()}."
            continue
        if len(raw) > spec.max_length:
            errors[spec.name] = f"Keep it under {spec.max_length} characters."
        elif spec.kind == "richtext":
            values[spec.name] = sanitize(raw)
        elif spec.kind == "link" and (problem := link_problem(raw)):
            errors[spec.name] = problem
        elif spec.kind == "image" and (".." in raw or not MEDIA_PATH.match(raw)):
            errors[spec.name] = "Use the address of one of this shop's pictures, like /media/…"
        elif spec.kind == "count":
            if not raw.isdigit() or not 1 <= int(raw) <= MAX_COUNT:
                errors[spec.name] = f"Enter a whole number from 1 to {MAX_COUNT}."
            else:
                values[spec.name] = int(raw)
        elif spec.kind == "product":
            values[spec.name] = handleize(raw)
            if (
                db.session.scalar(select(Product.id).where(Product.handle == values[spec.name]))
                is None
            ):
                errors[spec.name] = "No product of this shop has that handle."
        elif spec.kind == "side" and raw not in {"left", "right"}:
            errors[spec.name] = "Choose left or right."
    return values, errors


def product_choices(limit: int = 200) -> list[tuple[str, str]]:
    """(handle, title) of the shop's active products, for the featured product picker."""
    rows = db.session.execute(
        select(Product.handle, Product.title)
        .where(Product.status == ProductStatus.ACTIVE)
        .order_by(Product.title)
        .limit(limit)
    )
    return [(handle, title) for handle, title in rows]


# ---------------------------------------------------------------- theme state


def theme_row(theme: str) -> ThemeSettings | None:
    return db.session.scalar(select(ThemeSettings).where(ThemeSettings.theme == theme))


def _empty_state() -> dict[str, Any]:
    return {"settings": {}, "sections": default_sections()}


def draft_state(theme: str) -> dict[str, Any]:
    row = theme_row(theme)
    if row is None:
        return _empty_state()
    return copy.deepcopy(row.draft or row.published or _empty_state())


def published_state(theme: str) -> dict[str, Any]:
    row = theme_row(theme)
    if row is None or row.published is None:
        return _empty_state()
    return row.published


def has_unpublished_changes(theme: str) -> bool:
    row = theme_row(theme)
    return row is not None and row.draft != row.published


def _save_draft(theme: str, state: dict[str, Any]) -> None:
    row = theme_row(theme)
    if row is None:
        row = ThemeSettings(theme=theme, draft=state, published=None)
        db.session.add(row)
    else:
        row.draft = state  # a new object: the JSONB change is seen
    db.session.flush()


def look(theme: Theme, *, preview: bool = False) -> dict[str, Any]:
    """Settings and sections a storefront page renders with (the draft only in preview)."""
    state = draft_state(theme.name) if preview else published_state(theme.name)
    return {
        "settings": resolved_settings(theme, state.get("settings")),
        "sections": [s for s in state.get("sections", []) if s.get("type") in SECTION_TYPES],
    }


def save_settings(theme: Theme, form: Mapping[str, str]) -> dict[str, str]:
    """Validate the whole settings form; on success put it in the draft. Returns errors."""
    values, errors = validate_settings(theme, form)
    if errors:
        return errors
    state = draft_state(theme.name)
    state["settings"] = values
    _save_draft(theme.name, state)
    return {}


def publish(theme: str) -> None:
    row = theme_row(theme)
    if row is None:
        row = ThemeSettings(theme=theme, draft=_empty_state())
        db.session.add(row)
    row.published = copy.deepcopy(row.draft)
    row.published_at = datetime.now(UTC)
    db.session.flush()


def discard_draft(theme: str) -> None:
    row = theme_row(theme)
    if row is not None:
        row.draft = copy.deepcopy(row.published) if row.published else _empty_state()
        db.session.flush()


def carry_sections(old: str, new: str) -> None:
    """Switching theme keeps the homepage the merchant arranged (if the new one has none)."""
    if old == new or theme_row(new) is not None or theme_row(old) is None:
        return
    previous = theme_row(old)
    assert previous is not None
    draft = {"settings": {}, "sections": copy.deepcopy(draft_state(old)["sections"])}
    published = None
    if previous.published is not None:
        published = {"settings": {}, "sections": copy.deepcopy(previous.published["sections"])}
    db.session.add(ThemeSettings(theme=new, draft=draft, published=published))
    db.session.flush()


class SectionError(ValueError):
    pass


def _find(sections: list[dict[str, Any]], section_id: str) -> int:
    for index, section in enumerate(sections):
        if section.get("id") == section_id:
            return index
    raise SectionError("That section is no longer there.")


def add_section(theme: str, kind: str) -> dict[str, Any]:
    if kind not in SECTION_TYPES:
        raise SectionError("Choose a kind of section.")
    state = draft_state(theme)
    if len(state["sections"]) >= MAX_SECTIONS:
        raise SectionError(f"A homepage can have up to {MAX_SECTIONS} sections.")
    section = new_section(kind)
    state["sections"].append(section)
    _save_draft(theme, state)
    return section


def remove_section(theme: str, section_id: str) -> dict[str, Any]:
    state = draft_state(theme)
    removed = state["sections"].pop(_find(state["sections"], section_id))
    _save_draft(theme, state)
    return removed


def move_section(theme: str, section_id: str, delta: int) -> None:
    state = draft_state(theme)
    sections = state["sections"]
    if move_one(sections, _find(sections, section_id), delta):
        _save_draft(theme, state)


def get_section(theme: str, section_id: str) -> dict[str, Any]:
    sections = draft_state(theme)["sections"]
    return sections[_find(sections, section_id)]


def update_section(theme: str, section_id: str, form: Mapping[str, str]) -> dict[str, str]:
    state = draft_state(theme)
    index = _find(state["sections"], section_id)
    section = state["sections"][index]
    values, errors = clean_section(section["type"], form)
    if errors:
        return errors
    state["sections"][index] = {"id": section["id"], "type": section["type"], **values}
    _save_draft(theme, state)
    return {}


# ---------------------------------------------------------------- menus

MENUS = {"main": "Main menu", "footer": "Footer menu"}
MAX_LINKS = 30


def menu_items(handle: str) -> list[dict[str, str]]:
    menu = db.session.scalar(select(Menu).where(Menu.handle == handle))
    return list(menu.items) if menu else []


def all_menus() -> dict[str, list[dict[str, str]]]:
    rows = {m.handle: m.items for m in db.session.scalars(select(Menu))}
    return {handle: list(rows.get(handle, [])) for handle in MENUS}


def _save_menu(handle: str, items: list[dict[str, str]]) -> None:
    menu = db.session.scalar(select(Menu).where(Menu.handle == handle))
    if menu is None:
        db.session.add(Menu(handle=handle, items=items))
    else:
        menu.items = items
    db.session.flush()


def clean_link(form: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    title = (form.get("title") or "").strip()
    url = (form.get("url") or "").strip()
    errors: dict[str, str] = {}
    if not title:
        errors["title"] = "Enter the link's text."
    elif len(title) > 60:
        errors["title"] = "Keep it under 60 characters."
    if not url:
        errors["url"] = "Enter where the link goes."
    elif problem := link_problem(url):
        errors["url"] = problem
    return {"title": title, "url": url}, errors


def add_link(handle: str, form: Mapping[str, str]) -> dict[str, str]:
    link, errors = clean_link(form)
    items = menu_items(handle)
    if not errors and len(items) >= MAX_LINKS:
        errors["title"] = f"A menu can have up to {MAX_LINKS} links."
    if errors:
        return errors
    _save_menu(handle, [*items, link])
    return {}


def remove_link(handle: str, index: int) -> dict[str, str] | None:
    items = menu_items(handle)
    if not 0 <= index < len(items):
        return None
    removed = items.pop(index)
    _save_menu(handle, items)
    return removed


def move_link(handle: str, index: int, delta: int) -> None:
    items = menu_items(handle)
    if move_one(items, index, delta):
        _save_menu(handle, items)


# ---------------------------------------------------------------- pages

SUGGESTED_PAGES = ["About us", "Contact", "FAQ", "Shipping policy", "Refund policy"]


def pages_page(page: int, per_page: int) -> tuple[list[Page], int]:
    total = db.session.scalar(select(func.count()).select_from(Page)) or 0
    rows = db.session.scalars(
        select(Page).order_by(Page.title, Page.id).offset((page - 1) * per_page).limit(per_page)
    ).all()
    return list(rows), total


MAX_FOOTER_PAGES = 12


def published_page_links() -> list[tuple[str, str]]:
    """(title, handle) of the published pages, for the storefront footer (policies,
    about, contact), in title order."""
    rows = db.session.execute(
        select(Page.title, Page.handle)
        .where(Page.published.is_(True))
        .order_by(Page.title, Page.id)
        .limit(MAX_FOOTER_PAGES)
    )
    return [(title, handle) for title, handle in rows]


def published_page(handle: str) -> Page | None:
    return db.session.scalar(select(Page).where(Page.handle == handle, Page.published.is_(True)))


def save_page(page: Page | None, form: Mapping[str, str]) -> tuple[Page | None, dict[str, str]]:
    """Create (page None) or update a page from a form; nothing is staged on errors."""
    title = (form.get("title") or "").strip()
    handle = handleize((form.get("handle") or "").strip() or title)
    body = (form.get("body") or "").strip()
    errors: dict[str, str] = {}
    if not title:
        errors["title"] = "Enter a title."
    elif len(title) > 255:
        errors["title"] = "Keep the title under 255 characters."
    if not handle:
        errors["handle"] = "The handle needs letters or digits."
    else:
        clash = select(Page.id).where(Page.handle == handle)
        if page is not None:
            clash = clash.where(Page.id != page.id)
        if db.session.scalar(clash) is not None:
            errors["handle"] = f"Another page already uses the handle “{handle}”."
    if len(body) > MAX_RICH_TEXT:
        errors["body"] = f"Keep the text under {MAX_RICH_TEXT:,} characters."
    if errors:
        return None, errors
    if page is None:
        page = Page(handle=handle, title=title, body_html="", published=False)
        db.session.add(page)
    page.title, page.handle, page.body_html = title, handle, sanitize(body)
    page.published = form.get("published") in {"1", "on", "true"}
    db.session.flush()
    return page, {}


# ---------------------------------------------------------------- newsletter


def subscribe(email: str) -> str | None:
    """Add an address (once: a repeat is quietly accepted). Returns an error message."""
    try:
        email = validate_email_address(email)
    except InvalidEmail as invalid:
        return invalid.message
    db.session.execute(insert(NewsletterSubscriber).values(email=email).on_conflict_do_nothing())
    return None
