"""Benchmark of the static site build: a full build of 20,000 articles, then an incremental one.

    python bench/site_build.py [--articles 20000] [--sources 20] [--dir PATH]

Makes a store of ARTICLES articles (Chinese HTML bodies of 2-8 KB, written by
the generator below, over two years and SOURCES sources) in a temporary
folder (or DIR: pass a tmpfs such as /dev/shm to leave the disk out), builds
the whole site and prints pages per second, then adds 100 new articles and
prints how long the incremental build took and how many pages it rewrote.
Not run by the test suite.
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from newsmirror.config import load_config
from newsmirror.decide import Candidate, fingerprint
from newsmirror.site import build_site
from newsmirror.store import Store, open_store

START = datetime(2024, 11, 21, tzinfo=UTC)
SPAN = timedelta(days=730)

# -- a generator of Chinese news prose (our own words, no corpus) ----------------------------


def words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


PLACES = words(
    "北京 上海 香港 台北 广州 深圳 成都 武汉 重庆 西安 杭州 南京 天津 长沙 郑州 昆明 "
    "乌鲁木齐 拉萨 澳门 新加坡 东京 首尔 华盛顿 伦敦 柏林 巴黎 布鲁塞尔 日内瓦"
)
ACTORS = words(
    "市政府 国务院 外交部 商务部 教育部 卫生部门 地方法院 立法会 行政院 央行 统计局 "
    "环保组织 工会 律师协会 大学研究团队 科技公司 航空公司 港口管理局 消费者协会 "
    "联合国机构 欧盟委员会 世界卫生组织 人权团体 农民合作社 出租车司机 留学生 退休教师"
)
ACTIONS = words(
    "宣布 表示 批评 回应 否认 证实 呼吁 公布 暂停 恢复 调查 起诉 审议 通过 修订 "
    "推迟 取消 加强 放宽 限制 支持 反对 讨论 评估"
)
OBJECTS = words(
    "新的监管措施 住房补贴计划 出口管制 数据安全规定 公共卫生预案 最低工资标准 "
    "城市更新项目 网络审查政策 选举安排 预算草案 环境影响报告 疫苗接种计划 "
    "跨境贸易协议 劳动合同条例 新闻自由状况 学校课程改革 水资源分配方案 "
    "能源价格调整 交通基础设施投资 养老金制度"
)
CLAUSES = (
    "据知情人士透露，",
    "有分析人士指出，",
    "与此同时，",
    "值得注意的是，",
    "另一方面，",
    "在记者会上，",
    "根据官方公布的数据，",
    "多位受访者表示，",
    "截至发稿时，",
    "此前有报道称，",
    "评论人士认为，",
    "一名不愿具名的官员说，",
    "",
)
ENDINGS = (
    "，引发社会广泛关注。",
    "，但具体细节尚未公布。",
    "，预计将在下个月实施。",
    "，外界对此看法不一。",
    "，相关部门已经成立工作小组。",
    "，这是近年来少见的举措。",
    "，民众在社交媒体上展开热烈讨论。",
    "，专家呼吁保持理性。",
    "。",
)
TITLE_PATTERNS = (
    "{place}{actor}{action}{obj}",
    "{actor}就{obj}{action}立场",
    "焦点：{place}的{obj}之争",
    "{place}：{actor}{action}{obj}，{actor2}{action2}",
    "分析：{obj}背后的{place}难题",
)


class Prose:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def pick(self, choices: tuple[str, ...]) -> str:
        return self.rng.choice(choices)

    def title(self) -> str:
        return self.pick(TITLE_PATTERNS).format(
            place=self.pick(PLACES),
            actor=self.pick(ACTORS),
            actor2=self.pick(ACTORS),
            action=self.pick(ACTIONS),
            action2=self.pick(ACTIONS),
            obj=self.pick(OBJECTS),
        )

    def sentence(self) -> str:
        number = self.rng.randint(2, 980)
        unit = self.pick(("万人", "亿元", "个百分点", "家企业", "所学校", "起案件"))
        middle = f"{self.pick(ACTORS)}{self.pick(ACTIONS)}{self.pick(OBJECTS)}"
        if self.rng.random() < 0.4:
            middle += f"，涉及约{number}{unit}"
        return f"{self.pick(CLAUSES)}{self.pick(PLACES)}{middle}{self.pick(ENDINGS)}"

    def paragraph(self) -> str:
        text = "".join(self.sentence() for _ in range(self.rng.randint(2, 5)))
        if self.rng.random() < 0.2:
            keyword = self.pick(OBJECTS)
            text = text.replace(keyword, f"<strong>{keyword}</strong>", 1)
        if self.rng.random() < 0.15:
            n = self.rng.randint(1, 99999)
            text += f'（<a href="https://news.example.org/related/{n}.html">相关报道</a>）'
        return f"<p>{text}</p>"

    def body(
        self, article: int, *, size: tuple[int, int] = (2048, 8192), figures: bool = True
    ) -> str:
        """Paragraphs, headings, quotes (and figures) of about ``size`` bytes of UTF-8."""
        target = self.rng.randint(*size)
        parts: list[str] = []
        size = 0
        while size < target:
            roll = self.rng.random()
            if roll < 0.07:
                part = f"<h2>{self.title()}</h2>"
            elif roll < 0.12:
                part = f"<blockquote><p>{self.sentence()}</p></blockquote>"
            elif figures and roll < 0.17:
                n = self.rng.randint(1, 10**6)
                part = (
                    f'<figure><img src="https://img.example.org/{article % 97}/{n}.jpg" '
                    f'alt="{self.pick(PLACES)}街景" width="800" height="450">'
                    f"<figcaption>资料图片：{self.sentence()}</figcaption></figure>"
                )
            else:
                part = self.paragraph()
            parts.append(part)
            size += len(part.encode("utf-8"))
        return "\n".join(parts)


# -- the store ---------------------------------------------------------------------------------
def write_config(folder: Path, sources: int) -> Path:
    lines = [
        "[archive]",
        'path = "archive"',
        'store = "store.sqlite"',
        "",
        "[site]",
        'path = "site"',
        'title = "新闻镜像（测试）"',
    ]
    for n in range(sources):
        lines += [
            "",
            "[[source]]",
            f'name = "测试新闻台{n + 1:02d}"',
            f'slug = "source-{n + 1:02d}"',
            f'url = "https://feeds{n + 1}.example.org/rss.xml"',
        ]
    path = folder / "newsmirror.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def add_articles(
    store: Store, slugs: list[str], prose: Prose, numbers: range, *, recent: bool = False
) -> None:
    """Articles published at random over the two years, or (``recent``) ten minutes apart
    after them, as a run brings them."""
    newest = START + SPAN
    with store.transaction() as db:
        for n in numbers:
            if recent:
                published = newest + timedelta(minutes=10 * (n - numbers.start + 1))
            else:
                published = newest - SPAN * prose.rng.random()
            title = prose.title()
            link = f"https://www.example-news.org/a/{n}.html"
            content = prose.body(n)
            candidate = Candidate(
                key=f"guid-{n}",
                guid=f"guid-{n}",
                link=link,
                title=title,
                content=content,
                author=None,
                categories=(prose.pick(("国际", "中国", "港澳", "台湾", "财经", "评论")),),
                published_at=published,
                date_from_feed=True,
                fingerprint=fingerprint(title, link, content),
            )
            seen = published + timedelta(minutes=prose.rng.randint(1, 90))
            store.insert_article(db, prose.pick(tuple(slugs)), candidate, seen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=20_000)
    parser.add_argument("--sources", type=int, default=20)
    parser.add_argument("--dir", type=Path, default=None, help="where to work (default: temp dir)")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="newsmirror-site-bench-", dir=args.dir))
    try:
        config = load_config(write_config(folder, args.sources))
        store = open_store(config.archive.store)
        store.sync_sources((s.slug, s.name, s.url) for s in config.sources)
        slugs = [s.slug for s in config.sources]
        prose = Prose(20261121)
        started = time.perf_counter()
        add_articles(store, slugs, prose, range(1, args.articles + 1))
        size = config.archive.store.stat().st_size / 1e6
        print(
            f"store: {args.articles} articles, {args.sources} sources, {size:.0f} MB, "
            f"made in {time.perf_counter() - started:.1f} s ({folder})"
        )

        now = START + SPAN + timedelta(days=1)
        full = build_site(store, config, everything=True, now=now)
        pages = full.pages_written
        print(
            f"full build: {pages} pages in {full.seconds:.2f} s "
            f"({pages / full.seconds:,.0f} pages/s), {len(full.written)} files written"
        )

        again = build_site(store, config, everything=True, now=now)
        print(
            f"full build again, nothing changed: {again.seconds:.2f} s, "
            f"{len(again.written)} files written, {again.unchanged} unchanged"
        )

        add_articles(
            store, slugs, prose, range(args.articles + 1, args.articles + 101), recent=True
        )
        incremental = build_site(store, config, now=now + timedelta(hours=1))
        print(
            f"incremental build after 100 new articles: {incremental.seconds:.2f} s, "
            f"{incremental.pages_written} pages written, {incremental.unchanged} rendered "
            f"unchanged, {incremental.skipped} not rendered"
        )
        idle = build_site(store, config, now=now + timedelta(hours=1))
        print(f"incremental, nothing changed: {idle.seconds:.2f} s, {len(idle.written)} written")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak memory (the whole benchmark, store generation included): {peak:.0f} MB")
        store.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
