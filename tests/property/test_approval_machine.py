"""Maker-checker run beside a model: requests, approvals, rejections, withdrawals, expiries.

Invariants after every step: no request is posted twice; an entry that needed approval carries
its checkers (as many as its policy asked, none of them the maker); a request is posted exactly
when the model says so; the fund's cash equals the model's and never goes below zero.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    MultipleResults,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
)
from sqlalchemy import select, update

from ledger import services
from ledger.balances import fund_cash
from ledger.errors import InsufficientFunds, RequestClosed, RequestExpired, SelfApproval
from ledger.money import Money
from ledger.storage import tables
from ledger.storage.db import init_books, make_engine
from ledger.storage.unit_of_work import UnitOfWork, read_only
from usecases import approvals, spending
from usecases.books import open_books
from usecases.gate import ApprovalRequest
from usecases.unit import SYSTEM, Actor
from usecases.users import create_user

FUND, PROJECT = "LUHUO", "P-LUHUO"
DAY = dt.date(2026, 3, 2)
BAR = 1_000_000  # 10,000.00 CNY: the default threshold, in fen
gifts = st.integers(min_value=100_000, max_value=4_000_000)
# Half below the bar (posted at once), half at or above it (requested).
payments = st.one_of(st.integers(1, BAR - 1), st.integers(BAR, 3 * BAR))
APPROVERS = ("li", "wang")


@dataclass
class Asked:
    """The model of one request."""

    amount: int
    needed: int
    state: str = "pending"
    approvers: list[str] = field(default_factory=list)
    rejected_by: str = ""


class ApprovalMachine(RuleBasedStateMachine):
    requests = Bundle("requests")
    #: What the runs went through, across examples (the test insists they did).
    seen: Counter[str] = Counter()

    def __init__(self) -> None:
        super().__init__()
        self.cash = 0
        self.asked: dict[str, Asked] = {}
        self.needed = 1

    @initialize()
    def open_books(self) -> None:
        engine = self._fresh_engine()
        self.books = open_books(engine, Path(self.tmp), group_commit_max=1)  # type: ignore[attr-defined]
        with UnitOfWork(engine) as uow:
            services.open_fund(uow, code=FUND, name="炉霍", restricted=True, purpose="clinic")
            services.open_project(uow, code=PROJECT, name="卫生室", fund=FUND, county="炉霍县")
            self.donor = services.register_donor(uow, name="王秀英").id
            uow.commit()
        officer = ("officer",)
        self.maker = create_user(
            self.books, login="zhang", display_name="张三", roles=officer, by=SYSTEM
        ).actor()
        self.people = {
            login: create_user(
                self.books, login=login, display_name=name, roles=("approver",), by=SYSTEM
            ).actor()
            for login, name in (("li", "李四"), ("wang", "王五"))
        }
        self.donate(5 * BAR)  # enough to start with: requests are made only for what fits now
        # The maker's second token acts as the same user, with the approver role.
        self.maker_as_approver = Actor(self.maker.name, ("approver",), self.maker.user_id)

    def _fresh_engine(self):  # type: ignore[no-untyped-def]
        import tempfile

        from tests.conftest import _reset_pg, engine_kind

        if engine_kind() == "postgresql":
            engine = make_engine(self.url)  # type: ignore[attr-defined]
            _reset_pg(engine)
            return engine
        folder = tempfile.mkdtemp(dir=self.tmp)  # type: ignore[attr-defined]
        engine = make_engine(f"sqlite:///{folder}/books.db")
        init_books(engine)
        return engine

    @rule(minor=gifts)
    def donate(self, minor: int) -> None:
        with UnitOfWork(self.books.engine) as uow:
            services.record_donation(
                uow, donor_id=self.donor, fund=FUND, amount=Money(minor, "CNY"), received_on=DAY
            )
            uow.commit()
        self.cash += minor

    @rule(two=st.booleans())
    def set_policy(self, two: bool) -> None:
        approvals.set_policy(self.books, FUND, {"approvers": 2 if two else 1}, by=SYSTEM)
        self.needed = 2 if two else 1

    @rule(target=requests, minor=payments)
    def disburse(self, minor: int) -> MultipleResults[str]:
        try:
            result = spending.record_disbursement(
                self.books,
                by=self.maker,
                fund=FUND,
                project=PROJECT,
                amount=Money(minor, "CNY"),
                paid_on=DAY,
            )
        except InsufficientFunds:
            assert minor > self.cash
            return multiple()
        assert minor <= self.cash
        if minor < BAR:
            assert not isinstance(result, ApprovalRequest)
            self.cash -= minor
            return multiple()
        assert isinstance(result, ApprovalRequest) and result.approvals_needed == self.needed
        self.asked[result.id] = Asked(minor, self.needed)
        return multiple(result.id)

    @rule(request_id=requests, who=st.sampled_from(APPROVERS))
    def approve(self, request_id: str, who: str) -> None:
        model = self.asked[request_id]
        try:
            done = approvals.approve(self.books, request_id, by=self.people[who])
        except RequestExpired:
            assert model.state == "expired"
            self.seen["expired"] += 1
            return
        except RequestClosed:
            assert model.state != "pending" or who in model.approvers
            return
        except InsufficientFunds:
            assert model.state == "pending" and len(model.approvers) + 1 == model.needed
            assert model.amount > self.cash
            self.seen["refused, stays pending"] += 1
            return
        assert model.state == "pending" and who not in model.approvers
        model.approvers.append(who)
        if len(model.approvers) == model.needed:
            assert done.state == "posted" and model.amount <= self.cash
            model.state = "posted"
            self.cash -= model.amount
            self.seen["posted"] += 1
        else:
            assert done.state == "pending"

    @rule(request_id=requests)
    def maker_approves_own(self, request_id: str) -> None:
        try:
            approvals.approve(self.books, request_id, by=self.maker_as_approver)
        except SelfApproval:
            assert self.asked[request_id].state == "pending"
            self.seen["self-approval"] += 1
        except RequestClosed:
            assert self.asked[request_id].state != "pending"
        else:
            raise AssertionError("the maker approved their own request")

    @rule(request_id=requests, who=st.sampled_from(APPROVERS))
    def reject(self, request_id: str, who: str) -> None:
        model = self.asked[request_id]
        try:
            approvals.reject(self.books, request_id, reason="没有发票", by=self.people[who])
        except RequestClosed:
            assert model.state != "pending" or who in model.approvers
            return
        if model.state == "rejected" and model.rejected_by == who:
            return  # the same rejection again is a retry: answered, nothing changes
        assert model.state == "pending" and who not in model.approvers
        model.state, model.rejected_by = "rejected", who

    @rule(request_id=requests)
    def withdraw(self, request_id: str) -> None:
        model = self.asked[request_id]
        try:
            approvals.withdraw(self.books, request_id, by=self.maker)
        except RequestClosed:
            assert model.state != "pending"
            return
        assert model.state == "pending"
        model.state = "withdrawn"

    @rule(request_id=requests)
    def expire(self, request_id: str) -> None:
        with self.books.engine.begin() as conn:
            conn.execute(
                update(tables.approval_requests)
                .where(tables.approval_requests.c.id == request_id)
                .values(expires_at="2000-01-01T00:00:00+00:00")
            )
        if self.asked[request_id].state == "pending":
            self.asked[request_id].state = "expired"

    @invariant()
    def no_request_is_posted_twice_nor_without_its_checkers(self) -> None:
        if not hasattr(self, "books"):
            return
        with self.books.engine.connect() as conn:
            rows = conn.execute(
                select(tables.journal_entries.c.maker, tables.journal_entries.c.data).where(
                    tables.journal_entries.c.kind == "disbursement"
                )
            ).all()
        posted = Counter()
        for maker, data in rows:
            approval = json.loads(data).get("approval")
            if approval is None:
                continue
            request = self.asked[approval["request"]]
            posted[approval["request"]] += 1
            checkers = approval["checkers"]
            assert len(checkers) == len(set(checkers)) == request.needed
            assert maker == "张三" and "张三" not in checkers
        assert all(n == 1 for n in posted.values())
        assert set(posted) == {i for i, r in self.asked.items() if r.state == "posted"}

    @invariant()
    def cash_is_the_models_and_never_negative(self) -> None:
        if not hasattr(self, "books"):
            return
        with read_only(self.books.engine) as repo:
            assert fund_cash(repo, FUND, "CNY") == self.cash >= 0

    def teardown(self) -> None:
        if hasattr(self, "books"):
            self.books.engine.dispose()


def test_maker_checker_behaves_like_its_model(database_url, tmp_path):
    ApprovalMachine.url = database_url  # type: ignore[attr-defined]
    ApprovalMachine.tmp = str(tmp_path)  # type: ignore[attr-defined]
    ApprovalMachine.TestCase.settings = settings(
        max_examples=25,
        stateful_step_count=40,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    ApprovalMachine.seen.clear()
    ApprovalMachine.TestCase().runTest()
    assert ApprovalMachine.seen["posted"] and ApprovalMachine.seen["self-approval"], (
        ApprovalMachine.seen
    )
