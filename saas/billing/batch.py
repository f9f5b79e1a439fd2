"""Work over many shops' subscriptions, one transaction each (the sweep, reconciliation)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from saas.db import unit_of_work

log = logging.getLogger(__name__)


def each_subscription(
    ids: Sequence[int],
    work: Callable[[int], None],
    *,
    failed: list[str],
    progress: Callable[[int, int], Any] | None,
    what: str,
) -> None:
    """Run `work(id)` for each subscription id in turn, each its own unit of work (the
    batch is the edge here, as a CLI loop over shops is). One that fails is rolled
    back, logged and listed in `failed`; the rest go on."""
    for done, subscription_id in enumerate(ids, 1):
        try:
            with unit_of_work():
                work(subscription_id)
        except Exception:
            log.exception("%s failed for subscription %s", what, subscription_id)
            failed.append(str(subscription_id))
        if progress:
            progress(done, len(ids))
