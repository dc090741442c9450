"""Witnesses cosign (C2SP tlog-cosignature/v1) only checkpoints consistent with what they cosigned
before, and a verifier can require k of n of them. Real Ed25519 keys throughout."""

from __future__ import annotations

import base64
import hashlib
import os
import stat
import struct

import pytest

from ledger.tlog.checkpoints import Checkpoint, SigningKey
from ledger.tlog.merkle import consistency_proof, leaf_hash, root_from_leaf_hashes
from ledger.tlog.witness import (
    CosignerKey,
    Witness,
    WitnessError,
    WitnessRefusal,
    add_checkpoint_request,
    cosigned_message,
    parse_cosignature_line,
    verify_cosignature,
    verify_witnessed,
)

ORIGIN = "huiquan-ledger"


def leaves(n: int, *, fork_at: int | None = None) -> list[bytes]:
    return [
        leaf_hash(f"entry {i}{' (rewritten)' if i == fork_at else ''}".encode()) for i in range(n)
    ]


@pytest.fixture
def log_key():
    return SigningKey.generate("huiquan.example/log")


def signed(log_key, ls, extensions=()):
    return log_key.sign(Checkpoint(ORIGIN, len(ls), root_from_leaf_hashes(ls), extensions))


@pytest.fixture
def witnesses(tmp_path, log_key):
    a = Witness.init(tmp_path / "a", "witness.example/a", [log_key.vkey], ORIGIN)
    b = Witness.init(tmp_path / "b", "witness.example/b", [log_key.vkey], ORIGIN)
    return a, b


def test_a_cosignature_is_the_c2sp_timestamped_ed25519_line_over_the_whole_body():
    key = CosignerKey.generate("witness.example/w1")
    cp = Checkpoint(ORIGIN, 5, bytes(range(32)), ("audit-events 3 abc",))
    line = key.cosign(cp, 1_700_000_000)
    name, payload = line.removeprefix("\u2014 ").split(" ")
    raw = base64.b64decode(payload)
    public = base64.b64decode(key.vkey.split("+", 2)[2])
    assert name == key.name and public[:1] == b"\x04"
    assert raw[:4] == hashlib.sha256(b"witness.example/w1\n\x04" + public[1:]).digest()[:4]
    assert struct.unpack(">Q", raw[4:12]) == (1_700_000_000,)
    assert cosigned_message(cp, 1_700_000_000) == (
        b"cosignature/v1\ntime 1700000000\nhuiquan-ledger\n5\n"
        + base64.b64encode(bytes(range(32)))
        + b"\naudit-events 3 abc\n"
    )
    assert verify_cosignature(cp, line, key.vkey).timestamp == 1_700_000_000
    other = Checkpoint(ORIGIN, 5, bytes(range(32)), ("audit-events 4 abc",))
    with pytest.raises(WitnessError, match="does not verify"):
        verify_cosignature(other, line, key.vkey)
    with pytest.raises(WitnessError, match="not by witness key"):
        verify_cosignature(cp, line, CosignerKey.generate("witness.example/w2").vkey)


def test_a_log_signing_key_is_not_a_witness_key(log_key):
    with pytest.raises(WitnessError, match="type 0x04"):
        verify_cosignature(Checkpoint(ORIGIN, 1, bytes(32)), "\u2014 x AAAA", log_key.vkey)


def test_two_witnesses_cosign_and_a_two_of_two_policy_passes(witnesses, log_key):
    a, b = witnesses
    note = signed(log_key, leaves(8))
    request = add_checkpoint_request(0, [], note)
    lines = [a.add_checkpoint(request).rstrip("\n"), b.add_checkpoint(request).rstrip("\n")]
    vkeys = [a.key.vkey, b.key.vkey]

    verdict = verify_witnessed(note, lines, vkeys, 2, log_vkeys=[log_key.vkey])
    assert verdict.ok and sorted(verdict.witnesses) == ["witness.example/a", "witness.example/b"]
    # The cosignatures may also travel as further lines of the note itself.
    assert verify_witnessed(note + "".join(f"{x}\n" for x in lines), [], vkeys, 2)
    assert a.latest().size == 8 and a.latest().signed_text == note


def test_two_of_two_with_one_cosignature_missing_fails(witnesses, log_key):
    a, b = witnesses
    note = signed(log_key, leaves(8))
    line = a.add_checkpoint(add_checkpoint_request(0, [], note))
    verdict = verify_witnessed(note, [line, line], [a.key.vkey, b.key.vkey], 2)
    assert not verdict
    assert [code for code, _ in verdict.findings] == ["witness_quorum_not_met"]
    assert verify_witnessed(note, [line], [a.key.vkey, b.key.vkey], 1)


def test_a_cosignature_from_an_unlisted_key_or_on_another_checkpoint_does_not_count(
    witnesses, log_key
):
    a, b = witnesses
    note = signed(log_key, leaves(8))
    stranger = CosignerKey.generate("witness.example/a")  # same name, other key
    cp = Checkpoint(ORIGIN, 8, root_from_leaf_hashes(leaves(8)))
    forged = stranger.cosign(cp)
    other = a.key.cosign(Checkpoint(ORIGIN, 8, root_from_leaf_hashes(leaves(8, fork_at=1))))
    verdict = verify_witnessed(note, [forged, other], [a.key.vkey, b.key.vkey], 1)
    assert not verdict.ok
    assert [c for c, _ in verdict.findings] == ["cosignature_invalid", "witness_quorum_not_met"]


def test_a_forged_log_signature_fails_the_policy_whatever_the_cosignatures(witnesses, log_key):
    a, _ = witnesses
    note = signed(log_key, leaves(8))
    line = a.add_checkpoint(add_checkpoint_request(0, [], note))
    impostor = SigningKey.generate(log_key.name)
    verdict = verify_witnessed(note, [line], [a.key.vkey], 1, log_vkeys=[impostor.vkey])
    assert [c for c, _ in verdict.findings] == ["checkpoint_signature_invalid"]


def test_an_unmeetable_policy_is_refused(witnesses, log_key):
    a, _ = witnesses
    with pytest.raises(ValueError):
        verify_witnessed(signed(log_key, leaves(1)), [], [a.key.vkey], 2)
    with pytest.raises(ValueError):
        verify_witnessed(signed(log_key, leaves(1)), [], [a.key.vkey], 0)


def test_the_witness_cosigns_an_extension_proven_consistent(witnesses, log_key):
    a, _ = witnesses
    a.add_checkpoint(add_checkpoint_request(0, [], signed(log_key, leaves(5))))
    later = leaves(13)
    line = a.add_checkpoint(
        add_checkpoint_request(5, consistency_proof(later, 5), signed(log_key, later))
    )
    assert parse_cosignature_line(line).name == a.key.name
    assert a.latest().size == 13


def test_a_split_view_is_refused_and_named_with_both_sizes_and_roots(witnesses, log_key):
    a, _ = witnesses
    honest = leaves(5)
    a.add_checkpoint(add_checkpoint_request(0, [], signed(log_key, honest)))
    # The log later shows a tree of 9 whose first 5 leaves differ from what A cosigned, with
    # the consistency proof its own (rewritten) leaves give.
    forked = leaves(9, fork_at=2)
    request = add_checkpoint_request(5, consistency_proof(forked, 5), signed(log_key, forked))
    with pytest.raises(WitnessRefusal) as refused:
        a.add_checkpoint(request)
    assert refused.value.code == "split_view" and refused.value.status == 422
    message = str(refused.value)
    old_root = base64.b64encode(root_from_leaf_hashes(honest)).decode()
    new_root = base64.b64encode(root_from_leaf_hashes(forked)).decode()
    assert "size 9" in message and "size 5" in message
    assert old_root in message and new_root in message
    assert a.latest().size == 5  # nothing recorded, nothing signed


def test_a_different_root_at_the_same_size_is_a_split_view(witnesses, log_key):
    a, _ = witnesses
    a.add_checkpoint(add_checkpoint_request(0, [], signed(log_key, leaves(5))))
    with pytest.raises(WitnessRefusal) as refused:
        a.add_checkpoint(add_checkpoint_request(5, [], signed(log_key, leaves(5, fork_at=0))))
    assert (refused.value.code, refused.value.status) == ("split_view", 409)


def test_a_request_from_another_old_size_is_a_conflict_naming_the_witness_size(witnesses, log_key):
    a, _ = witnesses
    a.add_checkpoint(add_checkpoint_request(0, [], signed(log_key, leaves(5))))
    with pytest.raises(WitnessRefusal) as refused:
        a.add_checkpoint(add_checkpoint_request(0, [], signed(log_key, leaves(7))))
    assert (refused.value.code, refused.value.status, refused.value.latest_size) == (
        "old_size_mismatch",
        409,
        5,
    )


def test_a_checkpoint_not_signed_by_the_trusted_log_key_is_forbidden(witnesses):
    a, _ = witnesses
    impostor = SigningKey.generate("huiquan.example/log")
    with pytest.raises(WitnessRefusal) as refused:
        a.add_checkpoint(add_checkpoint_request(0, [], signed(impostor, leaves(3))))
    assert (refused.value.code, refused.value.status) == ("checkpoint_untrusted", 403)
    assert a.latest() is None


def test_another_log_is_not_found_and_nonsense_is_a_bad_request(witnesses, log_key):
    a, _ = witnesses
    other = log_key.sign(Checkpoint("other-log", 1, bytes(32)))
    with pytest.raises(WitnessRefusal) as refused:
        a.add_checkpoint(add_checkpoint_request(0, [], other))
    assert refused.value.status == 404
    for body in ("", "old 01\n\nx", "old 3\n!!\n\n" + signed(log_key, leaves(3))):
        with pytest.raises(WitnessRefusal) as refused:
            a.add_checkpoint(body)
        assert refused.value.status == 400


def test_the_witness_key_is_private_and_never_overwritten(witnesses, tmp_path, log_key):
    a, _ = witnesses
    assert stat.S_IMODE(os.stat(tmp_path / "a" / "witness.key").st_mode) == 0o600
    with pytest.raises(FileExistsError):
        Witness.init(tmp_path / "a", "witness.example/a", [log_key.vkey], ORIGIN)
    assert Witness(tmp_path / "a").key.vkey == a.key.vkey


def test_a_bad_line_by_one_witness_does_not_undo_a_quorum_of_the_others(witnesses, log_key):
    a, b = witnesses
    note = signed(log_key, leaves(8))
    line_a = a.add_checkpoint(add_checkpoint_request(0, [], note))
    cp = Checkpoint(ORIGIN, 8, root_from_leaf_hashes(leaves(8, fork_at=1)))
    wrong_b = b.key.cosign(cp)  # B's key, on another checkpoint
    verdict = verify_witnessed(note, [line_a, wrong_b], [a.key.vkey, b.key.vkey], 1)
    assert verdict.ok and [c for c, _ in verdict.findings] == ["cosignature_invalid"]


def test_a_cosignature_from_the_future_does_not_count(witnesses, log_key):
    a, _ = witnesses
    note = signed(log_key, leaves(3))
    line = a.add_checkpoint(add_checkpoint_request(0, [], note), now=2_000_000_000)
    verdict = verify_witnessed(note, [line], [a.key.vkey], 1, now=1_900_000_000)
    assert not verdict.ok
    assert [c for c, _ in verdict.findings] == ["cosignature_from_future", "witness_quorum_not_met"]
    assert verify_witnessed(note, [line], [a.key.vkey], 1, now=2_000_000_000).ok
