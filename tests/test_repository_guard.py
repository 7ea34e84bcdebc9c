"""The suite's own guard (conftest.pytest_sessionfinish): what it may blame on the tests, and the slow folders."""

from pathlib import Path

from tests.conftest import SLOW_FOLDERS, in_slow_folder
from tests.support.guard import WRITABLE_FOLDERS, blamed, in_virtualenv
from tests.support.paths import ROOT, TESTS


def _touch(root: Path, name: str) -> str:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x", encoding="utf-8")
    return name


def test_files_under_the_tracked_folders_or_at_the_root_are_blamed(tmp_path):
    appeared = [
        _touch(tmp_path, name)
        for name in (
            "src/semsearch/new.py",
            "tests/data/out.json",
            "indexes/seeds/manifest.json",
            "notes.txt",
        )
    ]
    assert blamed(appeared, tmp_path) == sorted(appeared)


def test_files_another_process_makes_are_not_blamed(tmp_path):
    # A virtualenv made beside the sources while the suite ran, one inside a tracked folder, a cache.
    _touch(tmp_path, "venv2/pyvenv.cfg")
    _touch(tmp_path, "tests/.venv-light/pyvenv.cfg")
    appeared = [
        _touch(tmp_path, name)
        for name in (
            "venv2/lib/python3.11/site-packages/numpy/__init__.py",
            "tests/.venv-light/lib/python3.11/site-packages/six.py",
            ".tox/py311/log.txt",
            "build/lib/semsearch/__init__.py",
        )
    ]
    assert blamed(appeared, tmp_path) == []
    assert in_virtualenv(tmp_path, "tests/.venv-light/lib/python3.11/site-packages/six.py")
    assert not in_virtualenv(tmp_path, "tests/data/out.json")


def test_the_writable_folders_are_the_repositorys_own():
    assert set(WRITABLE_FOLDERS) <= {p.name for p in ROOT.iterdir() if p.is_dir()}


def test_the_slow_folders_exist_and_only_their_tests_are_marked_slow():
    for folder in SLOW_FOLDERS:
        assert (TESTS / folder / "__init__.py").is_file(), folder
    assert in_slow_folder(TESTS / "cli" / "test_commands.py")
    assert in_slow_folder(TESTS / "storage" / "milvus" / "test_store.py")
    assert not in_slow_folder(TESTS / "storage" / "test_milvus_schema.py")
    assert not in_slow_folder(TESTS / "encoders" / "test_loading.py")
    assert not in_slow_folder(TESTS / "test_benchmarks.py")
