"""The archive formats as pure functions: content flattening, YAML, names, headers."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import yaml

from newsmirror.publish import formats
from newsmirror.publish.names import (
    MAX_NAME_BYTES,
    jekyll_name,
    list_name,
    markdown_name,
    safe_component,
)
from newsmirror.store import Article, ListedArticle


def article(**changes: object) -> Article:
    values: dict[str, object] = {
        "id": 1,
        "source": "demo",
        "key": "guid:1",
        "title": "晨光天气台发布 寒潮预警",
        "link": "https://news.example.org/a/1.html",
        "content": "\n    <p>第一段。</p>\n    <p>第二段。</p>\n  ",
        "author": None,
        "categories": (),
        "published_at": datetime(2026, 11, 20, 3, 4, 5, 678000, tzinfo=UTC),
        "first_seen_at": datetime(2026, 11, 21, tzinfo=UTC),
        "revision": 1,
        "markdown_id": 1048575,
        "jekyll_path": "_posts/2026-11-20-x.md",
    }
    values.update(changes)
    return Article(**values)  # type: ignore[arg-type]


# -- content ------------------------------------------------------------------


def test_lines_are_stripped_and_joined_with_nothing() -> None:
    assert formats.flatten_content("\n  <p>甲。</p>\n\t<p>乙</p>  \n") == "<p>甲。</p><p>乙</p>"


def test_chinese_across_a_line_break_is_joined_without_space() -> None:
    assert formats.flatten_content("<p>台湾\n  香港</p>") == "<p>台湾香港</p>"


def test_english_words_across_a_line_break_keep_a_space() -> None:
    html = "<p>Taiwan-US Economic\n    Prosperity 2020\n    Dialogue</p>"
    assert formats.flatten_content(html) == "<p>Taiwan-US Economic Prosperity 2020 Dialogue</p>"


def test_mixed_scripts_only_space_between_spaced_letters() -> None:
    assert formats.flatten_content("英文 word\n中文") == "英文 word中文"
    assert formats.flatten_content("中文\nword") == "中文word"
    assert formats.flatten_content("word.\nNext") == "word.Next"


def test_pre_keeps_its_line_breaks_as_character_references() -> None:
    html = '<p>代码：</p>\n<pre class="py">def f():\n    return 1\n</pre>\n<p>完</p>'
    out = formats.flatten_content(html)
    assert out == '<p>代码：</p><pre class="py">def f():&#10;    return 1&#10;</pre><p>完</p>'


def test_javascript_trim_whitespace_is_stripped() -> None:
    assert formats.flatten_content("\u3000\u3000<p>段</p>\u00a0\n\ufeff<p>尾</p>") == (
        "<p>段</p><p>尾</p>"
    )


def test_benign_single_line_content_is_untouched() -> None:
    html = '<div><i>x</i></div><img src="https://a.example/b.jpg" width="100%"><p>正文</p>'
    assert formats.flatten_content(html) == html


# -- YAML -----------------------------------------------------------------------

HOSTILE_VALUES = [
    "plain 标题",
    'quote " inside',
    "back\\slash",
    "colon: space",
    "# hash first",
    "[bracket",
    "a, b",
    "{brace}",
    "- dash",
    "yes",
    "NULL",
    "2020-01-01",
    "1:20:30",
    "0x1F",
    "tab\there",
    "new\nline",
    "bell\x07",
    "\u2028sep",
    " leading space",
    "trailing space ",
    "!tag",
    "&anchor",
    "*alias",
    "%percent",
    "@at",
    "`tick",
    "'single'",
    "end:",
    "https://example.org/a?b=c#frag",
    "",
]


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_yaml_values_read_back_exactly(value: str) -> None:
    document = (
        f"title: {formats.yaml_quoted(value)}\n"
        f"from: {formats.yaml_scalar(value)}\n"
        f"author: {formats.yaml_scalar(value, flow=True)}\n"
        f"tags: [ {formats.yaml_scalar(value, flow=True)} ]\n"
    )
    loaded = yaml.safe_load(document)
    assert loaded == {"title": value, "from": value, "author": value, "tags": [value]}


def test_plain_values_stay_plain_as_in_the_seed() -> None:
    assert formats.yaml_scalar("大纪元") == "大纪元"
    url = "https://www.epochtimes.com/gb/20/11/21/n12565655.htm"
    assert formats.yaml_scalar(url) == url
    assert formats.yaml_quoted("台美经济对话") == '"台美经济对话"'


# -- article files ----------------------------------------------------------------


def test_iso_ms() -> None:
    moment = datetime(2020, 11, 21, 11, 8, 55, tzinfo=UTC)
    assert formats.iso_ms(moment) == "2020-11-21T11:08:55.000Z"
    assert formats.iso_ms(moment.astimezone(ZoneInfo("Asia/Shanghai"))) == (
        "2020-11-21T11:08:55.000Z"
    )


def test_markdown_article_exact_bytes() -> None:
    text = formats.markdown_article(article(title="  标题 \n"))
    assert text == (
        "<!--1795143845678-->\n"
        "[标题](https://news.example.org/a/1.html)\n"
        "------\n"
        "\n"
        "<p>第一段。</p><p>第二段。</p>\n"
    )


def test_jekyll_post_exact_bytes_and_valid_front_matter() -> None:
    text = formats.jekyll_post(article(title='他说："好" # 1'), "晨光: 天气")
    assert text == (
        "---\n"
        "layout: post\n"
        'title: "他说：\\"好\\" # 1"\n'
        "date: 2026-11-20T03:04:05.678Z\n"
        'author: "晨光: 天气"\n'
        "from: https://news.example.org/a/1.html\n"
        'tags: [ "晨光: 天气" ]\n'
        'categories: [ "晨光: 天气" ]\n'
        "---\n"
        "<!--1795143845678-->\n"
        '[他说："好" # 1](https://news.example.org/a/1.html)\n'
        "------\n"
        "\n"
        "<div>\n"
        "<p>第一段。</p><p>第二段。</p>\n"
        "</div>\n"
    )
    front = yaml.safe_load(text.split("---\n")[1])
    assert front["title"] == '他说："好" # 1'
    assert front["author"] == "晨光: 天气"


def test_link_with_whitespace_does_not_end_the_markdown_link() -> None:
    assert "[t](https://x.example/a%20b)" in formats.header(
        article(title="t", link="https://x.example/a b")
    )


# -- names --------------------------------------------------------------------------

DAY = datetime(2026, 11, 20, tzinfo=UTC)


def never(_: str) -> bool:
    return False


def test_jekyll_name_cuts_to_50_characters_then_replaces_slashes() -> None:
    title = "三退声明精选（2021/01/13）" + "长" * 60
    name = jekyll_name(DAY, title, never)
    assert name == "_posts/2026-11-20-三退声明精选（2021--01--13）" + "长" * 32 + ".md"


@pytest.mark.parametrize(
    "title",
    ["../../etc/passwd", "..", "CON", 'a\\b:c*d?e"f<g>h|i', "tab\tnul\x00", "   ", ".hidden"],
)
def test_jekyll_names_cannot_escape_or_break_a_file_system(title: str) -> None:
    name = jekyll_name(DAY, title, never)
    folder, _, file = name.partition("/")
    assert folder == "_posts"
    assert "/" not in file and "\\" not in file
    assert not any(c in file for c in ':*?"<>|')
    assert not any(ord(c) < 32 for c in file)
    assert file.startswith("2026-11-20-") and file.endswith(".md")
    assert not file[:-3].endswith((".", " "))
    assert file[len("2026-11-20-") :] != ".md"


def test_path_like_title_becomes_dashes() -> None:
    assert jekyll_name(DAY, "../../etc/passwd", never) == "_posts/2026-11-20---..--etc--passwd.md"


def test_long_multibyte_names_fit_in_255_bytes() -> None:
    title = "𠀀" * 50  # 4 bytes each in UTF-8
    name = jekyll_name(DAY, title, lambda p: p.endswith(".md") and "-2" not in p[-6:])
    assert len(name.split("/")[1].encode()) <= MAX_NAME_BYTES


def test_collisions_get_a_suffix() -> None:
    taken = {"_posts/2026-11-20-同名.md", "_posts/2026-11-20-同名-2.md"}
    assert jekyll_name(DAY, "同名", taken.__contains__) == "_posts/2026-11-20-同名-3.md"


def test_markdown_ids_have_seven_digits() -> None:
    assert markdown_name("voa", 1048575) == "articles/voa/1048575.md"
    assert markdown_name("voa", 999999) == "articles/voa/0999999.md"
    assert markdown_name("voa", 12) == "articles/voa/0000012.md"


def test_safe_component_and_list_name() -> None:
    assert safe_component("a/b") == "a--b"
    assert list_name("德国之声") == "lists/德国之声.md"
    assert list_name("../x") == "lists/--x.md"


# -- lists --------------------------------------------------------------------------


def test_source_list_format_in_archive_time_zone() -> None:
    newest = [
        ListedArticle("  第二篇 ", datetime(2026, 11, 20, 16, 30, tzinfo=UTC), 1048574),
        ListedArticle("第一篇", datetime(2026, 11, 20, 15, 59, tzinfo=UTC), 1048575),
    ]
    text = formats.source_list("德国之声", "dw", newest, ZoneInfo("Asia/Shanghai"))
    assert text == (
        "德国之声\n------\n\n"
        "11-21 [第二篇](/articles/dw/1048574.md)\n\n"
        "11-20 [第一篇](/articles/dw/1048575.md)\n\n"
    )


def test_readme_links_every_list() -> None:
    text = formats.readme("新闻镜像", ["德国之声", "BBC 中文"])
    assert text == (
        "新闻镜像\n------\n\n[德国之声](lists/德国之声.md)\n\n[BBC 中文](lists/BBC%20中文.md)\n\n"
    )
