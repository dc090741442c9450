"""`huiquan deliver`: send the queued receipt emails and webhooks (one pass, or --loop).

`huiquan serve` runs the same worker in its housekeeping process; this command is for a
deployment that runs it apart, or to push the queue by hand. Settings are read from the
environment (`HUIQUAN_SMTP_*`, `HUIQUAN_DELIVERY_*`, `HUIQUAN_PUBLIC_BASE_URL`; see
docs/configuration.md). Several workers may run at once: each message is leased to one.
"""

from __future__ import annotations

import click

from cli.context import Books, pass_books

__all__ = ["deliver_command"]


@click.command("deliver")
@click.option("--loop", is_flag=True, help="Keep delivering until interrupted (Ctrl-C).")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1),
    default=5.0,
    show_default=True,
    help="With --loop: seconds between passes when the queue is idle.",
)
@pass_books
def deliver_command(books: Books, loop: bool, interval: float) -> None:
    """Send due receipt emails and webhooks, retrying failures with backoff.

    One pass prints what it did: sent, failed (retried later), bounced (refused for good by
    the mail server), dead (dead-lettered after the last retry). Email waits in the queue
    while HUIQUAN_SMTP_HOST is unset.
    """
    import threading

    from usecases.books import open_books
    from usecases.delivery import deliver_once, delivery_settings, run_loop

    try:
        settings = delivery_settings()
    except ValueError as err:
        raise click.ClickException(str(err)) from err
    ledger_books = open_books(books.engine, books.home, group_commit_max=1)
    if not loop:
        done = deliver_once(ledger_books, settings)
        click.echo(
            f"delivered: {done.sent} sent, {done.failed} failed, {done.bounced} bounced, "
            f"{done.dead} dead-lettered"
            + ("" if settings.smtp else " (email waits: HUIQUAN_SMTP_HOST is not set)")
        )
        return
    click.echo(f"delivering every {interval:g} s when idle; Ctrl-C stops it")
    stop = threading.Event()
    try:
        run_loop(ledger_books, settings, interval=interval, stop=stop)
    except KeyboardInterrupt:
        stop.set()
