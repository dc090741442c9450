"""Names of the environment variables the use cases read (importing this module costs nothing,
so command-line options can name them in `--help` without loading the use cases)."""

from __future__ import annotations

__all__ = ["PASSPHRASE_ENV"]

#: The passphrase of backup archives and exported key files.
PASSPHRASE_ENV = "HUIQUAN_BACKUP_PASSPHRASE"  # noqa: S105 - a variable's name
