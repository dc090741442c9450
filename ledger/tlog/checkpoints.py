"""Signed checkpoints of the ledger's Merkle tree: C2SP tlog-checkpoint in a C2SP signed note.

A checkpoint commits to the whole ledger at one size; anyone holding a trusted verifier key can
check it offline, and `ledger.tlog.merkle` proofs then tie single entries and later sizes to it.

Formats (https://c2sp.org/tlog-checkpoint, https://c2sp.org/signed-note), byte for byte::

    body       = origin "\\n" size "\\n" base64(root) "\\n" *(extension "\\n")
    signed     = body "\\n" 1*("\\u2014 " key-name " " base64(key-hash || signature) "\\n")
    key-hash   = SHA-256(key-name || "\\n" || 0x01 || public-key)[:4]
    vkey       = key-name "+" hex(key-hash) "+" base64(0x01 || public-key)

Invariants owned here:
- Signatures are Ed25519 (signature type 0x01) over the exact UTF-8 bytes of the body, including
  its final newline; a signature line's payload is the 4-byte key hash then the 64-byte signature.
- The size is ASCII decimal without leading zeros, at most 2**64 - 1; the root is a 32-byte
  SHA-256 Merkle root in standard, padded, canonical base64. Origin and extension lines are
  non-empty and hold no control characters.
- Parsing is strict and canonical: a parsed body re-serialises to exactly the text that was
  signed, so what is verified is what is returned.
- `verify_checkpoint` accepts a checkpoint only if at least one trusted key signed it and every
  signature that claims to come from a trusted key verifies. Signatures by unknown keys are
  ignored (C2SP: notes may carry cosignatures a verifier does not know), never trusted.
- Verifying several trusted keys at once is how keys rotate: trust old and new, sign with the new.
- Private keys live in PKCS#8 PEM files created with mode 0600; a key file that group or others
  can read is refused on load.

Every failure is a `CheckpointError` whose message says what is wrong in plain words.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = [
    "MAX_SIGNATURES",
    "MAX_TREE_SIZE",
    "Checkpoint",
    "CheckpointError",
    "SigningKey",
    "TrustedKey",
    "key_hash_of",
    "parse_signed_checkpoint",
    "parse_vkey",
    "verify_checkpoint",
    "vkey_of",
]

MAX_TREE_SIZE = 2**64 - 1
MAX_SIGNATURES = 100  # as golang.org/x/mod/sumdb/note: bounds the work one note can cause

_ED25519 = b"\x01"
_ROOT_SIZE = 32
_KEY_HASH_SIZE = 4
_SIGNATURE_SIZE = 64
_PUBLIC_KEY_SIZE = 32
_SIGNATURE_PREFIX = "\u2014 "  # EM DASH, space
_SIZE_RE = re.compile(r"0|[1-9][0-9]*")
_KEY_HASH_RE = re.compile(r"[0-9a-fA-F]{8}")
_PathLike = str | os.PathLike[str]


class CheckpointError(ValueError):
    """Raised when a checkpoint, signed note, key or key file is malformed or does not verify."""


@dataclass(frozen=True)
class Checkpoint:
    """The tree size and root hash of the log named `origin`, plus optional extension lines.

    Raises:
        CheckpointError: on construction, if a field breaks the invariants above.
    """

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_line(self.origin, "origin")
        if isinstance(self.size, bool) or not isinstance(self.size, int):
            raise CheckpointError(f"checkpoint size must be an integer, not {self.size!r}")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise CheckpointError(f"checkpoint size {self.size} is outside 0..2**64-1")
        if not isinstance(self.root, bytes) or len(self.root) != _ROOT_SIZE:
            raise CheckpointError(f"checkpoint root must be {_ROOT_SIZE} bytes")
        if not isinstance(self.extensions, tuple):
            raise CheckpointError("checkpoint extensions must be a tuple of lines")
        for line in self.extensions:
            _check_line(line, "extension line")

    def body(self) -> str:
        """Return the checkpoint text that is signed, ending in a newline."""
        lines = [self.origin, str(self.size), _b64(self.root), *self.extensions]
        return "".join(line + "\n" for line in lines)


class TrustedKey(NamedTuple):
    """A verifier key parsed from its vkey text: name, 4-byte key hash, Ed25519 public key."""

    name: str
    key_hash: bytes
    public_key: Ed25519PublicKey


class SigningKey:
    """An Ed25519 checkpoint signing key with its C2SP key name.

    Raises:
        CheckpointError: on construction, if the key name is not a valid signed-note key name
            (non-empty, no spaces, no "+").
    """

    __slots__ = ("_name", "_private_key", "_public_bytes")

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        _check_key_name(name)
        self._name = name
        self._private_key = private_key
        self._public_bytes = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @classmethod
    def generate(cls, name: str) -> SigningKey:
        """Return a fresh random key named `name`.

        Raises:
            CheckpointError: if `name` is not a valid key name.
        """
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def from_pem_file(cls, path: _PathLike, name: str) -> SigningKey:
        """Load an unencrypted PKCS#8 PEM Ed25519 private key from `path` under the key `name`.

        Raises:
            CheckpointError: if the file is readable by group or others, is not an unencrypted
                PEM private key, or holds a key that is not Ed25519; or if `name` is invalid.
            OSError: if the file cannot be read.
        """
        if os.name == "posix":
            mode = stat.S_IMODE(os.stat(path).st_mode)
            if mode & 0o077:
                raise CheckpointError(
                    f"refusing key file {os.fspath(path)!r}: its mode is {mode:04o}, so other "
                    "users can read the private key; run chmod 600 on it"
                )
        with open(path, "rb") as f:
            pem = f.read()
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError) as e:
            raise CheckpointError(
                f"key file {os.fspath(path)!r} is not an unencrypted PEM private key: {e}"
            ) from e
        if not isinstance(key, Ed25519PrivateKey):
            raise CheckpointError(f"key file {os.fspath(path)!r} holds a key that is not Ed25519")
        return cls(name, key)

    def to_pem_file(self, path: _PathLike) -> None:
        """Write the private key to a new file at `path` as PKCS#8 PEM, mode 0600.

        Raises:
            FileExistsError: if `path` exists; a signing key is never overwritten.
            OSError: if the file cannot be created or written.
        """
        pem = self._private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            if os.name == "posix":
                os.fchmod(fd, 0o600)  # the umask may only narrow the mode, but be explicit
            os.write(fd, pem)
        finally:
            os.close(fd)

    @property
    def name(self) -> str:
        """The key name that appears in signature lines and the vkey."""
        return self._name

    @property
    def public_key(self) -> bytes:
        """The raw 32-byte Ed25519 public key."""
        return self._public_bytes

    @property
    def key_hash(self) -> bytes:
        """The 4-byte key hash that prefixes this key's signatures."""
        return key_hash_of(self._name, self._public_bytes)

    @property
    def vkey(self) -> str:
        """The verifier key text ``<name>+<hex key hash>+<base64(0x01 || public key)>``."""
        return vkey_of(self._name, self._public_bytes)

    def sign(self, checkpoint: Checkpoint) -> str:
        """Return the signed note: the checkpoint body, a blank line and this key's signature."""
        body = checkpoint.body()
        signature = self._private_key.sign(body.encode("utf-8"))
        return f"{body}\n{_SIGNATURE_PREFIX}{self._name} {_b64(self.key_hash + signature)}\n"

    def __repr__(self) -> str:
        return f"SigningKey(vkey={self.vkey!r})"


def parse_signed_checkpoint(text: str) -> tuple[Checkpoint, list[str]]:
    """Return the checkpoint and its signature lines (without newlines), verifying nothing.

    Raises:
        CheckpointError: if the text is not a well-formed signed checkpoint.
    """
    _check_characters(text, "signed checkpoint")
    body, blank, signature_block = text.partition("\n\n")
    if not blank:
        raise CheckpointError(
            "malformed signed checkpoint: no blank line between the checkpoint and its signatures"
        )
    checkpoint = _parse_body(body + "\n")
    if not signature_block:
        raise CheckpointError("malformed signed checkpoint: it carries no signature lines")
    if not signature_block.endswith("\n"):
        raise CheckpointError("malformed signed checkpoint: it must end with a newline")
    lines = signature_block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise CheckpointError(
            f"malformed signed checkpoint: {len(lines)} signature lines, at most "
            f"{MAX_SIGNATURES} are read"
        )
    for line in lines:
        _parse_signature_line(line)
    return checkpoint, lines


def verify_checkpoint(
    text: str, trusted_vkeys: Sequence[str], *, origin: str | None = None
) -> Checkpoint:
    """Return the checkpoint in `text` once a trusted key's signature on it verifies.

    Every signature by a trusted key must verify and at least one must be present; signatures
    by other keys are ignored. When `origin` is given the checkpoint must be for that log.

    Raises:
        CheckpointError: if a trusted vkey or the text is malformed, no trusted key signed the
            checkpoint, a trusted key's signature does not verify, or the origin differs.
        TypeError: if `trusted_vkeys` is a single string rather than a sequence of them.
    """
    if isinstance(trusted_vkeys, str):
        raise TypeError("trusted_vkeys must be a sequence of vkey strings, not one string")
    verifiers = [parse_vkey(vkey) for vkey in trusted_vkeys]
    if not verifiers:
        raise CheckpointError("no trusted keys were given, so no checkpoint can be verified")
    checkpoint, lines = parse_signed_checkpoint(text)
    if origin is not None and checkpoint.origin != origin:
        raise CheckpointError(
            f"checkpoint is for the log {checkpoint.origin!r}, expected {origin!r}"
        )
    message = checkpoint.body().encode("utf-8")
    signers: list[str] = []
    verified = False
    for line in lines:
        name, key_hash, signature = _parse_signature_line(line)
        signers.append(f"{name} ({key_hash.hex()})")
        for verifier in verifiers:
            if (verifier.name, verifier.key_hash) != (name, key_hash):
                continue
            if not _signature_verifies(verifier.public_key, signature, message):
                raise CheckpointError(
                    f"the signature by trusted key {name!r} ({key_hash.hex()}) does not verify: "
                    "the checkpoint was changed after signing or the signature is forged"
                )
            verified = True
    if not verified:
        trusted = ", ".join(f"{v.name} ({v.key_hash.hex()})" for v in verifiers)
        raise CheckpointError(
            f"no trusted key signed this checkpoint: it is signed by {', '.join(signers)}; "
            f"the trusted keys are {trusted}"
        )
    return checkpoint


def _parse_body(body: str) -> Checkpoint:
    lines = body.split("\n")[:-1]  # body ends in "\n", so the last piece is empty
    if len(lines) < 3:
        raise CheckpointError(
            "malformed checkpoint: it needs an origin, a tree size and a root hash line"
        )
    origin, size_text, root_text, *extensions = lines
    if not _SIZE_RE.fullmatch(size_text):
        raise CheckpointError(
            f"malformed checkpoint: tree size {size_text!r} is not a decimal number "
            "without leading zeros"
        )
    root = _b64decode(root_text, "root hash")
    checkpoint = Checkpoint(origin, int(size_text), root, tuple(extensions))
    if checkpoint.body() != body:  # pragma: no cover - the checks above make this unreachable
        raise CheckpointError("malformed checkpoint: it is not in canonical form")
    return checkpoint


def _parse_signature_line(line: str) -> tuple[str, bytes, bytes]:
    if not line.startswith(_SIGNATURE_PREFIX):
        raise CheckpointError(
            f"malformed signature line {line[:60]!r}: it must start with an em dash and a space"
        )
    name, space, payload_text = line[len(_SIGNATURE_PREFIX) :].partition(" ")
    if not space:
        raise CheckpointError(
            f"malformed signature line {line[:60]!r}: no signature after the name"
        )
    _check_key_name(name)
    payload = _b64decode(payload_text, "signature")
    if len(payload) <= _KEY_HASH_SIZE:
        raise CheckpointError(f"malformed signature line {line[:60]!r}: the signature is empty")
    return name, payload[:_KEY_HASH_SIZE], payload[_KEY_HASH_SIZE:]


def parse_vkey(vkey: str) -> TrustedKey:
    """Parse a verifier key ``<name>+<8 hex digits>+<base64(0x01 || public key)>``.

    Raises:
        CheckpointError: if it is malformed, not Ed25519, or its key hash does not match.
    """
    vkey = vkey.strip()
    parts = vkey.split("+", 2)  # base64 may itself contain "+"; names never do
    if len(parts) != 3:
        raise CheckpointError(
            f"malformed trusted key {vkey!r}: expected <name>+<8 hex digits>+<base64 key>"
        )
    name, hash_text, key_text = parts
    _check_key_name(name)
    if not _KEY_HASH_RE.fullmatch(hash_text):
        raise CheckpointError(f"malformed trusted key {vkey!r}: the key hash is not 8 hex digits")
    key = _b64decode(key_text, "trusted key")
    if len(key) != 1 + _PUBLIC_KEY_SIZE or key[:1] != _ED25519:
        raise CheckpointError(f"trusted key {vkey!r} is not an Ed25519 key")
    public_bytes = key[1:]
    key_hash = bytes.fromhex(hash_text)
    if key_hash_of(name, public_bytes) != key_hash:
        raise CheckpointError(f"trusted key {vkey!r}: its key hash does not match its name and key")
    return TrustedKey(name, key_hash, Ed25519PublicKey.from_public_bytes(public_bytes))


def _signature_verifies(public_key: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    if len(signature) != _SIGNATURE_SIZE:
        return False
    try:
        public_key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


def key_hash_of(name: str, public_key: bytes) -> bytes:
    """The C2SP key hash: the first 4 bytes of SHA-256(name || 0x0A || 0x01 || public key).

    The one key id of the organisation's key, in checkpoint signatures, vkeys and receipt
    claims' signatures alike.
    """
    material = name.encode("utf-8") + b"\n" + _ED25519 + public_key
    return hashlib.sha256(material).digest()[:_KEY_HASH_SIZE]


def vkey_of(name: str, public_key: bytes) -> str:
    """The verifier key text ``<name>+<hex key hash>+<base64(0x01 || public key)>``."""
    return f"{name}+{key_hash_of(name, public_key).hex()}+{_b64(_ED25519 + public_key)}"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64decode(text: str, what: str) -> bytes:
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as e:
        raise CheckpointError(f"malformed {what}: {text[:60]!r} is not standard base64") from e
    if _b64(data) != text:
        raise CheckpointError(f"malformed {what}: {text[:60]!r} is not canonical base64")
    return data


def _check_characters(text: str, what: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise CheckpointError(f"malformed {what}: it is not valid Unicode text") from e
    for ch in text:
        if ch < " " and ch != "\n":
            raise CheckpointError(
                f"malformed {what}: it contains the control character U+{ord(ch):04X}"
            )


def _check_line(line: object, what: str) -> None:
    if not isinstance(line, str) or not line:
        raise CheckpointError(f"checkpoint {what} must be a non-empty string")
    if "\n" in line:
        raise CheckpointError(f"checkpoint {what} {line[:60]!r} must be a single line")
    _check_characters(line, f"checkpoint {what}")


def _check_key_name(name: str) -> None:
    if not isinstance(name, str) or not name:
        raise CheckpointError("a key name must be a non-empty string")
    if "+" in name or any(ch.isspace() for ch in name):
        raise CheckpointError(f"key name {name!r} must not contain spaces or '+'")
    _check_characters(name, "key name")
