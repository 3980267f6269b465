"""Search: ``newsmirror search`` over the store, and the site's in-browser index and widget."""

from __future__ import annotations

import html
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newsmirror.decide import candidates
from newsmirror.errors import PublishError
from newsmirror.localserver import LocalServer
from newsmirror.models import Entry
from newsmirror.search import MARK_CLOSE, MARK_OPEN, SearchHit, search_store
from newsmirror.site.searchindex import (
    INDEX_DIR,
    Document,
    IndexedPage,
    index_site,
    keys,
    read_page,
    runs,
    search_widget,
)
from newsmirror.store import Store, open_store

from .test_decide import source

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)

# (guid, title, body, hours before NOW): text written for these tests.
ARTICLES = [
    ("a1", "台湾大选结果揭晓", "选举委员会周六晚间公布了投票结果，新一届领导人将于五月就职。", 5),
    ("a2", "美国重申立场", "美国国务院周二表示支持台湾参与国际组织，并呼吁各方保持克制。", 1),
    ("a3", "解放军举行联合演习", "东部战区在台湾海峡举行演习，多艘舰艇参加。", 3),
    ("a4", "香港立法会通过新法", "立法会以多数票通过条例草案，反对派议员缺席。", 4),
    ("a5", "一名记者的旅程", "他从香港飞往伦敦，随后转机前往柏林参加国际组织的会议。", 2),
    ("a6", "中国经济增速放缓", "国家统计局数据显示，第三季度经济同比增长百分之四点六。", 6),
    ("a7", "台北的海湾之夜", "台北市民在周末前往海湾观赏烟火，交通一度拥堵。", 7),
]


# -- the store --------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(tmp_path / "store.sqlite")
    opened.sync_sources(
        [("test", "测试", "https://feeds.example.org/rss"), ("other", "其他", "https://o.example/")]
    )
    with opened.transaction() as db:
        for guid, title, body, hours in ARTICLES:
            add(
                opened, db, guid, title, f"<p>{body}</p>", published_at=NOW - timedelta(hours=hours)
            )
    yield opened
    opened.close()


def add(
    store: Store,
    db: sqlite3.Connection,
    guid: str,
    title: str,
    content: str,
    *,
    published_at: datetime = NOW,
    slug: str = "test",
) -> int:
    entry = Entry(title, f"https://news.example.org/{guid}", guid, published_at, content=content)
    (candidate,) = candidates([entry], source(slug=slug), NOW).candidates
    return store.insert_article(db, slug, candidate, NOW)


def titles(hits: list[SearchHit]) -> list[str]:
    return [hit.title for hit in hits]


def test_two_characters_find_every_article_holding_them_titles_first(store: Store) -> None:
    hits = search_store(store.db, "台湾")
    # The title match first, then the body matches newest first; 台北…海湾 is not 台湾.
    assert titles(hits) == ["台湾大选结果揭晓", "美国重申立场", "解放军举行联合演习"]
    assert [hit.in_title for hit in hits] == [True, False, False]
    assert hits[1].snippet == "美国国务院周二表示支持【台湾】参与国际组织，并呼吁各方保持克制。"
    (start, end) = hits[1].spans[0]
    assert hits[1].snippet[start:end] == "台湾"
    assert hits[0].published_at == NOW - timedelta(hours=5)
    assert hits[0].source_slug == "test"


def test_one_character(store: Store) -> None:
    assert set(titles(search_store(store.db, "湾"))) == {
        "台湾大选结果揭晓",
        "美国重申立场",
        "解放军举行联合演习",
        "台北的海湾之夜",
    }


def test_three_characters_and_more_use_the_trigram_index(store: Store) -> None:
    hits = search_store(store.db, "国际组织")
    assert set(titles(hits)) == {"美国重申立场", "一名记者的旅程"}
    assert all(MARK_OPEN + "国际组织" + MARK_CLOSE in hit.snippet for hit in hits)
    plan = " ".join(
        str(row)
        for row in store.db.execute(
            "EXPLAIN QUERY PLAN SELECT rowid FROM search WHERE search MATCH '\"国际组织\"'"
        )
    )
    assert "VIRTUAL TABLE INDEX" in plan


def test_mixed_terms_must_all_match(store: Store) -> None:
    hits = search_store(store.db, "香港 国际组织")
    assert titles(hits) == ["一名记者的旅程"]
    # Both kinds of term are marked in the snippet.
    assert f"{MARK_OPEN}香港{MARK_CLOSE}" in hits[0].snippet
    assert f"{MARK_OPEN}国际组织{MARK_CLOSE}" in hits[0].snippet
    assert titles(search_store(store.db, "香港 立法会")) == ["香港立法会通过新法"]
    assert search_store(store.db, "香港 台湾") == []


def test_no_match_and_empty_queries(store: Store) -> None:
    assert search_store(store.db, "不存在的词语") == []
    assert search_store(store.db, "无") == []
    assert search_store(store.db, "   ") == []
    assert search_store(store.db, "台湾", limit=0) == []


def test_limit_and_source(store: Store) -> None:
    assert len(search_store(store.db, "台湾", limit=2)) == 2
    with store.transaction() as db:
        add(store, db, "o1", "别处的台湾新闻", "<p>内容</p>", slug="other")
    assert titles(search_store(store.db, "台湾", source="other")) == ["别处的台湾新闻"]
    assert len(search_store(store.db, "台湾", source="test")) == 3


@pytest.mark.parametrize(
    "query",
    ['"', '""', 'a"b', "%", "_", "*", "NEAR", "AND", "OR NOT", "a*", "NEAR(a b)", "\\", "^x", "-:"],
)
def test_special_characters_are_literal_never_syntax(store: Store, query: str) -> None:
    assert search_store(store.db, query) == []  # none of the articles holds them


def test_special_characters_find_themselves(store: Store) -> None:
    with store.transaction() as db:
        add(store, db, "s1", '他说"50%_折扣"', "<p>AND NEAR OR 是英文词 a*b \\ 100%</p>")
        add(store, db, "s2", "普通标题", "<p>折扣五成，百分之五十</p>")
    for query in ['"', "%", "_", '"50%_折扣"', "50%", "AND", "NEAR OR", "a*b", "\\", "100%"]:
        assert titles(search_store(store.db, query)) == ['他说"50%_折扣"'], query
    # LIKE wildcards are not wildcards: "5_" does not match "50".
    assert search_store(store.db, "5_") == []
    assert search_store(store.db, "折%") == []


def test_an_updated_article_is_found_by_its_new_text_only(store: Store) -> None:
    with store.transaction() as db:
        article_id = add(store, db, "u1", "旧标题", "<p>原来的文字提到澳门</p>")
    assert titles(search_store(store.db, "澳门")) == ["旧标题"]
    (updated,) = candidates(
        [
            Entry(
                "新标题",
                "https://news.example.org/u1",
                "u1",
                NOW,
                content="<p>现在说的是新加坡</p>",
            )
        ],
        source(),
        NOW,
    ).candidates
    with store.transaction() as db:
        store.update_article(db, article_id, updated, NOW)
    assert search_store(store.db, "澳门") == []
    assert search_store(store.db, "旧标题") == []
    assert titles(search_store(store.db, "新加坡")) == ["新标题"]
    assert titles(search_store(store.db, "新标")) == ["新标题"]


def test_html_is_searched_as_text(store: Store) -> None:
    with store.transaction() as db:
        add(store, db, "h1", "标记", '<p>台中市 &amp; <a href="https://x.example/">链接</a></p>')
    assert titles(search_store(store.db, "台中市")) == ["标记"]
    assert titles(search_store(store.db, "&")) == ["标记"]
    assert search_store(store.db, "href") == []


def test_inline_markup_does_not_split_words(store: Store) -> None:
    with store.transaction() as db:
        add(store, db, "h2", "标记", "<p>台<b>中</b>市</p>")
    assert titles(search_store(store.db, "台中市")) == ["标记"]


def test_snippet_is_a_window_around_the_first_match(store: Store) -> None:
    before = "前" * 100
    after = "后" * 100
    with store.transaction() as db:
        add(store, db, "w1", "长文", f"<p>{before}关键{after}</p>")
    (hit,) = search_store(store.db, "关键")
    assert hit.snippet == "…" + "前" * 40 + "【关键】" + "后" * 40 + "…"
    (hit,) = search_store(store.db, "前前前 关键")  # snippet() for the trigram term
    assert "【" in hit.snippet and hit.snippet.count("【") == len(hit.spans)


def test_an_article_text_with_brackets_keeps_its_spans_right(store: Store) -> None:
    with store.transaction() as db:
        add(store, db, "b1", "【独家】报道", "<p>【网络民议】评论台湾问题</p>")
    (hit,) = search_store(store.db, "评论")
    assert hit.snippet == "【网络民议】【评论】台湾问题"
    assert [hit.snippet[s:e] for s, e in hit.spans] == ["评论"]
    (hit,) = search_store(store.db, "网络民议")
    assert [hit.snippet[s:e] for s, e in hit.spans] == ["网络民议"]


# -- the site's index ----------------------------------------------------------------

SITE_SOURCE = "测试来源"


def article_page(title: str, body: str, published: datetime, root: str = "../../") -> str:
    """An article page carrying the attributes the site's template must carry."""
    iso = published.strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{html.escape(title)} · 新闻镜像</title></head>
<body><nav><a href="{root}index.html">首页</a> 台湾 香港</nav>
<main><article data-pagefind-body data-pagefind-filter="source:{SITE_SOURCE}"
 data-pagefind-sort="published:{iso}" data-pagefind-meta="date:{published:%Y-%m-%d}">
<h1 data-pagefind-meta="title">{html.escape(title)}</h1>
<p class="meta" data-pagefind-ignore>{SITE_SOURCE} · {iso} · 台湾 原文</p>
<div class="content"><p>{html.escape(body)}</p></div>
</article></main>
<footer>关于 台湾</footer></body></html>
"""


def write_site(site: Path) -> None:
    for guid, title, body, hours in ARTICLES:
        path = site / "articles" / "test" / f"{guid}.html"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(article_page(title, body, NOW - timedelta(hours=hours)), encoding="utf-8")
    (site / "index.html").write_text(
        '<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>首页</title>'
        "<body>首页 台湾 香港</body></html>",
        encoding="utf-8",
    )
    (site / "search.html").write_text(
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>搜索</title>'
        f"</head><body><h1>搜索</h1>{search_widget('')}</body></html>",
        encoding="utf-8",
    )


def test_keys_are_bigrams_and_run_ends() -> None:
    assert runs("Ｃｏｖｉｄ-19，台湾 香港。") == ["covid", "19", "台湾", "香港"]
    assert keys("台湾海峡，港") == {"台湾", "湾海", "海峡", "峡", "港"}


def test_read_page_takes_the_article_only(tmp_path: Path) -> None:
    write_site(tmp_path)
    page = read_page(tmp_path / "articles/test/a2.html", tmp_path)
    assert page == IndexedPage(
        url="articles/test/a2.html",
        title="美国重申立场",
        text="美国国务院周二表示支持台湾参与国际组织，并呼吁各方保持克制。",
        source=SITE_SOURCE,
        published="2026-11-21T11:00:00Z",
        date="2026-11-21",
    )
    assert read_page(tmp_path / "index.html", tmp_path) is None


def test_read_page_follows_pagefinds_other_forms(tmp_path: Path) -> None:
    """No title marker: the first <h1>; filter and date as the element's text."""
    (tmp_path / "p.html").write_text(
        "<html><body><article data-pagefind-body><header><h1>标题</h1><p data-pagefind-ignore>"
        '<a data-pagefind-filter="source">美国之音</a> <time datetime="2026-01-02T11:04:05+08:00">'
        "一月二日</time></p></header><div><p>第一段</p><p>第二段<!-- 注释 -->尾</p></div>"
        "<script>var 台湾 = 1;</script></article></body></html>",
        encoding="utf-8",
    )
    page = read_page(tmp_path / "p.html", tmp_path)
    assert page is not None
    assert (page.title, page.text, page.source, page.published) == (
        "标题",
        "第一段 第二段尾",
        "美国之音",
        "2026-01-02T03:04:05Z",
    )


def files_of(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def test_the_index_is_deterministic_and_rebuilt_whole(tmp_path: Path) -> None:
    write_site(tmp_path)
    report = index_site(tmp_path)
    assert (report.pages, report.skipped) == (len(ARTICLES), 2)
    first = files_of(tmp_path / INDEX_DIR)
    stale = tmp_path / INDEX_DIR / "shards" / "stale.js"
    stale.write_text("old")
    index_site(tmp_path)
    again = files_of(tmp_path / INDEX_DIR)
    assert again == first
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())


def test_documents_are_numbered_as_indexed_and_their_times_kept_apart(tmp_path: Path) -> None:
    """Numbers follow the order documents are given (a new one never renumbers the
    others); the widget orders by the times, fixed-width base-36 minutes."""
    documents = [
        Document("b.html", "1", "乙", "", 29_000_000, ""),
        Document("a.html", "1", "甲", "", 29_100_000, ""),
        Document("c.html", "1", "丙", "", 0, ""),
    ]
    index_site(tmp_path, documents, lambda chosen: ("台湾" for _ in chosen))
    folder = tmp_path / INDEX_DIR
    docs = (folder / "docs/0.js").read_text(encoding="utf-8")
    assert docs.index("b.html") < docs.index("a.html") < docs.index("c.html")
    shards = "".join(p.read_text(encoding="utf-8") for p in (folder / "shards").iterdir())
    assert '"台湾":"0,1,1"' in shards
    times = (folder / "times/0.js").read_text(encoding="utf-8")
    assert f'"{29_000_000:0>6}"' not in times  # base 36, not decimal
    assert '"0h9kjk0hbppc000000"' in times


def test_index_site_without_a_site_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PublishError, match="no site to index"):
        index_site(tmp_path / "missing")


def test_the_widget_loads_everything_from_the_site() -> None:
    widget = search_widget("../")
    assert 'href="../search-index/search.css"' in widget
    assert 'src="../search-index/search.js"' in widget
    assert "placeholder=" in widget and "搜索" in widget
    assert "http://" not in widget and "https://" not in widget and "//" not in widget


def result_titles(page: object) -> list[str]:
    return page.locator(".nm-search-title").all_inner_texts()  # type: ignore[attr-defined]


def test_typing_two_characters_in_the_widget_finds_the_title_first(
    tmp_path: Path, browser: object
) -> None:
    site = tmp_path / "site"
    write_site(site)
    index_site(site)
    with LocalServer(root=site) as server:
        page = browser.new_page()  # type: ignore[attr-defined]
        hosts: set[str] = set()
        page.on("request", lambda request: hosts.add(request.url.split("/")[2]))
        page.goto(server.url("/search.html"))
        page.fill(".nm-search-input", "台湾")
        page.press(".nm-search-input", "Enter")
        page.wait_for_selector(".nm-search-excerpt")
        assert result_titles(page) == ["台湾大选结果揭晓", "美国重申立场", "解放军举行联合演习"]
        assert page.inner_text(".nm-search-status") == "找到 3 篇文章"
        assert page.locator(".nm-search-excerpt mark").first.inner_text() == "台湾"
        assert page.locator(".nm-search-meta").first.inner_text() == f"{SITE_SOURCE} · 2026-11-21"
        page.screenshot(path=str(tmp_path / "search-台湾.png"), full_page=True)

        # One character, a phrase, two terms, nothing; the query is kept in the URL.
        for query, expected in [
            ("湾", ["台湾大选结果揭晓", "台北的海湾之夜", "美国重申立场", "解放军举行联合演习"]),
            ("国际组织", ["美国重申立场", "一名记者的旅程"]),
            ("香港 国际组织", ["一名记者的旅程"]),
        ]:
            page.goto(server.url("/search.html?q=" + query))
            page.wait_for_selector(".nm-search-result")
            assert result_titles(page) == expected, query
        page.goto(server.url("/search.html"))
        page.fill(".nm-search-input", "不存在")
        page.press(".nm-search-input", "Enter")
        page.wait_for_function(
            "document.querySelector('.nm-search-status').textContent.includes('没有找到')"
        )
        assert result_titles(page) == []
        assert hosts == {f"127.0.0.1:{server.port}"}


def test_the_widget_finds_titles_from_a_cloned_copy_opened_as_a_file(
    tmp_path: Path, browser: object
) -> None:
    site = tmp_path / "site"
    write_site(site)
    index_site(site)
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto((site / "search.html").as_uri() + "?q=台湾")
    page.wait_for_selector(".nm-search-result")
    assert result_titles(page) == ["台湾大选结果揭晓", "美国重申立场", "解放军举行联合演习"]


def test_the_widget_splits_queries_as_the_index_does(browser: object, tmp_path: Path) -> None:
    """Python makes the keys, JavaScript the query terms: they must agree on every character."""
    samples = [
        "Ｃｏｖｉｄ-19，台湾 香港。",
        "“习近平”说：「一带一路」……",
        "ﬁle ① ㈱ Straße İstanbul ΣΑΣ",
        "𠮷野家\u3000𩸽\u00a0x\u200by\ufeffz",
        "a_b a-b a.b a/b 50% #tag @user",
        "\x1c\x85\u2028 tab\tend",
    ]
    (tmp_path / "t.html").write_text(
        '<!doctype html><meta charset="utf-8"><title>t</title>' + search_widget(""),
        encoding="utf-8",
    )
    assert index_site(tmp_path).pages == 0
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto((tmp_path / "t.html").as_uri())
    assert page.evaluate("newsmirrorSearch.query('search-index/', '台湾')") == []
    for sample in samples:
        expected = list(dict.fromkeys(runs(sample)))  # the widget drops repeated terms
        assert page.evaluate("s => newsmirrorSearch.terms(s)", sample) == expected, sample


def test_a_title_given_in_the_attribute(tmp_path: Path) -> None:
    (tmp_path / "p.html").write_text(
        "<html><head><title>站名</title></head><body><article data-pagefind-body "
        'data-pagefind-meta="title:属性里的标题"><h1>页面上的标题</h1><p>正文</p></article>'
        "</body></html>",
        encoding="utf-8",
    )
    page = read_page(tmp_path / "p.html", tmp_path)
    assert page is not None
    assert (page.title, page.text) == ("属性里的标题", "页面上的标题 正文")
