"""The backup archive's cipher: a streamed, chunked AEAD (the STREAM construction) over
`cryptography`'s AES-256-GCM, with the file key wrapped for a passphrase and for age recipients.

File layout (format 2; format 1, a plain age stream, is still read by `usecases.backup`)::

    huiquan-backup/2\\n
    header <n>\\n
    <n bytes of JSON>   {"aead": "AES-256-GCM", "chunk": 1048576, "nonce_prefix": hex,
                         "passphrase": {"kdf": "scrypt", "n", "r", "p", "salt", "nonce",
                                        "wrapped"} | null,
                         "recipients": base64 of an age file (the file key) | null}
    chunks              each chunk of `chunk` plaintext bytes (the last one 0..chunk) sealed
                        as ciphertext + 16-byte tag

Invariants owned here:
- One random 256-bit file key per archive; it never appears in the clear. A passphrase wraps it
  with AES-256-GCM under a key derived by scrypt from the passphrase and a random salt; age
  (pyrage, X25519) wraps it for each recipient. No home-made primitive.
- Chunk i is sealed with nonce = prefix (7 random bytes) || i (4 bytes, big-endian) || last
  (1 byte: 1 on the final chunk only), and the SHA-256 of the whole header (format line, length
  line and JSON) as associated data. A changed header, a flipped, dropped, repeated or reordered
  chunk, a truncation (even at a chunk boundary) or bytes appended after the final chunk each
  fail a tag, and the reader refuses the archive at that point.
- Memory is one or two chunks whatever the archive's size (plus scrypt's 128 MiB when a
  passphrase is used, once per archive).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
from collections.abc import Iterator, Sequence
from typing import IO, Any

import pyrage  # type: ignore[import-untyped]
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from ledger.errors import LedgerError

__all__ = ["CONTAINER", "BackupRefused", "open_stream", "seal_stream"]

CONTAINER = "huiquan-backup/2"
AEAD = "AES-256-GCM"
CHUNK = 1 << 20
TAG = 16
PREFIX = 7
# scrypt: N = 2^17, r = 8 (128 MiB, about 0.3-0.6 s here); a reader accepts up to 2^20
SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_MAX_N = 1 << 17, 8, 1, 1 << 20
MAX_HEADER = 1 << 16


class BackupRefused(LedgerError):
    """Raised when a backup, a restore or a key export is refused; nothing was changed (here:
    a wrong key, a damaged, truncated or reordered stream, a header this version cannot read)."""

    code = "backup_refused"


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    return prefix + counter.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


def _scrypt(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    kdf = Scrypt(salt=salt, length=32, n=n, r=r, p=p)
    return kdf.derive(passphrase.encode("utf-8"))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _wrap(file_key: bytes, passphrase: str | None, recipients: Sequence[Any]) -> dict[str, Any]:
    header: dict[str, Any] = {"aead": AEAD, "chunk": CHUNK, "passphrase": None}
    header["nonce_prefix"] = os.urandom(PREFIX).hex()
    if passphrase:
        salt, nonce = os.urandom(16), os.urandom(12)
        kek = _scrypt(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
        header["passphrase"] = {
            "kdf": "scrypt",
            "n": SCRYPT_N,
            "r": SCRYPT_R,
            "p": SCRYPT_P,
            "salt": _b64(salt),
            "nonce": _b64(nonce),
            "wrapped": _b64(AESGCM(kek).encrypt(nonce, file_key, CONTAINER.encode("ascii"))),
        }
    header["recipients"] = _b64(pyrage.encrypt(file_key, list(recipients))) if recipients else None
    return header


def seal_stream(
    out: IO[bytes], pieces: Iterator[bytes], passphrase: str | None, recipients: Sequence[Any]
) -> None:
    """Write the header, then `pieces` (any sizes) sealed in chunks, to `out`.

    `recipients` are parsed age recipients (pyrage.x25519.Recipient); at least one of them or a
    passphrase is required (the caller checks)."""
    file_key = AESGCM.generate_key(bit_length=256)
    body = json.dumps(_wrap(file_key, passphrase, recipients), sort_keys=True).encode("utf-8")
    head = f"{CONTAINER}\nheader {len(body)}\n".encode("ascii") + body
    out.write(head)
    aad, aead = hashlib.sha256(head).digest(), AESGCM(file_key)
    prefix = bytes.fromhex(json.loads(body)["nonce_prefix"])
    # Two buffers reused for the whole stream (fresh megabyte buffers per chunk cost more in
    # page faults than the cipher itself). A full chunk is sealed only once a further byte
    # arrives, so the final chunk (up to a whole one) is always the one marked last.
    plain, sealed = bytearray(CHUNK), bytearray(CHUNK + TAG)
    plain_view, sealed_view = memoryview(plain), memoryview(sealed)
    filled = counter = 0
    for piece in pieces:
        source, at = memoryview(piece), 0
        while at < len(source):
            if filled == CHUNK:
                aead.encrypt_into(_nonce(prefix, counter, False), plain, aad, sealed)
                out.write(sealed)
                filled, counter = 0, counter + 1
            n = min(CHUNK - filled, len(source) - at)
            plain_view[filled : filled + n] = source[at : at + n]
            filled, at = filled + n, at + n
    last = sealed_view[: filled + TAG]
    aead.encrypt_into(_nonce(prefix, counter, True), plain_view[:filled], aad, last)
    out.write(last)


def _read_header(handle: IO[bytes]) -> tuple[bytes, dict[str, Any]]:
    """The raw header (for the associated data) and its JSON; the format line already read."""
    length_line = handle.readline(64)
    match = re.fullmatch(rb"header (\d{1,6})\n", length_line)
    if match is None or int(match.group(1)) > MAX_HEADER:
        raise BackupRefused("the archive's header is damaged")
    body = handle.read(int(match.group(1)))
    try:
        header = json.loads(body)
    except ValueError:
        raise BackupRefused("the archive's header is damaged") from None
    if not isinstance(header, dict) or header.get("aead") != AEAD:
        raise BackupRefused("the archive's header names a cipher this version does not read")
    if not isinstance(header.get("chunk"), int) or not 1 <= header["chunk"] <= 1 << 26:
        raise BackupRefused("the archive's header is damaged")
    return f"{CONTAINER}\n".encode("ascii") + length_line + body, header


def _unwrap(header: dict[str, Any], passphrase: str | None, identities: Sequence[Any]) -> bytes:
    wrapped_for = header.get("passphrase")
    if passphrase and wrapped_for:
        n, r, p = int(wrapped_for["n"]), int(wrapped_for["r"]), int(wrapped_for["p"])
        if n > SCRYPT_MAX_N or r > 32 or p > 16:
            raise BackupRefused("the archive asks for a key derivation too costly to run")
        kek = _scrypt(passphrase, base64.b64decode(wrapped_for["salt"]), n, r, p)
        try:
            return AESGCM(kek).decrypt(
                base64.b64decode(wrapped_for["nonce"]),
                base64.b64decode(wrapped_for["wrapped"]),
                CONTAINER.encode("ascii"),
            )
        except InvalidTag:
            raise BackupRefused("wrong passphrase: the archive cannot be opened") from None
    if identities and header.get("recipients"):
        try:
            key: bytes = pyrage.decrypt(base64.b64decode(header["recipients"]), list(identities))
        except pyrage.DecryptError:
            raise BackupRefused(
                "the identity given is not one of the archive's recipients"
            ) from None
        return key
    if wrapped_for:
        raise BackupRefused("give the archive's passphrase to open it")
    raise BackupRefused(
        "this archive has no passphrase: give the identity of one of its recipients"
    )


class _Opened(io.RawIOBase):
    """The plaintext of a sealed stream, chunk by chunk; refuses at the first failed tag."""

    def __init__(self, handle: IO[bytes], head: bytes, header: dict[str, Any], key: bytes) -> None:
        self._handle = handle
        self._aad = hashlib.sha256(head).digest()
        self._aead = AESGCM(key)
        self._prefix = bytes.fromhex(header["nonce_prefix"])
        self._sealed = header["chunk"] + TAG
        self._counter = 0
        self._done = False
        self._buffer = memoryview(b"")

    def readable(self) -> bool:
        return True

    def _next_chunk(self) -> bool:
        if self._done:
            return False
        sealed = self._handle.read(self._sealed)
        if len(sealed) < TAG:
            raise BackupRefused(
                f"the archive is truncated: it ends before its last chunk (chunk {self._counter})"
            )
        last = len(sealed) < self._sealed or not _more(self._handle)
        try:
            plain = self._aead.decrypt(_nonce(self._prefix, self._counter, last), sealed, self._aad)
        except InvalidTag:
            raise BackupRefused(
                f"the archive is damaged, truncated or reordered: chunk {self._counter} failed "
                "its integrity check"
            ) from None
        self._counter += 1
        self._done = last
        self._buffer = memoryview(plain)
        return True

    def readinto(self, target: Any) -> int:
        while not self._buffer:
            if not self._next_chunk():
                return 0
        n = min(len(target), len(self._buffer))
        target[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n

    def close(self) -> None:
        self._handle.close()
        super().close()


def _more(handle: IO[bytes]) -> bool:
    peek = getattr(handle, "peek", None)
    if peek is not None:
        return bool(peek(1))
    here = handle.tell()
    more = bool(handle.read(1))
    handle.seek(here)
    return more


def open_stream(
    handle: IO[bytes], passphrase: str | None, identities: Sequence[Any]
) -> io.BufferedReader:
    """The plaintext of a format-2 archive whose first line was read from `handle`.

    Raises:
        BackupRefused: a damaged header, a wrong passphrase or identity (at once); a damaged,
            truncated or reordered chunk (when the reader reaches it).
    """
    head, header = _read_header(handle)
    key = _unwrap(header, passphrase, identities)
    return io.BufferedReader(_Opened(handle, head, header, key), buffer_size=1 << 16)
