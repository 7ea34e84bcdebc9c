"""News pages: the main text in paragraphs, title, date and site, without the page's chrome."""

from semsearch import read_sources
from tests.support.corpora import NEWS_PAGE


def test_html_page_gives_main_text_in_paragraphs_title_date_and_site(tmp_path):
    (tmp_path / "page.html").write_text(NEWS_PAGE, encoding="utf-8")
    [doc] = read_sources([tmp_path]).documents
    assert doc.doc_id == "page"
    assert doc.title == "嫦娥六号月背采样返回"
    assert doc.metadata["date"] == "2024-06-25"
    assert doc.metadata["site"] == "新华网"
    paragraphs = doc.text.split("\n\n")
    assert any(p.startswith("新华社北京6月25日电") for p in paragraphs)
    assert any(p.startswith("这次任务首次实现") for p in paragraphs)  # each <p> its own paragraph
    assert "首页" not in doc.text and "ICP" not in doc.text and "<" not in doc.text


def test_html_saved_as_txt_is_read_as_html(tmp_path):
    (tmp_path / "saved.txt").write_text(NEWS_PAGE, encoding="utf-8")
    [doc] = read_sources([tmp_path / "saved.txt"]).documents
    assert doc.title == "嫦娥六号月背采样返回"
    assert "<!DOCTYPE" not in doc.text and "<p>" not in doc.text


def test_html_in_gbk_declared_by_meta_charset(tmp_path):
    page = NEWS_PAGE.replace('charset="utf-8"', 'charset="gbk"')
    (tmp_path / "gbk.htm").write_bytes(page.encode("gbk"))
    [doc] = read_sources([tmp_path]).documents
    assert "嫦娥六号返回器" in doc.text


def test_html_author_and_outlet_become_metadata(tmp_path):
    # Issue 25: only date and description became metadata; the outlet of a 来源 line and the author did not.
    page = NEWS_PAGE.replace(
        '<meta name="publishdate" content="2024-06-25">',
        '<meta name="publishdate" content="2024-06-25"><meta name="author" content="李华">',
    ).replace(
        "<h1>嫦娥六号月背采样返回</h1>", "<h1>嫦娥六号月背采样返回</h1><p>2024-06-25 09:12　来源：新华社</p>"
    )
    (tmp_path / "page.html").write_text(page, encoding="utf-8")
    [doc] = read_sources([tmp_path]).documents
    assert doc.metadata["author"] == "李华" and doc.metadata["site"] == "新华网"
    assert doc.source == "新华社"  # the 来源 line names the outlet; the site is where it was read
    (tmp_path / "page.html").write_text(NEWS_PAGE, encoding="utf-8")
    [plain] = read_sources([tmp_path]).documents
    assert plain.source == "新华网"  # no 来源 line: the site's name


def test_an_editor_line_inside_the_article_is_dropped_and_explained(tmp_path):
    from semsearch import Index

    page = NEWS_PAGE.replace("</article>", "<p>（责任编辑：李华）</p></article>")
    (tmp_path / "page.html").write_text(page, encoding="utf-8")
    index = Index.build([tmp_path])
    assert "责任编辑" not in index.document("page")["clean_text"]
    assert ("（责任编辑：李华）", "byline") in [(d.text, d.reason) for d in index.dropped()["page"]]
