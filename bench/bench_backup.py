"""Backup benchmark on SQLite: `huiquan backup` against SQLite's own online backup API.

Prints, in one run, for books of N/10 and of N entries (default N = 100,000; built through the
importer's bulk path, as bench_ledger builds its big books):
1. the floor: `sqlite3.Connection.backup` of the books into a new file, alone (after `sync`, so
   the builder's writes are on disk first; each side run 3 times, alternated, medians compared:
   HUIQUAN_BENCH_BACKUP_ROUNDS);
2. `usecases.backup.create_backup` of the same books (online backup + Merkle root of the copy +
   SHA-256 of every member + tar + AES-256-GCM in 1 MiB chunks, its key wrapped by age for an
   X25519 recipient + fsync), and the ratio of the two (target: <= 2);
3. each one's peak memory (VmHWM of a fresh child process, so the builder's memory does not
   count), which should not grow with N;
4. `restore_backup` of the archive into an empty home (decrypt, hash, verify_books, root and
   checkpoint checks), for information.

A passphrase adds one scrypt (N = 2^17, r = 8: about 0.3-0.6 s here) to a backup and to a restore,
whatever N; it is left out of the ratio and printed on its own.

Sizes from the environment: HUIQUAN_BENCH_BACKUP (100000); HUIQUAN_BENCH_DIR (a temporary
folder, removed afterwards unless given). For the 1M figure:
`HUIQUAN_BENCH_BACKUP=1000000 python -m bench backup` (about 2 GB of disk, a few minutes).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.bench_ledger import _bulk, _fresh, _workdir
from ledger.storage.unit_of_work import UnitOfWork
from ledger.tlog.keys import ensure_signing_key
from ledger.tlog.proofs import make_checkpoint

TARGET_RATIO = 2.0
#: Runs of each side at each size, alternated (HUIQUAN_BENCH_BACKUP_ROUNDS); the median counts.
ROUNDS = int(os.environ.get("HUIQUAN_BENCH_BACKUP_ROUNDS", 3))

# A child's peak memory: VmHWM belongs to the process's own address space, fresh after exec
# (ru_maxrss is inherited from the forking parent, here the builder of big books).
_HWM = """
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")
"""

_FLOOR = """
import json, sqlite3, sys, time
HWM
src, dst = sys.argv[1], sys.argv[2]
t = time.perf_counter()
source = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
target = sqlite3.connect(dst)
source.backup(target)
target.close(); source.close()
seconds = time.perf_counter() - t
print(json.dumps({"seconds": seconds,
                  "rss_mb": hwm()}))
"""

_BACKUP = """
import json, sys, time
HWM
from pathlib import Path
from usecases.backup import create_backup
home, db, out, recipient = sys.argv[1:5]
t = time.perf_counter()
r = create_backup(Path(out), home=Path(home), url=f"sqlite:///{db}", passphrase=None,
                  recipients=[recipient])
print(json.dumps({"seconds": time.perf_counter() - t, "bytes": r.bytes,
                  "rss_mb": hwm()}))
"""

_RESTORE = """
import json, sys, time
HWM
from pathlib import Path
from usecases.backup import restore_backup
archive, home, identity = sys.argv[1:4]
t = time.perf_counter()
r = restore_backup(Path(archive), home=Path(home), identities=[identity])
print(json.dumps({"seconds": time.perf_counter() - t, "entries": r.journal_size,
                  "rss_mb": hwm()}))
"""

_SCRYPT = """
import io, json, time
from usecases.archive_cipher import seal_stream
t = time.perf_counter()
seal_stream(io.BytesIO(), iter([b"x"]), "a passphrase", [])
print(json.dumps({"seconds": time.perf_counter() - t}))
"""


def _child(code: str, *args: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", code.replace("HWM\n", _HWM), *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1])
    result: dict[str, float] = json.loads(done.stdout)
    return result


def _sign(home: Path, db: Path) -> None:
    from ledger.storage.db import make_engine

    engine = make_engine(f"sqlite:///{db}")
    try:
        with UnitOfWork(engine) as uow:
            make_checkpoint(uow.connection, ensure_signing_key(home))
            uow.commit()
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        engine.dispose()


def _measure(work: Path, home: Path, db: Path, n: int, keys: tuple[str, str]) -> None:
    floor_file, archive, restored = work / f"floor-{n}.db", work / f"b-{n}.hqbak", work / f"r-{n}"
    os.sync()  # the builder's writes reach the disk now, not inside whichever run comes next
    floors, ours = [], []
    for _ in range(ROUNDS):  # alternated, so a disturbance falls on both sides alike
        floors.append(_child(_FLOOR, str(db), str(floor_file)))
        floor_file.unlink()
        ours.append(_child(_BACKUP, str(home), str(db), str(archive), keys[1]))
        if len(ours) < ROUNDS:
            archive.unlink()
    back = _child(_RESTORE, str(archive), str(restored), keys[0])
    floor = statistics.median(r["seconds"] for r in floors)
    mine = statistics.median(r["seconds"] for r in ours)
    ratio = mine / floor
    size = db.stat().st_size / 1e6
    pairs = zip(floors, ours, strict=True)
    runs = ", ".join(f"{o['seconds'] / f['seconds']:.2f}" for f, o in pairs)
    print(
        f"  {n:>9,} entries ({size:,.0f} MB), median of {ROUNDS}: sqlite backup API {floor:.2f} s "
        f"(peak {max(r['rss_mb'] for r in floors):.0f} MB) | huiquan backup {mine:.2f} s "
        f"(peak {max(r['rss_mb'] for r in ours):.0f} MB, archive {ours[-1]['bytes'] / 1e6:,.0f} MB)"
        f" | ratio {ratio:.2f} ({'meets target' if ratio <= TARGET_RATIO else 'ABOVE TARGET'} "
        f"<= {TARGET_RATIO}; each run: {runs}) | restore+verify {back['seconds']:.2f} s "
        f"(peak {back['rss_mb']:.0f} MB)",
        flush=True,
    )
    archive.unlink(missing_ok=True)


def main() -> None:
    """Build the books at N/10 and N entries and print the backup figures at each size."""
    import shutil

    import pyrage

    n = int(os.environ.get("HUIQUAN_BENCH_BACKUP", 100_000))
    identity = pyrage.x25519.Identity.generate()
    keys = (str(identity), str(identity.to_public()))
    print(
        f"backup benchmark: {platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPUs; passphrase scrypt adds {_child(_SCRYPT)['seconds']:.2f} s "
        "per backup and per restore (not in the ratio)",
        flush=True,
    )
    with _workdir() as work:
        home = work / "home"
        home.mkdir(exist_ok=True)
        (home / "pseudonym.key").write_bytes(os.urandom(32))
        db = home / "huiquan.db"
        engine = _fresh(db)
        done = 0
        try:
            for size in (max(1, n // 10), n):
                started = time.perf_counter()
                _bulk(engine, size - done)
                done = size
                print(f"  built {size:,} entries in {time.perf_counter() - started:.1f} s")
                engine.dispose()
                _sign(home, db)
                _measure(work, home, db, size, keys)
                shutil.rmtree(work / f"r-{size}", ignore_errors=True)
        finally:
            engine.dispose()
