"""What checking a file finds: problems, which stop the import, and notes, which do not.
Both point at a spreadsheet row (the header is row 1) and column."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tenants.catalog.csv.layout import MAX_TEXT


@dataclass(frozen=True)
class Problem:
    """One finding about the file, at a spreadsheet row and column."""

    row: int | None
    column: str | None
    message: str
    # A plan limit: what upgrading would let the merchant do (the page links to billing).
    upgrade: str = ""

    def __str__(self) -> str:
        return describe(self.as_dict())

    def as_dict(self) -> dict[str, Any]:
        found = {"row": self.row, "column": self.column, "message": self.message}
        return found | {"upgrade": self.upgrade} if self.upgrade else found


def describe(problem: dict[str, Any]) -> str:
    """'Row 7, Variant Price: “-3” is not a valid price (must be 0 or more).'"""
    where = ", ".join(
        part
        for part in (
            f"Row {problem['row']}" if problem.get("row") else "",
            problem.get("column") or "",
        )
        if part
    )
    return f"{where}: {problem['message']}" if where else problem["message"]


def quote(value: str, limit: int = 40) -> str:
    """A value as it appears in a message: quoted, and cut short if long."""
    value = " ".join(value.split())
    return f"“{value[:limit]}…”" if len(value) > limit else f"“{value}”"


@dataclass
class Findings:
    """Where the steps that check one file put what they find."""

    problems: list[Problem] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)

    def error(self, row: int | None, column: str | None, message: str) -> None:
        self.problems.append(Problem(row, column, message))

    def note(self, row: int | None, column: str | None, message: str) -> None:
        self.notes.append(Problem(row, column, message))

    def too_long(self, row: int, column: str, value: str, limit: int) -> bool:
        """Whether `value` is over `limit` characters (a problem, then)."""
        if len(value) <= limit:
            return False
        self.error(row, column, f"is too long: {len(value):,} characters, at most {limit:,}.")
        return True

    def limited(self, row: int, column: str, value: str) -> str:
        """`value`, with a problem if it is longer than the column allows."""
        self.too_long(row, column, value, MAX_TEXT[column])
        return value
