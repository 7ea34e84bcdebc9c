"""Titles in the index, three ways, on CMRC 2018 (each paragraph carries its article's title).

    python -m benchmarks.titles --tune ../shared/data/cmrc2018/trial --report ../shared/data/cmrc2018/dev

- none:  the chunk text alone (indexes built before titles counted)
- first: the title before the first chunk's text ("first chunk only")
- every: the title before every chunk's text ("contextual" chunks)
- own:   the title as a chunk of its own (measured here with one extra document per title, its hits
         mapped back to the paragraph's document)
Each is measured in every search mode; the default is picked on the tuning split and reported on the
other, which it never saw. Fusion is the library default for the bundled model.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from benchmarks.common import SHARED, Timer, git_commit, load_beir, write_result
from semsearch import Document, Index
from semsearch.search.evaluation import dedupe, score_runs

MODES = ("dense", "lexical", "hybrid")
WAYS = ("none", "first", "every", "own")
TITLE_SUFFIX = "#title"


def measure(folder: Path, way: str, model: str | None = None) -> dict[str, Any]:
    corpus, queries, qrels = load_beir(folder)
    docs = [Document(doc_id=str(r["_id"]), text=r["text"], title=r.get("title", "")) for r in corpus]
    titles = "none" if way == "own" else way
    if way == "own":
        docs += [Document(d.doc_id + TITLE_SUFFIX, text=d.title) for d in docs if d.title.strip()]
    with Timer() as build:
        index = Index.build(docs, model=model, titles=titles, dedup=False)
    qids = list(queries)
    table = {}
    for mode in MODES:
        runs = {}
        for start in range(0, len(qids), 64):
            batch = qids[start : start + 64]
            results = index.search_batch([queries[q] for q in batch], k=30, mode=mode)
            for qid, hits in zip(batch, results):
                runs[qid] = dedupe(h.doc_id.removesuffix(TITLE_SUFFIX) for h in hits)[:10]
        table[mode] = score_runs(runs, qrels)
    return {"way": way, "chunks": len(index), "build_seconds": round(build.seconds, 1), "metrics": table}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tune", default=str(SHARED / "data/cmrc2018/trial"))
    parser.add_argument("--report", default=str(SHARED / "data/cmrc2018/dev"))
    parser.add_argument("--model")
    args = parser.parse_args()
    out: dict[str, Any] = {"commit": git_commit(), "tune": args.tune, "report": args.report}
    for split, folder in (("tune", args.tune), ("report", args.report)):
        rows = []
        for way in WAYS:
            row = measure(Path(folder), way, args.model)
            rows.append(row)
            print(split, way, {m: row["metrics"][m]["MRR@10"] for m in MODES}, flush=True)
        out[split + "_rows"] = rows
        if split == "tune":
            out["picked"] = max(
                rows, key=lambda r: (r["metrics"]["hybrid"]["MRR@10"], r["metrics"]["hybrid"]["R@10"])
            )["way"]
            print("picked on", folder, ":", out["picked"], flush=True)
    write_result("titles", out)


if __name__ == "__main__":
    main()
