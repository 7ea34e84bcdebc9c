"""The Milvus and Ray extras stay optional: a clear error naming them when missing.

(That the default backend imports neither is checked in a child process: tests/cli/test_imports.py.)
"""

import sys

import pytest

from semsearch.errors import InputError
from tests.support.keyword_encoder import KeywordEncoder


def test_a_missing_extra_is_an_error_naming_it(monkeypatch):
    from semsearch.encoders.ray_workers import embed_with_ray
    from semsearch.storage.milvus.schema import pymilvus

    monkeypatch.setitem(sys.modules, "pymilvus", None)
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(InputError, match=r"pip install 'semsearch\[milvus\]'"):
        pymilvus()
    with pytest.raises(InputError, match=r"pip install 'semsearch\[ray\]'"):
        embed_with_ray(KeywordEncoder(), ["apple"], cache=None)
