"""`huiquan demo` shows the programmes: needs in every state with their offers, services with
sign-ups, recurring sponsorships with instalments due, reachable from the landing page."""

from __future__ import annotations

from pathlib import Path

from tests.integration.test_cli_support import huiquan
from usecases import community, recurring
from usecases.books import load_pseudonym_secret, open_books
from web.app import create_app as create_web_app


def test_the_demo_has_needs_in_every_state_services_and_sponsorships(
    database_url: str, tmp_path: Path, engine: object
) -> None:
    home = tmp_path / "home"
    result = huiquan(database_url, home, "demo", "--seed", "7")
    assert result.exit_code == 0, result.output
    assert "needs board: 8 needs" in result.stdout
    books = open_books(engine, home, pseudonym_secret=load_pseudonym_secret(home))  # type: ignore[arg-type]
    needs = community.list_needs(books, public=False)
    assert all(n > 0 for n in community.board_counts(needs).values())
    assert all(n.offers for n in needs if n.status in ("answered", "fulfilled", "reported"))
    services = community.list_services(books)
    assert len(services) == 3 and sum(s.signed_up for s in services) == 53
    assert community.person_times_served(books) == 27
    schedules = recurring.list_schedules(books)
    assert len(schedules) == 3 and recurring.reminders(books)
    app = create_web_app({"DATABASE_URL": database_url, "HUIQUAN_HOME": str(home), "TESTING": True})
    try:
        client = app.test_client()
        landing = client.get("/").get_data(as_text=True)
        assert 'href="/needs"' in landing and 'href="/services"' in landing
        board = client.get("/needs").get_data(as_text=True)
        assert "社区图书角添置儿童绘本" in board and "示例联系人" not in board
        assert "小区门口安装收费道闸" not in board  # declined: never on the board
    finally:
        app.extensions["huiquan"].engine.dispose()
