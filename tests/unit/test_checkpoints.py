"""Signed checkpoints: C2SP tlog-checkpoint bodies in Ed25519 C2SP signed notes."""

from __future__ import annotations

import ast
import base64
import hashlib
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import ledger.tlog.checkpoints as checkpoints
from ledger.tlog.checkpoints import (
    MAX_SIGNATURES,
    Checkpoint,
    CheckpointError,
    SigningKey,
    parse_signed_checkpoint,
    verify_checkpoint,
)

ORIGIN = "huiquan.example.org/ledger"
ROOT = hashlib.sha256(b"a root").digest()
OTHER_ROOT = hashlib.sha256(b"another root").digest()
EM_DASH = "\u2014"

# golang.org/x/mod/sumdb/note reference vector (note_test.go and the package documentation).
GO_SIGNER_KEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VERIFIER_KEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_SIGNATURE = (
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
)


def go_reference_key() -> SigningKey:
    _, _, name, _, key_b64 = GO_SIGNER_KEY.split("+", 4)
    type_and_seed = base64.b64decode(key_b64)
    assert type_and_seed[0] == 0x01
    return SigningKey(name, Ed25519PrivateKey.from_private_bytes(type_and_seed[1:]))


@pytest.fixture
def checkpoint() -> Checkpoint:
    return Checkpoint(ORIGIN, 1234, ROOT)


@pytest.fixture
def old_key() -> SigningKey:
    return SigningKey.generate("huiquan.example.org/ledger-2025")


@pytest.fixture
def new_key() -> SigningKey:
    return SigningKey.generate("huiquan.example.org/ledger-2026")


@pytest.fixture
def stranger() -> SigningKey:
    return SigningKey.generate("mallory.example/ledger")


def replace_signature(note: str, new_line: str) -> str:
    body, _, _ = note.partition("\n\n")
    return f"{body}\n\n{new_line}\n"


# --- formats -------------------------------------------------------------------------------


def test_a_checkpoint_body_is_origin_size_and_base64_root_each_on_its_own_line() -> None:
    # The example of https://c2sp.org/tlog-checkpoint.
    root = base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
    body = Checkpoint("example.com/behind-the-sofa", 20852163, root).body()
    assert body == (
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    )


def test_extension_lines_follow_the_root_and_are_covered_by_the_signature(
    old_key: SigningKey,
) -> None:
    cp = Checkpoint(ORIGIN, 7, ROOT, ("Timestamp: 1700000000",))
    note = old_key.sign(cp)
    assert cp.body().endswith("\nTimestamp: 1700000000\n")
    assert verify_checkpoint(note, [old_key.vkey]) == cp
    with pytest.raises(CheckpointError, match="does not verify"):
        verify_checkpoint(note.replace("1700000000", "1800000000"), [old_key.vkey])


def test_the_signed_note_is_the_body_a_blank_line_and_one_em_dash_signature_line(
    old_key: SigningKey, checkpoint: Checkpoint
) -> None:
    note = old_key.sign(checkpoint)
    body, blank, signatures = note.partition("\n\n")
    assert blank
    assert body + "\n" == checkpoint.body()
    assert signatures.endswith("\n")
    (line,) = signatures.splitlines()
    assert line.startswith(f"{EM_DASH} {old_key.name} ")
    payload = base64.b64decode(line.rsplit(" ", 1)[1], validate=True)
    assert len(payload) == 4 + 64
    assert payload[:4] == old_key.key_hash


def test_the_key_hash_is_the_first_four_bytes_of_sha256_of_name_newline_type_and_key(
    old_key: SigningKey,
) -> None:
    material = old_key.name.encode() + b"\n" + b"\x01" + old_key.public_key
    assert old_key.key_hash == hashlib.sha256(material).digest()[:4]
    name, key_hash, key = old_key.vkey.split("+", 2)
    assert name == old_key.name
    assert key_hash == old_key.key_hash.hex()
    assert base64.b64decode(key) == b"\x01" + old_key.public_key


def test_the_vkey_matches_the_go_sumdb_note_reference_vector() -> None:
    key = go_reference_key()
    assert key.vkey == GO_VERIFIER_KEY


def test_signature_payloads_match_the_go_sumdb_note_reference_vector() -> None:
    # Ed25519 is deterministic (RFC 8032), so the same key and text give the published bytes.
    key = go_reference_key()
    seed = base64.b64decode(GO_SIGNER_KEY.split("+", 4)[4])[1:]
    signature = Ed25519PrivateKey.from_private_bytes(seed).sign(GO_TEXT.encode())
    assert base64.b64encode(key.key_hash + signature).decode() == GO_SIGNATURE


# --- round trip and rotation ---------------------------------------------------------------


def test_a_signed_checkpoint_verifies_and_gives_back_the_same_checkpoint(
    old_key: SigningKey, checkpoint: Checkpoint
) -> None:
    note = old_key.sign(checkpoint)
    assert verify_checkpoint(note, [old_key.vkey]) == checkpoint
    parsed, lines = parse_signed_checkpoint(note)
    assert parsed == checkpoint
    assert len(lines) == 1
    assert lines[0].startswith(EM_DASH)


def test_the_empty_tree_and_the_largest_size_round_trip(old_key: SigningKey) -> None:
    for cp in (
        Checkpoint(ORIGIN, 0, hashlib.sha256(b"").digest()),
        Checkpoint(ORIGIN, 2**64 - 1, ROOT),
    ):
        assert verify_checkpoint(old_key.sign(cp), [old_key.vkey]) == cp


def test_a_verifier_that_trusts_old_and_new_keys_accepts_checkpoints_from_either(
    old_key: SigningKey, new_key: SigningKey, checkpoint: Checkpoint
) -> None:
    trusted = [old_key.vkey, new_key.vkey]
    assert verify_checkpoint(old_key.sign(checkpoint), trusted) == checkpoint
    assert verify_checkpoint(new_key.sign(checkpoint), trusted) == checkpoint


def test_a_checkpoint_signed_by_both_keys_during_rotation_verifies_with_either(
    old_key: SigningKey, new_key: SigningKey, checkpoint: Checkpoint
) -> None:
    note = old_key.sign(checkpoint)
    note += new_key.sign(checkpoint).partition("\n\n")[2]
    assert len(parse_signed_checkpoint(note)[1]) == 2
    for trusted in ([old_key.vkey], [new_key.vkey], [old_key.vkey, new_key.vkey]):
        assert verify_checkpoint(note, trusted) == checkpoint


def test_once_the_old_key_is_retired_its_checkpoints_are_refused(
    old_key: SigningKey, new_key: SigningKey, checkpoint: Checkpoint
) -> None:
    with pytest.raises(CheckpointError, match="no trusted key signed"):
        verify_checkpoint(old_key.sign(checkpoint), [new_key.vkey])


def test_a_checkpoint_signed_by_an_unknown_key_is_refused(
    old_key: SigningKey, new_key: SigningKey, stranger: SigningKey, checkpoint: Checkpoint
) -> None:
    with pytest.raises(CheckpointError, match="no trusted key signed") as refused:
        verify_checkpoint(stranger.sign(checkpoint), [old_key.vkey, new_key.vkey])
    assert stranger.name in str(refused.value)
    assert old_key.name in str(refused.value)


def test_an_unknown_cosignature_beside_a_trusted_one_is_ignored(
    old_key: SigningKey, stranger: SigningKey, checkpoint: Checkpoint
) -> None:
    note = old_key.sign(checkpoint) + stranger.sign(checkpoint).partition("\n\n")[2]
    assert verify_checkpoint(note, [old_key.vkey]) == checkpoint


# --- forgery and tampering -----------------------------------------------------------------


def test_a_forged_checkpoint_resigned_by_an_untrusted_key_is_refused(
    old_key: SigningKey, stranger: SigningKey, checkpoint: Checkpoint
) -> None:
    forged = Checkpoint(checkpoint.origin, checkpoint.size, OTHER_ROOT)
    with pytest.raises(CheckpointError, match="no trusted key signed"):
        verify_checkpoint(stranger.sign(forged), [old_key.vkey])


def test_a_forged_signature_under_the_trusted_key_name_and_hash_is_refused(
    old_key: SigningKey, stranger: SigningKey, checkpoint: Checkpoint
) -> None:
    forged = Checkpoint(checkpoint.origin, checkpoint.size, OTHER_ROOT)
    # Mallory signs with her key but labels the line with the trusted key's name and hash.
    signature = Ed25519PrivateKey.generate().sign(forged.body().encode())
    line = f"{EM_DASH} {old_key.name} " + base64.b64encode(old_key.key_hash + signature).decode()
    with pytest.raises(CheckpointError, match="does not verify"):
        verify_checkpoint(forged.body() + "\n" + line + "\n", [old_key.vkey])


def test_a_stolen_signature_moved_onto_another_root_is_refused(
    old_key: SigningKey, checkpoint: Checkpoint
) -> None:
    genuine = old_key.sign(checkpoint)
    forged_body = Checkpoint(checkpoint.origin, checkpoint.size, OTHER_ROOT).body()
    moved = forged_body + "\n" + genuine.partition("\n\n")[2]
    with pytest.raises(CheckpointError, match="does not verify"):
        verify_checkpoint(moved, [old_key.vkey])


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda cp: Checkpoint(cp.origin, cp.size + 1, cp.root), id="size"),
        pytest.param(lambda cp: Checkpoint(cp.origin, cp.size, OTHER_ROOT), id="root"),
        pytest.param(lambda cp: Checkpoint("evil.example/log", cp.size, cp.root), id="origin"),
        pytest.param(lambda cp: Checkpoint(cp.origin, cp.size, cp.root, ("x",)), id="extension"),
    ],
)
def test_a_tampered_checkpoint_body_is_refused(
    old_key: SigningKey, checkpoint: Checkpoint, tamper: object
) -> None:
    note = old_key.sign(checkpoint)
    assert callable(tamper)
    tampered_body = tamper(checkpoint).body()
    tampered = tampered_body + "\n" + note.partition("\n\n")[2]
    with pytest.raises(CheckpointError, match="does not verify"):
        verify_checkpoint(tampered, [old_key.vkey])


def test_a_flipped_bit_in_the_signature_is_refused(
    old_key: SigningKey, checkpoint: Checkpoint
) -> None:
    note = old_key.sign(checkpoint)
    _, lines = parse_signed_checkpoint(note)
    payload = bytearray(base64.b64decode(lines[0].rsplit(" ", 1)[1]))
    payload[-1] ^= 0x01
    line = f"{EM_DASH} {old_key.name} {base64.b64encode(bytes(payload)).decode()}"
    with pytest.raises(CheckpointError, match="does not verify"):
        verify_checkpoint(replace_signature(note, line), [old_key.vkey])


def test_a_truncated_signature_from_a_trusted_key_is_refused(
    old_key: SigningKey, checkpoint: Checkpoint
) -> None:
    note = old_key.sign(checkpoint)
    line = f"{EM_DASH} {old_key.name} {base64.b64encode(old_key.key_hash + b'x' * 63).decode()}"
    with pytest.raises(CheckpointError, match="does not verify"):
        verify_checkpoint(replace_signature(note, line), [old_key.vkey])


def test_a_checkpoint_for_another_log_is_refused_when_the_origin_is_pinned(
    old_key: SigningKey, checkpoint: Checkpoint
) -> None:
    note = old_key.sign(checkpoint)
    assert verify_checkpoint(note, [old_key.vkey], origin=ORIGIN) == checkpoint
    with pytest.raises(CheckpointError, match=r"expected 'other\.example/log'"):
        verify_checkpoint(note, [old_key.vkey], origin="other.example/log")


# --- malformed input -----------------------------------------------------------------------


def good_note() -> str:
    return SigningKey.generate("k").sign(Checkpoint(ORIGIN, 5, ROOT))


ROOT_B64 = base64.b64encode(ROOT).decode()
SIG_LINE = f"{EM_DASH} k " + base64.b64encode(b"\x00" * 68).decode()


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param(f"{ORIGIN}\n5\n{ROOT_B64}\n", id="no signature block"),
        pytest.param(f"{ORIGIN}\n5\n{ROOT_B64}\n\n", id="no signature lines"),
        pytest.param(f"{ORIGIN}\n5\n{ROOT_B64}\n\n{SIG_LINE}", id="no final newline"),
        pytest.param(f"{ORIGIN}\n5\n\n{SIG_LINE}\n", id="no root line"),
        pytest.param(f"\n5\n{ROOT_B64}\n\n{SIG_LINE}\n", id="empty origin"),
        pytest.param(f"{ORIGIN}\n05\n{ROOT_B64}\n\n{SIG_LINE}\n", id="leading zero size"),
        pytest.param(f"{ORIGIN}\n+5\n{ROOT_B64}\n\n{SIG_LINE}\n", id="signed size"),
        pytest.param(f"{ORIGIN}\n-5\n{ROOT_B64}\n\n{SIG_LINE}\n", id="negative size"),
        pytest.param(f"{ORIGIN}\n5_0\n{ROOT_B64}\n\n{SIG_LINE}\n", id="underscore size"),
        pytest.param(f"{ORIGIN}\n\uff15\n{ROOT_B64}\n\n{SIG_LINE}\n", id="fullwidth digit"),
        pytest.param(f"{ORIGIN}\n{2**64}\n{ROOT_B64}\n\n{SIG_LINE}\n", id="size above 2**64-1"),
        pytest.param(f"{ORIGIN}\n5\n{ROOT_B64[:-4]}\n\n{SIG_LINE}\n", id="short root"),
        pytest.param(f"{ORIGIN}\n5\n{ROOT_B64.rstrip('=')}\n\n{SIG_LINE}\n", id="unpadded root"),
        pytest.param(f"{ORIGIN}\n5\n{ROOT.hex()}\n\n{SIG_LINE}\n", id="hex root"),
        pytest.param(f"{ORIGIN}\n5\n{ROOT_B64}\n\n- k AAAA\n", id="hyphen not em dash"),
        pytest.param(f"{ORIGIN}\n5\n{ROOT_B64}\n\n{EM_DASH}k AAAAAAAA\n", id="no space after dash"),
        pytest.param(f"{ORIGIN}\n5\n{ROOT_B64}\n\n{EM_DASH} k\n", id="no signature"),
        pytest.param(f"{ORIGIN}\n5\n{ROOT_B64}\n\n{EM_DASH} k !!!!\n", id="signature not base64"),
        pytest.param(
            f"{ORIGIN}\n5\n{ROOT_B64}\n\n{EM_DASH} k AAAAAA==\n", id="signature too short"
        ),
        pytest.param(f"{ORIGIN}\n5\n{ROOT_B64}\n\n{EM_DASH} a+b AAAAAAAA\n", id="plus in key name"),
        pytest.param(f"{ORIGIN}\n5\n{ROOT_B64}\n\n{SIG_LINE}\n\n", id="trailing blank line"),
        pytest.param(f"{ORIGIN}\n5\n{ROOT_B64}\n\n{SIG_LINE}\nrubbish\n", id="rubbish after sigs"),
        pytest.param(f"{ORIGIN}\r\n5\r\n{ROOT_B64}\r\n\r\n{SIG_LINE}\r\n", id="CRLF line endings"),
        pytest.param(f"{ORIGIN}\x00\n5\n{ROOT_B64}\n\n{SIG_LINE}\n", id="control character"),
        pytest.param(f"{ORIGIN}\ud800\n5\n{ROOT_B64}\n\n{SIG_LINE}\n", id="lone surrogate"),
        pytest.param(
            f"{ORIGIN}\n5\n{ROOT_B64}\n\n" + f"{SIG_LINE}\n" * (MAX_SIGNATURES + 1),
            id="too many signatures",
        ),
        pytest.param(f"{ORIGIN}\n5\n{ROOT_B64}\n\n\n{SIG_LINE}\n", id="blank extension line"),
    ],
)
def test_malformed_signed_checkpoints_are_refused_with_a_message(text: str) -> None:
    with pytest.raises(CheckpointError, match=r"\w+") as refused:
        parse_signed_checkpoint(text)
    assert str(refused.value)
    with pytest.raises(CheckpointError):
        verify_checkpoint(text, [SigningKey.generate("k").vkey])


def test_a_note_is_refused_if_it_is_not_a_checkpoint() -> None:
    note = f"{GO_TEXT}\n{EM_DASH} PeterNeumann {GO_SIGNATURE}\n"
    with pytest.raises(CheckpointError, match="tree size"):
        verify_checkpoint(note, [GO_VERIFIER_KEY])


@pytest.mark.parametrize(
    "vkey",
    [
        pytest.param("", id="empty"),
        pytest.param("PeterNeumann+c74f20a3", id="two parts"),
        pytest.param(GO_VERIFIER_KEY + "+extra", id="four parts"),
        pytest.param(GO_VERIFIER_KEY.replace("c74f20a3", "c74f20a4"), id="wrong key hash"),
        pytest.param(GO_VERIFIER_KEY.replace("c74f20a3", "c74f20"), id="short key hash"),
        pytest.param(GO_VERIFIER_KEY.replace("PeterNeumann", "PeterNeumanm"), id="renamed"),
        pytest.param(GO_VERIFIER_KEY.replace("+ARpc", "+AhpC"), id="not ed25519"),
        pytest.param(GO_VERIFIER_KEY[:-4], id="truncated key"),
        pytest.param(GO_VERIFIER_KEY.replace("ARpc", "AR pc"), id="space in key"),
    ],
)
def test_malformed_trusted_keys_are_refused(vkey: str) -> None:
    note = go_reference_key().sign(Checkpoint(ORIGIN, 1, ROOT))
    with pytest.raises(CheckpointError, match=r"trusted key|key name"):
        verify_checkpoint(note, [vkey])


def test_a_trusted_key_whose_base64_contains_a_plus_sign_is_understood() -> None:
    # From transparency-dev/formats note tests: the key material's base64 contains "+".
    plus_key = "TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6"
    with pytest.raises(CheckpointError, match="no trusted key signed") as refused:
        verify_checkpoint(good_note(), [plus_key])
    assert "TEST (7997405c)" in str(refused.value)


def test_verifying_with_no_trusted_keys_is_refused() -> None:
    with pytest.raises(CheckpointError, match="no trusted keys were given"):
        verify_checkpoint(good_note(), [])


def test_passing_a_single_vkey_string_instead_of_a_list_is_a_type_error() -> None:
    key = SigningKey.generate("k")
    with pytest.raises(TypeError):
        verify_checkpoint(key.sign(Checkpoint(ORIGIN, 5, ROOT)), key.vkey)


@pytest.mark.parametrize(
    ("origin", "size", "root", "extensions"),
    [
        pytest.param("", 1, ROOT, (), id="empty origin"),
        pytest.param("a\nb", 1, ROOT, (), id="two-line origin"),
        pytest.param(ORIGIN, -1, ROOT, (), id="negative size"),
        pytest.param(ORIGIN, 2**64, ROOT, (), id="size too large"),
        pytest.param(ORIGIN, True, ROOT, (), id="bool size"),
        pytest.param(ORIGIN, 1, ROOT[:31], (), id="short root"),
        pytest.param(ORIGIN, 1, ROOT.hex(), (), id="hex text root"),
        pytest.param(ORIGIN, 1, ROOT, ("",), id="empty extension"),
        pytest.param(ORIGIN, 1, ROOT, ("a\nb",), id="two-line extension"),
        pytest.param(ORIGIN, 1, ROOT, ("tab\there",), id="control character"),
    ],
)
def test_a_checkpoint_with_an_invalid_field_cannot_be_built(
    origin: str, size: int, root: bytes, extensions: tuple[str, ...]
) -> None:
    with pytest.raises(CheckpointError):
        Checkpoint(origin, size, root, extensions)


@pytest.mark.parametrize("name", ["", "has space", "has+plus", "tab\tname", "new\nline"])
def test_a_signing_key_needs_a_valid_key_name(name: str) -> None:
    with pytest.raises(CheckpointError, match="key name"):
        SigningKey.generate(name)


# --- key files -----------------------------------------------------------------------------


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_a_key_file_is_written_with_mode_0600(old_key: SigningKey, tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.pem"
    old_umask = os.umask(0)  # even a permissive umask must not widen the mode
    try:
        old_key.to_pem_file(path)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")


def test_a_key_loaded_from_its_file_signs_checkpoints_the_original_vkey_accepts(
    old_key: SigningKey, checkpoint: Checkpoint, tmp_path: Path
) -> None:
    path = tmp_path / "checkpoint.pem"
    old_key.to_pem_file(path)
    loaded = SigningKey.from_pem_file(path, old_key.name)
    assert loaded.vkey == old_key.vkey
    assert verify_checkpoint(loaded.sign(checkpoint), [old_key.vkey]) == checkpoint


def test_an_existing_key_file_is_never_overwritten(
    old_key: SigningKey, new_key: SigningKey, tmp_path: Path
) -> None:
    path = tmp_path / "checkpoint.pem"
    old_key.to_pem_file(path)
    before = path.read_bytes()
    with pytest.raises(FileExistsError):
        new_key.to_pem_file(path)
    assert path.read_bytes() == before


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_a_key_file_other_users_can_read_is_refused(old_key: SigningKey, tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.pem"
    old_key.to_pem_file(path)
    path.chmod(0o644)
    with pytest.raises(CheckpointError, match="chmod 600"):
        SigningKey.from_pem_file(path, old_key.name)


def test_a_key_file_that_is_not_an_ed25519_pem_key_is_refused(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.pem"
    garbage.write_bytes(b"not a key\n")
    garbage.chmod(0o600)
    with pytest.raises(CheckpointError, match="not an unencrypted PEM private key"):
        SigningKey.from_pem_file(garbage, "k")

    ecdsa = tmp_path / "ecdsa.pem"
    ecdsa.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    ecdsa.chmod(0o600)
    with pytest.raises(CheckpointError, match="not Ed25519"):
        SigningKey.from_pem_file(ecdsa, "k")


def test_a_signing_key_repr_shows_the_vkey_and_no_private_material(old_key: SigningKey) -> None:
    assert repr(old_key) == f"SigningKey(vkey={old_key.vkey!r})"


# --- module boundaries ---------------------------------------------------------------------


def test_the_public_surface_is_exactly_what_all_declares() -> None:
    public = {
        name
        for name, value in vars(checkpoints).items()
        if not name.startswith("_") and getattr(value, "__module__", None) == checkpoints.__name__
    }
    assert public <= set(checkpoints.__all__)
    assert all(hasattr(checkpoints, name) for name in checkpoints.__all__)


def test_the_checkpoints_module_imports_nothing_from_api_or_receipts() -> None:
    tree = ast.parse(Path(checkpoints.__file__).read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    roots = {name.split(".")[0] for name in imported}
    assert not roots & {"api", "receipts", "flask"}
