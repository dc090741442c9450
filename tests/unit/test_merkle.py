"""RFC 6962 / RFC 9162 Merkle tree: published vectors, tampering, a naive reference, properties."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ledger.tlog.merkle as merkle
from ledger.tlog.merkle import (
    EMPTY_ROOT,
    MerkleError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)

VECTORS_NAME = "rfc6962_vectors.json"

# Published proofs over the same eight leaves, from transparency-dev/merkle proof/verify_test.go
# (RFC 6962 reference test data). Leaf indexes here are 0-based (the Go file counts from 1).
PUBLISHED_INCLUSION_PROOFS: list[tuple[int, int, list[str]]] = [
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (0, 1, []),
]
PUBLISHED_CONSISTENCY_PROOFS: list[tuple[int, int, list[str]]] = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]

SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")


@dataclass(frozen=True)
class Vectors:
    leaf_hashes: list[bytes]
    roots: list[bytes]  # roots[n] is the root of the first n leaves


def find_vectors_file() -> Path:
    """The repository's own copy of the RFC 6962 reference vectors (a clean clone passes alone)."""
    path = Path(__file__).resolve().parents[1] / "testdata" / VECTORS_NAME
    if not path.is_file():
        pytest.fail(f"RFC 6962 vectors missing at {path}")
    return path


@pytest.fixture(scope="module")
def vectors() -> Vectors:
    data = json.loads(find_vectors_file().read_text(encoding="utf-8"))
    leaves = [leaf_hash(bytes.fromhex(x)) for x in data["leaf_inputs_hex"]]
    roots = [bytes.fromhex(x) for x in data["root_by_tree_size_hex"]]
    assert len(roots) == len(leaves) + 1, "the vectors give one root per size 0..n"
    return Vectors(leaves, roots)


# --- a naive reference, written straight from the recursive definitions in RFC 6962 2.1 -----


def ref_split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(d: Sequence[bytes]) -> bytes:
    if len(d) == 0:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return d[0]
    k = ref_split(len(d))
    return hashlib.sha256(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:])).digest()


def ref_path(m: int, d: Sequence[bytes]) -> list[bytes]:
    if len(d) <= 1:
        return []
    k = ref_split(len(d))
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_subproof(m: int, d: Sequence[bytes], whole: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if whole else [ref_mth(d)]
    k = ref_split(n)
    if m <= k:
        return [*ref_subproof(m, d[:k], whole), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


def ref_proof(m: int, d: Sequence[bytes]) -> list[bytes]:
    return ref_subproof(m, d, True) if 0 < m < len(d) else []


def synthetic_leaves(n: int) -> list[bytes]:
    return [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


def flip(b: bytes, at: int = 0, mask: int = 0x08) -> bytes:
    return b[:at] + bytes([b[at] ^ mask]) + b[at + 1 :]


# --- hashing primitives --------------------------------------------------------------------


def test_leaf_and_node_hashes_use_the_rfc_6962_domain_separation_prefixes() -> None:
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    a, b = leaf_hash(b"a"), leaf_hash(b"b")
    assert node_hash(a, b) == hashlib.sha256(b"\x01" + a + b).digest()
    assert node_hash(a, b) != node_hash(b, a)


def test_the_empty_tree_root_is_the_sha256_of_the_empty_string() -> None:
    assert root_from_leaf_hashes([]) == EMPTY_ROOT == hashlib.sha256(b"").digest()


def test_a_one_leaf_tree_has_the_leaf_hash_as_its_root() -> None:
    h = leaf_hash(b"only")
    assert root_from_leaf_hashes([h]) == h


def test_node_hash_refuses_children_that_are_not_32_byte_hashes() -> None:
    with pytest.raises(MerkleError):
        node_hash(b"short", SOME_HASH)
    with pytest.raises(MerkleError):
        node_hash(SOME_HASH, SOME_HASH + b"x")


def test_merkle_error_is_a_value_error() -> None:
    assert issubclass(MerkleError, ValueError)


def test_the_public_surface_is_exactly_what_all_declares() -> None:
    public = {name for name in vars(merkle) if not name.startswith("_")}
    imported_helpers = {"annotations", "hashlib", "Sequence"}
    assert set(merkle.__all__) == public - imported_helpers


# --- published vectors ---------------------------------------------------------------------


def test_the_vectors_file_is_the_repository_s_own_copy() -> None:
    path = find_vectors_file()
    assert path.name == VECTORS_NAME
    assert path.parent.name == "testdata"


def test_every_published_root_is_reproduced(vectors: Vectors) -> None:
    for n, expected in enumerate(vectors.roots):
        got = root_from_leaf_hashes(vectors.leaf_hashes[:n])
        assert got == expected, f"tree size {n}: {got.hex()} != {expected.hex()}"


def test_every_inclusion_proof_on_the_vectors_verifies_against_the_published_root(
    vectors: Vectors,
) -> None:
    for n in range(1, len(vectors.leaf_hashes) + 1):
        tree = vectors.leaf_hashes[:n]
        for i in range(n):
            proof = inclusion_proof(tree, i)
            assert verify_inclusion(tree[i], i, n, proof, vectors.roots[n]), (i, n)


def test_every_consistency_proof_between_vector_sizes_verifies(vectors: Vectors) -> None:
    for n in range(len(vectors.leaf_hashes) + 1):
        for m in range(n + 1):
            proof = consistency_proof(vectors.leaf_hashes[:n], m)
            assert verify_consistency(m, n, vectors.roots[m], vectors.roots[n], proof), (m, n)


@pytest.mark.parametrize(("index", "size", "expected"), PUBLISHED_INCLUSION_PROOFS)
def test_published_inclusion_proofs_are_reproduced_exactly(
    vectors: Vectors, index: int, size: int, expected: list[str]
) -> None:
    tree = vectors.leaf_hashes[:size]
    assert [p.hex() for p in inclusion_proof(tree, index)] == expected
    proof = [bytes.fromhex(p) for p in expected]
    assert verify_inclusion(tree[index], index, size, proof, vectors.roots[size])


@pytest.mark.parametrize(("old_size", "new_size", "expected"), PUBLISHED_CONSISTENCY_PROOFS)
def test_published_consistency_proofs_are_reproduced_exactly(
    vectors: Vectors, old_size: int, new_size: int, expected: list[str]
) -> None:
    tree = vectors.leaf_hashes[:new_size]
    assert [p.hex() for p in consistency_proof(tree, old_size)] == expected
    proof = [bytes.fromhex(p) for p in expected]
    roots = vectors.roots
    assert verify_consistency(old_size, new_size, roots[old_size], roots[new_size], proof)


# --- tampering -----------------------------------------------------------------------------


def inclusion_tamperings(
    leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes
) -> dict[str, tuple[bytes, int, int, list[bytes], bytes]]:
    """Corruptions after transparency-dev/merkle's corruptInclusionProof."""
    probes = {
        "index - 1": (leaf, index - 1, size, proof, root),
        "index + 1": (leaf, index + 1, size, proof, root),
        "index ^ 2": (leaf, index ^ 2, size, proof, root),
        "size * 2": (leaf, index, size * 2, proof, root),
        "size // 2": (leaf, index, size // 2, proof, root),
        "wrong leaf": (leaf_hash(b"WrongLeaf"), index, size, proof, root),
        "short leaf": (b"WrongLeaf", index, size, proof, root),
        "empty-tree root": (leaf, index, size, proof, EMPTY_ROOT),
        "random root": (leaf, index, size, proof, SOME_HASH),
        "flipped root": (leaf, index, size, proof, flip(root, 31)),
        "trailing garbage": (leaf, index, size, [*proof, b""], root),
        "trailing root": (leaf, index, size, [*proof, root], root),
        "preceding garbage": (leaf, index, size, [b"", *proof], root),
        "preceding root": (leaf, index, size, [root, *proof], root),
    }
    for i in range(len(proof)):
        probes[f"flipped proof[{i}]"] = (leaf, index, size, [*proof[:i], flip(proof[i])], root)
    if proof:
        probes["removed component"] = (leaf, index, size, proof[:-1], root)
    if len(proof) > 1:
        probes["inserted component"] = (leaf, index, size, [proof[0], SOME_HASH, *proof[1:]], root)
    return probes


def consistency_tamperings(
    m: int, n: int, old_root: bytes, new_root: bytes, proof: list[bytes]
) -> dict[str, tuple[int, int, bytes, bytes, list[bytes]]]:
    """Corruptions after transparency-dev/merkle's corruptConsistencyProof."""
    probes = {
        "old size - 1": (m - 1, n, old_root, new_root, proof),
        "old size + 1": (m + 1, n, old_root, new_root, proof),
        "old size ^ 2": (m ^ 2, n, old_root, new_root, proof),
        "new size * 2": (m, n * 2, old_root, new_root, proof),
        "new size // 2": (m, n // 2, old_root, new_root, proof),
        "wrong old root": (m, n, SOME_HASH, new_root, proof),
        "wrong new root": (m, n, old_root, SOME_HASH, proof),
        "short old root": (m, n, b"WrongRoot", new_root, proof),
        "swapped roots": (m, n, new_root, old_root, proof),
        "empty proof": (m, n, old_root, new_root, []),
        "trailing garbage": (m, n, old_root, new_root, [*proof, b""]),
        "trailing old root": (m, n, old_root, new_root, [*proof, old_root]),
        "trailing new root": (m, n, old_root, new_root, [*proof, new_root]),
        "preceding garbage": (m, n, old_root, new_root, [b"", *proof]),
        "preceding old root": (m, n, old_root, new_root, [old_root, *proof]),
        "preceding new root": (m, n, old_root, new_root, [new_root, *proof]),
        "preceding proof[0]": (m, n, old_root, new_root, [proof[0], *proof]),
        "truncated proof": (m, n, old_root, new_root, proof[:-1]),
    }
    for i in range(len(proof)):
        probes[f"flipped proof[{i}]"] = (m, n, old_root, new_root, [*proof[:i], flip(proof[i])])
    return probes


def test_every_tampered_inclusion_proof_on_the_vectors_fails(vectors: Vectors) -> None:
    for n in range(1, len(vectors.leaf_hashes) + 1):
        tree, root = vectors.leaf_hashes[:n], vectors.roots[n]
        for i in range(n):
            probes = inclusion_tamperings(tree[i], i, n, inclusion_proof(tree, i), root)
            accepted = [name for name, args in probes.items() if verify_inclusion(*args)]
            assert accepted == [], f"leaf {i} of {n} verified with: {accepted}"


def test_every_tampered_consistency_proof_on_the_vectors_fails(vectors: Vectors) -> None:
    roots = vectors.roots
    for n in range(2, len(vectors.leaf_hashes) + 1):
        for m in range(1, n):
            proof = consistency_proof(vectors.leaf_hashes[:n], m)
            probes = consistency_tamperings(m, n, roots[m], roots[n], proof)
            accepted = [name for name, args in probes.items() if verify_consistency(*args)]
            assert accepted == [], f"{m} -> {n} verified with: {accepted}"


def test_an_inclusion_proof_for_one_leaf_does_not_prove_another(vectors: Vectors) -> None:
    tree, root = vectors.leaf_hashes, vectors.roots[8]
    proof = inclusion_proof(tree, 3)
    for other in range(8):
        if other != 3:
            assert not verify_inclusion(tree[other], 3, 8, proof, root)
            assert not verify_inclusion(tree[3], other, 8, proof, root)


def test_an_interior_node_cannot_pass_for_a_leaf() -> None:
    l0, l1 = synthetic_leaves(2)
    two_leaf_root = node_hash(l0, l1)
    # The node's preimage, offered as leaf data, hashes under the leaf prefix instead.
    forged_leaf = leaf_hash(b"\x01" + l0 + l1)
    assert forged_leaf != two_leaf_root
    assert not verify_inclusion(forged_leaf, 0, 1, [], two_leaf_root)
    assert root_from_leaf_hashes([forged_leaf]) != two_leaf_root


def test_a_proof_longer_than_the_claimed_tree_allows_fails() -> None:
    a, b = synthetic_leaves(2)
    root = node_hash(a, b)
    # Hashing on past the top would turn "b is the only leaf" into the real two-leaf root.
    assert not verify_inclusion(b, 0, 1, [a], root)


@pytest.mark.parametrize(("index", "size"), [(0, 0), (1, 0), (2, 1), (1, 1), (5, 3), (-1, 1)])
def test_inclusion_verification_fails_for_a_leaf_outside_the_tree(index: int, size: int) -> None:
    # leaf == root with an empty proof would verify if the position were not checked first.
    assert not verify_inclusion(SOME_HASH, index, size, [], SOME_HASH)
    for leaf, root in [(SOME_HASH, b""), (b"", EMPTY_ROOT), (SOME_HASH, EMPTY_ROOT)]:
        assert not verify_inclusion(leaf, index, size, [], root)


def test_a_one_leaf_inclusion_needs_an_empty_proof_and_the_leaf_as_root() -> None:
    h = leaf_hash(b"data")
    assert verify_inclusion(h, 0, 1, [], h)
    assert not verify_inclusion(h, 0, 1, [], b"")
    assert not verify_inclusion(b"", 0, 1, [], h)
    assert not verify_inclusion(h, 0, 1, [h], h)


def test_trivial_consistency_cases_follow_the_reference_verifier() -> None:
    r1, r2 = leaf_hash(b"1"), leaf_hash(b"2")
    assert verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    assert verify_consistency(1, 1, r1, r1, [])
    assert verify_consistency(0, 5, EMPTY_ROOT, r2, [])
    assert not verify_consistency(0, 5, SOME_HASH, r2, []), "only the empty root has size 0"
    assert not verify_consistency(1, 1, r1, r2, []), "same size, different roots"
    assert not verify_consistency(0, 0, EMPTY_ROOT, r2, [])
    assert not verify_consistency(1, 1, r1, r1, [r1]), "same size needs an empty proof"
    assert not verify_consistency(0, 1, EMPTY_ROOT, r1, [EMPTY_ROOT])
    assert not verify_consistency(1, 0, r1, EMPTY_ROOT, []), "trees never shrink"
    assert not verify_consistency(2, 1, r1, r2, [])
    assert not verify_consistency(1, 2, r1, r2, []), "a real step needs a proof"
    assert not verify_consistency(-1, 2, r1, r2, [r1])


# --- generation errors ---------------------------------------------------------------------


@pytest.mark.parametrize("index", [-1, 8, 9, 100])
def test_an_inclusion_proof_for_a_leaf_outside_the_tree_is_refused(index: int) -> None:
    with pytest.raises(MerkleError, match="out of range"):
        inclusion_proof(synthetic_leaves(8), index)


def test_an_inclusion_proof_in_an_empty_tree_is_refused() -> None:
    with pytest.raises(MerkleError):
        inclusion_proof([], 0)


@pytest.mark.parametrize("old_size", [-1, 9, 100])
def test_a_consistency_proof_from_an_impossible_old_size_is_refused(old_size: int) -> None:
    with pytest.raises(MerkleError, match="out of range"):
        consistency_proof(synthetic_leaves(8), old_size)


def test_consistency_proofs_from_empty_and_from_the_same_size_are_empty() -> None:
    tree = synthetic_leaves(8)
    assert consistency_proof(tree, 0) == []
    assert consistency_proof(tree, 8) == []
    assert consistency_proof([], 0) == []


def test_leaf_hashes_that_are_not_32_bytes_are_refused() -> None:
    tree = [*synthetic_leaves(3), b"not a hash"]
    with pytest.raises(MerkleError):
        root_from_leaf_hashes(tree)
    with pytest.raises(MerkleError):
        inclusion_proof(tree, 0)
    with pytest.raises(MerkleError):
        consistency_proof(tree, 2)


# --- against the naive reference -----------------------------------------------------------


def test_roots_match_the_recursive_reference_for_every_size_up_to_130() -> None:
    tree = synthetic_leaves(130)
    for n in range(131):
        assert root_from_leaf_hashes(tree[:n]) == ref_mth(tree[:n]), n


def test_proofs_match_the_recursive_reference_for_every_index_and_size_up_to_40() -> None:
    tree = synthetic_leaves(40)
    for n in range(41):
        sub = tree[:n]
        for i in range(n):
            assert inclusion_proof(sub, i) == ref_path(i, sub), (i, n)
        for m in range(n + 1):
            assert consistency_proof(sub, m) == ref_proof(m, sub), (m, n)


def test_proofs_match_the_reference_around_powers_of_two_in_a_larger_tree() -> None:
    tree = synthetic_leaves(1030)
    for n in (511, 512, 513, 1023, 1024, 1025, 1030):
        sub = tree[:n]
        root = ref_mth(sub)
        assert root_from_leaf_hashes(sub) == root
        for i in (0, 1, 255, 256, 510, n - 2, n - 1):
            proof = inclusion_proof(sub, i)
            assert proof == ref_path(i, sub)
            assert verify_inclusion(sub[i], i, n, proof, root)
        for m in sorted({1, 2, 3, 256, 257, 511, 512, n - 1} & set(range(1, n))):
            proof = consistency_proof(sub, m)
            assert proof == ref_proof(m, sub)
            assert verify_consistency(m, n, ref_mth(sub[:m]), root, proof)


# --- properties ----------------------------------------------------------------------------

leaf_lists = st.lists(st.binary(max_size=16), max_size=40).map(
    lambda xs: [leaf_hash(x) for x in xs]
)


@settings(max_examples=150, deadline=None)
@given(leaves=leaf_lists)
def test_every_inclusion_proof_of_a_random_tree_verifies(leaves: list[bytes]) -> None:
    n = len(leaves)
    root = root_from_leaf_hashes(leaves)
    assert root == ref_mth(leaves)
    for i in range(n):
        assert verify_inclusion(leaves[i], i, n, inclusion_proof(leaves, i), root), i


@settings(max_examples=150, deadline=None)
@given(leaves=leaf_lists)
def test_every_consistency_proof_between_sizes_of_a_random_tree_verifies(
    leaves: list[bytes],
) -> None:
    roots = [root_from_leaf_hashes(leaves[:k]) for k in range(len(leaves) + 1)]
    for n in range(len(leaves) + 1):
        for m in range(n + 1):
            proof = consistency_proof(leaves[:n], m)
            assert verify_consistency(m, n, roots[m], roots[n], proof), (m, n)


@settings(max_examples=200, deadline=None)
@given(data=st.data(), leaves=st.lists(st.binary(max_size=16), min_size=2, max_size=40))
def test_a_flipped_byte_anywhere_in_an_inclusion_proof_or_root_fails(
    data: st.DataObject, leaves: list[bytes]
) -> None:
    tree = [leaf_hash(x) for x in leaves]
    n = len(tree)
    i = data.draw(st.integers(0, n - 1), label="index")
    proof = inclusion_proof(tree, i)
    root = root_from_leaf_hashes(tree)
    at = data.draw(st.integers(0, 31), label="byte")
    mask = data.draw(st.integers(1, 255), label="mask")
    j = data.draw(st.integers(0, len(proof) - 1), label="proof element")
    tampered = [*proof[:j], flip(proof[j], at, mask), *proof[j + 1 :]]
    assert not verify_inclusion(tree[i], i, n, tampered, root)
    assert not verify_inclusion(tree[i], i, n, proof, flip(root, at, mask))
    assert not verify_inclusion(flip(tree[i], at, mask), i, n, proof, root)


@settings(max_examples=200, deadline=None)
@given(data=st.data(), leaves=st.lists(st.binary(max_size=16), min_size=2, max_size=40))
def test_a_flipped_byte_anywhere_in_a_consistency_proof_or_root_fails(
    data: st.DataObject, leaves: list[bytes]
) -> None:
    tree = [leaf_hash(x) for x in leaves]
    n = data.draw(st.integers(2, len(tree)), label="new size")
    m = data.draw(st.integers(1, n - 1), label="old size")
    proof = consistency_proof(tree[:n], m)
    old_root, new_root = root_from_leaf_hashes(tree[:m]), root_from_leaf_hashes(tree[:n])
    assert verify_consistency(m, n, old_root, new_root, proof)
    at = data.draw(st.integers(0, 31), label="byte")
    mask = data.draw(st.integers(1, 255), label="mask")
    j = data.draw(st.integers(0, len(proof) - 1), label="proof element")
    tampered = [*proof[:j], flip(proof[j], at, mask), *proof[j + 1 :]]
    assert not verify_consistency(m, n, old_root, new_root, tampered)
    assert not verify_consistency(m, n, flip(old_root, at, mask), new_root, proof)
    assert not verify_consistency(m, n, old_root, flip(new_root, at, mask), proof)
