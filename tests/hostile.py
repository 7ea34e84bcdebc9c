"""Helpers for tests that attack an index: run the CLI, rewrite a manifest, recompute checksums.

The checksums are recomputed here (not with semsearch's own helpers) so a damaged index can be made
to pass its checksum and reach the parsers behind it, as an attacker who ships an index would.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import ROOT


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


def manifest(path: Path) -> dict[str, Any]:
    return json.loads((path / "manifest.json").read_text(encoding="utf-8"))


def edit_manifest(path: Path, change: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    """Apply ``change`` to the manifest of the index at ``path`` (in place) and write it back."""
    data = manifest(path)
    change(data)
    (path / "manifest.json").write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    return data


def member_files(file: Path) -> list[Path]:
    return sorted(p for p in file.rglob("*") if p.is_file()) if file.is_dir() else [file]


def checksum(file: Path) -> tuple[int, str]:
    """(bytes, sha256) of a file, or of a directory as the index format hashes one."""
    digest = hashlib.sha256()
    size = 0
    for member in member_files(file):
        if file.is_dir():
            digest.update(member.relative_to(file).as_posix().encode() + b"\0")
        data = member.read_bytes()
        size += len(data)
        digest.update(data)
    return size, digest.hexdigest()


def refresh_checksums(path: Path) -> None:
    """Make every file entry of the manifest match the files as they are now (after damaging them)."""

    def change(data: dict[str, Any]) -> None:
        for entry in data["files"].values():
            target = Path(entry["name"]) if os.path.isabs(entry["name"]) else path / entry["name"]
            if target.exists():
                entry["bytes"], entry["sha256"] = checksum(target)

    edit_manifest(path, change)


def role_path(path: Path, role: str) -> Path:
    return path / manifest(path)["files"][role]["name"]
