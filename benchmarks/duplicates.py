"""How the near-duplicate threshold was chosen, measured on the 新闻联播 archive.

    python -m benchmarks.duplicates [--data PATH/articles.jsonl.gz] [--reprints 400]

Two sides, side by side for each threshold:
- *false merges*: pairs of archive stories the Deduplicator would merge. The archive has no reprints
  (its README: six exact copies were removed), so every merge of two different stories is wrong; its
  close pairs are templated stories about different events (an annual broadcast notice, a state visit
  a year later), sampled in the result so a reader can check.
- *reprints caught*: archive stories re-published with the edits a reprint gets (an outlet's dateline
  for the broadcaster's, a source and an editor line, half-width punctuation, the last paragraph cut).
Also counted: exact repeats (same text once folded), with and without the numbers rule.
"""

from __future__ import annotations

import argparse
import random
import time

from semsearch.text.dedup import DedupConfig, Deduplicator, fold, jaccard, numbers

from .common import XWLB, read_xwlb, write_result

THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95)


def reprint(text: str, rng: random.Random) -> str:
    """The story as another outlet re-publishes it."""
    paragraphs = text.split("\n")
    paragraphs[0] = paragraphs[0].replace("央视网消息（新闻联播）：", "新华社北京电 ")
    edits = rng.sample(["source", "editor", "punct", "cut"], k=2)
    if "cut" in edits and len(paragraphs) >= 4:
        paragraphs = paragraphs[:-1]
    if "source" in edits:
        paragraphs.insert(0, "来源：新华网")
    if "editor" in edits:
        paragraphs.append("（责任编辑：王晓明）")
    out = "\n".join(paragraphs)
    if "punct" in edits:
        out = out.replace("，", ",").replace("：", ":").replace("；", ";")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(XWLB))
    parser.add_argument("--reprints", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    stories = read_xwlb(args.data)
    texts = {s["id"]: s["text"] for s in stories}
    titles = {s["id"]: s["title"] for s in stories}

    # Every archive pair whose estimated similarity reaches the lowest threshold, with its exact Jaccard.
    started = time.perf_counter()
    probe = Deduplicator(DedupConfig(threshold=min(THRESHOLDS)))
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=min(THRESHOLDS), num_perm=probe.config.num_perm)
    signatures = {}
    pairs = []
    for story in stories:
        signature = probe.signature(story["text"])
        for other in lsh.query(signature):
            pairs.append((other, story["id"], float(signature.jaccard(signatures[other]))))
        signatures[story["id"]] = signature
        lsh.insert(story["id"], signature)
    seconds = time.perf_counter() - started
    folded = {k: fold(v) for k, v in texts.items()}
    exact_groups = {}
    for doc_id, text in folded.items():
        exact_groups.setdefault(text, []).append(doc_id)
    exact = [ids for ids in exact_groups.values() if len(ids) > 1]

    def same_numbers(a: str, b: str) -> bool:
        x, y = numbers(folded[a]), numbers(folded[b])
        return x <= y or y <= x

    rng = random.Random(args.seed)
    sample = rng.sample([s for s in stories if len(s["text"]) >= 150], args.reprints)
    copies = [(s["id"], reprint(s["text"], rng)) for s in sample]

    rows = []
    for threshold in THRESHOLDS:
        merged = [(a, b, est) for a, b, est in pairs if est >= threshold]
        merged_rule = [(a, b, est) for a, b, est in merged if same_numbers(a, b)]
        caught = caught_rule = 0
        for original, copy in copies:
            dedup = Deduplicator(DedupConfig(threshold=threshold))
            dedup.keep(original, texts[original])
            found = dedup.check("copy", copy)
            caught_rule += found is not None
            est = float(dedup.signature(copy).jaccard(dedup.signature(texts[original])))
            caught += est >= threshold
        rows.append(
            {
                "threshold": threshold,
                "archive_pairs_merged_text_only": len(merged),
                "archive_pairs_merged_with_numbers_rule": len(merged_rule),
                "reprints_caught_text_only": caught / len(copies),
                "reprints_caught_with_numbers_rule": caught_rule / len(copies),
            }
        )
        print(rows[-1])

    def describe(a: str, b: str, est: float) -> dict:
        return {
            "a": a,
            "b": b,
            "title_a": titles[a],
            "title_b": titles[b],
            "estimated": round(est, 3),
            "jaccard": round(jaccard(texts[a], texts[b]), 3),
            "numbers_agree": same_numbers(a, b),
        }

    closest = sorted(pairs, key=lambda p: -p[2])[:25]
    reprint_jaccards = sorted(round(jaccard(texts[o], c), 3) for o, c in copies)
    write_result(
        "duplicates",
        {
            "data": str(args.data),
            "stories": len(stories),
            "signature_and_lsh_seconds": round(seconds, 2),
            "exact_repeat_groups": [[{"id": i, "title": titles[i]} for i in ids] for ids in exact],
            "candidate_pairs": len(pairs),
            "thresholds": rows,
            "closest_archive_pairs": [describe(*p) for p in closest],
            "reprint_jaccard_percentiles": {
                p: reprint_jaccards[int(p / 100 * (len(reprint_jaccards) - 1))] for p in (1, 5, 10, 50)
            },
            "reprint_sample": [{"original": o, "copy_starts": c[:80]} for o, c in copies[:5]],
        },
    )


if __name__ == "__main__":
    main()
