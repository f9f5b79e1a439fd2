"""Alembic environment for the platform tables in `public`.

Run through `flask db upgrade` (saas.tenancy.migrations), which hands over a connection.
"""

from alembic import context

import saas.models  # noqa: F401  (registers the platform tables)
from saas.db import PlatformModel

connection = context.config.attributes.get("connection")
if connection is None:
    raise SystemExit("Run platform migrations through `flask db upgrade`.")

context.configure(connection=connection, target_metadata=PlatformModel.metadata)
with context.begin_transaction():
    context.run_migrations()
