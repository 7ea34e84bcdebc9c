"""Running the ``semsearch`` command as a user does: a child process, output decoded as UTF-8."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.paths import ROOT


def run(
    *args: str | bytes,
    stdin: str | bytes | None = None,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess:
    """Run ``semsearch ARGS`` in a child process as a user would; stdout/stderr decoded as UTF-8."""
    full_env = {**os.environ, "PYTHONIOENCODING": "utf-8", "COLUMNS": "100", **(env or {})}
    result = subprocess.run(
        [sys.executable, "-m", "semsearch", *args],
        input=stdin.encode("utf-8") if isinstance(stdin, str) else stdin,
        capture_output=True,
        env=full_env,
        cwd=cwd or ROOT,
        timeout=timeout,
    )
    result.stdout = result.stdout.decode("utf-8", "backslashreplace")
    result.stderr = result.stderr.decode("utf-8", "backslashreplace")
    return result


def assert_one_line_error(result: subprocess.CompletedProcess, status: int) -> str:
    """The child failed with ``status`` and one ``semsearch: error:`` line, no traceback; returns it."""
    assert result.returncode == status, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("semsearch: error:")]
    assert len(lines) == 1, result.stderr
    return lines[0]
