"""Declared charset labels → the Python codecs that read what such documents really hold.

Shared by the feed parser and the article-page extractor, which meet the same
publishers' labels. GB2312 text in the wild holds GBK characters (镕 is not in
GB2312): GB labels are read as GB18030, the superset. For Big5, cp950 (what
Windows showed) gives the intended forms ("台﹑華視", U+FE51); big5hkscs adds
the Hong Kong characters cp950 lacks. Latin-1 and ASCII labels mean
windows-1252 (WHATWG Encoding Standard), with Latin-1 for the bytes it leaves
undefined.
"""

from __future__ import annotations

import codecs
from collections.abc import Mapping

GB = ("gb18030",)
BIG5 = ("cp950", "big5hkscs")
LATIN = ("cp1252", "latin-1")
CODEC_ALIASES: Mapping[str, tuple[str, ...]] = {
    **dict.fromkeys(("gb2312", "gbk", "x-gbk", "cp936", "euc-cn", "csgb2312", "gb18030"), GB),
    **dict.fromkeys(("big5", "big-5", "cn-big5", "x-x-big5", "csbig5", "cp950"), BIG5),
    **dict.fromkeys(("iso-8859-1", "latin1", "us-ascii", "ascii"), LATIN),
    "big5-hkscs": ("big5hkscs",),
}


def codecs_for(
    label: str | None, aliases: Mapping[str, tuple[str, ...]] = CODEC_ALIASES
) -> tuple[str, ...]:
    """Python codecs to try, in order, for a declared charset label; () when unknown."""
    name = (label or "").strip().lower()
    if name in aliases:
        return aliases[name]
    try:
        return (codecs.lookup(name).name,) if name else ()
    except LookupError:
        return ()
