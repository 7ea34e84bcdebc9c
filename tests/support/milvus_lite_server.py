"""A milvus-lite server for tests and benchmarks: 127.0.0.1, a free port, stopped when done.

    python -m tests.support.milvus_lite_server --data-dir DIR --port PORT    (what :func:`running` starts)

milvus-lite's server keeps gRPC's default ping policy (a client may ping at most every 5 minutes
while idle), while pymilvus pings every 10 s even without calls, which such a server may answer with
GOAWAY "too_many_pings". A Milvus server has to accept pymilvus's own defaults, so this starts
milvus-lite's unchanged server permitting pings every 5 s, and nothing else changed.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from tests.support.processes import stop

# Pings every 5 s allowed, with or without calls (pymilvus pings every 10 s).
KEEPALIVE_POLICY = (
    ("grpc.http2.min_ping_interval_without_data_ms", 5000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_ping_strikes", 0),
)
START_SECONDS = 60


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running(data_dir: Path) -> Iterator[str]:
    """Start the server on 127.0.0.1 at a free port with its data and log in ``data_dir``; yield ``host:port``."""
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "server.log"
    with open(log_path, "wb") as log:
        command = [
            sys.executable,
            "-m",
            "tests.support.milvus_lite_server",
            "--data-dir",
            str(data_dir / "db"),
        ]
        process = subprocess.Popen(
            [*command, "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parents[2],  # the repository, where ``tests`` is importable
        )
        try:
            deadline = time.monotonic() + START_SECONDS
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"milvus-lite server exited: {log_path.read_text()[-2000:]}")
                with socket.socket() as sock:
                    if sock.connect_ex(("127.0.0.1", port)) == 0:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"milvus-lite server did not start within {START_SECONDS} s")
                time.sleep(0.2)
            yield f"127.0.0.1:{port}"
        finally:
            stop(process, 20)


def main(argv: list[str] | None = None) -> int:
    """Run ``milvus-lite server`` on 127.0.0.1, permitting pymilvus's keep-alive pings."""
    import grpc
    from milvus_lite import cmdline

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    make_server = grpc.server

    def server(*positional, options=(), **named):  # type: ignore[no-untyped-def]
        return make_server(*positional, options=[*options, *KEEPALIVE_POLICY], **named)

    grpc.server = server  # milvus-lite builds its server with grpc.server(executor, options=[...])
    command = ["server", "--data-dir", args.data_dir, "--host", "127.0.0.1", "--port", str(args.port)]
    return int(cmdline.main(command) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
