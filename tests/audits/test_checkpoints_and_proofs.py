"""Signed checkpoints over the journal, key rotation, and inclusion and consistency proofs."""

from __future__ import annotations

import base64
import os
import stat

import pytest

from ledger.storage.unit_of_work import UnitOfWork
from ledger.tlog.checkpoints import CheckpointError, verify_checkpoint
from ledger.tlog.keys import ensure_signing_key, rotate_key, trusted_vkeys
from ledger.tlog.merkle import verify_consistency, verify_inclusion
from ledger.tlog.proofs import (
    ProofError,
    audit_anchor,
    consistency_between,
    inclusion_for_entry,
    latest_checkpoint,
    list_checkpoints,
    make_checkpoint,
)
from ledger.trail import record_event, verify_trail
from tests.builders import Books


def _b(text: str) -> bytes:
    return base64.b64decode(text)


@pytest.fixture
def books(engine):
    b = Books(engine)
    b.fund("LUHUO")
    b.project("CLINIC")
    b.donor_id = b.donor()
    return b


def _checkpoint(engine, key):
    with engine.begin() as conn:
        return make_checkpoint(conn, key)


def test_the_signing_key_is_made_once_at_init_and_kept_private(tmp_path):
    key = ensure_signing_key(tmp_path)
    again = ensure_signing_key(tmp_path)
    assert key.vkey == again.vkey
    assert stat.S_IMODE(os.stat(tmp_path / "keys" / "checkpoint.key").st_mode) == 0o600
    assert trusted_vkeys(tmp_path) == [key.vkey]


def test_rotation_signs_with_a_new_key_and_old_checkpoints_still_verify(engine, books, tmp_path):
    old = ensure_signing_key(tmp_path)
    books.donate("100", donor=books.donor_id)
    first = _checkpoint(engine, old)
    new = rotate_key(tmp_path)
    assert new.vkey != old.vkey and ensure_signing_key(tmp_path).vkey == new.vkey
    assert trusted_vkeys(tmp_path) == [old.vkey, new.vkey]
    assert list((tmp_path / "keys" / "retired").iterdir())
    books.donate("50", donor=books.donor_id)
    second = _checkpoint(engine, new)
    trusted = trusted_vkeys(tmp_path)
    assert verify_checkpoint(first.signed_text, trusted).size == 1
    assert verify_checkpoint(second.signed_text, trusted).size == 2
    with pytest.raises(CheckpointError, match="no trusted key"):
        verify_checkpoint(second.signed_text, [old.vkey])


def test_a_checkpoint_commits_to_the_journal_and_the_audit_trail_head(engine, books, tmp_path):
    key = ensure_signing_key(tmp_path)
    for amount in ("100", "200", "300"):
        books.donate(amount, donor=books.donor_id)
    with UnitOfWork(engine) as uow:
        record_event(uow.connection, actor="a", role="admin", action="x", outcome="success")
        uow.commit()
    cp = _checkpoint(engine, key)
    checkpoint = verify_checkpoint(cp.signed_text, [key.vkey], origin="huiquan-ledger")
    assert (checkpoint.size, checkpoint.root.hex()) == (3, cp.root)
    assert audit_anchor(cp.signed_text)[0] == 1
    assert _checkpoint(engine, key) == cp  # nothing new: the same checkpoint
    with engine.connect() as conn:
        assert [c.size for c in list_checkpoints(conn)] == [3]
        assert latest_checkpoint(conn) == cp


def test_an_empty_journal_has_a_checkpoint_of_size_zero(engine, tmp_path):
    cp = _checkpoint(engine, ensure_signing_key(tmp_path))
    assert cp.size == 0


def test_inclusion_and_consistency_proofs_verify_against_the_signed_roots(engine, books, tmp_path):
    key = ensure_signing_key(tmp_path)
    entries = [books.donate(str(100 + n), donor=books.donor_id) for n in range(5)]
    small = _checkpoint(engine, key)
    entries += [books.donate(str(200 + n), donor=books.donor_id) for n in range(6)]
    big = _checkpoint(engine, key)
    with engine.connect() as conn:
        for entry in (entries[0], entries[4], entries[10]):
            doc = inclusion_for_entry(conn, entry.id)
            root = verify_checkpoint(doc["checkpoint"], [key.vkey]).root
            assert verify_inclusion(
                bytes.fromhex(doc["leaf_hash"]),
                doc["leaf_index"],
                doc["tree_size"],
                [_b(h) for h in doc["proof"]],
                root,
            )
        early = inclusion_for_entry(conn, entries[2].id, size=small.size)
        assert early["tree_size"] == 5
        with pytest.raises(ProofError, match="newer than checkpoint"):
            inclusion_for_entry(conn, entries[8].id, size=5)
        doc = consistency_between(conn, small.size, big.size)
    old_root = verify_checkpoint(doc["from_checkpoint"], [key.vkey]).root
    new_root = verify_checkpoint(doc["to_checkpoint"], [key.vkey]).root
    assert verify_consistency(5, 11, old_root, new_root, [_b(h) for h in doc["proof"]])


def test_no_proof_without_a_checkpoint_or_for_an_unknown_entry(engine, books):
    books.donate("100", donor=books.donor_id)
    with engine.connect() as conn:
        with pytest.raises(ProofError, match="no checkpoint"):
            entry_id = conn.exec_driver_sql("SELECT id FROM journal_entries").scalar_one()
            inclusion_for_entry(conn, entry_id)
        with pytest.raises(ProofError, match="no entry"):
            inclusion_for_entry(conn, "nope")
        with pytest.raises(ProofError, match="from <= to"):
            consistency_between(conn, 2, 1)


def test_a_checkpoint_is_refused_over_a_rewritten_journal(engine, books, tmp_path, behind_triggers):
    key = ensure_signing_key(tmp_path)
    books.donate("100", donor=books.donor_id)
    books.donate("200", donor=books.donor_id)
    _checkpoint(engine, key)
    books.donate("300", donor=books.donor_id)
    behind_triggers("UPDATE journal_entries SET leaf_hash = hash WHERE sequence = 1")
    with pytest.raises(ProofError, match="previous checkpoint"):
        _checkpoint(engine, key)


def test_a_checkpoint_is_refused_when_a_new_entry_does_not_match_its_leaf(
    engine, books, tmp_path, behind_triggers
):
    key = ensure_signing_key(tmp_path)
    books.donate("100", donor=books.donor_id)
    _checkpoint(engine, key)
    books.donate("200", donor=books.donor_id)
    behind_triggers("UPDATE journal_entries SET memo = 'edited' WHERE sequence = 2")
    with pytest.raises(ProofError, match="does not match its leaf hash"):
        _checkpoint(engine, key)


def test_a_deleted_audit_tail_is_caught_through_the_checkpoint_anchor(
    engine, books, tmp_path, behind_triggers
):
    key = ensure_signing_key(tmp_path)
    for n in range(3):
        with UnitOfWork(engine) as uow:
            record_event(uow.connection, actor="a", role="admin", action=f"x{n}", outcome="success")
            uow.commit()
    cp = _checkpoint(engine, key)
    behind_triggers("DELETE FROM audit_events WHERE sequence = 3")
    with engine.connect() as conn:
        findings = verify_trail(conn, anchors=[audit_anchor(cp.signed_text)])
    assert [f.check for f in findings] == ["audit-truncated"]
