"""Article HTML as the site shows it: pure string transforms of already cleaned HTML.

Two things change between the store's cleaned content and a site page:

- images follow the source's policy (``images.rewrite_images``): ``keep`` as
  stored, ``proxy`` through the template, ``mirror`` pointing at the copy in
  the site's ``assets/`` by a path relative to the page;
- embedded players (``<iframe>``, ``<video>``, ``<audio>``) whose media is on
  another host become a plain link to it. The site loads nothing from other
  hosts (SPEC.md step 8): a reader behind a firewall gets a link, not a
  frame that hangs, and nobody learns who read the page. Images under
  ``keep`` (and the proxy's under ``proxy``) are the operator's explicit choice
  and the only remote loads left.

Every other byte is kept. This is not a sanitizer: ``clean`` made the HTML
safe before it was stored.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from ..htmlrewrite import iter_start_tags
from ..images import rewrite_images

# Elements that load media from their src (or their <source>/<track> children's).
EMBED_TAGS = frozenset({"iframe", "video", "audio"})
MEDIA_CHILDREN = frozenset({"source", "track"})
_EMBED_HINT = re.compile(r"<(?:iframe|video|audio)", re.IGNORECASE)
_END_TAGS = {
    name: re.compile(rf"</{name}(?:[\t\n\f\r /][^>]*)?>", re.IGNORECASE | re.ASCII)
    for name in EMBED_TAGS
}
EMBED_LABELS = {"iframe": "外部内容", "video": "外部视频", "audio": "外部音频"}


def site_content(
    content: str, policy: str, *, proxy_template: str, local: Mapping[str, str], prefix: str
) -> str:
    """``content`` for a site file whose way back to the site folder is ``prefix``."""
    shown = rewrite_images(
        content, policy, proxy_template=proxy_template, local=local, prefix=prefix
    )
    return embeds_as_links(shown)


def embeds_as_links(content: str) -> str:
    """Each iframe, video or audio element showing a remote URL becomes a link to it.

    ``<iframe src="https://www.youtube.com/embed/x"></iframe>`` →
    ``<a class="embed" href="https://www.youtube.com/embed/x">外部内容：www.youtube.com</a>``.
    An element without its end tag (never in cleaned HTML) loses its start tag only.
    """
    if not _EMBED_HINT.search(content):
        return content
    parts: list[str] = []
    done = 0  # content[:done] is in parts
    for tag in iter_start_tags(content):
        if tag.start < done or tag.name not in EMBED_TAGS:
            continue
        urls = [a.value.strip() for a in tag.attributes if a.name == "src"]
        end_match = _END_TAGS[tag.name].search(content, tag.end)
        end = end_match.end() if end_match else tag.end
        if tag.name != "iframe" and end_match:
            inner = content[tag.end : end_match.start()]
            urls += [
                a.value.strip()
                for child in iter_start_tags(inner)
                if child.name in MEDIA_CHILDREN
                for a in child.attributes
                if a.name == "src"
            ]
        remote = [url for url in urls if is_remote(url)]
        if not remote:
            continue
        parts.append(content[done : tag.start])
        parts.append(_link(tag.name, remote[0]))
        done = end
    parts.append(content[done:])
    return "".join(parts)


def is_remote(url: str) -> bool:
    """An http(s) URL or a scheme-relative one: something loaded from another host."""
    lowered = url.strip().lower()
    return lowered.startswith(("http://", "https://", "//"))


def _link(tag: str, url: str) -> str:
    target = "https:" + url if url.startswith("//") else url
    host = urlsplit(target).hostname or target
    return (
        f'<a class="embed" href="{html.escape(target)}" rel="noopener noreferrer">'
        f"{EMBED_LABELS[tag]}：{html.escape(host)}</a>"
    )


def http_link(url: str) -> str | None:
    """``url`` when it is an absolute http(s) URL a page may link to, else None.

    An article's link is whatever its feed said; ``javascript:`` must never
    become an ``href``.
    """
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() in ("http", "https") and parts.netloc:
        return url
    return None
