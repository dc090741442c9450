"""Importing a CSV or JSONL file of operations: all of it or nothing, held to the approval policy.

The CLI (`huiquan import`) and the console's import page both call `import_operations`; the
importer itself (`ledger.importer`) validates and posts the rows in one unit of work.

Invariants owned here:
- A row that its fund's approval policy says needs an approver (a disbursement of 10,000 or
  more, a reversal of a disbursement, ...) refuses the whole file, naming its line: an import
  has no approver, so such an operation is requested one by one (API or console form).
- A rejected file posts nothing; every problem carries its line number (`ImportRejected`).
- The ledger's rules (cash, restricted net assets, award commitment, project budgets, fund
  purposes, payees, closed periods) are met row by row inside the importer, which posts through
  `ledger.services` like every other entrance. An over-budget payment has no column in a file:
  it is always refused (`over_budget`) and must be requested, with its reason.
- A committed import records one audit event (`import`, the file's name as target) when the
  caller hands in its facts.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ledger.importer import (
    ImportRejected,
    ImportResult,
    Problem,
    import_file,
    parse_rows,
    read_file,
)
from usecases.books import Books
from usecases.gate import import_refusals
from usecases.unit import AuditFacts, write

__all__ = ["ImportRejected", "ImportResult", "Problem", "import_operations"]

Progress = Callable[[str, int, int], None]


def hold_to_the_approval_policy(books: Books, file: Path, fmt: str | None) -> None:
    """Refuse the file if a row needs an approver (see the module docstring).

    Raises:
        ImportRejected: naming each such line.
    """
    commands, problems = parse_rows(read_file(file, fmt))
    if problems:
        return  # the importer reports malformed rows itself, with every line
    refused = [Problem(line, message) for line, message in import_refusals(books.engine, commands)]
    if refused:
        raise ImportRejected(refused)


def import_operations(
    books: Books,
    file: Path,
    fmt: str | None = None,
    *,
    maker: str,
    dry_run: bool = False,
    progress: Progress | None = None,
    audit: AuditFacts | None = None,
) -> ImportResult:
    """Post every row of `file` in one unit of work, or nothing.

    `progress(phase, total, advance)` is told of the posting (see `ledger.importer.import_file`).

    Raises:
        ImportRejected: line-numbered problems (malformed rows, refusals, rows needing approval);
        LedgerError: the file cannot be read.
    """
    hold_to_the_approval_policy(books, file, fmt)
    result = import_file(books.engine, file, fmt, maker=maker, dry_run=dry_run, progress=progress)
    if audit is not None and result.committed:
        write(books, lambda uow: None, audit=audit)
    return result
