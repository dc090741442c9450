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
from collections.abc import Iterable, Iterator, Sequence
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
        """Append one leaf hash."""
        self._push(leaf, 0, 1)

    def extend(self, leaves: Sequence[bytes]) -> None:
        """Append `leaves` in order, hashing whole aligned subtrees level by level."""
        i, n = 0, len(leaves)
        while i < n:
            # The largest perfect subtree that starts here: aligned to the size so far, and
            # no larger than what is left.
            p = self.size & -self.size or 1 << (n - i).bit_length()
            while p > n - i:
                p >>= 1
            self._push(_perfect_root(leaves[i : i + p]), p.bit_length() - 1, p)
            i += p

    def push_subtree(self, root: bytes, count: int) -> None:
        """Append `count` leaves (a power of two, aligned to the size so far) by their root.

        Raises:
            ValueError: if `count` is not a power of two that the size so far is a multiple of.
        """
        if not _aligned(self.size, count):
            raise ValueError(f"{count} leaves at {self.size} are not an aligned subtree")
        self._push(root, count.bit_length() - 1, count)

    def _push(self, node: bytes, height: int, count: int) -> None:
        nodes, heights, sha = self.nodes, self.heights, hashlib.sha256
        while heights and heights[-1] == height:
            node = sha(_NODE + nodes.pop() + node).digest()
            heights.pop()
            height += 1
        nodes.append(node)
        heights.append(height)
        self.size += count

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
    leaf_ranges: Iterable[tuple[bytes, bytes]] | None = None,
    upto: int | None = None,
) -> CheckpointAudit:
    """Check every stored checkpoint's signature and root against the journal; return findings.

    `anchors` are signed checkpoints held outside the database (`read_anchor`, a witness's
    latest); they are checked like stored ones and must be stored too. With `origin`, every
    checkpoint must be for that log.

    `leaf_ranges` lets a caller that has already recomputed the leaves from the entries'
    content (`verify_books`: its ranges' ``(leaves, root)``, in order from leaf 1) pass them
    instead of the stored `leaf_hash` column being read; a range that is a whole aligned subtree
    with no checkpoint inside is taken by its root without hashing again. Such a caller passes
    `upto`, the journal size it scanned: checkpoints larger than that (signed while it scanned)
    have their signatures checked but not their roots.

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
    checkable = sorted((s, t) for s, t in targets.items() if upto is None or s <= upto)
    if checkable:
        _check_roots(conn, checkable, batch, leaf_ranges, audit, add)
    if targets:
        _check_length(conn, checkable[-1][0] if checkable else 0, max(targets), audit, add)
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
            None,
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
    leaf_ranges: Iterable[tuple[bytes, bytes]] | None,
    audit: CheckpointAudit,
    add: _Add,
) -> None:
    tree = CompactRange()
    verdicts: list[tuple[int, _Target, bool]] = []
    last = targets[-1][0]
    pending = [(size, target) for size, target in targets if size > 0]
    for size, target in targets:
        if size == 0:  # a checkpoint of the empty journal: its root is SHA-256("")
            verdicts.append((0, target, target.checkpoint.root == EMPTY_ROOT))
    k = 0
    pieces = (
        _leaf_batches(conn, last, batch)
        if leaf_ranges is None
        else _given_ranges(leaf_ranges, last)
    )
    for piece, subtree_root in pieces:
        base = tree.size  # the piece's first leaf is leaf number base + 1
        count = len(piece) // 32 if isinstance(piece, bytes) else len(piece)
        inside = k < len(pending) and pending[k][0] < base + count
        if subtree_root is not None and not inside and _aligned(base, count):
            # A whole aligned subtree whose root the caller computed: no hashing here.
            tree.push_subtree(subtree_root, count)
            leaves: Sequence[bytes] = ()
        else:
            leaves = _split(piece) if isinstance(piece, bytes) else piece
        at = 0
        # Cut at each checkpoint size inside the piece; the root is read there.
        while k < len(pending) and pending[k][0] <= base + count:
            size, target = pending[k]
            tree.extend(leaves[at : size - base])
            at = size - base
            verdicts.append((size, target, tree.root() == target.checkpoint.root))
            k += 1
        tree.extend(leaves[at:])
    audit.leaves = tree.size
    _report(verdicts, add)


def _check_length(
    conn: Connection, checked: int, latest: int, audit: CheckpointAudit, add: _Add
) -> None:
    """A journal shorter than a signed checkpoint: too few leaves in sequence under the
    checkpoints whose roots were checked, or a chain head (read now, after any scan) below the
    largest checkpoint. A checkpoint signed after a caller's scan (beyond `upto`) is covered by
    the head, which only ever grows, so it is never mistaken for a deleted tail."""
    head = journal_size(conn)
    if audit.leaves >= checked and head >= latest:
        return
    if audit.leaves < checked:
        size, have = checked, min(audit.leaves, head)
        holds = f"holds {audit.leaves} entries in sequence (its chain head says {head})"
    else:
        size, have = latest, head
        holds = f"has {head} entries by its chain head"
    add(
        have + 1,
        "journal_shorter_than_checkpoint",
        f"checkpoint {size} was signed over {size} entries, but the journal {holds}: "
        f"entries {have + 1}..{size} were deleted",
        size,
    )


def _aligned(base: int, count: int) -> bool:
    return count > 0 and count & (count - 1) == 0 and base % count == 0


def _split(blob: bytes) -> list[bytes]:
    return [blob[i : i + 32] for i in range(0, len(blob), 32)]


def _given_ranges(
    ranges: Iterable[tuple[bytes, bytes]], last: int
) -> Iterator[tuple[list[bytes] | bytes, bytes | None]]:
    """The caller's (leaves blob, root) ranges, cut off after leaf `last`."""
    seen = 0
    for blob, root in ranges:
        count = len(blob) // 32
        if seen + count > last:
            yield _split(blob[: (last - seen) * 32]), None
            return
        yield blob, root
        seen += count
        if seen == last:
            return


def _leaf_batches(
    conn: Connection, last: int, batch: int
) -> Iterator[tuple[list[bytes] | bytes, bytes | None]]:
    """Leaf hashes of entries 1..`last` in order, in lists of up to `batch`; they stop at the
    first gap in the numbering (leaves past it cannot be placed; `verify_books` names it)."""
    # The DB-API cursor under `conn` (same transaction and snapshot): no Row objects per leaf.
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    e = journal_entries
    query = (
        f"SELECT {e.c.sequence.name}, {e.c.leaf_hash.name} FROM {e.name} "
        f"WHERE {e.c.sequence.name} > {mark} AND {e.c.sequence.name} <= {mark} "
        f"ORDER BY {e.c.sequence.name}"
    )
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        lo = 0
        while lo < last:
            hi = min(last, lo + batch)
            cursor.execute(query, (lo, hi))
            rows = cursor.fetchall()
            whole = len(rows) == hi - lo and (not rows or int(rows[-1][0]) == hi)
            if not whole:  # a gap or the end: keep the leaves before it
                n = 0
                while n < len(rows) and int(rows[n][0]) == lo + n + 1:
                    n += 1
                rows = rows[:n]
            yield _leaves([r[1] for r in rows]), None
            if len(rows) < hi - lo:
                return
            lo = hi
    finally:
        cursor.close()


def _leaves(hexes: list[str]) -> list[bytes]:
    try:
        blob = bytes.fromhex("".join(hexes))
    except (ValueError, TypeError):
        blob = b""
    if len(blob) == 32 * len(hexes):
        return [blob[i : i + 32] for i in range(0, len(blob), 32)]
    return [_leaf(h) for h in hexes]  # a malformed hash somewhere: take them one by one


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


def _perfect_root(level: Sequence[bytes]) -> bytes:
    """The root over a power-of-two number of nodes, level by level."""
    sha = hashlib.sha256
    while len(level) > 1:
        level = [sha(_NODE + a + b).digest() for a, b in zip(level[0::2], level[1::2], strict=True)]
    return level[0]


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
