"""Evidence benchmarks: bank matching speed, and the server's memory while a 20 MiB file uploads.

Prints:
1. matching N bank lines (default 10,000) against M cash postings (default 100,000) with
   `ledger.reconcile.match_lines` (half the lines quote a reference, the rest match by amount
   and date within the window), and reading the same lines from a CSV statement first
   (`ledger.bank_statements.read_csv`); target: under 5 s.
2. uploading a 20 MiB PDF through the HTTP API (`POST /api/v1/entries/{id}/evidence`, the real
   app on a SQLite file, the body streamed from a file on disk) under `tracemalloc`: the peak of
   Python allocations during the request; target: well below the file's size (flat memory).
   Run once per store (local folder, database chunks).

Sizes from the environment: HUIQUAN_BENCH_LINES (10000), HUIQUAN_BENCH_POSTINGS (100000).
"""

from __future__ import annotations

import datetime as dt
import os
import random
import tempfile
import time
import tracemalloc
from pathlib import Path

from ledger.bank_statements import read_csv
from ledger.evidence import MAX_BYTES
from ledger.reconcile import BookPosting, Line, match_lines

MATCH_TARGET_S = 5.0


def _books(count: int, rng: random.Random) -> list[BookPosting]:
    start = dt.date(2026, 1, 1)
    return [
        BookPosting(
            n,
            2,
            f"E{n:07d}",
            start + dt.timedelta(days=rng.randrange(365)),
            rng.choice((1, -1)) * rng.randrange(100, 5_000_00),
            f"HQ-{n:07d}" if n % 2 else "",
        )
        for n in range(1, count + 1)
    ]


def _statement_csv(postings: list[BookPosting], count: int, rng: random.Random) -> bytes:
    chosen = rng.sample(postings, count)
    rows = ["date,amount,direction,counterparty,reference"]
    for p in chosen:
        day = p.occurred_on + dt.timedelta(days=rng.randrange(0, 3))
        amount = f"{abs(p.amount) // 100}.{abs(p.amount) % 100:02d}"
        rows.append(f"{day},{amount},{'C' if p.amount > 0 else 'D'},某公司,{p.memo}")
    return ("\n".join(rows) + "\n").encode()


def bench_matching() -> None:
    lines_n = int(os.environ.get("HUIQUAN_BENCH_LINES", "10000"))
    postings_n = int(os.environ.get("HUIQUAN_BENCH_POSTINGS", "100000"))
    rng = random.Random(15)
    postings = _books(postings_n, rng)
    data = _statement_csv(postings, lines_n, rng)
    started = time.perf_counter()
    statement = read_csv(data)
    lines = [Line(x.line, x.booked_on, x.amount, x.reference) for x in statement.lines]
    parsed = time.perf_counter()
    found = match_lines(lines, postings, window_days=3)
    done = time.perf_counter()
    total = done - started
    by = {how: sum(1 for m in found if m.how == how) for how in ("reference", "date")}
    print(
        f"matching: {lines_n} lines x {postings_n} postings: read CSV {parsed - started:.2f} s, "
        f"match {done - parsed:.2f} s, total {total:.2f} s (target < {MATCH_TARGET_S} s: "
        f"{'OK' if total < MATCH_TARGET_S else 'MISSED'}); matched {len(found)} "
        f"({by['reference']} by reference, {by['date']} by date)"
    )


def _multipart(folder: Path, size: int) -> tuple[Path, str]:
    boundary = "huiquan-bench-boundary"
    path = folder / "body.bin"
    with path.open("wb") as out:
        out.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\ninvoice\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n".encode()
        )
        out.write(b"%PDF-1.7\n")
        block = os.urandom(1024 * 1024).replace(b"/J", b"/K")
        left = size - 9
        while left > 0:
            out.write(block[: min(left, len(block))])
            left -= len(block)
        out.write(f"\r\n--{boundary}--\r\n".encode())
    return path, boundary


def bench_upload(store: str) -> None:
    from api import create_app
    from ledger import services
    from ledger.money import Money
    from ledger.storage.db import init_books
    from ledger.storage.unit_of_work import UnitOfWork
    from usecases.tokens import create_token

    os.environ["HUIQUAN_EVIDENCE_STORE"] = store
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        app = create_app(
            {
                "DATABASE_URL": f"sqlite:///{folder / 'books.db'}",
                "HUIQUAN_HOME": str(folder / "home"),
                "PSEUDONYM_SECRET": b"bench-pseudonym-key-0123456789abcdef",
                "LOG_REQUESTS": False,
            }
        )
        engine = app.extensions["huiquan"].engine
        init_books(engine)
        with UnitOfWork(engine) as uow:
            services.open_fund(uow, code="F", name="Fund", restricted=False)
            donor = services.register_donor(uow, name="Donor")
            gift = services.record_donation(
                uow,
                donor_id=donor.id,
                fund="F",
                amount=Money.parse("1.00", "CNY"),
                received_on=dt.date.today(),
            )
            uow.commit()
        token = create_token(engine, role="officer", name="bench")
        body, boundary = _multipart(folder, MAX_BYTES)
        client = app.test_client()
        with body.open("rb") as stream:
            tracemalloc.start()
            started = time.perf_counter()
            response = client.post(
                f"/api/v1/entries/{gift.id}/evidence",
                input_stream=stream,
                content_length=body.stat().st_size,
                content_type=f"multipart/form-data; boundary={boundary}",
                headers={"Authorization": f"Bearer {token}"},
            )
            elapsed = time.perf_counter() - started
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        assert response.status_code == 201, response.get_json()
        engine.dispose()
    print(
        f"upload ({store} store): {MAX_BYTES / 2**20:.0f} MiB in {elapsed:.2f} s, "
        f"tracemalloc peak {peak / 2**20:.1f} MiB ({peak / MAX_BYTES:.0%} of the file)"
    )


def main() -> None:
    bench_matching()
    for store in ("local", "database"):
        bench_upload(store)


if __name__ == "__main__":
    main()
