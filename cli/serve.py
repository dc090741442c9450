"""`huiquan serve`: run the HTTP API under gunicorn.

The command line does not import the API: like `gunicorn api.wsgi:app`, it names the WSGI
application (`WSGI_APP`) and gunicorn's workers load it, so `cli` and `api` stay two separate
entrances over the same use cases.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from cli.context import Books, pass_books

__all__ = ["WSGI_APP", "serve"]

#: The application the workers serve, as gunicorn names it.
WSGI_APP = "web.wsgi:app"


def _gunicorn_app(options: dict[str, Any]) -> Any:
    from gunicorn.app.base import BaseApplication

    class HuiquanServer(BaseApplication):  # type: ignore[misc]
        """gunicorn serving `api.wsgi:app` with the options given on the command line."""

        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            from gunicorn.util import import_app

            return import_app(WSGI_APP)

    return HuiquanServer()


def _connection_limit(books: Books) -> tuple[int, int] | None:
    """PostgreSQL's (max_connections, superuser_reserved_connections); None elsewhere or
    when it cannot be read."""
    from sqlalchemy.engine import make_url

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


@click.command()
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
@click.option(
    "--checkpoint-interval",
    type=click.IntRange(min=1),
    envvar="HUIQUAN_CHECKPOINT_INTERVAL",
    default=60,
    show_default=True,
    help="Sign a checkpoint when new entries exist, at most every this many seconds "
    "[env HUIQUAN_CHECKPOINT_INTERVAL].",
)
@click.option(
    "--backup-every",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="HOURS",
    help="Write an encrypted backup every HOURS into --backup-dir, drill it, keep the last "
    "--backup-keep (needs HUIQUAN_BACKUP_PASSPHRASE).",
)
@click.option(
    "--backup-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder of the scheduled backups [default $HUIQUAN_HOME/backups].",
)
@click.option(
    "--backup-keep",
    type=click.IntRange(min=1),
    default=7,
    show_default=True,
    help="Scheduled backups to keep.",
)
@pass_books
def serve(
    books: Books,
    bind: str,
    workers: int,
    threads: int,
    timeout: int,
    checkpoint_interval: int,
    backup_every: float | None,
    backup_dir: Path | None,
    backup_keep: int,
) -> None:
    """Serve the HTTP API (api.wsgi:app) with gunicorn on BIND.

    The database URL is handed to the workers as HUIQUAN_DATABASE_URL (and HUIQUAN_HOME), and
    THREADS as HUIQUAN_DB_POOL_SIZE: each worker's pool keeps a connection per thread. On
    PostgreSQL it warns when WORKERS x THREADS is more than the server's connections allow.

    Beside the workers, one housekeeping process signs a checkpoint whenever new entries exist,
    at most every --checkpoint-interval seconds (so every entry is provable, and a deleted tail
    is caught, within that window), and with --backup-every writes and drills backups. It
    also sends the queued receipt emails and webhooks (the `huiquan deliver --loop` worker;
    settings HUIQUAN_SMTP_* and HUIQUAN_DELIVERY_*).
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
    if backup_every is not None:
        from usecases.environment import PASSPHRASE_ENV

        if not os.environ.get(PASSPHRASE_ENV):
            raise click.ClickException(f"--backup-every needs ${PASSPHRASE_ENV}")
    housekeeping = _start_housekeeping(
        books,
        checkpoint_interval,
        backup_every,
        backup_dir or books.home / "backups",
        backup_keep,
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
    try:
        server.run()
    finally:
        housekeeping.terminate()
        housekeeping.join(timeout=10)


def _housekeeping(
    home: str, url: str, interval: int, backup_every: float | None, folder: str, keep: int
) -> None:
    """The housekeeping process: scheduled checkpoints, the delivery worker, and scheduled
    backups if asked."""
    from ledger.storage.db import make_engine
    from usecases.checkpoints import CheckpointScheduler

    engine = make_engine(url)
    scheduler = CheckpointScheduler(engine, Path(home), interval)
    scheduler.start()
    _start_delivery(engine, Path(home))
    if backup_every is not None:
        from usecases.backup import run_scheduled_backups

        run_scheduled_backups(Path(home), url, Path(folder), backup_every, keep)
    scheduler.join()


def _start_delivery(engine: Any, home: Path, *, interval: float = 5.0) -> Any:
    """Run the delivery worker in a daemon thread of the housekeeping process (it ends with
    it); its stop event, or None when bad settings (reported once) leave the queue waiting."""
    import threading

    from usecases.books import open_books
    from usecases.delivery import delivery_settings, run_loop

    try:
        settings = delivery_settings()
    except ValueError as err:
        click.echo(f"warning: delivery is off: {err}", err=True)
        return None
    books = open_books(engine, home, group_commit_max=1)
    stop = threading.Event()
    threading.Thread(
        target=run_loop,
        args=(books, settings),
        kwargs={"interval": interval, "stop": stop},
        name="huiquan-delivery",
        daemon=True,
    ).start()
    return stop


def _start_housekeeping(
    books: Books, interval: int, backup_every: float | None, folder: Path, keep: int
) -> Any:
    """Start `_housekeeping` in a process of its own: no thread in gunicorn's master, which
    forks the workers."""
    import multiprocessing

    process = multiprocessing.get_context("spawn").Process(
        target=_housekeeping,
        args=(str(books.home), books.url, interval, backup_every, str(folder), keep),
        name="huiquan-housekeeping",
        daemon=True,
    )
    process.start()
    return process
