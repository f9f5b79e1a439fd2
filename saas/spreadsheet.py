"""CSV that spreadsheets open safely: what every export of the shop's data writes.

A cell that starts with `=`, `+`, `-` or `@` (or a tab or carriage return, which some
spreadsheets skip before looking) is read by Excel, LibreOffice and Google Sheets as a
formula, so a shopper's name like `=HYPERLINK("http://evil", "Click")` would run on the
merchant's computer ("CSV injection"). `safe_cell` gives such a cell a leading
apostrophe, which spreadsheets show as text; plain numbers such as "-12.50" are kept.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")


def safe_cell(value: str) -> str:
    """A cell a spreadsheet will not run as a formula."""
    if value.startswith(FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_line(cells: Iterable[str]) -> str:
    """One CSV row (with its line ending), every cell made safe."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow([safe_cell(cell) for cell in cells])
    return buffer.getvalue()
