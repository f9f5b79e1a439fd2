"""`python -m bench.screenshots` (`make screenshots`): how every built-in theme looks.

Seeds a fully dressed shop per theme (`bench/showcase.py`, the shop Lighthouse audits
and the HTML checker validates) in a throwaway database (`bench/environment.py`), serves
the real app over HTTP from this process, and has Chromium (Playwright, driving
`CHROME_PATH`, default /usr/bin/chromium) visit each theme's home, collection, product,
cart and checkout pages as a shopper would: the cart and checkout hold a product put
there with the product page's "Add to cart" button. Each page is shot at 1280 and 360 px
wide, the first screenful only (what a visitor sees before scrolling; whole pages of
photos would weigh megabytes), as JPEG into `docs/screenshots/<theme>-<page>-<width>.jpg`,
which README.md links. Lives in bench/ beside lighthouse.py because it needs the same
throwaway shops and server, and like it is run by hand, not by the test suite.
"""

from __future__ import annotations

import argparse
import os
import signal
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.showcase import THEMES, Showcase, seed_showcase
from saas.config import PROJECT_ROOT

OUT = PROJECT_ROOT / "docs" / "screenshots"
PAGES = ("home", "collection", "product", "cart", "checkout")
WIDTHS = (1280, 360)
HEIGHTS = {1280: 800, 360: 740}  # a laptop's and a small phone's first screenful
QUALITY = 70  # JPEG: photos stay sharp enough at a tenth of PNG's weight
CART_PRODUCT = "canvas-tote-2"  # a showcase product on sale, with stock
CHROME_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def file_name(theme: str, page: str, width: int) -> str:
    return f"{theme}-{page}-{width}.jpg"


def capture_theme(
    browser: Any,
    theme: str,
    shop: Showcase,
    url: Callable[[str], str],
    out: Path,
    pages: Sequence[str] = PAGES,
    widths: Sequence[int] = WIDTHS,
) -> list[Path]:
    """Shoot `pages` of one theme's shop at each width; `url(path)` is the page's address.

    The cart and checkout are reached by adding a product first, as a shopper does.
    """
    out.mkdir(parents=True, exist_ok=True)
    written = []
    paths = shop.paths()
    for width in widths:
        context = browser.new_context(
            viewport={"width": width, "height": HEIGHTS.get(width, 800)}, device_scale_factor=1
        )
        page = context.new_page()
        try:
            for name in pages:
                if name in ("cart", "checkout"):
                    _fill_cart(page, url)
                    if name == "checkout":
                        page.get_by_role("link", name="Check out").click()
                else:
                    response = page.goto(url(paths[name]))
                    if response is None or response.status != 200:
                        status = response.status if response else "no answer"
                        raise RuntimeError(f"{theme} {name}: {url(paths[name])} answered {status}")
                page.wait_for_load_state("networkidle")
                target = out / file_name(theme, name, width)
                page.screenshot(path=str(target), type="jpeg", quality=QUALITY)
                written.append(target)
        finally:
            context.close()
    return written


def _fill_cart(page: Any, url: Callable[[str], str]) -> None:
    """One product in the cart (once per browser context); ends on the cart page."""
    page.goto(url("/cart"))
    if page.get_by_role("link", name="Check out").count():
        return
    page.goto(url(f"/products/{CART_PRODUCT}"))
    page.get_by_role("button", name="Add to cart").click()
    page.wait_for_url("**/cart")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.screenshots",
        description="Screenshots of every built-in theme's main storefront pages.",
    )
    parser.add_argument("--themes", default=",".join(THEMES), help="comma-separated")
    parser.add_argument("--pages", default=",".join(PAGES), help="comma-separated")
    parser.add_argument("--out", type=Path, default=OUT, help=f"folder (default {OUT})")
    parser.add_argument("--chrome", default=os.environ.get("CHROME_PATH", "/usr/bin/chromium"))
    args = parser.parse_args(argv)
    args.themes = [t.strip() for t in args.themes.split(",") if t.strip()]
    args.pages = [p.strip() for p in args.pages.split(",") if p.strip()]
    if unknown := set(args.pages) - set(PAGES):
        parser.error(f"unknown page(s): {', '.join(sorted(unknown))}")
    if unknown := set(args.themes) - set(THEMES):
        parser.error(f"unknown theme(s): {', '.join(sorted(unknown))}")
    return args


def _terminate(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds through the cleanup, dropping the database


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not Path(args.chrome).exists():
        raise SystemExit(f"no Chromium at {args.chrome} (set CHROME_PATH or --chrome)")
    from playwright.sync_api import sync_playwright

    from bench.environment import storefront_app, throwaway_stores
    from bench.provisioning import progress
    from bench.storefront import close
    from bench.throughput import served

    signal.signal(signal.SIGTERM, _terminate)
    run = uuid.uuid4().hex[:6]
    with throwaway_stores(("screenshots",)) as stores:
        app = storefront_app(stores.databases["screenshots"])
        try:
            shops = {}
            for theme in args.themes:
                progress(f"seeding a {theme} shop")
                shops[theme] = seed_showcase(app, f"shots-{theme}-{run}", theme)
            with served(app) as port, sync_playwright() as p:
                browser = p.chromium.launch(executable_path=args.chrome, args=CHROME_ARGS)
                try:
                    for theme, shop in shops.items():
                        progress(f"screenshots of {theme}")

                        def url(path: str, host: str = shop.host) -> str:
                            return f"http://{host}:{port}{path}"

                        for path in capture_theme(browser, theme, shop, url, args.out, args.pages):
                            print(
                                path.relative_to(PROJECT_ROOT)
                                if path.is_relative_to(PROJECT_ROOT)
                                else path
                            )
                finally:
                    browser.close()
        finally:
            close(app)
            progress("dropping the throwaway database")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
