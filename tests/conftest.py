"""Fixtures shared by the tests: a real HTTP server on 127.0.0.1, paths to shared data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from newsmirror.localserver import LocalServer

from .browser import CHROMIUM, launch

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CORPUS = SHARED / "corpus"
SEEDS = SHARED / "seeds"


def need_shared(path: Path) -> Path:
    """``path`` under ../shared, or skip: a fresh clone has no ../shared beside it."""
    if not path.exists():
        pytest.skip(f"{path} not present (../shared sits beside the checkout in CI only)")
    return path


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with LocalServer() as running:
        yield running


@pytest.fixture
def browser() -> Iterator[Any]:
    """A headless Chromium for one test (skipped where Debian's chromium is missing)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (Debian's chromium drives the browser tests)")
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        launched = launch(playwright)
        yield launched
        launched.close()
