"""The GitHub Actions workflow ``newsmirror init --github-actions`` writes.

The workflow runs ``newsmirror run`` on a schedule (and by hand), commits what
changed -- the store, which is the single source of truth between runs, and
the archive's files -- pushes it, then publishes the static site with GitHub
Pages (the repository's Pages source must be set to "GitHub Actions").

It installs newsmirror from PyPI (``pip install newsmirror``): the repository
it runs in is the user's mirror (a config, a store, an archive), not a checkout
of newsmirror itself. A repository holding the project can change that step to
``pip install .``.

Runs never overlap (``concurrency`` without cancelling): two runs pushing at
once would have one of them rejected, and a run cancelled half-way would leave
the store and the archive out of step.

This module writes one file and never runs anything.
"""

from __future__ import annotations

import re
from pathlib import Path

from .errors import PublishError

WORKFLOW_PATH = Path(".github") / "workflows" / "newsmirror.yml"
DEFAULT_PYTHON = "3.11"
# Every 30 minutes: news sites update all day; GitHub may delay scheduled runs anyway.
DEFAULT_CRON = "*/30 * * * *"
DEFAULT_SITE = "site"
PYTHON_VERSION = re.compile(r"^3\.\d{1,2}$")
# Five fields of digits, '*', '/', ',' and '-' (GitHub's cron: no names, no seconds).
CRON_FIELD = re.compile(r"^[0-9*/,-]+$")
CRON_FIELDS = 5
SITE_PATH = re.compile(r"^[A-Za-z0-9_./-]+$")

TEMPLATE = """\
# Written by `newsmirror init --github-actions`. Runs newsmirror on a schedule,
# commits the store and the archive, and publishes the site with GitHub Pages
# (Settings > Pages > Source: "GitHub Actions").
name: newsmirror

on:
  schedule:
    - cron: "@CRON@"
  workflow_dispatch:

# One run at a time, never cancelled half-way: runs push to the same branch.
concurrency:
  group: newsmirror
  cancel-in-progress: false

permissions:
  contents: write   # push the store and the archive
  pages: write      # deploy the site
  id-token: write   # required by actions/deploy-pages

jobs:
  mirror:
    runs-on: ubuntu-latest
    steps:
      - name: Check out the mirror
        uses: actions/checkout@v4
      - name: Set up Python
        uses: actions/setup-python@v5
        with:
          python-version: "@PYTHON@"
      - name: Install newsmirror
        # From PyPI; use `pip install .` in a repository holding newsmirror itself.
        run: pip install newsmirror
      - name: Fetch and archive
        run: newsmirror run
      - name: Commit and push the archive
        run: |
          git config user.name "github-actions[bot]"
          git config user.email "41898282+github-actions[bot]@users.noreply.github.com"
          git add -A
          git commit -m "newsmirror: archive $(date -u +%Y-%m-%dT%H:%MZ)" || true
          git push
      - name: Upload the site
        uses: actions/upload-pages-artifact@v3
        with:
          path: @SITE@

  pages:
    needs: mirror
    runs-on: ubuntu-latest
    environment:
      name: github-pages
      url: ${{ steps.deployment.outputs.page_url }}
    steps:
      - name: Deploy to GitHub Pages
        id: deployment
        uses: actions/deploy-pages@v4
"""


def workflow_yaml(
    *, python: str = DEFAULT_PYTHON, cron: str = DEFAULT_CRON, site: str = DEFAULT_SITE
) -> str:
    """The workflow's text; ``site`` is the site folder relative to the repository.

    Raises ValueError for a Python version, cron expression or path that would
    not survive being put in YAML as is.
    """
    if not PYTHON_VERSION.match(python):
        raise ValueError(f"not a Python version like 3.11: {python!r}")
    fields = cron.split()
    if len(fields) != CRON_FIELDS or not all(CRON_FIELD.match(field) for field in fields):
        raise ValueError(f"not a five-field cron expression like '*/30 * * * *': {cron!r}")
    if not SITE_PATH.match(site) or site.startswith("/") or ".." in site.split("/"):
        raise ValueError(f"not a relative folder path: {site!r}")
    return (
        TEMPLATE.replace("@CRON@", " ".join(fields))
        .replace("@PYTHON@", python)
        .replace("@SITE@", site)
    )


def write_workflow(
    repo_dir: Path,
    *,
    force: bool = False,
    python: str = DEFAULT_PYTHON,
    cron: str = DEFAULT_CRON,
    site: str = DEFAULT_SITE,
) -> Path:
    """Write ``.github/workflows/newsmirror.yml`` in ``repo_dir``; overwrite only with ``force``."""
    path = repo_dir / WORKFLOW_PATH
    if path.exists() and not force:
        raise PublishError(path, "already exists (--force overwrites it)")
    text = workflow_yaml(python=python, cron=cron, site=site)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
    except OSError as e:
        raise PublishError(path, f"cannot be written: {e.strerror}") from e
    return path
