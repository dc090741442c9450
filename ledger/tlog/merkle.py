"""RFC 6962 / RFC 9162 Merkle tree hashing, inclusion proofs and consistency proofs.

Pure functions over byte strings; standard library only.

Invariants owned here:
- The hash is SHA-256 and every hash is 32 bytes (`HASH_SIZE`).
- A leaf hash is ``SHA-256(0x00 || data)`` and an interior node is
  ``SHA-256(0x01 || left || right)``; the distinct prefixes keep a leaf from ever passing for a
  node (second-preimage resistance, RFC 6962 section 2.1).
- The root of the empty tree is ``SHA-256(b"")`` (`EMPTY_ROOT`).
- For ``n > 1`` leaves the tree splits at ``k``, the largest power of two strictly smaller than
  ``n``: ``MTH(D[n]) = node(MTH(D[0:k]), MTH(D[k:n]))``. Computed level by level, that is the same
  as pairing nodes left to right and carrying an odd last node up a level unchanged.
- Proofs are lists of 32-byte hashes ordered from the leaf (or the old subtree) up to the root,
  exactly as RFC 6962 PATH and PROOF define them, and they verify with the RFC 9162 sections
  2.1.3.2 and 2.1.4.2 algorithms.
- Generating functions raise `MerkleError` for an out-of-range index or size or a hash that is
  not 32 bytes; verifying functions never raise on bad input, they return ``False``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MerkleError",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root_from_leaf_hashes",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


class MerkleError(ValueError):
    """Raised when an index or tree size is out of range, or a hash is not 32 bytes."""


def leaf_hash(data: bytes) -> bytes:
    """Return the RFC 6962 leaf hash ``SHA-256(0x00 || data)``."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 6962 interior node hash ``SHA-256(0x01 || left || right)``.

    Raises:
        MerkleError: if ``left`` or ``right`` is not 32 bytes long.
    """
    if len(left) != HASH_SIZE or len(right) != HASH_SIZE:
        raise MerkleError(f"node children must be {HASH_SIZE}-byte hashes")
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def root_from_leaf_hashes(leaf_hashes: Sequence[bytes]) -> bytes:
    """Return the Merkle tree hash (root) of a list of leaf hashes.

    Linear in the number of leaves and iterative: about a second for a million leaves.

    Raises:
        MerkleError: if any leaf hash is not 32 bytes long.
    """
    _check_hashes(leaf_hashes)
    return _root(leaf_hashes, 0, len(leaf_hashes))


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int) -> list[bytes]:
    """Return the RFC 6962 audit path PATH(index, D[n]) for the leaf at ``index``.

    Raises:
        MerkleError: if ``index`` is not in ``range(len(leaf_hashes))`` or a leaf hash is not
            32 bytes long.
    """
    size = len(leaf_hashes)
    if not 0 <= index < size:
        raise MerkleError(f"leaf index {index} is out of range for a tree of size {size}")
    _check_hashes(leaf_hashes)
    # Walk from the root down to the leaf; each sibling subtree is hashed once and the siblings
    # are disjoint, so the whole proof costs O(n) hashing.
    path: list[bytes] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            path.append(_root(leaf_hashes, lo + k, hi))
            hi = lo + k
        else:
            path.append(_root(leaf_hashes, lo, lo + k))
            lo += k
    path.reverse()
    return path


def verify_inclusion(
    leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """Return whether ``proof`` shows ``leaf_hash`` at ``index`` in the tree with ``root``.

    Follows RFC 9162 section 2.1.3.2. Malformed input (out-of-range index, hashes that are not
    32 bytes) fails verification rather than raising.
    """
    if not 0 <= index < tree_size or not _all_hash_sized([leaf_hash, root, *proof]):
        return False
    fn, sn = index, tree_size - 1
    r = leaf_hash
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = _node(p, r)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = _node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def consistency_proof(leaf_hashes: Sequence[bytes], old_size: int) -> list[bytes]:
    """Return the RFC 6962 consistency proof PROOF(old_size, D[n]), n = ``len(leaf_hashes)``.

    The proof is empty when ``old_size`` is 0 or equals the current size.

    Raises:
        MerkleError: if ``old_size`` is not in ``range(len(leaf_hashes) + 1)`` or a leaf hash is
            not 32 bytes long.
    """
    size = len(leaf_hashes)
    if not 0 <= old_size <= size:
        raise MerkleError(f"old size {old_size} is out of range for a tree of size {size}")
    _check_hashes(leaf_hashes)
    if old_size in (0, size):
        return []
    # SUBPROOF(m, D[lo:hi], b) unrolled from the top; the subtrees hashed are disjoint.
    proof: list[bytes] = []
    m, lo, hi, whole = old_size, 0, size, True
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            proof.append(_root(leaf_hashes, lo + k, hi))
            hi = lo + k
        else:
            proof.append(_root(leaf_hashes, lo, lo + k))
            m -= k
            lo += k
            whole = False
    if not whole:
        proof.append(_root(leaf_hashes, lo, hi))
    proof.reverse()
    return proof


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Return whether ``proof`` shows the tree ``old_root`` is a prefix of the tree ``new_root``.

    Follows RFC 9162 section 2.1.4.2 for ``0 < old_size < new_size``. Equal sizes need an empty
    proof and equal roots; an empty old tree (root `EMPTY_ROOT`) is a prefix of every tree and
    needs an empty proof. Malformed input fails verification rather than raising.
    """
    if not 0 <= old_size <= new_size or not _all_hash_sized([old_root, new_root, *proof]):
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof and old_root == EMPTY_ROOT
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = _node(c, fr)
            sr = _node(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = _node(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0


def _node(left: bytes, right: bytes) -> bytes:
    # Unchecked twin of `node_hash` for the hot loops; callers have checked the sizes.
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """Return the largest power of two strictly smaller than ``n`` (``n > 1``)."""
    return 1 << ((n - 1).bit_length() - 1)


def _root(leaf_hashes: Sequence[bytes], lo: int, hi: int) -> bytes:
    """Return MTH(D[lo:hi]) over already-checked leaf hashes, level by level."""
    if hi <= lo:
        return EMPTY_ROOT
    level = list(leaf_hashes[lo:hi])
    sha256 = hashlib.sha256
    prefix = _NODE_PREFIX
    while len(level) > 1:
        carry = level[-1] if len(level) & 1 else None
        # strict=False on purpose: the odd last node has no partner and is carried instead.
        pairs = zip(level[0::2], level[1::2], strict=False)
        level = [sha256(prefix + a + b).digest() for a, b in pairs]
        if carry is not None:
            level.append(carry)
    return level[0]


def _check_hashes(hashes: Sequence[bytes]) -> None:
    if not _all_hash_sized(hashes):
        raise MerkleError(f"every leaf hash must be {HASH_SIZE} bytes long")


def _all_hash_sized(hashes: Sequence[bytes]) -> bool:
    return all(length == HASH_SIZE for length in set(map(len, hashes)))
