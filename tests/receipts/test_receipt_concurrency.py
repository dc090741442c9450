"""Gapless serials when many officers record gifts at once, through the HTTP API."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from flask import Flask

from tests.receipts.conftest import TODAY, Books, donation

THREADS, GIFTS_EACH = 8, 6


@pytest.mark.postgres_only
def test_concurrent_donations_take_gapless_distinct_serials_on_postgresql(
    app: Flask, books: Books, tokens: dict[str, str]
) -> None:
    serials: list[str] = []
    failures: list[Any] = []
    start = threading.Barrier(THREADS)

    def officer_at_work(n: int) -> None:
        client = app.test_client()
        headers = {"Authorization": f"Bearer {tokens['officer']}"}
        start.wait()
        for i in range(GIFTS_EACH):
            response = client.post(
                "/api/v1/donations",
                json=donation(books, f"{n + 1}.{i:02d}"),
                headers={**headers, "Idempotency-Key": f"t{n}-g{i}"},
            )
            if response.status_code != 201:
                failures.append(response.get_json())
                continue
            serials.append(response.get_json()["receipt"]["serial"])

    threads = [threading.Thread(target=officer_at_work, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    total = THREADS * GIFTS_EACH
    assert sorted(serials) == [f"HQ-{TODAY.year}-{n:06d}" for n in range(1, total + 1)]
