"""Themes: folders under `themes/` with a `theme.toml` manifest, templates and assets.

Each theme renders through its own Jinja environment, an overlay of the app's
environment whose loader looks in the theme first and then in `base`. Overlays keep
separate template caches, so one theme's compiled template never serves another.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from jinja2 import ChoiceLoader, Environment, FileSystemLoader

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
        envs[theme.name] = app.jinja_env.overlay(
            loader=ChoiceLoader([FileSystemLoader(f) for f in folders])
        )
    app.extensions["themes"] = themes
    app.extensions["theme_envs"] = envs


def themes() -> dict[str, Theme]:
    return current_app.extensions["themes"]


def get_theme(name: str) -> Theme:
    """The named theme, or the base theme if it has been removed since it was chosen."""
    registry = themes()
    return registry.get(name) or registry[BASE_THEME]


def render_theme(theme_name: str, template: str, **context: Any) -> str:
    """Render a storefront template with a theme (and the base theme beneath it)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    theme = get_theme(theme_name)
    env = app.extensions["theme_envs"][theme.name]
    context.setdefault("theme", theme)
    app.update_template_context(context)
    return env.get_template(template).render(context)
