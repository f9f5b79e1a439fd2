"""Rich text merchants type (product and collection descriptions, pages, sections).

One allow-list for the whole shop: formatting and links only, no scripts, styles,
event handlers or `javascript:` links. Text is cleaned when it is saved, so themes can
print it as it is stored.
"""

from __future__ import annotations

import nh3

ALLOWED_TAGS = {
    "p", "br", "strong", "b", "em", "i", "u", "s", "a", "ul", "ol", "li", "blockquote",
    "h2", "h3", "h4", "hr", "code", "pre",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = {"http", "https", "mailto", "tel"}


def clean_html(html: str | None) -> str:
    """`html` reduced to the allow-list, links marked noopener/noreferrer/nofollow."""
    return nh3.clean(
        html or "",
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    ).strip()
