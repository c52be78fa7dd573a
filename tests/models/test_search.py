"""Search: Chinese by substring (two-character words too), English by word,
and no query syntax ever reaches FTS5 as syntax."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.models.search import index_tokens, match_query
from app.models.store import Store


@pytest.fixture
def filled(store: Store) -> Store:
    store.create("lesson_plan", {"title": "认识分数", "objectives": "Students compare fractions."},
                 author="a")
    store.create("lesson_plan", {"title": "小数的加法", "tags": ["计算"]}, author="a")
    store.create("training", {"title": "暑期集训", "topics": "课堂管理 and phonics"}, author="a")
    store.create("exchange", {"partner_school": "城关第一小学", "observations": "同课异构：分数"},
                 author="a")
    return store


def titles(store: Store, query: str) -> set[str]:
    return {row.cells[0] for row in store.search(query)}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("分数", {"认识分数", "城关第一小学"}),  # two-character word, in two kinds
        ("认识分数", {"认识分数"}),
        ("识分", {"认识分数"}),  # any substring
        ("分", {"认识分数", "城关第一小学"}),  # one character
        ("数", {"认识分数", "小数的加法", "城关第一小学"}),  # also at the end of a run
        ("集训", {"暑期集训"}),
        ("同课异构", {"城关第一小学"}),
        ("计算", {"小数的加法"}),
        ("fractions", {"认识分数"}),
        ("FRACTIONS", {"认识分数"}),
        ("frac", {"认识分数"}),  # the word still being typed
        ("phonics 课堂", {"暑期集训"}),  # mixed, all terms must match
        ("分数 phonics", set()),
        ("学生", set()),
    ],
)
def test_search_finds(filled: Store, query: str, expected: set[str]) -> None:
    assert titles(filled, query) == expected


def test_a_finished_word_is_not_a_prefix(filled: Store) -> None:
    assert titles(filled, "frac ") == set()


@pytest.mark.parametrize(
    "query", ['"', '""', "*", "-", "NEAR", "NEAR(分数", "(", ")", "a OR b", "分数*", "-分数",
              "'; DROP TABLE records; --", "^", ":", "col:分数", "AND", "NOT 分数", "\\", "{}", "\x00"],
)
def test_query_syntax_is_plain_text(filled: Store, query: str) -> None:
    filled.search(query)  # never raises


def test_special_characters_still_find_the_words_around_them(filled: Store) -> None:
    assert titles(filled, '"分数"') == {"认识分数", "城关第一小学"}
    assert titles(filled, "(分数)") == {"认识分数", "城关第一小学"}
    assert titles(filled, "-phonics") == {"暑期集训"}


def test_index_follows_edits(filled: Store) -> None:
    row = filled.search("暑期集训")[0]
    filled.update(row.id, {"title": "寒假培训"})
    assert titles(filled, "暑期") == set()
    assert titles(filled, "寒假") == {"寒假培训"}


def test_most_recently_changed_first(filled: Store) -> None:
    first = filled.search("分数")[-1]
    filled.update(first.id, {"homework": "练习册第5页"})
    assert filled.search("分数")[0].id == first.id


def test_tokens() -> None:
    assert index_tokens("认识分数 Unit 3", pinyin=False) == ["认识", "识分", "分数", "数", "unit", "3"]
    assert index_tokens("认识分数 Unit 3") == [
        "认识", "识分", "分数", "数", "unit", "3", "ren", "shi", "fen", "shu", "rs", "sf", "fs",
    ]
    assert index_tokens("的") == ["的", "de"]
    assert index_tokens("绿ノ") == ["绿ノ", "ノ", "lv"], "kana has no pinyin; ü is typed v"
    assert match_query("   ") is None
    assert match_query("!!!") is None


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30))
def test_any_query_is_safe(query: str) -> None:
    expression = match_query(query)
    if expression is not None:
        import sqlite3

        conn = sqlite3.connect(":memory:")
        conn.execute("CREATE VIRTUAL TABLE t USING fts5(body)")
        conn.execute("SELECT * FROM t WHERE t MATCH ?", (expression,)).fetchall()


@settings(max_examples=100, deadline=None)
@given(
    st.text(alphabet="认识分数小的加法学生课堂教", min_size=2, max_size=12),
    st.data(),
)
def test_every_chinese_substring_is_found(text: str, data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(text) - 1))
    end = data.draw(st.integers(start + 1, len(text)))
    tokens = " ".join(index_tokens(text))
    import sqlite3

    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5(body, tokenize='unicode61 remove_diacritics 2')")
    conn.execute("INSERT INTO t VALUES (?)", (tokens,))
    expression = match_query(text[start:end])
    assert expression is not None
    assert conn.execute("SELECT count(*) FROM t WHERE t MATCH ?", (expression,)).fetchone()[0] == 1


def test_edits_leave_no_stale_tokens_behind(filled: Store) -> None:
    """The index keeps no copy of the text, so removing an entry must use the
    values it was built from; check the raw index, not just the results."""
    import sqlite3

    row = filled.search("暑期集训")[0]
    filled.update(row.id, {"title": "寒假培训", "topics": "教研"})
    filled.delete(row.id)
    filled.restore(row.id)
    with sqlite3.connect(filled.path) as conn:
        raw = conn.execute(
            "SELECT count(*) FROM search_index WHERE search_index MATCH ?", ('"暑期"',)
        ).fetchone()[0]
        live = conn.execute("SELECT count(*) FROM search_index").fetchone()[0]
    assert raw == 0
    assert live == 4


# --- pinyin ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("fenshu", {"认识分数"}),  # full pinyin, one word
        ("FenShu", {"认识分数"}),
        ("fen shu", {"认识分数"}),  # syllables as words
        ("fs", {"认识分数"}),  # initials
        ("rsfs", {"认识分数"}),
        ("renshifenshu", {"认识分数"}),
        ("shifen", {"认识分数"}),  # any run of syllables, not only words
        ("fensh", {"认识分数"}),  # the last syllable still being typed
        ("xiaoshu", {"小数的加法"}),
        ("jisuan", {"小数的加法"}),  # a tag
        ("chengguan", {"城关第一小学"}),  # a partner school
        ("cgdyxx", {"城关第一小学"}),
        ("fenshu phonics", set()),
        ("shufen", set()),  # the syllables in another order
        ("fenshu ", {"认识分数"}),
        ("fensh ", set()),  # a finished word is no prefix, as in English
        ("fractions", {"认识分数"}),  # English is untouched
        ("tkyg", set()),  # 同课异构 is in a paragraph: no pinyin there
    ],
)
def test_pinyin_finds_chinese(filled: Store, query: str, expected: set[str]) -> None:
    assert titles(filled, query) == expected


def test_english_words_are_not_taken_for_initials(filled: Store) -> None:
    """"fs" is initials; "math" is a word (it has vowels), not 明安天活."""
    filled.create("lesson_plan", {"title": "明安天活"}, author="a")
    assert titles(filled, "math") == set()
    assert titles(filled, "mtah") == set()
    assert titles(filled, "mingantianhuo") == {"明安天活"}


def test_pinyin_follows_edits_and_leaves_nothing_behind(filled: Store) -> None:
    """Removing an entry of the contentless index must give back exactly the
    pinyin it was built with; FTS5's integrity check would see a mismatch."""
    import sqlite3

    row = filled.search("认识分数")[0]
    filled.update(row.id, {"title": "比较小数"})
    assert titles(filled, "renshi") == set()
    assert titles(filled, "bijiao") == {"比较小数"}
    filled.delete(row.id)
    assert titles(filled, "bijiao") == set()
    with sqlite3.connect(filled.path) as conn:
        for token in ("ren", "rs", "bi", "bj"):
            raw = conn.execute(
                "SELECT count(*) FROM search_index WHERE search_index MATCH ?", (f'"{token}"',)
            ).fetchone()[0]
            assert raw == 0, token
        conn.execute("INSERT INTO search_index (search_index, rank) VALUES ('integrity-check', 0)")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz ", max_size=45))
def test_any_letters_make_a_valid_bounded_query(query: str) -> None:
    import sqlite3

    expression = match_query(query)
    if expression is not None:
        assert expression.count(" OR ") <= 9 * (query.count(" ") + 1)
        conn = sqlite3.connect(":memory:")
        conn.execute("CREATE VIRTUAL TABLE t USING fts5(body)")
        conn.execute("SELECT * FROM t WHERE t MATCH ?", (expression,)).fetchall()


def test_an_older_store_gets_pinyin_on_upgrade(tmp_path: Path) -> None:
    """Schema step 6 re-indexes what version 5 indexed without pinyin."""
    import sqlite3

    from app.models import schema

    path = tmp_path / "fieldbook.db"
    conn = sqlite3.connect(path, isolation_level=None)
    schema.migrate(conn, 0, 5)
    conn.execute(
        "INSERT INTO records (id, kind, created_at, updated_at, title, versions) "
        "VALUES ('r1', 'lesson_plan', '2025-01-01T00:00:00+00:00', "
        "'2025-01-01T00:00:00+00:00', '认识分数', '{}')"
    )
    conn.execute("INSERT INTO search_index (body) VALUES (' 认识 识分 分数 数 ')")
    conn.execute("UPDATE records SET search_rowid = last_insert_rowid()")
    conn.close()
    store = Store.open(path, tmp_path / "backups")
    try:
        assert store.schema_version == schema.CURRENT_VERSION
        assert [r.id for r in store.search("fenshu")] == ["r1"]
        assert [r.id for r in store.search("分数")] == ["r1"]
        store.update("r1", {"title": "小数"})  # the rebuilt entry is removable
        assert [r.id for r in store.search("xiaoshu")] == ["r1"]
        assert store.search("fenshu") == []
    finally:
        store.close()
