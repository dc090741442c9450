"""The real ledger run beside a simple model, with the invariants checked after every step."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from sqlalchemy import text

from ledger import services
from ledger.balances import fund_cash, trial_balance
from ledger.errors import InsufficientFunds, Overpayment
from ledger.money import Money
from ledger.storage.db import init_books, make_engine
from ledger.storage.unit_of_work import UnitOfWork, read_only
from tests.builders import SECRET
from tests.hypothesis_profiles import SCALE

FUNDS = ("LUHUO", "JIN")
CURRENCIES = ("CNY", "HKD")
RATES = {"CNY": None, "HKD": "0.9215"}
DAY = dt.date(2026, 3, 2)
amounts = st.integers(min_value=1, max_value=500_000)


class LedgerMachine(RuleBasedStateMachine):
    entries = Bundle("entries")
    awards = Bundle("awards")
    checks = 0  # invariant checks run: one after the setup and one after every step
    runs = 0  # setups run (examples)

    def __init__(self) -> None:
        super().__init__()
        self.cash: dict[tuple[str, str], int] = defaultdict(int)
        self.unpaid: dict[str, int] = {}
        self.posted: dict[str, list[tuple[str, str, int]]] = {}
        # restricted net assets per (fund, currency), and what each entry did to them
        self.restricted: dict[tuple[str, str], int] = defaultdict(int)
        self.restricted_of: dict[str, list[tuple[str, str, int]]] = {}
        self.reversed: set[str] = set()

    @initialize()
    def open_books(self) -> None:
        LedgerMachine.runs += 1
        self.engine = self._fresh_engine()
        with UnitOfWork(self.engine) as uow:
            services.open_fund(uow, code="LUHUO", name="炉霍", restricted=True, purpose="clinic")
            services.open_fund(uow, code="JIN", name="锦基金", restricted=False)
            services.open_project(uow, code="P-LUHUO", name="卫生室", fund="LUHUO", county="炉霍县")
            services.open_project(uow, code="P-JIN", name="课程", fund="JIN", county="锦江区")
            self.donor = services.register_donor(uow, name="王秀英").id
            self.girl = services.register_beneficiary(
                uow, cohort="2024秋", county="炉霍县", personal={"name": "x"}, secret=SECRET
            ).id
            uow.commit()

    def _fresh_engine(self):  # type: ignore[no-untyped-def]
        import tempfile

        from tests.conftest import _reset_pg, engine_kind

        if engine_kind() == "postgresql":
            # The machine checks the ledger's rules, not durability: commits need not wait for
            # the disk (10,000 steps a CI run; see tests/hypothesis_profiles.py).
            fast = {"options": "-c synchronous_commit=off"}
            engine = make_engine(self.url, connect_args=fast)  # type: ignore[attr-defined]
            _reset_pg(engine)
            return engine
        folder = tempfile.mkdtemp(dir=self.tmp)  # type: ignore[attr-defined]
        engine = make_engine(f"sqlite:///{folder}/books.db")
        init_books(engine)
        return engine

    def _run(self, fn, **kwargs):  # type: ignore[no-untyped-def]
        with UnitOfWork(self.engine) as uow:
            result = fn(uow, **kwargs)
            uow.commit()
            return result

    def _track(self, entry) -> None:  # type: ignore[no-untyped-def]
        lines = [
            (p.fund, p.currency, p.amount) for p in entry.postings if p.account.startswith("1002-")
        ]
        self.posted[entry.id] = lines
        for fund, currency, amount in lines:
            self.cash[(fund, currency)] += amount
        restricted = [
            (p.fund, p.currency, -p.amount)
            for p in entry.postings
            if p.account in ("3102", "4101-R")
        ]
        self.restricted_of[entry.id] = restricted
        for fund, currency, amount in restricted:
            self.restricted[(fund, currency)] += amount

    def _released(self, entry, fund: str, currency: str, minor: int, before: int) -> None:  # type: ignore[no-untyped-def]
        """Spending released the restriction for what restricted money there was, no more."""
        released = sum(p.amount for p in entry.postings if p.account == "3102")
        assert released == (min(minor, before) if fund == "LUHUO" else 0)

    @rule(
        target=entries,
        fund=st.sampled_from(FUNDS),
        currency=st.sampled_from(CURRENCIES),
        minor=amounts,
    )
    def donate(self, fund: str, currency: str, minor: int) -> str:
        entry = self._run(
            services.record_donation,
            donor_id=self.donor,
            fund=fund,
            amount=Money(minor, currency),
            received_on=DAY,
            fx_rate=RATES[currency],
            fx_source="PBOC" if RATES[currency] else None,
        )
        self._track(entry)
        return entry.id

    @rule(
        target=entries,
        fund=st.sampled_from(FUNDS),
        currency=st.sampled_from(CURRENCIES),
        minor=amounts,
    )
    def disburse(self, fund: str, currency: str, minor: int) -> str:
        try:
            entry = self._run(
                services.record_disbursement,
                fund=fund,
                project=f"P-{fund}",
                amount=Money(minor, currency),
                paid_on=DAY,
            )
        except InsufficientFunds:
            assert self.cash[(fund, currency)] < minor
            return "refused"
        assert self.cash[(fund, currency)] >= minor
        self._released(entry, fund, currency, minor, self.restricted[(fund, currency)])
        self._track(entry)
        return entry.id

    @rule(target=awards, minor=amounts)
    def award(self, minor: int) -> str:
        can = self.cash[("LUHUO", "CNY")] - sum(self.unpaid.values())
        try:
            award, entry = self._run(
                services.award_scholarship,
                fund="LUHUO",
                beneficiary_id=self.girl,
                amount=Money(minor, "CNY"),
                term="2024秋",
                awarded_on=DAY,
            )
        except InsufficientFunds:
            assert minor > can  # more than cash less unpaid awards (no pledges here)
            return "refused"
        assert minor <= can
        self._released(entry, "LUHUO", "CNY", minor, self.restricted[("LUHUO", "CNY")])
        self._track(entry)
        self.unpaid[award.id] = minor
        return award.id

    @rule(award=awards, minor=amounts)
    def pay(self, award: str, minor: int) -> None:
        if award == "refused":
            return
        try:
            entry = self._run(
                services.pay_scholarship, award_id=award, amount=Money(minor, "CNY"), paid_on=DAY
            )
        except Overpayment:
            assert self.unpaid[award] < minor
            return
        except InsufficientFunds:
            assert self.cash[("LUHUO", "CNY")] < minor
            return
        self.unpaid[award] -= minor
        self._track(entry)

    @precondition(lambda self: bool(self.posted))
    @rule(entry=entries)
    def reverse(self, entry: str) -> None:
        if entry == "refused" or entry not in self.posted:
            return
        undo = [(f, c, -a) for f, c, a in self.posted[entry]]
        would_overdraw = any(self.cash[(f, c)] + a < 0 for f, c, a in undo)
        would_overdraw = would_overdraw or any(
            self.restricted[(f, c)] - a < 0 for f, c, a in self.restricted_of[entry]
        )
        try:
            rev = self._run(services.reverse, entry_id=entry, reason="test")
        except InsufficientFunds:
            assert would_overdraw
            return
        except Exception as e:
            assert entry in self.reversed, e
            return
        assert entry not in self.reversed and not would_overdraw
        self.reversed.add(entry)
        self._track(rev)
        self.posted.pop(rev.id)

    @invariant()
    def books_agree_with_the_model(self) -> None:
        if not hasattr(self, "engine"):
            return
        LedgerMachine.checks += 1
        with read_only(self.engine) as repo:
            for fund in FUNDS:
                for currency in CURRENCIES:
                    have = fund_cash(repo, fund, currency)
                    assert have == self.cash[(fund, currency)]
                    assert have >= 0
                    restricted = -sum(
                        repo.total(account, fund, currency)[0] for account in ("3102", "4101-R")
                    )
                    assert restricted == self.restricted[(fund, currency)] >= 0
            tb = trial_balance(repo)
            assert tb.total_debit == tb.total_credit
            per = repo.conn.execute(
                text(
                    "SELECT entry_id, fund, currency, SUM(amount) FROM postings "
                    "GROUP BY entry_id, fund, currency HAVING SUM(amount) <> 0"
                )
            ).all()
            assert per == []
            reversals = repo.conn.execute(
                text(
                    "SELECT e.reverses, SUM(p.amount) FROM journal_entries e JOIN postings p "
                    "ON p.entry_id IN (e.id, e.reverses) WHERE e.reverses IS NOT NULL "
                    "GROUP BY e.reverses, p.account, p.fund, p.currency HAVING SUM(p.amount) <> 0"
                )
            ).all()
            assert reversals == []
            sums = {tuple(r[:5]): int(r[5]) for r in repo.journal_sums()}
            stored = {tuple(r[:5]): int(r[5]) for r in repo.all_balances()}
            assert {k: v for k, v in sums.items() if v} == {k: v for k, v in stored.items() if v}

    def teardown(self) -> None:
        if hasattr(self, "engine"):
            self.engine.dispose()


def test_the_ledger_behaves_like_its_model(database_url, tmp_path):
    LedgerMachine.url = database_url  # type: ignore[attr-defined]
    LedgerMachine.tmp = str(tmp_path)  # type: ignore[attr-defined]
    # 375 steps a developer run; the CI profile runs at least 10,000 (tests/hypothesis_profiles.py)
    LedgerMachine.TestCase.settings = settings(
        max_examples=SCALE.machine_examples,
        stateful_step_count=SCALE.machine_steps,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    LedgerMachine.checks = LedgerMachine.runs = 0
    LedgerMachine.TestCase().runTest()
    steps = LedgerMachine.checks - LedgerMachine.runs
    print(f"state machine: {LedgerMachine.runs} runs, {steps} steps")  # -s shows the figures
    assert steps >= SCALE.min_machine_steps
