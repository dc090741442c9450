"""The transparency log over the journal: Merkle tree (RFC 6962/9162), signed checkpoints (C2SP
tlog-checkpoint, Ed25519), inclusion and consistency proofs, signing keys and journal leaves.

Here so that both `receipts` (a receipt's proof) and `audits` (bundles, verification) may use it.
"""
