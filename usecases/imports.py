"""Importing a file of operations: the one way in for files, held to the same controls.

Invariants owned here:
- Every route that imports a file of operations for a person (`huiquan import`, and any later
  entrance) calls `import_operations`; nothing else calls `ledger.importer.import_file`.
- The ledger's rules (cash, restricted net assets, award commitment, project budgets, fund
  purposes, payees, closed periods) are met row by row inside the importer, which posts through
  `ledger.services` like every other entrance. Maker-checker is met here, before anything is
  posted: a row that its fund's policy says needs an approver refuses the whole file, naming
  its line (`usecases.gate.import_refusals`), since a file has no checker; such an operation is
  requested through the API or the console instead. An over-budget payment has no column in a
  file: it is always refused (`over_budget`) and must be requested, with its reason.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ledger.importer import (
    ImportRejected,
    ImportResult,
    Problem,
    import_file,
    parse_rows,
    read_file,
)
from usecases.gate import import_refusals

__all__ = ["hold_to_the_approval_policy", "import_operations"]


def hold_to_the_approval_policy(engine: Any, path: Path, fmt: str | None = None) -> None:
    """Refuse the file if a row needs an approver (see the module docstring).

    Raises:
        ImportRejected: naming each such line.
    """
    commands, problems = parse_rows(read_file(path, fmt))
    if problems:
        return  # the importer reports malformed rows itself
    refused = [Problem(line, message) for line, message in import_refusals(engine, commands)]
    if refused:
        raise ImportRejected(refused)


def import_operations(
    engine: Any,
    path: Path,
    fmt: str | None = None,
    *,
    maker: str,
    dry_run: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
) -> ImportResult:
    """Post a file of operations, all of it or nothing, under every control.

    Raises:
        ImportRejected: a row needs approval, is malformed, or is refused by the ledger;
        LedgerError: the file cannot be read.
    """
    hold_to_the_approval_policy(engine, path, fmt)
    return import_file(engine, path, fmt, maker=maker, dry_run=dry_run, progress=progress)
