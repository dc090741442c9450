"""`audit_checkpoints` catches what `verify_books` cannot: a journal rewritten with its hashes
recomputed, a tail deleted with the chain head moved back, and a forged checkpoint."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from ledger.integrity import verify_books
from ledger.storage.unit_of_work import read_only
from ledger.tlog.audit import (
    CompactRange,
    audit_checkpoints,
    read_anchor,
    write_anchor,
)
from ledger.tlog.checkpoints import Checkpoint, SigningKey
from ledger.tlog.journal import leaf_hashes
from ledger.tlog.merkle import leaf_hash, root_from_leaf_hashes
from ledger.tlog.proofs import DEFAULT_ORIGIN
from tests.tlog.conftest import (
    behind_the_triggers,
    checkpoint,
    delete_tail,
    rehash_everything,
    rewrite_memo,
)


def books_verify(engine):
    with read_only(engine) as repo:
        return verify_books(repo, workers=0)


def audit(engine, vkeys, **kwargs):
    with engine.connect() as conn:
        return audit_checkpoints(conn, vkeys, **kwargs)


def codes(result):
    return [f.check for f in result.findings]


@pytest.mark.parametrize("size", range(0, 70))
def test_the_compact_range_gives_the_rfc6962_root_at_every_size(size):
    leaves = [leaf_hash(str(i).encode()) for i in range(size)]
    tree = CompactRange()
    for leaf in leaves:
        tree.append(leaf)
    assert tree.root() == root_from_leaf_hashes(leaves)


@pytest.mark.parametrize("cuts", [(), (1,), (3, 4), (5, 13, 32), (31, 33, 64), (2, 7, 8, 40)])
def test_extending_the_compact_range_in_pieces_gives_the_root_at_every_cut(cuts):
    leaves = [leaf_hash(str(i).encode()) for i in range(69)]
    tree, at = CompactRange(), 0
    for cut in (*cuts, len(leaves)):
        tree.extend(leaves[at:cut])
        at = cut
        assert tree.size == cut and tree.root() == root_from_leaf_hashes(leaves[:cut])


def test_honest_books_with_checkpoints_and_a_younger_tail_verify(engine, books, key):
    checkpoint(engine, key)
    books.donate("900", donor=books.donor_id)
    checkpoint(engine, key)
    books.donate("1000", donor=books.donor_id)
    result = audit(engine, [key.vkey], origin=DEFAULT_ORIGIN)
    assert result.ok, result.findings
    assert (result.checkpoints, result.latest_size, result.leaves) == (2, 9, 9)


def test_an_entry_rewritten_with_its_hashes_recomputed_is_a_root_mismatch(engine, books, key):
    checkpoint(engine, key)  # size 8
    rewrite_memo(engine, 3)
    assert books_verify(engine).ok  # what `huiquan verify` saw until now: nothing

    result = audit(engine, [key.vkey])
    assert codes(result) == ["checkpoint_root_mismatch"]
    assert result.findings[0].size == 8 and result.findings[0].sequence == 1


def test_a_rewrite_between_two_checkpoints_is_placed_after_the_older_one(engine, books, key):
    checkpoint(engine, key)  # 8
    books.donate("900", donor=books.donor_id)
    books.donate("950", donor=books.donor_id)
    checkpoint(engine, key)  # 10
    rewrite_memo(engine, 9)
    assert books_verify(engine).ok

    result = audit(engine, [key.vkey])
    assert codes(result) == ["checkpoint_root_mismatch"]
    assert (result.findings[0].sequence, result.findings[0].size) == (9, 10)


def test_a_deleted_tail_with_the_chain_head_moved_back_is_found(engine, books, key):
    checkpoint(engine, key)  # 8
    delete_tail(engine, keep=6)
    assert books_verify(engine).ok

    result = audit(engine, [key.vkey])
    assert codes(result) == ["journal_shorter_than_checkpoint"]
    assert result.findings[0].sequence == 7 and "7..8" in result.findings[0].detail


def test_deleting_the_checkpoints_too_is_caught_by_the_anchor_kept_outside(
    engine, books, key, home
):
    stored = checkpoint(engine, key)
    write_anchor(home, stored.signed_text, stored.size)
    delete_tail(engine, keep=6)
    behind_the_triggers(engine, lambda conn: conn.execute(text("DELETE FROM checkpoints")))
    assert books_verify(engine).ok
    assert audit(engine, [key.vkey]).ok  # the table alone no longer knows

    result = audit(engine, [key.vkey], anchors=[read_anchor(home)])
    assert codes(result) == ["checkpoint_missing", "journal_shorter_than_checkpoint"]


def test_a_deleted_middle_entry_leaves_the_checkpoint_uncovered(engine, books, key):
    checkpoint(engine, key)

    def work(conn):
        conn.execute(text("DELETE FROM postings WHERE sequence = 4"))
        conn.execute(text("DELETE FROM journal_entries WHERE sequence = 4"))

    behind_the_triggers(engine, work)
    result = audit(engine, [key.vkey], batch=3)
    assert codes(result) == ["journal_shorter_than_checkpoint"] and result.leaves == 3


@pytest.mark.parametrize("batch", [1, 2, 3, 8, 1000])
def test_the_findings_do_not_depend_on_the_batch_size(engine, books, key, batch):
    checkpoint(engine, key)  # 8
    books.donate("900", donor=books.donor_id)
    books.donate("950", donor=books.donor_id)
    checkpoint(engine, key)  # 10
    assert audit(engine, [key.vkey], batch=batch).ok
    rewrite_memo(engine, 9)
    result = audit(engine, [key.vkey], batch=batch)
    assert [(f.check, f.sequence, f.size) for f in result.findings] == [
        ("checkpoint_root_mismatch", 9, 10)
    ]


def test_a_checkpoint_forged_with_another_key_is_found(engine, books, key):
    checkpoint(engine, key)  # 8, honest
    books.donate("900", donor=books.donor_id)
    forger = SigningKey.generate(key.name)  # same name, another key
    with engine.connect() as conn:
        leaves = leaf_hashes(conn, 9)
    root = root_from_leaf_hashes(leaves)
    forged = forger.sign(Checkpoint(DEFAULT_ORIGIN, 9, root))
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO checkpoints (size, root, signed_text, created_at) "
                "VALUES (9, :r, :t, '2026-12-05T00:00:00+00:00')"
            ),
            {"r": root.hex(), "t": forged},
        )
    assert books_verify(engine).ok

    result = audit(engine, [key.vkey])
    assert codes(result) == ["checkpoint_signature_invalid"]
    assert result.findings[0].size == 9


def test_a_rewrite_signed_again_by_an_insider_makes_the_checkpoints_inconsistent(
    engine, books, key
):
    checkpoint(engine, key)  # 8
    rewrite_memo(engine, 3)
    books.donate("900", donor=books.donor_id)
    # An insider with the key signs the rewritten journal (make_checkpoint would refuse).
    with engine.connect() as conn:
        root = root_from_leaf_hashes(leaf_hashes(conn, 9))
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO checkpoints (size, root, signed_text, created_at) "
                "VALUES (9, :r, :t, '2026-12-05T00:00:00+00:00')"
            ),
            {"r": root.hex(), "t": key.sign(Checkpoint(DEFAULT_ORIGIN, 9, root))},
        )
    assert books_verify(engine).ok

    result = audit(engine, [key.vkey])
    assert codes(result) == ["checkpoint_root_mismatch", "checkpoints_inconsistent"]


def test_stored_checkpoints_without_trusted_keys_are_a_finding(engine, books, key):
    checkpoint(engine, key)
    assert codes(audit(engine, [])) == ["checkpoint_keys_missing"]


def test_a_row_whose_columns_disagree_with_its_signed_text_is_found(engine, books, key):
    checkpoint(engine, key)
    behind_the_triggers(
        engine,
        lambda conn: conn.execute(text("UPDATE checkpoints SET root = :r"), {"r": "ab" * 32}),
    )
    assert codes(audit(engine, [key.vkey])) == ["checkpoint_row_mismatch"]


def test_the_audit_reads_no_further_than_the_latest_checkpoint(engine, books, key):
    checkpoint(engine, key)
    books.donate("900", donor=books.donor_id)

    def corrupt(conn):
        conn.execute(text("UPDATE journal_entries SET memo = 'late' WHERE sequence = 9"))
        rehash_everything(conn)

    behind_the_triggers(engine, corrupt)
    result = audit(engine, [key.vkey])
    assert result.ok and result.leaves == 8  # entry 9 is not yet covered by any checkpoint


@pytest.mark.parametrize("chunk", [1, 2, 4, 8, 3, 16])
def test_leaves_recomputed_by_the_caller_give_the_same_findings(engine, books, key, chunk):
    checkpoint(engine, key)  # 8
    books.donate("900", donor=books.donor_id)
    books.donate("950", donor=books.donor_id)
    checkpoint(engine, key)  # 10
    books.donate("990", donor=books.donor_id)
    with engine.connect() as conn:
        leaves = leaf_hashes(conn, 11)

    def ranges(ls):
        for i in range(0, len(ls), chunk):
            part = ls[i : i + chunk]
            yield b"".join(part), root_from_leaf_hashes(part)

    assert audit(engine, [key.vkey], leaf_ranges=ranges(leaves)).ok
    altered = [*leaves[:8], leaf_hash(b"not entry 9"), *leaves[9:]]
    result = audit(engine, [key.vkey], leaf_ranges=ranges(altered))
    assert [(f.check, f.sequence, f.size) for f in result.findings] == [
        ("checkpoint_root_mismatch", 9, 10)
    ]


def test_checkpoints_signed_after_the_caller_s_scan_are_not_held_against_it(engine, books, key):
    with engine.connect() as conn:
        leaves = leaf_hashes(conn, 8)
    ranges = [(b"".join(leaves), root_from_leaf_hashes(leaves))]
    checkpoint(engine, key)  # 8
    books.donate("900", donor=books.donor_id)
    checkpoint(engine, key)  # 9, signed while the caller was scanning 8 entries
    result = audit(engine, [key.vkey], leaf_ranges=ranges, upto=8)
    assert result.ok and result.latest_size == 9 and result.leaves == 8


def test_a_deleted_tail_is_found_even_beyond_the_caller_s_scan(engine, books, key):
    checkpoint(engine, key)  # 8
    delete_tail(engine, keep=6)
    with engine.connect() as conn:
        leaves = leaf_hashes(conn, 6)
    ranges = [(b"".join(leaves), root_from_leaf_hashes(leaves))]
    result = audit(engine, [key.vkey], leaf_ranges=ranges, upto=6)
    assert codes(result) == ["journal_shorter_than_checkpoint"]
    assert result.findings[0].sequence == 7
