"""Reading the upload: the checks a wrong file fails, then its rows keyed by Shopify's
column names (see `layout`), with the rows that cannot be read as problems."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import IO

from saas import uploads
from saas.spreadsheet import FORMULA_START
from tenants.catalog import products as catalog
from tenants.catalog.csv.findings import Problem, quote
from tenants.catalog.csv.layout import CATEGORY, HEADER

_KNOWN = {name.lower(): name for name in (*HEADER, CATEGORY)}
_KNOWN.update({"body html": "Body (HTML)", "product type": "Type"})
_EXTRA_OPTION = re.compile(r"option ?([0-9]+) (name|value)")


class CsvFileError(ValueError):
    """The upload is not a product CSV we can read; the message is for the merchant."""


def read_upload(stream: IO[bytes] | None) -> str:
    """The uploaded file's text, after the checks a wrong file fails.

    Raises:
        CsvFileError: too large, empty, not UTF-8 text, or no Handle/Title column.
    """
    text = read_text(stream, "product CSV")
    _check_header(_header_cells(text))
    return text


def read_text(stream: IO[bytes] | None, what: str) -> str:
    """An uploaded CSV file's text (`what` names the file in messages: "review CSV"),
    after the checks any CSV upload fails: too large, empty, a workbook, not UTF-8."""
    if stream is None:
        raise CsvFileError("Choose a CSV file to upload.")
    limit = uploads.upload_limit()
    size = uploads.stream_size(stream)
    data = stream.read(limit + 1) if size <= limit else b""
    if size > limit or len(data) > limit:
        raise CsvFileError(
            f"{uploads.too_large(max(size, len(data)), limit)} Split it into smaller files."
        )
    if not data:
        raise CsvFileError(f"The file is empty. Choose a {what} file.")
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise CsvFileError(
            "This is a spreadsheet workbook, not a CSV file. In your spreadsheet, save or "
            "download it as “CSV UTF-8”."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise CsvFileError(
            f"The file is not UTF-8 text (an unreadable byte at position {error.start + 1}). "
            "Save it as “CSV UTF-8” and upload it again."
        ) from None
    if "\x00" in text:
        raise CsvFileError("The file holds binary data, not CSV text. Save it as “CSV UTF-8”.")
    return text


def _header_cells(text: str) -> list[str]:
    try:
        return next(csv.reader(io.StringIO(text, newline="")), [])
    except csv.Error as error:
        raise CsvFileError(f"The first row cannot be read as CSV ({error}).") from None


def _canonical(cell: str) -> str | None:
    return _KNOWN.get(" ".join(cell.split()).lower())


def _check_header(cells: list[str]) -> None:
    names = [_canonical(cell) for cell in cells]
    if "Handle" not in names and "Title" not in names:
        shown = ", ".join(quote(c, 30) for c in cells[:8] if c.strip()) or "nothing"
        raise CsvFileError(
            "The first row must name the columns, and one of them must be Handle or Title "
            f"(as in Shopify's product CSV). This file's first row has {shown}."
        )
    seen: dict[str, int] = {}
    for index, name in enumerate(names):
        if name is None:
            continue
        if name in seen:
            raise CsvFileError(
                f"The column “{name}” appears twice (columns {column_letter(seen[name])} and "
                f"{column_letter(index)}). Keep one of them."
            )
        seen[name] = index


def column_letter(index: int) -> str:
    """A spreadsheet's name for the column at `index` (0 -> A, 26 -> AA)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _unguard(cell: str) -> str:
    # Undo the export's formula guard (see `layout`).
    if len(cell) > 1 and cell[0] == "'" and cell[1] in FORMULA_START:
        return cell[1:]
    return cell


@dataclass
class Row:
    number: int  # as a spreadsheet numbers it: the header is row 1
    cells: dict[str, str]
    extra_options: dict[str, str] = field(default_factory=dict)  # Option4 Name etc.

    def get(self, column: str) -> str:
        return self.cells.get(column, "")


@dataclass
class ParsedFile:
    columns: set[str]
    ignored: list[str]
    rows: list[Row]
    problems: list[Problem]


def parse(text: str) -> ParsedFile:
    """Rows of the file keyed by Shopify's column names; unreadable rows as problems."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header = next(reader, [])
    names = [_canonical(cell) for cell in header]
    extra = {i: " ".join(c.split()) for i, c in enumerate(header) if _is_extra_option(c)}
    ignored = [c.strip() for i, c in enumerate(header) if names[i] is None and i not in extra]
    parsed = ParsedFile({n for n in names if n}, [c for c in ignored if c], [], [])
    number = 1
    while True:
        number += 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            parsed.problems.append(Problem(number, None, _csv_error(error)))
            break
        row = _row(number, cells, names, extra, parsed)
        if row is not None:
            parsed.rows.append(row)
    return parsed


def _is_extra_option(cell: str) -> bool:
    match = _EXTRA_OPTION.fullmatch(" ".join(cell.split()).lower())
    return bool(match and int(match.group(1)) > catalog.MAX_OPTIONS)


def _csv_error(error: csv.Error) -> str:
    if "field larger than field limit" in str(error):
        return (
            f"a cell is longer than {csv.field_size_limit():,} characters (the longest "
            f"allowed, a description, has {catalog.MAX_DESCRIPTION:,}); nothing after it was read."
        )
    return f"this row is not valid CSV ({error}); check its quotes. Nothing after it was read."


def _row(
    number: int,
    cells: list[str],
    names: list[str | None],
    extra: dict[int, str],
    parsed: ParsedFile,
) -> Row | None:
    if not any(cell.strip() for cell in cells):
        return None  # blank lines are common at the end of a spreadsheet
    if len(cells) > len(names) and any(c.strip() for c in cells[len(names) :]):
        parsed.problems.append(
            Problem(
                number,
                None,
                f"this row has {len(cells)} cells but the first row names {len(names)} "
                "columns. Check it for a stray comma or quote.",
            )
        )
        return None
    row = Row(number, {})
    for index, name in enumerate(names):
        value = _unguard(cells[index]).strip() if index < len(cells) else ""
        if name is not None:
            row.cells[name] = value
        elif index in extra and value:
            row.extra_options[extra[index]] = value
    return row
