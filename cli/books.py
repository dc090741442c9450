"""`huiquan init`, `balance`, `trial-balance`, `verify`, `close-period`: set up and read the books.

Every command works on one database: `--database-url` (before or after the command name), else
`$HUIQUAN_DATABASE_URL`, else the embedded SQLite file `$HUIQUAN_HOME/huiquan.db`. Amounts are
printed as decimal strings, never floats. The read commands import the ledger's storage and
balances, and nothing of the web, template or PDF libraries.
"""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path
from typing import Any

import click

from cli.context import (
    KEY_FILE,
    Books,
    changes_state,
    current_maker,
    ensure_pseudonym_key,
    pass_books,
)
from cli.output import (
    as_of_option,
    money,
    parse_date,
    progress_bar,
    progress_flag,
    side,
    table,
    want_progress,
)
from cli.roles import apply_service_role, service_role_options
from ledger.errors import LedgerError

__all__ = [
    "balance",
    "close_period_command",
    "init",
    "print_fund_summaries",
    "print_trial_balance_totals",
    "trial_balance_command",
    "verify",
]


# -- init ---------------------------------------------------------------------------------------
@click.command()
@service_role_options
@pass_books
@changes_state("init")
def init(
    books: Books,
    owner_url: str | None,
    service_role: str | None,
    service_password_file: Path | None,
) -> None:
    """Create or upgrade the schema, seed the chart of accounts, create the pseudonym key and
    the checkpoint signing key.

    Safe to run again: it only adds what is missing. The pseudonym key
    ($HUIQUAN_HOME/pseudonym.key, 32 random bytes, mode 0600) turns beneficiaries' identity
    numbers into the pseudonyms the books use; back it up, and never share it.

    On PostgreSQL, --owner-url runs the migrations as the tables' owner and --service-role then
    grants the role `huiquan serve` logs in as exactly what the service needs (nothing to update
    or delete in the journal, no trigger switched off; erased contacts are the only rows it
    deletes). Run it again after every upgrade.
    """
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import func, select

    from ledger.storage import tables
    from ledger.storage.db import init_books
    from ledger.tlog.keys import KEY_FILE as SIGNING_KEY_FILE
    from ledger.tlog.keys import ensure_signing_key

    books.override(owner_url)
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
    had_key = (books.home / "keys" / SIGNING_KEY_FILE).exists()
    signing = ensure_signing_key(books.home)
    click.echo(f"checkpoint signing key: {'kept' if had_key else 'created'} {signing.name}")
    if service_role:
        for line in apply_service_role(engine, service_role, service_password_file):
            click.echo(line)


def print_fund_summaries(books: Books, fund: str | None) -> None:
    from ledger.balances import fund_summary
    from ledger.storage.unit_of_work import read_only

    with read_only(books.engine) as repo:
        funds = [f for f in repo.list_funds() if fund is None or f.code == fund]
        summaries = [(f, fund_summary(repo, f.code)) for f in funds]
    rows = []
    for f, s in summaries:
        foreign = "\n".join(
            f"{c} {money(v, c)}" for c, v in sorted(s.cash.items()) if c != "CNY" and v
        )
        rows.append(
            [
                f"{f.code}\n{f.name}",
                "restricted" if f.restricted else "unrestricted",
                money(s.raised),
                money(s.disbursed),
                money(s.cash.get("CNY", 0)),
                foreign or "-",
                money(s.pledges_receivable),
            ]
        )
    if rows:
        rows.append(
            [
                "TOTAL",
                "",
                money(sum(s.raised for _f, s in summaries)),
                money(sum(s.disbursed for _f, s in summaries)),
                money(sum(s.cash.get("CNY", 0) for _f, s in summaries)),
                "",
                money(sum(s.pledges_receivable for _f, s in summaries)),
            ]
        )
    table(
        "Funds (CNY values; foreign cash in its own currency)",
        ["fund", "kind", "raised", "program spending", "cash CNY", "foreign cash", "pledges due"],
        rows,
        right=(2, 3, 4, 5, 6),
    )


def print_trial_balance_totals(books: Books) -> None:
    from ledger.balances import trial_balance
    from ledger.storage.unit_of_work import read_only

    with read_only(books.engine) as repo:
        tb = trial_balance(repo)
    verdict = "equal" if tb.total_debit == tb.total_credit else "NOT EQUAL"
    click.echo(
        f"trial balance: debits {money(tb.total_debit)} CNY, credits "
        f"{money(tb.total_credit)} CNY ({verdict})"
    )


# -- balance ------------------------------------------------------------------------------------
@click.command()
@click.option("--account", metavar="CODE", help="Account code, e.g. 1002-CNY, 4101-R, 5101.")
@click.option("--fund", metavar="CODE", help="Fund code.")
@click.option("--project", metavar="CODE", help="Project code.")
@click.option("--currency", metavar="ISO", help="Only postings in this currency.")
@as_of_option
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
    from ledger.balances import balance_of, balance_rows, fund_summary
    from ledger.errors import UnknownAccount, UnknownFund, UnknownProject
    from ledger.money import check_currency
    from ledger.storage.unit_of_work import read_only

    on = parse_date(as_of)
    if currency:
        currency = check_currency(currency.upper())
    with read_only(books.engine) as repo:
        if account and repo.get_account(account) is None:
            raise UnknownAccount(f"no account {account!r}")
        if fund and repo.get_fund(fund) is None:
            raise UnknownFund(f"no fund {fund!r}")
        if project and repo.get_project(project) is None:
            raise UnknownProject(f"no project {project!r}")
        wanted = {"account": account, "fund": fund, "project": project, "currency": currency}
        filters = {k: v for k, v in wanted.items() if v}
        rows = balance_rows(repo, **filters, as_of=on)
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
            "amount": money(amount, cur),
            "cny_value": money(value),
        }
        for (code, cur), (amount, value) in sorted(per.items())
        if amount or value
    ]
    total = {k: money(v, "CNY" if k == "CNY-value" else k) for k, v in sorted(totals.items())}
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
                "cash": {c: money(v, c) for c, v in sorted(summary.cash.items())},
                "pledges_receivable": money(summary.pledges_receivable),
                "raised": money(summary.raised),
                "disbursed": money(summary.disbursed),
                "restricted_net_assets": money(summary.restricted_net_assets),
                "unrestricted_net_assets": money(summary.unrestricted_net_assets),
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
            side(int(per[(ln["account"], ln["currency"])][0]), ln["currency"]),
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
                side(totals[cur], cur),
                money(totals.get("CNY-value", 0)) if len(totals) == 2 else "",
            ]
        )
    if not lines:
        click.echo(f"no postings for {what} ({when})")
    else:
        table(
            f"Balance: {what} ({when})",
            ["account", "name", "currency", "balance", "CNY value"],
            table_rows,
            right=(3, 4),
        )
    if summary is not None:
        cash = ", ".join(f"{money(v, c)} {c}" for c, v in sorted(summary.cash.items())) or "0"
        click.echo(
            f"fund {summary.fund}: cash {cash}; raised {money(summary.raised)} CNY; "
            f"program spending {money(summary.disbursed)} CNY; pledges receivable "
            f"{money(summary.pledges_receivable)} CNY; net assets with restrictions "
            f"{money(summary.restricted_net_assets)} CNY, without "
            f"{money(summary.unrestricted_net_assets)} CNY"
        )


# -- trial balance ------------------------------------------------------------------------------
@click.command("trial-balance")
@as_of_option
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

    on = parse_date(as_of)
    with read_only(books.engine) as repo:
        if fund and repo.get_fund(fund) is None:
            raise UnknownFund(f"no fund {fund!r}")
        tb = trial_balance(repo, as_of=on, fund=fund)
    rows = [
        [
            r.account,
            r.name_cn,
            r.name_us,
            money(r.debit) if r.debit else "",
            money(r.credit) if r.credit else "",
        ]
        for r in tb.rows
    ]
    totals = ["TOTAL", "", "", money(tb.total_debit), money(tb.total_credit)]
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
                            "debit": money(r.debit),
                            "credit": money(r.credit),
                        }
                        for r in tb.rows
                    ],
                    "total_debit": money(tb.total_debit),
                    "total_credit": money(tb.total_credit),
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
        table(
            title + (f", fund {fund}" if fund else ""),
            ["account", "科目", "label", "debit", "credit"],
            [*rows, totals],
            right=(3, 4),
        )
    if tb.total_debit != tb.total_credit:
        raise LedgerError("the trial balance does not balance; run `huiquan verify`")


# -- verify -------------------------------------------------------------------------------------
@click.command()
@progress_flag
@pass_books
def verify(books: Books, progress: bool | None) -> None:
    """Recompute the hash chain, the Merkle root, every entry's balance and the balances table,
    and check the journal against every signed checkpoint with the keys kept in $HUIQUAN_HOME/keys
    (a forged checkpoint, a rewritten entry under one, a deleted tail are findings).

    Prints entries checked, entries/s, the chain head and the Merkle root (compare it with a
    signed checkpoint). On any finding prints each, then "first bad sequence: N", and exits 1.
    """
    from ledger.integrity import verify_books
    from ledger.storage.unit_of_work import read_only
    from ledger.tlog.audit import read_anchor
    from ledger.tlog.keys import trusted_vkeys

    anchor = read_anchor(books.home)
    started = time.perf_counter()
    with read_only(books.engine) as repo:
        total, _hash = repo.head()
        with progress_bar("verifying", enabled=want_progress(progress)) as bar:
            seen = [0]

            def tick(done: int) -> None:
                bar(total, done - seen[0])
                seen[0] = done

            report = verify_books(
                repo,
                progress=tick,
                trusted_vkeys=trusted_vkeys(books.home),
                anchors=[anchor] if anchor else [],
            )
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
    from ledger.keyfile import keys_exported

    if not keys_exported(books.home):
        click.echo(
            "warning: the keys were never exported; run `huiquan keys export` and keep the "
            "sheet offline (without pseudonym.key and the signing key the books cannot be read "
            "back in full)",
            err=True,
        )
    from receipts.issuers import unassigned_funds

    with books.engine.connect() as conn:
        unassigned = unassigned_funds(conn)
    for fund in unassigned:
        click.echo(
            f"warning: fund {fund} has no issuer: its receipts say so "
            f"(huiquan issuer assign {fund} CODE)",
            err=True,
        )
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
@click.command("close-period")
@click.argument("period")
@pass_books
@changes_state("close-period")
def close_period_command(books: Books, period: str) -> None:
    """Close a month (YYYY-MM) or a year (YYYY): no entry may be dated inside it afterwards.

    Corrections of a closed period are reversals dated in the open period. A checkpoint is
    signed at once, so the closed period's entries are provable from then on.
    """
    from usecases.books import open_books
    from usecases.reference import close_period
    from usecases.unit import Actor

    ledger_books = open_books(books.engine, books.home, group_commit_max=1)
    close_period(ledger_books, period, by=Actor(current_maker(), ("admin",)))
    click.echo(f"closed period {period}: entries dated inside it are refused from now on")
