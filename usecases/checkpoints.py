"""Checkpoints on a schedule and at period close, and witnesses' cosignatures on them.

The bounded window (for the README): with the scheduler running (`CheckpointScheduler`, started
by `huiquan serve` and the app), every entry is covered by a signed checkpoint within
`CHECKPOINT_INTERVAL` seconds (default 60) plus one tick (a quarter of the interval) of being
posted. From then on it is provable (an inclusion proof), and deleting it, or any entry before
it, is caught by `ledger.tlog.audit.audit_checkpoints` as `journal_shorter_than_checkpoint` or
`checkpoint_root_mismatch`. A tail younger than that window is not yet covered: deleting it
leaves no signed trace. Each signed checkpoint is also kept outside the database (the anchor
file in ``$HUIQUAN_HOME/keys``), so deleting checkpoint rows is caught as `checkpoint_missing`;
witnesses that cosign (`add_cosignature`) hold copies no one at the service can delete.

Invariants owned here:
- A checkpoint is signed only when the journal has grown past the latest one, and at most once
  per `interval` seconds by `maybe_checkpoint` (period close signs at once: `checkpoint_at_close`).
- Two processes signing at once is harmless: the checkpoint of a size is stored once (primary
  key); the loser returns the stored one.
- A cosignature is stored only once it verifies, under a configured witness key, on a checkpoint
  this service stored and whose body is exactly the one submitted; one row per (size, witness
  key), a repeat is answered with the stored row.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.exc import IntegrityError

from ledger import idempotency
from ledger.errors import InvalidEntry, NotFound
from ledger.storage.tables import cosignatures
from ledger.text import digits
from ledger.tlog.audit import write_anchor
from ledger.tlog.checkpoints import CheckpointError, parse_signed_checkpoint
from ledger.tlog.journal import journal_size
from ledger.tlog.keys import ensure_signing_key
from ledger.tlog.proofs import (
    DEFAULT_ORIGIN,
    StoredCheckpoint,
    get_checkpoint,
    latest_checkpoint,
    make_checkpoint,
)
from ledger.tlog.witness import (
    WitnessError,
    configured_witnesses,
    parse_cosignature_line,
    verify_cosignature,
)
from usecases.books import Books
from usecases.unit import write

__all__ = [
    "CHECKPOINT_INTERVAL",
    "CheckpointScheduler",
    "CosignatureRejected",
    "StoredCosignature",
    "add_cosignature",
    "checkpoint_at_close",
    "checkpoint_interval",
    "checkpoint_now",
    "cosignatures_for",
    "hand_in_cosignature",
    "maybe_checkpoint",
    "witnessed_checkpoint",
]

CHECKPOINT_INTERVAL = 60  # seconds; HUIQUAN_CHECKPOINT_INTERVAL overrides
log = logging.getLogger(__name__)


class CosignatureRejected(InvalidEntry):
    """Raised when a cosignature is not by a configured witness key, does not verify, or is on
    a checkpoint other than the one this service signed at that size."""

    code = "cosignature_rejected"


def checkpoint_interval() -> int:
    """`$HUIQUAN_CHECKPOINT_INTERVAL` in seconds (at least 1), else `CHECKPOINT_INTERVAL`."""
    raw = os.environ.get("HUIQUAN_CHECKPOINT_INTERVAL", "")
    return max(1, int(raw)) if digits(raw.strip()) else CHECKPOINT_INTERVAL


def _age(stored: StoredCheckpoint, now: dt.datetime) -> float:
    try:
        made = dt.datetime.fromisoformat(stored.created_at)
    except ValueError:
        return float("inf")
    if made.tzinfo is None:
        made = made.replace(tzinfo=dt.UTC)
    return (now - made).total_seconds()


def _sign(
    engine: Engine,
    home: str | os.PathLike[str],
    origin: str,
    due: Callable[[Connection, StoredCheckpoint | None], bool],
) -> StoredCheckpoint | None:
    # A plain read first: most ticks find nothing due and must not take SQLite's write lock.
    with engine.connect() as conn:
        if not due(conn, latest_checkpoint(conn)):
            return None
    key = ensure_signing_key(home)
    try:
        # huiquan_write: BEGIN IMMEDIATE on SQLite, so the read and the insert see one journal.
        with engine.connect().execution_options(huiquan_write=True) as conn, conn.begin():
            latest = latest_checkpoint(conn)
            if not due(conn, latest):
                return None
            stored = make_checkpoint(conn, key, origin)
    except IntegrityError:  # another process stored this size first
        with engine.connect() as conn:
            return latest_checkpoint(conn)
    write_anchor(home, stored.signed_text, stored.size)
    return stored


def maybe_checkpoint(
    engine: Engine,
    home: str | os.PathLike[str],
    interval: float = CHECKPOINT_INTERVAL,
    *,
    origin: str = DEFAULT_ORIGIN,
    now: dt.datetime | None = None,
) -> StoredCheckpoint | None:
    """Sign a checkpoint if entries were added since the latest and it is `interval` s old.

    Returns the new checkpoint, or None when none was due.

    Raises:
        ProofError: if the journal no longer extends the latest checkpoint (it was altered).
        CheckpointError: if the signing key in ``home/keys`` cannot be loaded.
    """

    def due(conn: Connection, latest: StoredCheckpoint | None) -> bool:
        size = journal_size(conn)
        if latest is None:
            return size > 0
        if size == latest.size:
            return False
        return _age(latest, now or dt.datetime.now(dt.UTC)) >= interval

    return _sign(engine, home, origin, due)


def checkpoint_now(
    engine: Engine, home: str | os.PathLike[str], *, origin: str = DEFAULT_ORIGIN
) -> StoredCheckpoint | None:
    """Sign a checkpoint now if the journal has grown, whatever the interval (`huiquan
    checkpoint`, period close).

    Returns the checkpoint covering the whole journal (new or already stored), or None for an
    empty journal.

    Raises:
        ProofError, CheckpointError: as `maybe_checkpoint`.
    """

    def due(conn: Connection, latest: StoredCheckpoint | None) -> bool:
        return journal_size(conn) > (latest.size if latest else 0)

    signed = _sign(engine, home, origin, due)
    if signed is not None:
        return signed
    with engine.connect() as conn:
        return latest_checkpoint(conn)


def checkpoint_at_close(
    engine: Engine, home: str | os.PathLike[str], *, origin: str = DEFAULT_ORIGIN
) -> StoredCheckpoint | None:
    """The checkpoint that seals a closed period: call it once the close has committed, so the
    closed books are provable at once rather than within the interval.

    Raises:
        ProofError, CheckpointError: as `maybe_checkpoint`.
    """
    return checkpoint_now(engine, home, origin=origin)


class CheckpointScheduler(threading.Thread):
    """A daemon thread that calls `maybe_checkpoint` every quarter interval until `stop()`.

    A failure is logged and retried at the next tick: a bad moment must not stop the signing.
    """

    def __init__(
        self,
        engine: Engine,
        home: str | os.PathLike[str],
        interval: float = CHECKPOINT_INTERVAL,
        *,
        origin: str = DEFAULT_ORIGIN,
    ) -> None:
        super().__init__(name="huiquan-checkpoints", daemon=True)
        self.engine, self.home, self.interval, self.origin = engine, Path(home), interval, origin
        self.signed = 0
        self._stopping = threading.Event()

    @property
    def tick(self) -> float:
        return max(0.05, self.interval / 4)

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                if maybe_checkpoint(self.engine, self.home, self.interval, origin=self.origin):
                    self.signed += 1
            except Exception:  # logged, and tried again at the next tick
                log.exception("signing a scheduled checkpoint failed")
            self._stopping.wait(self.tick)

    def stop(self, timeout: float | None = 10) -> None:
        """Ask the thread to finish and wait for it (a signing under way completes)."""
        self._stopping.set()
        if self.is_alive():
            self.join(timeout)


@dataclass(frozen=True, slots=True)
class StoredCosignature:
    size: int
    witness: str
    key_id: str
    cosigned_at: int
    line: str
    received_at: str


def add_cosignature(
    engine: Engine,
    signed_checkpoint_text: str,
    cosignature: str,
    *,
    witness_vkeys: Sequence[str] | None = None,
    home: str | os.PathLike[str] | None = None,
) -> StoredCosignature:
    """Verify a witness's cosignature line on a stored checkpoint and store it.

    The witness keys are `witness_vkeys`, else ``home/keys/witnesses.vkeys``.

    Raises:
        NotFound: no checkpoint of that size is stored.
        CosignatureRejected: malformed, by an unconfigured key, not verifying, or on a
            checkpoint body other than the stored one.
    """
    vkeys = list(witness_vkeys) if witness_vkeys is not None else _configured(home)
    try:
        checkpoint, _ = parse_signed_checkpoint(signed_checkpoint_text)
        parsed = parse_cosignature_line(cosignature)
    except (CheckpointError, WitnessError) as bad:
        raise CosignatureRejected(str(bad), field="cosignature") from None
    vkey = _vkey_for(vkeys, parsed.name, parsed.key_id.hex())
    try:
        verify_cosignature(checkpoint, parsed.line, vkey)
    except WitnessError as bad:
        raise CosignatureRejected(str(bad), field="cosignature") from None
    new = StoredCosignature(
        checkpoint.size,
        parsed.name,
        parsed.key_id.hex(),
        parsed.timestamp,
        parsed.line,
        dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
    )
    try:
        with engine.begin() as conn:
            _check_stored(conn, checkpoint.size, checkpoint.body())
            existing = _cosignature(conn, checkpoint.size, parsed.name, new.key_id)
            if existing is not None:
                return existing
            conn.execute(insert(cosignatures).values(**asdict(new)))
    except IntegrityError:  # the same witness's cosignature arrived twice at once
        with engine.connect() as conn:
            existing = _cosignature(conn, checkpoint.size, parsed.name, new.key_id)
        if existing is None:  # pragma: no cover - the row that won is there
            raise
        return existing
    return new


def hand_in_cosignature(
    books: Books, signed_checkpoint_text: str, cosignature: str, *, key: str | None = None
) -> StoredCosignature:
    """`add_cosignature` for a caller with an idempotency key (the API): the same key with the
    same body answers the stored cosignature again; with another body it is refused.

    Raises:
        IdempotencyConflict, and as `add_cosignature`.
    """
    body = {"checkpoint": signed_checkpoint_text, "cosignature": cosignature}
    secret = books.pseudonym_secret()
    if key is not None:  # a conflicting reuse of the key is refused before anything is stored
        write(books, lambda uow: idempotency.lookup(uow, key, _ROUTE, body, secret))
    stored = add_cosignature(books.engine, signed_checkpoint_text, cosignature, home=books.home)
    if key is not None:
        made = f"{stored.size}:{stored.witness}:{stored.key_id}"
        write(books, lambda uow: idempotency.remember(uow, key, _ROUTE, body, made, secret))
    return stored


_ROUTE = "checkpoint-cosignatures"


def _configured(home: str | os.PathLike[str] | None) -> list[str]:
    if home is None:
        raise CosignatureRejected("no witness keys are configured", field="cosignature")
    return configured_witnesses(home)


def _vkey_for(vkeys: Sequence[str], name: str, key_id: str) -> str:
    for vkey in vkeys:
        parts = vkey.strip().split("+", 2)
        if len(parts) == 3 and parts[0] == name and parts[1].lower() == key_id:
            return vkey
    raise CosignatureRejected(
        f"{name!r} ({key_id}) is not a configured witness key", field="cosignature"
    )


def _check_stored(conn: Connection, size: int, body: str) -> None:
    stored = get_checkpoint(conn, size)
    if stored is None:
        raise NotFound(f"no checkpoint {size}", field="size")
    if parse_signed_checkpoint(stored.signed_text)[0].body() != body:
        raise CosignatureRejected(
            f"the cosigned checkpoint {size} is not the one this service signed at that size",
            field="checkpoint",
        )


def _cosignature(
    conn: Connection, size: int, witness: str, key_id: str
) -> StoredCosignature | None:
    c = cosignatures.c
    row = conn.execute(
        select(cosignatures).where(c.size == size, c.witness == witness, c.key_id == key_id)
    ).first()
    if row is None:
        return None
    return StoredCosignature(
        int(row.size), row.witness, row.key_id, int(row.cosigned_at), row.line, row.received_at
    )


def cosignatures_for(conn: Connection, size: int) -> list[StoredCosignature]:
    """The cosignatures stored for the checkpoint of `size`, oldest first."""
    c = cosignatures.c
    rows = conn.execute(
        select(cosignatures).where(c.size == size).order_by(c.received_at, c.witness)
    )
    return [
        StoredCosignature(
            int(r.size), r.witness, r.key_id, int(r.cosigned_at), r.line, r.received_at
        )
        for r in rows
    ]


def witnessed_checkpoint(conn: Connection, size: int) -> str:
    """The signed checkpoint of `size` with its stored cosignatures as further note lines.

    That is the C2SP form a verifier reads: `ledger.tlog.witness.verify_witnessed` counts the
    cosignatures by the witness keys it trusts and ignores the rest.

    Raises:
        NotFound: no checkpoint of that size is stored.
    """
    stored = get_checkpoint(conn, size)
    if stored is None:
        raise NotFound(f"no checkpoint {size}", field="size")
    present = set(stored.signed_text.splitlines())
    extra = [c.line for c in cosignatures_for(conn, size) if c.line not in present]
    return stored.signed_text + "".join(line + "\n" for line in extra)
