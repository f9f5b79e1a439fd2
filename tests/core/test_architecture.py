"""The layers hold: import-linter's contracts (pyproject.toml) pass, and no module grows
past what a reader can hold."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from saas.config import PROJECT_ROOT

pytestmark = pytest.mark.smoke


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
