"""The parse stage: feed bytes → ParsedFeed.

Two kinds of tests: feeds written here (our own text, so they run anywhere), and
the shared corpus of real feeds beside the checkout (skipped when absent).
"""

from __future__ import annotations

import contextlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree

from newsmirror.errors import ParseError
from newsmirror.models import Enclosure, Entry, ParsedFeed
from newsmirror.parse import parse_feed
from newsmirror.parse.encoding import find_root, to_utf8
from newsmirror.parse.entries import clean_title, make_entry
from newsmirror.parse.scan import scan_items
from newsmirror.parse.xmlfeed import run_fastfeedparser, run_feedparser

URL = "https://news.example.org/feed"
CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"

CONTENT_NS = 'xmlns:content="http://purl.org/rss/1.0/modules/content/"'
DC_NS = 'xmlns:dc="http://purl.org/dc/elements/1.1/"'
MEDIA_NS = 'xmlns:media="http://search.yahoo.com/mrss/"'
ATOM_NS = 'xmlns:atom="http://www.w3.org/2005/Atom"'

# content:encoded as blogs write it: CDATA over indented lines, which must survive.
CDATA_CONTENT = """
      <p>第一段：河水解冻了。</p>
        <p>第二段 &amp; 缩进要保留</p>
    """
# An entity-escaped description, with the whitespace around it.
ESCAPED_DESCRIPTION = "\n  &lt;p&gt;夜里的灯光 &amp;amp; 车流&lt;/p&gt;\n  &lt;img src=&quot;/img/night.jpg&quot;&gt;\n"
DECODED_DESCRIPTION = '\n  <p>夜里的灯光 &amp; 车流</p>\n  <img src="/img/night.jpg">\n'

RSS2 = f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" {CONTENT_NS} {DC_NS} {MEDIA_NS} {ATOM_NS}>
<channel>
  <title>晨风新闻</title>
  <link>https://news.example.org/</link>
  <atom:link href="https://news.example.org/feed" rel="self" type="application/rss+xml"/>
  <description>测试用的频道</description>
  <item>
    <title>  河边的柳树发芽了 </title>
    <link>https://news.example.org/a/1</link>
    <guid isPermaLink="false"> willow-1 </guid>
    <pubDate>Sat, 01 Feb 2025 23:05:24 -0500</pubDate>
    <dc:creator>林小雨</dc:creator>
    <category>春天</category><category> 自然 </category><category>春天</category>
    <description>河边的柳树</description>
    <content:encoded><![CDATA[{CDATA_CONTENT}]]></content:encoded>
    <enclosure url="https://news.example.org/a/1.mp3" type="audio/mpeg" length="1234"/>
    <media:content url="https://news.example.org/a/1.jpg" type="image/jpeg"/>
  </item>
  <item>
    <title>第二篇：&lt;转载&gt;\t城市\n夜景</title>
    <link>https://news.example.org/a/2</link>
    <description>{ESCAPED_DESCRIPTION}</description>
  </item>
</channel>
</rss>
"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>山城日报</title>
  <link href="https://atom.example.org/feed.xml" rel="self"/>
  <link href="https://atom.example.org/"/>
  <id>tag:atom.example.org,2025:feed</id>
  <updated>2025-03-01T08:00:00Z</updated>
  <entry>
    <title type="html">雾里的 &amp;lt;山&amp;gt;</title>
    <link href="https://atom.example.org/edit/1" rel="edit"/>
    <link href="https://atom.example.org/2025/fog" rel="alternate" type="text/html"/>
    <link href="https://atom.example.org/fog.ogg" rel="enclosure" type="audio/ogg"/>
    <id> tag:atom.example.org,2025:fog </id>
    <published>2025-03-01T08:00:00+08:00</published>
    <updated>2025-03-02T09:30:00Z</updated>
    <author><name>周山</name></author>
    <category term="天气"/><category term="城市" label="城里"/>
    <summary>不该用的摘要</summary>
    <content type="html">&lt;p&gt;清晨的雾&lt;/p&gt;</content>
  </entry>
  <entry>
    <title>只有摘要</title>
    <link href="https://atom.example.org/2025/summary"/>
    <id>tag:atom.example.org,2025:summary</id>
    <updated>2025-03-03T10:00:00Z</updated>
    <summary>  前后有空格的摘要
</summary>
  </entry>
  <entry>
    <title>XHTML 内容</title>
    <link href="https://atom.example.org/2025/xhtml"/>
    <id>tag:atom.example.org,2025:xhtml</id>
    <updated>2025-03-04T10:00:00Z</updated>
    <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>段落 <b>加粗</b></p><br/></div></content>
  </entry>
</feed>
"""

RSS1 = f"""<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
         {CONTENT_NS} {DC_NS}>
  <channel rdf:about="https://rdf.example.org/">
    <title>河谷周刊</title>
    <link>https://rdf.example.org/</link>
    <description>每周一期</description>
    <items><rdf:Seq><rdf:li rdf:resource="https://rdf.example.org/1"/></rdf:Seq></items>
  </channel>
  <item rdf:about="https://rdf.example.org/1">
    <title>桥上的风</title>
    <link>https://rdf.example.org/1</link>
    <dc:date>2005-12-29T19:54:30+08:00</dc:date>
    <dc:subject>散文</dc:subject>
    <description>短的描述</description>
    <content:encoded><![CDATA[<p>长的正文</p>]]></content:encoded>
  </item>
</rdf:RDF>
"""

JSON_FEED = {
    "version": "https://jsonfeed.org/version/1.1",
    "title": "小站 JSON",
    "home_page_url": "https://json.example.org/",
    "items": [
        {
            "id": "https://json.example.org/1",
            "title": "带 HTML 的一条",
            "content_html": "<p>正文 <em>强调</em></p>",
            "content_text": "不该用",
            "date_published": "2025-02-01T07:44:00.000Z",
            "date_modified": "2025-02-02T07:44:00Z",
            "tags": ["新闻", " 新闻 ", "国际"],
            "authors": [{"name": "王二"}],
            "attachments": [
                {
                    "url": "https://json.example.org/1.mp3",
                    "mime_type": "audio/mpeg",
                    "size_in_bytes": 2048,
                }
            ],
            "image": "https://json.example.org/1.png",
        },
        {
            "id": "2",
            "url": "https://json.example.org/2",
            "title": "纯文本",
            "content_text": "第一行 <不是标签>\n第二行\n\n第二段 & 结尾",
        },
        {"id": 3, "summary": "只有摘要", "author": {"name": "旧版作者"}},
    ],
}


def rss(items: str, *, encoding: str = "utf-8", extra_ns: str = "", title: str = "小报") -> str:
    """A small RSS 2.0 document around ``items``."""
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>\n'
        f'<rss version="2.0" {extra_ns}><channel><title>{title}</title>'
        f"<link>https://small.example.org/</link>{items}</channel></rss>\n"
    )


def only_entry(body: bytes | str, **kwargs: str) -> Entry:
    feed = parse_feed(body.encode() if isinstance(body, str) else body, url=URL, **kwargs)
    assert len(feed.entries) == 1
    return feed.entries[0]


def parse_error(body: bytes) -> ParseError:
    with pytest.raises(ParseError) as caught:
        parse_feed(body, url=URL)
    assert caught.value.url == URL
    return caught.value


def read_with_both_parsers(body: bytes) -> tuple[tuple[Entry, ...], tuple[Entry, ...]]:
    """The entries fastfeedparser and feedparser give, each corrected the same way."""
    xml, _ = to_utf8(body, None, trust_utf8=False)
    xml, fmt = find_root(xml, URL, [])
    items = scan_items(xml, fmt)
    results = []
    for attempt in (run_fastfeedparser(xml), run_feedparser(xml)):
        assert len(attempt.entries) == len(items), attempt.parser
        results.append(
            tuple(make_entry(p, i, xml) for p, i in zip(attempt.entries, items, strict=True))
        )
    return results[0], results[1]


# --- formats and fields -------------------------------------------------------------------------


def test_rss2_fields() -> None:
    feed = parse_feed(RSS2.encode(), url=URL)
    assert (feed.format, feed.parser, feed.warnings) == ("rss2", "fastfeedparser", ())
    assert (feed.title, feed.link) == ("晨风新闻", "https://news.example.org/")
    first, second = feed.entries
    assert first == Entry(
        title="  河边的柳树发芽了 ",
        link="https://news.example.org/a/1",
        guid="willow-1",
        published_at=datetime(2025, 2, 2, 4, 5, 24, tzinfo=UTC),
        updated_at=None,
        content=CDATA_CONTENT,  # CDATA: taken as written, "&amp;" included
        author="林小雨",
        categories=("春天", "自然"),
        enclosures=(
            Enclosure("https://news.example.org/a/1.mp3", "audio/mpeg", 1234),
            Enclosure("https://news.example.org/a/1.jpg", "image/jpeg", None),
        ),
    )
    assert second.title == "第二篇：<转载> 城市 夜景"
    assert second.content == DECODED_DESCRIPTION
    assert (second.guid, second.published_at, second.author) == (None, None, None)


def test_cdata_and_escaped_content_are_exact_with_both_parsers() -> None:
    fast, tolerant = read_with_both_parsers(RSS2.encode())
    assert fast == tolerant
    assert fast[0].content == CDATA_CONTENT
    assert fast[1].content == DECODED_DESCRIPTION


def test_atom_fields() -> None:
    feed = parse_feed(ATOM.encode(), url=URL)
    assert (feed.format, feed.title, feed.link) == ("atom", "山城日报", "https://atom.example.org/")
    fog, summary_only, xhtml = feed.entries
    assert fog.title == "雾里的 &lt;山&gt;"  # type="html": decoded once, as XML says
    assert fog.link == "https://atom.example.org/2025/fog"  # the alternate, not the edit link
    assert fog.guid == "tag:atom.example.org,2025:fog"
    assert fog.published_at == datetime(2025, 3, 1, 0, 0, tzinfo=UTC)
    assert fog.updated_at == datetime(2025, 3, 2, 9, 30, tzinfo=UTC)
    assert (fog.author, fog.categories) == ("周山", ("天气", "城市"))
    assert fog.content == "<p>清晨的雾</p>"
    assert fog.enclosures == (Enclosure("https://atom.example.org/fog.ogg", "audio/ogg"),)
    assert summary_only.content == "  前后有空格的摘要\n"
    assert summary_only.published_at == datetime(2025, 3, 3, 10, 0, tzinfo=UTC)  # from updated
    assert xhtml.content == "<p>段落 <b>加粗</b></p><br/>"
    assert read_with_both_parsers(ATOM.encode())[0] == read_with_both_parsers(ATOM.encode())[1]


def test_atom_0_3() -> None:
    body = """<?xml version="1.0" encoding="utf-8"?>
<feed version="0.3" xmlns="http://purl.org/atom/ns#">
  <title>旧格式</title>
  <link rel="alternate" type="text/html" href="https://old.example.org/"/>
  <entry>
    <title mode="escaped" type="text/html">老博客的一篇</title>
    <link rel="alternate" type="text/html" href="https://old.example.org/2005/1.html"/>
    <id>tag:old.example.org,2005:1</id>
    <issued>2005-06-27T18:56:00-07:00</issued>
    <modified>2005-06-28T02:03:21Z</modified>
    <content type="text/html" mode="escaped">&lt;b&gt;你好&lt;/b&gt;</content>
  </entry>
</feed>"""
    feed = parse_feed(body.encode(), url=URL)
    (entry,) = feed.entries
    assert (feed.format, feed.link) == ("atom", "https://old.example.org/")
    assert entry.link == "https://old.example.org/2005/1.html"
    assert entry.published_at == datetime(2005, 6, 28, 1, 56, tzinfo=UTC)
    assert entry.updated_at == datetime(2005, 6, 28, 2, 3, 21, tzinfo=UTC)
    assert entry.content == "<b>你好</b>"


def test_rss1_rdf() -> None:
    feed = parse_feed(RSS1.encode(), url=URL)
    (entry,) = feed.entries
    assert (feed.format, feed.title, feed.link) == ("rss1", "河谷周刊", "https://rdf.example.org/")
    assert entry.guid == "https://rdf.example.org/1"  # rdf:about identifies an RSS 1.0 item
    assert entry.published_at == datetime(2005, 12, 29, 11, 54, 30, tzinfo=UTC)
    assert entry.content == "<p>长的正文</p>"  # content:encoded, which fastfeedparser drops here
    assert entry.categories == ("散文",)


def test_json_feed() -> None:
    feed = parse_feed(json.dumps(JSON_FEED, ensure_ascii=False).encode(), url=URL)
    assert (feed.format, feed.parser) == ("json", "json")
    assert (feed.title, feed.link) == ("小站 JSON", "https://json.example.org/")
    html_item, text_item, summary_item = feed.entries
    assert html_item == Entry(
        title="带 HTML 的一条",
        link="https://json.example.org/1",  # the id, an http(s) URL
        guid="https://json.example.org/1",
        published_at=datetime(2025, 2, 1, 7, 44, tzinfo=UTC),
        updated_at=datetime(2025, 2, 2, 7, 44, tzinfo=UTC),
        content="<p>正文 <em>强调</em></p>",
        author="王二",
        categories=("新闻", "国际"),
        enclosures=(
            Enclosure("https://json.example.org/1.mp3", "audio/mpeg", 2048),
            Enclosure("https://json.example.org/1.png"),
        ),
    )
    assert (
        text_item.content == "<p>第一行 &lt;不是标签&gt;<br>\n第二行</p>\n<p>第二段 &amp; 结尾</p>"
    )
    assert (summary_item.guid, summary_item.link) == ("3", None)
    assert (summary_item.content, summary_item.author) == ("只有摘要", "旧版作者")


def test_title_keeps_spaces_and_turns_controls_into_spaces() -> None:
    entry = only_entry(rss("<item><title>  前\t后\r\n两 &#7; 行  </title></item>"))
    assert entry.title == "  前 后 两   行  "  # XML reads "\r\n" as one "\n" (§2.11)


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("Sat, 01 Feb 2025 23:05:24 -0500", datetime(2025, 2, 2, 4, 5, 24, tzinfo=UTC)),
        (" Tue, 10 Jun 2003 04:00:00 GMT ", datetime(2003, 6, 10, 4, 0, tzinfo=UTC)),
        ("2025-02-01T07:44:00.000Z", datetime(2025, 2, 1, 7, 44, tzinfo=UTC)),
        ("2025-02-01 23:05:24+0800", datetime(2025, 2, 1, 15, 5, 24, tzinfo=UTC)),
        ("2025-2-1 9:05:00", datetime(2025, 2, 1, 9, 5, tzinfo=UTC)),
        ("星期六，2025年2月1日23:05:24 -0500", datetime(2025, 2, 2, 4, 5, 24, tzinfo=UTC)),
        ("2025 年 3 月 26 日，星期日 14:04:19 GMT", datetime(2025, 3, 26, 14, 4, 19, tzinfo=UTC)),
        ("05/20 7:03 am", None),  # no year: never guessed
        ("Mon, 99 Mar 2005 00:00:00 +0000", None),
        ("明天", None),
    ],
)
def test_dates(written: str, expected: datetime | None) -> None:
    entry = only_entry(rss(f"<item><title>日期</title><pubDate>{written}</pubDate></item>"))
    assert entry.published_at == expected


def test_entry_without_link_date_or_title() -> None:
    entry = only_entry(rss("<item><description>只有内容</description></item>"))
    assert (entry.title, entry.link, entry.guid, entry.published_at) == (None, None, None, None)
    assert entry.content == "只有内容"


def test_guid_url_is_the_link_and_a_guid_is_never_a_date() -> None:
    url_guid = only_entry(rss("<item><guid>https://small.example.org/9</guid></item>"))
    assert (url_guid.link, url_guid.guid) == ("https://small.example.org/9",) * 2
    numeric = only_entry(rss("<item><title>编号</title><guid>42</guid></item>"))
    assert (numeric.guid, numeric.link, numeric.published_at) == ("42", None, None)


def test_link_is_not_invented_as_guid() -> None:
    entry = only_entry(
        rss("<item><title>无编号</title><link>https://small.example.org/5</link></item>")
    )
    assert (entry.link, entry.guid) == ("https://small.example.org/5", None)


def test_duplicate_entries_are_kept_in_feed_order() -> None:
    item = "<item><title>重复{n}</title><guid>same</guid></item>"
    feed = parse_feed(rss(item.format(n=1) + item.format(n=2)).encode(), url=URL)
    assert [e.title for e in feed.entries] == ["重复1", "重复2"]


def test_media_description_is_content_before_description() -> None:
    entry = only_entry(
        rss(
            "<item><title>视频</title><description>简介</description><media:group>"
            "<media:content url='https://small.example.org/v.mp4' type='video/mp4'/>"
            "<media:description>视频的说明</media:description></media:group></item>",
            extra_ns=MEDIA_NS,
        )
    )
    assert entry.content == "视频的说明"
    assert entry.enclosures == (Enclosure("https://small.example.org/v.mp4", "video/mp4"),)


def test_raw_html_inside_description_is_kept() -> None:
    entry = only_entry(
        rss(
            "<item><title>标签</title><description>前言 &amp; <p>没转义的 <b>HTML</b></p>"
            "</description></item>"
        )
    )
    assert entry.content == "前言 & <p>没转义的 <b>HTML</b></p>"


def test_self_link_is_not_the_site_link() -> None:
    body = (
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>只有自链接</title>'
        '<link rel="self" href="https://self.example.org/feed"/></feed>'
    )
    feed = parse_feed(body.encode(), url=URL)
    assert (feed.title, feed.link, feed.entries) == ("只有自链接", None, ())


# --- encodings ----------------------------------------------------------------------------------

GB_ITEMS = "".join(
    f"<item><title>第{n}条：春节前的火车站人山人海</title><link>https://gb.example.org/{n}</link>"
    f"<description>旅客们排着长队，等待检票回家过年。</description></item>"
    for n in range(1, 4)
)
BIG5_ITEMS = (
    "<item><title>颱風過後的臺北街頭</title><description>樹木倒塌，積水未退。</description></item>"
)


def test_gb2312_declared() -> None:
    feed = parse_feed(rss(GB_ITEMS, encoding="gb2312").encode("gbk"), url=URL)
    assert feed.title == "小报"
    assert feed.entries[0].title == "第1条：春节前的火车站人山人海"
    assert feed.warnings == ()


def test_gbk_characters_in_a_gb2312_feed_decode_as_gb18030() -> None:
    entry = only_entry(
        rss("<item><title>镕基与喆的名字</title></item>", encoding="gb2312").encode("gbk")
    )
    assert entry.title == "镕基与喆的名字"


def test_big5_declared() -> None:
    entry = only_entry(rss(BIG5_ITEMS, encoding="big5", title="小報").encode("big5"))
    assert (entry.title, entry.content) == ("颱風過後的臺北街頭", "樹木倒塌，積水未退。")


def test_http_charset_when_the_document_declares_none() -> None:
    body = rss(GB_ITEMS).replace(' encoding="utf-8"', "").encode("gbk")
    feed = parse_feed(body, url=URL, content_type="application/rss+xml; charset=GBK")
    assert feed.entries[2].title == "第3条：春节前的火车站人山人海"


def test_undeclared_legacy_encoding_is_detected() -> None:
    body = rss(GB_ITEMS * 4).replace(' encoding="utf-8"', "").encode("gb18030")
    feed = parse_feed(body, url=URL)
    assert feed.entries[0].title == "第1条：春节前的火车站人山人海"
    assert any("detected" in w for w in feed.warnings)


def test_utf8_body_wins_over_a_wrong_declaration() -> None:
    feed = parse_feed(rss(GB_ITEMS, encoding="gb2312").encode("utf-8"), url=URL)
    assert feed.entries[0].title == "第1条：春节前的火车站人山人海"
    assert any("UTF-8" in w for w in feed.warnings)


def test_bom_and_whitespace_before_the_declaration() -> None:
    for prefix in (b"\xef\xbb\xbf", b"\n  \r\n", b"\xef\xbb\xbf\n"):
        assert parse_feed(prefix + RSS2.encode(), url=URL).entries[0].guid == "willow-1"


def test_utf16_with_bom() -> None:
    body = rss(BIG5_ITEMS, encoding="utf-16").encode("utf-16")
    assert only_entry(body).title == "颱風過後的臺北街頭"


def test_junk_before_the_feed_is_cut() -> None:
    feed = parse_feed(b"Warning: something on line 3\n" + RSS2.encode(), url=URL)
    assert len(feed.entries) == 2
    assert any("junk" in w for w in feed.warnings)
    after_declaration = RSS2.encode().replace(b"?>\n<rss", b"?>\nNotice: undefined index\n<rss")
    assert len(parse_feed(after_declaration, url=URL).entries) == 2


# --- ill-formed and hostile input ---------------------------------------------------------------


def test_bare_ampersands_do_not_lose_text() -> None:
    # After libxml2 meets the bare "&" it drops every later "&amp;"/"&lt;": the escaped
    # HTML below would lose its markup without the fallback.
    feed = parse_feed(
        rss(
            "<item><title>问 & 答</title><link>https://small.example.org/q?a=1&b=2</link>"
            "<guid>https://small.example.org/q?a=1&b=2</guid></item>"
            "<item><title>第二条</title><description>&lt;p&gt;甲 &amp;amp; 乙&lt;/p&gt;</description></item>"
        ).encode(),
        url=URL,
    )
    first, second = feed.entries
    assert (first.title, first.link) == ("问 & 答", "https://small.example.org/q?a=1&b=2")
    assert first.guid == "https://small.example.org/q?a=1&b=2"
    assert second.content == "<p>甲 &amp; 乙</p>"
    assert feed.warnings


def test_bare_ampersand_inside_cdata_is_well_formed() -> None:
    feed = parse_feed(rss("<item><title><![CDATA[甲 & 乙 <丙>]]></title></item>").encode(), url=URL)
    assert (feed.entries[0].title, feed.parser, feed.warnings) == (
        "甲 & 乙 <丙>",
        "fastfeedparser",
        (),
    )


def test_many_processing_instructions_before_the_root_do_not_hang() -> None:
    # A regex that backtracks over them takes seconds at 25 and forever at 40.
    body = b"<?x?>" * 5000 + b"<!-- c -->" * 5000 + RSS2.encode().split(b"?>", 1)[1]
    assert len(parse_feed(body, url=URL).entries) == 2
    assert "not a feed" in parse_error(b"<?x?>" * 5000 + b"?").reason


def test_unclosed_tag_and_truncated_body_keep_what_can_be_read() -> None:
    unclosed = rss(
        "<item><title>甲</title><description>没有结束 <b>粗体</description></item>"
        "<item><title>乙</title></item>"
    )
    feed = parse_feed(unclosed.encode(), url=URL)
    assert [e.title for e in feed.entries] == ["甲", "乙"]
    assert feed.entries[0].content == "没有结束 <b>粗体"
    truncated = RSS2.encode()[: RSS2.encode().index(b"<description>\n")]
    assert parse_feed(truncated, url=URL).entries[0].guid == "willow-1"


def test_tolerant_parser_reads_what_fastfeedparser_cannot() -> None:
    # RSS 0.90's namespace: fastfeedparser finds no items in it.
    body = f"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns="http://my.netscape.com/rdf/simple/0.9/" {CONTENT_NS}>
  <channel><title>零点九</title><link>https://old.example.org/</link></channel>
  <item><title>旧的一条 </title><link>https://old.example.org/1</link>
    <content:encoded><![CDATA[{CDATA_CONTENT}]]></content:encoded></item>
  <item><title>旧的两条</title><link>https://old.example.org/2</link></item>
</rdf:RDF>"""
    feed = parse_feed(body.encode(), url=URL)
    assert (feed.parser, feed.format, len(feed.entries)) == ("feedparser", "rss1", 2)
    assert feed.entries[0].title == "旧的一条 "
    assert feed.entries[0].content == CDATA_CONTENT
    assert "tolerant parser" in feed.warnings[0]


def test_zero_entries_is_a_valid_feed() -> None:
    body = '<feed xmlns="http://www.w3.org/2005/Atom"><title>空的</title></feed>'
    feed = parse_feed(body.encode(), url=URL)
    assert (feed.title, feed.entries, feed.warnings) == ("空的", (), ())


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty body"),
        (b" \r\n\t ", "empty body"),
        (
            b"<!DOCTYPE html>\n<html><head><title>x</title></head><body></body></html>",
            "not a feed: the body is an HTML page",
        ),
        (b"<html><body><item>not</item></body></html>", "not a feed: the body is an HTML page"),
        (
            b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"/>',
            "not a feed: the root element is <urlset>",
        ),
        (b'{"items": [{"id": 1}]}', "not a feed: JSON without a JSON Feed version"),
        (b"[1, 2]", "not a feed: JSON without a JSON Feed version"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": ', "not valid JSON"),
        (b"Service Unavailable", "not a feed: no XML element"),
        (bytes(range(256)) * 4, "not a feed"),
    ],
)
def test_not_a_feed(body: bytes, reason: str) -> None:
    assert reason in parse_error(body).reason


def test_nothing_recoverable_names_the_line() -> None:
    error = parse_error(b'<?xml version="1.0"?>\n<rss version="2.0"')
    assert re.fullmatch(
        r"malformed XML and no entries could be recovered \(line 2: .+\)", error.reason
    )


def test_damaged_bodies_give_a_feed_or_a_parse_error() -> None:
    samples = [RSS2.encode(), ATOM.encode(), RSS1.encode(), json.dumps(JSON_FEED).encode()]
    for body in samples:
        for cut in range(0, len(body), 37):
            for damaged in (body[:cut], body[:cut] + b"\x00\xff<&" + body[cut + 5 :]):
                with contextlib.suppress(ParseError):
                    assert isinstance(parse_feed(damaged, url=URL), ParsedFeed)


# --- the shared corpus --------------------------------------------------------------------------

# Section 1 of ../shared/corpus/README.md, the "items" column.
CORPUS_ITEMS = {
    "greatfire-2015/bbc.xml": 66,
    "greatfire-2015/cdt.xml": 15,
    "greatfire-2015/dw.xml": 85,
    "greatfire-2015/nyt.xml": 22,
    "greatfire-2015/paopao.xml": 30,
    "jsonfeed/bbc-zh-home.json": 115,
    "jsonfeed/dw.json": 101,
    "legacy-encodings/Big5/0804.blogspot.com.xml": 9,
    "legacy-encodings/Big5/carbonxiv.blogspot.com.xml": 8,
    "legacy-encodings/Big5/catshadow.blogspot.com.xml": 10,
    "legacy-encodings/Big5/coolloud.org.tw.xml": 20,
    "legacy-encodings/Big5/ebao.us.xml": 15,
    "legacy-encodings/Big5/kafkatseng.blogspot.com.xml": 3,
    "legacy-encodings/Big5/ke207.blogspot.com.xml": 8,
    "legacy-encodings/Big5/leavesth.blogspot.com.xml": 15,
    "legacy-encodings/Big5/myblog.pchome.com.tw.xml": 5,
    "legacy-encodings/Big5/oui-design.com.xml": 10,
    "legacy-encodings/Big5/sanwenji.blogspot.com.xml": 56,
    "legacy-encodings/Big5/sylvia1976.blogspot.com.xml": 2,
    "legacy-encodings/Big5/tlkkuo.blogspot.com.xml": 6,
    "legacy-encodings/Big5/unoriginalblog.com.xml": 10,
    "legacy-encodings/Big5/willythecop.blogspot.com.xml": 8,
    "legacy-encodings/Big5/ytc.blogspot.com.xml": 10,
    "legacy-encodings/GB2312/14.blog.westca.com.xml": 4,
    "legacy-encodings/GB2312/cappuccinos.3322.org.xml": 10,
    "legacy-encodings/GB2312/chen56.blogcn.com.xml": 15,
    "legacy-encodings/GB2312/cindychen.com.xml": 5,
    "legacy-encodings/GB2312/cnblog.org.xml": 16,
    "legacy-encodings/GB2312/coverer.com.xml": 15,
    "legacy-encodings/GB2312/eighthday.blogspot.com.xml": 7,
    "legacy-encodings/GB2312/lily.blogsome.com.xml": 10,
    "legacy-encodings/GB2312/pda.blogsome.com.xml": 10,
    "legacy-encodings/GB2312/softsea.net.xml": 100,
    "legacy-encodings/GB2312/w3cn.org.xml": 20,
    "legacy-encodings/GB2312/xy15400.blogcn.com.xml": 20,
    "misc/empty-atom-1024.xml": 0,
    "misc/voa-special-english-podcast.xml": 48,
    "nodebe4-jekyll/news-beyound-wall-2020-feed.xml": 10,
    "nodebe4-jekyll/oped2-atom.xml": 100,
    "nodebe4-jekyll/society-by_tag-serpentza.xml": 7,
    "nodebe4-jekyll/teahouse-by_tag-soundfury.xml": 12,
    "nodebe4-jekyll/waimei-by_tag-BBC.xml": 100,
    "nodebe4-jekyll/waimei-feed.xml": 100,
    "rss-translation/BBC_News_Top_Stories-translated.xml": 11,
    "rss-translation/voa-zh-translated-2025-02.xml": 6,
    "zh-misc/meituan-rss.xml": 10,
    "zh-misc/ruanyifeng-rss.xml": 6,
    "zh-misc/v2ex-atom.xml": 50,
}
LEGACY_CODECS = {"Big5": "cp950", "GB2312": "gb18030"}
MOJIBAKE = re.compile("[\u0080-\u00ff\ufffd]")  # what GB/Big5 bytes read as Latin-1 leave
CJK = re.compile("[\u4e00-\u9fff]")


def corpus(*parts: str) -> Path:
    path = CORPUS.joinpath(*parts)
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus not present (it sits beside the checkout in CI)")
    return path


@pytest.mark.parametrize("name", sorted(CORPUS_ITEMS))
def test_corpus_feed_entry_counts(name: str) -> None:
    feed = parse_feed(corpus("feeds", name).read_bytes(), url=name)
    assert len(feed.entries) == CORPUS_ITEMS[name]
    assert feed.format in ("rss2", "rss1", "atom", "json")


def test_corpus_has_no_feed_missing_from_the_table() -> None:
    found = {str(p.relative_to(corpus("feeds"))) for p in corpus("feeds").rglob("*.*")}
    assert found - {"legacy-encodings/README.txt"} == set(CORPUS_ITEMS)


@pytest.mark.parametrize("name", [n for n in sorted(CORPUS_ITEMS) if n.startswith("legacy")])
def test_corpus_legacy_encodings_decode_to_chinese(name: str) -> None:
    data = corpus("feeds", name).read_bytes()
    feed = parse_feed(data, url=name)
    titles = [feed.title or ""] + [e.title or "" for e in feed.entries]
    assert not [t for t in titles if MOJIBAKE.search(t)]
    assert any(CJK.search(t) for t in titles + [e.content for e in feed.entries])
    # The same titles as an independent reading: Python's codec, then lxml.
    text = data.decode(LEGACY_CODECS[name.split("/")[1]])
    text = re.sub(r"encoding=[\"'][^\"']+[\"']", 'encoding="utf-8"', text, count=1)
    root = etree.fromstring(text.encode(), etree.XMLParser(recover=True))
    expected = [clean_title(_text(_child(item, "title"))) for item in _reference_items(root)]
    assert [e.title for e in feed.entries] == expected


def test_corpus_known_troublemakers() -> None:
    coolloud = parse_feed(
        corpus("feeds", "legacy-encodings/Big5/coolloud.org.tw.xml").read_bytes(), url="coolloud"
    )
    assert len(coolloud.entries) == 20
    oui = parse_feed(
        corpus("feeds", "legacy-encodings/Big5/oui-design.com.xml").read_bytes(), url="oui"
    )
    assert len(oui.entries) == 10
    assert all(e.published_at is None for e in oui.entries)  # "05/20 7:03 am" has no year
    for name in ("zh-misc/meituan-rss.xml", "zh-misc/ruanyifeng-rss.xml"):
        feed = parse_feed(corpus("feeds", name).read_bytes(), url=name)
        assert (feed.parser, feed.warnings) == ("fastfeedparser", ())


def _child(element: etree._Element, local: str) -> etree._Element | None:
    return next(
        (
            c
            for c in element
            if isinstance(c.tag, str)
            and etree.QName(c).localname == local
            and etree.QName(c).namespace in _ITEM_NAMESPACES
        ),
        None,
    )


_ITEM_NAMESPACES = {
    None,
    "http://www.w3.org/2005/Atom",
    "http://purl.org/atom/ns#",
    "http://purl.org/rss/1.0/",
    "http://my.netscape.com/rdf/simple/0.9/",
}


def _reference_items(root: etree._Element) -> list[etree._Element]:
    parent = root
    if etree.QName(root).localname == "rss":
        parent = next(c for c in root if etree.QName(c).localname == "channel")
    return [
        c
        for c in parent
        if isinstance(c.tag, str) and etree.QName(c).localname in ("item", "entry")
    ]


def _reference_content(item: etree._Element) -> str:
    """SPEC's content order read from lxml's tree: text plus any child markup."""
    encoded = next(
        (c for c in item if c.tag == "{http://purl.org/rss/1.0/modules/content/}encoded"), None
    )
    for element in (
        encoded,
        _child(item, "content"),
        _child(item, "description"),
        _child(item, "summary"),
    ):
        if element is None:
            continue
        if element.get("type") in ("xhtml", "application/xhtml+xml"):
            div = element[0]
            value = (div.text or "") + "".join(_serialized(c) for c in div)
        else:
            value = (element.text or "") + "".join(_serialized(c) for c in element)
        if value.strip():
            return value
    return ""


@pytest.mark.parametrize(
    "name", [n for n in sorted(CORPUS_ITEMS) if n.endswith(".xml") and CORPUS_ITEMS[n]]
)
def test_corpus_titles_and_content_match_lxml(name: str) -> None:
    """Content is the element's text exactly as XML defines it: no whitespace change."""
    data = corpus("feeds", name).read_bytes()
    xml, _ = to_utf8(data, None, trust_utf8=False)
    root = etree.fromstring(xml, etree.XMLParser(recover=True, huge_tree=True))
    items = _reference_items(root)
    feed = parse_feed(data, url=name)
    assert [e.title for e in feed.entries] == [
        clean_title(_text(_child(i, "title"))) for i in items
    ]
    assert [e.content for e in feed.entries] == [_reference_content(i) for i in items]


def _serialized(element: etree._Element) -> str:
    """A child as written, but for the namespace declaration lxml adds to it."""
    markup = etree.tostring(element, encoding="unicode", with_tail=True)
    return re.sub(r' xmlns="http://www.w3.org/(?:2005/Atom|1999/xhtml)"', "", markup, count=1)


def _text(element: etree._Element | None) -> str | None:
    return None if element is None else element.text


@pytest.mark.parametrize(
    "name",
    [
        "greatfire-2015/cdt.xml",
        "greatfire-2015/dw.xml",
        "zh-misc/v2ex-atom.xml",
        "legacy-encodings/GB2312/cnblog.org.xml",
        "rss-translation/voa-zh-translated-2025-02.xml",
    ],
)
def test_corpus_both_parsers_agree(name: str) -> None:
    fast, tolerant = read_with_both_parsers(corpus("feeds", name).read_bytes())
    assert fast == tolerant


def test_corpus_feedparser_suite_never_crashes() -> None:
    """Hostile and ill-formed documents give a ParsedFeed or a ParseError, nothing else."""
    files = sorted(
        p for p in corpus("feedparser-tests").rglob("*") if p.suffix in (".xml", ".json")
    )
    assert len(files) > 1000
    for path in files:
        with contextlib.suppress(ParseError):
            assert isinstance(parse_feed(path.read_bytes(), url=str(path)), ParsedFeed)
