"""Factories shared by several test files (fixtures that need no pytest machinery)."""

from __future__ import annotations

import uuid
from typing import Any

from saas.db import db
from saas.models import Plan, Tenant
from saas.plans import start_trial


def make_plan(app: Any, max_products: int | None, **fields: Any) -> int:
    """A committed plan with a unique code; its id."""
    with app.app_context():
        plan = Plan(
            code=f"test-{uuid.uuid4().hex[:8]}",
            name="Tiny",
            price_cents=100,
            trial_days=14,
            max_products=max_products,
            max_staff=3,
            max_domains=1,
        )
        for name, value in fields.items():
            setattr(plan, name, value)
        db.session.add(plan)
        db.session.commit()
        return plan.id


def subscribe(app: Any, tenant: Any, plan_id: int) -> None:
    """Put the shop on a trial of that plan."""
    with app.app_context():
        start_trial(db.session.get(Tenant, tenant.id), db.session.get(Plan, plan_id))
        db.session.commit()
