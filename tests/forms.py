"""Submitting a page's form as a browser would: what its fields hold (ticked boxes only,
chosen options, no buttons or files), changed where the test says, posted back."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any


class _FormReader(HTMLParser):
    def __init__(self, action: str | None) -> None:
        super().__init__(convert_charrefs=True)
        self.action = action
        self.inside = False
        self.values: dict[str, str] = {}
        self._textarea: str | None = None
        self._select: str | None = None
        self._first_option: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and (self.action is None or a.get("action") == self.action):
            self.inside = True
        if not self.inside or ("name" not in a and tag != "option"):
            return
        if tag == "input":
            kind = a.get("type", "text")
            if kind in ("submit", "button", "file", "image", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self.values[a["name"]] = a.get("value", "on" if kind == "checkbox" else "")
        elif tag == "textarea":
            self._textarea = a["name"]
            self.values[a["name"]] = ""
        elif tag == "select":
            self._select, self._first_option = a["name"], None
        elif tag == "option" and self._select:
            value = a.get("value", "")
            if self._first_option is None:
                self._first_option = value
                self.values.setdefault(self._select, value)
            if "selected" in a:
                self.values[self._select] = value

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            # The parser hands over the first newline a browser drops.
            text = self.values[self._textarea] + data
            self.values[self._textarea] = text.removeprefix("\n")


def form_fields(html: str, action: str | None = None) -> dict[str, str]:
    """The fields the form (the first one, or the one posting to `action`) would send."""
    reader = _FormReader(action)
    reader.feed(html)
    return reader.values


def submit_form(client: Any, url: str, changes: dict[str, Any] | None = None, **kw: Any) -> Any:
    """GET `url`, then post its form back (to the same `url`) with `changes`; a change of
    None removes the field (an unticked box). Other keywords go to `client.post`."""
    data: dict[str, Any] = form_fields(client.get(url).text, url)
    for name, value in (changes or {}).items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return client.post(url, data=data, **kw)
