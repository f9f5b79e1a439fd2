"""Database wiring: one engine, one session per context, and the tenant schema switch.

Platform tables live in `public`. Tenant tables are declared on `TenantModel`, whose
metadata names a placeholder schema (`TENANT_SCHEMA`). At execution time SQLAlchemy's
`schema_translate_map` writes the current tenant's real schema into every statement.
The map travels on the *engine* the session picks for each statement (`get_bind`), not
on the database connection, so a pooled connection never carries a tenant past its
transaction and a transaction-mode pooler stays safe. Nothing like `SET search_path`
is ever issued on a pooled connection.

With no tenant selected, any ORM use of a tenant model raises `NoTenantSelected`; raw
SQL against the placeholder schema fails too, because no schema of that name exists.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from typing import Any, ClassVar, TypeVar

from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, SessionTransaction

TENANT_SCHEMA = "tenant"
SCHEMA_NAME = re.compile(r"^t_[1-9][0-9]{0,17}$")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class NoTenantSelected(RuntimeError):
    """A tenant table was used outside a shop request, job or `tenant_context()`."""


class PlatformModel(DeclarativeBase):
    """Base for platform tables in the `public` schema."""

    metadata = MetaData(naming_convention=NAMING)


class TenantModel(DeclarativeBase):
    """Base for tables that every tenant has a copy of in its own schema."""

    metadata = MetaData(schema=TENANT_SCHEMA, naming_convention=NAMING)
    # Whether the shop's public pages show this table's rows: changes to it then drop
    # the shop's cached pages (tenants.shop.cache). Private tables set it to False.
    storefront_visible: ClassVar[bool] = True


M = TypeVar("M", bound=TenantModel)

# The schema of the tenant whose data this context may touch; None outside any tenant.
current_schema: ContextVar[str | None] = ContextVar("current_schema", default=None)


def schema_for(tenant_id: int) -> str:
    """The schema name of a tenant: derived from its id, never from anything typed."""
    return checked_schema(f"t_{int(tenant_id)}")


def checked_schema(name: str) -> str:
    """Refuse any schema name that is not exactly `t_<id>` before it reaches SQL."""
    if not SCHEMA_NAME.match(name):
        raise ValueError(f"not a tenant schema name: {name!r}")
    return name


@lru_cache(maxsize=4096)
def _tenant_engine(engine: Engine, schema: str) -> Engine:
    # Option engines share the parent's pool; only the execution options differ.
    return engine.execution_options(schema_translate_map={TENANT_SCHEMA: schema})


def tenant_bind(engine: Engine, schema: str) -> Engine:
    """The engine whose connections run tenant statements in `schema`."""
    return _tenant_engine(engine, checked_schema(schema))


def _is_tenant_mapper(mapper: Any) -> bool:
    cls = getattr(mapper, "class_", None)
    return isinstance(cls, type) and issubclass(cls, TenantModel)


class TenantSession(FlaskSession):
    """Session that runs every statement against the current tenant's schema."""

    def get_bind(self, mapper: Any = None, clause: Any = None, bind: Any = None, **kw: Any) -> Any:
        engine = super().get_bind(mapper=mapper, clause=clause, bind=bind, **kw)
        schema = current_schema.get()
        if schema is None:
            if _is_tenant_mapper(mapper):
                raise NoTenantSelected(
                    f"{mapper.class_.__name__} belongs to a shop, but no shop is selected: "
                    "use it inside a shop request, a tenant job or tenant_context()."
                )
            return engine
        if not isinstance(engine, Engine):  # an explicit Connection bind: the caller's choice
            return engine
        return tenant_bind(engine, schema)


db = SQLAlchemy(model_class=PlatformModel, session_options={"class_": TenantSession})


def single_row(model: type[M]) -> M:
    """A shop's one-row table (its settings, a programme's rules): row 1, made with the
    model's defaults and flushed when it is missing."""
    row = db.session.get(model, 1)
    if row is None:
        row = model(id=1)
        db.session.add(row)
        db.session.flush()
    return row


# --- the unit of work ---------------------------------------------------------------------
#
# Services only flush. Each request, job and CLI command is one unit of work that commits
# or rolls back once, at its edge: `SaasFlask.full_dispatch_request` for requests,
# `saas.jobs.run_job` for jobs, `saas.cli` for commands. What must happen only once the
# data is really written (queue a job, drop a cache, delete a file, send mail) is handed
# to `after_commit()` and forgotten if the unit rolls back, as Django's
# `transaction.on_commit` does. SQLAlchemy has no such hook of its own: its
# `after_commit` event fires, but keeps no per-transaction list and runs no callback that
# emits SQL, so the list lives in `Session.info` and the callbacks are told to capture
# ids, not ORM objects.

log = logging.getLogger(__name__)

_AFTER_COMMIT = "after_commit_callbacks"
_AFTER_ROLLBACK = "after_rollback_callbacks"
_RUNNING = "after_commit_running"


def after_commit(callback: Callable[[], Any], *, key: Hashable | None = None) -> None:
    """Run `callback` once the current transaction commits; drop it if it rolls back.

    With a `key`, a second callback under the same key in the same transaction is
    ignored (one page-cache bump per shop, however many rows changed). Outside any
    transaction (nothing read or written yet), it runs at once. Callbacks run after the
    data is visible to other connections and must not use this session: capture ids.
    """
    session = db.session()
    if not session.in_transaction() or session.info.get(_RUNNING):
        callback()
        return
    pending: dict[Hashable, Callable[[], Any]] = session.info.setdefault(_AFTER_COMMIT, {})
    pending.setdefault(key if key is not None else object(), callback)


def after_rollback(callback: Callable[[], Any]) -> None:
    """Run `callback` if the current transaction (or the `atomic()` block around this
    call) rolls back: to remove a file written for data that is then not kept."""
    session = db.session()
    if session.in_transaction():
        session.info.setdefault(_AFTER_ROLLBACK, []).append(callback)


def _run(session: Session, callbacks: Any, what: str) -> None:
    if not callbacks:
        return
    session.info[_RUNNING] = True
    try:
        for callback in callbacks:
            try:
                callback()
            except Exception:  # the outcome is settled: one failed follow-up must not
                log.exception("%s callback %r failed", what, callback)  # stop the rest
    finally:
        session.info.pop(_RUNNING, None)


def _run_after_commit(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint released: the unit goes on
        return
    session.info.pop(_AFTER_ROLLBACK, None)
    _run(session, session.info.pop(_AFTER_COMMIT, {}).values(), "after-commit")


def _end_of_rollback(session: Session, previous: SessionTransaction) -> None:
    # A savepoint rolled back by `atomic()` settles its own callbacks; this is the whole
    # transaction going away.
    if not previous.nested and previous.parent is None:
        session.info.pop(_AFTER_COMMIT, None)
        _run(session, session.info.pop(_AFTER_ROLLBACK, []), "after-rollback")


@contextmanager
def atomic() -> Iterator[None]:
    """A savepoint: if the block raises, what it wrote (and registered to run after
    commit) is undone, and the unit of work goes on without it.

    For a view that handles a service's refusal (re-shows a form, flashes a message)
    after the service may already have flushed part of its work.
    """
    session = db.session()
    pending: dict[Hashable, Callable[[], Any]] = session.info.setdefault(_AFTER_COMMIT, {})
    undo: list[Callable[[], Any]] = session.info.setdefault(_AFTER_ROLLBACK, [])
    before, undo_before = list(pending), len(undo)
    try:
        with session.begin_nested():
            yield
    except BaseException:
        for key in [k for k in pending if k not in before]:
            del pending[key]
        _run(session, undo[undo_before:], "after-rollback")
        del undo[undo_before:]
        raise


def commit(*, closing: bool = False) -> None:
    """End the unit of work, keeping its changes. Only edges call this: a request, a
    job, a CLI command (or each shop of a command that loops over shops).

    `closing`: the session ends right after (a request, a `tenant_context` block), so
    loaded objects are not expired: what the response, an after-request hook or the
    caller still reads of them costs no query, as it did before the commit.
    """
    session = db.session()
    expire = session.expire_on_commit
    session.expire_on_commit = expire and not closing
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire


def rollback() -> None:
    """End the unit of work, discarding its changes (and its after-commit callbacks)."""
    db.session.rollback()


@contextmanager
def unit_of_work(*, closing: bool = False) -> Iterator[None]:
    """Commit when the block finishes, roll back when it raises: the edge of a job, a
    CLI command or one shop of a loop over shops (`closing` as for `commit`)."""
    try:
        yield
    except BaseException:
        rollback()
        raise
    commit(closing=closing)


def init_app(app: Any) -> None:
    """The database and the unit-of-work hooks (once per session class)."""
    db.init_app(app)
    session_cls = db.session.session_factory.class_
    if not getattr(session_cls, "_unit_of_work_hooks", False):
        event.listen(session_cls, "after_commit", _run_after_commit)
        event.listen(session_cls, "after_soft_rollback", _end_of_rollback)
        session_cls._unit_of_work_hooks = True  # type: ignore[attr-defined]
