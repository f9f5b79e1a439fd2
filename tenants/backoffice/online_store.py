"""Online store: theme choice and settings, homepage sections, menus, static pages.

Theme settings and sections are edited as a draft; "Preview" lets the member of staff
see it on the storefront (a flag in their session, which is bound to this shop's host),
and "Publish" makes it what shoppers see.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, session, url_for

from saas import audit
from saas.db import atomic, db
from saas.paging import Page, current_page
from saas.tenancy import current_tenant
from saas.theming import FONTS, get_theme
from saas.theming import themes as available_themes
from tenants.backoffice import bp
from tenants.backoffice.access import requires
from tenants.backoffice.helpers import confirm_then, get_or_404, page_or_404
from tenants.content import services as content
from tenants.content.models import Page as ShopPage
from tenants.content.services import PREVIEW_KEY
from tenants.settings.services import get_settings, shop_row
from tenants.staff.models import Area

PAGES_PER_PAGE = 25


def _theme_name() -> str:
    return current_tenant.theme if current_tenant.theme in available_themes() else "base"


@bp.get("/themes")
@requires(Area.CONTENT)
def themes() -> str:
    registry = available_themes()
    return render_template(
        "backoffice/themes.html",
        themes=sorted(registry.values(), key=lambda t: (t.name != "base", t.label)),
        current=_theme_name(),
    )


@bp.post("/themes")
@requires(Area.CONTENT)
def theme_use() -> Any:
    name = request.form.get("theme", "")
    if name not in available_themes():
        abort(400, "There is no such theme.")
    tenant = shop_row()
    settings = get_settings()
    previous = tenant.theme
    tenant.theme = name  # an ORM change: the host cache picks up the new theme
    settings.theme_chosen = True
    if previous != name:
        content.carry_sections(previous, name)
        audit.record("theme.changed", old=previous, new=name)
    flash(f"Your storefront now uses the {available_themes()[name].label} theme.")
    return redirect(url_for("backoffice.themes"))


# ---------------------------------------------------------------- customise


def _customize_page(
    values: dict[str, Any] | None = None, errors: dict[str, str] | None = None, status: int = 200
) -> Any:
    theme = get_theme(_theme_name())
    draft = content.draft_state(theme.name)
    if values is None:
        values = content.resolved_settings(theme, draft.get("settings"))
    return render_template(
        "backoffice/theme_customize.html",
        theme=theme,
        values=values,
        errors=errors or {},
        fonts=[(key, label) for key, (label, _) in FONTS.items()],
        sections=draft["sections"],
        section_types=content.SECTION_TYPES,
        unpublished=content.has_unpublished_changes(theme.name),
        previewing=bool(session.get(PREVIEW_KEY)),
        has_logo=get_settings().logo_file is not None,
    ), status


@bp.route("/themes/customize", methods=["GET", "POST"])
@requires(Area.CONTENT)
def theme_customize() -> Any:
    if request.method == "GET":
        return _customize_page()
    theme = get_theme(_theme_name())
    errors = content.save_settings(theme, request.form)
    if errors:
        values: dict[str, Any] = {k: request.form.get(k, "") for k in theme.settings}
        for key, spec in theme.settings.items():
            if spec.get("type") == "checkbox":
                values[key] = request.form.get(key) in {"1", "on"}
        return _customize_page(values, errors, 400)
    flash("Theme settings saved as a draft. Preview them, then publish when you are ready.")
    return redirect(url_for("backoffice.theme_customize"))


@bp.post("/themes/preview")
@requires(Area.CONTENT)
def theme_preview() -> Any:
    if request.form.get("stop"):
        session.pop(PREVIEW_KEY, None)
        flash("Preview ended: the storefront shows the published theme to you again.")
        return redirect(url_for("backoffice.theme_customize"))
    session[PREVIEW_KEY] = True
    return redirect(url_for("shop.home"))


@bp.post("/themes/publish")
@requires(Area.CONTENT)
def theme_publish() -> Any:
    name = _theme_name()
    content.publish(name)
    audit.record("theme.published", theme=name)
    session.pop(PREVIEW_KEY, None)
    flash("Published: shoppers now see your changes.")
    return redirect(url_for("backoffice.theme_customize"))


@bp.route("/themes/discard", methods=["GET", "POST"])
@requires(Area.CONTENT)
def theme_discard() -> Any:
    def discard() -> str:
        content.discard_draft(_theme_name())
        return "Unpublished changes discarded."

    return confirm_then(
        discard,
        heading="Discard unpublished changes?",
        message="Settings and sections go back to what shoppers see now.",
        button="Discard changes",
        back=url_for("backoffice.theme_customize"),
    )


# ---------------------------------------------------------------- sections


@bp.post("/themes/sections")
@requires(Area.CONTENT)
def section_add() -> Any:
    try:
        with atomic():
            section = content.add_section(_theme_name(), request.form.get("type", ""))
    except content.SectionError as error:
        flash(str(error))
        return redirect(url_for("backoffice.theme_customize"))
    flash(f"{content.SECTION_TYPES[section['type']].label} added at the bottom of the page.")
    return redirect(url_for("backoffice.section_edit", section_id=section["id"]))


@bp.post("/themes/sections/<section_id>/move")
@requires(Area.CONTENT)
def section_move(section_id: str) -> Any:
    delta = -1 if request.form.get("direction") == "up" else 1
    try:
        content.move_section(_theme_name(), section_id, delta)
    except content.SectionError:
        abort(404)
    flash("Section moved " + ("up." if delta < 0 else "down."))
    return redirect(url_for("backoffice.theme_customize") + "#sections")


def _section_or_404(section_id: str) -> dict[str, Any]:
    try:
        return content.get_section(_theme_name(), section_id)
    except content.SectionError:
        abort(404)


@bp.route("/themes/sections/<section_id>/remove", methods=["GET", "POST"])
@requires(Area.CONTENT)
def section_remove(section_id: str) -> Any:
    section = _section_or_404(section_id)
    label = content.SECTION_TYPES[section["type"]].label

    def remove() -> str:
        content.remove_section(_theme_name(), section_id)
        return f"{label} removed from the draft."

    return confirm_then(
        remove,
        heading=f"Remove the {label.lower()} section?",
        message="It leaves the draft; shoppers keep seeing it until you publish.",
        button="Remove section",
        back=url_for("backoffice.theme_customize") + "#sections",
    )


@bp.route("/themes/sections/<section_id>", methods=["GET", "POST"])
@requires(Area.CONTENT)
def section_edit(section_id: str) -> Any:
    section = _section_or_404(section_id)
    kind = content.SECTION_TYPES[section["type"]]
    values, errors, status = dict(section), {}, 200
    if request.method == "POST":
        errors = content.update_section(_theme_name(), section_id, request.form)
        if not errors:
            flash(f"{kind.label} saved to the draft.")
            return redirect(url_for("backoffice.theme_customize") + "#sections")
        values = {f.name: request.form.get(f.name, "") for f in kind.fields}
        status = 400
    return render_template(
        "backoffice/theme_section.html",
        section=section,
        kind=kind,
        values=values,
        errors=errors,
        products=content.product_choices() if section["type"] == "featured_product" else [],
    ), status


# ---------------------------------------------------------------- menus


@bp.get("/themes/menus")
@requires(Area.CONTENT)
def menus() -> str:
    return render_template("backoffice/menus.html", menus=content.all_menus(), labels=content.MENUS)


def _menu_handle(handle: str) -> str:
    if handle not in content.MENUS:
        abort(404)
    return handle


@bp.route("/themes/menus/<handle>", methods=["GET", "POST"])
@requires(Area.CONTENT)
def menu_edit(handle: str) -> Any:
    _menu_handle(handle)
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        errors = content.add_link(handle, request.form)
        if not errors:
            audit.record("menu.updated", menu=handle, added=request.form.get("url", ""))
            flash("Link added.")
            return redirect(url_for("backoffice.menu_edit", handle=handle))
        values = {"title": request.form.get("title", ""), "url": request.form.get("url", "")}
        status = 400
    return render_template(
        "backoffice/menus_edit.html",
        handle=handle,
        label=content.MENUS[handle],
        items=content.menu_items(handle),
        values=values,
        errors=errors,
    ), status


@bp.post("/themes/menus/<handle>/<int:index>/move")
@requires(Area.CONTENT)
def menu_move(handle: str, index: int) -> Any:
    _menu_handle(handle)
    content.move_link(handle, index, -1 if request.form.get("direction") == "up" else 1)
    flash("Link moved.")
    return redirect(url_for("backoffice.menu_edit", handle=handle))


@bp.route("/themes/menus/<handle>/<int:index>/remove", methods=["GET", "POST"])
@requires(Area.CONTENT)
def menu_remove(handle: str, index: int) -> Any:
    _menu_handle(handle)
    items = content.menu_items(handle)
    if not 0 <= index < len(items):
        abort(404)
    title, menu = items[index]["title"], content.MENUS[handle].lower()

    def remove() -> str:
        removed = content.remove_link(handle, index)
        audit.record("menu.updated", menu=handle, removed=(removed or {}).get("url", ""))
        return f"“{title}” removed from the {menu}."

    return confirm_then(
        remove,
        heading=f"Remove “{title}” from the {menu}?",
        message="Shoppers stop seeing this link straight away.",
        button="Remove link",
        back=url_for("backoffice.menu_edit", handle=handle),
    )


# ---------------------------------------------------------------- pages


@bp.get("/themes/pages")
@requires(Area.CONTENT)
def pages() -> Any:
    number = current_page()
    rows, total = content.pages_page(number, PAGES_PER_PAGE)
    page = page_or_404(Page(rows, total, number, PAGES_PER_PAGE))
    return render_template("backoffice/pages.html", page=page, suggested=content.SUGGESTED_PAGES)


@bp.route("/themes/pages/new", methods=["GET", "POST"], endpoint="page_new")
@bp.route("/themes/pages/<int:page_id>", methods=["GET", "POST"])
@requires(Area.CONTENT)
def page_edit(page_id: int | None = None) -> Any:
    """Add a page (no id) or edit one: the same form and checks."""
    item = get_or_404(ShopPage, page_id)
    values: dict[str, Any] = (
        {"title": item.title, "handle": item.handle, "body": item.body_html,
         "published": item.published}
        if item
        else {"title": request.args.get("title", ""), "handle": "", "body": "", "published": True}
    )  # fmt: skip
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        saved, errors = content.save_page(item, request.form)
        if saved is not None:
            audit.record(
                "page.updated" if item else "page.created", page_id=saved.id, handle=saved.handle
            )
            flash(f"“{saved.title}” saved" + (" and published." if saved.published else "."))
            return redirect(url_for("backoffice.pages"))
        values = {k: request.form.get(k, "") for k in ("title", "handle", "body")}
        values["published"] = request.form.get("published") in {"1", "on"}
        status = 400
    return render_template(
        "backoffice/pages_form.html", item=item, values=values, errors=errors
    ), status


@bp.route("/themes/pages/<int:page_id>/delete", methods=["GET", "POST"])
@requires(Area.CONTENT)
def page_delete(page_id: int) -> Any:
    item = get_or_404(ShopPage, page_id)

    def delete() -> str:
        audit.record("page.deleted", page_id=item.id, handle=item.handle)
        db.session.delete(item)
        return f"“{item.title}” deleted."

    return confirm_then(
        delete,
        heading=f"Delete the page “{item.title}”?",
        message=f"/pages/{item.handle} will show “page not found”. This cannot be undone.",
        button="Delete page",
        back=url_for("backoffice.pages"),
    )
