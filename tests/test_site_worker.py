"""A big change of the search index is made in a worker process while the pages render."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest

from newsmirror.processes import usable_cores
from newsmirror.site import build_site
from newsmirror.site.build import PARALLEL_INDEX_AT

from .test_searchindex_incremental import START, found, store_with_articles


@pytest.mark.skipif(usable_cores() < 2, reason="a worker process needs a second core")
def test_a_big_build_indexes_in_a_worker_process(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    count = PARALLEL_INDEX_AT + 10
    store, config = store_with_articles(tmp_path, count)
    with caplog.at_level(logging.DEBUG, logger="newsmirror.site.build"):
        report = build_site(store, config, now=START + timedelta(days=900))
    assert "in a worker process" in caplog.text
    assert report.search is not None and report.search.full and report.search.added == count
    holding = {f"articles/{'a' if n % 2 else 'b'}/{n}.html" for n in range(1, count + 1) if n % 3}
    assert found(config.site.path)["台湾"][0] == frozenset(holding)
    # The pages were rendered meanwhile, and the flags cleared once both were done.
    assert len(list((config.site.path / "articles").rglob("*.html"))) == count
    assert store.site_dirty_ids() == []
