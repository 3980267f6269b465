"""A reader in a real browser: `newsmirror demo`, then `newsmirror serve`, then Chromium.

The test opens the home page, follows an article, browses a source and a day,
finds the feeds, and runs a two-character Chinese search, asserting what the
pages show. Every request the browser makes is recorded: none may leave
127.0.0.1. Screenshots are saved in the test's temp folder.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from .browser import launch, needs_chromium
from .feedkit import SRC, cli, free_port

pytestmark = needs_chromium
SERVE_WAIT_SECONDS = 30


@pytest.fixture
def served_demo(tmp_path: Path) -> Iterator[str]:
    folder = tmp_path / "demo"
    result = cli("demo", str(folder))
    assert result.returncode == 0, result.stdout + result.stderr
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            *("-m", "newsmirror", "--config", str(folder / "newsmirror.toml")),
            *("serve", "--port", str(port)),
        ],
        env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + SERVE_WAIT_SECONDS
        while True:
            try:
                with urllib.request.urlopen(base, timeout=1) as answer:
                    assert answer.status == 200
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_reader_browses_reads_searches_and_subscribes(served_demo: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    requested: list[str] = []
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.on("request", lambda request: requested.append(request.url))

            # Home: the newest articles across sources.
            page.goto(served_demo)
            assert page.locator("h1").first.inner_text().startswith("新闻镜像")
            titles = page.locator("a[href*='articles/']").all_inner_texts()
            assert "大风蓝色预警解除，明天起气温逐步回升" in titles
            assert "本月讀書會選書：《霧中的燈塔》" in titles  # the Big5 source, decoded
            page.screenshot(path=str(tmp_path / "home.png"), full_page=True)

            # An article: its title, source, original link and body.
            page.get_by_role("link", name="大风蓝色预警解除，明天起气温逐步回升").first.click()
            page.wait_for_load_state("load")
            assert page.locator("h1").inner_text() == "大风蓝色预警解除，明天起气温逐步回升"
            assert page.get_by_role("link", name="晨光天气台").count() >= 1
            original = page.locator("a[href^='https://tianqi.example.org/']")
            assert original.count() >= 1, "the original link is shown"
            body = page.locator("article").inner_text()
            assert "预警" in body and len(body) > 100
            page.screenshot(path=str(tmp_path / "article.png"), full_page=True)

            # The article with the demo's mirrored picture shows it from the site itself.
            page.goto(served_demo)
            page.get_by_role("link", name="城东观测场迎来今年第一场“雾凇”").first.click()
            page.wait_for_load_state("load")
            sizes = page.eval_on_selector_all(
                "article img", "images => images.map(i => [i.currentSrc, i.naturalWidth])"
            )
            assert sizes and all(width > 0 for _, width in sizes), sizes
            assert all(urlsplit(src).hostname == "127.0.0.1" for src, _ in sizes)

            # Browse by source and by day.
            page.get_by_role("link", name="晨光天气台").first.click()
            page.wait_for_load_state("load")
            assert "晨光天气台" in page.locator("h1").inner_text()
            assert page.locator("a[href*='articles/tianqi/']").count() >= 7
            page.goto(served_demo + "days/index.html")
            page.locator("main a[href$='.html']").first.click()
            page.wait_for_load_state("load")
            assert page.locator("a[href*='articles/']").count() >= 1

            # Subscribe: the feeds are announced and valid.
            page.goto(served_demo)
            feeds = page.eval_on_selector_all(
                "link[rel=alternate]", "links => links.map(l => [l.type, l.href])"
            )
            types = {kind for kind, _ in feeds}
            assert {"application/atom+xml", "application/feed+json"} <= types
            atom = next(href for kind, href in feeds if kind == "application/atom+xml")
            with urllib.request.urlopen(atom, timeout=5) as answer:
                text = answer.read().decode("utf-8")
            assert "<feed" in text and "大风蓝色预警解除" in text

            # Search in Chinese, two characters: the article titled with it comes first.
            page.goto(served_demo + "search.html")
            page.fill(".nm-search-input", "预警")
            page.press(".nm-search-input", "Enter")
            page.wait_for_selector(".nm-search-result", timeout=15_000)
            results = page.locator(".nm-search-title").all_inner_texts()
            assert results[0] == "大风蓝色预警解除，明天起气温逐步回升"
            page.screenshot(path=str(tmp_path / "search.png"), full_page=True)

            # A word found only in an article's text, not in any title.
            page.fill(".nm-search-input", "雨量")
            page.press(".nm-search-input", "Enter")
            page.wait_for_function(
                "[...document.querySelectorAll('.nm-search-result')]"
                ".some(result => result.textContent.includes('雨量'))",
                timeout=15_000,
            )
            assert all(
                "雨量" not in title for title in page.locator(".nm-search-title").all_inner_texts()
            )
        finally:
            browser.close()

    outside = sorted({url for url in requested if urlsplit(url).hostname != "127.0.0.1"})
    assert outside == [], f"requests left 127.0.0.1: {outside}"
    assert len(requested) > 10
    for name in ("home.png", "article.png", "search.png"):
        assert (tmp_path / name).stat().st_size > 10_000
