"""Every test of this folder talks to milvus-lite: without the milvus extra (pymilvus), each is skipped."""

import pytest


@pytest.fixture(autouse=True)
def _needs_pymilvus() -> None:
    pytest.importorskip("pymilvus")


@pytest.fixture(params=["embedded", "server"])
def milvus_at(request, tmp_path):
    """A function giving a new Milvus location (text) on milvus-lite embedded, or on the milvus-lite server."""
    names = iter(range(10**6))

    def make(name: str = "news") -> str:
        number = next(names)
        if request.param == "embedded":
            return f"milvus-lite:{tmp_path / f'db{number}.db'}#{name}"
        server = request.getfixturevalue("milvus_server")
        return f"milvus://{server}#{name}{abs(hash(request.node.nodeid)) % 10**8}x{number}"

    return make
