"""Real Chromium for browser tests: Debian's /usr/bin/chromium driven by Playwright.

Test modules do `from tests.chromium import playwright_api` and use the `browser`
fixture from conftest (one Chromium per module). Outside CI a missing Chromium skips
them; in CI it fails.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))

pytestmark = pytest.mark.browser

if not CHROMIUM.exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing: CI must install Debian's chromium")
    pytest.skip(f"no Chromium at {CHROMIUM}", allow_module_level=True)

playwright_api = pytest.importorskip("playwright.sync_api")


@contextmanager
def launched() -> Iterator[Any]:
    """A running headless Chromium (the `browser` fixture in conftest wraps this)."""
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        try:
            yield browser
        finally:
            browser.close()
