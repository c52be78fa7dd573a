"""Reading a date the way teachers type one.

Teachers write dates as 2026-07-20, 2026/7/20, 2026.7.20, 2026年7月20日 or
just 20260720, often with a Chinese input method that gives full-width digits
(２０２６／７／２０). One parser reads them all, so every date field and filter
agrees on what a typed date means. It needs no Qt: the widgets call it, and it
is tested on its own.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

# year, separator, month, separator, day: the separators are - / . or 年 月 (日 may follow)
_SEPARATED = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_DIGITS_ONLY = re.compile(r"(\d{4})(\d{2})(\d{2})")


def parse_date(text: str) -> dt.date:
    """The date ``text`` names; ``ValueError`` if it names none (garbage, or a
    day that does not exist such as 2026-02-30). Surrounding spaces are ignored."""
    normal = unicodedata.normalize("NFKC", text).strip()
    match = _SEPARATED.fullmatch(normal) or _DIGITS_ONLY.fullmatch(normal)
    if match is None or not _only_chinese_marks(normal):
        raise ValueError(f"not a date: {text!r}")
    year, month, day = (int(part) for part in match.groups())
    return dt.date(year, month, day)  # raises ValueError for a day that does not exist


def _only_chinese_marks(text: str) -> bool:
    """Non-ASCII characters allowed in a date: 年 月 日 (NFKC already made
    full-width digits and separators ASCII; other scripts' digits are refused)."""
    return all(char.isascii() or char in "年月日" for char in text)


__all__ = ["parse_date"]
