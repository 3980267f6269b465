"""The site's search index kept up to date in place (site/searchindex.py).

A build indexes only new and changed articles and appends them to the index on
disk; what it finds must be exactly what a whole build finds. These tests read
the index files back with a small decoder (``found``) and compare what every
key finds, and drive the real widget in Chromium for what a reader sees.
"""

from __future__ import annotations

import json
import random
import re
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from newsmirror.localserver import LocalServer
from newsmirror.site import build_site
from newsmirror.site.searchindex import (
    DEAD_TIME,
    INDEX_DIR,
    STATE_FILE,
    Document,
    SearchIndexReport,
    index_site,
    keys,
    pair_keys,
    search_widget,
)
from newsmirror.store import Store

from .feedkit import snapshot
from .test_site import candidate, insert, open_with_sources, store_config

START = datetime(2026, 9, 1, tzinfo=UTC)


# -- reading an index back --------------------------------------------------------------


def payload(path: Path) -> Any:
    """The value a data file hands to the widget: ``newsmirrorSearch.put(name,VALUE);``."""
    match = re.fullmatch(
        r'newsmirrorSearch\.put\("([^"]+)",(.*)\);\n', path.read_text("utf-8"), re.S
    )
    assert match, path
    return json.loads(match.group(2))


def decode(value: str) -> list[int]:
    """As the widget: runs separated by ".", each base-36 deltas from 0."""
    numbers: list[int] = []
    for run in value.split(".") if value else []:
        total = 0
        for delta in run.split(","):
            total += int(delta, 36)
            numbers.append(total)
    assert numbers == sorted(set(numbers)), f"postings must increase: {value}"
    return numbers


def index_files(site: Path) -> tuple[dict[str, Any], dict[int, Any], dict[int, str]]:
    """(meta, number → docs entry, number → time) of the index in ``site``."""
    folder = site / INDEX_DIR
    meta = payload(folder / "meta.js")
    documents: dict[int, Any] = {}
    times: dict[int, str] = {}
    for number in range(meta["documents"]):
        chunk = payload(folder / f"docs/{number // meta['chunk']:x}.js")
        documents[number] = chunk[number % meta["chunk"]]
        text = payload(folder / f"times/{number // meta['times']:x}.js")
        at = (number % meta["times"]) * meta["width"]
        times[number] = text[at : at + meta["width"]]
    return meta, documents, times


def live(site: Path) -> dict[str, tuple[str, str, str, str]]:
    """URL → (title, source, date, published time) of every document the widget shows."""
    _, documents, times = index_files(site)
    shown = {}
    for number, entry in documents.items():
        if times[number] == DEAD_TIME:
            assert entry == 0, number
            continue
        url, title, source, date = entry
        assert url not in shown, f"{url} is live twice"
        shown[url] = (title, source, date, times[number])
    return shown


def found(site: Path) -> dict[str, tuple[frozenset[str], frozenset[str]]]:
    """Every key → (URLs of the live documents holding it, those whose title holds it)."""
    meta, documents, times = index_files(site)
    urls = {n: entry[0] for n, entry in documents.items() if times[n] != DEAD_TIME}
    result = {}
    for shard in range(meta["shards"]):
        for key, value in payload(site / INDEX_DIR / f"shards/{shard:x}.js").items():
            assert ord(key[0]) % meta["shards"] == shard, (key, shard)
            everything, _, titled = value.partition(";")
            in_titles = set(decode(titled))
            numbers = decode(everything)
            assert in_titles <= set(numbers)
            holding = frozenset(urls[n] for n in numbers if n in urls)
            if holding:
                result[key] = (holding, frozenset(urls[n] for n in in_titles if n in urls))
    return result


def assert_same_search(site: Path, other: Path) -> None:
    assert live(site) == live(other)
    assert found(site) == found(other)


# -- the keys ---------------------------------------------------------------------------

TRICKY = [
    "",
    " ",
    "台",
    "台湾",
    "湾湾湾湾",
    "aaaa a",
    "  台  湾  ",
    "台，，湾。。",
    "𠀀",
    "𠀀𠀁𠀂 x𠀀",
    "Ｃｏｖｉｄ-19，台湾 香港。",
    "ﬁle ① ㈱ Straße İstanbul ΣΑΣ ς",
    "ｶﾞｷﾞ ⑴⑵ ¼½ ㍻ ™",
    "a\u0301e\u0300 \u1100\u1161",
    "x\u200by\ufeffz\u00ad\u2028\u3000end",
    "\x00\x1c\x85\t\n台",
    "\ud800台\udfff",
    "“习近平”说：「一带一路」……",
]


@pytest.mark.parametrize("text", TRICKY)
def test_the_builds_keys_are_keys(text: str) -> None:
    assert pair_keys(text) == keys(text)


def test_the_builds_keys_are_keys_on_random_text() -> None:
    rng = random.Random(20261121)
    pool = [*"台湾香港 ，。、-_aAzZ09", "\u3000", "ﬁ", "①", "İ", "Σ", "ｶ", "ﾞ", "𠀀", "\u0301"]
    for _ in range(2000):
        length = rng.randint(0, 30)
        text = "".join(
            rng.choice(pool) if rng.random() < 0.7 else chr(rng.randrange(0x110000))
            for _ in range(length)
        )
        assert pair_keys(text) == keys(text), repr(text)


# -- the index built from the store ---------------------------------------------------------


def store_with_articles(tmp_path: Path, count: int = 40) -> tuple[Store, Any]:
    config = store_config(tmp_path / "one", {"a": "甲报", "b": "乙台"})
    store = open_with_sources(config)
    for n in range(1, count + 1):
        insert(
            store,
            "a" if n % 2 else "b",
            n,
            START + timedelta(hours=8 * n),
            content=f"<p>第{n}段正文，讲述市民的周末。</p><p>{'台湾' if n % 3 else '香港'}消息</p>",
        )
    return store, config


def whole_build(store: Store, config: Any, tmp_path: Path) -> Path:
    """The same store built whole into a site of its own."""
    other = store_config(tmp_path / "two", {"a": "甲报", "b": "乙台"})
    build_site(store, other, everything=True, now=START + timedelta(days=60))
    return other.site.path


def update(store: Store, article_id: int, n: int, when: datetime, **changes: object) -> None:
    with store.transaction() as db:
        store.update_article(db, article_id, candidate(n, when, **changes), when)


def test_an_updated_index_finds_what_a_whole_build_finds(tmp_path: Path) -> None:
    store, config = store_with_articles(tmp_path)
    site = config.site.path
    first = build_site(store, config, now=START + timedelta(days=30))
    assert first.search is not None and first.search.full and first.search.added == 40

    insert(store, "a", 41, START + timedelta(days=20), content="<p>新来的文章，谈台湾经济。</p>")
    insert(store, "b", 42, START, content="<p>迟到的旧闻，写于香港。</p>")  # an old date
    update(store, 10, 10, START + timedelta(days=21), title="第10条新闻（更新）")
    report = build_site(store, config, now=START + timedelta(days=31)).search
    assert report is not None
    assert (report.full, report.added, report.removed, report.pages) == (False, 3, 1, 42)

    assert_same_search(site, whole_build(store, config, tmp_path))
    assert found(site)["经济"] == (frozenset({"articles/a/41.html"}), frozenset())
    assert "articles/b/10.html" in found(site)["更新"][1]


def test_an_updated_article_is_found_by_its_new_text_only(tmp_path: Path) -> None:
    store, config = store_with_articles(tmp_path, 6)
    site = config.site.path
    insert(store, "a", 7, START, title="暴雨来袭", content="<p>气象台发布暴雨预警。</p>")
    build_site(store, config, now=START + timedelta(days=30))
    url = "articles/a/7.html"
    assert found(site)["预警"] == (frozenset({url}), frozenset())
    assert url in found(site)["暴雨"][1]

    update(store, 7, 7, START + timedelta(days=1), title="晴天回来", content="<p>天气转晴。</p>")
    build_site(store, config, now=START + timedelta(days=31))
    now_found = found(site)
    assert "预警" not in now_found and "暴雨" not in now_found
    assert now_found["转晴"] == (frozenset({url}), frozenset())
    assert now_found["晴天"] == (frozenset({url}), frozenset({url}))
    assert live(site)[url][0] == "晴天回来"
    _, documents, times = index_files(site)
    assert list(times.values()).count(DEAD_TIME) == 1 and 0 in documents.values()


def test_an_unchanged_build_writes_no_index_file(tmp_path: Path) -> None:
    store, config = store_with_articles(tmp_path, 12)
    site = config.site.path
    build_site(store, config, now=START + timedelta(days=30))
    insert(store, "a", 13, START + timedelta(days=2))
    update(store, 3, 3, START + timedelta(days=3), content="<p>改过的正文。</p>")
    build_site(store, config, now=START + timedelta(days=31))
    before = snapshot(site / INDEX_DIR)
    for everything in (False, True):
        report = build_site(store, config, everything=everything, now=START + timedelta(days=32))
        assert report.written == ()
    # `newsmirror build` (everything) compacts an index updated in place: once.
    assert snapshot(site / INDEX_DIR) != before
    compacted = snapshot(site / INDEX_DIR)
    assert 0 not in index_files(site)[1].values(), "a whole build has no dead numbers"
    report = build_site(store, config, everything=True, now=START + timedelta(days=33))
    assert report.search is not None and report.search.written == 0
    assert snapshot(site / INDEX_DIR) == compacted
    assert_same_search(site, whole_build(store, config, tmp_path))


# -- the index from documents --------------------------------------------------------------


def documents_of(texts: dict[str, tuple[str, str, int]], version: str = "1") -> list[Document]:
    """url → (title, text, published minutes), in the order given."""
    return [
        Document(url, version, title, "源", minutes, f"d{minutes}")
        for url, (title, _, minutes) in texts.items()
    ]


def index(
    site: Path, texts: dict[str, tuple[str, str, int]], *, full: bool = False, version: str = "1"
) -> SearchIndexReport:
    site.mkdir(parents=True, exist_ok=True)
    return index_site(
        site,
        documents_of(texts, version),
        lambda chosen: (texts[d.url][1] for d in chosen),
        full=full,
    )


def random_texts(rng: random.Random, first: int, count: int) -> dict[str, tuple[str, str, int]]:
    """Texts of random CJK characters: many distinct keys, so shards fill up."""

    def chars(length: int) -> str:
        return "".join(chr(0x4E00 + rng.randrange(3000)) for _ in range(length))

    return {
        f"p/{n}.html": (chars(6), chars(2500) + "，台湾", 28_000_000 + n)
        for n in range(first, first + count)
    }


def test_shards_double_by_splitting_and_find_what_a_whole_build_finds(tmp_path: Path) -> None:
    rng = random.Random(7)
    texts = random_texts(rng, 0, 12)
    index(tmp_path / "one", texts)
    before = payload(tmp_path / "one" / INDEX_DIR / "meta.js")["shards"]
    assert before >= 2
    texts |= random_texts(rng, 12, 3 * 12)
    report = index(tmp_path / "one", texts)
    assert not report.full and report.added == 36
    after = payload(tmp_path / "one" / INDEX_DIR / "meta.js")["shards"]
    assert after >= 2 * before
    assert len(list((tmp_path / "one" / INDEX_DIR / "shards").iterdir())) == after
    index(tmp_path / "two", texts)
    assert_same_search(tmp_path / "one", tmp_path / "two")  # found() checks each key's shard


def test_a_missing_or_foreign_state_or_file_builds_the_index_whole(tmp_path: Path) -> None:
    site = tmp_path / "site"
    texts = {f"p/{n}.html": (f"标题{n}", f"第{n}篇，台湾与香港", 28_000_000 + n) for n in range(30)}
    index(site, texts)
    expected = snapshot(site / INDEX_DIR)
    folder = site / INDEX_DIR

    def damage_then_index(damage: Any) -> SearchIndexReport:
        damage()
        texts[f"p/{len(texts)}.html"] = ("新增", "新增的一篇", 28_100_000 + len(texts))
        return index(site, texts)

    (folder / STATE_FILE).unlink()
    assert damage_then_index(lambda: None).full
    (folder / "shards/0.js").unlink()
    assert damage_then_index(lambda: None).full
    state = json.loads((folder / STATE_FILE).read_text("utf-8"))
    state["format"] = 1
    (folder / STATE_FILE).write_text(json.dumps(state), "utf-8")
    assert damage_then_index(lambda: None).full
    # A file of the right size but other bytes is found when the update reads it.
    docs = folder / "docs/0.js"
    docs.write_bytes(docs.read_bytes().replace("标题1".encode(), "标题X".encode(), 1))
    assert damage_then_index(lambda: None).full
    index(tmp_path / "whole", texts)
    assert_same_search(site, tmp_path / "whole")
    assert snapshot(site / INDEX_DIR) != expected


def test_an_index_interrupted_half_way_is_built_whole_next_time(tmp_path: Path) -> None:
    site = tmp_path / "site"
    texts = {f"p/{n}.html": (f"标题{n}", f"第{n}篇，台湾", 28_000_000 + n) for n in range(10)}
    index(site, texts)
    texts |= {f"q/{n}.html": (f"新{n}", f"新的{n}篇，香港", 28_100_000 + n) for n in range(1200)}

    def failing(chosen: Sequence[Document]) -> Iterator[str]:
        for number, document in enumerate(chosen):
            if number == 700:  # past the first batch: some files are already written
                raise sqlite3.OperationalError("disk I/O error")
            yield texts[document.url][1]

    with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
        index_site(site, documents_of(texts), failing)
    assert not (site / INDEX_DIR / STATE_FILE).exists()
    assert not list((site / INDEX_DIR).glob(".*.tmp")), "spill files are removed"
    assert index(site, texts).full
    index(tmp_path / "whole", texts)
    assert_same_search(site, tmp_path / "whole")


def test_many_dead_numbers_rebuild_the_index_whole(tmp_path: Path) -> None:
    site = tmp_path / "site"
    texts = {f"p/{n}.html": (f"标题{n}", f"第{n}篇，台湾", 28_000_000 + n) for n in range(20)}
    index(site, texts)
    for n in range(4):  # a fifth of the numbers die: updated in place
        texts[f"p/{n}.html"] = (f"改{n}", "改过", 28_000_000 + n)
    assert not index(site, texts, version="1").full
    for n in range(4, 8):  # two fifths: whole again
        texts[f"p/{n}.html"] = (f"改{n}", "改过", 28_000_000 + n)
    report = index(site, texts)
    assert report.full and report.removed == 0
    assert DEAD_TIME not in index_files(site)[2].values()


def test_appended_runs_stay_few(tmp_path: Path) -> None:
    """A key in every document, one document a build, 100 builds: about log₂ runs."""
    site = tmp_path / "site"
    texts: dict[str, tuple[str, str, int]] = {}
    for n in range(100):
        texts[f"p/{n}.html"] = (f"第{n}", "台湾", 28_000_000 + n)
        index(site, texts)
    meta = payload(site / INDEX_DIR / "meta.js")
    shard = payload(site / INDEX_DIR / f"shards/{ord('台') % meta['shards']:x}.js")
    assert decode(shard["台湾"]) == list(range(100))
    assert shard["台湾"].count(".") <= 7


# -- the widget ------------------------------------------------------------------------------


def widget_page(site: Path) -> Path:
    page = site / "search.html"
    page.write_text(
        '<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>搜索</title>'
        + search_widget(""),
        encoding="utf-8",
    )
    return page


def test_results_are_titles_first_then_newest_in_the_browser(tmp_path: Path, browser: Any) -> None:
    site = tmp_path / "site"
    minute = 28_000_000
    texts = {
        "old-title.html": ("台湾旧闻", "正文", minute),
        "new-body.html": ("别的", "说到台湾", minute + 500),
        "tie-a.html": ("其一", "台湾甲", minute + 100),
        "tie-b.html": ("其二", "台湾乙", minute + 100),  # same minute: by number
        "new-title.html": ("台湾新闻", "正文", minute + 400),
        "elsewhere.html": ("香港", "香港", minute + 900),
    }
    index(site, texts)
    # Appended later, numbered last, but published in between: ordered by time.
    texts["middle.html"] = ("中间", "台湾中", minute + 300)
    texts["newest-title.html"] = ("台湾最新", "", minute + 50)
    assert not index(site, texts).full
    page = browser.new_page()
    page.goto(widget_page(site).as_uri())
    results = page.evaluate(
        "newsmirrorSearch.query('search-index/', '台湾').then(r => r.map(d => d.url))"
    )
    assert results == [
        "new-title.html",
        "newest-title.html",
        "old-title.html",
        "new-body.html",
        "middle.html",
        "tie-a.html",
        "tie-b.html",
    ]


def test_dead_documents_are_skipped_by_the_widget(tmp_path: Path, browser: Any) -> None:
    store, config = store_with_articles(tmp_path, 4)
    site = config.site.path
    insert(store, "a", 5, START, title="暴雨来袭", content="<p>气象台发布暴雨预警。</p>")
    build_site(store, config, now=START + timedelta(days=30))
    update(store, 5, 5, START, title="晴天回来", content="<p>天气转晴，暴雨不再。</p>")
    build_site(store, config, now=START + timedelta(days=31))
    with LocalServer(root=site) as server:
        page = browser.new_page()
        page.goto(server.url("/search.html?q=预警"))
        page.wait_for_function(
            "document.querySelector('.nm-search-status').textContent.includes('没有找到')"
        )
        assert page.locator(".nm-search-title").all_inner_texts() == []
        page.goto(server.url("/search.html?q=暴雨"))
        page.wait_for_selector(".nm-search-excerpt")
        assert page.locator(".nm-search-title").all_inner_texts() == ["晴天回来"]
        assert page.inner_text(".nm-search-status") == "找到 1 篇文章"
        assert page.locator(".nm-search-excerpt mark").first.inner_text() == "暴雨"
