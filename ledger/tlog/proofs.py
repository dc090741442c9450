"""Signed checkpoints of the journal, and the proofs that tie entries and later sizes to them.

Invariants owned here:
- A checkpoint commits to the first `size` entries: its root is the RFC 6962 Merkle root of
  their leaf hashes (`journal_entries.leaf_hash`, leaf index = sequence - 1). It is signed with
  the Ed25519 key of `ledger.tlog.keys` and stored in the append-only table `checkpoints`.
- `make_checkpoint` never signs a tree it has not checked: every entry added since the previous
  checkpoint has its leaf hash recomputed from its canonical serialisation, the numbering must
  be gapless, and the first `previous.size` leaves must still hash to the previous root (the
  new tree is an extension of the old one). Otherwise it raises `ProofError` and signs nothing.
- The checkpoint body carries one extension line, ``audit-events <n> <hash>``: the audit trail's
  head when the checkpoint was made, so `ledger.trail.verify_trail` can catch a deleted tail.
- Proof hashes are standard base64 (as the checkpoint's root line); the leaf hash is also given
  in hex, as the export columns show it.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select

from ledger.chain import leaf_hash_hex
from ledger.storage.tables import checkpoints, journal_entries
from ledger.tlog.checkpoints import Checkpoint, SigningKey, parse_signed_checkpoint
from ledger.tlog.journal import iter_entry_objects, journal_size, leaf_hashes
from ledger.tlog.merkle import (
    consistency_proof,
    inclusion_proof,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)
from ledger.trail import trail_head

__all__ = [
    "DEFAULT_ORIGIN",
    "ProofError",
    "ProofPending",
    "StoredCheckpoint",
    "audit_anchor",
    "consistency_between",
    "get_checkpoint",
    "inclusion_for_entry",
    "latest_checkpoint",
    "list_checkpoints",
    "make_checkpoint",
]

from ledger.text import digits
from ledger.tlog import DEFAULT_ORIGIN

AUDIT_EXTENSION = "audit-events"


class ProofError(ValueError):
    """Raised when a proof cannot be made: unknown size or entry, or the journal was altered."""


class ProofPending(ProofError):
    """Raised when an entry is newer than the latest signed checkpoint: provable once the next
    checkpoint is signed (within the service's checkpoint interval)."""


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    size: int
    root: str  # hex
    signed_text: str
    created_at: str

    @property
    def origin(self) -> str:
        return self.signed_text.split("\n", 1)[0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "origin": self.origin,
            "size": self.size,
            "root": base64.b64encode(bytes.fromhex(self.root)).decode("ascii"),
            "root_hex": self.root,
            "created_at": self.created_at,
            "signed": self.signed_text,
        }

    def header(self) -> str:
        """One line naming the checkpoint, for an HTTP header: ``origin size root-base64``."""
        d = self.to_dict()
        return f"{d['origin']} {d['size']} {d['root']}"


def _stored(row: Any) -> StoredCheckpoint:
    return StoredCheckpoint(int(row.size), row.root, row.signed_text, row.created_at)


def list_checkpoints(
    conn: Connection, *, after: int | None = None, limit: int = 100
) -> list[StoredCheckpoint]:
    """Stored checkpoints in ascending size, after the size `after`."""
    c = checkpoints.c
    query = select(checkpoints).order_by(c.size).limit(max(1, min(limit, 1000)))
    if after is not None:
        query = query.where(c.size > after)
    return [_stored(r) for r in conn.execute(query)]


def latest_checkpoint(conn: Connection, *, at_most: int | None = None) -> StoredCheckpoint | None:
    """The largest stored checkpoint (no larger than `at_most` when given)."""
    c = checkpoints.c
    query = select(checkpoints).order_by(c.size.desc()).limit(1)
    if at_most is not None:
        query = query.where(c.size <= at_most)
    row = conn.execute(query).first()
    return None if row is None else _stored(row)


def get_checkpoint(conn: Connection, size: int) -> StoredCheckpoint | None:
    row = conn.execute(select(checkpoints).where(checkpoints.c.size == size)).first()
    return None if row is None else _stored(row)


def audit_anchor(signed_text: str) -> tuple[int, str] | None:
    """The (sequence, hash) of the audit trail recorded in a checkpoint, if it carries one."""
    checkpoint, _ = parse_signed_checkpoint(signed_text)
    for line in checkpoint.extensions:
        parts = line.split(" ")
        if len(parts) == 3 and parts[0] == AUDIT_EXTENSION and digits(parts[1]):
            return int(parts[1]), parts[2]
    return None


def _checked_leaves(conn: Connection, size: int, previous: StoredCheckpoint | None) -> list[bytes]:
    leaves = leaf_hashes(conn, size)
    if len(leaves) != size:
        raise ProofError(f"the chain head says {size} entries but {len(leaves)} are stored")
    start = previous.size + 1 if previous else 1
    for head, _obj, canonical in iter_entry_objects(conn, start=start, upto=size):
        if leaf_hash_hex(canonical) != head.leaf_hash:
            raise ProofError(
                f"entry {head.sequence}'s content does not match its leaf hash; "
                "refusing to sign a checkpoint over an altered journal"
            )
    if previous is not None and previous.size > 0:
        if root_from_leaf_hashes(leaves[: previous.size]).hex() != previous.root:
            raise ProofError(
                f"the first {previous.size} entries no longer hash to the root of the previous "
                "checkpoint: the journal was rewritten; refusing to sign"
            )
    return leaves


def make_checkpoint(
    conn: Connection, key: SigningKey, origin: str = DEFAULT_ORIGIN
) -> StoredCheckpoint:
    """Sign and store a checkpoint over the whole journal; return it (the caller commits).

    If a checkpoint of the current size exists already, it is returned unchanged.

    Raises:
        ProofError: when the journal fails the checks in the module docstring.
        CheckpointError: for an invalid origin.
    """
    size = journal_size(conn)
    existing = get_checkpoint(conn, size)
    if existing is not None:
        return existing
    newest = latest_checkpoint(conn)
    if newest is not None and newest.size > size:
        raise ProofError(
            f"checkpoint {newest.size} was signed but the journal now has {size} entries: "
            "entries were deleted; refusing to sign"
        )
    previous = newest
    leaves = _checked_leaves(conn, size, previous)
    root = root_from_leaf_hashes(leaves)
    events, events_hash = trail_head(conn)
    body = Checkpoint(origin, size, root, (f"{AUDIT_EXTENSION} {events} {events_hash}",))
    stored = StoredCheckpoint(
        size, root.hex(), key.sign(body), dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    )
    conn.execute(
        insert(checkpoints).values(
            size=stored.size,
            root=stored.root,
            signed_text=stored.signed_text,
            created_at=stored.created_at,
        )
    )
    return stored


def _b64(items: Sequence[bytes]) -> list[str]:
    return [base64.b64encode(h).decode("ascii") for h in items]


def inclusion_for_entry(conn: Connection, entry_id: str, size: int | None = None) -> dict[str, Any]:
    """An inclusion proof of one entry in the checkpoint of `size` (default: the latest).

    Raises:
        ProofError: unknown entry or checkpoint, entry beyond the checkpoint, or a journal that
            no longer matches the checkpoint's root.
    """
    row = conn.execute(
        select(journal_entries.c.sequence, journal_entries.c.leaf_hash).where(
            journal_entries.c.id == entry_id
        )
    ).first()
    if row is None:
        raise ProofError(f"no entry {entry_id!r}")
    checkpoint = latest_checkpoint(conn) if size is None else get_checkpoint(conn, size)
    if checkpoint is None and size is None:
        raise ProofPending(
            "no checkpoint has been signed yet; the entry is provable once the first one is"
        )
    if checkpoint is None:
        raise ProofError(f"no checkpoint {size}")
    sequence = int(row.sequence)
    if sequence > checkpoint.size:
        raise ProofPending(
            f"entry {sequence} is newer than checkpoint {checkpoint.size}, the latest; it is "
            "provable once the next checkpoint is signed"
        )
    leaves = leaf_hashes(conn, checkpoint.size)
    proof = inclusion_proof(leaves, sequence - 1)
    root = bytes.fromhex(checkpoint.root)
    if not verify_inclusion(leaves[sequence - 1], sequence - 1, checkpoint.size, proof, root):
        raise ProofError("the journal no longer matches the checkpoint's root")
    return {
        "entry_id": entry_id,
        "sequence": sequence,
        "leaf_index": sequence - 1,
        "leaf_hash": row.leaf_hash,
        "tree_size": checkpoint.size,
        "proof": _b64(proof),
        "checkpoint": checkpoint.signed_text,
    }


def consistency_between(conn: Connection, old_size: int, new_size: int) -> dict[str, Any]:
    """A consistency proof that the journal at `old_size` is a prefix of it at `new_size`.

    Both sizes are usually checkpoint sizes; their signed checkpoints are included when stored.

    Raises:
        ProofError: for sizes out of order or beyond the journal, or an altered journal.
    """
    head = journal_size(conn)
    if not 0 <= old_size <= new_size <= head:
        raise ProofError(f"need 0 <= from <= to <= {head}, got from={old_size} to={new_size}")
    leaves = leaf_hashes(conn, new_size)
    proof = consistency_proof(leaves, old_size)
    old_root = root_from_leaf_hashes(leaves[:old_size])
    new_root = root_from_leaf_hashes(leaves)
    old_cp, new_cp = get_checkpoint(conn, old_size), get_checkpoint(conn, new_size)
    for cp, root in ((old_cp, old_root), (new_cp, new_root)):
        if cp is not None and cp.root != root.hex():
            raise ProofError(f"the journal no longer matches checkpoint {cp.size}'s root")
    if not verify_consistency(old_size, new_size, old_root, new_root, proof):  # pragma: no cover
        raise ProofError("internal error: the consistency proof does not verify")
    return {
        "from": old_size,
        "to": new_size,
        "from_root": _b64([old_root])[0],
        "to_root": _b64([new_root])[0],
        "proof": _b64(proof),
        "from_checkpoint": old_cp.signed_text if old_cp else None,
        "to_checkpoint": new_cp.signed_text if new_cp else None,
    }
