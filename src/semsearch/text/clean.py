"""Repair and de-chrome news text: a pure function from raw text to paragraphs, reporting every drop.

What it fixes (see the seeds): pinyin readings glued after characters (``網(wǎng)`` → ``網``) and
characters lost to ``?``; doubled or stray punctuation (``,,`` ``,、`` ``,。``); ideographic,
non-breaking and indentation spaces, and spaces wedged between Chinese characters; page chrome
(navigation, copyright, licence and contact lines, bylines, a list of unrelated headlines after
the article). The input is never modified: :class:`CleanText` holds the cleaned text and the list
of everything dropped with its line number and reason, so a user can see why a line vanished.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from semsearch.records import CleanText, Dropped, Paragraph

CLEANER_VERSION = 2
DEFAULT_HEADING_MAX_CHARS = 40

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# Characters around which a space is layout, not meaning: Han, CJK punctuation, full-width forms,
# curly quotes and the ellipsis.
_WIDE = _HAN + "\u3000-\u303f\uff00-\uffef\u2018\u2019\u201c\u201d\u2026\u2014"
_TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ"
_PINYIN = rf"[a-z{_TONED}ü]*[{_TONED}ü][a-z{_TONED}ü]*"

# A character the source lost to "?" and its reading: "?(qǐng)" or, with the "(" eaten too, "?qǐng)".
_LOST_WITH_READING = re.compile(rf"\?\(?{_PINYIN}\)")
# A pinyin reading glued after a character: "網(wǎng)".
_READING = re.compile(rf"(?<=[{_HAN}])\({_PINYIN}\)")
# A lost character with no reading left, recognisable only before an enumeration comma: "蓮塘?、".
_LOST_BEFORE_COMMA = re.compile(rf"(?<=[{_HAN}])\?(?=[、，,])")
_PUNCT_RUN = re.compile(r"[,，、。；;：:]{2,}")
_LEADING_PUNCT = re.compile(r"^[,，、。；;]+")
_SPACES = re.compile(r"[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000\f\v]+")
_INVISIBLE = re.compile(r"[\u200b-\u200d\u2060\ufeff\u00ad]")
# Control characters (Unicode category Cc) but the tab, and lone surrogates (Cs). One regex, not a
# per-character test: joining a line's characters one by one cost ~80 bytes a character at peak.
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\ud800-\udfff]")
_WIDE_GAP = re.compile(rf"(?<=[{_WIDE}]) +(?=[{_WIDE}])")
_PUNCT_STRENGTH = {"。": 5, "；": 4, ";": 4, "：": 3, ":": 3, "、": 2, "，": 1, ",": 1}

# Sentence ends, defined once. A full stop, question or exclamation mark always ends a sentence;
# a semicolon ends one for chunking and first sentences; an ellipsis splits chunks; a line ending
# in any of these, or a Latin full stop, is the end of a paragraph rather than a wrapped line.
FULL_STOPS = "。！？!?"
SENTENCE_ENDS = FULL_STOPS + "；;"
CHUNK_BREAKS = SENTENCE_ENDS + "…"
_LINE_ENDS = CHUNK_BREAKS + "."
_CLOSERS = "”’」』）)》】\"'"

_NAVIGATION = re.compile(
    r"上一版|下一版|上一篇|下一篇|上一期|下一期|版面导航|返回目录|返回首页|返回顶部|放大\s*缩小|打印本页|"
    r"关闭窗口|分享到|扫一扫|字号[:：]|^第\s*[A-Za-z]?\d+\s*版"
)
_COPYRIGHT = re.compile(
    r"copyright|©|all rights reserved|版权所有|版权声明|未经授权|未经许可|不得(复制|转载)|禁止转载|转载请注明",
    re.IGNORECASE,
)
_LICENCE = re.compile(
    r"ICP\s*备|ICP\s*证|经营许可证|许可证编号|公网安备|网安备|新出网证|信息服务许可", re.IGNORECASE
)
_CONTACT = re.compile(
    r"联系电话|联系方式|举报电话|热线电话|法律顾问|制作及维护|技术支持[:：]|e-?mail[:：]|"
    r"^(电话|传真|邮箱|地址|邮编)[:：]",
    re.IGNORECASE,
)
_PHONE = re.compile(r"\d{3,4}-\d{7,8}")
_SOURCE_LINE = re.compile(r"^(来源|稿源|出处)[:：]")
_BYLINE = re.compile(
    r"^[（(\[【]?\s*(文|图|文图|图文|记者|通讯员|编辑|责任编辑|责编|校对|审核|审校|监制|主编|作者|撰文|摄影?)\s*[/／:：|｜]"
    rf"|^[{_HAN}]{{0,8}}(记者|通讯员|記者)\s*[{_HAN}]{{2,4}}(\s+[{_HAN}]{{2,4}})*$"
)
_NAMES = re.compile(rf"^[{_HAN}]{{2,4}}(\s+[{_HAN}]{{2,4}})*$")
# A numbered list item ("1. ", "2、", "（3）", "四、") belongs to the article, never to chrome.
_ENUMERATED = re.compile(r"^(\d{1,2}\s*[.．、)）]|[（(]\d{1,2}[)）]|[一二三四五六七八九十]{1,3}、)")
# Fewer trailing headline-like lines than this are the article's own ending (a closing line, a
# signature), not a list of other articles' headlines.
_MIN_HEADLINE_LIST = 4
_MIN_HEADLINE_CHARS = 6
_INSTITUTION = re.compile(r"(院|会|部|局|厅|委|中央|政府|办公室|办|处|社|台|报)$")
_DATELINE = re.compile(r"^\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日(\s*星期.)?$")


@dataclass
class _Line:
    number: int
    text: str
    kind: str = "body"  # blank | chrome | short | body
    reason: str = ""


def clean_text(raw: str, *, heading_max_chars: int = DEFAULT_HEADING_MAX_CHARS) -> CleanText:
    """Clean one article's raw text into paragraphs, keeping a record of everything dropped.

    >>> clean_text("黨(dǎng)建引領(lǐng),,穩舵奮楫,。").text
    '黨建引領,穩舵奮楫。'
    """
    dropped: list[Dropped] = []
    lines = [_repair_line(n, s, dropped) for n, s in enumerate(_split_lines(raw), start=1)]
    wrap_width = _wrap_width(lines)
    for line in lines:
        _classify(line, heading_max_chars, wrap_width)

    body_at = [i for i, line in enumerate(lines) if line.kind == "body"]
    if body_at:
        _drop_leading_navigation(lines, body_at[0])
        _drop_trailing_chrome(lines, heading_max_chars)

    for line in lines:
        if line.kind == "chrome":
            dropped.append(Dropped(line.number, line.text, line.reason))

    paragraphs = _paragraphs(lines, heading_max_chars, wrap_width, dropped)
    title = ""
    if paragraphs and body_at and _is_headline(paragraphs, heading_max_chars):
        first_body = lines[body_at[0]].number
        if paragraphs[0][1] < first_body or paragraphs[0][0] == "body":
            paragraphs[0] = ("title", *paragraphs[0][1:])
            title = paragraphs[0][2].rstrip("。.")

    out: list[Paragraph] = []
    offset = 0
    for kind, number, text in paragraphs:
        out.append(Paragraph(text=text, start=offset, end=offset + len(text), kind=kind, line=number))
        offset += len(text) + 1
    dropped.sort(key=lambda d: d.line)
    return CleanText(
        text="\n".join(p.text for p in out), paragraphs=tuple(out), title=title, dropped=tuple(dropped)
    )


def _split_lines(raw: str) -> list[str]:
    return raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _repair_line(number: int, text: str, dropped: list[Dropped]) -> _Line:
    text = _INVISIBLE.sub("", text)
    text = _CONTROL.sub("", text)
    text = _SPACES.sub(" ", text).strip()

    def drop(pattern: re.Pattern[str], reason: str, text: str) -> str:
        for match in pattern.finditer(text):
            dropped.append(Dropped(number, match.group(0), reason))
        return pattern.sub("", text)

    text = drop(_LOST_WITH_READING, "character lost in the source's encoding (with its pinyin)", text)
    text = drop(_READING, "pinyin reading", text)
    text = drop(_LOST_BEFORE_COMMA, "character lost in the source's encoding", text)
    text = _collapse_punctuation(number, text, dropped).strip()
    return _Line(number=number, text=text)


def _collapse_punctuation(number: int, text: str, dropped: list[Dropped]) -> str:
    def keep_one(match: re.Match[str]) -> str:
        run = match.group(0)
        marks = [ch for ch in run if ch not in ",，"] or [run[0]]
        kept = max(marks, key=lambda ch: _PUNCT_STRENGTH[ch])
        removed = run.replace(kept, "", 1)
        dropped.append(Dropped(number, removed, "repeated punctuation"))
        return kept

    return _PUNCT_RUN.sub(keep_one, text)


def _ends_sentence(text: str) -> bool:
    stripped = text.rstrip(_CLOSERS)
    return bool(stripped) and stripped[-1] in _LINE_ENDS


def _wrap_width(lines: list[_Line]) -> int:
    """Return the width a hard-wrapped text is wrapped at, or 0.

    A text counts as wrapped when at least three lines of about the longest line's length stop mid-sentence.
    """
    lengths = [len(line.text) for line in lines if line.text]
    if not lengths:
        return 0
    width = max(lengths)
    cut = [line for line in lines if len(line.text) >= width - 2 and not _ends_sentence(line.text)]
    return width if len(cut) >= 3 else 0


def _is_wrapped(text: str, heading_max_chars: int, wrap_width: int) -> bool:
    """A line that stops mid-sentence at (about) the wrap width, or is too long to be a heading."""
    if _ends_sentence(text):
        return False
    return len(text) > heading_max_chars or (wrap_width > 0 and len(text) >= wrap_width - 2)


def _classify(line: _Line, heading_max_chars: int, wrap_width: int) -> None:
    text = line.text
    if not text:
        line.kind = "blank"
        return
    reason = _chrome_reason(text)
    if reason:
        line.kind, line.reason = "chrome", reason
    elif wrap_width and len(text) >= wrap_width - 2:
        line.kind = "body"
    elif len(text) <= heading_max_chars and not _ends_sentence(text):
        line.kind = "short"
    else:
        line.kind = "body"


def _chrome_reason(text: str) -> str:
    n = len(text)
    if n <= 60 and _NAVIGATION.search(text):
        return "page navigation"
    if _COPYRIGHT.search(text) and (n <= 100 or _COPYRIGHT.match(text)):
        return "copyright notice"
    if n <= 100 and _LICENCE.search(text):
        return "licence/ICP line"
    if n <= 80 and not _ends_sentence(text) and (_CONTACT.search(text) or _PHONE.search(text)):
        return "contact line"
    if n <= 40 and _SOURCE_LINE.match(text):
        return "source line"
    if n <= 40 and _BYLINE.search(text):
        return "byline"
    if n <= 40 and _DATELINE.match(text):
        return "dateline"
    return ""


def _drop_leading_navigation(lines: list[_Line], first_body: int) -> None:
    """On a newspaper page, everything above the last navigation line is page chrome."""
    nav = [i for i in range(first_body) if lines[i].reason == "page navigation"]
    if not nav:
        return
    for line in lines[: nav[-1]]:
        if line.kind == "short":
            line.kind, line.reason = "chrome", "page navigation (headlines of other articles)"


def _drop_trailing_chrome(lines: list[_Line], heading_max_chars: int) -> None:
    """Drop what follows the article's last paragraph: bylines, chrome, a list of other headlines.

    Only a run of at least ``_MIN_HEADLINE_LIST`` headline-like lines after a real paragraph counts
    as a list of other articles. A shorter ending (a closing line, a signature block), a numbered
    list or a closing word ("此致", "谢谢！", "国务院") belongs to the article and is kept.
    """
    tail: list[_Line] = []
    after_article = False
    last_plain = True
    for line in reversed(lines):
        if line.kind in ("blank", "chrome"):
            continue
        if _BYLINE.search(line.text) or (
            last_plain and _NAMES.match(line.text) and not _INSTITUTION.search(line.text)
        ):
            # "记者 谢江涛", or a bare name or two on the very last line: the author ("張平").
            line.kind, line.reason = "chrome", "byline"
            last_plain = False
            continue
        last_plain = False
        # Headlines run longer than section headings and may end in "!" or "?", never in "。".
        ending = line.text.rstrip(_CLOSERS)[-1:]
        headline_like = (
            _MIN_HEADLINE_CHARS <= len(line.text) <= 2 * heading_max_chars
            and ending not in ("。", ".", "；", ";", "…")
            and not _ENUMERATED.match(line.text)
        )
        if headline_like and line.kind in ("short", "body"):
            tail.append(line)
            continue
        after_article = True
        break
    if after_article and len(tail) >= _MIN_HEADLINE_LIST:
        for line in tail:
            line.kind, line.reason = "chrome", "unrelated headlines after the article"


def _paragraphs(
    lines: list[_Line], heading_max_chars: int, wrap_width: int, dropped: list[Dropped]
) -> list[tuple[str, int, str]]:
    """Kept lines become paragraphs.

    Where blank lines separate paragraphs, a long line that stops mid-sentence is hard-wrapped and
    joins the next line of its block; where they do not, every line is a paragraph of its own.
    """
    kept = [i for i, line in enumerate(lines) if line.kind not in ("blank", "chrome")]
    blocks = any(lines[j].kind == "blank" for a, b in zip(kept, kept[1:]) for j in range(a + 1, b))
    out: list[tuple[str, int, str]] = []
    open_wrap = False
    for line in lines:
        if line.kind in ("blank", "chrome"):
            open_wrap = False
            continue
        kind = "heading" if line.kind == "short" else "body"
        text = _WIDE_GAP.sub("", line.text) if kind == "body" else line.text
        if open_wrap and out:
            prev_kind, prev_line, prev_text = out[-1]
            joiner = "" if _is_wide(prev_text[-1]) or _is_wide(text[0]) else " "
            out[-1] = ("body", prev_line, prev_text + joiner + text)
        else:
            stray = _LEADING_PUNCT.match(text)
            if stray and stray.end() < len(text):
                dropped.append(Dropped(line.number, stray.group(0), "stray punctuation"))
                text = text[stray.end() :].lstrip()
            out.append((kind, line.number, text))
        open_wrap = blocks and kind == "body" and _is_wrapped(line.text, heading_max_chars, wrap_width)
    return out


def _is_headline(paragraphs: list[tuple[str, int, str]], heading_max_chars: int) -> bool:
    """Whether the first paragraph is the article's headline.

    A heading line qualifies, and so does a short one-sentence line that ends with a full stop (some
    sites end headlines with 。) when a longer paragraph follows it.
    """
    kind, _, text = paragraphs[0]
    if text.endswith((":", "：")):
        return False
    if kind == "heading":
        return True
    one_sentence = sum(text.count(ch) for ch in FULL_STOPS) == 1 and text.endswith(tuple(FULL_STOPS))
    longer_next = len(paragraphs) > 1 and len(paragraphs[1][2]) > 2 * len(text)
    return kind == "body" and one_sentence and len(text) <= heading_max_chars * 3 // 4 and longer_next


def _is_wide(ch: str) -> bool:
    return bool(re.match(f"[{_WIDE}]", ch))


def first_sentence(clean: CleanText, max_chars: int = 40) -> str:
    """The first sentence of the first body paragraph, clipped: a stand-in title for a headline-less article."""
    body = next(
        (p.text for p in clean.paragraphs if p.kind == "body"),
        clean.paragraphs[0].text if clean.paragraphs else "",
    )
    match = re.search(f"[{SENTENCE_ENDS}]", body)
    sentence = body[: match.end()] if match else body
    return sentence if len(sentence) <= max_chars else sentence[: max_chars - 1] + "…"
