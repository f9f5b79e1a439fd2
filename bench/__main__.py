"""`python -m bench`: run every benchmark, print a table, write `bench/results/latest.json`.

Phases (see README.md for what each figure means):

1. one shop with 12 products: shop home page vs a bare Flask route, in-process and HTTP;
2. tenant creation latency (`create_tenant` + commit, one at a time);
3. provision up to 1,000 shops (progress on stderr);
4. the shop page again at 1,000 shops: the same shop, and round-robin over all shops;
5. tenant creation latency again, now that the catalog holds 1,000 schemas.

Exit status 0 whenever the run completes, goals met or not; 1 if it failed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.environment import bare_app, postgres_memory, storefront_app, throwaway_stores
from bench.provisioning import (
    CATALOG,
    bulk_create,
    make_shop,
    progress,
    summary_ms,
    timed_creations,
)
from bench.throughput import Run, in_process, interleaved, median_rps, over_http, served

RESULTS = Path(__file__).resolve().parent / "results"
CREATION_GOAL_MS = 300.0
SCALING_GOAL = 0.90


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

    def ratio(self, key: str, label: str, num: float, den: float, goal: float | None) -> float:
        value = num / den if den else 0.0
        self.add(
            Row(
                key,
                label,
                round(value, 4),
                f"{value * 100:.1f} %",
                f">= {goal * 100:.0f} %" if goal is not None else "",
                None if goal is None else value >= goal,
            )
        )
        return value


@dataclass
class Settings:
    tenants: int
    creations: int
    late_creations: int
    rounds: int
    budget: float  # seconds per in-process series round
    http_duration: float
    http_rounds: int
    http_threads: int
    http: bool


def parse_args(argv: list[str] | None) -> tuple[Settings, Path]:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=1000, help="shops at the scale step")
    parser.add_argument("--creations", type=int, default=50, help="timed tenant creations")
    parser.add_argument("--quick", action="store_true", help="a short smoke run (100 shops)")
    parser.add_argument("--no-http", action="store_true", help="skip the real-HTTP figures")
    parser.add_argument("--threads", type=int, default=4, help="HTTP client threads")
    parser.add_argument("--json", type=Path, default=RESULTS / "latest.json")
    args = parser.parse_args(argv)
    if args.quick:
        settings = Settings(100, 10, 5, 1, 0.7, 1.5, 1, args.threads, not args.no_http)
    else:
        settings = Settings(
            args.tenants, args.creations, 25, 3, 1.5, 2.5, 2, args.threads, not args.no_http
        )
    if settings.tenants < settings.creations + 2:
        parser.error("--tenants must exceed --creations + 1")
    return settings, args.json


def _terminate(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds through the cleanup, dropping the database


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
    """Refuse to benchmark a page that does not show the shop's catalog."""
    page = app.test_client().get("/", base_url=f"http://{host}")
    body = page.get_data(as_text=True)
    missing = [title for title, _ in CATALOG if title not in body]
    if page.status_code != 200 or missing:
        raise RuntimeError(f"{host}/ answered {page.status} without {missing[:3]}: {body[:300]!r}")


def _memory(app: Any, report: Report, label: str) -> dict[str, Any] | None:
    from saas.db import db

    with app.app_context():
        mem = postgres_memory(db.engine)
    report.raw.setdefault("postgres_memory", {})[label] = mem
    return mem


def _series(report: Report, name: str, runs: list[Run]) -> float:
    report.raw.setdefault("throughput", {})[name] = [run.as_dict() for run in runs]
    return median_rps(runs)


def run_all(app: Any, s: Settings, report: Report) -> None:
    bare = bare_app()
    n = s.tenants
    rr_requests = max(2000, n)

    def inproc_bare() -> Run:
        return in_process(
            bare, ["localhost"], max_requests=50_000, budget=s.budget, warmup_requests=300
        )

    # --- phase 1: one shop -----------------------------------------------------------------
    progress("creating the benchmark shop (12 products)")
    shop = make_shop(app, "bench-shop")
    host = shop_host(shop.slug)
    check_page(app, host)

    def inproc_shop() -> Run:
        return in_process(app, [host], max_requests=2000, budget=s.budget)

    progress(f"1 shop: in-process throughput, {s.rounds} interleaved round(s)")
    runs = interleaved({"bare": inproc_bare, "shop": inproc_shop}, s.rounds)
    bare1 = _series(report, "inprocess_bare_1", runs["bare"])
    shop1 = _series(report, "inprocess_shop_1", runs["shop"])
    report.ratio(
        "inprocess_shop_vs_bare",
        "Shop page / bare Flask, in-process (1 shop)",
        shop1,
        bare1,
        None,
    )

    http_bare1 = http_shop1 = None
    if s.http:
        progress(f"1 shop: HTTP throughput, {s.http_threads} client threads")
        with served(bare) as bare_port, served(app) as app_port:
            runs = interleaved(
                {
                    "bare": lambda: over_http(
                        bare_port,
                        ["localhost"],
                        threads=s.http_threads,
                        warmup=0.5,
                        duration=s.http_duration,
                    ),
                    "shop": lambda: over_http(
                        app_port,
                        [host],
                        threads=s.http_threads,
                        warmup=0.5,
                        duration=s.http_duration,
                    ),
                },
                s.http_rounds,
            )
        http_bare1 = _series(report, "http_bare_1", runs["bare"])
        http_shop1 = _series(report, "http_shop_1", runs["shop"])
        report.ratio(
            "http_shop_vs_bare",
            "Shop page / bare Flask, HTTP (1 shop)",
            http_shop1,
            http_bare1,
            None,
        )
    mem1 = _memory(app, report, "1_shop")

    # --- phase 2: tenant creation latency --------------------------------------------------
    progress(f"timing {s.creations} tenant creations")
    timings, _ = timed_creations(app, [f"latency-{i:04d}" for i in range(1, s.creations + 1)])
    creation = summary_ms(timings)
    report.raw["creation_early"] = creation
    report.add(
        Row(
            "creation_median_ms",
            f"Tenant creation median (create_tenant + commit, n={creation['count']})",
            creation["median_ms"],
            f"{creation['median_ms']:.1f} ms",
            f"< {CREATION_GOAL_MS:.0f} ms",
            creation["median_ms"] < CREATION_GOAL_MS,
        )
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
    bulk = bulk_create(app, [f"bench-{i:04d}" for i in range(have + 1, n + 1)])
    report.raw["bulk_provisioning_seconds"] = round(time.perf_counter() - started, 2)
    every_host = [host] + [shop_host(f"latency-{i:04d}") for i in range(1, s.creations + 1)]
    every_host += [shop_host(record.slug) for record in bulk]
    assert len(every_host) == n
    check_page(app, every_host[-1])

    # --- phase 4: the shop page at n shops -------------------------------------------------
    progress(f"{n} shops: in-process throughput, same shop, {s.rounds} interleaved round(s)")
    runs = interleaved({"bare": inproc_bare, "shop": inproc_shop}, s.rounds)
    bare_n = _series(report, "inprocess_bare_n", runs["bare"])
    shop_n = _series(report, "inprocess_shop_n", runs["shop"])
    progress(f"{n} shops: in-process throughput, round-robin over all {n} shops")
    rr = in_process(app, every_host, max_requests=rr_requests, budget=max(8.0, 3 * s.budget))
    rr_n = _series(report, "inprocess_roundrobin_n", [rr])
    mem_single = None
    http_bare_n = http_shop_n = http_rr_n = None
    if s.http:
        progress(f"{n} shops: HTTP throughput, same shop and round-robin over all shops")
        with served(bare) as bare_port, served(app) as app_port:
            runs = interleaved(
                {
                    "bare": lambda: over_http(
                        bare_port,
                        ["localhost"],
                        threads=s.http_threads,
                        warmup=0.5,
                        duration=s.http_duration,
                    ),
                    "shop": lambda: over_http(
                        app_port,
                        [host],
                        threads=s.http_threads,
                        warmup=0.5,
                        duration=s.http_duration,
                    ),
                },
                s.http_rounds,
            )
            http_bare_n = _series(report, "http_bare_n", runs["bare"])
            http_shop_n = _series(report, "http_shop_n", runs["shop"])
            mem_single = _memory(app, report, "n_shops_same_shop")
            rr_http = over_http(
                app_port,
                every_host,
                threads=s.http_threads,
                warmup=1.0,
                duration=2 * s.http_duration,
            )
            http_rr_n = _series(report, "http_roundrobin_n", [rr_http])
    mem_n = _memory(app, report, "n_shops_round_robin")

    label_n = f"{n:,}"
    report.ratio(
        "scale_inprocess_same_shop",
        f"Shop page at {label_n} / 1 shop, in-process, same shop",
        shop_n,
        shop1,
        SCALING_GOAL,
    )
    report.ratio(
        "scale_inprocess_round_robin",
        f"Shop page at {label_n} / 1 shop, in-process, round-robin {label_n} shops",
        rr_n,
        shop1,
        SCALING_GOAL,
    )
    if s.http and http_shop1 and http_shop_n and http_rr_n:
        report.ratio(
            "scale_http_same_shop",
            f"Shop page at {label_n} / 1 shop, HTTP, same shop",
            http_shop_n,
            http_shop1,
            SCALING_GOAL,
        )
        report.ratio(
            "scale_http_round_robin",
            f"Shop page at {label_n} / 1 shop, HTTP, round-robin {label_n} shops",
            http_rr_n,
            http_shop1,
            SCALING_GOAL,
        )
    report.ratio(
        "drift_inprocess_bare",
        "Bare Flask drift (later / earlier), in-process",
        bare_n,
        bare1,
        None,
    )
    if s.http and http_bare1 and http_bare_n:
        report.ratio(
            "drift_http_bare",
            "Bare Flask drift (later / earlier), HTTP",
            http_bare_n,
            http_bare1,
            None,
        )

    # --- phase 5: creation latency with n schemas in the catalog ----------------------------
    progress(f"timing {s.late_creations} tenant creations with {n} shops present")
    timings, _ = timed_creations(app, [f"late-{i:04d}" for i in range(1, s.late_creations + 1)])
    late = summary_ms(timings)
    report.raw["creation_late"] = late
    report.add(
        Row(
            "creation_median_ms_at_n",
            f"Tenant creation median with {label_n} shops (n={late['count']})",
            late["median_ms"],
            f"{late['median_ms']:.1f} ms (p95 {late['p95_ms']:.1f})",
            f"< {CREATION_GOAL_MS:.0f} ms",
            late["median_ms"] < CREATION_GOAL_MS,
        )
    )

    # --- memory --------------------------------------------------------------------------
    if mem1 and mem_n:
        report.add(
            Row(
                "pg_server_pss_mib",
                f"PostgreSQL server memory (PSS), 1 shop -> {label_n}",
                mem_n["server_pss_mib"],
                f"{mem1['server_pss_mib']:.0f} -> {mem_n['server_pss_mib']:.0f} MiB",
            )
        )
        if mem1["bench_backend_private_mean_mib"] and mem_n["bench_backend_private_mean_mib"]:
            report.add(
                Row(
                    "pg_backend_private_mib",
                    f"Private memory per app backend, 1 shop -> {label_n} (round-robin)",
                    mem_n["bench_backend_private_mean_mib"],
                    f"{mem1['bench_backend_private_mean_mib']:.1f} -> "
                    f"{mem_n['bench_backend_private_mean_mib']:.1f} MiB "
                    f"({mem_n['bench_backends']} backends)",
                )
            )
        if mem_single and mem_single["bench_backend_private_mean_mib"]:
            report.raw["pg_backend_private_mib_same_shop_at_n"] = mem_single[
                "bench_backend_private_mean_mib"
            ]
    else:
        report.add(Row("pg_memory", "PostgreSQL memory", None, "not measurable (server not local)"))

    # --- absolute figures, for the details section -----------------------------------------
    report.raw["rps"] = {
        "inprocess": {
            "bare_1": bare1,
            "shop_1": shop1,
            "bare_n": bare_n,
            "shop_n": shop_n,
            "roundrobin_n": rr_n,
        },
        "http": {
            "bare_1": http_bare1,
            "shop_1": http_shop1,
            "bare_n": http_bare_n,
            "shop_n": http_shop_n,
            "roundrobin_n": http_rr_n,
        },
    }


def print_table(report: Report, out: Any = sys.stdout) -> None:
    rows = report.rows
    w_label = max([len(r.label) for r in rows] + [len("Figure")])
    w_value = max([len(r.display) for r in rows] + [len("Value")])
    w_goal = max([len(r.goal) for r in rows] + [len("Goal")])
    header = f"{'Figure':<{w_label}}  {'Value':>{w_value}}  {'Goal':<{w_goal}}  Status"
    meta = report.meta
    print(file=out)
    print(
        f"Storefront benchmark — {meta.get('started_at', '')}, commit {meta.get('commit')}, "
        f"{meta.get('cpus')} CPUs, PostgreSQL {meta.get('postgres', '?')} "
        f"({'embedded' if meta.get('embedded') else 'DATABASE_URL'}), "
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
    rps = report.raw.get("rps")
    if rps:
        print(file=out)
        print("Requests per second (median of rounds; '1' = one shop, 'n' = all shops):", file=out)
        for kind, figures in rps.items():
            shown = ", ".join(
                f"{name} {value:,.0f}" for name, value in figures.items() if value is not None
            )
            if shown:
                print(f"  {kind:<10} {shown}", file=out)
    if report.meta.get("error"):
        print(f"\nINCOMPLETE: {report.meta['error']}", file=out)


def main(argv: list[str] | None = None) -> int:
    settings, json_path = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    report = Report(
        meta={
            "started_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ"),
            "commit": _git_commit(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "settings": settings.__dict__,
        }
    )
    started = time.perf_counter()
    failure: BaseException | None = None
    try:
        with throwaway_stores() as stores:
            report.meta["embedded"] = stores.embedded
            report.meta["database"] = stores.database
            progress(f"throwaway database {stores.database}, Redis DB 14")
            app = storefront_app()
            try:
                from saas.db import db

                with app.app_context():
                    report.meta["postgres"] = db.session.connection().dialect.server_version_info
                    db.session.remove()
                run_all(app, settings, report)
            finally:
                from saas.db import db

                with app.app_context():
                    db.engine.dispose()
                app.extensions["redis"].close()
            progress("dropping the throwaway database")
    except (Exception, KeyboardInterrupt, SystemExit) as exc:
        failure = exc
        report.meta["error"] = f"{type(exc).__name__}: {exc}"
    report.meta["seconds"] = round(time.perf_counter() - started, 1)
    if isinstance(report.meta.get("postgres"), tuple):
        report.meta["postgres"] = ".".join(map(str, report.meta["postgres"]))

    print_table(report)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(
        json.dumps(
            {
                "meta": report.meta,
                "results": [row.__dict__ | {"status": row.status} for row in report.rows],
                "raw": report.raw,
            },
            indent=2,
            default=str,
        )
        + "\n"
    )
    print(f"\nwritten to {json_path}")
    if failure is not None:
        if not isinstance(failure, KeyboardInterrupt | SystemExit):
            traceback.print_exception(failure)
        return 130 if isinstance(failure, KeyboardInterrupt) else 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
