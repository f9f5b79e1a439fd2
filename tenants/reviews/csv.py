"""Reviews in and out as CSV, so a merchant can move reviews from another platform.

Columns (any case, any order): Title, Body, Rating, Author, Date, Product Handle,
Verified. An import is the product import's steps (`tenants.catalog.csv.runs`): the
upload is checked row by row without changing anything (`preview`, the dry run, kept as
a `ReviewImport`); only a file without problems can then be confirmed (`confirm`, which
queues it), and the job (`run_import`) checks the file again against the catalog as it
is then and adds every review, published, each product's rating summary with them, its
progress shown on the run's page. The export writes the same columns (plus Status), safe
to open in a spreadsheet, so it imports back.
"""

from __future__ import annotations

import csv as csvlib
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from functools import partial
from typing import IO, Any

from sqlalchemy import select

from saas.db import db
from saas.job_progress import Progress
from saas.spreadsheet import FORMULA_START, csv_line
from saas.tenancy import TenantRecord, tenant_context
from tenants.catalog.csv.findings import Problem, describe, quote
from tenants.catalog.csv.read import CsvFileError, read_text
from tenants.catalog.csv.runs import (
    ImportFailed,
    ImportRefused,
    Outcome,
    confirm,
    import_job,
    not_started,
    stored,
)
from tenants.catalog.models import IMPORT_IN_PROGRESS, Product
from tenants.reviews import services
from tenants.reviews.models import Review, ReviewImport, ReviewStatus

COLUMNS = ("Title", "Body", "Rating", "Author", "Date", "Product Handle", "Verified")
REQUIRED = ("Body", "Rating", "Author", "Product Handle")
EXPORT_COLUMNS = (*COLUMNS, "Status")
_KNOWN = {name.lower(): name for name in EXPORT_COLUMNS}
_KNOWN.update({"handle": "Product Handle", "product_handle": "Product Handle", "name": "Author"})
MAX_ROWS = 5000
YES = {"yes", "true", "1", "y"}
NO = {"no", "false", "0", "n", ""}
EXPORT_BATCH = 1000
IMPORT_BATCH = 500  # reviews added per flush, and the progress shown after each
IMPORT_TIMEOUT = 10 * 60  # 5,000 reviews take a few seconds: this is for a stuck database
IN_PROGRESS = IMPORT_IN_PROGRESS  # while these last, the run's page refreshes itself

# The import's steps are the product import's (`tenants.catalog.csv.runs`).
__all__ = ["CsvFileError", "ImportRefused", "confirm", "describe"]


@dataclass
class Planned:
    rows: int = 0
    reviews: list[dict[str, Any]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def read_upload(stream: IO[bytes] | None) -> str:
    """The file's text once it is a readable CSV naming the columns an import needs."""
    text = read_text(stream, "review CSV")
    header = next(csvlib.reader(io.StringIO(text, newline="")), [])
    names = {_KNOWN.get(" ".join(c.split()).lower()) for c in header}
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise CsvFileError(
            "The first row must name the columns: "
            f"{', '.join(COLUMNS)}. This file has no {', '.join(missing)} column."
        )
    return text


def _unguard(cell: str) -> str:
    # Undo the export's formula guard (`saas.spreadsheet.safe_cell`).
    if len(cell) > 1 and cell[0] == "'" and cell[1] in FORMULA_START:
        return cell[1:]
    return cell


def _date(text: str) -> datetime | None:
    for parse in (
        datetime.fromisoformat,
        lambda t: datetime.combine(date.fromisoformat(t), time()),
    ):
        try:
            moment = parse(text)
        except ValueError:
            continue
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return None


def plan(text: str) -> Planned:
    """Every row checked against the shop's products; nothing is changed."""
    out = Planned()
    reader = csvlib.reader(io.StringIO(text, newline=""))
    header = next(reader, [])
    names = [_KNOWN.get(" ".join(c.split()).lower()) for c in header]
    handles = set(db.session.scalars(select(Product.handle)))
    number = 1
    try:
        for cells in reader:
            number += 1
            if not any(c.strip() for c in cells):
                continue
            out.rows += 1
            if out.rows > MAX_ROWS:
                out.problems.append(
                    Problem(number, None, f"a file may hold at most {MAX_ROWS:,} reviews.")
                )
                break
            row = {
                name: _unguard(cells[i]).strip() if i < len(cells) else ""
                for i, name in enumerate(names)
                if name is not None
            }
            review = _row(number, row, handles, out.problems)
            if review is not None:
                out.reviews.append(review)
    except csvlib.Error as error:
        out.problems.append(Problem(number, None, f"this row is not valid CSV ({error})."))
    if not out.rows and not out.problems:
        out.problems.append(Problem(None, None, "The file has no reviews below its first row."))
    return out


def _row(
    number: int, row: Mapping[str, str], handles: set[str], problems: list[Problem]
) -> dict[str, Any] | None:
    found = len(problems)

    def error(column: str, message: str) -> None:
        problems.append(Problem(number, column, message))

    handle = row.get("Product Handle", "").lower()
    if not handle:
        error("Product Handle", "is empty: name the product the review is of.")
    elif handle not in handles:
        error("Product Handle", f"{quote(handle)} is not a product of this shop.")
    rating = row.get("Rating", "")
    if rating not in {"1", "2", "3", "4", "5"}:
        error("Rating", f"{quote(rating)} is not a rating from 1 to 5.")
    entry = {
        "title": services.plain(row.get("Title"), services.MAX_TITLE),
        "body": services.plain(row.get("Body"), services.MAX_BODY),
        "author_name": services.plain(row.get("Author"), services.MAX_NAME),
    }
    for column, key, limit in (
        ("Title", "title", services.MAX_TITLE),
        ("Body", "body", services.MAX_BODY),
        ("Author", "author_name", services.MAX_NAME),
    ):
        if len(entry[key]) > limit:
            error(column, f"is too long: at most {limit:,} characters.")
    if not entry["body"]:
        error("Body", "is empty.")
    if not entry["author_name"]:
        error("Author", "is empty: the name shown with the review.")
    when = None
    if row.get("Date"):
        when = _date(row["Date"])
        if when is None:
            error("Date", f"{quote(row['Date'])} is not a date like 2024-05-31.")
    verified = row.get("Verified", "").lower()
    if verified not in YES | NO:
        error("Verified", f"{quote(verified)} is not yes or no.")
    if len(problems) > found:
        return None
    return {
        **entry,
        "handle": handle,
        "rating": int(rating),
        "date": when.isoformat() if when else None,
        "verified": verified in YES,
    }


def preview(text: str, filename: str, *, staff_id: int | None) -> ReviewImport:
    """The dry run, kept for the merchant to read. Flushes."""
    planned = plan(text)
    run = ReviewImport(
        filename=filename[:255],
        csv_text="" if planned.problems else text,
        summary={
            "rows": planned.rows,
            "reviews": len(planned.reviews),
            "products": len({r["handle"] for r in planned.reviews}),
        },
        problems=stored(planned.problems),
        total=len(planned.reviews),
        staff_id=staff_id,
    )
    db.session.add(run)
    db.session.flush()
    return run


fail_to_start = partial(not_started, ReviewImport, action="review.import")


def run_import(run_id: int) -> str | None:
    """Job: add a confirmed run's reviews. Safe to run twice: only a queued run is
    claimed (`saas.job_progress.claim`). Returns the run's final status.

    One transaction for the whole run, the job's unit of work (`saas.jobs.run_job`),
    rather than a commit per batch: a file is one decision of the merchant's, so it
    lands whole or not at all. A half-imported file could not simply be uploaded again
    (its first reviews would be there twice), and products' ratings would show part of
    it. The batches are flushes, for the progress; 5,000 short rows hold no lock anyone
    waits on (new rows, and the products' rating columns at the end).
    """
    return import_job(ReviewImport, run_id, _import, action="review.import")


def _import(run: ReviewImport, progress: Progress) -> Outcome:
    # Never write to `run` before the end (see `saas.job_progress`): a lock held here on
    # its row would make the progress updates wait for ever.
    planned = plan(run.csv_text)
    if planned.problems:
        raise ImportFailed(
            "The catalog changed since the dry run (a product was removed or renamed): "
            "correct the rows below and upload the file again.",
            planned.problems,
        )
    ids: dict[str, int] = {
        handle: pid for handle, pid in db.session.execute(select(Product.handle, Product.id))
    }
    progress.total = len(planned.reviews)
    now = datetime.now(UTC)
    for start in range(0, len(planned.reviews), IMPORT_BATCH):
        batch = planned.reviews[start : start + IMPORT_BATCH]
        for item in batch:
            when = datetime.fromisoformat(item["date"]) if item["date"] else now
            db.session.add(
                Review(
                    product_id=ids[item["handle"]],
                    rating=item["rating"],
                    title=item["title"],
                    body=item["body"],
                    author_name=item["author_name"],
                    verified=item["verified"],
                    status=ReviewStatus.PUBLISHED,
                    published_at=when,
                    created_at=when,
                )
            )
        db.session.flush()
        progress.step(start + len(batch))
    products = sorted({ids[r["handle"]] for r in planned.reviews})
    for product_id in products:
        services.refresh_rating(product_id)
    counts = {"reviews": len(planned.reviews), "products": len(products)}
    return Outcome(len(planned.reviews), {**run.summary, **counts}, counts)


def recent_runs(limit: int = 10) -> list[ReviewImport]:
    return list(
        db.session.scalars(select(ReviewImport).order_by(ReviewImport.id.desc()).limit(limit))
    )


def export_csv(filters: Mapping[str, str], *, tenant: TenantRecord) -> Iterator[str]:
    """The reviews the queue's filters find (all its pages), in the import's columns.

    Each chunk is read inside `tenant_context(tenant)`: a streamed response is sent after
    the request has left its shop, which must never stay selected across a `yield`."""
    yield csv_line(EXPORT_COLUMNS)
    base = services.list_query(filters).order_by(None).order_by(Review.id)
    last = 0
    while True:
        with tenant_context(tenant):
            rows = db.session.execute(base.where(Review.id > last).limit(EXPORT_BATCH)).all()
            chunk = "".join(
                csv_line(
                    [
                        review.title,
                        review.body,
                        str(review.rating),
                        review.author_name,
                        (review.published_at or review.created_at).date().isoformat(),
                        product.handle,
                        "yes" if review.verified else "no",
                        review.status,
                    ]
                )
                for review, product in rows
            )
            last = rows[-1][0].id if rows else last
        if not rows:
            return
        yield chunk


def export_filename(slug: str) -> str:
    return f"{slug}-reviews.csv"
