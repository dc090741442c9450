"""The one rule for text entering the books, and how exports show text already in them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.text import text_problem, visible


@pytest.mark.parametrize(
    "value",
    ["esc\u001bhere", "nul\x00", "del\x7f", "c1\x85next", "bell\x07", "cr\r", "lone \ud800"],
)
def test_control_characters_and_lone_surrogates_are_refused(value: str) -> None:
    assert text_problem(value) is not None
    assert text_problem(value, multiline=True) is not None


def test_tab_and_line_feed_only_where_a_field_allows_several_lines() -> None:
    assert text_problem("line one\nline two\tcolumn") is not None
    assert text_problem("line one\nline two\tcolumn", multiline=True) is None


def test_the_problem_names_the_character_and_where_it_is() -> None:
    assert text_problem("esc\u001bhere") == (
        "must not contain control characters (U+001B at character 4)"
    )


def test_ordinary_text_in_every_script_is_accepted() -> None:
    for value in ["锦江·归来荟 汇泉路社区", "炉霍县 ཕྲག་མདོ།", "Ünïcødé — 😀", "=SUM(A1)", ""]:
        assert text_problem(value) is None


def test_visible_escapes_what_the_rule_refuses() -> None:
    assert visible("esc\u001bhere") == "esc\\u001bhere"
    assert visible("a\nb\tc") == "a\nb\tc"
    assert visible("a\nb", multiline=False) == "a\\u000ab"
    assert visible("lone \ud800") == "lone \\ud800"


@given(st.text())
def test_visible_text_always_passes_the_rule(value: str) -> None:
    assert text_problem(visible(value), multiline=True) is None
    visible(value).encode("utf-8")  # never raises: nothing unencodable is left
