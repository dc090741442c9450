"""Text the command line puts into the books is clean text, or a one-line usage error
(issue #13, "Trust")."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from cli.context import CleanText, current_maker
from tests.integration.test_cli_support import huiquan, one_error_line


@pytest.mark.parametrize("name", ["bot\x1bname", "two\nlines", "c1\x9b", "nul\x00"])
def test_a_token_name_with_a_control_character_is_a_usage_error_and_creates_nothing(
    database_url: str, tmp_path: Path, name: str
) -> None:
    home = tmp_path / "home"
    assert huiquan(database_url, home, "init").exit_code == 0
    result = huiquan(database_url, home, "token", "create", "--role", "officer", "--name", name)
    assert result.exit_code == 2
    assert "must not contain control characters" in one_error_line(result)
    listed = huiquan(database_url, home, "token", "list")
    assert listed.stdout.strip() == "no tokens"


def test_clean_text_takes_tab_and_line_feed_only_when_multiline() -> None:
    with pytest.raises(click.BadParameter):
        CleanText().convert("a\tb", None, None)
    assert CleanText(multiline=True).convert("a\n\tb", None, None) == "a\n\tb"
    with pytest.raises(click.BadParameter, match="surrogate"):
        CleanText(multiline=True).convert("a\ud800", None, None)


def test_a_login_name_with_a_control_character_enters_the_books_visibly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOGNAME", "eve\x1b[2J")
    monkeypatch.setenv("USER", "eve\x1b[2J")
    assert current_maker() == "cli:eve\\u001b[2J"
