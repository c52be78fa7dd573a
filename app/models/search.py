"""Full-text search that finds Chinese by substring and English by word.

SQLite's FTS5 has no Chinese word splitter, and its trigram tokenizer cannot
find two-character words (分数, 教案), which are most Chinese words. So we
split text ourselves before it reaches FTS5:

* a run of CJK characters becomes its overlapping pairs plus its last
  character: 认识分数 -> 认识 识分 分数 数. A query of two or more characters is
  then the phrase of its pairs (分数 -> "分数"; 识分数 -> "识分 分数"), which
  matches exactly the texts containing it; one character is a prefix query
  ("分"*), which every pair starting with it and every run ending with it hits.
* any other run of letters or digits is a lower-cased word; the last word of
  a query still being typed matches as a prefix (search-as-you-type).
* the Chinese of the one-line fields (titles, names, tags) is also indexed by
  its pinyin, so a teacher without a Chinese input method at hand finds 分数
  by ``fenshu``, ``fen shu`` or its initials ``fs``: each character's toneless
  syllable (``fen shu``) and the overlapping pairs of their initials (``fs``).
  A query word of plain letters is then also tried as the syllables it can be
  split into (``fenshu`` -> "fen shu", the last one a prefix while it is
  being typed) and, if it has no vowel, as initials. Each character takes
  pypinyin's default reading, without phrase context (行 is always ``xing``):
  the phrase dictionary would cost ~45 MB of memory and make indexing ~30x
  slower for a few heteronyms.

Every query token is quoted, so characters FTS5 treats as syntax (quotes,
``*``, ``-``, parentheses, NEAR, AND/OR/NOT) are searched as plain text and
never raise an error.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import re
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

# Single-character readings are all we use: skip loading pypinyin's phrase
# dictionary (~45 MB). Must be set before pypinyin is first imported.
os.environ.setdefault("PYPINYIN_NO_PHRASES", "true")

from pypinyin import Style, lazy_pinyin
from pypinyin.contrib.tone_convert import to_normal
from pypinyin.pinyin_dict import pinyin_dict

from app.models.fields import FieldType, kind_spec

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0002fa1f"
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"
_TOKEN = re.compile(f"([{_CJK}]+)|([^\\W_{_CJK}]+)")
_CJK_RUN = re.compile(f"[{_CJK}]+")
_HAN_CHAR = re.compile(f"[{_HAN}]")
_LETTERS = re.compile("[a-z]+")
_VOWEL = re.compile("[aeiouv]")
# A query word is tried as pinyin only up to these sizes: beyond them it is
# English (or a paste), and the alternatives would only slow the query down.
PINYIN_WORD_MAX = 40
INITIALS_MAX = 8
SEGMENTATIONS_MAX = 8
# Pinyin is indexed for the one-line fields only: titles, names, classes,
# units, places, tags — what a teacher looks a record up by. In paragraphs
# it would be noise (the initials "fs" are 方式, 发生, 反思… in nearly every
# long text) and cost much disk: on 5,000 generated records the index grows
# 7.4 -> 8.1 MB this way, 7.4 -> 17.5 MB with every field (docs/benchmarks.md).
PINYIN_TYPES = frozenset({FieldType.TEXT, FieldType.TAGS})


@functools.cache
def syllable(char: str) -> str:
    """The toneless pinyin of one Chinese character (``分`` -> ``fen``; ü is
    ``v``, as typed), or ``""`` if pypinyin has no reading for it."""
    reading = lazy_pinyin(char, style=Style.NORMAL, errors="ignore")
    text = reading[0] if reading else ""
    return text if _LETTERS.fullmatch(text) else ""


@functools.cache
def _syllables() -> frozenset[str]:
    """Every syllable some character reads as by default (415 of them)."""
    firsts = {readings.split(",", 1)[0] for readings in pinyin_dict.values()}
    return frozenset(s for s in map(to_normal, firsts) if _LETTERS.fullmatch(s))


@functools.cache
def _syllable_prefixes() -> frozenset[str]:
    return frozenset(s[:end] for s in _syllables() for end in range(1, len(s) + 1))


def _pinyin_words(run: str) -> str:
    """The pinyin part of the index for one CJK run: syllables, then initial
    pairs, for each stretch of characters that have a reading."""
    words: list[str] = []
    stretch: list[str] = []
    for char in run + "\0":
        spoken = syllable(char) if _HAN_CHAR.match(char) else ""
        if spoken:
            stretch.append(spoken)
            continue
        if stretch:
            words.extend(stretch)
            words.extend(a[0] + b[0] for a, b in itertools.pairwise(stretch))
            stretch = []
    return " ".join(words)


def _pairs(match: re.Match[str]) -> str:
    run = match[0]
    return " " + " ".join(map(str.__add__, run, run[1:])) + " " + run[-1] + " "


def prepare(text: str) -> str:
    """Text as stored in the index: every CJK run becomes its pairs and its
    last character, padded with spaces (认识分数 -> " 认识 识分 分数 数 "); words
    are left to FTS5's unicode61 tokenizer, which also lower-cases them.
    One regex pass with ``map`` for the pairs: ~3x faster than a token loop."""
    return _CJK_RUN.sub(_pairs, text)


def pinyin_text(text: str) -> str:
    """The pinyin of every Chinese run in ``text``, as indexed
    (认识分数 -> "ren shi fen shu rs sf fs")."""
    return " ".join(filter(None, map(_pinyin_words, _CJK_RUN.findall(text))))


def index_tokens(text: str, *, pinyin: bool = True) -> list[str]:
    """The tokens FTS5 will see for ``text`` (for tests and explanations)."""
    body = prepare(text) + (" " + pinyin_text(text) if pinyin else "")
    return [t.lower() for t in re.findall(r"[^\W_]+", body)]


def _quote(token: str) -> str:
    return '"' + token.replace('"', '""') + '"'


def match_query(query: str) -> str | None:
    """The FTS5 MATCH expression for what the user typed, or None if nothing
    in it can be searched (only punctuation or spaces)."""
    matches = list(_TOKEN.finditer(query))
    still_typing = bool(query) and not query[-1].isspace()
    terms: list[str] = []
    for position, match in enumerate(matches):
        cjk, word = match.groups()
        if cjk:
            if len(cjk) == 1:
                terms.append(_quote(cjk) + "*")
            else:
                pairs = [cjk[i : i + 2] for i in range(len(cjk) - 1)]
                terms.append(_quote(" ".join(pairs)))
        else:
            last = position == len(matches) - 1 and match.end() == len(query)
            terms.append(_word_term(word.lower(), typing=last and still_typing))
    # Explicit AND: FTS5 takes no implicit AND before a parenthesis.
    return " AND ".join(terms) if terms else None


def _word_term(word: str, *, typing: bool) -> str:
    """A word, or the same letters as pinyin: syllables, or initials — a word
    of two or more consonants (``fs``, ``jxsj``) is taken as the initials of
    as many characters; English words have vowels and are never read so."""
    options = [_quote(word) + ("*" if typing else "")]
    if _LETTERS.fullmatch(word) and len(word) <= PINYIN_WORD_MAX:
        readings = _segmentations(word, typing=typing)
        for parts in readings:
            if parts != [word]:
                options.append(_quote(" ".join(parts)) + ("*" if typing else ""))
        if 2 <= len(word) <= INITIALS_MAX and not _VOWEL.search(word):
            options.append(_quote(" ".join(map(str.__add__, word, word[1:]))))
    options = list(dict.fromkeys(options))
    return options[0] if len(options) == 1 else "(" + " OR ".join(options) + ")"


def _segmentations(word: str, *, typing: bool) -> list[list[str]]:
    """Ways to read ``word`` as pinyin syllables, longest syllables first, at
    most SEGMENTATIONS_MAX (xian: xian, xi an). While typing, the last part
    may be the start of a syllable (fensh: fen sh…)."""
    syllables, prefixes = _syllables(), _syllable_prefixes()
    size = len(word)
    # ends[i]: where a part starting at i may end and still leave a readable rest.
    ends: list[list[int]] = [[] for _ in range(size + 1)]
    readable = [False] * size + [True]
    for start in range(size - 1, -1, -1):
        for end in range(size, start, -1):
            part = word[start:end]
            last_ok = end == size and typing and part in prefixes
            if (part in syllables or last_ok) and readable[end]:
                ends[start].append(end)
        readable[start] = bool(ends[start])
    return list(itertools.islice(_walk(word, 0, ends), SEGMENTATIONS_MAX))


def _walk(word: str, start: int, ends: list[list[int]]) -> Iterator[list[str]]:
    if start == len(word):
        yield []
        return
    for end in ends[start]:
        for rest in _walk(word, end, ends):
            yield [word[start:end], *rest]


def _field_texts(
    kind: str, values: Mapping[str, Any], types: frozenset[FieldType] | None = None
) -> Iterable[str]:
    for spec in kind_spec(kind).fields:
        if not spec.searchable or (types is not None and spec.type not in types):
            continue
        value = values.get(spec.name)
        if not value:
            continue
        if spec.type is FieldType.STEPS:
            for step in value:
                yield from (str(step.get(k) or "") for k in ("phase", "teacher", "students"))
        elif spec.type is FieldType.TAGS:
            yield from (str(tag) for tag in value)
        else:
            yield str(value)


def index_body(kind: str, values: Mapping[str, Any]) -> str:
    """The pre-split text stored in the FTS table for one record: every
    searchable field, then the pinyin of the one-line ones (PINYIN_TYPES)."""
    body = prepare("\n".join(_field_texts(kind, values)))
    pinyin = pinyin_text("\n".join(_field_texts(kind, values, PINYIN_TYPES)))
    return body + " " + pinyin if pinyin else body


def searchable_columns(kind: str) -> list[str]:
    return [f.name for f in kind_spec(kind).fields if f.searchable]


def rebuild_index(conn: sqlite3.Connection) -> None:
    """Re-index every live record from scratch (used by schema upgrades).

    Runs inside the caller's transaction on a plain sqlite3 connection.
    """
    columns_of = {
        row[1] for row in conn.execute("SELECT * FROM pragma_table_xinfo('search_index')")
    }
    contentless = "record_id" not in columns_of
    if contentless:
        conn.execute("INSERT INTO search_index (search_index) VALUES ('delete-all')")
    else:
        conn.execute("DELETE FROM search_index")
    # An early upgrade step runs before later steps add their columns (v7's notes).
    present = {row[1] for row in conn.execute("SELECT * FROM pragma_table_info('records')")}
    for kind in ("lesson_plan", "training", "exchange"):
        spec = kind_spec(kind)
        columns = [c for c in searchable_columns(kind) if c in present]
        json_columns = {
            f.name for f in spec.fields if f.type in (FieldType.STEPS, FieldType.TAGS)
        }
        rows = conn.execute(
            f"SELECT id, {', '.join(columns)} FROM records WHERE kind = ? AND NOT deleted",
            (kind,),
        ).fetchall()
        for row in rows:
            values = {
                name: json.loads(raw) if name in json_columns and raw else raw
                for name, raw in zip(columns, row[1:], strict=True)
            }
            body = index_body(kind, values)
            if contentless:
                cursor = conn.execute("INSERT INTO search_index (body) VALUES (?)", (body,))
            else:  # schema version 2 kept the record id in the index
                cursor = conn.execute(
                    "INSERT INTO search_index (record_id, body) VALUES (?, ?)", (row[0], body)
                )
            conn.execute(
                "UPDATE records SET search_rowid = ? WHERE id = ?", (cursor.lastrowid, row[0])
            )
