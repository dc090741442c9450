"""The `huiquan` command line: set up, load, inspect, verify and serve the books.

Every command works on one database: `--database-url` (before or after the command name), else
`$HUIQUAN_DATABASE_URL`, else the embedded SQLite file `$HUIQUAN_HOME/huiquan.db` (`--home` or
`$HUIQUAN_HOME`, default `./var`). Amounts are printed as decimal strings, never floats.

Invariants owned here:
- A failure prints exactly one line, `error: <message>`, on stderr and exits non-zero (1 for
  refused or failed work, 2 for a usage mistake); no traceback reaches the user unless
  `HUIQUAN_DEBUG=1` is set. Reports that are the command's answer (verify findings, an import's
  line-numbered problems) are printed before that line.
- Commands never print beneficiaries' personal data, nor a token after its creation.

Other packages add commands to the `cli` group (receipts, audits, exports, checkpoints)::

    from cli.main import Books, cli, pass_books

    @cli.command()
    @pass_books
    def receipt(books: Books) -> None: ...
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from ledger.errors import LedgerError

__all__ = ["Books", "cli", "ensure_pseudonym_key", "main", "pass_books"]

F = TypeVar("F", bound=Callable[..., Any])
KEY_FILE = "pseudonym.key"


# -- the books a command works on ---------------------------------------------------------------
class Books:
    """Where the books live, with an engine made on first use and disposed at exit."""

    def __init__(self, url: str | None, home: Path | None) -> None:
        self._url = url
        self._home = home
        self._engine: Engine | None = None

    @property
    def home(self) -> Path:
        if self._home is not None:
            return self._home.resolve()
        from ledger.storage.db import default_home

        return default_home()

    @property
    def url(self) -> str:
        if self._url:
            return self._url
        return f"sqlite:///{self.home / 'huiquan.db'}"

    @property
    def display_url(self) -> str:
        """The URL without its password, for printing."""
        return make_url(self.url).render_as_string(hide_password=True)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from ledger.storage.db import make_engine

            self._engine = make_engine(self.url)
        return self._engine

    def override(self, url: str | None) -> None:
        if url:
            self.dispose()
            self._url = url

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def _database_option(f: F) -> F:
    return click.option(
        "--database-url",
        "command_url",
        metavar="URL",
        default=None,
        help="Database URL (overrides the one given before the command).",
    )(f)


def pass_books(f: F) -> F:
    """Decorate a command: accept `--database-url` and receive the `Books` as first argument."""

    @_database_option
    @click.pass_context
    def wrapper(ctx: click.Context, *args: Any, command_url: str | None, **kwargs: Any) -> Any:
        books = ctx.find_object(Books)
        if books is None:  # pragma: no cover - the group always sets it
            books = ctx.ensure_object(Books)
        books.override(command_url)
        return ctx.invoke(f, books, *args, **kwargs)

    wrapper.__name__ = f.__name__
    wrapper.__doc__ = f.__doc__
    return wrapper  # type: ignore[return-value]


# -- one-line errors ----------------------------------------------------------------------------
def _one_line(text: str) -> str:
    first = next((line.strip() for line in str(text).splitlines() if line.strip()), "")
    return first or "unknown error"


def _database_message(exc: SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None)
    detail = _one_line(str(orig) if orig is not None else str(exc))
    lowered = detail.lower()
    if "no such table" in lowered or ("relation" in lowered and "does not exist" in lowered):
        return f"the database is not initialised ({detail}); run `huiquan init` first"
    if isinstance(exc, OperationalError):
        return f"database error: {detail}"
    return f"database refused the operation: {detail}"


class HuiquanGroup(click.Group):
    """A click group whose failures are one `error:` line on stderr, never a traceback."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        code = 0
        argv = list(sys.argv[1:] if args is None else args)
        try:
            result = super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
            code = result if isinstance(result, int) else 0
        except click.exceptions.NoArgsIsHelpError as exc:
            click.echo(exc.ctx.get_help() if exc.ctx is not None else "")  # bare `huiquan`
        except click.UsageError as exc:
            hint = f" (try '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            code = self._fail(_one_line(exc.format_message()) + hint, exc.exit_code)
        except click.ClickException as exc:
            code = self._fail(_one_line(exc.format_message()), exc.exit_code)
        except click.Abort:
            code = self._fail("aborted", 1)
        except LedgerError as exc:
            code = self._fail(_one_line(exc.message), 1)
        except SQLAlchemyError as exc:
            code = self._fail(_database_message(exc), 1)
        except OSError as exc:
            code = self._fail(_one_line(f"{exc.strerror or exc}: {exc.filename or ''}"), 1)
        except Exception as exc:  # the last line of defence: no traceback
            if os.environ.get("HUIQUAN_DEBUG"):
                raise
            code = self._fail(f"internal error: {type(exc).__name__}: {_one_line(str(exc))}", 1)
        _audit(argv, code)
        if standalone_mode:
            sys.exit(code)
        return code

    @staticmethod
    def _fail(message: str, code: int) -> int:
        click.echo(f"error: {message}", err=True)
        return code or 1


# -- the audit trail of the CLI ------------------------------------------------------------------
_GROUPS = {"token", "receipt", "audit", "export"}
_WRITES = {"init", "demo", "import", "close-period", "token create", "token revoke", "checkpoint"}
_RUN: list[Books] = []


def _command_words(argv: Sequence[str]) -> str:
    words: list[str] = []
    items = iter(argv)
    for arg in items:
        if arg in ("--database-url", "--home"):
            next(items, None)
            continue
        if arg.startswith("-"):
            if words:
                break
            continue
        words.append(arg)
        if len(words) == 2 or words[0] not in _GROUPS:
            break
    return " ".join(words)


def _audit(argv: Sequence[str], code: int) -> None:
    """Append an audit event for a state-changing command, accepted or refused.

    The CLI records after the command (in its own transaction): unlike the API, whose events
    commit with the change, a crash between the two could lose a CLI event. Never the
    arguments' values: they may name files or people.
    """
    action = _command_words(argv)
    if action not in _WRITES or not _RUN:
        return
    books = _RUN.pop()
    try:
        from ledger.storage.db import make_engine
        from ledger.storage.unit_of_work import UnitOfWork
        from ledger.trail import record_event

        engine = make_engine(books.url)
        try:
            with UnitOfWork(engine) as uow:
                record_event(
                    uow.connection,
                    actor=_maker(),
                    role="cli",
                    action=f"huiquan {action}",
                    outcome="success" if code == 0 else "refused",
                    status=code,
                )
                uow.commit()
        finally:
            engine.dispose()
    except Exception:  # the books may not exist (a failed init): nothing to record into
        return


@click.group(cls=HuiquanGroup, context_settings={"help_option_names": ["-h", "--help"]})
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
    books = Books(database_url, home)
    ctx.obj = books
    _RUN[:] = [books]
    ctx.call_on_close(books.dispose)


def main() -> None:
    """Console-script entry point (`huiquan`)."""
    cli.main(prog_name="huiquan")


# -- helpers ------------------------------------------------------------------------------------
def _date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from exc


def _as_of_option(f: F) -> F:
    return click.option(
        "--as-of",
        metavar="DATE",
        default=None,
        help="Balances as of the end of this day (YYYY-MM-DD), from the journal; "
        "default: current balances.",
    )(f)


def _maker() -> str:
    try:
        import getpass

        return f"cli:{getpass.getuser()}"
    except Exception:  # no login name (containers): still say it came from the CLI
        return "cli"


def ensure_pseudonym_key(home: Path) -> tuple[bytes, bool]:
    """Read `$HUIQUAN_HOME/pseudonym.key`, creating it (32 random bytes, mode 0600) if missing.

    Returns the secret and whether it was created now.

    Raises:
        LedgerError: when the file exists but is not 32 bytes.
    """
    path = home / KEY_FILE
    home.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        secret = path.read_bytes()
        if len(secret) != 32:
            raise LedgerError(f"{path} is not a 32-byte key; restore it from backup") from None
        return secret, False
    secret = os.urandom(32)
    with os.fdopen(fd, "wb") as handle:
        handle.write(secret)
    os.chmod(path, 0o600)
    return secret, True


def _money(minor: int, currency: str = "CNY") -> str:
    from ledger.money import format_minor

    return format_minor(minor, currency)


def _side(minor: int, currency: str) -> str:
    if minor == 0:
        return _money(0, currency)
    return f"{_money(abs(minor), currency)} {'Dr' if minor > 0 else 'Cr'}"


def _table(
    title: str | None,
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    right: Sequence[int] = (),
) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    for n, name in enumerate(header):
        table.add_column(name, justify="right" if n in right else "left", no_wrap=n in right)
    for row in rows:
        table.add_row(*row)
    Console(width=max(120, _terminal_width())).print(table)


def _terminal_width() -> int:
    try:
        return os.get_terminal_size().columns
    except OSError:
        return 120


@contextmanager
def _progress(label: str, *, enabled: bool) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar on stderr (only when stderr is a terminal or when forced)."""
    if not enabled:
        yield lambda total, advance: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    progress = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    )
    task = progress.add_task(label, total=None)

    def update(total: int, advance: int) -> None:
        progress.update(task, total=total, advance=advance)

    with progress:
        yield update


def _progress_flag(f: F) -> F:
    return click.option(
        "--progress/--no-progress",
        default=None,
        help="Show a progress bar on stderr [default: when stderr is a terminal].",
    )(f)


def _want_progress(flag: bool | None) -> bool:
    return sys.stderr.isatty() if flag is None else flag


# -- init ---------------------------------------------------------------------------------------
@cli.command()
@pass_books
def init(books: Books) -> None:
    """Create or upgrade the schema, seed the chart of accounts, create the pseudonym key.

    Safe to run again: it only adds what is missing. The pseudonym key
    ($HUIQUAN_HOME/pseudonym.key, 32 random bytes, mode 0600) turns beneficiaries' identity
    numbers into the pseudonyms the books use; back it up, and never share it.
    """
    from alembic.runtime.migration import MigrationContext

    from ledger.storage import tables
    from ledger.storage.db import init_books

    engine = books.engine
    with engine.connect() as conn:
        before = MigrationContext.configure(conn).get_current_revision()
        accounts_before = (
            conn.scalar(select(func.count()).select_from(tables.accounts)) if before else 0
        )
    init_books(engine)
    with engine.connect() as conn:
        after = MigrationContext.configure(conn).get_current_revision()
        accounts = conn.scalar(select(func.count()).select_from(tables.accounts)) or 0
    click.echo(f"database: {books.display_url}")
    if before == after:
        click.echo(f"schema: already at revision {after}")
    else:
        click.echo(
            f"schema: {'upgraded from ' + before if before else 'created'} to revision {after}"
        )
    added = accounts - (accounts_before or 0)
    click.echo(f"chart of accounts: {accounts} accounts ({added} added)")
    _secret, created = ensure_pseudonym_key(books.home)
    path = books.home / KEY_FILE
    click.echo(f"pseudonym key: {'created' if created else 'kept'} {path} (mode 0600)")


# -- demo ---------------------------------------------------------------------------------------
@cli.command()
@click.option(
    "--if-empty", is_flag=True, help="Do nothing (and succeed) when the books already hold entries."
)
@click.option(
    "--seed",
    type=int,
    default=2024,
    show_default=True,
    help="Seed of the generator: the same seed gives the same operations.",
)
@click.option(
    "--base-url",
    default="http://127.0.0.1:8000",
    show_default=True,
    metavar="URL",
    help="Where the server will be reached: the base of the receipt links printed.",
)
@pass_books
def demo(books: Books, if_empty: bool, seed: int, base_url: str) -> None:
    """Load demo books built from the platform's real history (needs `huiquan init` first).

    Seven funds (锦炉爱心助学基金, 炉霍结对帮扶, 简阳镇金踏水结对帮扶, 女学教育基金, 华成助学金,
    失独家庭关爱, 锦基金), about fifty projects in 炉霍县 and 简阳市 镇金镇/踏水镇, local,
    democratic-party, returnee, Hong Kong, Macau, Taiwan and overseas donors (HKD, MOP, TWD, USD
    gifts with the day's rate and its source), pledges, in-kind surgical equipment, 131
    scholarship girls and about 320 students under pseudonyms, awards and payouts, fees,
    transfers and reversals: about 5,000 entries dated 2024-01 to 2026-10, in one transaction.
    Then every gift that stands gets its donor receipt, as through the API (a second
    transaction), and one receipt's link is printed.
    """
    from cli.demo import issue_demo_receipts, load_demo
    from ledger.storage.unit_of_work import read_only

    with read_only(books.engine) as repo:
        entries, _hash = repo.head()
    if entries:
        if if_empty:
            click.echo(f"the books already hold {entries} entries: demo not loaded")
            return
        raise LedgerError(
            f"the books already hold {entries} entries; the demo loads into empty books only "
            "(use --if-empty to skip quietly)"
        )
    secret, created = ensure_pseudonym_key(books.home)
    if created:
        click.echo(f"pseudonym key: created {books.home / KEY_FILE} (mode 0600)")
    result = load_demo(books.engine, secret=secret, seed=seed)
    click.echo(
        f"demo loaded into {books.display_url}: {result.entries} entries "
        f"(sequence {result.first_sequence}..{result.last_sequence}) in {result.seconds:.1f} s, "
        f"{result.funds} funds, {result.projects} projects, {result.donors} donors, "
        f"{result.beneficiaries} beneficiaries (pseudonymous), seed {seed}"
    )
    issued = issue_demo_receipts(books.url, home=books.home, secret=secret, base_url=base_url)
    if issued.sample is not None:
        click.echo(
            f"receipts: {issued.issued} issued ({issued.first} .. {issued.last}); "
            f"a donor's receipt: {issued.sample['url']} (PDF: {issued.sample['pdf_url']})"
        )
    _print_fund_summaries(books, None)
    _print_trial_balance_totals(books)


def _print_fund_summaries(books: Books, fund: str | None) -> None:
    from ledger.balances import fund_summary
    from ledger.storage.unit_of_work import read_only

    with read_only(books.engine) as repo:
        funds = [f for f in repo.list_funds() if fund is None or f.code == fund]
        summaries = [(f, fund_summary(repo, f.code)) for f in funds]
    rows = []
    for f, s in summaries:
        foreign = "\n".join(
            f"{c} {_money(v, c)}" for c, v in sorted(s.cash.items()) if c != "CNY" and v
        )
        rows.append(
            [
                f"{f.code}\n{f.name}",
                "restricted" if f.restricted else "unrestricted",
                _money(s.raised),
                _money(s.disbursed),
                _money(s.cash.get("CNY", 0)),
                foreign or "-",
                _money(s.pledges_receivable),
            ]
        )
    if rows:
        rows.append(
            [
                "TOTAL",
                "",
                _money(sum(s.raised for _f, s in summaries)),
                _money(sum(s.disbursed for _f, s in summaries)),
                _money(sum(s.cash.get("CNY", 0) for _f, s in summaries)),
                "",
                _money(sum(s.pledges_receivable for _f, s in summaries)),
            ]
        )
    _table(
        "Funds (CNY values; foreign cash in its own currency)",
        ["fund", "kind", "raised", "program spending", "cash CNY", "foreign cash", "pledges due"],
        rows,
        right=(2, 3, 4, 5, 6),
    )


def _print_trial_balance_totals(books: Books) -> None:
    from ledger.balances import trial_balance
    from ledger.storage.unit_of_work import read_only

    with read_only(books.engine) as repo:
        tb = trial_balance(repo)
    verdict = "equal" if tb.total_debit == tb.total_credit else "NOT EQUAL"
    click.echo(
        f"trial balance: debits {_money(tb.total_debit)} CNY, credits "
        f"{_money(tb.total_credit)} CNY ({verdict})"
    )


# -- balance ------------------------------------------------------------------------------------
@cli.command()
@click.option("--account", metavar="CODE", help="Account code, e.g. 1002-CNY, 4101-R, 5101.")
@click.option("--fund", metavar="CODE", help="Fund code.")
@click.option("--project", metavar="CODE", help="Project code.")
@click.option("--currency", metavar="ISO", help="Only postings in this currency.")
@_as_of_option
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@pass_books
def balance(
    books: Books,
    account: str | None,
    fund: str | None,
    project: str | None,
    currency: str | None,
    as_of: str | None,
    fmt: str,
) -> None:
    """Balances for any account / fund / project / currency filter, now or as of a date.

    Prints one line per account and currency (debit balances positive, shown Dr; credits
    negative, shown Cr), the total per currency and its CNY value. With --fund alone (and no
    --as-of) the fund's headline figures are shown too. JSON amounts are decimal strings.
    """
    from ledger.accounts import CHART
    from ledger.balances import balance_of, fund_summary
    from ledger.errors import UnknownAccount, UnknownFund, UnknownProject
    from ledger.money import check_currency
    from ledger.storage.unit_of_work import read_only

    on = _date(as_of)
    if currency:
        currency = check_currency(currency.upper())
    with read_only(books.engine) as repo:
        if account and repo.get_account(account) is None:
            raise UnknownAccount(f"no account {account!r}")
        if fund and repo.get_fund(fund) is None:
            raise UnknownFund(f"no fund {fund!r}")
        if project and repo.get_project(project) is None:
            raise UnknownProject(f"no project {project!r}")
        filters = {
            k: v
            for k, v in (
                ("account", account),
                ("fund", fund),
                ("project", project),
                ("currency", currency),
            )
            if v
        }
        if on is None:
            rows = repo.balances_where(**filters)
        else:
            rows = repo.balance_as_of(
                on, account=account, fund=fund, project=project, currency=currency
            )
        totals = balance_of(
            repo, account=account, fund=fund, project=project, currency=currency, as_of=on
        )
        summary = fund_summary(repo, fund) if fund and not (account or project or on) else None
    per: dict[tuple[str, str], list[int]] = {}
    for r in rows:
        cell = per.setdefault((r.account, r.currency), [0, 0])
        cell[0] += int(r.amount)
        cell[1] += int(r.functional)
    lines = [
        {
            "account": code,
            "name_cn": CHART[code].name_cn if code in CHART else code,
            "name_us": CHART[code].name_us if code in CHART else code,
            "currency": cur,
            "amount": _money(amount, cur),
            "cny_value": _money(value),
        }
        for (code, cur), (amount, value) in sorted(per.items())
        if amount or value
    ]
    total = {k: _money(v, "CNY" if k == "CNY-value" else k) for k, v in sorted(totals.items())}
    if fmt == "json":
        out: dict[str, Any] = {
            "filters": filters,
            "as_of": on.isoformat() if on else None,
            "by_account": lines,
            "total": total,
        }
        if summary is not None:
            out["fund_summary"] = {
                "fund": summary.fund,
                "cash": {c: _money(v, c) for c, v in sorted(summary.cash.items())},
                "pledges_receivable": _money(summary.pledges_receivable),
                "raised": _money(summary.raised),
                "disbursed": _money(summary.disbursed),
                "restricted_net_assets": _money(summary.restricted_net_assets),
                "unrestricted_net_assets": _money(summary.unrestricted_net_assets),
            }
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    what = ", ".join(f"{k} {v}" for k, v in filters.items()) or "all books"
    when = f"as of {on.isoformat()}" if on else "current"
    table_rows = [
        [
            ln["account"],
            ln["name_cn"],
            ln["currency"],
            _side(int(per[(ln["account"], ln["currency"])][0]), ln["currency"]),
            ln["cny_value"],
        ]
        for ln in lines
    ]
    for cur, _value in sorted(totals.items()):
        if cur == "CNY-value":
            continue
        table_rows.append(
            [
                "TOTAL",
                "",
                cur,
                _side(totals[cur], cur),
                _money(totals.get("CNY-value", 0)) if len(totals) == 2 else "",
            ]
        )
    if not lines:
        click.echo(f"no postings for {what} ({when})")
    else:
        _table(
            f"Balance: {what} ({when})",
            ["account", "name", "currency", "balance", "CNY value"],
            table_rows,
            right=(3, 4),
        )
    if summary is not None:
        cash = ", ".join(f"{_money(v, c)} {c}" for c, v in sorted(summary.cash.items())) or "0"
        click.echo(
            f"fund {summary.fund}: cash {cash}; raised {_money(summary.raised)} CNY; "
            f"program spending {_money(summary.disbursed)} CNY; pledges receivable "
            f"{_money(summary.pledges_receivable)} CNY; net assets with restrictions "
            f"{_money(summary.restricted_net_assets)} CNY, without "
            f"{_money(summary.unrestricted_net_assets)} CNY"
        )


# -- trial balance ------------------------------------------------------------------------------
@cli.command("trial-balance")
@_as_of_option
@click.option("--fund", metavar="CODE", help="Only this fund's books (each fund balances).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
)
@pass_books
def trial_balance_command(books: Books, as_of: str | None, fund: str | None, fmt: str) -> None:
    """Debit and credit per account in CNY, with a totals row; debits always equal credits.

    Amounts are decimal strings (CNY). Exits 1 if the totals differ (the books are damaged:
    run `huiquan verify`).
    """
    from ledger.balances import trial_balance
    from ledger.errors import UnknownFund
    from ledger.storage.unit_of_work import read_only

    on = _date(as_of)
    with read_only(books.engine) as repo:
        if fund and repo.get_fund(fund) is None:
            raise UnknownFund(f"no fund {fund!r}")
        tb = trial_balance(repo, as_of=on, fund=fund)
    rows = [
        [
            r.account,
            r.name_cn,
            r.name_us,
            _money(r.debit) if r.debit else "",
            _money(r.credit) if r.credit else "",
        ]
        for r in tb.rows
    ]
    totals = ["TOTAL", "", "", _money(tb.total_debit), _money(tb.total_credit)]
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "as_of": on.isoformat() if on else None,
                    "fund": fund,
                    "currency": "CNY",
                    "rows": [
                        {
                            "account": r.account,
                            "name_cn": r.name_cn,
                            "name_us": r.name_us,
                            "debit": _money(r.debit),
                            "credit": _money(r.credit),
                        }
                        for r in tb.rows
                    ],
                    "total_debit": _money(tb.total_debit),
                    "total_credit": _money(tb.total_credit),
                    "balanced": tb.total_debit == tb.total_credit,
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    elif fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["account", "name_cn", "name_us", "debit", "credit"])
        writer.writerows(rows)
        writer.writerow(totals)
        click.echo(buffer.getvalue(), nl=False)
    else:
        title = f"Trial balance (CNY){' as of ' + on.isoformat() if on else ''}"
        _table(
            title + (f", fund {fund}" if fund else ""),
            ["account", "科目", "label", "debit", "credit"],
            [*rows, totals],
            right=(3, 4),
        )
    if tb.total_debit != tb.total_credit:
        raise LedgerError("the trial balance does not balance; run `huiquan verify`")


# -- verify -------------------------------------------------------------------------------------
@cli.command()
@_progress_flag
@pass_books
def verify(books: Books, progress: bool | None) -> None:
    """Recompute the hash chain, the Merkle root, every entry's balance and the balances table.

    Prints entries checked, entries/s, the chain head and the Merkle root (compare it with a
    signed checkpoint). On any finding prints each, then "first bad sequence: N", and exits 1.
    """
    from ledger.integrity import verify_books
    from ledger.storage.unit_of_work import read_only

    started = time.perf_counter()
    with read_only(books.engine) as repo:
        total, _hash = repo.head()
        with _progress("verifying", enabled=_want_progress(progress)) as bar:
            seen = [0]

            def tick(done: int) -> None:
                bar(total, done - seen[0])
                seen[0] = done

            report = verify_books(repo, progress=tick)
        from ledger.trail import verify_trail

        trail = verify_trail(repo.conn)
    seconds = time.perf_counter() - started
    rate = report.entries / seconds if seconds > 0 else 0.0
    click.echo(
        f"entries checked: {report.entries} ({report.postings} postings) in "
        f"{seconds:.2f} s, {rate:,.0f} entries/s"
    )
    click.echo(f"head: sequence {report.head_sequence}, hash {report.head_hash}")
    click.echo(f"Merkle root: {report.merkle_root}")
    for finding in trail:
        click.echo(f"  audit trail: {finding}")
    if report.ok and not trail:
        click.echo("findings: none; the books and the audit trail verify")
        return
    if report.ok:
        raise LedgerError(f"the audit trail does not verify ({len(trail)} finding(s))")
    click.echo(f"findings: {len(report.findings)}")
    for finding in report.findings:
        click.echo(f"  {finding}")
    first = report.first_bad_sequence
    click.echo(f"first bad sequence: {first if first is not None else 'none (balances only)'}")
    raise LedgerError(f"the books do not verify ({len(report.findings)} finding(s))")


# -- close-period -------------------------------------------------------------------------------
@cli.command("close-period")
@click.argument("period")
@pass_books
def close_period_command(books: Books, period: str) -> None:
    """Close a month (YYYY-MM) or a year (YYYY): no entry may be dated inside it afterwards.

    Corrections of a closed period are reversals dated in the open period.
    """
    from ledger.services import close_period
    from ledger.storage.unit_of_work import UnitOfWork

    with UnitOfWork(books.engine) as uow:
        close_period(uow, period, by=_maker())
        uow.commit()
    click.echo(f"closed period {period}: entries dated inside it are refused from now on")


# -- import -------------------------------------------------------------------------------------
def _import_help() -> str:
    from ledger.importer import columns_help

    return (
        "Post a CSV or JSONL file of operations: all of it, or nothing.\n\n"
        "One operation per CSV row (header row first) or JSONL line (a JSON object). Column "
        "`op` names the operation; amounts are decimal strings, dates YYYY-MM-DD, currency "
        "defaults to CNY. Every row may carry `key` (idempotency key: rows posted before are "
        "not posted again) and `label` (a later row may write @label as pledge_id, award_id or "
        "entry_id to refer to what this row created).\n\n"
        "Every row is validated first (all malformed lines are reported); then the rows are "
        "posted in order in ONE transaction. If the ledger refuses any row, the rest are still "
        "tried as a dry run to report more problems (later ones may follow from the first), "
        "each with its line number, and nothing is committed.\n\n"
        "\b\n" + columns_help()
    )


@cli.command("import", help=_import_help())
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "jsonl"]),
    default=None,
    help="File format [default: from the extension: .csv, .jsonl/.ndjson].",
)
@click.option("--dry-run", is_flag=True, help="Validate and post, then roll back.")
@click.option("--maker", default=None, help="Who made these entries [default: cli:<user>].")
@click.option(
    "--max-problems", type=int, default=50, show_default=True, help="How many problems to print."
)
@_progress_flag
@pass_books
def import_command(
    books: Books,
    file: Path,
    fmt: str | None,
    dry_run: bool,
    maker: str | None,
    max_problems: int,
    progress: bool | None,
) -> None:
    from ledger.importer import ImportRejected, import_file

    try:
        with _progress(f"importing {file.name}", enabled=_want_progress(progress)) as bar:
            result = import_file(
                books.engine,
                file,
                fmt,
                maker=maker or _maker(),
                dry_run=dry_run,
                progress=lambda phase, total, n: bar(total, n) if phase == "posting" else None,
            )
    except ImportRejected as exc:
        for problem in exc.problems[:max_problems]:
            click.echo(str(problem), err=True)
        if exc.total > max_problems:
            click.echo(f"... and {exc.total - max_problems} more", err=True)
        raise
    verb = "would post" if dry_run else "posted"
    span = (
        f" (sequence {result.first_sequence}..{result.last_sequence})"
        if result.first_sequence
        else ""
    )
    click.echo(
        f"{verb} {result.entries} entries from {result.rows} rows{span}; "
        f"{result.replayed} rows were already posted (idempotency key); "
        f"{result.seconds:.2f} s, {result.entries_per_second:,.0f} entries/s"
        + ("; rolled back (dry run)" if dry_run else "")
    )


# -- tokens -------------------------------------------------------------------------------------
@cli.group()
def token() -> None:
    """API tokens: create (shown once), list, revoke."""


@token.command("create")
@click.option(
    "--role",
    type=click.Choice(["admin", "officer", "auditor"]),
    required=True,
    help="admin: everything; officer: records operations; auditor: reads and exports.",
)
@click.option("--name", required=True, help="A unique name for the token (who or what uses it).")
@pass_books
def token_create(books: Books, role: str, name: str) -> None:
    """Create a token and print it once; only its hash is stored."""
    from usecases.tokens import create_token

    secret = create_token(books.engine, role=role, name=name)
    click.echo(secret)
    click.echo(f"token {name!r} ({role}) created; store it now, it cannot be shown again", err=True)


@token.command("list")
@pass_books
def token_list(books: Books) -> None:
    """List tokens (names, roles, dates; never the secrets)."""
    from usecases.tokens import list_tokens

    tokens = list_tokens(books.engine)
    if not tokens:
        click.echo("no tokens")
        return
    _table(
        None,
        ["name", "role", "created", "revoked"],
        [[t.name, t.role, t.created_at, t.revoked_at or "-"] for t in tokens],
    )


@token.command("revoke")
@click.argument("name")
@pass_books
def token_revoke(books: Books, name: str) -> None:
    """Revoke the token called NAME; requests with it are refused from now on."""
    from usecases.tokens import revoke_token

    revoke_token(books.engine, name)
    click.echo(f"token {name!r} revoked")


# -- serve --------------------------------------------------------------------------------------
def _gunicorn_app(options: dict[str, Any]) -> Any:
    from gunicorn.app.base import BaseApplication

    class HuiquanServer(BaseApplication):  # type: ignore[misc]
        """gunicorn serving `api.wsgi:app` with the options given on the command line."""

        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            from api.wsgi import app

            return app

    return HuiquanServer()


def _connection_limit(books: Books) -> tuple[int, int] | None:
    """PostgreSQL's (max_connections, superuser_reserved_connections); None elsewhere or
    when it cannot be read."""
    if make_url(books.url).get_backend_name() != "postgresql":
        return None
    try:
        with books.engine.connect() as conn:
            limit = int(conn.exec_driver_sql("SHOW max_connections").scalar_one())
            reserved = int(conn.exec_driver_sql("SHOW superuser_reserved_connections").scalar_one())
    except Exception:
        return None
    return limit, reserved


def _connection_warning(workers: int, threads: int, limit: tuple[int, int] | None) -> str | None:
    """A warning when the workers' pools could ask PostgreSQL for more connections than it
    takes (each worker keeps one per thread); None when they fit or the limit is unknown."""
    if limit is None:
        return None
    most, reserved = limit
    wanted, usable = workers * threads, most - reserved
    if wanted <= usable:
        return None
    return (
        f"{workers} workers x {threads} threads may hold {wanted} PostgreSQL connections, but "
        f"the server takes {usable} (max_connections {most} - {reserved} reserved); under load "
        "requests would fail. Raise max_connections, or use fewer workers or threads."
    )


@cli.command()
@click.option(
    "--bind",
    default="127.0.0.1:8000",
    show_default=True,
    metavar="HOST:PORT",
    help="Address to listen on.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="gunicorn worker processes.",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=16,
    show_default=True,
    help="Threads per worker (gthread). Concurrent writes in one worker share a transaction "
    "(group commit), so more threads mean fewer, larger commits.",
)
@click.option(
    "--timeout",
    type=click.IntRange(min=1),
    default=60,
    show_default=True,
    help="Seconds before a silent worker is restarted.",
)
@pass_books
def serve(books: Books, bind: str, workers: int, threads: int, timeout: int) -> None:
    """Serve the HTTP API (api.wsgi:app) with gunicorn on BIND.

    The database URL is handed to the workers as HUIQUAN_DATABASE_URL (and HUIQUAN_HOME), and
    THREADS as HUIQUAN_DB_POOL_SIZE: each worker's pool keeps a connection per thread. On
    PostgreSQL it warns when WORKERS x THREADS is more than the server's connections allow.
    """
    os.environ["HUIQUAN_DATABASE_URL"] = books.url
    os.environ["HUIQUAN_HOME"] = str(books.home)
    os.environ["HUIQUAN_DB_POOL_SIZE"] = str(threads)  # a connection for each request thread
    warning = _connection_warning(workers, threads, _connection_limit(books))
    if warning:
        click.echo(f"warning: {warning}", err=True)
    books.dispose()
    click.echo(
        f"serving Huiquan Ledger on http://{bind} ({workers} workers x {threads} threads, "
        f"database {books.display_url}); Ctrl-C stops it"
    )
    server = _gunicorn_app(
        {
            "bind": bind,
            "workers": workers,
            "timeout": timeout,
            "proc_name": "huiquan",
            # gunicorn 27 shares one control socket per user: another server's could stop ours.
            "control_socket_disable": True,
            "worker_class": "gthread",
            "threads": threads,
            # Each worker listens on its own SO_REUSEPORT socket and the kernel spreads new
            # connections over them; on one shared socket, keep-alive clients tended to pile
            # onto one worker (measured: 14 of 16 connections) while the other idled. The
            # price: connections queued at a worker that dies are dropped, not handed over.
            "reuse_port": True,
        }
    )
    server.run()


# -- commands that live beside their packages ---------------------------------------------------
from cli.audit import register as _register_audit  # noqa: E402 - needs `cli` above
from cli.receipts import register as _register_receipts  # noqa: E402 - needs `cli` above

_register_audit(cli)
_register_receipts(cli)
