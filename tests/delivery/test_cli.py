"""`huiquan deliver`: one pass over the queue, with its settings from the environment; bad
settings are one `error:` line."""

from __future__ import annotations

from tests.delivery.conftest import give, new_donor, subscribe
from tests.integration.test_cli_support import huiquan, one_error_line
from usecases.delivery import RECEIPT_ISSUED


def test_one_pass_sends_what_is_due_and_says_so(books, receiver, smtp_server, database_url) -> None:
    subscribe(books, receiver, RECEIPT_ISSUED)
    give(books, new_donor(books, "陈美玲", email="mei@example.hk"), "100.00")
    env = {
        "HUIQUAN_PUBLIC_BASE_URL": "https://receipts.example.org",
        "HUIQUAN_SMTP_HOST": smtp_server.host,
        "HUIQUAN_SMTP_PORT": str(smtp_server.port),
        "HUIQUAN_SMTP_SECURITY": "none",
        "HUIQUAN_SMTP_FROM": "receipts@huiquan.example",
    }
    result = huiquan(database_url, books.home, "deliver", env=env)
    assert result.exit_code == 0, result.output
    assert "delivered: 2 sent, 0 failed, 0 bounced, 0 dead-lettered" in result.output
    assert len(receiver.got) == 1 and len(smtp_server.inbox.messages) == 1
    again = huiquan(database_url, books.home, "deliver", env={"HUIQUAN_SMTP_HOST": ""})
    assert "delivered: 0 sent" in again.output and "HUIQUAN_SMTP_HOST is not set" in again.output


def test_bad_settings_are_one_error_line(books, database_url) -> None:
    env = {"HUIQUAN_SMTP_HOST": "smtp.example.org", "HUIQUAN_SMTP_SECURITY": "ssl3"}
    line = one_error_line(huiquan(database_url, books.home, "deliver", env=env))
    assert "HUIQUAN_SMTP_SECURITY" in line


def test_the_serve_housekeeping_process_runs_the_worker(
    books, receiver, monkeypatch, capsys
) -> None:
    from cli.serve import _start_delivery

    subscribe(books, receiver, RECEIPT_ISSUED)
    give(books, new_donor(books, "甲"), "10.00")
    monkeypatch.setenv("HUIQUAN_PUBLIC_BASE_URL", "https://receipts.example.org")
    monkeypatch.delenv("HUIQUAN_SMTP_HOST", raising=False)
    stop = _start_delivery(books.engine, books.home, interval=0.1)
    try:
        receiver.wait_for(1, timeout=20)
    finally:
        stop.set()
    assert len(receiver.ids()) == 1
    monkeypatch.setenv("HUIQUAN_DELIVERY_MAX_ATTEMPTS", "many")
    assert _start_delivery(books.engine, books.home) is None
    assert "warning: delivery is off" in capsys.readouterr().err
