"""newsmirror: a durable, readable mirror of news feeds.

from newsmirror import open_mirror
with open_mirror("newsmirror.toml") as mirror:
    mirror.run()
"""

from __future__ import annotations

# The one place the version is written (pyproject.toml reads it from here):
# asking importlib.metadata at start-up cost every run 0.02 s.
__version__ = "0.1.0"

from .errors import (
    ConfigError,
    FetchError,
    NewsmirrorError,
    ParseError,
    PublishError,
    StoreError,
)
from .mirror import Mirror, open_mirror

__all__ = [
    "ConfigError",
    "FetchError",
    "Mirror",
    "NewsmirrorError",
    "ParseError",
    "PublishError",
    "StoreError",
    "__version__",
    "open_mirror",
]
