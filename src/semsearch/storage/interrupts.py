"""Ctrl-C during a change: the change is applied or published whole, then the interrupt is raised.

A directory index keeps a change in the process until its commit swaps the manifest, so an interrupt
anywhere leaves the old index; but an index in Milvus is written as a change is applied (delete,
then insert), and an interrupt between the two would leave half of it. :func:`deferred_interrupts`
holds SIGINT back for the moment a change is written (milliseconds to seconds) and raises
KeyboardInterrupt as soon as it is done.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def deferred_interrupts() -> Iterator[None]:
    """Run the block with SIGINT held back; a Ctrl-C meanwhile raises KeyboardInterrupt when it ends.

    Only the main thread receives signals in Python, so elsewhere (or where a handler cannot be set)
    the block simply runs.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []

    def hold(signum: int, frame: Any) -> None:
        caught.append(signum)

    try:
        previous = signal.signal(signal.SIGINT, hold)
    except (ValueError, OSError):  # not the main interpreter, or signals unavailable
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt
