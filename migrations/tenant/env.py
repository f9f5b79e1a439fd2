"""Alembic environment applied to one tenant schema at a time.

Revisions here name no schema: the tables land in the tenant schema because
`search_path` is set for this transaction only (SET LOCAL ends with the transaction,
so the pooled connection goes back clean). Run through `flask tenants migrate`.
"""

from alembic import context
from sqlalchemy import text

import tenants.tables  # noqa: F401  (registers the tenant tables)
from saas.db import TenantModel, checked_schema

connection = context.config.attributes.get("connection")
schema = context.config.attributes.get("schema")
if connection is None or schema is None:
    raise SystemExit("Run tenant migrations through `flask tenants migrate`.")
schema = checked_schema(schema)

connection.execute(text(f'SET LOCAL search_path TO "{schema}", public'))
context.configure(
    connection=connection,
    target_metadata=TenantModel.metadata,
    version_table_schema=schema,
)
with context.begin_transaction():
    context.run_migrations()
