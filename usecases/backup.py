"""Backups that restore: the books, their keys and their documents in one encrypted archive.

An archive holds, as one tar stream sealed by `usecases.archive_cipher` (AES-256-GCM in chunks,
the STREAM construction; decision 0014):

    archive.json        the format and the engine, first, so a restore knows what follows
    books/huiquan.db    SQLite: a copy made through SQLite's online backup API
    books/pgdump/...    PostgreSQL: a `pg_dump --format=directory` taken in one snapshot
    home/pseudonym.key  the key of beneficiaries' pseudonyms
    home/keys/...       the checkpoint signing key and the trusted verifier keys
    home/evidence/...   the evidence store, when the home has one
    MANIFEST.json       last: every member's size and SHA-256, the journal's size and Merkle root
                        and the latest signed checkpoint, all read from the copy itself

File layout: `usecases.archive_cipher` (format 2). Archives of format 1 (`huiquan-backup/1`, a
line, an age X25519 identity wrapped with the passphrase, then an age stream of the tar) are
still restored.

Invariants owned here:
- A backup never copies a live database file: SQLite through `sqlite3.Connection.backup`,
  PostgreSQL through `pg_dump` in an exported snapshot; the manifest's journal figures are read
  from that same copy or snapshot, so they describe exactly what the archive holds.
- Memory stays flat: members are streamed through the hash and the cipher in 1 MiB pieces, and
  the Merkle root is folded as leaves are read (`MerkleFold`), never from a list of them.
- A restore goes into an empty home (and, on PostgreSQL, an empty database) only. It is staged
  beside the home and moved into place only after every member matched the manifest, the books
  verified clean, the journal's root equalled the manifest's and its first `checkpoint.size`
  leaves hashed to the signed checkpoint's root; a refused restore leaves nothing behind.
- Key files are written with mode 0600 and their folders 0700.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

import pyrage  # type: ignore[import-untyped]
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url

from ledger.errors import LedgerError
from ledger.integrity import verify_books
from ledger.keyfile import EXPORT_MARKER, keys_exported
from ledger.storage.db import make_engine
from ledger.storage.repository import SqlRepository
from ledger.storage.unit_of_work import read_only
from ledger.tlog.checkpoints import CheckpointError, verify_checkpoint
from ledger.tlog.journal import journal_size
from ledger.tlog.keys import KEY_FILE as SIGNING_KEY_FILE
from ledger.tlog.keys import NAME_FILE as SIGNING_NAME_FILE
from ledger.tlog.keys import trusted_vkeys
from ledger.tlog.merkle import node_hash
from ledger.tlog.proofs import latest_checkpoint
from usecases.archive_cipher import CONTAINER, BackupRefused, open_stream, seal_stream
from usecases.environment import PASSPHRASE_ENV

__all__ = [
    "FORMAT",
    "PASSPHRASE_ENV",
    "STATUS_FILE",
    "BackupRefused",
    "BackupResult",
    "DrillResult",
    "MerkleFold",
    "RecoveryCode",
    "RestoreResult",
    "create_backup",
    "decrypt_archive",
    "drill",
    "encrypt_archive",
    "export_keys",
    "keys_exported",
    "parse_recovery_code",
    "read_status",
    "recovery_codes",
    "restore_backup",
    "run_scheduled_backups",
    "scheduled_backup_step",
]

FORMAT = "huiquan-backup/1"
PSEUDONYM_KEY = "pseudonym.key"
DB_FILE = "huiquan.db"
STATUS_FILE = "backup-status.json"
HOME_ITEMS = (PSEUDONYM_KEY, "keys", "evidence")  # what of a home goes into an archive
ARCHIVE_JSON = "archive.json"
MANIFEST = "MANIFEST.json"
CHUNK = 1 << 20
SUFFIX = ".hqbak"


# -- the Merkle root, folded leaf by leaf -------------------------------------------------------
class MerkleFold:
    """The RFC 6962 root of a stream of leaf hashes, in memory logarithmic in their number.

    A stack of perfect subtrees (largest first) is kept, as the tree's right edge. Whole
    aligned blocks of 2^k leaves may be added at once by their subtree root (`add_subtree`).
    """

    def __init__(self) -> None:
        self.size = 0
        self._stack: list[tuple[int, bytes]] = []  # (leaves, root) of perfect subtrees

    def add(self, leaf: bytes) -> None:
        self.add_subtree(1, leaf)

    def add_subtree(self, count: int, root: bytes) -> None:
        """Add a perfect subtree of `count` leaves (a power of two, with `size` a multiple)."""
        if count & (count - 1) or self.size % count:
            raise ValueError("a subtree must be a power of two, aligned to its size")
        self.size += count
        node = root
        while self._stack and self._stack[-1][0] == count:
            left = self._stack.pop()[1]
            count, node = count * 2, node_hash(left, node)
        self._stack.append((count, node))

    def root(self) -> bytes:
        """The root of the leaves added so far (SHA-256 of nothing for none)."""
        if not self._stack:
            return hashlib.sha256(b"").digest()
        node = self._stack[-1][1]
        for _count, left in reversed(self._stack[:-1]):
            node = node_hash(left, node)
        return node


BLOCK = 1 << 12  # leaves read and hashed together: one perfect subtree


def _subtree_root(leaves: list[bytes]) -> bytes:
    """The root of a perfect subtree (len(leaves) a power of two): RFC 6962's node hash,
    level by level, in one comprehension per level (the hot loop of a big backup)."""
    sha, prefix = hashlib.sha256, b"\x01"
    level = leaves
    while len(level) > 1:
        level = [
            sha(prefix + a + b).digest() for a, b in zip(level[0::2], level[1::2], strict=True)
        ]
    return level[0]


def _journal_roots(conn: Connection, size: int, prefix: int) -> tuple[str, str]:
    """The Merkle roots (hex) of entries 1..size and 1..prefix, read in blocks of sequence
    numbers (gapless) through the driver, without building rows."""
    fold = MerkleFold()
    prefix_root = fold.root().hex() if prefix == 0 else ""
    raw, mark = SqlRepository(conn).driver()
    cursor = raw.cursor()
    query = (
        f"SELECT leaf_hash FROM journal_entries WHERE sequence >= {mark} AND sequence < {mark} "
        "ORDER BY sequence"
    )
    for low in range(1, size + 1, BLOCK):
        high = min(size + 1, low + BLOCK)
        cursor.execute(query, (low, high))
        leaves = [bytes.fromhex(h) for (h,) in cursor.fetchall()]
        if len(leaves) != high - low:
            raise BackupRefused(f"the journal has a gap between sequences {low} and {high - 1}")
        if len(leaves) == BLOCK and not low <= prefix < high - 1:
            fold.add_subtree(BLOCK, _subtree_root(leaves))
        else:
            for leaf in leaves:
                fold.add(leaf)
                if fold.size == prefix:
                    prefix_root = fold.root().hex()
        if fold.size == prefix and not prefix_root:
            prefix_root = fold.root().hex()
    cursor.close()
    return fold.root().hex(), prefix_root


def _journal_facts(conn: Connection) -> dict[str, Any]:
    size = journal_size(conn)
    checkpoint = latest_checkpoint(conn, at_most=size)
    root, _ = _journal_roots(conn, size, 0)
    return {
        "journal": {"size": size, "merkle_root": root},
        "checkpoint": _checkpoint_facts(checkpoint),
    }


def _checkpoint_facts(checkpoint: Any) -> dict[str, Any] | None:
    if checkpoint is None:
        return None
    return {
        "size": checkpoint.size,
        "root": checkpoint.root,
        "signed_text": checkpoint.signed_text,
        "created_at": checkpoint.created_at,
    }


# -- encryption: the file layout of the module docstring ----------------------------------------
def _recipients(recipients: Sequence[str]) -> list[Any]:
    parsed = []
    for text_ in recipients:
        try:
            parsed.append(pyrage.x25519.Recipient.from_str(text_.strip()))
        except Exception as exc:
            raise BackupRefused(f"{text_.strip()[:16]}… is not an age recipient (age1…)") from exc
    return parsed


def _write_encrypted(
    out: IO[bytes], pieces: Iterator[bytes], passphrase: str | None, recipients: Sequence[str]
) -> None:
    keys = _recipients(recipients)
    if not passphrase and not keys:
        raise BackupRefused(f"give a passphrase (${PASSPHRASE_ENV}) or a recipient to encrypt to")
    seal_stream(out, pieces, passphrase, keys)


def _read_age_header(handle: IO[bytes]) -> bytes:
    """Format 1 (age): the passphrase-wrapped identity after the format line."""
    match = re.fullmatch(rb"identity (\d{1,6})\n", handle.readline(64))
    if match is None:
        raise BackupRefused("the archive's header is damaged")
    return handle.read(int(match.group(1)))


def _parsed_identities(identities: Sequence[str]) -> list[Any]:
    keys = []
    for line in identities:
        try:
            keys.append(pyrage.x25519.Identity.from_str(line.strip()))
        except Exception as exc:
            raise BackupRefused("an identity given is not an age secret key") from exc
    return keys


def _identities(wrapped: bytes, passphrase: str | None, identities: Sequence[str]) -> list[Any]:
    keys = _parsed_identities(identities)
    if passphrase and wrapped:
        try:
            opened = pyrage.passphrase.decrypt(wrapped, passphrase)
        except pyrage.DecryptError:
            raise BackupRefused("wrong passphrase: the archive cannot be opened") from None
        keys.append(pyrage.x25519.Identity.from_str(opened.decode("ascii")))
    if not keys:
        raise BackupRefused(
            f"give the archive's passphrase (${PASSPHRASE_ENV}) or an identity to open it"
            if wrapped
            else "this archive has no passphrase: give the identity of one of its recipients"
        )
    return keys


@contextmanager
def _decrypted(
    archive: Path, passphrase: str | None, identities: Sequence[str]
) -> Iterator[IO[bytes]]:
    """The archive's tar stream, decrypted in a thread into a pipe (read it to the end)."""
    handle = archive.open("rb")
    try:
        first = handle.readline(64)
        if first == f"{CONTAINER}\n".encode("ascii"):
            opened = open_stream(handle, passphrase, _parsed_identities(identities))
        elif first == f"{FORMAT}\n".encode("ascii"):
            opened = None
            keys = _identities(_read_age_header(handle), passphrase, identities)
        else:
            raise BackupRefused("this file is not a Huiquan backup (or of a newer format)")
    except BaseException:
        handle.close()
        raise
    if opened is not None:
        with _checked(opened) as source:
            yield source
        return
    read_fd, write_fd = os.pipe()
    failure: list[BaseException] = []

    def pump() -> None:
        with handle, os.fdopen(write_fd, "wb") as sink:
            try:
                pyrage.decrypt_io(handle, sink, keys)
            except BaseException as exc:
                failure.append(exc)

    worker = threading.Thread(target=pump, name="huiquan-decrypt", daemon=True)
    worker.start()
    source = os.fdopen(read_fd, "rb")
    try:
        yield source
        while source.read(CHUNK):  # drain, so the decryption reaches the end and is checked
            pass
    except BaseException as exc:
        _drain_and_join(source, worker)
        _raise_decrypt_failure(failure)  # the cause, when the tar broke because of it
        if isinstance(exc, tarfile.TarError | OSError):
            raise BackupRefused(f"the archive is damaged: {exc}") from exc
        raise
    _drain_and_join(source, worker)
    _raise_decrypt_failure(failure)


@contextmanager
def _checked(source: IO[bytes]) -> Iterator[IO[bytes]]:
    """A format-2 plaintext, read to its end afterwards so that its last tag is checked."""
    try:
        yield source
        while source.read(CHUNK):
            pass
    except BackupRefused:
        raise
    except (tarfile.TarError, OSError) as exc:
        raise BackupRefused(f"the archive is damaged: {exc}") from exc
    finally:
        source.close()


def _drain_and_join(source: IO[bytes], worker: threading.Thread) -> None:
    with suppress(OSError):
        while source.read(CHUNK):
            pass
    source.close()
    worker.join()


def _raise_decrypt_failure(failure: list[BaseException]) -> None:
    if not failure:
        return
    # pyrage reports a failed tag inside the stream as an OSError ("decryption error")
    if isinstance(failure[0], pyrage.DecryptError | OSError) and not isinstance(
        failure[0], BrokenPipeError
    ):
        raise BackupRefused(
            "the archive is damaged or truncated, or the key does not open it: "
            "decryption failed its integrity check"
        ) from failure[0]
    raise failure[0]


def encrypt_archive(
    tar_path: Path, out: Path, *, passphrase: str | None, recipients: Sequence[str] = ()
) -> None:
    """Encrypt a plain tar (e.g. one repaired by hand) into an archive of this format."""

    def pieces() -> Iterator[bytes]:
        with tar_path.open("rb") as f:
            while chunk := f.read(CHUNK):
                yield chunk

    with out.open("wb") as handle:
        _write_encrypted(handle, pieces(), passphrase, recipients)


def decrypt_archive(
    archive: Path, tar_out: Path, *, passphrase: str | None, identities: Sequence[str] = ()
) -> None:
    """Decrypt an archive to its plain tar (for inspection; it holds personal data)."""
    with _decrypted(archive, passphrase, identities) as source, tar_out.open("wb") as sink:
        shutil.copyfileobj(source, sink, CHUNK)


# -- the tar stream -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Member:
    name: str  # path inside the archive
    path: Path  # file on disk


def _tar_pieces(
    members: Sequence[_Member], head: dict[str, Any], facts: Future[dict[str, Any]]
) -> Iterator[bytes]:
    """A tar stream: archive.json, every member (hashed as it passes), then MANIFEST.json.

    A member's pieces are views of one reused buffer: each is valid until the next is asked
    for (`seal_stream` copies it at once)."""
    listed: list[dict[str, Any]] = []
    window = memoryview(bytearray(CHUNK))
    yield from _tar_bytes(ARCHIVE_JSON, json.dumps(head, indent=2).encode("utf-8"))
    for member in members:
        size = member.path.stat().st_size
        info = tarfile.TarInfo(member.name)
        info.size, info.mode, info.mtime = size, 0o600, int(time.time())
        yield info.tobuf(format=tarfile.PAX_FORMAT)
        digest, sent = hashlib.sha256(), 0
        with member.path.open("rb", buffering=0) as f:
            while sent < size and (got := f.readinto(window[: min(CHUNK, size - sent)])):
                digest.update(window[:got])
                sent += got
                yield window[:got]  # the same buffer again next time: the cipher copies it
        if sent != size:
            raise BackupRefused(f"{member.name} shrank while it was being archived")
        yield _padding(size)
        listed.append({"name": member.name, "size": size, "sha256": digest.hexdigest()})
    manifest = {**head, **facts.result(), "members": listed}
    yield from _tar_bytes(MANIFEST, json.dumps(manifest, indent=2).encode("utf-8"))
    yield b"\0" * (2 * tarfile.BLOCKSIZE)


def _tar_bytes(name: str, data: bytes) -> Iterator[bytes]:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o600, int(time.time())
    yield info.tobuf(format=tarfile.PAX_FORMAT)
    yield data
    yield _padding(len(data))


def _padding(size: int) -> bytes:
    return b"\0" * (-size % tarfile.BLOCKSIZE)


def _home_members(home: Path) -> list[_Member]:
    members: list[_Member] = []
    for item in HOME_ITEMS:
        path = home / item
        if path.is_file():
            members.append(_Member(f"home/{item}", path))
        elif path.is_dir():
            for file in sorted(p for p in path.rglob("*") if p.is_file()):
                members.append(_Member(f"home/{file.relative_to(home).as_posix()}", file))
    return members


# -- backup -------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class BackupResult:
    path: Path
    engine: str
    members: int
    bytes: int
    journal_size: int
    merkle_root: str
    checkpoint_size: int | None
    seconds: float


def create_backup(
    out: Path,
    *,
    home: Path,
    url: str,
    passphrase: str | None,
    recipients: Sequence[str] = (),
) -> BackupResult:
    """Write one consistent, encrypted archive of the books at `url` and the home's keys.

    The books keep taking writes meanwhile. The archive is written beside `out` and renamed
    into place when complete.

    Raises:
        BackupRefused: no key to encrypt to, `out` exists, no pseudonym key in the home, an
            unusable pg_dump, a member that changed under the backup.
    """
    started = time.perf_counter()
    out = out.resolve()
    if out.exists():
        raise BackupRefused(f"{out} exists; a backup never overwrites a file")
    if not passphrase and not recipients:
        raise BackupRefused(f"give a passphrase (${PASSPHRASE_ENV}) or a recipient to encrypt to")
    if not (home / PSEUDONYM_KEY).is_file():
        raise BackupRefused(
            f"no {PSEUDONYM_KEY} in {home}: a backup without it would orphan every pseudonym "
            "(is --home right?)"
        )
    engine_name = make_url(url).get_backend_name()
    out.parent.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix=".huiquan-backup-", dir=out.parent) as scratch,
        ThreadPoolExecutor(1, thread_name_prefix="huiquan-backup") as _facts_reader,
    ):
        work = Path(scratch)
        if engine_name == "sqlite":
            # The journal is folded from the live books (in a read snapshot taken before the
            # copy's) while SQLite copies them, outside the interpreter lock; the copy's own
            # later entries, if any, are folded in after, while the copy is encrypted.
            started_fold = threading.Event()
            early = _facts_reader.submit(_fold_live_journal, _sqlite_path(url), started_fold)
            started_fold.wait(60)
            books = _copy_sqlite(url, work)
            facts = _facts_reader.submit(_facts_of_copy, early, books[0].path)
        elif engine_name == "postgresql":
            books, pg_facts = _dump_postgres(url, work)
            facts = Future()
            facts.set_result(pg_facts)
        else:
            raise BackupRefused(f"cannot back up a {engine_name} database")
        members = books + _home_members(home)
        head = {
            "format": FORMAT,
            "engine": engine_name,
            "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        partial = out.with_name(out.name + ".partial")
        try:
            with partial.open("wb") as handle:
                _write_encrypted(handle, _tar_pieces(members, head, facts), passphrase, recipients)
                handle.flush()
                os.fsync(handle.fileno())
            partial.rename(out)
        finally:
            partial.unlink(missing_ok=True)
            with suppress(Exception):  # let the reader finish before its file is removed
                facts.result()
    known = facts.result()
    return BackupResult(
        out,
        engine_name,
        len(members) + 2,
        out.stat().st_size,
        known["journal"]["size"],
        known["journal"]["merkle_root"],
        known["checkpoint"]["size"] if known["checkpoint"] else None,
        time.perf_counter() - started,
    )


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupRefused("an in-memory SQLite database has no file to back up")
    return Path(database)


def _copy_sqlite(url: str, work: Path) -> list[_Member]:
    """Copy the database with SQLite's online backup API, in one step (one read snapshot)."""
    source_path = _sqlite_path(url)
    if not source_path.is_file():
        raise BackupRefused(f"no database at {source_path}")
    copy = work / DB_FILE
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True, timeout=30)
    target = sqlite3.connect(copy)
    # a scratch copy that is deleted afterwards: no rollback journal, no fsync (the archive is
    # synced); SQLite's backup API still copies one consistent snapshot
    target.execute("PRAGMA synchronous=OFF")
    target.execute("PRAGMA journal_mode=OFF")
    try:
        source.backup(target)  # pages=-1: every page in one step, so one consistent snapshot
        target.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
    finally:
        target.close()
        source.close()
    return [_Member(f"books/{DB_FILE}", copy)]


def _fold_live_journal(path: Path, started: threading.Event) -> MerkleFold:
    """The Merkle fold of the journal of the books at `path` as one read snapshot sees it;
    `started` is set once that snapshot is taken."""
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        source.execute("BEGIN")
        (size,) = source.execute("SELECT sequence FROM chain_head WHERE id = 1").fetchone()
        started.set()
        fold = MerkleFold()
        _fold_leaves(source, fold, int(size))
        return fold
    finally:
        started.set()
        source.close()


def _fold_leaves(db: sqlite3.Connection, fold: MerkleFold, size: int) -> None:
    """Add the leaves after `fold.size` up to `size` (gapless sequences), whole aligned blocks
    by their subtree root."""
    query = (
        "SELECT leaf_hash FROM journal_entries WHERE sequence >= ? AND sequence < ? "
        "ORDER BY sequence"
    )
    while fold.size < size:
        low = fold.size + 1
        high = min(size + 1, low + BLOCK - (fold.size % BLOCK))
        packed = bytes.fromhex("".join([row[0] for row in db.execute(query, (low, high))]))
        leaves = [packed[i : i + 32] for i in range(0, len(packed), 32)]
        if len(leaves) != high - low:
            raise BackupRefused(f"the journal has a gap between sequences {low} and {high - 1}")
        if len(leaves) == BLOCK:
            fold.add_subtree(BLOCK, _subtree_root(leaves))
        else:
            for leaf in leaves:
                fold.add(leaf)


def _facts_of_copy(early: Future[MerkleFold], path: Path) -> dict[str, Any]:
    """The journal's facts of the copy: its size and checkpoint read from it, its root from the
    fold of the live books' earlier snapshot extended by the copy's later entries (the first
    entries of an append-only journal are the same in both; a restore checks the root again)."""
    fold = early.result()
    copy = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        (size,) = copy.execute("SELECT sequence FROM chain_head WHERE id = 1").fetchone()
        if fold.size > size:  # cannot happen (the snapshot came first); fold the copy alone
            fold = MerkleFold()
        _fold_leaves(copy, fold, int(size))
    finally:
        copy.close()
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            checkpoint = latest_checkpoint(conn, at_most=int(size))
    finally:
        engine.dispose()
    return {
        "journal": {"size": int(size), "merkle_root": fold.root().hex()},
        "checkpoint": _checkpoint_facts(checkpoint),
    }


def _facts_of_sqlite(path: Path) -> dict[str, Any]:
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            return _journal_facts(conn)
    finally:
        engine.dispose()


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq URL (without the password) and the environment that carries the password."""
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _pg_tool(name: str, conn: Connection) -> str:
    tool = shutil.which(name)
    if tool is None:
        raise BackupRefused(f"{name} is not installed; install the PostgreSQL client tools")
    version = subprocess.run(  # noqa: S603 - a fixed tool, no shell
        [tool, "--version"], capture_output=True, text=True, check=True
    ).stdout
    found = re.search(r"(\d+)\.\d+", version)
    server = int(conn.exec_driver_sql("SHOW server_version_num").scalar_one()) // 10000
    if found is None or int(found.group(1)) < server:
        raise BackupRefused(f"{name} is older than the server ({version.strip()}, server {server})")
    return tool


def _dump_postgres(url: str, work: Path) -> tuple[list[_Member], dict[str, Any]]:
    """pg_dump (directory format) in a snapshot exported by a transaction that also reads
    the journal's facts, so both describe the same books."""
    folder = work / "pgdump"
    libpq, env = _libpq(url)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            tool = _pg_tool("pg_dump", conn)
            conn.rollback()
            conn.exec_driver_sql("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
            command = [tool, "--format=directory", f"--snapshot={snapshot}", "--no-owner"]
            command += ["--no-privileges", "--compress=1", "-f", str(folder), "-d", libpq]
            done = subprocess.run(command, env=env, capture_output=True, text=True)  # noqa: S603
            if done.returncode != 0:
                raise BackupRefused(f"pg_dump failed: {_first_line(done.stderr)}")
            facts = _journal_facts(conn)
            conn.rollback()
    finally:
        engine.dispose()
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return [_Member(f"books/pgdump/{p.relative_to(folder).as_posix()}", p) for p in files], facts


def _first_line(text_: str) -> str:
    return next((line.strip() for line in text_.splitlines() if line.strip()), "no message")


# -- restore ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RestoreResult:
    home: Path
    url: str
    engine: str
    members: int
    journal_size: int
    merkle_root: str
    checkpoint_size: int | None
    seconds: float


def _refuse_non_empty_home(home: Path) -> None:
    if home.exists() and (not home.is_dir() or any(home.iterdir())):
        raise BackupRefused(
            f"{home} is not empty: a restore goes into an empty home only, never over live books"
        )


def _safe_name(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise BackupRefused(f"the archive holds an unsafe path {name!r}")
    return path


def _extract(source: IO[bytes], staging: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Write every member under `staging`, hashing it; return (archive.json, manifest)."""
    seen: dict[str, dict[str, Any]] = {}
    head: dict[str, Any] | None = None
    manifest: dict[str, Any] | None = None
    with tarfile.open(fileobj=source, mode="r|") as tar:
        for info in tar:
            if not info.isfile():
                raise BackupRefused(f"the archive holds {info.name!r}, which is not a file")
            reader = tar.extractfile(info)
            assert reader is not None  # a regular file always has a reader
            if info.name in (ARCHIVE_JSON, MANIFEST):
                loaded = json.loads(reader.read(1 << 24))
                if info.name == ARCHIVE_JSON:
                    head = loaded
                else:
                    manifest = loaded
                continue
            if head is None:
                raise BackupRefused("the archive does not begin with archive.json")
            target = staging / _safe_name(info.name)
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            digest = hashlib.sha256()
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as sink:
                while chunk := reader.read(CHUNK):
                    digest.update(chunk)
                    sink.write(chunk)
            seen[info.name] = {"size": info.size, "sha256": digest.hexdigest()}
    if head is None or manifest is None:
        raise BackupRefused("the archive is incomplete: its manifest is missing")
    if head.get("format") != FORMAT:
        raise BackupRefused(f"the archive's format {head.get('format')!r} is not {FORMAT}")
    _check_members(seen, manifest)
    return head, manifest


def _check_members(seen: dict[str, dict[str, Any]], manifest: dict[str, Any]) -> None:
    listed = {m["name"]: m for m in manifest.get("members", [])}
    for name in sorted(set(seen) | set(listed)):
        if name not in listed:
            raise BackupRefused(f"member {name} is not in the manifest")
        if name not in seen:
            raise BackupRefused(f"member {name} is missing from the archive")
        want, got = listed[name], seen[name]
        if (want["size"], want["sha256"]) != (got["size"], got["sha256"]):
            raise BackupRefused(f"member {name} does not match the manifest (corrupted)")


def restore_backup(
    archive: Path,
    *,
    home: Path,
    url: str | None = None,
    passphrase: str | None = None,
    identities: Sequence[str] = (),
    grant_to: str | None = None,
) -> RestoreResult:
    """Restore an archive into an empty home (and an empty PostgreSQL database at `url`).

    Raises:
        BackupRefused: a non-empty home or database, a wrong passphrase or key, a damaged
            archive, a member that does not match the manifest, books that do not verify, a
            root or checkpoint that does not match; nothing is left behind.
    """
    started = time.perf_counter()
    home = home.resolve()
    _refuse_non_empty_home(home)
    if not archive.is_file():
        raise BackupRefused(f"no archive at {archive}")
    if url and make_url(url).get_backend_name() == "postgresql":
        _refuse_non_empty_database(url)
    home.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{home.name}.restoring-", dir=home.parent))
    loaded_into: str | None = None
    try:
        with _decrypted(archive, passphrase, identities) as source:
            head, manifest = _extract(source, staging)
        engine_name = head["engine"]
        if engine_name == "sqlite":
            if url and make_url(url).get_backend_name() != "sqlite":
                raise BackupRefused("this archive holds SQLite books; restore them into a home")
            target_url = f"sqlite:///{staging / DB_FILE}"
            final_url = f"sqlite:///{home / DB_FILE}"
            _move_up(staging / "books" / DB_FILE, staging / DB_FILE)
        elif engine_name == "postgresql":
            if not url or make_url(url).get_backend_name() != "postgresql":
                raise BackupRefused(
                    "this archive holds PostgreSQL books: give an empty database (--database-url)"
                )
            loaded_into = url
            _pg_restore(url, staging / "books" / "pgdump")
            target_url = final_url = url
        else:
            raise BackupRefused(f"the archive holds books of an unknown engine {engine_name!r}")
        _check_books(target_url, staging, manifest)
        if grant_to and engine_name == "postgresql":
            _grant(url or "", grant_to)
        shutil.rmtree(staging / "books", ignore_errors=True)
        _move_home(staging, home)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if loaded_into is not None:
            _drop_restored(loaded_into)
        raise
    return RestoreResult(
        home,
        final_url,
        engine_name,
        len(manifest["members"]) + 2,
        manifest["journal"]["size"],
        manifest["journal"]["merkle_root"],
        manifest["checkpoint"]["size"] if manifest["checkpoint"] else None,
        time.perf_counter() - started,
    )


def _move_up(source: Path, target: Path) -> None:
    if not source.is_file():
        raise BackupRefused(f"the archive has no books/{DB_FILE}")
    source.replace(target)
    source.parent.rmdir()


def _move_home(staging: Path, home: Path) -> None:
    home_part = staging / "home"
    if home_part.is_dir():
        for item in home_part.iterdir():
            item.replace(staging / item.name)
        home_part.rmdir()
    _refuse_non_empty_home(home)  # again: someone may have written there meanwhile
    if home.exists():
        home.rmdir()
    staging.replace(home)


def _check_books(url: str, home: Path, manifest: dict[str, Any]) -> None:
    """Verify the restored books, their root against the manifest's, and the checkpoint."""
    engine = make_engine(url)
    try:
        with read_only(engine) as repo:
            report = verify_books(repo)
            if not report.ok:
                raise BackupRefused(f"the restored books do not verify: {report.findings[0]}")
            journal = manifest["journal"]
            if report.entries != journal["size"] or report.merkle_root != journal["merkle_root"]:
                raise BackupRefused(
                    f"the restored journal ({report.entries} entries, root "
                    f"{report.merkle_root[:12]}…) is not the manifest's ({journal['size']}, "
                    f"{journal['merkle_root'][:12]}…)"
                )
            checkpoint = manifest.get("checkpoint")
            if checkpoint:
                _check_checkpoint(repo.conn, home, checkpoint)
    finally:
        engine.dispose()


def _check_checkpoint(conn: Connection, home: Path, checkpoint: dict[str, Any]) -> None:
    """The latest checkpoint is signed by a trusted key and the restored journal extends it."""
    try:
        signed = verify_checkpoint(checkpoint["signed_text"], trusted_vkeys(home / "home"))
    except CheckpointError as exc:
        raise BackupRefused(f"the manifest's checkpoint does not verify: {exc}") from exc
    size = int(checkpoint["size"])
    if signed.size != size or signed.root.hex() != checkpoint["root"]:
        raise BackupRefused("the manifest's checkpoint differs from its signed text")
    _, prefix_root = _journal_roots(conn, size, size)
    if prefix_root != checkpoint["root"]:
        raise BackupRefused(
            f"the restored journal is not consistent with checkpoint {size}: "
            "its first entries hash to another root"
        )


def _pg_admin(url: str) -> Engine:
    return create_engine(url, isolation_level="AUTOCOMMIT")


def _user_relations(conn: Connection) -> int:
    return int(
        conn.execute(
            text(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') "
                "AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'"
            )
        ).scalar_one()
    )


def _refuse_non_empty_database(url: str) -> None:
    engine = _pg_admin(url)
    try:
        with engine.connect() as conn:
            if _user_relations(conn):
                shown = make_url(url).render_as_string(hide_password=True)
                raise BackupRefused(
                    f"the database {shown} is not empty: a restore goes into an empty database "
                    "only, never over live books"
                )
    finally:
        engine.dispose()


def _pg_restore(url: str, folder: Path) -> None:
    libpq, env = _libpq(url)
    engine = _pg_admin(url)
    try:
        with engine.connect() as conn:
            tool = _pg_tool("pg_restore", conn)
    finally:
        engine.dispose()
    command = [tool, "--no-owner", "--no-privileges", "--exit-on-error", "-d", libpq, str(folder)]
    done = subprocess.run(command, env=env, capture_output=True, text=True)  # noqa: S603
    if done.returncode != 0:
        raise BackupRefused(f"pg_restore failed: {_first_line(done.stderr)}")


def _drop_restored(url: str) -> None:
    """Empty again a database this restore loaded (it was empty before): drop what it made."""
    engine = _pg_admin(url)
    try:
        with engine.connect() as conn:
            for (name,) in conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            ):
                conn.exec_driver_sql(f'DROP TABLE IF EXISTS public."{name}" CASCADE')
            for (signature,) in conn.execute(
                text(
                    "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n "
                    "ON n.oid = p.pronamespace WHERE n.nspname = 'public'"
                )
            ):
                conn.exec_driver_sql(f"DROP FUNCTION IF EXISTS {signature} CASCADE")
    except Exception:  # best effort: the original error is the one to report
        return
    finally:
        engine.dispose()


def _grant(url: str, role: str) -> None:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", role):
        raise BackupRefused(f"{role!r} is not a role name")
    engine = _pg_admin(url)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'GRANT USAGE ON SCHEMA public TO "{role}"')
            conn.exec_driver_sql(f'GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA public TO "{role}"')
            conn.exec_driver_sql(f'GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO "{role}"')
    finally:
        engine.dispose()


# -- the drill ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DrillResult:
    ok: bool
    detail: str
    journal_size: int = 0
    seconds: float = 0.0


def drill(
    archive: Path,
    *,
    passphrase: str | None = None,
    identities: Sequence[str] = (),
    url: str | None = None,
) -> DrillResult:
    """Restore `archive` into a temporary home (and, for PostgreSQL books, a temporary database
    on the server of `url`, dropped afterwards) and verify it; never raises for a failed drill.
    """
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="huiquan-drill-") as scratch:
        target = None
        try:
            if url and make_url(url).get_backend_name() == "postgresql":
                target = _create_scratch_database(url)
            result = restore_backup(
                archive,
                home=Path(scratch) / "home",
                url=target,
                passphrase=passphrase,
                identities=identities,
            )
        except LedgerError as exc:
            return DrillResult(False, exc.message, 0, time.perf_counter() - started)
        except Exception as exc:
            detail = f"{type(exc).__name__}: {_first_line(str(exc))}"
            return DrillResult(False, detail, 0, time.perf_counter() - started)
        finally:
            if target is not None:
                _drop_database(target)
    return DrillResult(
        True,
        f"restored and verified {result.journal_size} entries",
        result.journal_size,
        time.perf_counter() - started,
    )


def _create_scratch_database(url: str) -> str:
    parsed = make_url(url)
    name = f"{parsed.database}_drill_{uuid.uuid4().hex[:12]}"
    engine = _pg_admin(url)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        engine.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


def _drop_database(url: str) -> None:
    parsed = make_url(url)
    engine = _pg_admin(parsed.set(database="postgres").render_as_string(hide_password=False))
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
    finally:
        engine.dispose()


# -- the schedule -------------------------------------------------------------------------------
def _write_json(path: Path, data: dict[str, Any]) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    partial.replace(path)


def read_status(home: Path) -> dict[str, Any] | None:
    """The last scheduled backup's status ($HUIQUAN_HOME/backup-status.json), if any."""
    path = home / STATUS_FILE
    if not path.is_file():
        return None
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def scheduled_backup_step(
    home: Path,
    url: str,
    folder: Path,
    keep: int,
    *,
    passphrase: str | None = None,
    recipients: Sequence[str] = (),
    identities: Sequence[str] = (),
) -> dict[str, Any]:
    """One scheduled run: back up into `folder`, drill the archive (opened with the passphrase
    or `identities`), keep the newest `keep` archives, and write the status file in the home.
    Returns the status written; a failure is recorded there, never raised."""
    now = dt.datetime.now(dt.UTC)
    status: dict[str, Any] = {"last_attempt_at": now.isoformat(timespec="seconds")}
    previous = read_status(home) or {}
    try:
        name = f"huiquan-{now.strftime('%Y%m%dT%H%M%S%fZ')}{SUFFIX}"
        result = create_backup(
            folder / name, home=home, url=url, passphrase=passphrase, recipients=recipients
        )
        checked = drill(result.path, passphrase=passphrase, identities=identities, url=url)
        status |= {
            "last_backup_at": now.isoformat(timespec="seconds"),
            "archive": str(result.path),
            "bytes": result.bytes,
            "journal_size": result.journal_size,
            "merkle_root": result.merkle_root,
            "drill": {"ok": checked.ok, "detail": checked.detail, "seconds": checked.seconds},
            "error": None,
        }
        _prune(folder, keep)
    except Exception as exc:
        detail = exc.message if isinstance(exc, LedgerError) else f"{type(exc).__name__}: {exc}"
        status = {**previous, **status, "error": _first_line(detail)}
    _write_json(home / STATUS_FILE, status)
    return status


def _prune(folder: Path, keep: int) -> None:
    archives = sorted(folder.glob(f"huiquan-*{SUFFIX}"))
    for old in archives[: max(0, len(archives) - max(1, keep))]:
        old.unlink(missing_ok=True)


def run_scheduled_backups(
    home: Path,
    url: str,
    folder: Path,
    every_hours: float,
    keep: int,
    *,
    passphrase: str | None = None,
    recipients: Sequence[str] = (),
    stop: threading.Event | None = None,
) -> threading.Thread:
    """Start a daemon thread that runs `scheduled_backup_step` now and every `every_hours`
    until `stop` is set; return it. The passphrase defaults to $HUIQUAN_BACKUP_PASSPHRASE.

    Raises:
        BackupRefused: without a passphrase (the drill must be able to open the archives).
    """
    secret = passphrase or os.environ.get(PASSPHRASE_ENV)
    if not secret:
        raise BackupRefused(f"scheduled backups need ${PASSPHRASE_ENV} (the drill opens them)")
    if every_hours <= 0 or keep < 1:
        raise BackupRefused("--backup-every must be positive and --backup-keep at least 1")
    halt = stop or threading.Event()

    def loop() -> None:
        while not halt.is_set():
            scheduled_backup_step(home, url, folder, keep, passphrase=secret, recipients=recipients)
            halt.wait(every_hours * 3600)

    thread = threading.Thread(target=loop, name="huiquan-backups", daemon=True)
    thread.start()
    return thread


# -- key custody --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RecoveryCode:
    kind: str  # "pseudonym" or "signing"
    label: str  # what the code restores, e.g. the signing key's name
    code: str  # HQ1-<kind letter>-<groups of base32>, the last 5 characters a checksum

    def __str__(self) -> str:
        return f"{self.label}\n  {self.code}"


_KINDS = {"pseudonym": "P", "signing": "S"}


def _code(kind: str, secret: bytes) -> str:
    check = hashlib.sha256(kind.encode("ascii") + secret).digest()[:3]
    letters = base64.b32encode(secret + check).decode("ascii").rstrip("=")
    groups = [letters[i : i + 4] for i in range(0, len(letters), 4)]
    return f"HQ1-{_KINDS[kind]}-" + "-".join(groups)


def parse_recovery_code(code: str) -> tuple[str, bytes]:
    """(kind, secret) from a recovery code as printed (spaces, dashes and case ignored).

    Raises:
        BackupRefused: when the code is malformed or its checksum fails (a mistyped letter).
    """
    cleaned = re.sub(r"[\s-]", "", code).upper()
    if not cleaned.startswith("HQ1") or len(cleaned) < 5:
        raise BackupRefused("not a Huiquan recovery code (HQ1-…)")
    kind = {v: k for k, v in _KINDS.items()}.get(cleaned[3])
    try:
        raw = base64.b32decode(cleaned[4:] + "=" * (-len(cleaned[4:]) % 8))
    except ValueError:
        raw = b""
    if kind is None or len(raw) != 35:
        raise BackupRefused("the recovery code is malformed")
    secret, check = raw[:32], raw[32:]
    if hashlib.sha256(kind.encode("ascii") + secret).digest()[:3] != check:
        raise BackupRefused("the recovery code's checksum fails: a character is mistyped")
    return kind, secret


def recovery_codes(home: Path) -> list[RecoveryCode]:
    """Recovery codes for the pseudonym key and the current signing key of `home`.

    Raises:
        BackupRefused: when a key is missing or unreadable.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    pseudonym = home / PSEUDONYM_KEY
    if not pseudonym.is_file() or len(secret := pseudonym.read_bytes()) != 32:
        raise BackupRefused(f"no 32-byte pseudonym key at {pseudonym}")
    codes = [RecoveryCode("pseudonym", "pseudonym key (pseudonym.key)", _code("pseudonym", secret))]
    key_path = home / "keys" / SIGNING_KEY_FILE
    if key_path.is_file():
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise BackupRefused(f"{key_path} is not an Ed25519 key")
        raw = key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        name = (home / "keys" / SIGNING_NAME_FILE).read_text(encoding="utf-8").strip()
        codes.append(
            RecoveryCode("signing", f"checkpoint signing key {name}", _code("signing", raw))
        )
    return codes


def export_keys(home: Path, *, out: Path | None = None, passphrase: str | None = None) -> str:
    """The recovery sheet (text) of `home`'s keys; with `out`, written there encrypted with
    `passphrase` (age) instead. Records the export in the home (`keys_exported`).

    Raises:
        BackupRefused: a missing key, `out` without a passphrase, or `out` that exists.
    """
    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    lines = [f"Huiquan Ledger key recovery sheet, {stamp}", f"home: {home}", ""]
    lines += [str(code) for code in recovery_codes(home)]
    sheet = "\n".join(lines) + "\n"
    if out is not None:
        if not passphrase:
            raise BackupRefused(f"an exported key file needs a passphrase (${PASSPHRASE_ENV})")
        if out.exists():
            raise BackupRefused(f"{out} exists; the export never overwrites a file")
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pyrage.passphrase.encrypt(sheet.encode("utf-8"), passphrase))
    (home / EXPORT_MARKER).write_text(stamp + "\n", encoding="utf-8")
    return sheet
