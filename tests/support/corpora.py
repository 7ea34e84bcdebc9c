"""Texts more than one test file uses: seed paragraphs, the keyword-encoder documents, news articles.

Each constant is data only (documents and strings); fixtures that build indexes from them are in
tests/conftest.py.
"""

from __future__ import annotations

import json
from pathlib import Path

from semsearch import Document
from tests.support.paths import SEEDS

# The two seeds written in Traditional characters.
TRADITIONAL_SEEDS = ("000_d06f920685a293a0", "001_2a3c1398cfc30887")


def seed_paragraphs(min_chars: int = 11) -> list[str]:
    """Every line of the seeds with at least ``min_chars`` characters once stripped, in seed order."""
    texts = [path.read_text(encoding="utf-8") for path in sorted(SEEDS.glob("*.txt"))]
    return [p.strip() for text in texts for p in text.split("\n") if len(p.strip()) >= min_chars]


def sample_by_length(paragraphs: list[str], count: int = 24) -> list[str]:
    """About ``count`` paragraphs spread over every length, shortest first, and the longest."""
    ordered = sorted(paragraphs, key=len)
    step = max(1, len(ordered) // count)
    return ordered[::step][:count] + [ordered[-1]]


# Three one-paragraph documents for the keyword encoder (tests.support.keyword_encoder): each names
# words of one topic only, so every dense and lexical ranking over them is known.
FRUIT_COAST_HILLS = [
    Document("fruit", "apple banana cherry, the fruit stall opens early every morning."),
    Document("coast", "ocean harbour island, the ferry crosses twice a day in summer."),
    Document("hills", "mountain valley forest, the trail climbs for three long hours."),
]

# A new article for the seeds index, and a changed version of it (the same id).
GRID_PLATFORM = Document(
    doc_id="news/grid-platform",
    text="梧州市上线智慧网格平台。\n\n网格员可以用手机上报安全隐患，平台覆盖全市一百二十个行政村，群众办事不出村。",
)
GRID_PLATFORM_V2 = Document(
    doc_id="news/grid-platform",
    text="梧州市上线智慧网格平台。\n\n平台接入了无人机巡查，山林防火隐患可以实时发现，并推送给就近的护林员处理。",
)

# Five paragraphs of one article, for reading around a hit.
CONTEXT_PARAGRAPHS = [
    "县委书记到乡镇调研基层党建工作，听取各村党支部书记的汇报。",
    "调研组先后走访了五个行政村，详细了解村集体经济发展情况。",
    "在网格化管理服务中心，网格员演示了智慧平台如何上报安全隐患。",
    "调研组强调，要把网格员队伍建设作为基层治理的重要抓手来抓。",
    "会议要求各乡镇结合实际，制定切实可行的工作方案并抓好落实。",
]

# A news story, a reprint of it, and a templated story about two different events (near-duplicates).
STORY = (
    "新华社北京6月25日电 嫦娥六号返回器携带来自月背的月球样品安全着陆在内蒙古四子王旗预定区域，"
    "工作正常。国家航天局宣布，探月工程嫦娥六号任务取得圆满成功，实现世界首次月球背面采样返回。\n"
    "这次任务首次实现了人类从月球背面采集样品，是我国建设航天强国、科技强国取得的又一标志性成果。"
)
REPRINT = "来源：人民网\n" + STORY.replace("，", ",") + "\n（责任编辑：王晓明）"
# Templated stories about different events: the same words, different numbers.
NPC_2025 = (
    "十四届全国人大三次会议将于3月5日上午9时在北京开幕，国务院总理李强将作政府工作报告。届时，中央广播电视总台"
    "所属中央电视台综合频道、新闻频道、中文国际频道将进行现场直播；央视新闻、央视频、央视网等中央重点新媒体平台将同步转播。"
)
NPC_2026 = NPC_2025.replace("三次会议", "四次会议")

# A news page as a site serves it: navigation, the article in <p> paragraphs, a footer.
NEWS_PAGE = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>嫦娥六号月背采样返回_新华网</title>
<meta property="og:site_name" content="新华网"><meta name="publishdate" content="2024-06-25">
</head><body><nav><a href="/">首页</a> | <a href="/world">国际</a> | <a href="/tech">科技</a></nav>
<article><h1>嫦娥六号月背采样返回</h1>
<p>新华社北京6月25日电 嫦娥六号返回器携带来自月背的月球样品安全着陆在内蒙古四子王旗预定区域。</p>
<p>这次任务首次实现了人类从月球背面采集样品，是我国建设航天强国、科技强国取得的又一标志性成果。</p>
<p>国家航天局局长表示，样品将在完成交接后开展科学研究。</p>
</article><footer>版权所有 新华网 京ICP备12345号</footer></body></html>
"""


def write_beir(folder: Path, pairs: list[tuple[str, str]], extra_qrels: str = "") -> Path:
    """A BEIR folder (queries.jsonl, qrels.tsv) judging each (question, document id) pair, and one unjudged question."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "queries.jsonl", "w", encoding="utf-8") as out:
        for n, (query, _) in enumerate(pairs):
            out.write(json.dumps({"_id": f"q{n}", "text": query}, ensure_ascii=False) + "\n")
        out.write(json.dumps({"_id": "unjudged", "text": "没有标注的问题"}, ensure_ascii=False) + "\n")
    lines = ["query-id\tcorpus-id\tscore"] + [f"q{n}\t{doc}\t1" for n, (_, doc) in enumerate(pairs)]
    (folder / "qrels.tsv").write_text("\n".join(lines) + "\n" + extra_qrels, encoding="utf-8")
    return folder
