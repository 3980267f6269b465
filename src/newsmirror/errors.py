"""The exceptions newsmirror raises.

Every error names what it is about (a config file, a source, a URL) so that a
message shown to the user says where the problem is and what it is. Foreign
exceptions are translated into these at stage boundaries (``raise ... from e``).
"""

from __future__ import annotations


class NewsmirrorError(Exception):
    """Base of every error newsmirror raises on purpose."""


class ConfigError(NewsmirrorError):
    """The configuration file is missing, not TOML, or holds a bad value."""

    def __init__(self, path: object, message: str, key: str | None = None) -> None:
        self.path = str(path)
        self.key = key
        self.reason = message
        where = f"{self.path}: {key}: " if key else f"{self.path}: "
        super().__init__(where + message)


class FetchError(NewsmirrorError):
    """A URL could not be fetched (network, HTTP status, limits)."""

    def __init__(self, url: str, message: str, *, status: int | None = None) -> None:
        self.url = url
        self.status = status
        self.reason = message
        super().__init__(f"{url}: {message}")


class ParseError(NewsmirrorError):
    """A body could not be read as a feed."""

    def __init__(self, url: str, message: str) -> None:
        self.url = url
        self.reason = message
        super().__init__(f"{url}: {message}")


class StoreError(NewsmirrorError):
    """The store could not be opened, migrated or written."""

    def __init__(self, path: object, message: str) -> None:
        self.path = str(path)
        self.reason = message
        super().__init__(f"{self.path}: {message}")


class PublishError(NewsmirrorError):
    """An archive file could not be written."""

    def __init__(self, path: object, message: str) -> None:
        self.path = str(path)
        self.reason = message
        super().__init__(f"{self.path}: {message}")
