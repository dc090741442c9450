"""Checkpoints are signed on a schedule and at period close; witnesses' cosignatures are stored
only once they verify, and a stored, witnessed checkpoint passes a k-of-n policy."""

from __future__ import annotations

import base64
import datetime as dt
import threading
import time

import pytest
from sqlalchemy import exc, text

from ledger.errors import NotFound
from ledger.tlog.audit import audit_checkpoints, read_anchor
from ledger.tlog.checkpoints import Checkpoint
from ledger.tlog.journal import leaf_hashes
from ledger.tlog.keys import ensure_signing_key
from ledger.tlog.merkle import consistency_proof, root_from_leaf_hashes, verify_consistency
from ledger.tlog.proofs import DEFAULT_ORIGIN, consistency_between, list_checkpoints
from ledger.tlog.witness import Witness, WitnessRefusal, add_checkpoint_request, verify_witnessed
from tests.tlog.conftest import rewrite_memo
from usecases.checkpoints import (
    CheckpointScheduler,
    CosignatureRejected,
    add_cosignature,
    checkpoint_at_close,
    cosignatures_for,
    maybe_checkpoint,
    witnessed_checkpoint,
)


def b64(text):
    return base64.b64decode(text)


def sizes(engine):
    with engine.connect() as conn:
        return [c.size for c in list_checkpoints(conn)]


def test_nothing_is_signed_for_an_empty_journal(engine, home):
    assert maybe_checkpoint(engine, home, 0) is None
    assert sizes(engine) == []


def test_a_checkpoint_is_signed_when_entries_are_new_and_at_most_once_an_interval(
    engine, books, home
):
    first = maybe_checkpoint(engine, home, 60)
    assert first is not None and first.size == 8
    assert read_anchor(home) == first.signed_text  # kept outside the database too
    assert maybe_checkpoint(engine, home, 60) is None  # nothing new
    books.donate("900", donor=books.donor_id)
    assert maybe_checkpoint(engine, home, 60) is None  # new, but the last one is too young
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=61)
    assert maybe_checkpoint(engine, home, 60, now=later).size == 9
    assert sizes(engine) == [8, 9]


def test_period_close_signs_at_once_whatever_the_interval(engine, books, home):
    maybe_checkpoint(engine, home, 3600)
    books.donate("900", donor=books.donor_id)
    assert checkpoint_at_close(engine, home).size == 9
    assert checkpoint_at_close(engine, home).size == 9  # nothing new: the stored one
    assert sizes(engine) == [8, 9]


def test_signing_from_two_threads_at_once_stores_one_checkpoint(engine, books, home):
    ensure_signing_key(home)
    results = []
    barrier = threading.Barrier(2)

    def sign():
        barrier.wait()
        results.append(maybe_checkpoint(engine, home, 0))

    threads = [threading.Thread(target=sign) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sizes(engine) == [8]
    assert {r.size for r in results if r is not None} == {8}


def test_the_scheduler_covers_new_entries_within_the_interval_and_stops(engine, books, home):
    scheduler = CheckpointScheduler(engine, home, interval=0.2)
    scheduler.start()
    try:
        deadline = time.monotonic() + 10
        while sizes(engine) != [8] and time.monotonic() < deadline:
            time.sleep(0.05)
        books.donate("900", donor=books.donor_id)
        while sizes(engine)[-1:] != [9] and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        scheduler.stop()
    assert sizes(engine) == [8, 9] and not scheduler.is_alive()
    with engine.connect() as conn:
        assert audit_checkpoints(conn, [ensure_signing_key(home).vkey]).ok


def test_the_scheduler_logs_a_failure_and_keeps_going(engine, books, home, caplog):
    scheduler = CheckpointScheduler(engine, home / "nothing-here" / "x", interval=0.1)
    (home / "nothing-here").mkdir(parents=True)
    (home / "nothing-here" / "x").write_text("a file where a folder should be")
    scheduler.start()
    time.sleep(0.4)
    scheduler.stop()
    assert not scheduler.is_alive()
    assert "signing a scheduled checkpoint failed" in caplog.text


@pytest.fixture
def witnessed(engine, books, home, tmp_path):
    """Checkpoint 8 signed by the service and cosigned by two witnesses (A, B)."""
    stored = maybe_checkpoint(engine, home, 0)
    key = ensure_signing_key(home)
    a = Witness.init(tmp_path / "a", "witness.example/a", [key.vkey], DEFAULT_ORIGIN)
    b = Witness.init(tmp_path / "b", "witness.example/b", [key.vkey], DEFAULT_ORIGIN)
    request = add_checkpoint_request(0, [], stored.signed_text)
    return stored, key, a, b, a.add_checkpoint(request), b.add_checkpoint(request)


def test_cosignatures_are_stored_and_the_witnessed_checkpoint_passes_two_of_two(engine, witnessed):
    stored, key, a, b, line_a, line_b = witnessed
    vkeys = [a.key.vkey, b.key.vkey]
    for line in (line_a, line_b):
        add_cosignature(engine, stored.signed_text, line, witness_vkeys=vkeys)
    again = add_cosignature(engine, stored.signed_text, line_a, witness_vkeys=vkeys)
    assert again.witness == "witness.example/a"
    with engine.connect() as conn:
        assert [c.witness for c in cosignatures_for(conn, 8)] == [
            "witness.example/a",
            "witness.example/b",
        ]
        note = witnessed_checkpoint(conn, 8)
    assert verify_witnessed(note, [], vkeys, 2, log_vkeys=[key.vkey]).ok


def test_two_of_two_fails_when_one_witness_has_not_cosigned(engine, witnessed):
    stored, _key, a, b, line_a, _ = witnessed
    vkeys = [a.key.vkey, b.key.vkey]
    add_cosignature(engine, stored.signed_text, line_a, witness_vkeys=vkeys)
    with engine.connect() as conn:
        verdict = verify_witnessed(witnessed_checkpoint(conn, 8), [], vkeys, 2)
    assert not verdict.ok and verdict.witnesses == ["witness.example/a"]


def test_a_cosignature_is_refused_unless_configured_verifying_and_on_the_stored_body(
    engine, witnessed, home
):
    stored, key, a, _b, line_a, line_b = witnessed
    with pytest.raises(CosignatureRejected, match="not a configured witness"):
        add_cosignature(engine, stored.signed_text, line_b, witness_vkeys=[a.key.vkey])
    with pytest.raises(CosignatureRejected, match="no witness keys"):
        add_cosignature(engine, stored.signed_text, line_a)
    (home / "keys" / "witnesses.vkeys").write_text(a.key.vkey + "\n")
    assert add_cosignature(engine, stored.signed_text, line_a, home=home).size == 8
    # A checkpoint of size 8 the service never signed, cosigned by A.
    other = key.sign(Checkpoint(DEFAULT_ORIGIN, 8, bytes(32)))
    line = a.key.cosign(Checkpoint(DEFAULT_ORIGIN, 8, bytes(32)))
    with pytest.raises(CosignatureRejected, match="not the one this service signed"):
        add_cosignature(engine, other, line, witness_vkeys=[a.key.vkey])
    missing = key.sign(Checkpoint(DEFAULT_ORIGIN, 99, bytes(32)))
    with pytest.raises(NotFound):
        add_cosignature(
            engine,
            missing,
            a.key.cosign(Checkpoint(DEFAULT_ORIGIN, 99, bytes(32))),
            witness_vkeys=[a.key.vkey],
        )
    name, payload = line_a.rstrip("\n").split(" ", 2)[1:]
    raw = bytearray(base64.b64decode(payload))
    raw[-1] ^= 1
    flipped = f"\u2014 {name} {base64.b64encode(bytes(raw)).decode()}"
    with pytest.raises(CosignatureRejected, match="does not verify"):
        add_cosignature(engine, stored.signed_text, flipped, witness_vkeys=[a.key.vkey])


def test_stored_cosignatures_are_append_only(engine, witnessed):
    stored, _key, a, _b, line_a, _ = witnessed
    add_cosignature(engine, stored.signed_text, line_a, witness_vkeys=[a.key.vkey])
    for statement in ("UPDATE cosignatures SET line = 'x'", "DELETE FROM cosignatures"):
        with engine.connect() as conn, pytest.raises(exc.DBAPIError, match="append-only"):
            conn.execute(text(statement))


def test_a_witness_refuses_the_service_s_rewritten_history(engine, books, witnessed):
    """The split view end to end: A cosigned 8; the journal is rewritten below 8 and a new
    checkpoint of 9 is signed over it by an insider; A is shown 9 with a proof from 8."""
    stored, key, a, _b, _line_a, _ = witnessed
    # The service's own proof from an honest journal extends A's view.
    books.donate("900", donor=books.donor_id)
    with engine.begin() as conn:
        honest = consistency_between(conn, 8, 9)
    assert verify_consistency(
        8, 9, a.latest().root, b64(honest["to_root"]), [b64(h) for h in honest["proof"]]
    )
    rewrite_memo(engine, 3)
    with engine.connect() as conn:
        forked = leaf_hashes(conn, 9)
    note = key.sign(Checkpoint(DEFAULT_ORIGIN, 9, root_from_leaf_hashes(forked)))
    request = add_checkpoint_request(8, consistency_proof(forked, 8), note)
    with pytest.raises(WitnessRefusal, match="split view: checkpoint size 9") as refused:
        a.add_checkpoint(request)
    assert refused.value.code == "split_view"
    assert a.latest().size == 8 and a.latest().signed_text == stored.signed_text
