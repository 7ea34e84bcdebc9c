"""A Milvus index through the command line: built, changed and queried like a directory."""

import json

from tests.support.cli import run


def test_cli_builds_changes_and_queries_a_milvus_index_like_a_local_one(tmp_path, seeds_index, seeds_dir):
    target = "milvus-lite:indexes/news.db#seeds"  # relative: inside the working directory
    built = run("build", str(seeds_dir), "-o", target, "--no-progress", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    assert f"built {target}: 5 docs, {len(seeds_index)} chunks" in built.stdout
    for query in ("网格化管理如何推动基层治理", "乡村振兴", "網格員"):
        out = run("query", "-i", target, "-k", "5", "--json", query, cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        hits = json.loads(out.stdout)
        assert [h["chunk_id"] for h in hits] == [h.chunk_id for h in seeds_index.search(query, k=5)]
    info = run("info", "-i", target, "--json", cwd=tmp_path)
    assert json.loads(info.stdout)["counts"]["chunks"] == len(seeds_index)
    removed = run("remove", "-i", target, "002_04edc0192fabf55a", cwd=tmp_path)
    assert removed.returncode == 0, removed.stderr
    docs = run("docs", "-i", target, "--json", cwd=tmp_path)
    assert "002_04edc0192fabf55a" not in docs.stdout and "000_d06f920685a293a0" in docs.stdout
    # Nothing but the database was written (milvus-lite keeps it in a folder): no lock file anywhere.
    written = [p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file()]
    assert written and all(p.parts[:2] == ("indexes", "news.db") for p in written)
