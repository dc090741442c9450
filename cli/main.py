"""The `huiquan` command line: set up, load, inspect, verify and serve the books.

Every command works on one database: `--database-url` (before or after the command name), else
`$HUIQUAN_DATABASE_URL`, else the embedded SQLite file `$HUIQUAN_HOME/huiquan.db` (`--home` or
`$HUIQUAN_HOME`, default `./var`). Amounts are printed as decimal strings, never floats.

Invariants owned here:
- A failure prints exactly one line, `error: <message>`, on stderr and exits non-zero (1 for
  refused or failed work, 2 for a usage mistake); no traceback reaches the user unless
  `HUIQUAN_DEBUG=1` is set (`cli.context.HuiquanGroup`). Reports that are the command's answer
  (verify findings, an import's line-numbered problems) are printed before that line.
- Commands never print beneficiaries' personal data, nor a token after its creation.
- This module only assembles the group: each command lives in its module (`COMMANDS`), which
  imports the shared context from `cli.context` and never this module. A command's module is
  imported when the command is looked up, so `huiquan balance` loads `cli.books` alone; the
  commands import the ledger, documents and audits when they run. `huiquan --version` and
  `--help` load no database or web library.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING

import click

from cli.context import Books, HuiquanGroup, ensure_pseudonym_key, pass_books

if TYPE_CHECKING:  # the modules COMMANDS names, for readers and the import contracts
    from cli import (  # noqa: F401
        approvals,
        audit,
        backup,
        books,
        demo,
        evidence,
        imports,
        issuers,
        programmes,
        receipts,
        reconcile,
        roles,
        serve,
        tokens,
        users,
        witness,
    )

__all__ = ["COMMANDS", "Books", "cli", "ensure_pseudonym_key", "main", "pass_books"]

#: Every command of the group: its name, and the module and attribute that define it.
COMMANDS = {
    "approvals": "cli.approvals:approvals_group",
    "audit": "cli.audit:audit_group",
    "backup": "cli.backup:backup_command",
    "balance": "cli.books:balance",
    "checkpoint": "cli.audit:checkpoint_command",
    "chief": "cli.programmes:chief_group",
    "close-period": "cli.books:close_period_command",
    "demo": "cli.demo:demo",
    "evidence": "cli.evidence:evidence_group",
    "depreciate": "cli.audit:depreciate_command",
    "export": "cli.audit:export_group",
    "import": "cli.imports:import_command",
    "init": "cli.books:init",
    "issuer": "cli.issuers:issuer_group",
    "keys": "cli.backup:keys_group",
    "policy": "cli.approvals:policy",
    "receipt": "cli.receipts:receipt",
    "reconcile": "cli.reconcile:reconcile_command",
    "restore": "cli.backup:restore_command",
    "serve": "cli.serve:serve",
    "service-role": "cli.roles:service_role_command",
    "statement": "cli.audit:statement_command",
    "token": "cli.tokens:token",
    "trial-balance": "cli.books:trial_balance_command",
    "user": "cli.users:user",
    "verify": "cli.books:verify",
    "witness": "cli.witness:witness_group",
}


class _Huiquan(HuiquanGroup):
    """The `huiquan` group: commands added in code, then those of `COMMANDS`, loaded on use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in COMMANDS:
            module, _colon, name = COMMANDS[cmd_name].partition(":")
            command = getattr(importlib.import_module(module), name)
        return command


@click.group(cls=_Huiquan, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--database-url",
    envvar="HUIQUAN_DATABASE_URL",
    metavar="URL",
    default=None,
    help="SQLAlchemy URL of the books, e.g. postgresql+psycopg://user@host/db "
    "[env HUIQUAN_DATABASE_URL; default sqlite:///$HUIQUAN_HOME/huiquan.db].",
)
@click.option(
    "--home",
    envvar="HUIQUAN_HOME",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder of the embedded database and the pseudonym key [env HUIQUAN_HOME; default ./var].",
)
@click.version_option(package_name="huiquan-ledger", prog_name="huiquan")
@click.pass_context
def cli(ctx: click.Context, database_url: str | None, home: Path | None) -> None:
    """Huiquan Ledger: append-only, double-entry fund books for a community charity.

    Start with `huiquan init`, load sample books with `huiquan demo`, then read them with
    `balance`, `trial-balance` and `verify`. Failures print one `error:` line and exit non-zero.
    """
    ctx.obj = Books(database_url, home)
    ctx.call_on_close(ctx.obj.dispose)


def main() -> None:
    """Console-script entry point (`huiquan`)."""
    cli.main(prog_name="huiquan")


if __name__ == "__main__":
    main()
