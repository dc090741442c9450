"""What every `huiquan` command shares: the books it works on, one-line errors, the audit record.

Every command module imports this one and none imports another command module's group, so
the package has no cycle: `cli.main` assembles the group from the modules.

Invariants owned here:
- A failure prints exactly one line, `error: <message>`, on stderr and exits non-zero (1 for
  refused or failed work, 2 for a usage mistake); no traceback reaches the user unless
  `HUIQUAN_DEBUG=1` is set.
- An audit event is recorded for a command only when the command ran and went on to change
  state: it says so itself (`changes_state`, or `record_change()` at the point where a command
  that may only read starts to write). Help, usage mistakes and read-only runs record nothing;
  a command that started a change and failed records a "refused" event.
- Text an option or argument puts into the books is `CLEAN_TEXT` (or `CleanText(multiline=True)`
  for a memo or reason): what `ledger.text.text_problem` refuses is a usage error (exit 2) before
  the command runs. The maker's login name, which the command line does not choose, goes in
  with any control character made visible.
- Importing this module costs click alone: SQLAlchemy and the ledger are imported when a
  command needs them (`huiquan --version` stays fast).
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from sqlalchemy import Engine

__all__ = [
    "CLEAN_TEXT",
    "KEY_FILE",
    "Books",
    "CleanText",
    "HuiquanGroup",
    "changes_state",
    "current_maker",
    "ensure_pseudonym_key",
    "pass_books",
    "record_change",
]

F = TypeVar("F", bound=Callable[..., Any])
KEY_FILE = "pseudonym.key"
_CHANGE = "huiquan.change"  # ctx.meta key: (books, action) of a command that changes state


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
        from sqlalchemy.engine import make_url

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


# -- clean text ---------------------------------------------------------------------------------
class CleanText(click.ParamType):
    """An option's text as the books accept it (`ledger.text.text_problem`): no control
    characters (tab and LF only with `multiline`), no lone surrogates."""

    name = "text"

    def __init__(self, *, multiline: bool = False) -> None:
        self.multiline = multiline

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from ledger.text import text_problem

        text = str(value)
        problem = text_problem(text, multiline=self.multiline)
        if problem is not None:
            self.fail(problem, param, ctx)
        return text


CLEAN_TEXT = CleanText()


# -- the audit record of state changes ----------------------------------------------------------
def record_change(action: str) -> None:
    """Say that the running command now changes state: an event `huiquan <action>` is recorded
    when it ends ("success" or, if it fails from here on, "refused")."""
    ctx = click.get_current_context()
    books = ctx.find_object(Books)
    if books is not None:
        ctx.meta[_CHANGE] = (books, action)


def changes_state(action: str) -> Callable[[F], F]:
    """Decorate a command callback that always changes state when it runs (see `record_change`).

    Put it under `pass_books` (nearer the function), so it runs only once the command runs.
    """

    def decorate(f: F) -> F:
        @functools.wraps(f)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            record_change(action)
            return f(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def current_maker() -> str:
    """Who is at the keyboard, as the books name a CLI maker: `cli:<login>`."""
    try:
        import getpass

        login = getpass.getuser()
    except Exception:  # no login name (containers): still say it came from the CLI
        return "cli"
    from ledger.text import visible

    return f"cli:{visible(login, multiline=False)}"


def _record(books: Books, action: str, code: int) -> None:
    """Append the audit event of a state-changing command, accepted or refused.

    The CLI records after the command (in its own transaction): unlike the API, whose events
    commit with the change, a crash between the two could lose a CLI event. Never the
    arguments' values: they may name files or people.
    """
    try:
        from ledger.storage.db import make_engine
        from ledger.storage.unit_of_work import UnitOfWork
        from ledger.trail import record_event

        engine = make_engine(books.url)
        try:
            with UnitOfWork(engine) as uow:
                record_event(
                    uow.connection,
                    actor=current_maker(),
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


# -- one-line errors ----------------------------------------------------------------------------
def _one_line(text: str) -> str:
    first = next((line.strip() for line in str(text).splitlines() if line.strip()), "")
    return first or "unknown error"


def _database_message(exc: Exception) -> str:
    from sqlalchemy.exc import OperationalError

    orig = getattr(exc, "orig", None)
    detail = _one_line(str(orig) if orig is not None else str(exc))
    lowered = detail.lower()
    if "no such table" in lowered or ("relation" in lowered and "does not exist" in lowered):
        return f"the database is not initialised ({detail}); run `huiquan init` first"
    if isinstance(exc, OperationalError):
        return f"database error: {detail}"
    return f"database refused the operation: {detail}"


def _is_database_error(exc: Exception) -> bool:
    # Only code that imported SQLAlchemy can raise its errors: no need to import it to check.
    errors = sys.modules.get("sqlalchemy.exc")
    return errors is not None and isinstance(exc, errors.SQLAlchemyError)


def _message(exc: Exception) -> tuple[str, int] | None:
    """The one line and exit code for a failure of the work itself; None when unexpected."""
    from ledger.errors import LedgerError

    if isinstance(exc, LedgerError):
        return _one_line(exc.message), 1
    if _is_database_error(exc):
        return _database_message(exc), 1
    if isinstance(exc, OSError):
        return _one_line(f"{exc.strerror or exc}: {exc.filename or ''}"), 1
    return None


class HuiquanGroup(click.Group):
    """A click group whose failures are one `error:` line on stderr, never a traceback, and
    which records the audit event of a command that changed state."""

    _change: tuple[Books, str] | None = None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        finally:
            self._change = ctx.meta.get(_CHANGE)

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
        self._change = None
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
        except Exception as exc:  # the last line of defence: no traceback
            known = _message(exc)
            if known is None and os.environ.get("HUIQUAN_DEBUG"):
                raise
            message, status = known or (
                f"internal error: {type(exc).__name__}: {_one_line(str(exc))}",
                1,
            )
            code = self._fail(message, status)
        change, self._change = self._change, None
        if change is not None:
            _record(*change, code)
        if standalone_mode:
            sys.exit(code)
        return code

    @staticmethod
    def _fail(message: str, code: int) -> int:
        click.echo(f"error: {message}", err=True)
        return code or 1


# -- the pseudonym key --------------------------------------------------------------------------
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
            from ledger.errors import LedgerError

            raise LedgerError(f"{path} is not a 32-byte key; restore it from backup") from None
        return secret, False
    secret = os.urandom(32)
    with os.fdopen(fd, "wb") as handle:
        handle.write(secret)
    os.chmod(path, 0o600)
    return secret, True
