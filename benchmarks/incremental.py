"""What adding one article costs, against rebuilding: time and passages embedded, as the index grows.

    python -m benchmarks.incremental [--sizes 25,100,400,848] [--rebuild-sizes 25,100] [--scale-index indexes/xwlb]

Base indexes are N CMRC 2018 dev paragraphs (their embeddings come from the cache when warm, so the
base builds are quick); the article added is a 新闻联播 story the cache has never seen, so its cost is
real embedding work. "Rebuild" builds the N+1 documents from scratch with the cache off: what a library
without incremental updates would pay. Sizes of the uncached rebuild are kept small: the bundled model
embeds ~2.5 such paragraphs a second on 2 cores. With --scale-index (the ~86k-chunk index that
``benchmarks.scale`` saves), also the cost of adding one held-out story to an index that size, split
into the change in memory and the save.
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import tempfile
from pathlib import Path

from benchmarks.common import SHARED, Timer, git_commit, load_beir, write_result
from semsearch import Document, EmbeddingCache, Index


def article(offset: int) -> Document:
    """A 新闻联播 story (offset 0 is story 1000; negative offsets count from the last), as a fresh document."""
    with gzip.open(SHARED / "data/xwlb/articles.jsonl.gz", "rt", encoding="utf-8") as rows:
        lines = rows.readlines() if offset < 0 else None
        if lines is not None:
            row = json.loads(lines[offset])
            return Document(doc_id=f"xwlb/{row['id']}", text=row["text"], title=row["title"])
        for n, line in enumerate(rows):
            if n == 1000 + offset:
                row = json.loads(line)
                return Document(doc_id=f"xwlb/{row['id']}", text=row["text"], title=row["title"])
    raise SystemExit("xwlb has fewer stories than expected")


def add_at_scale(saved: Path, scratch: EmbeddingCache, tmp: Path) -> dict[str, float | int]:
    """Add one held-out story (the file's last, never indexed by benchmarks.scale) to a copy of ``saved``."""
    path = tmp / "scale"
    shutil.copytree(saved, path)
    index = Index.load(path)
    with Timer() as change:
        report = index.add([article(-1)], cache=scratch)
    with Timer() as save:
        index.save()
    return {
        "documents": index.info()["counts"]["documents"] - 1,
        "chunks": len(index) - report.chunks_added,
        "add_seconds": round(change.seconds + save.seconds, 2),
        "change_seconds": round(change.seconds, 2),
        "save_seconds": round(save.seconds, 2),
        "add_embedded": report.embedded,
        "add_chunks": report.chunks_added,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=SHARED / "data/cmrc2018/dev")
    parser.add_argument("--sizes", default="25,100,400,848")
    parser.add_argument("--rebuild-sizes", default="25,100")
    parser.add_argument("--scale-index", type=Path, help="also add one story to this saved index (a copy)")
    args = parser.parse_args(argv)
    corpus, _, _ = load_beir(args.data)
    docs = [Document(doc_id=str(r["_id"]), text=r["text"], title=r.get("title", "")) for r in corpus]
    rebuild_sizes = {int(x) for x in args.rebuild_sizes.split(",") if x}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        scratch = EmbeddingCache(
            Path(tmp) / "scratch.sqlite"
        )  # starts empty: the new article is never cached
        for i, size in enumerate(int(x) for x in args.sizes.split(",")):
            base = Index.build(docs[:size])
            path = Path(tmp) / f"n{size}"
            base.save(path)
            new = article(i)
            index = Index.load(path)
            with Timer() as change:
                report = index.add([new], cache=scratch)
            with Timer() as save:
                index.save()
            add_seconds = change.seconds + save.seconds
            row = {
                "documents": size,
                "chunks": len(base),
                "add_seconds": round(add_seconds, 2),
                "change_seconds": round(change.seconds, 2),
                "save_seconds": round(save.seconds, 2),
                "add_embedded": report.embedded,
                "add_chunks": report.chunks_added,
            }
            if size in rebuild_sizes:
                with Timer() as rebuild:
                    full = Index.build([*docs[:size], new], cache=False)
                    full.save(Path(tmp) / f"r{size}")
                row["rebuild_seconds"] = round(rebuild.seconds, 2)
                row["rebuild_embedded"] = len({c.text for c in full.chunks()})
                row["rebuild_over_add"] = round(rebuild.seconds / add_seconds, 1)
            rows.append(row)
            print(json.dumps(row))
        if args.scale_index:
            rows.append(add_at_scale(args.scale_index, scratch, Path(tmp)))
            print(json.dumps(rows[-1]))
    path = write_result("incremental", {"commit": git_commit(), "data": str(args.data), "rows": rows})
    print("saved", path)


if __name__ == "__main__":
    main()
