"""The journal checked against its signed checkpoints, with keys the database does not hold.

`ledger.integrity.verify_books` recomputes the chain and the leaves from the rows, so an attacker
who rewrites an entry and recomputes every hash after it, or deletes the tail and moves the chain
head back, leaves it nothing to find. A signed checkpoint is what the rows cannot forge: its
signature is checked against verifier keys kept outside the database (``$HUIQUAN_HOME/keys``,
`ledger.tlog.keys.trusted_vkeys`, or given by whoever audits), and its root fixes the first
`size` leaves for good.

Invariants checked (each failure is a finding with a stable code in `check`):
- `checkpoint_keys_missing`: checkpoints are stored but no trusted key was given to check them.
- `checkpoint_signature_invalid`: a stored checkpoint is not signed by a trusted key, or a
  trusted key's signature on it does not verify (forged or altered); it is then ignored.
- `checkpoint_row_mismatch`: the row's `size` / `root` columns differ from its signed text.
- `checkpoint_missing`: a checkpoint held outside the database (the anchor file written when a
  checkpoint is signed, or a witness's copy) is validly signed but not stored: rows were deleted.
- `checkpoint_root_mismatch`: the Merkle root of the journal's first `size` leaves is not the
  signed root: an entry at or below that size was rewritten (the finding names the range).
- `checkpoints_inconsistent`: two validly signed checkpoints that cannot both be prefixes of one
  journal (an earlier one disagrees with the journal where a later one agrees, or two differ at
  one size): history was rewritten and signed again.
- `journal_shorter_than_checkpoint`: the journal (its contiguous leaves from 1, or its chain
  head) holds fewer entries than a validly signed checkpoint covers: the tail was deleted.

Consistency between consecutive checkpoints is checked through the journal: a checkpoint whose
root the journal reproduces at its size is a prefix of the journal, so two such checkpoints are
consistent with each other (an RFC 6962 consistency proof between them would verify) and any
other pair is reported above. The stored leaf hashes are used; `verify_books` ties each of them
to its entry's content, so the two checks together cover rewritten content and rewritten hashes.

How: one pass over the leaves in sequence order, up to the largest checkpoint and no further,
keeping the RFC 6962 compact range (one node per set bit of the count); the root at any size is
folded from it in O(log n). Each leaf costs about one hash, so the pass runs at the speed of
reading `leaf_hash` (well over 100,000 entries/s).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sqlalchemy import Connection, select

from ledger.storage.tables import checkpoints, journal_entries
from ledger.tlog.checkpoints import Checkpoint, CheckpointError, verify_checkpoint
from ledger.tlog.journal import journal_size
from ledger.tlog.merkle import EMPTY_ROOT

__all__ = [
    "ANCHOR_FILE",
    "CheckpointAudit",
    "CheckpointFinding",
    "CompactRange",
    "audit_checkpoints",
    "read_anchor",
    "write_anchor",
]

ANCHOR_FILE = "latest.checkpoint"  # in $HUIQUAN_HOME/keys, beside the trusted keys
_NODE = b"\x01"


@dataclass(frozen=True, slots=True)
class CheckpointFinding:
    """One problem: the first sequence it concerns (if known), a stable code, plain words."""

    sequence: int | None
    check: str
    detail: str
    size: int | None = None

    def __str__(self) -> str:
        where = f"sequence {self.sequence}: " if self.sequence is not None else ""
        return f"{where}{self.check}: {self.detail}"


@dataclass(slots=True)
class CheckpointAudit:
    """What `audit_checkpoints` checked: trusted checkpoints, leaves read, the findings."""

    checkpoints: int = 0
    leaves: int = 0
    latest_size: int | None = None
    findings: list[CheckpointFinding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


class CompactRange:
    """The RFC 6962 tree of leaves appended so far, as its perfect subtrees' roots.

    ``nodes[i]`` covers ``2**heights[i]`` leaves; heights strictly decrease, one node per set bit
    of `size`. `append` costs one leaf's worth of hashing amortised; `root` O(log size).
    """

    __slots__ = ("heights", "nodes", "size")

    def __init__(self) -> None:
        self.nodes: list[bytes] = []
        self.heights: list[int] = []
        self.size = 0

    def append(self, leaf: bytes) -> None:
        nodes, heights, sha = self.nodes, self.heights, hashlib.sha256
        node, height = leaf, 0
        while heights and heights[-1] == height:
            node = sha(_NODE + nodes.pop() + node).digest()
            heights.pop()
            height += 1
        nodes.append(node)
        heights.append(height)
        self.size += 1

    def root(self) -> bytes:
        """The Merkle tree hash of the leaves appended so far (RFC 6962 MTH)."""
        if not self.nodes:
            return EMPTY_ROOT
        root = self.nodes[-1]
        for node in reversed(self.nodes[:-1]):
            root = hashlib.sha256(_NODE + node + root).digest()
        return root


@dataclass(frozen=True, slots=True)
class _Target:
    checkpoint: Checkpoint
    where: str  # "checkpoint 42" or "checkpoint 42 (held outside the database)"


def audit_checkpoints(
    conn: Connection,
    trusted_vkeys: Sequence[str],
    *,
    origin: str | None = None,
    anchors: Sequence[str] = (),
    batch: int = 50_000,
    max_findings: int = 100,
) -> CheckpointAudit:
    """Check every stored checkpoint's signature and root against the journal; return findings.

    `anchors` are signed checkpoints held outside the database (`read_anchor`, a witness's
    latest); they are checked like stored ones and must be stored too. With `origin`, every
    checkpoint must be for that log.

    Raises:
        TypeError: if `trusted_vkeys` is one string rather than a sequence of them.
    """
    if isinstance(trusted_vkeys, str):
        raise TypeError("trusted_vkeys must be a sequence of vkey strings, not one string")
    audit = CheckpointAudit()

    def add(seq: int | None, check: str, detail: str, size: int | None = None) -> None:
        if len(audit.findings) < max_findings:
            audit.findings.append(CheckpointFinding(seq, check, detail, size))

    targets: dict[int, _Target] = {}
    stored = 0
    for size, root_hex, text in _stored_rows(conn):
        stored += 1
        if not trusted_vkeys:
            continue
        try:
            cp = verify_checkpoint(text, trusted_vkeys, origin=origin)
        except CheckpointError as bad:
            add(None, "checkpoint_signature_invalid", f"stored checkpoint {size}: {bad}", size)
            continue
        if cp.size != size or cp.root.hex() != root_hex:
            add(
                None,
                "checkpoint_row_mismatch",
                f"the row says size {size} root {root_hex[:12]}…, its signed text says size "
                f"{cp.size} root {cp.root.hex()[:12]}…",
                size,
            )
        _add_target(targets, _Target(cp, f"checkpoint {cp.size}"), add)
    if stored and not trusted_vkeys:
        add(
            None,
            "checkpoint_keys_missing",
            f"{stored} checkpoint(s) are stored but no trusted verifier key was given: put the "
            "log's vkeys in $HUIQUAN_HOME/keys/trusted.vkeys or pass them",
        )
        return audit
    for text in anchors:
        _check_anchor(text, trusted_vkeys, origin, targets, add)
    audit.checkpoints = len(targets)
    if targets:
        audit.latest_size = max(targets)
        _check_roots(conn, sorted(targets.items()), batch, audit, add)
    return audit


def _stored_rows(conn: Connection, page: int = 1000) -> Iterator[tuple[int, str, str]]:
    c = checkpoints.c
    after = -1
    while True:
        rows = conn.execute(
            select(c.size, c.root, c.signed_text).where(c.size > after).order_by(c.size).limit(page)
        ).all()
        for size, root, text in rows:
            yield int(size), str(root), str(text)
        if len(rows) < page:
            return
        after = int(rows[-1][0])


def _add_target(targets: dict[int, _Target], target: _Target, add: _Add) -> bool:
    cp = target.checkpoint
    known = targets.get(cp.size)
    if known is None:
        targets[cp.size] = target
        return True
    if known.checkpoint.root != cp.root:
        add(
            None,
            "checkpoints_inconsistent",
            f"{known.where} and {target.where} are both validly signed for size {cp.size} but "
            f"with roots {known.checkpoint.root.hex()[:12]}… and {cp.root.hex()[:12]}…",
            cp.size,
        )
    return False


def _check_anchor(
    text: str,
    trusted_vkeys: Sequence[str],
    origin: str | None,
    targets: dict[int, _Target],
    add: _Add,
) -> None:
    try:
        cp = verify_checkpoint(text, trusted_vkeys, origin=origin)
    except CheckpointError as bad:
        add(None, "checkpoint_signature_invalid", f"a checkpoint held outside the database: {bad}")
        return
    if cp.size not in targets:
        add(
            cp.size + 1 if cp.size else None,
            "checkpoint_missing",
            f"checkpoint {cp.size} (root {cp.root.hex()[:12]}…) was signed and is held outside "
            "the database, but the checkpoints table does not have it: rows were deleted",
            cp.size,
        )
    _add_target(targets, _Target(cp, f"checkpoint {cp.size} (held outside the database)"), add)


def _check_roots(
    conn: Connection,
    targets: list[tuple[int, _Target]],
    batch: int,
    audit: CheckpointAudit,
    add: _Add,
) -> None:
    tree = CompactRange()
    want = iter(targets)
    size, target = next(want)
    verdicts: list[tuple[int, _Target, bool]] = []
    while size == 0:  # a checkpoint of the empty journal: its root is SHA-256("")
        verdicts.append((0, target, target.checkpoint.root == EMPTY_ROOT))
        size, target = next(want, (-1, target))
    last = targets[-1][0]
    e = journal_entries.c
    lo = 0
    done = size < 0
    while not done and lo < last:
        hi = min(last, lo + batch)
        rows = conn.execute(
            select(e.sequence, e.leaf_hash)
            .where(e.sequence > lo, e.sequence <= hi)
            .order_by(e.sequence)
        ).all()
        for sequence, leaf_hex in rows:
            if int(sequence) != tree.size + 1:
                done = True  # a gap: leaves past it cannot be placed (verify_books names it)
                break
            tree.append(_leaf(leaf_hex))
            if tree.size == size:
                verdicts.append((size, target, tree.root() == target.checkpoint.root))
                size, target = next(want, (-1, target))
                if size < 0:
                    done = True
                    break
        if len(rows) < hi - lo:
            break
        lo = hi
    audit.leaves = tree.size
    _report(verdicts, add)
    head = journal_size(conn)
    if tree.size < last or head < last:
        add(
            min(tree.size, head) + 1,
            "journal_shorter_than_checkpoint",
            f"checkpoint {last} was signed over {last} entries, but the journal holds "
            f"{tree.size} in sequence and its chain head says {head}: entries "
            f"{min(tree.size, head) + 1}..{last} were deleted",
            last,
        )


def _report(verdicts: list[tuple[int, _Target, bool]], add: _Add) -> None:
    good = 0  # the largest size whose checkpoint the journal reproduces
    for k, (size, target, matches) in enumerate(verdicts):
        if matches:
            if k and not verdicts[k - 1][2]:
                earlier = verdicts[k - 1][1]
                add(
                    verdicts[k - 1][0] + 1 if verdicts[k - 1][0] else None,
                    "checkpoints_inconsistent",
                    f"{earlier.where} and {target.where} are both validly signed, but the "
                    f"journal matches {target.where} and not {earlier.where}: they cannot both "
                    "be prefixes of one journal, so history was rewritten and signed again",
                    size,
                )
            good = size
            continue
        add(
            good + 1,
            "checkpoint_root_mismatch",
            f"the journal's first {size} entries do not hash to the root signed in "
            f"{target.where} ({target.checkpoint.root.hex()[:12]}…): an entry in "
            f"{good + 1}..{size} was changed after it was signed",
            size,
        )


def _leaf(leaf_hex: object) -> bytes:
    try:
        leaf = bytes.fromhex(str(leaf_hex))
    except ValueError:
        return b""  # not a hash: the root cannot match, which is the finding
    return leaf


class _Add(Protocol):  # the type of the `add` callbacks above
    def __call__(
        self, seq: int | None, check: str, detail: str, size: int | None = None
    ) -> None: ...


def read_anchor(home: str | os.PathLike[str]) -> str | None:
    """The latest signed checkpoint kept outside the database (``home/keys``), if any."""
    path = Path(home) / "keys" / ANCHOR_FILE
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def write_anchor(home: str | os.PathLike[str], signed_text: str, size: int) -> None:
    """Keep `signed_text` (of `size`) as the anchor unless a larger one is kept already."""
    folder = Path(home) / "keys"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    current = read_anchor(home)
    if current is not None:
        try:
            kept = int(current.split("\n", 2)[1])
        except (IndexError, ValueError):
            kept = -1
        if kept >= size:
            return
    tmp = folder / (ANCHOR_FILE + ".tmp")
    tmp.write_text(signed_text, encoding="utf-8")
    os.replace(tmp, folder / ANCHOR_FILE)
