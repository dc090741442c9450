"""The checkpoint signing key: generated at init, kept outside the database, rotatable.

Layout under ``$HUIQUAN_HOME/keys/``::

    checkpoint.key     the current Ed25519 private key, PKCS#8 PEM, mode 0600
    checkpoint.name    its C2SP key name (one line)
    trusted.vkeys      every verifier key ever used to sign, oldest first, one per line
    retired/           private keys taken out of service by `rotate_key` (mode 0600)

Invariants owned here:
- A signing key is never overwritten: `ensure_signing_key` creates one only when none exists,
  and `rotate_key` moves the old one to ``retired/`` before writing the new one.
- ``trusted.vkeys`` only ever grows: rotation appends the new key's vkey and keeps the old ones,
  so checkpoints signed before a rotation still verify.
- The key folder is created with mode 0700; key files with 0600 (`SigningKey.to_pem_file`), and
  a key file readable by others is refused on load.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from ledger.tlog.checkpoints import SigningKey

__all__ = [
    "KEY_FILE",
    "NAME_FILE",
    "TRUSTED_FILE",
    "ensure_signing_key",
    "rotate_key",
    "trusted_vkeys",
]

KEY_FILE = "checkpoint.key"
NAME_FILE = "checkpoint.name"
TRUSTED_FILE = "trusted.vkeys"
DEFAULT_KEY_PREFIX = "huiquan-ledger"


def _keys_dir(home: str | os.PathLike[str]) -> Path:
    folder = Path(home) / "keys"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def _new_name(prefix: str) -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{prefix}-{stamp}"


def _append_trusted(folder: Path, vkey: str) -> None:
    path = folder / TRUSTED_FILE
    present = path.read_text(encoding="utf-8").split() if path.exists() else []
    if vkey not in present:
        with path.open("a", encoding="utf-8") as f:
            f.write(vkey + "\n")


def ensure_signing_key(
    home: str | os.PathLike[str], *, prefix: str = DEFAULT_KEY_PREFIX
) -> SigningKey:
    """Load the current signing key from ``home/keys``, creating one if there is none.

    Raises:
        CheckpointError: if the key file is unreadable as a key or readable by others.
    """
    folder = _keys_dir(home)
    key_path, name_path = folder / KEY_FILE, folder / NAME_FILE
    if key_path.exists():
        name = name_path.read_text(encoding="utf-8").strip()
        key = SigningKey.from_pem_file(key_path, name)
    else:
        key = SigningKey.generate(_new_name(prefix))
        key.to_pem_file(key_path)
        name_path.write_text(key.name + "\n", encoding="utf-8")
    _append_trusted(folder, key.vkey)
    return key


def rotate_key(home: str | os.PathLike[str], *, prefix: str = DEFAULT_KEY_PREFIX) -> SigningKey:
    """Retire the current key and start signing with a new one; old vkeys stay trusted.

    Raises:
        CheckpointError: if the current key cannot be loaded.
    """
    folder = _keys_dir(home)
    old = ensure_signing_key(home, prefix=prefix)
    retired = folder / "retired"
    retired.mkdir(exist_ok=True, mode=0o700)
    (folder / KEY_FILE).rename(retired / f"{old.name}-{old.key_hash.hex()}.key")
    new = SigningKey.generate(_new_name(prefix))
    if new.name == old.name:  # pragma: no cover - the stamp has microseconds
        new = SigningKey.generate(new.name + "b")
    new.to_pem_file(folder / KEY_FILE)
    (folder / NAME_FILE).write_text(new.name + "\n", encoding="utf-8")
    _append_trusted(folder, new.vkey)
    return new


def trusted_vkeys(home: str | os.PathLike[str]) -> list[str]:
    """Every verifier key in ``home/keys/trusted.vkeys`` (old and current), oldest first."""
    path = Path(home) / "keys" / TRUSTED_FILE
    if not path.exists():
        return []
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
