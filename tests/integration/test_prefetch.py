"""Reading ahead in a shared transaction: `UnitOfWork.prefetch` (idempotency keys, donors,
funds, accounts in one round trip) and `preload_accounts` (the chart read with the lock).

What is read ahead must be exactly what the one-by-one lookups would have seen at that moment
in the transaction; the services then ask the database nothing more for it, and a record that
was missing, created or changed later in the unit is still seen as it is."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, select

from ledger import services
from ledger.accounts import Account, AccountType
from ledger.errors import AccountClosed, UnknownDonor
from ledger.money import Money
from ledger.storage import tables
from ledger.storage.unit_of_work import UnitOfWork


@pytest.fixture
def donor(opened: Engine) -> str:
    with opened.connect() as conn:
        return str(conn.scalar(select(tables.donors.c.id)))


def _gift(uow: UnitOfWork, donor: str, fund: str = "F", key: str | None = None) -> Any:
    return services.record_donation(
        uow,
        donor_id=donor,
        fund=fund,
        amount=Money(1000, "CNY"),
        received_on=uow.today(),
        method="bank",
        key=key,
    )


def _reads(statements: list[str], table: str) -> list[str]:
    return [s for s in statements if s.startswith("SELECT") and f"FROM {table} " in f"{s} "]


def test_keys_donors_and_funds_are_read_ahead_and_not_asked_again(
    opened: Engine, donor: str, statements: list[str]
) -> None:
    with UnitOfWork(opened) as uow:
        statements.clear()
        uow.prefetch(["k-1"], {"donor": [donor, "nobody"], "fund": ["F", "NOPE"]})
        assert len(statements) == 3  # keys, donors, funds: one query each, one round trip on PG
        assert [len(_reads(statements, t)) for t in ("idempotency_keys", "donors", "funds")] == [
            1,
            1,
            1,
        ]
        statements.clear()
        entry = _gift(uow, donor, key="k-1")
        assert not _reads(statements, "donors")
        assert not _reads(statements, "funds")
        assert not _reads(statements, "idempotency_keys")
        # What was missing stays unknown, and is asked again when looked up.
        with pytest.raises(UnknownDonor):
            uow.attempt(lambda u: _gift(u, "nobody"))
        assert _reads(statements, "donors")
        uow.commit()
    with opened.connect() as conn:
        assert conn.scalar(select(tables.journal_entries.c.id)) == entry.id


def test_a_fund_missing_when_read_ahead_and_opened_later_in_the_unit_is_seen(
    opened: Engine, donor: str
) -> None:
    with UnitOfWork(opened) as uow:
        uow.prefetch(refs={"fund": ["G"], "donor": [donor]})
        services.open_fund(uow, code="G", name="Later", restricted=False)
        entry = _gift(uow, donor, fund="G")
        uow.commit()
    assert {p.fund for p in entry.postings} == {"G"}


def test_a_repeated_key_read_ahead_still_replays(opened: Engine, donor: str) -> None:
    with UnitOfWork(opened) as uow:
        first = _gift(uow, donor, key="k-2")
        uow.commit()
    with UnitOfWork(opened) as uow:
        uow.prefetch(["k-2"], {"donor": [donor], "fund": ["F"]})
        again = _gift(uow, donor, key="k-2")
        uow.commit()
    assert again.id == first.id
    with opened.connect() as conn:
        assert len(conn.execute(select(tables.journal_entries.c.id)).all()) == 1


def test_accounts_read_with_the_lock_are_not_asked_again_until_changed(
    opened: Engine, donor: str, statements: list[str]
) -> None:
    with UnitOfWork(opened, preload_accounts=True) as uow:
        statements.clear()
        _gift(uow, donor)
        assert not _reads(statements, "accounts")
        # A change in the unit is seen: the closed account refuses the next gift.
        services.close_account(uow, "4101-U")
        with pytest.raises(AccountClosed):
            uow.attempt(lambda u: _gift(u, donor))
        services.open_account(uow, "4101-U")
        _gift(uow, donor)
        uow.commit()
    with opened.connect() as conn:
        assert len(conn.execute(select(tables.journal_entries.c.id)).all()) == 2


def test_an_account_opened_after_the_lock_is_seen(opened: Engine) -> None:
    with UnitOfWork(opened, preload_accounts=True) as uow:
        assert uow.cached("account", "1002-CNY", uow.repo.get_account) is not None
        assert uow.cached("account", "1002-XAU", uow.repo.get_account) is None
        gold = Account("1002-XAU", "银行存款-黄金", "Cash XAU", AccountType.ASSET, "XAU")
        uow.repo.add_account(gold, uow.now())
        assert uow.cached("account", "1002-XAU", uow.repo.get_account) == gold
