"""Child processes the tests start (servers): stopped politely, then for good."""

from __future__ import annotations

import subprocess


def stop(process: subprocess.Popen, grace_seconds: float) -> None:
    """SIGTERM, then SIGKILL if the process has not ended within ``grace_seconds``; reaped either way."""
    process.terminate()
    try:
        process.wait(timeout=grace_seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
