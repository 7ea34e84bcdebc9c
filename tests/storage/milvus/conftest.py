"""Every test of this folder talks to milvus-lite: without the milvus extra (pymilvus), each is skipped."""

import pytest


@pytest.fixture(autouse=True)
def _needs_pymilvus() -> None:
    pytest.importorskip("pymilvus")
