"""The configuration: a TOML file read into frozen dataclasses, strictly validated.

Every error names the file and the key (``newsmirror.toml: source[2].slug: ...``);
an unknown key is an error, never silence, because a misspelt option that is
ignored is a mirror that quietly does the wrong thing for months.

This module never touches the network, the store or the archive.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import ConfigError
from .gitops import GitSettings
from .models import FetchSettings

CONFIG_ENV = "NEWSMIRROR_CONFIG"
DEFAULT_CONFIG_NAME = "newsmirror.toml"

LAYOUTS = ("jekyll", "markdown")
IMAGE_POLICIES = ("keep", "proxy", "mirror")
FILTER_FIELDS = ("category", "title")
# A slug becomes a folder name and part of URLs: keep it to a portable alphabet.
SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
DEFAULT_IMAGE_PROXY = "https://images.weserv.nl?url={url}"
# A news photo is rarely over 2 MB; 10 MiB leaves room for panoramas and refuses video.
DEFAULT_IMAGE_MAX_BYTES = 10 * 1024 * 1024
PROXY_PLACEHOLDERS = ("{url}", "{full_url}", "{quoted_url}")


@dataclass(frozen=True)
class Filters:
    """Regexes over an entry's categories and title (``re.search``, case-insensitive)."""

    category: re.Pattern[str] | None = None
    title: re.Pattern[str] | None = None

    def __bool__(self) -> bool:
        return self.category is not None or self.title is not None


@dataclass(frozen=True)
class SourceConfig:
    name: str
    slug: str
    url: str
    layouts: tuple[str, ...]
    full_text: bool = False
    selector: str | None = None
    include: Filters = field(default_factory=Filters)
    exclude: Filters = field(default_factory=Filters)
    id_pattern: re.Pattern[str] | None = None
    images: str = "keep"
    image_proxy: str = DEFAULT_IMAGE_PROXY


@dataclass(frozen=True)
class ArchiveConfig:
    path: Path
    store: Path
    layouts: tuple[str, ...] = LAYOUTS
    timezone: str = "Asia/Shanghai"
    images: str = "keep"
    image_proxy: str = DEFAULT_IMAGE_PROXY
    image_max_bytes: int = DEFAULT_IMAGE_MAX_BYTES
    # Hosts whose <iframe>s are kept (video players); None: the clean stage's default list.
    iframe_hosts: tuple[str, ...] | None = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class SiteConfig:
    path: Path
    title: str = "新闻镜像"


@dataclass(frozen=True)
class Config:
    path: Path  # the config file itself
    archive: ArchiveConfig
    site: SiteConfig
    fetch: FetchSettings
    sources: tuple[SourceConfig, ...]
    git: GitSettings = field(default_factory=GitSettings)

    def source(self, slug: str) -> SourceConfig:
        for source in self.sources:
            if source.slug == slug:
                return source
        raise KeyError(slug)


def find_config(explicit: str | os.PathLike[str] | None = None) -> Path:
    """``--config PATH``, else ``$NEWSMIRROR_CONFIG``, else ``./newsmirror.toml``."""
    if explicit:
        return Path(explicit)
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    return Path.cwd() / DEFAULT_CONFIG_NAME


def load_config(path: str | os.PathLike[str]) -> Config:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise ConfigError(path, "no such file (write one with `newsmirror init`)") from e
    except UnicodeDecodeError as e:
        raise ConfigError(path, f"not UTF-8 text ({e.reason} at byte {e.start})") from e
    except OSError as e:
        raise ConfigError(path, f"cannot be read: {e.strerror}") from e
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(path, f"not valid TOML: {e}") from e
    return parse_config(data, path)


def parse_config(data: Mapping[str, Any], path: Path) -> Config:
    """Validate a decoded TOML document; relative paths are relative to ``path``'s folder."""
    reader = _Reader(path)
    reader.no_unknown(data, ("archive", "site", "fetch", "git", "source"), "")
    base = path.resolve().parent

    archive_data = reader.table(data, "archive")
    reader.no_unknown(
        archive_data,
        (
            "path",
            "store",
            "layouts",
            "timezone",
            "images",
            "image_proxy",
            "image_max_bytes",
            "iframe_hosts",
        ),
        "archive.",
    )
    archive = ArchiveConfig(
        path=base / reader.string(archive_data, "path", "archive.", "archive"),
        store=base / reader.string(archive_data, "store", "archive.", "newsmirror.sqlite"),
        layouts=reader.layouts(archive_data, "archive.", LAYOUTS),
        timezone=reader.timezone(archive_data, "archive."),
        images=reader.choice(archive_data, "images", "archive.", IMAGE_POLICIES, "keep"),
        image_proxy=reader.proxy(archive_data, "archive.", DEFAULT_IMAGE_PROXY),
        image_max_bytes=int(
            reader.number(
                archive_data, "image_max_bytes", "archive.", DEFAULT_IMAGE_MAX_BYTES, 1024
            )
        ),
        iframe_hosts=reader.hosts(archive_data, "iframe_hosts", "archive."),
    )

    site_data = reader.table(data, "site")
    reader.no_unknown(site_data, ("path", "title"), "site.")
    site = SiteConfig(
        path=base / reader.string(site_data, "path", "site.", "site"),
        title=reader.string(site_data, "title", "site.", "新闻镜像"),
    )

    fetch = reader.fetch_settings(reader.table(data, "fetch"))
    # A [git] table turns committing on (enabled = false turns it off again).
    git = reader.git_settings(reader.table(data, "git"), present="git" in data)

    raw_sources = data.get("source", [])
    if not isinstance(raw_sources, list):
        raise ConfigError(path, "must be an array of tables ([[source]])", "source")
    sources = tuple(
        reader.source(raw, f"source[{i}].", archive) for i, raw in enumerate(raw_sources)
    )
    _no_duplicates(path, sources)
    return Config(path=path, archive=archive, site=site, fetch=fetch, sources=sources, git=git)


def _no_duplicates(path: Path, sources: tuple[SourceConfig, ...]) -> None:
    seen_slugs: dict[str, int] = {}
    seen_names: dict[str, int] = {}
    for i, source in enumerate(sources):
        if source.slug in seen_slugs:
            raise ConfigError(
                path,
                f"duplicate slug {source.slug!r} (also source[{seen_slugs[source.slug]}])",
                f"source[{i}].slug",
            )
        # A name is a file name too (lists/{name}.md), so it must be unique.
        if source.name in seen_names:
            raise ConfigError(
                path,
                f"duplicate name {source.name!r} (also source[{seen_names[source.name]}])",
                f"source[{i}].name",
            )
        seen_slugs[source.slug] = i
        seen_names[source.name] = i


class _Reader:
    """Typed access to TOML values, raising ConfigError that names file and key."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, message: str) -> ConfigError:
        return ConfigError(self.path, message, key)

    def no_unknown(self, table: Mapping[str, Any], known: tuple[str, ...], prefix: str) -> None:
        for key in table:
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                allowed = ", ".join(known)
                raise self.fail(prefix + key, f"unknown key{hint}; known keys: {allowed}")

    def table(self, data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(key, f"must be a table ([{key}]), not {_kind(value)}")
        return value

    def string(self, data: Mapping[str, Any], key: str, prefix: str, default: str) -> str:
        value = data.get(key, default)
        if not isinstance(value, str):
            raise self.fail(prefix + key, f"must be a string, not {_kind(value)}")
        if not value.strip():
            raise self.fail(prefix + key, "must not be empty")
        return value

    def optional_string(self, data: Mapping[str, Any], key: str, prefix: str) -> str | None:
        if key not in data:
            return None
        return self.string(data, key, prefix, "")

    def boolean(self, data: Mapping[str, Any], key: str, prefix: str, default: bool) -> bool:
        value = data.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(prefix + key, f"must be true or false, not {_kind(value)}")
        return value

    def number(
        self, data: Mapping[str, Any], key: str, prefix: str, default: float, minimum: float
    ) -> float:
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(prefix + key, f"must be a number, not {_kind(value)}")
        if value < minimum:
            raise self.fail(prefix + key, f"must be at least {minimum}, not {value}")
        return value

    def choice(
        self,
        data: Mapping[str, Any],
        key: str,
        prefix: str,
        choices: tuple[str, ...],
        default: str,
    ) -> str:
        value = self.string(data, key, prefix, default)
        if value not in choices:
            raise self.fail(prefix + key, f"must be one of {', '.join(choices)}, not {value!r}")
        return value

    def layouts(
        self, data: Mapping[str, Any], prefix: str, default: tuple[str, ...]
    ) -> tuple[str, ...]:
        value = data.get("layouts", list(default))
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(prefix + "layouts", 'must be a list of strings, e.g. ["markdown"]')
        for layout in value:
            if layout not in LAYOUTS:
                raise self.fail(
                    prefix + "layouts", f"unknown layout {layout!r}; known: {', '.join(LAYOUTS)}"
                )
        return tuple(dict.fromkeys(value))

    def timezone(self, data: Mapping[str, Any], prefix: str) -> str:
        value = self.string(data, "timezone", prefix, "Asia/Shanghai")
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise self.fail(
                prefix + "timezone", f"unknown time zone {value!r} (an IANA name, e.g. Asia/Taipei)"
            ) from e
        return value

    def proxy(self, data: Mapping[str, Any], prefix: str, default: str) -> str:
        value = self.string(data, "image_proxy", prefix, default)
        if not any(placeholder in value for placeholder in PROXY_PLACEHOLDERS):
            raise self.fail(
                prefix + "image_proxy",
                "must contain {url} (or {full_url}, {quoted_url}), where the image URL goes",
            )
        return value

    def hosts(self, data: Mapping[str, Any], key: str, prefix: str) -> tuple[str, ...] | None:
        if key not in data:
            return None
        value = data[key]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(prefix + key, 'must be a list of host names, e.g. ["www.youtube.com"]')
        for host in value:
            if "/" in host or ":" in host or " " in host:
                raise self.fail(prefix + key, f"{host!r} is not a host name (no scheme, no path)")
        return tuple(host.lower() for host in value)

    def url(self, data: Mapping[str, Any], prefix: str) -> str:
        if "url" not in data:
            raise self.fail(prefix + "url", "missing: every source needs the URL of its feed")
        value = self.string(data, "url", prefix, "").strip()
        if not re.match(r"^https?://[^/\s]+", value, re.IGNORECASE):
            raise self.fail(prefix + "url", f"must be an http:// or https:// URL, not {value!r}")
        return value

    def regex(self, value: Any, key: str) -> re.Pattern[str]:
        if not isinstance(value, str):
            raise self.fail(key, f"must be a regular expression string, not {_kind(value)}")
        try:
            return re.compile(value, re.IGNORECASE)
        except re.error as e:
            raise self.fail(key, f"not a valid regular expression: {e}") from e

    def filters(self, data: Mapping[str, Any], key: str, prefix: str) -> Filters:
        value = data.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(prefix + key, 'must be a table, e.g. { category = "regex" }')
        self.no_unknown(value, FILTER_FIELDS, f"{prefix}{key}.")
        return Filters(
            category=self.regex(value["category"], f"{prefix}{key}.category")
            if "category" in value
            else None,
            title=self.regex(value["title"], f"{prefix}{key}.title") if "title" in value else None,
        )

    def source(self, data: Any, prefix: str, archive: ArchiveConfig) -> SourceConfig:
        if not isinstance(data, dict):
            raise self.fail(prefix.rstrip("."), "must be a table")
        known = tuple(f.name for f in fields(SourceConfig))
        self.no_unknown(data, known, prefix)
        if "name" not in data:
            raise self.fail(prefix + "name", "missing: every source needs a name")
        if "slug" not in data:
            raise self.fail(prefix + "slug", 'missing: every source needs a slug, e.g. "voa"')
        slug = self.string(data, "slug", prefix, "")
        if not SLUG_PATTERN.match(slug):
            raise self.fail(
                prefix + "slug",
                f"{slug!r} is not a slug: use a-z, 0-9, '-' and '_' (it names folders and URLs)",
            )
        id_pattern = None
        if "id_pattern" in data:
            id_pattern = self.regex(data["id_pattern"], prefix + "id_pattern")
            if id_pattern.groups < 1:
                raise self.fail(
                    prefix + "id_pattern",
                    "must have a capturing group: the stable part, e.g. a-(\\d+)",
                )
        return SourceConfig(
            name=self.string(data, "name", prefix, "").strip(),
            slug=slug,
            url=self.url(data, prefix),
            layouts=self.layouts(data, prefix, archive.layouts),
            full_text=self.boolean(data, "full_text", prefix, False),
            selector=self.optional_string(data, "selector", prefix),
            include=self.filters(data, "include", prefix),
            exclude=self.filters(data, "exclude", prefix),
            id_pattern=id_pattern,
            images=self.choice(data, "images", prefix, IMAGE_POLICIES, archive.images),
            image_proxy=self.proxy(data, prefix, archive.image_proxy),
        )

    def git_settings(self, data: Mapping[str, Any], *, present: bool) -> GitSettings:
        known = ("enabled", "push", "remote", "branch", "author_name", "author_email")
        self.no_unknown(data, known, "git.")
        defaults = GitSettings()
        try:
            return GitSettings(
                enabled=self.boolean(data, "enabled", "git.", present),
                push=self.boolean(data, "push", "git.", False),
                remote=self.string(data, "remote", "git.", defaults.remote),
                branch=self.optional_string(data, "branch", "git."),
                author_name=self.string(data, "author_name", "git.", defaults.author_name),
                author_email=self.string(data, "author_email", "git.", defaults.author_email),
            )
        except ValueError as e:
            raise self.fail("git", str(e)) from e

    def fetch_settings(self, data: Mapping[str, Any]) -> FetchSettings:
        known = tuple(f.name for f in fields(FetchSettings))
        self.no_unknown(data, known, "fetch.")
        defaults = FetchSettings()
        p = "fetch."
        return FetchSettings(
            timeout=self.number(data, "timeout", p, defaults.timeout, 0.1),
            connect_timeout=self.number(data, "connect_timeout", p, defaults.connect_timeout, 0.1),
            retries=int(self.number(data, "retries", p, defaults.retries, 0)),
            backoff=self.number(data, "backoff", p, defaults.backoff, 0),
            max_backoff=self.number(data, "max_backoff", p, defaults.max_backoff, 0),
            max_bytes=int(self.number(data, "max_bytes", p, defaults.max_bytes, 1024)),
            max_redirects=int(self.number(data, "max_redirects", p, defaults.max_redirects, 0)),
            concurrency=int(self.number(data, "concurrency", p, defaults.concurrency, 1)),
            per_host=int(self.number(data, "per_host", p, defaults.per_host, 1)),
            user_agent=self.string(data, "user_agent", p, "newsmirror")
            if "user_agent" in data
            else defaults.user_agent,
        )


def _kind(value: Any) -> str:
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "an array",
        dict: "a table",
    }.get(type(value), type(value).__name__)
