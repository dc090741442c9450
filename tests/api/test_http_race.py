"""Races through the whole HTTP stack: gunicorn with 4 worker processes.

Forty disbursements hit one fund at once, more than its cash can pay (on PostgreSQL). The books'
writer lock serialises them, so exactly the ones that fit are posted: no overdraft, no lost or
doubled entry, and every 201 is one entry. And concurrent duplicates of one donation (the same
`Idempotency-Key`) from several processes post one entry (on both engines).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from ledger.integrity import verify_books
from ledger.storage.db import make_engine
from ledger.storage.unit_of_work import read_only
from tests.api.conftest import TODAY
from usecases.tokens import create_token

ROOT = Path(__file__).parents[2]
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """gunicorn (4 workers) serving the test database; its base URL and a token per role."""
    engine = make_engine(database_url)
    tokens = {r: create_token(engine, role=r, name=f"{r}-http") for r in ("admin", "officer")}
    engine.dispose()
    port = _free_port()
    env = {**os.environ, "HUIQUAN_DATABASE_URL": database_url, "HUIQUAN_HOME": str(tmp_path)}
    log = (tmp_path / "gunicorn.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            "4",
            "--bind",
            f"127.0.0.1:{port}",
            "--timeout",
            "60",
            "--no-control-socket",
            "api.wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError((tmp_path / "gunicorn.log").read_text())
            time.sleep(0.1)
        yield base, tokens
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _post(
    base: str, token: str, path: str, body: dict[str, Any], key: str | None = None
) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return requests.post(f"{base}{path}", json=body, headers=headers, timeout=60)


def test_concurrent_duplicate_donations_through_gunicorn_post_one_entry(
    server: tuple[str, dict[str, str]],
) -> None:
    base, tokens = server
    admin, officer = tokens["admin"], tokens["officer"]
    assert _post(base, admin, "/api/v1/funds", {"code": "F", "name": "f", "restricted": False}).ok
    donor = _post(base, officer, "/api/v1/donors", {"name": "d"}).json()["id"]
    gift = {
        "donor_id": donor,
        "fund": "F",
        "amount": "88.00",
        "currency": "CNY",
        "received_on": TODAY.isoformat(),
    }
    barrier = threading.Barrier(24)

    def send(_: int) -> requests.Response:
        barrier.wait()
        return _post(base, officer, "/api/v1/donations", gift, key="double-click")

    with ThreadPoolExecutor(24) as pool:
        responses = list(pool.map(send, range(24)))
    assert [r.status_code for r in responses] == [201] * 24
    assert len({r.content for r in responses}) == 1
    headers = {"Authorization": f"Bearer {admin}"}
    entries = requests.get(f"{base}/api/v1/entries", headers=headers, timeout=10).json()
    assert [e["kind"] for e in entries["items"]] == ["donation"]


@pytest.mark.postgres_only
def test_parallel_disbursements_through_gunicorn_never_overdraw_the_fund(
    server: tuple[str, dict[str, str]], database_url: str
) -> None:
    base, tokens = server
    admin, officer = tokens["admin"], tokens["officer"]
    assert _post(base, admin, "/api/v1/funds", {"code": "F", "name": "f", "restricted": False}).ok
    project = {"code": "P", "name": "p", "fund": "F", "county": "简阳市"}
    assert _post(base, admin, "/api/v1/projects", project).ok
    donor = _post(base, officer, "/api/v1/donors", {"name": "d"}).json()["id"]
    gift = {
        "donor_id": donor,
        "fund": "F",
        "amount": "1000.00",
        "currency": "CNY",
        "received_on": TODAY.isoformat(),
    }
    assert _post(base, officer, "/api/v1/donations", gift).status_code == 201

    barrier = threading.Barrier(40)
    payment = {
        "fund": "F",
        "project": "P",
        "amount": "75.00",
        "currency": "CNY",
        "paid_on": TODAY.isoformat(),
    }

    def disburse(_: int) -> requests.Response:
        barrier.wait()
        return _post(base, officer, "/api/v1/disbursements", payment)

    with ThreadPoolExecutor(40) as pool:
        responses = list(pool.map(disburse, range(40)))

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * 13 + [409] * 27
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"insufficient_funds"}
    headers = {"Authorization": f"Bearer {admin}"}
    fund = requests.get(f"{base}/api/v1/funds/F", headers=headers, timeout=10).json()
    assert fund["balances"]["cash"] == [{"amount": "25.00", "currency": "CNY"}]
    listed = requests.get(
        f"{base}/api/v1/entries?kind=disbursement&limit=200", headers=headers, timeout=10
    ).json()["items"]
    assert sorted(e["id"] for e in listed) == sorted(
        r.json()["id"] for r in responses if r.status_code == 201
    )
    engine = make_engine(database_url)
    try:
        with read_only(engine) as repo:
            report = verify_books(repo)
    finally:
        engine.dispose()
    assert report.ok, report.findings
    assert report.entries == 14
