"""newsmirror: a durable, readable mirror of news feeds.

from newsmirror import open_mirror
with open_mirror("newsmirror.toml") as mirror:
    mirror.run()
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("newsmirror")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"

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
