"""Peak memory of a build against the size of its input: one huge single-line text file, one big JSONL.

Issue 16 item 17: a 200 MB single-line file once peaked at 5.8 GB (~28x the file). Each build (and its save) runs in
its own child process (``--no-cache``, the bundled model) and reports its peak resident memory
(``VmHWM``) beside its baseline (semsearch, the model, jieba and OpenCC loaded, before reading), so
``(peak - baseline) / file size`` is what the data itself costs; the growth between two sizes is
the cost per extra MiB. The texts repeat one paragraph, so
the encoder embeds each distinct chunk once (the JSONL lines share one title for that) and the run measures reading, cleaning, chunking and
storing, not the model.

    python -m benchmarks.ingest_memory --mb 2 8          # sizes of each input, MiB
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.common import ROOT, write_result

PARAGRAPH = (
    "县里组织网格员走访独居老人，帮助他们安装燃气报警器，排查安全隐患。"
    "乡村振兴战略推动农业农村现代化，农民收入持续增长，基层治理水平不断提高。"
)

CHILD = """
import json, sys, time
from benchmarks.memory import peak_rss_mib
import semsearch
from semsearch.encoders.loading import load_encoder
from semsearch.text.analyzer import Analyzer
load_encoder(None).encode_passages(["预热"])
Analyzer().tokens("预热：乡村振兴")  # jieba's dictionary and OpenCC are loaded by every build too
baseline = peak_rss_mib()
started = time.perf_counter()
result = {"baseline_mib": round(baseline, 1)}
if sys.argv[1] != "-":
    import tempfile
    from pathlib import Path
    index = semsearch.Index.build([sys.argv[1]], cache=False, dedup=False)  # the texts repeat on purpose
    result.update(chunks=len(index), documents=len(index.doc_ids()))
    with tempfile.TemporaryDirectory() as out:  # saved, as `semsearch build` does: the save is in the peak
        index.save(Path(out) / "index")
        size = sum(f.stat().st_size for f in Path(out).rglob("*") if f.is_file())
    result.update(index_mib=round(size / 2**20, 1))
result.update(peak_rss_mib=round(peak_rss_mib(), 1), seconds=round(time.perf_counter() - started, 1))
print(json.dumps(result))
"""


def _single_line(path: Path, mib: float) -> None:
    unit = PARAGRAPH.encode("utf-8")
    with open(path, "wb") as handle:
        for _ in range(int(mib * 2**20 / len(unit))):
            handle.write(unit)
        handle.write(b"\n")


def _jsonl(path: Path, mib: float) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        written, number = 0, 0
        while written < mib * 2**20:
            line = json.dumps(
                {"id": f"n{number}", "title": "同一标题", "text": PARAGRAPH * 3}, ensure_ascii=False
            )
            handle.write(line + "\n")
            written += len(line.encode("utf-8")) + 1
            number += 1


def _child(source: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, source], capture_output=True, text=True, cwd=ROOT, check=False
    )
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, nargs="+", default=[2.0, 8.0], help="input sizes in MiB")
    args = parser.parse_args(argv)
    rows = []
    baseline = _child("-")
    print(f"baseline (semsearch + model loaded): {baseline}")
    with tempfile.TemporaryDirectory(prefix="semsearch-ingest-memory-") as tmp:
        for kind, make, suffix in (("single-line text", _single_line, ".txt"), ("jsonl", _jsonl, ".jsonl")):
            for mib in args.mb:
                path = Path(tmp) / f"input-{mib:g}{suffix}"
                make(path, mib)
                size_mib = path.stat().st_size / 2**20
                measured = _child(str(path))
                path.unlink()
                row = {"input": kind, "file_mib": round(size_mib, 1), **measured}
                if "peak_rss_mib" in measured:
                    row["data_mib"] = round(measured["peak_rss_mib"] - measured["baseline_mib"], 1)
                    row["data_per_file_mib"] = round(row["data_mib"] / size_mib, 2)
                    row["data_per_index_mib"] = round(row["data_mib"] / measured["index_mib"], 2)
                print(row)
                rows.append(row)
    write_result("ingest-memory", {"parameters": {"mb": args.mb}, "baseline": baseline, "rows": rows})


if __name__ == "__main__":
    main()
