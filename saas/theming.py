"""Themes: folders under `themes/` with a `theme.toml` manifest, templates and assets.

Each theme renders through its own Jinja environment, an overlay of the app's
environment whose loader looks in the theme first and then in `base`. Overlays keep
separate template caches, so one theme's compiled template never serves another.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app
from jinja2 import ChoiceLoader, Environment, FileSystemLoader
from markupsafe import Markup

from saas.config import PROJECT_ROOT

THEMES_DIR = PROJECT_ROOT / "themes"
BASE_THEME = "base"


@dataclass(frozen=True)
class Theme:
    name: str
    label: str
    version: str
    path: Path
    settings: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    def defaults(self) -> dict[str, Any]:
        return {key: spec.get("default", "") for key, spec in self.settings.items()}


def discover(themes_dir: Path = THEMES_DIR) -> dict[str, Theme]:
    themes = {}
    for manifest in sorted(themes_dir.glob("*/theme.toml")):
        data = tomllib.loads(manifest.read_text())
        name = manifest.parent.name
        themes[name] = Theme(
            name=name,
            label=data.get("label", name.title()),
            version=str(data.get("version", "1")),
            path=manifest.parent,
            settings=data.get("settings", {}),
            description=data.get("description", ""),
        )
    if BASE_THEME not in themes:
        raise RuntimeError(f"the {BASE_THEME!r} theme is missing from {themes_dir}")
    return themes


def init_app(app: Flask) -> None:
    themes = discover()
    envs: dict[str, Environment] = {}
    for theme in themes.values():
        folders = [theme.path / "templates"]
        if theme.name != BASE_THEME:
            folders.append(themes[BASE_THEME].path / "templates")
        env = app.jinja_env.overlay(loader=ChoiceLoader([FileSystemLoader(f) for f in folders]))
        env.filters["json_ld"] = json_ld
        envs[theme.name] = env
    app.extensions["themes"] = themes
    app.extensions["theme_envs"] = envs


def themes() -> dict[str, Theme]:
    return current_app.extensions["themes"]


def get_theme(name: str) -> Theme:
    """The named theme, or the base theme if it has been removed since it was chosen."""
    registry = themes()
    return registry.get(name) or registry[BASE_THEME]


def _theme_env(theme_name: str) -> tuple[Theme, Environment]:
    theme = get_theme(theme_name)
    return theme, current_app.extensions["theme_envs"][theme.name]


def render_theme(theme_name: str, template: str, **context: Any) -> str:
    """Render a storefront template with a theme (and the base theme beneath it)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    theme, env = _theme_env(theme_name)
    context.setdefault("theme", theme)
    provider: Callable[[Theme], dict[str, Any]] | None = app.extensions.get("theme_context")
    if provider is not None:
        # Shop-wide layout data (settings, menus, SEO): the caller's values win.
        context = {**provider(theme), **context}
    app.update_template_context(context)
    return env.get_template(template).render(context)


def render_email(
    theme_name: str, template: str, *, settings: Mapping[str, Any], **context: Any
) -> str:
    """Render a theme's email (`emails/<name>.html`, from `base` unless the theme has
    its own) with the shop's look `settings` as `style` (see `palette`), for the inline
    styles mail clients keep (many drop a `<style>`).

    Emails are rendered in jobs, with no request: neither the storefront's layout data
    (`set_context_provider`, which reads the request's host) nor the app's context
    processors (the logged-in user, CSRF) take part; the caller gives everything.
    """
    theme, env = _theme_env(theme_name)
    style = palette(settings)
    return env.get_template(template).render(theme=theme, settings=settings, style=style, **context)


def set_context_provider(app: Flask, provider: Callable[[Theme], dict[str, Any]]) -> None:
    """Register what every storefront page's layout needs (the shop's look, menus)."""
    app.extensions["theme_context"] = provider


# Fonts a merchant may pick: system font stacks only, so no page waits on a web font
# and no third party learns who visits the shop.
FONTS: dict[str, tuple[str, str]] = {
    "system": ("System sans-serif", 'system-ui,-apple-system,"Segoe UI",Roboto,sans-serif'),
    "humanist": (
        "Humanist sans-serif",
        'Seravek,"Gill Sans Nova",Ubuntu,Calibri,"DejaVu Sans",sans-serif',
    ),
    "geometric": ("Geometric sans-serif", 'Avenir,Montserrat,Corbel,"URW Gothic",sans-serif'),
    "classic": ("Classic serif", 'Georgia,Cambria,"Times New Roman",Times,serif'),
    "transitional": (
        "Transitional serif",
        'Charter,"Bitstream Charter","Sitka Text",Cambria,serif',
    ),
    "mono": (
        "Monospace",
        'ui-monospace,"Cascadia Code","Source Code Pro",Menlo,Consolas,monospace',
    ),
}
HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
# A number as people write it (+44 20 7946 0958, (555) 010-9999): shown, and dialled by tel:.
PHONE = re.compile(r"^\+?[0-9][0-9 ().-]{3,28}[0-9]$")
MIN_CONTRAST = 4.5  # WCAG AA for body text
MAX_URL = 500


def _luminance(hex_color: str) -> float:
    def channel(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _mix(a: str, b: str, weight: float) -> str:
    """`weight` of colour a, the rest of b."""
    parts = [
        round(int(a[i : i + 2], 16) * weight + int(b[i : i + 2], 16) * (1 - weight))
        for i in (1, 3, 5)
    ]
    return "#" + "".join(f"{p:02x}" for p in parts)


def https_url_problem(value: str) -> str | None:
    if len(value) > MAX_URL:
        return f"Keep the address under {MAX_URL} characters."
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.netloc or any(c.isspace() for c in value):
        return "Enter a full address starting with https://."
    return None


def validate_settings(
    theme: Theme, form: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Check a settings form against the theme's schema: (clean values, errors by field)."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key, spec in theme.settings.items():
        kind = spec.get("type")
        raw = (form.get(key) or "").strip()
        if kind == "color":
            if not HEX_COLOR.match(raw):
                errors[key] = "Enter a colour as # and six hex digits, like #1f5f8b."
            values[key] = raw.lower()
        elif kind == "font":
            if raw not in FONTS:
                errors[key] = "Choose one of the fonts in the list."
            values[key] = raw
        elif kind == "url":
            if raw and (problem := https_url_problem(raw)):
                errors[key] = problem
            values[key] = raw
        elif kind == "phone":
            if raw and not PHONE.match(raw):
                errors[key] = "Enter a phone number: digits, spaces, + ( ) - and dots, up to 30."
            values[key] = raw
        elif kind == "checkbox":
            values[key] = raw in {"1", "on", "true"}
    colours = {
        k: values[k]
        for k in ("background_color", "text_color", "accent_color")
        if k in values and k not in errors
    }
    bg = colours.get("background_color")
    if bg:
        for key in ("text_color", "accent_color"):
            if key in colours and contrast(colours[key], bg) < MIN_CONTRAST:
                errors[key] = (
                    f"This colour is too close to the background to read "
                    f"(contrast {contrast(colours[key], bg):.1f}:1, at least 4.5:1 needed)."
                )
    return values, errors


def resolved_settings(theme: Theme, stored: Mapping[str, Any] | None) -> dict[str, Any]:
    """The theme's defaults overlaid with stored values that still pass the schema."""
    values = theme.defaults()
    if stored:

        def as_form(v: Any) -> str:
            return ("1" if v else "") if isinstance(v, bool) else str(v)

        form = {k: as_form(v) for k, v in {**values, **stored}.items()}
        clean, errors = validate_settings(theme, form)
        values.update({k: v for k, v in clean.items() if k not in errors})
    return values


def palette(settings: Mapping[str, Any]) -> dict[str, str]:
    """The look's colours and font stacks by name (`bg`, `ink`, `accent`, `on-accent`,
    `muted`, `line`, `soft`, `tint`, `font-body`, `font-heading`): the storefront's CSS
    variables and the inline styles of themed emails. Only validated values reach it;
    re-checked anyway, as these land in style attributes and a `<style>`."""
    out: dict[str, str] = {}

    def colour(key: str) -> str | None:
        value = str(settings.get(key, ""))
        return value if HEX_COLOR.match(value) else None

    bg, ink, accent = colour("background_color"), colour("text_color"), colour("accent_color")
    if bg:
        out["bg"] = bg
    if ink:
        out["ink"] = ink
    if accent:
        out["accent"] = accent
        out["on-accent"] = (
            "#ffffff" if contrast(accent, "#ffffff") >= contrast(accent, "#000000") else "#000000"
        )
    if bg and ink:
        muted = _mix(ink, bg, 0.78)
        out["muted"] = muted if contrast(muted, bg) >= MIN_CONTRAST else ink
        out["line"] = _mix(ink, bg, 0.18)
        # Panel backgrounds (hero, footer) as plain hex: contrast checkers read them.
        out["soft"] = _mix(ink, bg, 0.04)
        if accent:
            out["tint"] = _mix(accent, bg, 0.08)
    for key, name in (("body_font", "font-body"), ("heading_font", "font-heading")):
        font = FONTS.get(str(settings.get(key, "")))
        if font:
            out[name] = font[1]
    return out


def css_variables(settings: Mapping[str, Any]) -> Markup:
    """`:root{...}` for the layout."""
    body = ";".join(f"--{k}:{v}" for k, v in palette(settings).items())
    # Belt and braces: nothing that could close the <style> element ever gets through.
    return Markup(":root{" + re.sub(r"[<>]", "", body) + "}")  # noqa: S704 - built above


def json_ld(data: Any) -> Markup:
    """JSON for a <script type="application/ld+json">: nothing in it can end the element."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for char, escaped in (
        ("&", "\\u0026"),
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escaped)
    return Markup(text)  # noqa: S704 - escaped above for a script element
