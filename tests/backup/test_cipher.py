"""The archive cipher (AES-256-GCM in chunks, the STREAM construction) refuses, clearly and
before anything is used, a wrong passphrase or identity, a damaged header, a flipped, dropped,
repeated or reordered chunk, a truncation (mid-chunk and at a chunk boundary) and bytes appended
after the final chunk; format-1 (age) archives still restore."""

from __future__ import annotations

import io
import os

import pyrage
import pytest

from tests.backup.conftest import checkpoint
from tests.builders import Books
from usecases.archive_cipher import CHUNK, CONTAINER, TAG, BackupRefused, open_stream, seal_stream
from usecases.backup import FORMAT, create_backup, decrypt_archive, restore_backup

PLAIN = os.urandom(3 * CHUNK + 12345)  # three full chunks and a short last one


def _seal(plain: bytes = PLAIN, *, passphrase: str | None = None, recipients=()) -> bytes:
    out = io.BytesIO()
    pieces = (plain[i : i + 70_000] for i in range(0, len(plain), 70_000))
    seal_stream(out, pieces, passphrase, list(recipients))
    return out.getvalue()


def _open(sealed: bytes, *, passphrase: str | None = None, identities=()) -> bytes:
    handle = io.BufferedReader(io.BytesIO(sealed))
    assert handle.readline() == f"{CONTAINER}\n".encode()
    return open_stream(handle, passphrase, list(identities)).read()


def _split(sealed: bytes) -> tuple[bytes, list[bytes]]:
    """(header, sealed chunks) of an archive."""
    first = sealed.index(b"\n") + 1
    second = sealed.index(b"\n", first) + 1
    body_end = second + int(sealed[first:second].split()[1])
    size = CHUNK + TAG
    rest = sealed[body_end:]
    return sealed[:body_end], [rest[i : i + size] for i in range(0, len(rest), size)]


@pytest.fixture(scope="module")
def age_key():
    key = pyrage.x25519.Identity.generate()
    return key, key.to_public()


@pytest.fixture(scope="module")
def sealed(age_key) -> bytes:
    return _seal(recipients=[age_key[1]])


def test_a_sealed_stream_opens_to_the_same_bytes_for_a_recipient_and_a_passphrase(age_key):
    both = _seal(passphrase="correct horse", recipients=[age_key[1]])
    assert _open(both, identities=[age_key[0]]) == PLAIN
    assert _open(both, passphrase="correct horse") == PLAIN
    empty = _seal(b"", passphrase="p")
    assert _open(empty, passphrase="p") == b""


def test_a_wrong_passphrase_is_refused_before_any_byte_is_read():
    with pytest.raises(BackupRefused, match=r"^wrong passphrase: the archive cannot be opened$"):
        _open(_seal(b"secret", passphrase="right"), passphrase="wrong")


def test_an_identity_that_is_not_a_recipient_is_refused(sealed):
    stranger = pyrage.x25519.Identity.generate()
    with pytest.raises(BackupRefused, match="not one of the archive's recipients"):
        _open(sealed, identities=[stranger])


@pytest.mark.parametrize("cut", [CHUNK + TAG, 2 * (CHUNK + TAG), CHUNK // 2, 5])
def test_a_truncated_archive_is_refused_even_at_a_chunk_boundary(sealed, age_key, cut):
    header, chunks = _split(sealed)
    body = b"".join(chunks)
    with pytest.raises(BackupRefused, match="truncated"):
        _open(header + body[:cut], identities=[age_key[0]])


def test_an_archive_cut_after_its_header_is_refused(sealed, age_key):
    header, _ = _split(sealed)
    with pytest.raises(BackupRefused, match="truncated: it ends before its last chunk"):
        _open(header, identities=[age_key[0]])


def test_reordered_dropped_or_repeated_chunks_are_refused(sealed, age_key):
    header, chunks = _split(sealed)
    assert len(chunks) == 4
    for order in ([1, 0, 2, 3], [0, 2, 3], [0, 1, 1, 2, 3], [0, 1, 2]):
        forged = header + b"".join(chunks[i] for i in order)
        with pytest.raises(BackupRefused, match="damaged, truncated or reordered: chunk"):
            _open(forged, identities=[age_key[0]])


def test_a_flipped_bit_in_any_chunk_or_bytes_appended_are_refused(sealed, age_key):
    header, chunks = _split(sealed)
    for index in range(len(chunks)):
        flipped = bytearray(chunks[index])
        flipped[len(flipped) // 3] ^= 0x80
        forged = header + b"".join(chunks[:index]) + bytes(flipped) + b"".join(chunks[index + 1 :])
        with pytest.raises(BackupRefused, match=f"chunk {index} failed its integrity check"):
            _open(forged, identities=[age_key[0]])
    with pytest.raises(BackupRefused, match="failed its integrity check"):
        _open(sealed + b"\0" * 40, identities=[age_key[0]])


def test_a_changed_header_is_refused(sealed, age_key):
    header, chunks = _split(sealed)
    prefix = header[header.index(b'"nonce_prefix": "') + 17 :][:14]
    other = bytes.fromhex(prefix.decode())[::-1].hex().encode()
    forged = header.replace(prefix, other) + b"".join(chunks)
    with pytest.raises(BackupRefused, match="chunk 0 failed its integrity check"):
        _open(forged, identities=[age_key[0]])
    with pytest.raises(BackupRefused, match="header is damaged"):
        _open(
            header.replace(b'"chunk": ', b'"chunk":  ')[:-1] + b"".join(chunks),
            identities=[age_key[0]],
        )


def test_a_format_1_age_archive_still_restores(
    engine, database_url, home, identity, target, tmp_path
):
    books = Books(engine)
    books.fund("LUHUO")
    books.donate("100.00", donor=books.donor())
    checkpoint(engine, home)
    new = tmp_path / "new.hqbak"
    create_backup(new, home=home, url=database_url, passphrase=None, recipients=[identity[1]])
    assert new.read_bytes().startswith(f"{CONTAINER}\n".encode())
    plain = tmp_path / "plain.tar"
    decrypt_archive(new, plain, passphrase=None, identities=[identity[0]])
    old = tmp_path / "old.hqbak"
    with old.open("wb") as out, plain.open("rb") as source:
        out.write(f"{FORMAT}\nidentity 0\n".encode())
        pyrage.encrypt_io(source, out, [pyrage.x25519.Recipient.from_str(identity[1])])
    folder, url = target()
    result = restore_backup(old, home=folder, url=url, identities=[identity[0]])
    assert result.journal_size >= 1
    assert (folder / "pseudonym.key").read_bytes() == (home / "pseudonym.key").read_bytes()


def test_restoring_a_damaged_format_1_archive_is_still_refused(
    engine, database_url, home, identity, target, tmp_path
):
    books = Books(engine)
    books.fund("LUHUO")
    checkpoint(engine, home)
    new = tmp_path / "new.hqbak"
    create_backup(new, home=home, url=database_url, passphrase=None, recipients=[identity[1]])
    plain = tmp_path / "plain.tar"
    decrypt_archive(new, plain, passphrase=None, identities=[identity[0]])
    old = tmp_path / "old.hqbak"
    with old.open("wb") as out, plain.open("rb") as source:
        out.write(f"{FORMAT}\nidentity 0\n".encode())
        pyrage.encrypt_io(source, out, [pyrage.x25519.Recipient.from_str(identity[1])])
    data = bytearray(old.read_bytes())
    data[len(data) // 2] ^= 1
    old.write_bytes(bytes(data))
    folder, url = target()
    with pytest.raises(BackupRefused, match="damaged or truncated"):
        restore_backup(old, home=folder, url=url, identities=[identity[0]])
    assert not folder.exists()
