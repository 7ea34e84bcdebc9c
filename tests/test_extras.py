"""The Milvus and Ray extras stay optional: not imported by default, and a clear error naming them when missing."""

import subprocess
import sys

import pytest

from semsearch.errors import InputError


@pytest.mark.slow
def test_the_default_backend_imports_neither_milvus_nor_ray(seeds_dir):
    code = (
        "import sys, semsearch, semsearch.cli;"
        f"i = semsearch.Index.build([{str(seeds_dir)!r}], max_tokens=128);"
        "i.search('乡村振兴', k=1, mode='lexical');"
        "print([m for m in sys.modules if m.split('.')[0] in ('pymilvus', 'milvus_lite', 'ray')])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_a_missing_extra_is_an_error_naming_it(monkeypatch):
    from semsearch.encoders.ray_workers import _ray
    from semsearch.storage.milvus.schema import pymilvus

    monkeypatch.setitem(sys.modules, "pymilvus", None)
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(InputError, match=r"pip install 'semsearch\[milvus\]'"):
        pymilvus()
    with pytest.raises(InputError, match=r"pip install 'semsearch\[ray\]'"):
        _ray()
