"""The `cosignatures` table: witnesses' cosignatures on the log's checkpoints (append-only).

Invariants owned here (the table is created, and guarded by append-only triggers, by migration
0003_cosignatures):
- One row per (checkpoint size, witness key): the witness's key name and 4-byte key id, the
  cosignature's own timestamp (`cosigned_at`, POSIX seconds), the whole line as received,
  and when it was received (`received_at`, ISO-8601 UTC).
- Rows are only ever inserted, after the use case has verified the line against a configured
  witness key (`usecases.checkpoints.add_cosignature`); UPDATE and DELETE raise.

This table belongs in `ledger.storage.tables` (same columns, on the shared `metadata`, and its
name in `JOURNAL_TABLES`); it has its own `MetaData` here only until that file takes it.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, MetaData, String, Table, Text

__all__ = ["cosignatures"]

_metadata = MetaData()

cosignatures = Table(
    "cosignatures",
    _metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("witness", String(200), primary_key=True),
    Column("key_id", String(8), primary_key=True),
    Column("cosigned_at", BigInteger, nullable=False),
    Column("line", Text, nullable=False),
    Column("received_at", String(32), nullable=False),
)
