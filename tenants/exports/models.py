"""An export's run: what was asked for, its progress, and the file it made."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from saas.db import TenantModel


class ExportStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    EXPIRED = "expired"  # done, and its file since removed


class ExportRun(TenantModel):
    """One export of a list (`kind`: "orders", "customers") with the list's filters.

    `content` is the CSV text once done; it is loaded only for the download.
    """

    __tablename__ = "export_runs"
    storefront_visible = False  # staff only: never on a shop page

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default=ExportStatus.QUEUED)
    filters: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    total: Mapped[int] = mapped_column(Integer, default=0)  # rows to write
    processed: Mapped[int] = mapped_column(Integer, default=0)
    filename: Mapped[str] = mapped_column(String(255), default="")
    content: Mapped[str] = mapped_column(Text, default="", deferred=True)
    failure: Mapped[str] = mapped_column(Text, default="")
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
