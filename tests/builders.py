"""Builders that read like a ledger: open funds, register donors, and post the usual entries."""

from __future__ import annotations

import datetime as dt

from ledger import services
from ledger.entries import PostedEntry
from ledger.money import Money
from ledger.storage.unit_of_work import UnitOfWork

DAY = dt.date(2026, 3, 2)
SECRET = b"test-pseudonym-secret-0123456789"


def cny(text: str) -> Money:
    return Money.parse(text, "CNY")


class Books:
    """A small ledger under test: `books.donate("1000")` and so on, each in its own commit."""

    def __init__(self, engine: object) -> None:
        self.engine = engine

    def run(self, fn, /, **kwargs):  # type: ignore[no-untyped-def]
        with UnitOfWork(self.engine) as uow:  # type: ignore[arg-type]
            result = fn(uow, **kwargs)
            uow.commit()
            return result

    def fund(self, code: str = "LUHUO", *, restricted: bool = True) -> str:
        self.run(
            services.open_fund,
            code=code,
            name=f"{code} fund",
            restricted=restricted,
            purpose="炉霍县交纳村卫生室" if restricted else "",
        )
        return code

    def donor(self, name: str = "王秀英", **kwargs: object) -> str:
        return str(self.run(services.register_donor, name=name, **kwargs).id)

    def project(self, code: str = "CLINIC", fund: str = "LUHUO") -> str:
        self.run(
            services.open_project,
            code=code,
            name="交纳村卫生室",
            fund=fund,
            county="炉霍县",
            town="新都镇",
        )
        return code

    def beneficiary(self, cohort: str = "2024秋", county: str = "炉霍县") -> str:
        return str(
            self.run(
                services.register_beneficiary,
                cohort=cohort,
                county=county,
                personal={"name": "测试学生"},
                secret=SECRET,
            ).id
        )

    def donate(
        self,
        amount: str,
        *,
        donor: str,
        fund: str = "LUHUO",
        currency: str = "CNY",
        on: dt.date = DAY,
        **kwargs: object,
    ) -> PostedEntry:
        return self.run(
            services.record_donation,
            donor_id=donor,
            fund=fund,
            amount=Money.parse(amount, currency),
            received_on=on,
            **kwargs,
        )

    def disburse(
        self,
        amount: str,
        *,
        fund: str = "LUHUO",
        project: str = "CLINIC",
        currency: str = "CNY",
        on: dt.date = DAY,
        **kwargs: object,
    ) -> PostedEntry:
        return self.run(
            services.record_disbursement,
            fund=fund,
            project=project,
            amount=Money.parse(amount, currency),
            paid_on=on,
            **kwargs,
        )
