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

import re
from contextvars import ContextVar
from functools import lru_cache
from typing import Any, ClassVar

from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import MetaData
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

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
