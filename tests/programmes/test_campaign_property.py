"""Property: a campaign's progress is what the books say, after any mix of gifts, reversals and
matched gifts; the matcher never goes beyond its cap."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from ledger import services
from ledger.money import Money
from ledger.storage.tables import journal_entries, postings
from ledger.storage.unit_of_work import UnitOfWork
from usecases import campaigns, corrections, gifts
from usecases.books import Books, open_books
from usecases.unit import SYSTEM

TODAY = dt.datetime.now(dt.UTC).date()
_SLUGS = itertools.count(1)


@pytest.fixture
def programme_books(engine: Engine, tmp_path: Path) -> Iterator[Books]:
    """Fund F with two donors and a firm; the use cases' books over them."""
    with UnitOfWork(engine) as uow:
        services.open_fund(uow, code="F", name="Luhuo", restricted=True, purpose="village industry")
        uow.commit()
    yield open_books(engine, tmp_path / "home", group_commit_max=1, pseudonym_secret=b"k" * 32)


def _donor(books: Books, name: str, anonymous: bool = False) -> str:
    with UnitOfWork(books.engine) as uow:
        made = services.register_donor(uow, name=name, anonymous=anonymous)
        uow.commit()
    return made.id


steps = st.lists(
    st.one_of(
        st.tuples(
            st.just("gift"),
            st.integers(min_value=1, max_value=900_000),
            st.integers(min_value=0, max_value=2),
            st.booleans(),
        ),
        st.tuples(st.just("reverse"), st.integers(min_value=0, max_value=50)),
    ),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    steps=steps,
    ratio=st.sampled_from([(1, 1), (1, 2), (2, 1), (3, 10)]),
    cap=st.integers(min_value=1, max_value=2_000_000),
)
def test_progress_equals_the_books_after_gifts_reversals_and_matches(
    programme_books: Books,
    steps: list[tuple[object, ...]],
    ratio: tuple[int, int],
    cap: int,
) -> None:
    books = programme_books
    slug = f"drive-{next(_SLUGS)}"
    donors = [_donor(books, "甲"), _donor(books, "乙", anonymous=True), _donor(books, "丙")]
    firm = _donor(books, "配捐企业")
    with UnitOfWork(books.engine) as uow:
        pledge, _ = services.record_pledge(
            uow, donor_id=firm, fund="F", amount=Money(cap + 500, "CNY"), pledged_on=TODAY
        )
        uow.commit()
    start = (TODAY - dt.timedelta(days=1)).isoformat()
    campaigns.create_campaign(
        books,
        by=SYSTEM,
        slug=slug,
        fund="F",
        title_zh="众筹",
        goal=Money(10**8, "CNY"),
        starts_on=start,
        ends_on=TODAY.isoformat(),
        status="open",
    )
    campaigns.set_matcher(
        books,
        slug,
        pledge_id=pledge.id,
        ratio=f"{ratio[0]}:{ratio[1]}",
        cap=Money(cap, "CNY"),
        by=SYSTEM,
    )
    # The model: what each recorded gift and match is worth, and which were reversed.
    model_gifts: list[tuple[str, int, str]] = []  # (entry id, amount, donor)
    model_matched = 0
    reversed_ids: set[str] = set()
    for step in steps:
        if step[0] == "gift":
            _, amount, who, tagged = step
            gift = gifts.record_donation(
                books,
                by=SYSTEM,
                donor_id=donors[int(who)],
                fund="F",
                amount=Money(int(amount), "CNY"),
                received_on=TODAY,
                campaign=slug if tagged else None,
            )
            if not tagged:
                assert gift.match is None
                continue
            model_gifts.append((gift.entry.id, int(amount), donors[int(who)]))
            expected = min(int(amount) * ratio[0] // ratio[1], cap - model_matched)
            got = (
                0
                if gift.match is None
                else sum(p.functional for p in gift.match.entry.postings if p.functional > 0)
            )
            assert got == max(expected, 0)
            assert (gift.match is None) == (expected <= 0)
            assert gift.match is None or gift.match.receipt is not None
            model_matched += got
        elif model_gifts:
            entry_id = model_gifts[int(step[1]) % len(model_gifts)][0]
            if entry_id in reversed_ids:
                continue
            corrections.reverse_entry(books, entry_id=entry_id, reason="bounced", by=SYSTEM)
            reversed_ids.add(entry_id)
    campaign = campaigns.get_campaign(books, slug)
    with books.engine.connect() as conn:
        progress = campaigns.progress_of(conn, campaign)
        # The books, read another way: every posting of the entries tagged to the campaign
        # and of their reversals, on the income and receivable side.
        tagged = [
            r.id
            for r in conn.execute(select(journal_entries.c.id, journal_entries.c.data))
            if f'"campaign":"{slug}"' in r.data
        ]
        reversal_ids = [
            r.id
            for r in conn.execute(
                select(journal_entries.c.id).where(journal_entries.c.reverses.in_(tagged))
            )
        ]
        credited = -sum(
            p.amount
            for p in conn.execute(
                select(postings.c.amount).where(
                    postings.c.entry_id.in_(tagged + reversal_ids),
                    postings.c.account.in_(["4101-R", "4101-U", "1122"]),
                )
            )
        )
    live = [(e, a, d) for e, a, d in model_gifts if e not in reversed_ids]
    assert progress.gifts_minor == sum(a for _, a, _ in live)
    assert progress.matched_minor == model_matched <= cap
    assert progress.raised_minor == credited
    assert progress.donors == len({d for _, _, d in live})
    assert progress.reversed_minor == sum(a for e, a, _ in model_gifts if e in reversed_ids)
    assert sum(1 for w in progress.wall if w.name is None) == (donors[1] in {d for *_, d in live})
