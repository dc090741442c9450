"""The transparency log over the journal: Merkle tree (RFC 6962/9162), signed checkpoints (C2SP
tlog-checkpoint, Ed25519), inclusion and consistency proofs, signing keys and journal leaves.

Here so that both `receipts` (a receipt's proof) and `audits` (bundles, verification) may use it.
"""

__all__ = ["DEFAULT_ORIGIN"]

#: The log's origin line in its checkpoints (C2SP tlog-checkpoint), unless a caller names another.
DEFAULT_ORIGIN = "huiquan-ledger"
