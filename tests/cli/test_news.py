"""The news features through the ``semsearch`` command: readers, skipped files, field names."""

import json

import pytest

from tests.support.cli import run
from tests.support.corpora import NEWS_PAGE


@pytest.fixture(scope="module")
def news_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("news")
    (folder / "page.html").write_text(NEWS_PAGE, encoding="utf-8")
    (folder / "note.md").write_text(
        "# 乡村振兴**示范村**\n\n**本报讯** 示范村建设带动了农民增收，村集体经济年收入突破百万元。\n",
        encoding="utf-8",
    )
    (folder / "table.csv").write_text(
        "编号,标题,正文摘录\nt1,基层治理,网格员走村入户收集群众诉求，推动矛盾纠纷就地化解。\n",
        encoding="utf-8",
    )
    (folder / "scan.pdf").write_bytes(b"%PDF-1.7\n")
    (folder / "a.png").write_bytes(b"\x89PNG")
    (folder / "b.png").write_bytes(b"\x89PNG")
    return folder


def test_build_reads_html_markdown_csv_and_reports_the_rest_in_one_line(news_folder, tmp_path):
    result = run("build", str(news_folder), "-o", str(tmp_path / "idx"), "--no-progress")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert "3 docs" in lines[0] and "3 skipped" in lines[0]
    assert lines[1].startswith("skipped 3: 2 × unsupported file type .png; PDF is not read"), lines[1]
    hits = json.loads(
        run("query", "-i", str(tmp_path / "idx"), "--json", "-k", "3", "嫦娥六号月球样品").stdout
    )
    assert hits[0]["doc_id"] == "page" and hits[0]["title"] == "嫦娥六号月背采样返回"
    assert "<p>" not in hits[0]["text"]
    titles = {h["doc_id"]: h["title"] for h in hits}
    assert titles.get("note", "乡村振兴示范村") == "乡村振兴示范村"
    explain = run("build", str(news_folder), "-o", str(tmp_path / "idx2"), "--no-progress", "--explain")
    assert "skipped " + str(news_folder / "a.png") + ": unsupported file type .png" in explain.stdout


def test_text_field_names_the_jsonl_field(tmp_path):
    feed = tmp_path / "feed.jsonl"
    feed.write_text(
        json.dumps(
            {"key": "k1", "正文内容": "网格员走村入户收集群众诉求，推动矛盾纠纷就地化解。"},
            ensure_ascii=False,
        )
        + "\n",
        encoding="utf-8",
    )
    result = run("build", str(feed), "-o", str(tmp_path / "idx"), "--no-progress")
    assert result.returncode == 2 and "no text field" in result.stderr and "--text-field" in result.stderr
    result = run(
        "build",
        str(feed),
        "-o",
        str(tmp_path / "idx"),
        "--no-progress",
        "--text-field",
        "正文内容",
        "--id-field",
        "key",
    )
    assert result.returncode == 0, result.stderr
    hits = json.loads(run("query", "-i", str(tmp_path / "idx"), "--json", "网格员").stdout)
    assert hits[0]["doc_id"] == "k1"


def test_build_indexes_a_copy_once_unless_asked_to_keep_duplicates(tmp_path):
    text = "网格员走村入户收集群众诉求，推动矛盾纠纷就地化解，基层治理更加精细。"
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.txt").write_text(text, encoding="utf-8")
    (tmp_path / "src" / "b.txt").write_text(text + "\n", encoding="utf-8")
    result = run("build", str(tmp_path / "src"), "-o", str(tmp_path / "idx"), "--no-progress", "--explain")
    assert result.returncode == 0, result.stderr
    assert "1 docs" in result.stdout and "1 duplicates" in result.stdout
    assert "duplicate b: repeats a (similarity 1.00); not indexed" in result.stdout
    kept = run(
        "build", str(tmp_path / "src"), "-o", str(tmp_path / "all"), "--no-progress", "--keep-duplicates"
    )
    assert "2 docs" in kept.stdout and "duplicates" not in kept.stdout


@pytest.fixture(scope="module")
def dated_index(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dated")
    lines = []
    for i in range(12):
        source = "新华社" if i % 2 else "人民日报"
        lines.append(
            {
                "id": f"n{i:02d}",
                "title": f"基层治理第{i}期",
                "text": f"第{i}期：网格员走村入户收集群众诉求，推动矛盾纠纷就地化解，第{i}个社区经验。",
                "pub_date": f"2024-0{i % 6 + 1}-15 08:00",
                "source": source,
                "page": i,
            }
        )
    (folder / "feed.jsonl").write_text(
        "\n".join(json.dumps(x, ensure_ascii=False) for x in lines), encoding="utf-8"
    )
    out = folder / "idx"
    result = run("build", str(folder / "feed.jsonl"), "-o", str(out), "--no-progress")
    assert result.returncode == 0, result.stderr
    return out


def test_query_filters_by_where_since_until_and_where_json(dated_index):
    def hits(*args):
        result = run("query", "-i", str(dated_index), "--json", "-k", "20", *args, "网格员")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    found = hits("--where", "source=新华社")
    assert len(found) == 6 and {h["metadata"]["source"] for h in found} == {"新华社"}
    found = hits("--since", "2024-02-15", "--until", "2024/3/15")  # both ends inclusive
    assert sorted(h["metadata"]["date"] for h in found) == ["2024-02-15"] * 2 + ["2024-03-15"] * 2
    found = hits("--where", "source=人民日报", "--where", "page=4")  # numbers match as numbers too
    assert [h["doc_id"] for h in found] == ["n04"]
    found = hits("--where-json", '{"page": {"$gte": 10}}', "--until", "2024-06-30")
    assert sorted(h["doc_id"] for h in found) == ["n10", "n11"]


def test_terminal_view_shows_short_metadata(dated_index):
    result = run("query", "-i", str(dated_index), "-k", "1", "--where", "doc_id=n03", "网格员")
    assert result.returncode == 0, result.stderr
    assert "date 2024-04-15 · source 新华社 · pub_date 2024-04-15 08:00 · page 3" in result.stdout


def test_terminal_view_hides_the_raw_date(tmp_path):
    # Issue 25: `date_raw` (the date as written) was printed under every hit beside the normalised date.
    feed = tmp_path / "feed.jsonl"
    row = {"id": "d1", "text": "网格员走村入户收集群众诉求，推动矛盾纠纷就地化解。", "date": "2024年3月8日"}
    feed.write_text(json.dumps(row, ensure_ascii=False), encoding="utf-8")
    assert run("build", str(feed), "-o", str(tmp_path / "idx"), "--no-progress").returncode == 0
    shown = run("query", "-i", str(tmp_path / "idx"), "网格员").stdout
    assert "date 2024-03-08" in shown and "date_raw" not in shown


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--where", "source"], "--where takes KEY=VALUE"),
        (["--since", "yesterday"], "--since 'yesterday' is not a date"),
        (["--since", "2024-05-01", "--until", "2024-04-01"], "is after --until"),
        (["--where-json", "{source: 1}"], "--where-json is not valid JSON"),
        (["--where-json", "[1]"], "--where-json must be a JSON object"),
        (["--where-json", '{"page": {"$regex": "1"}}'], "unknown operator '$regex'"),
        # a typo in a key matched nothing, silently, exit 0 (issue 25)
        (
            ["--where", "sorce=新华社"],
            "no document has the key 'sorce'; filter on one of: date, doc_id, origin",
        ),
    ],
)
def test_bad_filters_are_one_line_and_exit_2(dated_index, args, message):
    result = run("query", "-i", str(dated_index), *args, "网格员")
    assert result.returncode == 2
    assert result.stderr.startswith("semsearch: error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_docs_lists_ids_dates_sources_chunks_and_titles(dated_index):
    result = run("docs", "-i", str(dated_index), "--where", "source=新华社", "--since", "2024-04-01")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[-1] == "4 of 12 documents"
    assert [line.split()[0] for line in lines[:-1]] == ["n03", "n05", "n09", "n11"]
    assert lines[0].split()[1:5] == ["2024-04-15", "1", "新华社", "基层治理第3期"]
    as_json = [json.loads(line) for line in run("docs", "-i", str(dated_index), "--json").stdout.splitlines()]
    assert len(as_json) == 12 and as_json[0]["doc_id"] == "n00" and as_json[0]["chunks"] == 1
    assert as_json[0]["metadata"]["page"] == 0


def test_export_jsonl_and_parquet_with_vectors(dated_index, tmp_path):
    result = run("export", "-i", str(dated_index))
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 12 and rows[0]["doc_id"] == "n00" and rows[0]["metadata"]["source"] == "人民日报"
    assert {"chunk_id", "text", "title", "paragraph", "start", "end"} <= set(
        rows[0]
    ) and "vector" not in rows[0]
    out = tmp_path / "chunks.parquet"
    result = run("export", "-i", str(dated_index), "--format", "parquet", "--vectors", "-o", str(out))
    assert result.returncode == 0, result.stderr
    pq = pytest.importorskip("pyarrow.parquet")
    table = pq.read_table(out).to_pylist()
    assert len(table) == 12 and len(table[0]["vector"]) == 384
    assert json.loads(table[3]["metadata"])["page"] == 3
    missing = run("export", "-i", str(dated_index), "--format", "parquet")
    assert missing.returncode == 2 and "needs a file" in missing.stderr


def test_metadata_fields_and_drop_fields_choose_what_is_kept(tmp_path):
    feed = tmp_path / "feed.jsonl"
    record = {
        "guid": "https://news.example/2024/1.html",  # RSS's item id
        "title": "基层治理",
        "text": "网格员走村入户收集群众诉求，推动矛盾纠纷就地化解，社区经验在全市推广。",
        "date": "2024-03-08",
        "source": "新华社",
        "paragraphs": ["网格员走村入户收集群众诉求，", "推动矛盾纠纷就地化解。"],
        "date_raw": "2024年03月08日 08:00",
    }
    feed.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")

    def exported(*args):
        out = tmp_path / f"idx{len(args)}"
        result = run("build", str(feed), "-o", str(out), "--no-progress", *args)
        assert result.returncode == 0, result.stderr
        [row] = [json.loads(line) for line in run("export", "-i", str(out)).stdout.splitlines()]
        return row

    row = exported("--drop-fields", "paragraphs,date_raw")
    assert row["doc_id"] == "https://news.example/2024/1.html"
    assert row["metadata"] == {"date": "2024-03-08", "source": "新华社"}
    assert row["source"] == "新华社" and row["origin"].endswith("feed.jsonl:1")
    assert exported("--metadata-fields", "source")["metadata"] == {"source": "新华社"}


def test_query_shows_stories_to_people_and_sorts_by_date(dated_index):
    shown = run("query", "-i", str(dated_index), "-k", "2", "--where", "doc_id=n03", "网格员")
    assert shown.returncode == 0, shown.stderr
    assert "[n03, 1 passage]" in shown.stdout and "¶1: " in shown.stdout  # a story, then its passages
    passages = json.loads(run("query", "-i", str(dated_index), "--json", "-k", "3", "网格员").stdout)
    assert "passages" not in passages[0] and "paragraph" in passages[0]  # JSON keeps passages by default
    newest = run(
        "query", "-i", str(dated_index), "--json", "-k", "3", "--group", "document", "--mode", "lexical",
        "--sort", "date", "网格员",
    )  # fmt: skip
    assert newest.returncode == 0, newest.stderr
    stories = json.loads(newest.stdout)
    assert [s["date"] for s in stories] == ["2024-06-15"] * 2 + ["2024-05-15"]
    assert stories[0]["passages"][0]["doc_id"] == stories[0]["doc_id"]
    recent = run(
        "query", "-i", str(dated_index), "--json", "-k", "12", "--group", "document", "--recency", "30d", "网格员",
    )  # fmt: skip
    assert {s["doc_id"] for s in json.loads(recent.stdout)[:2]} == {"n05", "n11"}  # the June stories
    bad = run("query", "-i", str(dated_index), "--recency", "soon", "网格员")
    assert bad.returncode == 2 and "recency must be a half-life" in bad.stderr


def test_timeline_prints_bars_json_and_an_svg(dated_index, tmp_path):
    shown = run("timeline", "-i", str(dated_index), "--by", "date:month")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == "date:month: 12 stories"
    assert lines[1].startswith("2024-01  ") and lines[1].endswith(" 2") and "█" in lines[1]
    assert len(lines) == 7
    plot = tmp_path / "coverage.svg"
    data = run(
        "timeline", "-i", str(dated_index), "--by", "source", "--json", "--plot", str(plot),
        "--since", "2024-06-01", "网格员",
    )  # fmt: skip
    assert data.returncode == 0, data.stderr
    facets = json.loads(data.stdout)
    assert facets["query"] == "网格员" and facets["counts"] == [{"value": "新华社", "count": 2}]
    assert plot.read_text(encoding="utf-8").startswith("<svg") and "新华社" in plot.read_text(
        encoding="utf-8"
    )
    bad = run("timeline", "-i", str(dated_index), "--by", "date:week")
    assert bad.returncode == 2 and "unknown date facet 'date:week'" in bad.stderr


def test_similar_lists_related_stories(dated_index):
    result = run("similar", "-i", str(dated_index), "n03", "-k", "3", "--json")
    assert result.returncode == 0, result.stderr
    stories = json.loads(result.stdout)
    assert len(stories) == 3 and "n03" not in [s["doc_id"] for s in stories]
    shown = run("similar", "-i", str(dated_index), "n03", "-k", "2")
    assert shown.returncode == 0 and " 1. " in shown.stdout and "passage" in shown.stdout
    missing = run("similar", "-i", str(dated_index), "nope")
    assert missing.returncode == 2 and "no document 'nope'" in missing.stderr


def test_sync_prints_one_line_per_pass_and_watch_stops_on_ctrl_c(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    folder = tmp_path / "crawl"
    folder.mkdir()
    old = time.time() - 60
    for name, text in (
        ("a", "网格员走村入户收集群众诉求，推动矛盾纠纷就地化解，社区经验在全市推广。"),
        ("b", "今年早稻收割基本结束，全省粮食产量稳中有增，农民收入持续增长。"),
    ):
        (folder / f"{name}.txt").write_text(text, encoding="utf-8")
        os.utime(folder / f"{name}.txt", (old, old))
    out = tmp_path / "idx"
    assert run("build", str(folder), "-o", str(out), "--no-progress").returncode == 0
    (folder / "b.txt").unlink()
    (folder / "c.txt").write_text(
        "嫦娥六号完成月球背面采样，返回器在内蒙古四子王旗着陆场安全着陆。", encoding="utf-8"
    )
    os.utime(folder / "c.txt", (old, old))
    result = run("sync", "-i", str(out), str(folder), "--no-progress")
    assert result.returncode == 0, result.stderr
    [line] = result.stdout.splitlines()
    assert "1 added, 0 updated, 1 unchanged, 1 removed" in line and "now 2 docs" in line
    again = json.loads(run("sync", "-i", str(out), str(folder), "--json").stdout)
    assert again["unchanged"] == ["a", "c"] and again["added"] == [] and again["removed"] == []
    watch = subprocess.Popen(
        [sys.executable, "-m", "semsearch", "sync", "-i", str(out), str(folder), "--watch", "0.5", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
        # Ctrl-C as at a terminal: a runner started in the background passes SIGINT on ignored
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    first = watch.stdout.readline()  # the first pass is done
    assert json.loads(first)["unchanged"] == ["a", "c"]
    watch.send_signal(signal.SIGINT)
    _, err = watch.communicate(timeout=60)
    assert watch.returncode == 130 and b"sync stopped" in err and b"Traceback" not in err


@pytest.mark.slow
def test_readme_newsroom_recipes_run_as_written_on_the_seeds(tmp_path):
    """Each command of README's "Newsroom recipes" that names the seeds or a crawl folder works as written."""
    import os
    import re
    import shlex
    import shutil
    import time

    from tests.support.paths import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Newsroom recipes", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, "README's Newsroom recipes lost their bash block"
    commands = [shlex.split(line, comments=True) for line in block.group(1).splitlines()]
    commands = [c for c in commands if c and "indexes/xwlb" not in c]
    assert [c[0] for c in commands] == ["semsearch"] * len(commands) and len(commands) >= 3
    shutil.copytree(ROOT / "seeds", tmp_path / "seeds")
    (tmp_path / "crawl").mkdir()
    old = time.time() - 60
    for path in sorted((tmp_path / "seeds").glob("*.txt"))[:2]:
        shutil.copy(path, tmp_path / "crawl" / path.name)
        os.utime(tmp_path / "crawl" / path.name, (old, old))
    built = run(
        "build", "seeds/", "-o", "indexes/seeds", "--no-progress", cwd=tmp_path
    )  # as the section says
    assert built.returncode == 0, built.stderr
    for command in commands:
        if "--watch" in command:  # one pass instead of a loop
            at = command.index("--watch")
            command = command[:at] + command[at + 2 :]
        result = run(*command[1:], cwd=tmp_path)
        assert result.returncode == 0, (command, result.stderr)
        assert "error" not in result.stderr, (command, result.stderr)
