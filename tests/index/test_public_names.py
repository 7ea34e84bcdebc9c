"""The top-level API: every public name resolves, lazily, and nothing else is offered."""

import subprocess
import sys

import pytest

import semsearch


@pytest.mark.parametrize("name", semsearch.__all__)
def test_every_public_name_resolves(name):
    assert getattr(semsearch, name) is not None


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'Chunk'"):
        semsearch.Chunk  # noqa: B018 - a record type lives in semsearch.records


def test_importing_semsearch_imports_only_its_defaults():
    code = "import sys, semsearch; print(sorted(m for m in sys.modules if m.startswith('semsearch.')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['semsearch.defaults']"  # the version lives there: no numpy, no model
