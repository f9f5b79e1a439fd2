"""`python -m bench`: run every benchmark, print a table, write `bench/results/latest.json`.

Two throwaway databases: `scale`, which grows from one shop to 1,000, and `control`,
which keeps exactly one shop, so that "1 shop" and "1,000 shops" can be measured in the
same interleaved rounds at the end (no drift between the two). Phases:

1. one shop: its home page vs a bare Flask route, in-process and over HTTP (the same
   interleaving as in 4);
2. tenant creation latency (`create_tenant` + commit, one at a time);
3. provision the `scale` database up to 1,000 shops (progress on stderr);
4. bare Flask, the control shop (1 shop), the same scale shop and round-robin over all
   1,000 scale shops, interleaved request by request in-process and in alternating
   rounds over HTTP;
5. tenant creation latency again, with 1,000 schemas in the catalog;
6. signup to live shop over HTTP (form submit -> the new back office answering);
7. storefront: a collection page with the page cache off and on, against bare Flask,
   search latency over 10,000 products in one shop, product page weight
   (`bench/storefront.py`);
8. orders: placement throughput with stock checks, and nothing oversold
   (`bench/orders.py`);
9. billing: a Stripe webhook's cost against an unhandled event's, and the billing sweep
   over 1,000 shops against a lock-each-row loop (`bench/billing.py`);
10. sales analytics: every report query over 30 and 365 days of a shop with 100,000
   orders (`bench/analytics.py`).

`python -m bench storefront` / `orders` / `billing` / `analytics` runs phase 7 / 8 / 9 /
10 alone, on one throwaway database. `python -m bench inbox` evaluates the inbox's topic
classifier offline (`bench/inbox.py`: held-out accuracy against the keyword rules), with
no database; the full run does not include it.

See README.md for what each figure means. Exit status 0 whenever the run completes,
goals met or not; non-zero if it failed (the databases are dropped either way).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import analytics, billing, inbox, orders, storefront
from bench.environment import bare_app, postgres_memory, storefront_app, throwaway_stores
from bench.provisioning import (
    CATALOG,
    bulk_create,
    make_shop,
    progress,
    summary_ms,
    timed_creations,
)
from bench.signup import signup_latencies
from bench.throughput import (
    Run,
    in_process,
    in_process_interleaved,
    interleaved,
    median_rps,
    over_http,
    paired_ratios,
    served,
)

RESULTS = Path(__file__).resolve().parent / "results"
FEATURED = 8  # products on a default homepage (tenants.content.services defaults)
CREATION_GOAL_MS = 300.0
SIGNUP_GOAL_MS = 500.0
SCALING_GOAL = 0.90
ROLES = ("scale", "control")  # the environment's DATABASE_URL points at the first


@dataclass
class Row:
    key: str
    label: str
    value: float | None
    display: str
    goal: str = ""
    met: bool | None = None  # None: informational, no goal

    @property
    def status(self) -> str:
        return "" if self.met is None else ("ok" if self.met else "MISSED")


@dataclass
class Report:
    meta: dict[str, Any] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)

    def add(self, row: Row) -> None:
        self.rows.append(row)
        mark = f"  [{row.status}]" if row.status else ""
        progress(f"{row.label}: {row.display}{mark}")

    def ratio(
        self,
        key: str,
        label: str,
        ratios: Sequence[float],
        goal: float | None = None,
        note: str = "",
    ) -> float:
        """Add a ratio row: the median of per-round ratios."""
        value = statistics.median(ratios)
        self.raw.setdefault("ratios", {})[key] = [round(r, 4) for r in ratios]
        if len(ratios) > 1 and not note:
            note = f" ({min(ratios) * 100:.0f}-{max(ratios) * 100:.0f})"
        self.add(
            Row(
                key,
                label,
                round(value, 4),
                f"{value * 100:.1f} %{note}",
                f">= {goal * 100:.0f} %" if goal is not None else "",
                None if goal is None else value >= goal,
            )
        )
        return value

    def series(self, name: str, runs: Sequence[Run]) -> float:
        self.raw.setdefault("throughput", {})[name] = [run.as_dict() for run in runs]
        rps = median_rps(runs)
        self.raw.setdefault("rps", {})[name] = round(rps, 1)
        return rps


@dataclass
class Settings:
    tenants: int
    creations: int
    late_creations: int
    signups: int
    requests: int  # in-process requests per series
    budget: float  # seconds, at most, for the in-process requests of phase 1
    http: bool
    http_rounds: int
    http_duration: float
    http_threads: int
    search_products: int = storefront.SEARCH_PRODUCTS
    search_rounds: int = 10  # passes over storefront.QUERIES
    phase: str = "all"  # or "storefront" / "orders" / "billing" / "analytics" / "inbox": alone


def parse_args(argv: list[str] | None) -> tuple[Settings, Path]:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="Storefront benchmarks (see bench/README.md)."
    )
    parser.add_argument(
        "phase",
        nargs="?",
        choices=("all", "storefront", "orders", "billing", "analytics", "inbox"),
        default="all",
        help=(
            "run every phase (default) or only the storefront, orders, billing or analytics"
            " one; inbox: the topic classifier, offline"
        ),
    )
    parser.add_argument("--tenants", type=int, default=1000, help="shops at the scale step")
    parser.add_argument("--creations", type=int, default=50, help="timed tenant creations")
    parser.add_argument("--signups", type=int, default=30, help="timed signups over HTTP")
    parser.add_argument("--quick", action="store_true", help="a short smoke run (100 shops)")
    parser.add_argument("--no-http", action="store_true", help="skip the real-HTTP figures")
    parser.add_argument("--threads", type=int, default=4, help="HTTP client threads")
    parser.add_argument(
        "--http-rounds", type=int, default=8, help="alternating HTTP rounds (more: steadier)"
    )
    parser.add_argument(
        "--json", type=Path, help="output (default results/latest.json, or <phase>.json)"
    )
    args = parser.parse_args(argv)
    http = not args.no_http
    if args.quick:
        settings = Settings(100, 10, 5, 10, 300, 3.0, http, 1, 1.5, args.threads, search_rounds=3)
    else:
        settings = Settings(
            args.tenants,
            args.creations,
            25,
            args.signups,
            2000,
            10.0,
            http,
            args.http_rounds,
            1.5,
            args.threads,
        )
    if settings.tenants < settings.creations + 2:
        parser.error("--tenants must exceed --creations + 1")
    settings.phase = args.phase
    # A phase run alone must not overwrite the full run's figures.
    default_json = RESULTS / ("latest.json" if args.phase == "all" else f"{args.phase}.json")
    return settings, args.json or default_json


def scaling_ratios(report: Any, runs: dict[str, Any], mode: str, title: str, label_n: str) -> None:
    """The n-shop series (same shop, round-robin) as ratios to the 1-shop control."""
    for series, key, what in (
        ("same", "same_shop", "same shop"),
        ("spread", "round_robin", "round-robin all"),
    ):
        report.ratio(
            f"scale_{mode}_{key}",
            f"Shop page, {label_n} shops / 1 shop, {title}, {what}",
            paired_ratios(runs[series], runs["control"]),
            SCALING_GOAL,
        )


def creation_figure(
    report: Any,
    db_env: Any,
    prefix: str,
    count: int,
    key: str,
    raw_key: str,
    label: str,
    display: str,
) -> dict[str, Any]:
    """Time `count` tenant creations and add their median (against the goal) to the report."""
    timings, _ = timed_creations(db_env, [f"{prefix}-{i:04d}" for i in range(1, count + 1)])
    figures = summary_ms(timings)
    report.raw[raw_key] = figures
    median, p95 = figures["median_ms"], figures["p95_ms"]
    report.add(
        Row(
            key,
            label.format(count=figures["count"]),
            median,
            display.format(median=median, p95=p95),
            f"< {CREATION_GOAL_MS:.0f} ms",
            median < CREATION_GOAL_MS,
        )
    )
    return figures


def _terminate(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds through the cleanup, dropping the databases


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parent.parent,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def shop_host(slug: str) -> str:
    return f"{slug}.localhost"


def check_page(app: Any, host: str) -> None:
    """Refuse to benchmark a page that does not show the shop's catalog.

    The default homepage features the newest products (`FEATURED` of them), so those
    are the ones that must be there.
    """
    page = app.test_client().get("/", base_url=f"http://{host}")
    body = page.get_data(as_text=True)
    shown = [title for title, _ in CATALOG if title in body]
    if page.status_code != 200 or len(shown) < min(FEATURED, len(CATALOG)):
        raise RuntimeError(f"{host}/ answered {page.status} showing {shown[:3]}: {body[:300]!r}")


def memory(app: Any, report: Report, label: str) -> dict[str, Any] | None:
    from saas.db import db

    with app.app_context():
        mem = postgres_memory(db.engine)
    report.raw.setdefault("postgres_memory", {})[label] = mem
    return mem


def run_all(apps: dict[str, Any], s: Settings, report: Report, control_url: str) -> None:
    scale, control = apps["scale"], apps["control"]
    bare = bare_app()
    n = s.tenants
    label_n = f"{n:,}"

    def http_run(port: int, hosts: list[str], duration: float | None = None) -> Run:
        return over_http(
            port, hosts, threads=s.http_threads, warmup=0.3, duration=duration or s.http_duration
        )

    # --- phase 1: one shop ---------------------------------------------------------------
    progress("creating one shop (12 products) in each database")
    shop = make_shop(scale, "bench-shop")
    solo = make_shop(control, "solo-shop")  # another slug: both apps share the host cache
    host, solo_host = shop_host(shop.slug), shop_host(solo.slug)
    check_page(scale, host)
    check_page(control, solo_host)

    progress("1 shop: in-process throughput, bare Flask and shop requests interleaved")
    runs = in_process_interleaved(
        {"bare": (bare, ["localhost"]), "shop": (scale, [host])},
        requests=s.requests,
        budget=s.budget,
    )
    report.series("inprocess_bare_before", runs["bare"])
    shop_before = report.series("inprocess_shop_before", runs["shop"])
    bare_before = median_rps(runs["bare"])
    report.ratio(
        "inprocess_shop_vs_bare",
        "Shop page / bare Flask, in-process (1 shop)",
        paired_ratios(runs["shop"], runs["bare"]),
    )
    if s.http:
        progress(f"1 shop: HTTP throughput, {s.http_threads} client threads")
        with served(bare) as bare_port, served(scale) as scale_port:
            runs = interleaved(
                {
                    "bare": lambda: http_run(bare_port, ["localhost"]),
                    "shop": lambda: http_run(scale_port, [host]),
                },
                s.http_rounds,
            )
        report.series("http_bare_before", runs["bare"])
        report.series("http_shop_before", runs["shop"])
        report.ratio(
            "http_shop_vs_bare",
            "Shop page / bare Flask, HTTP (1 shop)",
            paired_ratios(runs["shop"], runs["bare"]),
        )
    mem_before = memory(scale, report, "scale_1_shop")

    # --- phase 2: tenant creation latency --------------------------------------------------
    progress(f"timing {s.creations} tenant creations")
    creation = creation_figure(
        report,
        scale,
        "latency",
        s.creations,
        "creation_median_ms",
        "creation_early",
        "Tenant creation median (create_tenant + commit, n={count})",
        "{median:.1f} ms",
    )
    report.add(
        Row(
            "creation_p95_ms",
            f"Tenant creation p95 (n={creation['count']})",
            creation["p95_ms"],
            f"{creation['p95_ms']:.1f} ms",
        )
    )

    # --- phase 3: provision up to n shops --------------------------------------------------
    have = 1 + s.creations
    progress(f"provisioning {n - have} more shops (to {n}), each with 12 products")
    started = time.perf_counter()
    bulk = bulk_create(scale, [f"bench-{i:04d}" for i in range(have + 1, n + 1)])
    report.raw["bulk_provisioning_seconds"] = round(time.perf_counter() - started, 2)
    every_host = [host] + [shop_host(f"latency-{i:04d}") for i in range(1, s.creations + 1)]
    every_host += [shop_host(record.slug) for record in bulk]
    assert len(every_host) == n
    check_page(scale, every_host[-1])

    # --- phase 4: 1 shop (control) vs n shops (scale), interleaved -------------------------
    progress(f"in-process: warming every one of the {n} shops once")
    in_process(scale, every_host, max_requests=0, budget=0, warm_every_host=True)
    progress(f"in-process: bare / 1 shop / {n} shops (same, round-robin), interleaved")
    runs = in_process_interleaved(
        {
            "bare": (bare, ["localhost"]),
            "control": (control, [solo_host]),
            "same": (scale, [host]),
            "spread": (scale, every_host),
        },
        requests=s.requests,
        budget=2 * s.budget,
        warmup_requests=10,
    )
    report.series("inprocess_bare_after", runs["bare"])
    report.series("inprocess_control_1_shop", runs["control"])
    shop_after = report.series("inprocess_same_shop_n", runs["same"])
    report.series("inprocess_round_robin_n", runs["spread"])
    bare_after = median_rps(runs["bare"])
    scaling_ratios(report, runs, "inprocess", "in-process", label_n)

    mem_control = mem_scale = None
    if s.http:
        with (
            served(bare) as bare_port,
            served(control) as control_port,
            served(scale) as scale_port,
        ):
            progress(f"HTTP: warming every one of the {n} shops once")
            over_http(
                scale_port,
                every_host,
                threads=s.http_threads,
                warmup=0.5,
                duration=0.5,
                warm_every_host=True,
            )
            progress(f"HTTP: {s.http_rounds} interleaved round(s) of bare / 1 shop / {n} shops")
            runs = interleaved(
                {
                    "bare": lambda: http_run(bare_port, ["localhost"]),
                    "control": lambda: http_run(control_port, [solo_host]),
                    "same": lambda: http_run(scale_port, [host]),
                    "spread": lambda: http_run(scale_port, every_host),
                },
                s.http_rounds,
            )
            mem_control = memory(control, report, "control_1_shop_after_http")
            mem_scale = memory(scale, report, "scale_n_shops_after_http")
        report.series("http_bare_after", runs["bare"])
        report.series("http_control_1_shop", runs["control"])
        report.series("http_same_shop_n", runs["same"])
        report.series("http_round_robin_n", runs["spread"])
        scaling_ratios(report, runs, "http", "HTTP", label_n)
    else:
        mem_control = memory(control, report, "control_1_shop")
        mem_scale = memory(scale, report, "scale_n_shops")

    drift = bare_after / bare_before if bare_before else 0.0
    report.ratio(
        "sequential_inprocess_same_shop",
        f"Same database before/after {label_n} shops, in-process (drift-prone)",
        [shop_after / shop_before if shop_before else 0.0],
        note=f" (bare Flask {drift * 100:.0f} %)",
    )

    # --- phase 5: creation latency with n schemas in the catalog ---------------------------
    progress(f"timing {s.late_creations} tenant creations with {n} shops present")
    creation_figure(
        report,
        scale,
        "late",
        s.late_creations,
        "creation_median_ms_at_n",
        "creation_late",
        f"Tenant creation median with {label_n} shops (n={{count}})",
        "{median:.1f} ms (p95 {p95:.1f})",
    )

    # --- memory --------------------------------------------------------------------------
    if mem_before and mem_scale:
        report.add(
            Row(
                "pg_server_pss_mib",
                f"PostgreSQL server memory (PSS), 1 shop -> {label_n}",
                mem_scale["server_pss_mib"],
                f"{mem_before['server_pss_mib']:.0f} -> {mem_scale['server_pss_mib']:.0f} MiB",
            )
        )
    if (
        mem_control
        and mem_scale
        and mem_control["bench_backend_private_mean_mib"]
        and mem_scale["bench_backend_private_mean_mib"]
    ):
        report.add(
            Row(
                "pg_backend_private_mib",
                f"Private memory per app DB backend, 1 shop -> {label_n}",
                mem_scale["bench_backend_private_mean_mib"],
                f"{mem_control['bench_backend_private_mean_mib']:.1f} -> "
                f"{mem_scale['bench_backend_private_mean_mib']:.1f} MiB",
            )
        )
    if not mem_scale:
        report.add(Row("pg_memory", "PostgreSQL memory", None, "not measurable (not local)"))

    # --- phase 6: signup to live shop, over HTTP, n shops present --------------------------
    progress(f"timing {s.signups} signups over HTTP with {n} shops present")
    signups = summary_ms(signup_latencies(scale, s.signups))
    report.raw["signup"] = signups
    report.add(
        Row(
            "signup_median_ms",
            f"Signup to live back office, median (HTTP, n={signups['count']})",
            signups["median_ms"],
            f"{signups['median_ms']:.0f} ms",
            f"< {SIGNUP_GOAL_MS:.0f} ms",
            signups["median_ms"] < SIGNUP_GOAL_MS,
        )
    )
    report.add(
        Row(
            "signup_p95_ms",
            f"Signup to live back office, p95 (HTTP, n={signups['count']})",
            signups["p95_ms"],
            f"{signups['p95_ms']:.0f} ms",
        )
    )

    # --- phase 7: storefront page cache and search -----------------------------------------
    storefront.run(report, Row, control_url, bare, s)

    # --- phase 8: order placement ----------------------------------------------------------
    orders.run(report, Row, apps["control"])

    # --- phase 9: billing webhooks and the sweep -------------------------------------------
    billing.run(report, Row, apps["control"])

    # --- phase 10: sales analytics on 100,000 orders -----------------------------------------
    analytics.run(report, Row, apps["control"])


def print_table(report: Report, out: Any = sys.stdout) -> None:
    rows = report.rows
    w_label = max([len(r.label) for r in rows] + [len("Figure")])
    w_value = max([len(r.display) for r in rows] + [len("Value")])
    w_goal = max([len(r.goal) for r in rows] + [len("Goal")])
    header = f"{'Figure':<{w_label}}  {'Value':>{w_value}}  {'Goal':<{w_goal}}  Status"
    meta = report.meta
    print(file=out)
    print(
        f"Storefront benchmark, {meta.get('started_at', '')}, commit {meta.get('commit')}, "
        f"{meta.get('cpus')} CPUs, PostgreSQL {meta.get('postgres', '?')} "
        f"({'embedded' if meta.get('embedded') else 'from DATABASE_URL'}), "
        f"{meta.get('seconds', 0):.0f} s",
        file=out,
    )
    print(header, file=out)
    print("-" * len(header), file=out)
    for r in rows:
        print(
            f"{r.label:<{w_label}}  {r.display:>{w_value}}  {r.goal:<{w_goal}}  {r.status}",
            file=out,
        )
    print(
        "Ratios: median over 5 blocks of requests interleaved one by one (in-process) or\n"
        "over alternating rounds (HTTP); range in brackets. '1 shop' is the control\n"
        "database, measured interleaved with the scale database.",
        file=out,
    )
    rps = report.raw.get("rps")
    if rps:
        print("\nRequests per second (median over rounds):", file=out)
        width = max(len(name) for name in rps)
        for name, value in rps.items():
            print(f"  {name:<{width}}  {value:>9,.0f}", file=out)
    if meta.get("error"):
        print(f"\nINCOMPLETE: {meta['error']}", file=out)


def main(argv: list[str] | None = None) -> int:
    settings, json_path = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    report = Report(
        meta={
            "started_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ"),
            "commit": _git_commit(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "settings": dict(settings.__dict__),
            "embedded": not os.environ.get("DATABASE_URL"),
        }
    )
    started = time.perf_counter()
    failure: BaseException | None = None
    try:
        if settings.phase == "inbox":  # offline: no database, no Redis
            inbox.run(report, Row)
        else:
            only_storefront = settings.phase == "storefront"
            alone = settings.phase in ("storefront", "orders", "billing", "analytics")
            roles = (settings.phase,) if alone else ROLES
            with throwaway_stores(roles) as stores:
                report.meta["embedded"] = stores.embedded
                progress(f"throwaway databases {', '.join(stores.databases)}; Redis DB 14")
                apps: dict[str, Any] = {}
                try:
                    for role in roles:
                        apps[role] = storefront_app(stores.databases[role])
                    report.meta["postgres"] = _server_version(apps[roles[0]])
                    if only_storefront:
                        storefront.run(
                            report, Row, stores.databases["storefront"], bare_app(), settings
                        )
                    elif settings.phase == "orders":
                        orders.run(report, Row, apps["orders"])
                    elif settings.phase == "billing":
                        billing.run(report, Row, apps["billing"])
                    elif settings.phase == "analytics":
                        analytics.run(report, Row, apps["analytics"])
                    else:
                        run_all(apps, settings, report, stores.databases["control"])
                finally:
                    _close(apps.values())
                    progress("dropping the throwaway databases")
    except (Exception, KeyboardInterrupt, SystemExit) as exc:
        failure = exc
        report.meta["error"] = f"{type(exc).__name__}: {exc}"
    report.meta["seconds"] = round(time.perf_counter() - started, 1)

    sys.stderr.flush()
    print_table(report)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    results = [row.__dict__ | {"status": row.status} for row in report.rows]
    payload = {"meta": report.meta, "results": results, "raw": report.raw}
    json_path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    print(f"\nJSON: {json_path}")
    if failure is None:
        return 0
    if isinstance(failure, KeyboardInterrupt):
        return 130
    if isinstance(failure, SystemExit):
        return failure.code if isinstance(failure.code, int) else 1
    traceback.print_exception(failure)
    return 1


def _server_version(app: Any) -> str:
    from saas.db import db

    with app.app_context():
        info = db.engine.dialect.server_version_info
        if info is None:
            with db.engine.connect():
                info = db.engine.dialect.server_version_info
    return ".".join(map(str, info or ()))


def _close(apps: Any) -> None:
    from saas.db import db

    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        app.extensions["redis"].close()


if __name__ == "__main__":
    raise SystemExit(main())
