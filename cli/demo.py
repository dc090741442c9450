"""`huiquan demo`: load demo books from data files, through the importer, and receipt the gifts.

The demo is data: `demo_data/reference.json` (funds, projects, donors and beneficiaries with
made-up personal data), `demo_data/issuers.json` (the issuers that hold the demo funds, with
made-up credit codes, marked demo) and `demo_data/operations.jsonl` (about 4,900 operations in the
importer's JSONL format, dated 2024-01 .. 2026-10), written by `cli.demo_plan` for its
`SHIPPED_SEED`. Another `--seed` has the generator make the same two documents in memory.

Invariants owned here:
- One unit of work: the reference data is registered through `ledger.services` and the
  operations are posted by the importer (`parse_rows`, `post_commands`), so the demo obeys
  every rule; all of it is committed, or nothing.
- An award row names its beneficiary as `@<ref>` of the reference data; the loader puts the
  pseudonym in its place (pseudonyms depend on the installation's key, so no file can hold them).
- The same seed gives the same operations, amounts, dates, donors and beneficiaries; entry ids
  and recorded-at timestamps are the real ones of the run.
- The donor receipts are issued in a second unit of work (`issue_demo_receipts`).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from cli.books import print_fund_summaries, print_trial_balance_totals
from cli.context import KEY_FILE, Books, ensure_pseudonym_key, pass_books, record_change
from ledger.errors import LedgerError

if TYPE_CHECKING:
    from sqlalchemy import Engine

__all__ = [
    "DemoReceipts",
    "DemoResult",
    "demo",
    "depreciate_demo",
    "issue_demo_receipts",
    "load_demo",
    "read_demo_data",
]

MAKER = "demo"
#: The seed the data files were written with (`python -m cli.demo_plan 2024`): the default.
SHIPPED_SEED = 2024


@dataclass(frozen=True, slots=True)
class DemoResult:
    """What the demo loaded."""

    entries: int
    funds: int
    projects: int
    donors: int
    beneficiaries: int
    seconds: float
    first_sequence: int
    last_sequence: int


def read_demo_data(seed: int = SHIPPED_SEED) -> tuple[dict[str, Any], list[tuple[int, Any]]]:
    """The demo's reference data and its operations as the importer reads them (line, row).

    The shipped files for the seed they were written with (`SHIPPED_SEED`); the generator's
    output for any other seed.
    """
    from importlib.resources import as_file, files

    folder = files("cli") / "demo_data"
    reference = json.loads((folder / "reference.json").read_text(encoding="utf-8"))
    if seed != reference["seed"]:
        from cli.demo_plan import demo_data

        reference, rows = demo_data(seed)
        return reference, list(enumerate(rows, 1))
    from ledger.importer import read_file

    with as_file(folder / "operations.jsonl") as path:
        return reference, read_file(path, "jsonl")


def _with_pseudonyms(
    rows: list[tuple[int, Any]], pseudonyms: dict[str, str]
) -> list[tuple[int, Any]]:
    """The rows with each `@<ref>` beneficiary replaced by the registered pseudonym."""
    out = []
    for line, row in rows:
        ref = row.get("beneficiary_id", "") if isinstance(row, dict) else ""
        if ref.startswith("@"):
            row = {**row, "beneficiary_id": pseudonyms.get(ref[1:], ref)}
        out.append((line, row))
    return out


def load_demo(engine: Engine, *, secret: bytes, seed: int = SHIPPED_SEED) -> DemoResult:
    """Load the demo ledger into empty books, in one unit of work.

    Raises:
        InvalidEntry: when the books already hold entries, or the data broke a rule;
        AlreadyExists: when a demo fund, project or donor code is taken.
    """
    from cli.demo_controls import read_controls, state_purposes
    from ledger import services
    from ledger.errors import InvalidEntry
    from ledger.importer import BulkUnitOfWork, parse_rows, post_commands
    from ledger.money import Money

    started = time.perf_counter()
    reference, rows = read_demo_data(seed)
    with BulkUnitOfWork(engine) as uow:
        if uow.sequence != 0:
            raise InvalidEntry(f"the books already hold {uow.sequence} entries")
        for f in reference["funds"]:
            services.open_fund(uow, **f)
        for p in reference["projects"]:
            budget = p.get("budget")
            services.open_project(
                uow,
                **{k: v for k, v in p.items() if k != "budget"},
                budget=Money.parse(budget, "CNY") if budget else None,
            )
        state_purposes(uow, read_controls())
        for d in reference["donors"]:
            services.register_donor(uow, **d)
        _demo_issuers(uow, reference)
        pseudonyms = {
            b["ref"]: services.register_beneficiary(
                uow, cohort=b["cohort"], county=b["county"], personal=b["personal"], secret=secret
            ).id
            for b in reference["beneficiaries"]
        }
        commands, problems = parse_rows(_with_pseudonyms(rows, pseudonyms))
        if not problems:
            _replayed, problems = post_commands(uow, commands, maker=MAKER)
        if problems:
            raise InvalidEntry(f"the demo data broke a rule: {problems[0]}")
        last = uow.sequence
        uow.commit()
    return DemoResult(
        entries=last,
        funds=len(reference["funds"]),
        projects=len(reference["projects"]),
        donors=len(reference["donors"]),
        beneficiaries=len(reference["beneficiaries"]),
        seconds=time.perf_counter() - started,
        first_sequence=1,
        last_sequence=last,
    )


def _demo_issuers(uow: Any, reference: dict[str, Any]) -> None:
    """Register the demo issuers of `demo_data/issuers.json` (made-up codes, marked demo) and
    assign them the demo funds they hold."""
    from importlib.resources import files

    from receipts.issuers import add_issuer, assign_issuer

    shipped = json.loads((files("cli") / "demo_data" / "issuers.json").read_text(encoding="utf-8"))
    now = uow.now()
    for issuer in shipped["issuers"]:
        add_issuer(uow.connection, **issuer, by=MAKER, now=now)
    funds = {f["code"] for f in reference["funds"]}
    for fund, issuer in shipped["fund_issuers"].items():
        if fund in funds:
            assign_issuer(uow.connection, fund=fund, issuer=issuer, by=MAKER, now=now)


@dataclass(frozen=True, slots=True)
class DemoReceipts:
    """The receipts issued for the demo's gifts."""

    issued: int
    first: str | None  # serial
    last: str | None
    sample: dict[str, str] | None  # serial, url, pdf_url of the first


def issue_demo_receipts(url: str, *, home: Path, secret: bytes, base_url: str) -> DemoReceipts:
    """Issue the receipt of every demo gift that stands, as the API does for a new gift.

    Donations, pledge payments and in-kind gifts get one (signed by the demo's maker, dated
    now, numbered on from the books' counter); a gift that was reversed, and the reversal
    itself, get none. Links are made for `base_url` (what the server will be reached at). One
    unit of work: all of them or, on any failure, none.

    """
    from ledger.storage.db import make_engine
    from usecases.books import open_books
    from usecases.receipts import issue_receipts_of_standing_gifts

    engine = make_engine(url)
    try:
        books = open_books(
            engine,
            home,
            pseudonym_secret=secret,
            receipt_settings={"PUBLIC_BASE_URL": base_url},
        )
        serials = [
            link.urls(base_url.rstrip("/")) for link in issue_receipts_of_standing_gifts(books)
        ]
    finally:
        engine.dispose()
    return DemoReceipts(
        issued=len(serials),
        first=serials[0]["serial"] if serials else None,
        last=serials[-1]["serial"] if serials else None,
        sample=serials[0] if serials else None,
    )


def depreciate_demo(books: Books, seed: int = SHIPPED_SEED) -> Any:
    """Depreciate the demo's equipment through the demo's last month, or the last month that
    has ended if that is earlier (one run, idempotent)."""
    import datetime as dt

    from usecases.books import open_books
    from usecases.depreciation import run_depreciation, today_month
    from usecases.unit import Actor

    _reference, rows = read_demo_data(seed)
    last = max(str(row.get("date", "")) for _line, row in rows if isinstance(row, dict))[:7]
    through = min(last, today_month(dt.datetime.now(dt.UTC).date()))
    ledger_books = open_books(books.engine, books.home, group_commit_max=1)
    return run_depreciation(ledger_books, through=through, by=Actor(MAKER, ("admin",)))


@click.command()
@click.option(
    "--if-empty", is_flag=True, help="Do nothing (and succeed) when the books already hold entries."
)
@click.option(
    "--seed",
    type=int,
    default=SHIPPED_SEED,
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
    transaction), and one receipt's link is printed. Last, the programmes: the places (county,
    town, village), a Luhuo campaign with a matching firm, a Jianyang one that ended short of
    its goal, and two honorary village chiefs (`cli.demo_programmes`).
    """
    import datetime as dt

    from ledger.storage.unit_of_work import read_only

    with read_only(books.engine) as repo:
        entries, _hash = repo.head()
    if entries and if_empty:
        click.echo(f"the books already hold {entries} entries: demo not loaded")
        return
    record_change("demo")
    if entries:
        raise LedgerError(
            f"the books already hold {entries} entries; the demo loads into empty books only "
            "(use --if-empty to skip quietly)"
        )
    secret, created = ensure_pseudonym_key(books.home)
    if created:
        click.echo(f"pseudonym key: created {books.home / KEY_FILE} (mode 0600)")
    result = load_demo(books.engine, secret=secret, seed=seed)
    depreciated = depreciate_demo(books, seed)
    requests = _demo_requests(books)
    added = len(depreciated.posted) + requests.posted
    click.echo(
        f"demo loaded into {books.display_url}: {result.entries + added} entries "
        f"(sequence {result.first_sequence}..{result.last_sequence + added}) in "
        f"{result.seconds:.1f} s, {result.funds} funds, {result.projects} projects, "
        f"{result.donors} donors, {result.beneficiaries} beneficiaries (pseudonymous), seed {seed}"
    )
    click.echo(
        f"depreciation: {len(depreciated.posted)} month(s) of fixed assets received in kind, "
        f"through {depreciated.through}"
    )
    click.echo(
        f"approval requests: {requests.posted} approved and posted, {requests.rejected} "
        f"rejected, {requests.pending} pending (approve them as 李明, login liming)"
    )

    from cli.demo_evidence import demo_evidence_step  # the evidence step: documents, goods, bank

    click.echo(demo_evidence_step(books, seed=seed, shipped=seed == SHIPPED_SEED))

    from cli.demo_programmes import load_programmes

    as_of = max(
        str(row.get("date", "")) for _l, row in read_demo_data(seed)[1] if isinstance(row, dict)
    )
    shown = load_programmes(
        books.engine,
        home=books.home,
        secret=secret,
        base_url=base_url,
        as_of=dt.date.fromisoformat(as_of[:10]),
    )

    from cli import demo_community  # (lazily: `--help` loads no database library)

    click.echo(demo_community.summary(books.engine, books.home, secret=secret))
    issued = issue_demo_receipts(books.url, home=books.home, secret=secret, base_url=base_url)
    if issued.sample is not None:
        click.echo(
            f"receipts: {issued.issued} issued ({issued.first} .. {issued.last}); "
            f"a donor's receipt: {issued.sample['url']} (PDF: {issued.sample['pdf_url']})"
        )
    with read_only(books.engine) as repo:
        entries, _hash = repo.head()
    click.echo(
        f"programmes: {shown.entries} entries, {shown.places} places, {shown.gifts} campaign gifts "
        f"(matched {shown.matched_minor / 100:,.2f} CNY), 2 honorary village chiefs; "
        f"the books now hold {entries} entries; see "
        + ", ".join(base_url.rstrip("/") + page for page in shown.pages)
    )
    print_fund_summaries(books, None)
    print_trial_balance_totals(books)


def _demo_requests(books: Books) -> Any:
    """The demo's requests and their decisions (`cli.demo_controls`)."""
    from cli.demo_controls import read_controls, request_and_decide
    from usecases.books import open_books

    unit = open_books(books.engine, books.home, group_commit_max=1)
    return request_and_decide(unit, read_controls())
