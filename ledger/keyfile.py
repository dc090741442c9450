"""Secret key files: 32 random bytes, mode 0600, made once.

Invariants owned here:
- A key file is created atomically: a private temporary file (O_EXCL, 0600) hard-linked into
  place, so processes that race to create it all end up reading the same key, and no process
  ever reads a half-written one.
- An existing file is never overwritten; a file of the wrong size is refused, never "repaired".
"""

from __future__ import annotations

import os
import secrets
import uuid
from pathlib import Path

__all__ = ["EXPORT_MARKER", "KEY_BYTES", "keys_exported", "secret_key_file"]

KEY_BYTES = 32
#: The file `huiquan keys export` leaves in the home, with the date the keys were exported.
EXPORT_MARKER = "keys-exported"


def secret_key_file(path: Path, *, minimum: int = KEY_BYTES, folder_mode: int = 0o700) -> bytes:
    """The bytes of the key file `path`, creating it with `KEY_BYTES` random bytes if missing.

    Raises:
        RuntimeError: when the file holds fewer than `minimum` bytes.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=folder_mode)
        temporary = path.parent / f".{path.stem}.{os.getpid()}.{uuid.uuid4().hex}.tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(secrets.token_bytes(KEY_BYTES))
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            temporary.unlink(missing_ok=True)
    key = path.read_bytes()
    if len(key) < minimum:
        raise RuntimeError(f"{path} holds fewer than {minimum} bytes; refusing a weak key")
    return key


def keys_exported(home: Path) -> bool:
    """Whether the home's keys were ever exported for safekeeping (its marker file exists)."""
    return (home / EXPORT_MARKER).is_file()
