"""The drill: backups taken while gifts keep arriving restore, verify, and hold every gift that
was acknowledged before the backup began (both engines)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy import select

from ledger import services
from ledger.storage.db import make_engine
from ledger.storage.tables import journal_entries
from ledger.storage.unit_of_work import UnitOfWork
from tests.backup.conftest import checkpoint
from tests.builders import DAY, Books, cny
from usecases.backup import create_backup, restore_backup


def test_backups_during_a_stream_of_donations_restore_verify_and_hold_every_acknowledged_gift(
    engine, database_url, home, identity, target, tmp_path
):
    books = Books(engine)
    books.fund("LUHUO")
    donor = books.donor()
    for _ in range(5):
        books.donate("10.00", donor=donor)
    checkpoint(engine, home)
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def donor_thread() -> None:
        while not stop.is_set():
            with UnitOfWork(engine) as uow:
                entry = services.record_donation(
                    uow, donor_id=donor, fund="LUHUO", amount=cny("1.00"), received_on=DAY
                )
                uow.commit()
            with lock:  # acknowledged: the commit has returned
                acknowledged.append(entry.id)

    threads = [threading.Thread(target=donor_thread) for _ in range(2)]
    for t in threads:
        t.start()
    taken: list[tuple[Path, set[str]]] = []
    try:
        for n in range(3):
            time.sleep(0.15)
            if n == 1:
                checkpoint(engine, home)  # a checkpoint taken mid-stream
            with lock:
                before = set(acknowledged)
            archive = tmp_path / f"b{n}.hqbak"
            create_backup(
                archive, home=home, url=database_url, passphrase=None, recipients=[identity[1]]
            )
            taken.append((archive, before))
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert len(acknowledged) > 10  # the donations really were streaming

    sizes = []
    for archive, before in taken:
        folder, url = target()
        result = restore_backup(archive, home=folder, url=url, identities=[identity[0]])
        assert result.checkpoint_size is not None
        restored = make_engine(result.url)
        with restored.connect() as conn:
            ids = set(conn.scalars(select(journal_entries.c.id)))
        restored.dispose()
        assert before <= ids, f"{len(before - ids)} acknowledged gifts missing from {archive.name}"
        assert (folder / "pseudonym.key").read_bytes() == bytes(range(32))
        assert (folder / "keys" / "checkpoint.key").stat().st_mode & 0o077 == 0
        assert (folder / "evidence" / "2026" / "invoice-凭证.pdf").is_file()
        sizes.append(result.journal_size)
    assert sizes == sorted(sizes) and sizes[-1] > sizes[0]
