"""Witnesses: C2SP tlog-cosignature/v1 cosignatures, a witness's own state, and k-of-n policies.

A witness is an independent party with its own Ed25519 key. It cosigns a checkpoint only after
checking that the checkpoint is signed by a log key it trusts and that it extends (by an RFC 6962
consistency proof) the last checkpoint it cosigned. A verifier that requires k of n witnesses'
cosignatures is then protected from a split view: the log cannot show one history to one reader
and another to the next without also fooling k witnesses.

Formats (https://c2sp.org/tlog-cosignature, https://c2sp.org/tlog-witness), byte for byte::

    key-id     = SHA-256(name || "\\n" || 0x04 || public-key)[:4]
    vkey       = name "+" hex(key-id) "+" base64(0x04 || public-key)
    message    = "cosignature/v1\\n" "time " decimal(t) "\\n" checkpoint-body
    line       = "\\u2014 " name " " base64(key-id || uint64-be(t) || ed25519(message))
    add-checkpoint request = "old " decimal(n) "\\n" *(base64(hash) "\\n") "\\n" signed-checkpoint

Invariants owned here:
- A cosignature covers the whole checkpoint body (extension lines included) and a timestamp of
  at most 2**63 - 1 seconds; it verifies only under the key whose name and key id it carries.
- `Witness.add_checkpoint` cosigns a checkpoint only if a trusted log key signed it, it is for
  the witness's origin, its old size is the size the witness last cosigned, and the consistency
  proof from that checkpoint verifies (equal sizes need equal roots). It persists the new
  checkpoint before returning the cosignature, under a file lock, so two requests can never roll
  the witness's view back. Otherwise it raises `WitnessRefusal` with a stable code and signs
  nothing; a checkpoint inconsistent with one it cosigned before is `split_view`.
- `verify_witnessed` counts distinct witness keys whose cosignature verifies; one key counts
  once however many lines it contributes. Lines by unknown keys are ignored, never trusted.
- The witness's private key is a PKCS#8 PEM file of mode 0600; a readable one is refused.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import os
import stat
import struct
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger.text import digits
from ledger.tlog.checkpoints import (
    Checkpoint,
    CheckpointError,
    parse_signed_checkpoint,
    parse_vkey,
    verify_checkpoint,
)
from ledger.tlog.merkle import verify_consistency

__all__ = [
    "COSIGNATURE_HEADER",
    "MAX_PROOF_LINES",
    "WITNESSES_FILE",
    "Cosignature",
    "CosignerKey",
    "Witness",
    "WitnessError",
    "WitnessRefusal",
    "WitnessVerdict",
    "add_checkpoint_request",
    "configured_witnesses",
    "cosigned_message",
    "parse_cosignature_line",
    "verify_cosignature",
    "verify_witnessed",
]

COSIGNATURE_HEADER = "cosignature/v1"
MAX_PROOF_LINES = 63  # tlog-witness: a client sends at most 63 consistency proof lines
MAX_TIMESTAMP = 2**63 - 1
WITNESSES_FILE = "witnesses.vkeys"  # the service's configured witness keys, in $HUIQUAN_HOME/keys

_ALG_COSIGNATURE = b"\x04"
_KEY_ID_SIZE = 4
_SIGNATURE_SIZE = 64
_PREFIX = "\u2014 "

_FATAL = {"checkpoint_malformed", "checkpoint_signature_invalid", "witness_quorum_not_met"}
_KEY_FILE = "witness.key"
_NAME_FILE = "witness.name"
_LOGS_FILE = "log.vkeys"
_STATE_FILE = "state.json"
_LOCK_FILE = "state.lock"


class WitnessError(ValueError):
    """Raised when a cosignature, witness key, vkey or witness request is malformed."""


class WitnessRefusal(WitnessError):
    """Raised when a witness refuses to cosign; `code` says why (stable), `status` is the HTTP
    status tlog-witness gives that refusal, and `latest_size` the witness's size on a conflict.
    """

    def __init__(self, code: str, message: str, *, status: int, latest_size: int | None = None):
        super().__init__(message)
        self.code = code
        self.status = status
        self.latest_size = latest_size


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64decode(text: str, what: str) -> bytes:
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as e:
        raise WitnessError(f"malformed {what}: {text[:60]!r} is not standard base64") from e
    if _b64(data) != text:
        raise WitnessError(f"malformed {what}: {text[:60]!r} is not canonical base64")
    return data


def _key_id(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode("utf-8") + b"\n" + _ALG_COSIGNATURE + public_key).digest()[
        :_KEY_ID_SIZE
    ]


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not name:
        raise WitnessError("a witness key name must be a non-empty string")
    if "+" in name or any(ch.isspace() or ch < " " for ch in name):
        raise WitnessError(f"witness key name {name!r} must not contain spaces, '+' or controls")


def cosigned_message(checkpoint: Checkpoint, timestamp: int) -> bytes:
    """The bytes a cosignature/v1 signs: header line, time line, the whole checkpoint body.

    Raises:
        WitnessError: if the timestamp is outside 0..2**63-1.
    """
    if isinstance(timestamp, bool) or not 0 <= timestamp <= MAX_TIMESTAMP:
        raise WitnessError(f"cosignature timestamp {timestamp!r} is outside 0..2**63-1")
    return f"{COSIGNATURE_HEADER}\ntime {timestamp}\n{checkpoint.body()}".encode()


@dataclass(frozen=True, slots=True)
class _WitnessVerifier:
    name: str
    key_id: bytes
    public_key: Ed25519PublicKey

    @classmethod
    def parse(cls, vkey: str) -> _WitnessVerifier:
        vkey = vkey.strip()
        parts = vkey.split("+", 2)
        if len(parts) != 3:
            raise WitnessError(f"malformed witness key {vkey!r}: expected <name>+<hex>+<base64>")
        name, id_text, key_text = parts
        _check_name(name)
        key = _b64decode(key_text, "witness key")
        if len(key) != 33 or key[:1] != _ALG_COSIGNATURE:
            raise WitnessError(
                f"witness key {vkey!r} is not a cosignature/v1 Ed25519 key (type 0x04)"
            )
        try:
            key_id = bytes.fromhex(id_text)
        except ValueError as e:
            raise WitnessError(f"malformed witness key {vkey!r}: the key id is not hex") from e
        if len(id_text) != 8 or key_id != _key_id(name, key[1:]):
            raise WitnessError(f"witness key {vkey!r}: its key id does not match name and key")
        return cls(name, key_id, Ed25519PublicKey.from_public_bytes(key[1:]))


class CosignerKey:
    """A witness's Ed25519 cosigning key with its C2SP key name.

    Raises:
        WitnessError: on construction, if the name is not a valid key name.
    """

    __slots__ = ("_name", "_private_key", "_public")

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        _check_name(name)
        self._name = name
        self._private_key = private_key
        self._public = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @classmethod
    def generate(cls, name: str) -> CosignerKey:
        """A fresh random key named `name`."""
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def from_pem_file(cls, path: str | os.PathLike[str], name: str) -> CosignerKey:
        """Load the key from an unencrypted PKCS#8 PEM file that only its owner can read.

        Raises:
            WitnessError: if the file is readable by others or holds no Ed25519 private key.
            OSError: if it cannot be read.
        """
        if os.name == "posix" and stat.S_IMODE(os.stat(path).st_mode) & 0o077:
            raise WitnessError(f"refusing key file {os.fspath(path)!r}: run chmod 600 on it")
        try:
            key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
        except (ValueError, TypeError) as e:
            raise WitnessError(f"key file {os.fspath(path)!r} is not a PEM private key") from e
        if not isinstance(key, Ed25519PrivateKey):
            raise WitnessError(f"key file {os.fspath(path)!r} holds a key that is not Ed25519")
        return cls(name, key)

    def to_pem_file(self, path: str | os.PathLike[str]) -> None:
        """Write the key to a new file (mode 0600); never overwrites.

        Raises:
            FileExistsError: if `path` exists.
        """
        pem = self._private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, pem)
        finally:
            os.close(fd)

    @property
    def name(self) -> str:
        return self._name

    @property
    def key_id(self) -> bytes:
        return _key_id(self._name, self._public)

    @property
    def vkey(self) -> str:
        """``<name>+<hex key id>+<base64(0x04 || public key)>``, what verifiers configure."""
        return f"{self._name}+{self.key_id.hex()}+{_b64(_ALG_COSIGNATURE + self._public)}"

    def cosign(self, checkpoint: Checkpoint, timestamp: int | None = None) -> str:
        """The cosignature line (no newline) on `checkpoint` at `timestamp` (default: now).

        Raises:
            WitnessError: if the timestamp is outside 0..2**63-1.
        """
        t = int(time.time()) if timestamp is None else timestamp
        signature = self._private_key.sign(cosigned_message(checkpoint, t))
        return f"{_PREFIX}{self._name} {_b64(self.key_id + struct.pack('>Q', t) + signature)}"

    def __repr__(self) -> str:
        return f"CosignerKey(vkey={self.vkey!r})"


@dataclass(frozen=True, slots=True)
class Cosignature:
    """One parsed cosignature line: who (name, key id), when (POSIX seconds), the signature."""

    name: str
    key_id: bytes
    timestamp: int
    signature: bytes
    line: str


def parse_cosignature_line(line: str) -> Cosignature:
    """Parse one note signature line as a cosignature/v1, verifying nothing.

    Raises:
        WitnessError: if the line is not ``— <name> base64(key id || time || signature)`` with a
            64-byte signature and a timestamp of at most 2**63-1.
    """
    line = line.rstrip("\n")
    if not line.startswith(_PREFIX):
        raise WitnessError(f"malformed cosignature {line[:60]!r}: it must start with an em dash")
    name, space, payload_text = line[len(_PREFIX) :].partition(" ")
    if not space:
        raise WitnessError(f"malformed cosignature {line[:60]!r}: no signature after the name")
    _check_name(name)
    payload = _b64decode(payload_text, "cosignature")
    if len(payload) != _KEY_ID_SIZE + 8 + _SIGNATURE_SIZE:
        raise WitnessError(
            f"malformed cosignature {line[:60]!r}: not a timestamped Ed25519 cosignature"
        )
    (timestamp,) = struct.unpack(">Q", payload[_KEY_ID_SIZE : _KEY_ID_SIZE + 8])
    if timestamp > MAX_TIMESTAMP:
        raise WitnessError(f"malformed cosignature {line[:60]!r}: timestamp beyond 2**63-1")
    return Cosignature(name, payload[:_KEY_ID_SIZE], timestamp, payload[_KEY_ID_SIZE + 8 :], line)


def verify_cosignature(checkpoint: Checkpoint, line: str, witness_vkey: str) -> Cosignature:
    """Return the cosignature in `line` once it verifies on `checkpoint` under `witness_vkey`.

    Raises:
        WitnessError: if the line or vkey is malformed, names another key, or does not verify.
    """
    verifier = _WitnessVerifier.parse(witness_vkey)
    cosignature = parse_cosignature_line(line)
    if (cosignature.name, cosignature.key_id) != (verifier.name, verifier.key_id):
        raise WitnessError(
            f"the cosignature is by {cosignature.name!r} ({cosignature.key_id.hex()}), "
            f"not by witness key {verifier.name!r} ({verifier.key_id.hex()})"
        )
    try:
        verifier.public_key.verify(
            cosignature.signature, cosigned_message(checkpoint, cosignature.timestamp)
        )
    except InvalidSignature:
        raise WitnessError(
            f"the cosignature by {verifier.name!r} does not verify on checkpoint "
            f"{checkpoint.size}: the checkpoint differs from the one cosigned, or it is forged"
        ) from None
    return cosignature


@dataclass(slots=True)
class WitnessVerdict:
    """The outcome of a k-of-n check: which witnesses vouched, and findings (code, detail)."""

    required: int
    witnesses: list[str] = field(default_factory=list)
    findings: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """The quorum is met on a well-formed (and, if asked, validly signed) checkpoint; a
        bad line by one witness does not undo the others' cosignatures."""
        return len(self.witnesses) >= self.required and not any(
            code in _FATAL for code, _ in self.findings
        )

    def __bool__(self) -> bool:
        return self.ok


def verify_witnessed(
    signed_checkpoint_text: str,
    cosignatures: Iterable[str],
    witness_vkeys: Sequence[str],
    k: int,
    *,
    log_vkeys: Sequence[str] | None = None,
    now: int | None = None,
) -> WitnessVerdict:
    """Check that at least `k` of `witness_vkeys` cosigned the checkpoint; return the verdict.

    Cosignature lines may come in `cosignatures` or as signature lines of the note itself. With
    `log_vkeys`, the log's own signature is checked too. Lines by keys outside `witness_vkeys`
    are ignored; a line by a listed key that does not verify is a `cosignature_invalid` finding
    (it does not count, nor does it fail the verdict by itself: an honest quorum still stands).
    Cosignatures timed more than an hour after `now` (default: the clock) do not count.
    Finding codes: `checkpoint_malformed`, `checkpoint_signature_invalid`, `witness_key_malformed`,
    `cosignature_invalid`, `cosignature_from_future`, `witness_quorum_not_met`.

    Raises:
        ValueError: if `k` is below 1 or above the number of witness keys (an unmeetable policy).
    """
    if isinstance(witness_vkeys, str):
        raise TypeError("witness_vkeys must be a sequence of vkey strings, not one string")
    if not 1 <= k <= len(witness_vkeys):
        raise ValueError(f"a policy of {k} of {len(witness_vkeys)} witnesses cannot be met")
    verdict = WitnessVerdict(required=k)
    try:
        checkpoint, note_lines = parse_signed_checkpoint(signed_checkpoint_text)
        if log_vkeys is not None:
            verify_checkpoint(signed_checkpoint_text, log_vkeys)
    except CheckpointError as e:
        code = "checkpoint_malformed" if log_vkeys is None else "checkpoint_signature_invalid"
        verdict.findings.append((code, str(e)))
        return verdict
    verifiers: dict[tuple[str, bytes], str] = {}
    for vkey in witness_vkeys:
        try:
            v = _WitnessVerifier.parse(vkey)
        except WitnessError as e:
            verdict.findings.append(("witness_key_malformed", str(e)))
            continue
        verifiers[(v.name, v.key_id)] = vkey
    horizon = (int(time.time()) if now is None else now) + 3600
    for line in [*note_lines, *cosignatures]:
        try:
            parsed = parse_cosignature_line(line)
        except WitnessError:
            continue  # the log's own signature, or a line of another kind: not a cosignature
        known = verifiers.get((parsed.name, parsed.key_id))
        if known is None or parsed.name in verdict.witnesses:
            continue
        try:
            verify_cosignature(checkpoint, line, known)
        except WitnessError as e:
            verdict.findings.append(("cosignature_invalid", str(e)))
            continue
        if parsed.timestamp > horizon:
            verdict.findings.append(
                ("cosignature_from_future", f"{parsed.name} cosigned at {parsed.timestamp}")
            )
            continue
        verdict.witnesses.append(parsed.name)
    if len(verdict.witnesses) < k:
        verdict.findings.append(
            (
                "witness_quorum_not_met",
                f"checkpoint {checkpoint.size} is cosigned by {len(verdict.witnesses)} of the "
                f"{len(witness_vkeys)} witnesses ({', '.join(verdict.witnesses) or 'none'}); "
                f"the policy needs {k}",
            )
        )
    return verdict


def add_checkpoint_request(old_size: int, proof: Sequence[bytes], signed_checkpoint: str) -> str:
    """The tlog-witness add-checkpoint request body for `signed_checkpoint` from `old_size`."""
    lines = [f"old {old_size}", *(_b64(h) for h in proof)]
    return "".join(line + "\n" for line in lines) + "\n" + signed_checkpoint


def _parse_request(body: str) -> tuple[int, list[bytes], str]:
    head, blank, note = body.partition("\n\n")
    if not blank:
        raise WitnessRefusal("bad_request", "no blank line before the checkpoint", status=400)
    lines = head.split("\n")
    old_line, proof_lines = lines[0], lines[1:]
    old_text = old_line.removeprefix("old ")
    if old_text == old_line or not (old_text == "0" or old_text[:1] in "123456789"):
        raise WitnessRefusal("bad_request", f"malformed old size line {old_line!r}", status=400)
    if not digits(old_text) or len(proof_lines) > MAX_PROOF_LINES:
        raise WitnessRefusal("bad_request", "malformed old size or too long a proof", status=400)
    try:
        proof = [_b64decode(line, "proof hash") for line in proof_lines]
    except WitnessError as e:
        raise WitnessRefusal("bad_request", str(e), status=400) from None
    return int(old_text), proof, note


@dataclass(frozen=True, slots=True)
class WitnessState:
    """The latest checkpoint a witness cosigned: its size, root, full signed text and time."""

    origin: str
    size: int
    root: bytes
    signed_text: str
    cosigned_at: int


class Witness:
    """A witness living in a folder of its own (never the ledger's database).

    Layout: ``witness.key`` (0600), ``witness.name``, ``log.vkeys`` (the log keys it trusts),
    ``state.json`` (origin and the latest cosigned checkpoint), ``state.lock``.

    Raises:
        WitnessError: on construction, if the folder is not an initialised witness.
    """

    def __init__(self, home: str | os.PathLike[str]) -> None:
        self.home = Path(home)
        try:
            name = (self.home / _NAME_FILE).read_text(encoding="utf-8").strip()
            self.log_vkeys = (self.home / _LOGS_FILE).read_text(encoding="utf-8").split()
            state = json.loads((self.home / _STATE_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise WitnessError(
                f"{self.home} is not a witness folder (run witness init): {e}"
            ) from e
        self.key = CosignerKey.from_pem_file(self.home / _KEY_FILE, name)
        self.origin: str = state["origin"]

    @classmethod
    def init(
        cls, home: str | os.PathLike[str], name: str, log_vkeys: Sequence[str], origin: str
    ) -> Witness:
        """Create a witness: a new key, the log keys it trusts, and an empty state for `origin`.

        Raises:
            FileExistsError: if the folder already holds a witness key (never overwritten).
            WitnessError, CheckpointError: for a bad name or a log vkey that does not parse.
        """
        if not log_vkeys:
            raise WitnessError("a witness needs at least one trusted log key")
        for vkey in log_vkeys:  # refused now, not at the first cosign
            parse_vkey(vkey)
        folder = Path(home)
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = CosignerKey.generate(name)
        key.to_pem_file(folder / _KEY_FILE)
        (folder / _NAME_FILE).write_text(name + "\n", encoding="utf-8")
        (folder / _LOGS_FILE).write_text("".join(v + "\n" for v in log_vkeys), encoding="utf-8")
        _write_json(folder / _STATE_FILE, {"origin": origin, "latest": None})
        return cls(folder)

    def latest(self) -> WitnessState | None:
        """The latest checkpoint this witness cosigned, or None."""
        data = json.loads((self.home / _STATE_FILE).read_text(encoding="utf-8"))
        latest = data.get("latest")
        if latest is None:
            return None
        return WitnessState(
            data["origin"],
            int(latest["size"]),
            base64.b64decode(latest["root"]),
            latest["signed_text"],
            int(latest["cosigned_at"]),
        )

    def add_checkpoint(self, request_body: str, *, now: int | None = None) -> str:
        """Answer a tlog-witness add-checkpoint request: the cosignature line, newline-ended.

        Raises:
            WitnessRefusal: codes `bad_request` (400), `checkpoint_untrusted` (403),
                `unknown_origin` (404), `old_size_mismatch` (409, `latest_size` set),
                `split_view` (409 equal sizes, 422 otherwise: the checkpoint is not consistent
                with the one this witness cosigned before).
        """
        old_size, proof, note = _parse_request(request_body)
        try:
            checkpoint, _ = parse_signed_checkpoint(note)
        except CheckpointError as e:
            raise WitnessRefusal("bad_request", str(e), status=400) from None
        if checkpoint.origin != self.origin:
            raise WitnessRefusal(
                "unknown_origin",
                f"this witness watches {self.origin!r}, not {checkpoint.origin!r}",
                status=404,
            )
        try:
            verify_checkpoint(note, self.log_vkeys, origin=self.origin)
        except CheckpointError as e:
            raise WitnessRefusal("checkpoint_untrusted", str(e), status=403) from None
        if old_size > checkpoint.size:
            raise WitnessRefusal(
                "bad_request",
                f"the checkpoint has size {checkpoint.size}, smaller than the old size "
                f"{old_size}: a log never shrinks (was it rolled back?); refusing to cosign",
                status=400,
            )
        with self._locked():
            latest = self.latest()
            self._check_extends(latest, old_size, proof, checkpoint)
            t = int(time.time()) if now is None else now
            line = self.key.cosign(checkpoint, t)
            state = {
                "origin": self.origin,
                "latest": {
                    "size": checkpoint.size,
                    "root": _b64(checkpoint.root),
                    "signed_text": note,
                    "cosigned_at": t,
                },
            }
            _write_json(self.home / _STATE_FILE, state)
        return line + "\n"

    @staticmethod
    def _check_extends(
        latest: WitnessState | None, old_size: int, proof: Sequence[bytes], new: Checkpoint
    ) -> None:
        known = 0 if latest is None else latest.size
        if old_size != known:
            raise WitnessRefusal(
                "old_size_mismatch",
                f"the request is from size {old_size} but this witness last cosigned size {known}",
                status=409,
                latest_size=known,
            )
        if latest is None:
            if proof:
                raise WitnessRefusal("bad_request", "a proof from size 0 must be empty", status=400)
            return
        if new.size < latest.size:  # pragma: no cover - old_size <= new.size was checked
            raise WitnessRefusal("bad_request", "the checkpoint is older", status=400)
        if not verify_consistency(latest.size, new.size, latest.root, new.root, proof):
            raise WitnessRefusal(
                "split_view",
                f"split view: checkpoint size {new.size} root {_b64(new.root)} is not consistent "
                f"with checkpoint size {latest.size} root {_b64(latest.root)} that this witness "
                f"cosigned at {latest.cosigned_at}; refusing to cosign",
                status=409 if new.size == latest.size else 422,
            )

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        fd = os.open(self.home / _LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.name == "posix":
                import fcntl

                fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)


def _write_json(path: Path, data: object) -> None:
    # Written beside and renamed over: a crash leaves the old state or the new, never half.
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def configured_witnesses(home: str | os.PathLike[str]) -> list[str]:
    """The witness vkeys the service accepts cosignatures from: ``home/keys/witnesses.vkeys``."""
    path = Path(home) / "keys" / WITNESSES_FILE
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]
