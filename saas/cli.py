"""`flask` commands: db, tenants, operator, demo, worker, serve."""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import click
from alembic import command as alembic_command
from flask import Flask, current_app
from flask.cli import AppGroup, FlaskGroup, with_appcontext
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from werkzeug.serving import run_simple

from saas import audit, create_app, embedded
from saas.auth import revoke_sessions
from saas.billing import dunning
from saas.billing.reconcile import ReconcileReport, reconcile
from saas.cache import redis_client
from saas.console.actions import PurgeResult, purge_due_tenants
from saas.console.totp import current_code, new_secret, provisioning_uri
from saas.db import db, unit_of_work
from saas.demo import seed_demo
from saas.domains import DomainError, add_domain, remove_domain
from saas.email_address import InvalidEmail, normalise_email, validate_email_address
from saas.jobs import enqueue, make_worker
from saas.models import Operator, Tenant, TenantStatus
from saas.passwords import hash_password
from saas.plans import seed_default_plans
from saas.ratelimit import limiter
from saas.tenancy import TenantRecord, tenant_context
from saas.tenancy.migrations import alembic_config, migrate_tenants, upgrade_public
from saas.tenancy.provisioning import create_tenant, drop_tenant
from saas.tenancy.sites import InvalidSlug, absolute_url, shop_host
from saas.theming import themes
from tenants.analytics import rollup
from tenants.checkout import recovery
from tenants.loyalty import jobs as loyalty_jobs
from tenants.reviews import emails as review_requests
from tenants.settings.onboarding import send_welcome_email


class CommandGroup(AppGroup):
    """Commands that are each one unit of work: committed when the command returns,
    rolled back when it fails (a usage error included). Commands that loop over shops
    make each shop its own unit with `tenant_context`, so one shop's failure never
    undoes another's."""

    def command(self, *args: Any, **kwargs: Any) -> Any:
        register = super().command

        def decorator(f: Any) -> Any:
            @functools.wraps(f)
            def in_unit_of_work(*a: Any, **kw: Any) -> Any:
                with unit_of_work():
                    return f(*a, **kw)

            return register(*args, **kwargs)(in_unit_of_work)

        return decorator


def init_app(app: Flask) -> None:
    for command in (db_cli, tenants_cli, billing_cli, operator_cli, demo, worker, serve):
        app.cli.add_command(command)


def main() -> None:
    """The `storefront` console script: the same commands as `flask --app saas`."""
    FlaskGroup(create_app=create_app)(prog_name="storefront")


def upgrade_platform(revision: str = "head") -> None:
    """The platform tables at `revision`; at head, a platform with no plans at all gets
    the starting ones, so signup works at once (its own unit of work)."""
    upgrade_public(revision)
    if revision == "head":
        with unit_of_work():
            seed_default_plans()


def _ensure_platform_schema() -> None:
    upgrade_platform()


# --- db -------------------------------------------------------------------------------


@click.group("db", cls=CommandGroup)
def db_cli() -> None:
    """Platform schema migrations."""


@db_cli.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Upgrade the platform tables in `public`."""
    upgrade_platform(revision)
    click.echo(f"Platform schema at {revision}.")


@db_cli.command("revision")
@click.option("--tree", type=click.Choice(["public", "tenant"]), required=True)
@click.option("-m", "--message", required=True)
def db_revision(tree: str, message: str) -> None:
    """Create an empty revision in one of the two migration trees."""
    alembic_command.revision(alembic_config(tree), message=message)


# --- tenants --------------------------------------------------------------------------


@click.group("tenants", cls=CommandGroup)
@with_appcontext
def tenants_cli() -> None:
    """Create, list, migrate and drop shops."""
    _ensure_platform_schema()


@tenants_cli.command("create")
@click.argument("slug")
@click.option("--name", help="Shop name (defaults to the address).")
@click.option("--owner-email", help="Where the welcome email goes.")
@click.option("--theme", default="base", show_default=True)
def tenants_create(slug: str, name: str | None, owner_email: str | None, theme: str) -> None:
    """Create a shop at SLUG.<domain> with its own schema."""
    if theme not in themes():
        raise click.BadParameter(
            f"unknown theme; choose from {', '.join(themes())}", param_hint="--theme"
        )
    if owner_email is not None:
        try:
            owner_email = validate_email_address(owner_email)
        except InvalidEmail as invalid:
            raise click.BadParameter(invalid.message, param_hint="--owner-email") from invalid
    try:
        tenant = create_tenant(slug, name or slug, owner_email=owner_email, theme=theme)
    except InvalidSlug as exc:
        raise click.BadParameter(str(exc), param_hint="SLUG") from exc
    if owner_email:  # queued once the shop commits
        enqueue(send_welcome_email, owner_email, tenant_id=tenant.id, queue="mail")
    url = absolute_url(current_app, shop_host(current_app, tenant.slug))
    click.echo(f"Created shop {tenant.slug!r} (schema {tenant.schema}): {url}")


@tenants_cli.command("list")
def tenants_list() -> None:
    """List every shop with its status and schema."""
    tenants = db.session.scalars(
        select(Tenant).options(selectinload(Tenant.domains)).order_by(Tenant.id)
    ).all()
    if not tenants:
        click.echo("No shops yet. Create one with: flask tenants create SLUG")
        return
    click.echo(f"{'ID':>6}  {'SLUG':<24} {'STATUS':<12} {'THEME':<10} {'SCHEMA':<10} DOMAINS")
    for t in tenants:
        domains = ", ".join(d.host for d in t.domains) or "-"
        click.echo(f"{t.id:>6}  {t.slug:<24} {t.status:<12} {t.theme:<10} {t.schema:<10} {domains}")


@tenants_cli.command("migrate")
@click.option("--workers", type=click.IntRange(1, 32), help="Parallel processes.")
@click.option("--shop", "shops", multiple=True, help="Only these shops (repeatable).")
@click.option("--revision", default="head", show_default=True)
def tenants_migrate(workers: int | None, shops: tuple[str, ...], revision: str) -> None:
    """Upgrade every shop's schema; failures are reported at the end. Safe to rerun."""
    query = select(Tenant.id, Tenant.slug).where(Tenant.status != TenantStatus.DELETED)
    if shops:
        query = query.where(Tenant.slug.in_(shops))
    with tenant_context(None):  # a short read: no transaction stays open while migrating
        targets = [(row.id, row.slug) for row in db.session.execute(query.order_by(Tenant.id))]
    if shops and len(targets) != len(set(shops)):
        missing = set(shops) - {slug for _, slug in targets}
        raise click.BadParameter(f"no such shop: {', '.join(sorted(missing))}", param_hint="--shop")
    if not targets:
        click.echo("No shops to migrate.")
        return
    with click.progressbar(
        length=len(targets), label="Migrating shops", show_pos=True, file=sys.stderr
    ) as bar:
        report = migrate_tenants(
            targets,
            workers=workers,
            revision=revision,
            on_progress=lambda slug, error: bar.update(1),
        )
    click.echo(
        f"{len(report.upgraded)} upgraded, {len(report.current)} already current, "
        f"{len(report.failed)} failed."
    )
    if report.failed:
        for slug, reason in sorted(report.failed.items()):
            click.echo(f"  FAILED {slug}: {reason}", err=True)
        click.echo("Fix the causes and run `flask tenants migrate` again to finish.", err=True)
        sys.exit(1)


@tenants_cli.command("drop")
@click.argument("slug")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def tenants_drop(slug: str, yes: bool) -> None:
    """Delete a shop and all of its data, permanently."""
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        raise click.BadParameter(f"no shop at {slug!r}", param_hint="SLUG")
    if not yes:
        click.confirm(
            f"Permanently delete shop {tenant.name!r} ({slug}) and all its data?", abort=True
        )
    drop_tenant(tenant)
    click.echo(f"Dropped shop {slug!r}.")


@tenants_cli.command("purge")
def tenants_purge() -> None:
    """Drop the data of deleted shops past their retention period (run from cron).

    A shop is purged only once its export exists; audit events are kept.
    """

    def report(result: PurgeResult) -> None:
        if result.purged:
            click.echo(f"  purged {result.slug} (id {result.tenant_id}); export: {result.note}")
        else:
            click.echo(f"  kept {result.slug} (id {result.tenant_id}): {result.note}", err=True)

    results = purge_due_tenants(progress=report)
    purged = sum(r.purged for r in results)
    waiting = len(results) - purged
    click.echo(f"{purged} shop{'' if purged == 1 else 's'} purged, {waiting} waiting.")


@tenants_cli.command("sweep")
def tenants_sweep() -> None:
    """Send due abandoned-checkout reminders and review requests, release expired
    card-payment holds, make held loyalty points spendable and expire inactive ones, and
    fold finished hours of visits into the daily analytics in every active shop (run
    from cron every few minutes; the reminders, requests and holds are also scheduled as
    delayed jobs, this catches what a lost Redis dropped)."""
    with tenant_context(None):  # a short read: no transaction stays open while sweeping
        shops = db.session.scalars(
            select(Tenant).where(Tenant.status == TenantStatus.ACTIVE).order_by(Tenant.id)
        ).all()
        records = [TenantRecord.of(t) for t in shops]
    totals: dict[str, int] = {}
    with click.progressbar(records, label=f"Sweeping {len(records)} shops") as bar:
        for record in bar:
            for name, step in SWEEP_STEPS:
                try:
                    with tenant_context(record):  # each step its own unit of work
                        counts = step(record)
                except Exception as error:  # one shop's (or step's) trouble stops no other
                    click.echo(f"\n  {record.slug}: {name}: {error}", err=True)
                    continue
                for what, count in counts.items():
                    totals[what] = totals.get(what, 0) + count
    click.echo(", ".join(f"{count} {what}" for what, count in totals.items()) + ".")


def _checkouts(record: TenantRecord) -> dict[str, int]:
    done = recovery.sweep()
    return {"reminder(s) sent": done.reminded, "card hold(s) released": done.released}


# What the sweep does in each shop, in order: (name, step), a step giving its counts.
SWEEP_STEPS: tuple[tuple[str, Callable[[TenantRecord], dict[str, int]]], ...] = (
    ("checkouts", _checkouts),
    ("review requests", lambda _: {"review request(s) sent": review_requests.sweep()}),
    ("loyalty points", lambda _: loyalty_jobs.sweep()),
    ("analytics", lambda record: {"hour(s) of visits folded": rollup.roll_up(record.id)}),
)


@tenants_cli.command("add-domain")
@click.argument("slug")
@click.argument("host")
def tenants_add_domain(slug: str, host: str) -> None:
    """Serve the shop at SLUG on a custom HOST too (point its DNS here first)."""
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        raise click.BadParameter(f"no shop at {slug!r}", param_hint="SLUG")
    try:
        domain = add_domain(tenant, host)
    except DomainError as exc:
        raise click.BadParameter(str(exc), param_hint="HOST") from exc
    click.echo(f"{domain.host} now serves {slug}.")


@tenants_cli.command("remove-domain")
@click.argument("host")
def tenants_remove_domain(host: str) -> None:
    """Stop serving a shop on a custom HOST."""
    try:
        remove_domain(host)
    except DomainError as exc:
        raise click.BadParameter(str(exc), param_hint="HOST") from exc
    click.echo(f"{host} removed.")


# --- operators ------------------------------------------------------------------------


@click.group("billing", cls=CommandGroup)
def billing_cli() -> None:
    """Merchants' subscriptions: the clock (trials, dunning) and reconciliation."""


def _progress(label: str) -> Any:
    """A `progress(done, total)` callback that draws a bar once the total is known."""
    state: dict[str, Any] = {}

    def step(done: int, total: int) -> None:
        if "bar" not in state:
            state["bar"] = click.progressbar(length=total, label=label)
            state["bar"].__enter__()
        state["bar"].update(1)
        if done == total:
            state["bar"].__exit__(None, None, None)

    return step


def _finish(report: dunning.SweepReport | ReconcileReport) -> None:
    """Print a run's report; exit 1 when any shop failed, so cron tells someone."""
    click.echo(str(report))
    if report.failed:
        raise SystemExit(1)


@billing_cli.command("sweep")
def billing_sweep() -> None:
    """End unpaid trials and periods, send trial and payment reminders, tell owners of
    closed shops (run hourly from cron; safe to run any time)."""
    _finish(dunning.sweep(progress=_progress("Billing sweep")))


@billing_cli.command("reconcile")
def billing_reconcile() -> None:
    """Compare every Stripe-billed shop with Stripe and repair drift (run nightly)."""
    _finish(reconcile(progress=_progress("Reconciling with Stripe")))


@click.group("operator", cls=CommandGroup)
@with_appcontext
def operator_cli() -> None:
    """Operator accounts for the console."""
    _ensure_platform_schema()


@operator_cli.command("create")
@click.argument("email")
@click.option("--name", default="Operator", show_default=True)
@click.password_option()
def operator_create(email: str, name: str, password: str) -> None:
    """Create an operator account with its TOTP second factor."""
    try:
        email = validate_email_address(email)
    except InvalidEmail as invalid:
        raise click.BadParameter(invalid.message, param_hint="EMAIL") from invalid
    if len(password) < 10:
        raise click.BadParameter("use at least 10 characters", param_hint="--password")
    if db.session.scalar(select(Operator.id).where(func.lower(Operator.email) == email)):
        raise click.BadParameter("an operator with this email exists", param_hint="EMAIL")
    secret = new_secret()
    db.session.add(
        Operator(email=email, name=name, password_hash=hash_password(password), totp_secret=secret)
    )
    click.echo(f"Operator {email} created.")
    _print_totp(email, secret)


def _print_totp(email: str, secret: str) -> None:
    click.echo("Add this to an authenticator app (scan the URI as a QR code, or type the secret):")
    click.echo(f"  URI:    {provisioning_uri(secret, email)}")
    click.echo(f"  Secret: {secret}")
    if current_app.config["SAAS_ENV"] != "production":
        click.echo(f"Development: `flask operator totp-code {email}` prints the current code.")


def _operator_by_email(email: str) -> Any:
    operator = db.session.scalar(
        select(Operator).where(func.lower(Operator.email) == normalise_email(email))
    )
    if operator is None:
        raise click.BadParameter(f"no operator {email!r}", param_hint="EMAIL")
    return operator


@operator_cli.command("totp-code")
@click.argument("email")
def operator_totp_code(email: str) -> None:
    """Print an operator's current sign-in code (development only)."""
    if current_app.config["SAAS_ENV"] == "production":
        raise click.UsageError(
            "refused with SAAS_ENV=production: use the operator's authenticator app."
        )
    operator = _operator_by_email(email)
    if not operator.totp_secret:
        raise click.UsageError(f"{operator.email} has no TOTP secret: run `operator reset-totp`.")
    click.echo(current_code(operator.totp_secret))


@operator_cli.command("reset-totp")
@click.argument("email")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def operator_reset_totp(email: str, yes: bool) -> None:
    """Give an operator a new TOTP secret (a lost phone); their sessions end."""
    operator = _operator_by_email(email)
    if not yes:
        click.confirm(
            f"Replace the second factor of {operator.email}? Their current app stops working.",
            abort=True,
        )
    secret = new_secret()
    operator.totp_secret = secret
    operator.totp_last_step = None
    revoke_sessions(operator)
    audit.record(
        "operator.totp_reset", tenant_id=None, actor=("system", None, None), operator=operator.email
    )
    click.echo(f"New second factor for {operator.email}; their sessions are signed out.")
    _print_totp(operator.email, secret)


@operator_cli.command("set-password")
@click.argument("email")
@click.password_option()
def operator_set_password(email: str, password: str) -> None:
    """Give an operator a new password (forgotten, or locked out); their sessions end and
    their failed tries are forgotten. Operators have no reset by email, by design: the
    console holds every shop, so only someone with the servers may reset it."""
    operator = _operator_by_email(email)
    if len(password) < 10:
        raise click.BadParameter("use at least 10 characters", param_hint="--password")
    operator.password_hash = hash_password(password)
    revoke_sessions(operator)
    limiter().reset("login", operator.email)
    audit.record(
        "operator.password_set",
        tenant_id=None,
        actor=("system", None, None),
        operator=operator.email,
    )
    click.echo(f"New password for {operator.email}; their sessions are signed out.")


# --- demo, worker, serve --------------------------------------------------------------


@click.command("demo")
@with_appcontext
def demo() -> None:
    """Seed a demo platform (idempotent) and print its URLs and logins."""
    _ensure_platform_schema()
    for line in seed_demo(progress=lambda msg: click.echo(f"  {msg}")):
        click.echo(line)


@click.command("worker")
@with_appcontext
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.argument("queues", nargs=-1)
def worker(burst: bool, queues: tuple[str, ...]) -> None:
    """Run a job worker that enters each job's shop before running it."""
    app: Any = current_app._get_current_object()  # type: ignore[attr-defined]
    make_worker(app, list(queues) or None).work(burst=burst, with_scheduler=not burst)


@click.command("serve")
@with_appcontext
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    help="Port to listen on (and to write into links). Default: $PORT, or 5000.",
)
@click.option(
    "--worker/--no-worker",
    "with_worker",
    default=True,
    show_default=True,
    help="Run a job worker beside the web server.",
)
def serve(host: str, port: int | None, with_worker: bool) -> None:
    """Serve the platform for development; Ctrl-C stops everything this started."""

    def stop_serving(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    # Ctrl-C and `kill` both end in the cleanup below, even where SIGINT was inherited
    # as ignored (a shell's background job).
    signal.signal(signal.SIGINT, stop_serving)
    signal.signal(signal.SIGTERM, stop_serving)

    app: Any = current_app._get_current_object()  # type: ignore[attr-defined]
    if port is None:
        port = int(app.config["PORT"])
    elif "PUBLIC_PORT" not in os.environ and app.config["SAAS_ENV"] != "production":
        # One setting: the links this server and its worker write name its own port.
        app.config["PUBLIC_PORT"] = str(port)
    _ensure_platform_schema()
    env = dict(
        os.environ,
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        REDIS_URL=app.config["REDIS_URL"],
        INSTANCE_PATH=app.config["INSTANCE_PATH"],
        PORT=str(port),
        PUBLIC_PORT=app.config["PUBLIC_PORT"],
    )
    worker_proc = None
    if with_worker:
        worker_proc = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "saas", "worker"], env=env
        )
    domain = app.config["SAAS_DOMAIN"]
    click.echo(
        f"Platform: http://{domain}:{port}  ·  shops: http://<shop>.{domain}:{port}  "
        f"·  console: http://{app.config['OPERATOR_SUBDOMAIN']}.{domain}:{port}"
    )
    try:
        run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)
    except KeyboardInterrupt:
        pass
    finally:
        _stop_in_order(app, worker_proc)
        click.echo("Stopped.")


def _stop_in_order(app: Any, worker_proc: subprocess.Popen[bytes] | None) -> None:
    """What `serve` started, stopped so that nothing is left to fail: this process's
    database and Redis connections first (this command's own session included, which
    would otherwise go back to its pool after the server is gone, a traceback each),
    then the worker, then the embedded servers, last."""
    # A second Ctrl-C while stopping must not cut the order short.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with contextlib.suppress(Exception):
        db.session.remove()
    with contextlib.suppress(Exception):
        db.engine.dispose()
    with contextlib.suppress(Exception):
        redis_client().connection_pool.disconnect()
    if worker_proc is not None:
        worker_proc.terminate()
        try:
            worker_proc.wait(15)
        except subprocess.TimeoutExpired:
            worker_proc.kill()
            worker_proc.wait()
    embedded.stop()
