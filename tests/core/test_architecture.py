"""The layers hold: import-linter's contracts (pyproject.toml) pass, and no module grows
past what a reader can hold."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from saas.config import PROJECT_ROOT

pytestmark = pytest.mark.smoke

LARGEST_MODULE = 600  # lines: past this, a module is doing more than one thing


def test_import_contracts_hold():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" in result.stdout and "0 broken" in result.stdout


def test_no_application_module_is_too_long():
    too_long = {
        str(path.relative_to(PROJECT_ROOT)): lines
        for package in ("saas", "tenants")
        for path in (PROJECT_ROOT / package).rglob("*.py")
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > LARGEST_MODULE
    }
    assert too_long == {}
