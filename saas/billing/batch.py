"""Work over many shops' subscriptions, one transaction each (the sweep, reconciliation)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from saas.db import db

log = logging.getLogger(__name__)


def each_subscription(
    ids: Sequence[int],
    work: Callable[[int], None],
    *,
    failed: list[str],
    progress: Callable[[int, int], Any] | None,
    what: str,
) -> None:
    """Run `work(id)` and commit, for each subscription id in turn. One that fails is
    rolled back, logged and listed in `failed`; the rest go on."""
    for done, subscription_id in enumerate(ids, 1):
        try:
            work(subscription_id)
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("%s failed for subscription %s", what, subscription_id)
            failed.append(str(subscription_id))
        if progress:
            progress(done, len(ids))
