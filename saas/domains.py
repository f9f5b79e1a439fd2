"""Custom domains: a merchant's own host name serving their shop.

Attaching one is limited by the shop's plan (the `custom_domain` feature and the number
of domains, see saas.billing.limits). Today the operator attaches them from the CLI
(`flask tenants add-domain`); any page that adds one goes through `add_domain` too.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select
from werkzeug.exceptions import BadRequest

from saas.billing import limits
from saas.billing.limits import Limit, LimitProblem
from saas.db import db
from saas.models import Domain, Feature, Tenant
from saas.tenancy.sites import normalise_host


class DomainError(ValueError):
    """A host that cannot be attached; the message says why, for people.

    `problem` is set when the shop's plan is what stands in the way (no custom domains,
    or no more of them): a page shows it with its link to the billing page.
    """

    def __init__(self, message: str, problem: LimitProblem | None = None) -> None:
        super().__init__(message)
        self.problem = problem


def add_domain(tenant: Tenant, host: str) -> Domain:
    """Attach `host` to `tenant`'s shop. Flushes; the caller commits.

    Raises:
        DomainError: malformed, part of the platform's own domain, or taken; or the
            shop's plan does not include custom domains or has no room for another.
    """
    try:
        host, port = normalise_host(host)
    except BadRequest as exc:
        raise DomainError("That is not a valid host name.") from exc
    if port:
        raise DomainError("Leave out the port: custom domains are served on 80/443.")
    if "." not in host:
        raise DomainError("Use a full host name such as shop.example.com.")
    platform = current_app.config["SAAS_DOMAIN"]
    if host == platform or host.endswith(f".{platform}"):
        raise DomainError(f"Hosts under {platform} belong to the platform.")
    if db.session.scalar(select(Domain.id).where(Domain.host == host)) is not None:
        raise DomainError(f"{host} is already attached to a shop.")
    # Locks the shop's subscription row until the transaction ends: two domains added
    # at once cannot both take the last place.
    problem = limits.feature_problem(tenant.id, Feature.CUSTOM_DOMAIN) or limits.limit_problem(
        tenant.id, Limit.DOMAINS, lock=True
    )
    if problem is not None:
        raise DomainError(str(problem), problem)
    domain = Domain(host=host, tenant_id=tenant.id)
    db.session.add(domain)
    db.session.flush()
    return domain


def remove_domain(host: str) -> None:
    """Detach a custom domain. Flushes; the caller commits."""
    domain = db.session.scalar(select(Domain).where(Domain.host == host.strip().lower()))
    if domain is None:
        raise DomainError(f"{host} is not attached to any shop.")
    db.session.delete(domain)
    db.session.flush()
