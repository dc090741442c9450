"""Maker-checker run beside a model: requests, approvals, rejections, withdrawals, expiries,
of disbursements (within the project's budget, or over it with a reason), scholarship awards
(within what the fund can pay) and their payouts.

Invariants after every step: no request is posted twice; an entry that needed approval (at or
above the policy's bar, or over budget) carries its checkers (as many as its policy asked, none
of them the maker), and no such entry exists without them; a request is posted exactly when the
model says so; the fund's cash, restricted net assets and unpaid awards equal the model's, and
neither cash nor restricted net assets ever go below zero.
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
from ledger.balances import fund_cash, fund_summary
from ledger.errors import (
    InsufficientFunds,
    OverBudget,
    RequestClosed,
    RequestExpired,
    SelfApproval,
)
from ledger.money import Money
from ledger.storage import tables
from ledger.storage.db import init_books, make_engine
from ledger.storage.unit_of_work import UnitOfWork, read_only
from usecases import approvals, scholarships, spending
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
BUDGET = 3 * BAR // 2  # the project's budget: 15,000.00 CNY, within reach of one large payment


@dataclass
class Asked:
    """The model of one request."""

    amount: int
    needed: int
    operation: str = "disbursement"
    over_budget: bool = False
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
        self.restricted = 0  # restricted net assets: every gift here is restricted
        self.spent = 0  # program expense on the project (counts against its budget)
        self.awards: dict[str, int] = {}  # award id -> unpaid
        self.asked: dict[str, Asked] = {}
        self.needed = 1

    @initialize()
    def open_books(self) -> None:
        engine = self._fresh_engine()
        self.books = open_books(engine, Path(self.tmp), group_commit_max=1)  # type: ignore[attr-defined]
        with UnitOfWork(engine) as uow:
            services.open_fund(uow, code=FUND, name="炉霍", restricted=True, purpose="clinic")
            services.open_project(
                uow,
                code=PROJECT,
                name="卫生室",
                fund=FUND,
                county="炉霍县",
                budget=Money(BUDGET, "CNY"),
            )
            self.donor = services.register_donor(uow, name="王秀英").id
            self.beneficiary = services.register_beneficiary(
                uow, cohort="2026秋", county="炉霍县", personal={}, secret=b"k" * 32
            ).id
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
        self.restricted += minor

    def _spend(self, minor: int) -> None:
        """What spending releases: the restriction, for what restricted money is left."""
        self.restricted -= min(minor, self.restricted)

    @property
    def unpaid(self) -> int:
        return sum(self.awards.values())

    @rule(two=st.booleans())
    def set_policy(self, two: bool) -> None:
        approvals.set_policy(self.books, FUND, {"approvers": 2 if two else 1}, by=SYSTEM)
        self.needed = 2 if two else 1

    @rule(target=requests, minor=payments, over=st.booleans())
    def disburse(self, minor: int, over: bool) -> MultipleResults[str]:
        """Pay the project; `over`: asked as an over-budget payment, with a reason."""
        try:
            result = spending.record_disbursement(
                self.books,
                by=self.maker,
                fund=FUND,
                project=PROJECT,
                amount=Money(minor, "CNY"),
                paid_on=DAY,
                over_budget_reason="理事会同意" if over else "",
            )
        except OverBudget:
            assert not over and self.spent + minor > BUDGET
            self.seen["over budget"] += 1
            return multiple()
        except InsufficientFunds:
            assert minor > self.cash
            return multiple()
        assert minor <= self.cash and (over or self.spent + minor <= BUDGET)
        if minor < BAR and not over:
            assert not isinstance(result, ApprovalRequest)
            self.cash -= minor
            self.spent += minor
            self._spend(minor)
            return multiple()
        assert isinstance(result, ApprovalRequest) and result.approvals_needed == self.needed
        self.asked[result.id] = Asked(minor, self.needed, over_budget=over)
        return multiple(result.id)

    @rule(target=requests, minor=payments)
    def award(self, minor: int) -> MultipleResults[str]:
        """Award a scholarship: never more than cash less unpaid awards (no pledges here)."""
        try:
            result = scholarships.award_scholarship(
                self.books,
                by=self.maker,
                fund=FUND,
                beneficiary_id=self.beneficiary,
                amount=Money(minor, "CNY"),
                term="2026秋",
                awarded_on=DAY,
            )
        except InsufficientFunds:
            assert minor > self.cash - self.unpaid
            self.seen["award beyond what the fund can pay"] += 1
            return multiple()
        assert minor <= self.cash - self.unpaid
        if minor < BAR:
            assert not isinstance(result, ApprovalRequest)
            self.awards[result.award.id] = minor
            self._spend(minor)
            return multiple()
        assert isinstance(result, ApprovalRequest)
        self.asked[result.id] = Asked(minor, self.needed, operation="award")
        return multiple(result.id)

    @rule(data=st.data())
    def pay_out(self, data: st.DataObject) -> None:
        open_awards = sorted(a for a, unpaid in self.awards.items() if unpaid)
        if not open_awards:
            return
        award_id = data.draw(st.sampled_from(open_awards))
        owed = self.awards[award_id]
        try:
            scholarships.pay_scholarship(
                self.books,
                award_id=award_id,
                amount=Money(owed, "CNY").to_decimal_string(),
                currency="CNY",
                paid_on=DAY,
                by=self.maker,
            )
        except InsufficientFunds:
            assert owed > self.cash
            return
        assert owed <= self.cash
        self.cash -= owed
        self.awards[award_id] = 0

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
        except (InsufficientFunds, OverBudget) as refused:
            assert model.state == "pending" and len(model.approvers) + 1 == model.needed
            assert not self._fits(model), refused
            self.seen["refused, stays pending"] += 1
            return
        assert model.state == "pending" and who not in model.approvers
        model.approvers.append(who)
        if len(model.approvers) == model.needed:
            assert done.state == "posted" and self._fits(model)
            model.state = "posted"
            self._post(model, done.entry_id or "")
            self.seen["posted"] += 1
            if model.over_budget and self.spent > BUDGET:
                self.seen["posted over budget"] += 1
        else:
            assert done.state == "pending"

    def _fits(self, model: Asked) -> bool:
        """Whether the request's operation may post now (every rule checked again)."""
        if model.operation == "award":
            return model.amount <= self.cash - self.unpaid
        budget_ok = model.over_budget or self.spent + model.amount <= BUDGET
        return budget_ok and model.amount <= self.cash

    def _post(self, model: Asked, entry_id: str) -> None:
        self._spend(model.amount)
        if model.operation == "award":
            t = tables.award_table
            with self.books.engine.connect() as conn:
                award_id = conn.execute(select(t.c.id).where(t.c.entry_id == entry_id)).scalar()
            self.awards[str(award_id)] = model.amount
            return
        self.cash -= model.amount
        self.spent += model.amount

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
        e, p = tables.journal_entries.c, tables.postings.c
        with self.books.engine.connect() as conn:
            rows = conn.execute(
                select(e.maker, e.data, p.amount)
                .join(tables.postings, p.entry_id == e.id)
                .where(e.kind.in_(("disbursement", "scholarship_award")), p.account == "5101")
            ).all()
        posted = Counter()
        for maker, data, amount in rows:
            facts = json.loads(data)
            approval = facts.get("approval")
            if amount >= BAR or "over_budget" in facts:
                assert approval is not None  # no entry without its required checker
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
    def cash_and_restricted_net_assets_are_the_models_and_never_negative(self) -> None:
        if not hasattr(self, "books"):
            return
        with read_only(self.books.engine) as repo:
            assert fund_cash(repo, FUND, "CNY") == self.cash >= 0
            summary = fund_summary(repo, FUND)
            assert summary.restricted_net_assets == self.restricted >= 0
            unpaid = -repo.total("2209", FUND)[0]
        assert unpaid == self.unpaid >= 0

    def teardown(self) -> None:
        if hasattr(self, "books"):
            self.books.engine.dispose()


def test_maker_checker_behaves_like_its_model(database_url, tmp_path):
    ApprovalMachine.url = database_url  # type: ignore[attr-defined]
    ApprovalMachine.tmp = str(tmp_path)  # type: ignore[attr-defined]
    ApprovalMachine.TestCase.settings = settings(
        max_examples=60,  # enough runs that each path the last line asks for is met
        stateful_step_count=40,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    ApprovalMachine.seen.clear()
    ApprovalMachine.TestCase().runTest()
    seen = ApprovalMachine.seen
    assert seen["posted"] and seen["self-approval"] and seen["over budget"], seen
