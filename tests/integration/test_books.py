"""Worked examples of the books, named after the platform's real scenarios (both engines)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from ledger import services
from ledger.balances import balance_of, fund_cash, fund_summary, trial_balance
from ledger.entries import Posting
from ledger.errors import (
    AccountClosed,
    AlreadyReversed,
    IdempotencyConflict,
    InsufficientFunds,
    InvalidEntry,
    NotFound,
    Overpayment,
    PeriodClosed,
    UnbalancedEntry,
    UnknownDonor,
    UnknownFund,
)
from ledger.integrity import verify_books
from ledger.money import Money
from ledger.storage.unit_of_work import UnitOfWork, read_only
from tests.builders import DAY, Books, cny


@pytest.fixture
def books(engine):
    b = Books(engine)
    b.fund("LUHUO")
    b.project("CLINIC")
    return b


def cash(engine, fund="LUHUO", currency="CNY"):
    with read_only(engine) as repo:
        return fund_cash(repo, fund, currency)


def entry_count(engine):
    with engine.connect() as conn:
        return conn.execute(text("SELECT COUNT(*) FROM journal_entries")).scalar_one()


def test_a_cash_gift_to_a_restricted_fund_is_restricted_income(books, engine):
    donor = books.donor()
    entry = books.donate("12000.00", donor=donor)
    assert [(p.account, p.amount) for p in entry.postings] == [
        ("1002-CNY", 1200000),
        ("4101-R", -1200000),
    ]
    assert entry.sequence == 1
    assert cash(engine) == 1200000


def test_a_gift_to_an_unrestricted_fund_is_unrestricted_income(books, engine):
    books.fund("JIN", restricted=False)
    entry = books.donate("50", donor=books.donor(), fund="JIN")
    assert entry.postings[1].account == "4101-U"


def test_a_restricted_hkd_gift_spent_on_luhuo_clinic_equipment_releases_the_restriction(
    books, engine
):
    donor = books.donor("陈大文", language="zh-Hant", region="HK")
    gift = books.donate(
        "10000.00", donor=donor, currency="HKD", fx_rate="0.9215", fx_source="中国人民银行中间价"
    )
    assert gift.postings[0].account == "1002-HKD"
    assert gift.postings[0].functional == 921500
    assert gift.data["fx_rate"] == "0.9215"
    spent = books.disburse("4000.00", currency="HKD")
    accounts = [(p.account, p.amount, p.functional) for p in spent.postings]
    assert ("5101", 400000, 368600) in accounts
    assert ("3102", 400000, 368600) in accounts and ("3101", -400000, -368600) in accounts
    with read_only(engine) as repo:
        summary = fund_summary(repo, "LUHUO")
    assert summary.cash == {"HKD": 600000}
    assert summary.raised == 921500
    assert summary.disbursed == 368600
    assert summary.restricted_net_assets == 921500 - 368600
    assert summary.unrestricted_net_assets == 0


def test_disbursement_beyond_fund_cash_is_refused_and_changes_nothing(books, engine):
    books.donate("600", donor=books.donor())
    before = entry_count(engine)
    with pytest.raises(InsufficientFunds):
        books.disburse("600.01")
    assert entry_count(engine) == before
    assert cash(engine) == 60000
    books.disburse("600")
    assert cash(engine) == 0


def test_cash_of_one_currency_cannot_pay_in_another(books):
    books.donate("100", donor=books.donor(), currency="USD", fx_rate="7.1", fx_source="PBOC")
    with pytest.raises(InsufficientFunds):
        books.disburse("1", currency="CNY")


def test_a_foreign_gift_without_a_rate_is_refused(books):
    with pytest.raises(InvalidEntry):
        books.donate("100", donor=books.donor(), currency="USD")


def test_a_pledge_is_receivable_and_payments_may_be_partial_but_never_over(books, engine):
    donor = books.donor("成都某科技有限公司", kind="organisation")
    pledge, entry = books.run(
        services.record_pledge, donor_id=donor, fund="LUHUO", amount=cny("10000"), pledged_on=DAY
    )
    assert entry is not None and entry.postings[0].account == "1122"
    first = books.donate("4000", donor=donor, pledge_id=pledge.id)
    assert first.kind.value == "pledge_payment"
    assert first.postings[1].account == "1122"
    with pytest.raises(Overpayment):
        books.donate("6000.01", donor=donor, pledge_id=pledge.id)
    books.donate("6000", donor=donor, pledge_id=pledge.id)
    with read_only(engine) as repo:
        assert fund_summary(repo, "LUHUO").pledges_receivable == 0
        assert fund_summary(repo, "LUHUO").raised == 1000000


def test_a_conditional_pledge_stays_off_the_books(books, engine):
    pledge, entry = books.run(
        services.record_pledge,
        donor_id=books.donor(),
        fund="LUHUO",
        amount=cny("5000"),
        pledged_on=DAY,
        conditional=True,
    )
    assert entry is None and pledge.conditional
    assert entry_count(engine) == 0


def test_surgical_equipment_in_kind_is_recorded_at_fair_value_with_its_basis(books):
    entry = books.run(
        services.record_in_kind_donation,
        donor_id=books.donor("某医疗器械公司"),
        fund="LUHUO",
        description="手术设备一批",
        quantity="1批",
        fair_value=cny("1050000"),
        valuation_basis="供应商发票",
        asset="equipment",
        received_on=DAY,
    )
    assert [(p.account, p.amount) for p in entry.postings] == [
        ("1501", 105000000),
        ("4101-R", -105000000),
    ]
    assert entry.data["valuation_basis"] == "供应商发票"


def test_goods_passed_on_to_a_donor_named_recipient_are_not_income(books):
    entry = books.run(
        services.record_in_kind_donation,
        donor_id=books.donor(),
        fund="LUHUO",
        description="医用耗材",
        quantity="300箱",
        fair_value=cny("30000"),
        valuation_basis="报关价值",
        received_on=DAY,
        pass_through_to="炉霍县人民医院",
    )
    assert {p.account for p in entry.postings} == {"1701", "2601"}


def test_a_scholarship_is_a_liability_until_paid_and_never_paid_beyond_it(books, engine):
    books.fund("GIRLS")
    books.donate("10000", donor=books.donor(), fund="GIRLS")
    girl = books.beneficiary()
    award, entry = books.run(
        services.award_scholarship,
        fund="GIRLS",
        beneficiary_id=girl,
        amount=cny("1900"),
        term="2024秋",
        awarded_on=DAY,
    )
    assert {p.account for p in entry.postings} >= {"5101", "2209", "3102", "3101"}
    assert all(p.party == girl for p in entry.postings if p.account in {"5101", "2209"})
    books.run(services.pay_scholarship, award_id=award.id, amount=cny("1000"), paid_on=DAY)
    with pytest.raises(Overpayment):
        books.run(services.pay_scholarship, award_id=award.id, amount=cny("900.01"), paid_on=DAY)
    books.run(services.pay_scholarship, award_id=award.id, amount=cny("900"), paid_on=DAY)
    assert cash(engine, "GIRLS") == 810000


def test_a_bank_fee_is_its_own_entry(books, engine):
    books.donate("100", donor=books.donor())
    fee = books.run(
        services.record_fee, fund="LUHUO", amount=cny("1.50"), paid_on=DAY, memo="手续费"
    )
    assert [(p.account, p.amount) for p in fee.postings] == [("5301", 150), ("1002-CNY", -150)]


def test_money_moves_between_funds_only_through_the_interfund_account(books, engine):
    books.fund("JIN", restricted=False)
    books.donate("500", donor=books.donor(), fund="JIN")
    entry = books.run(
        services.transfer_between_funds,
        from_fund="JIN",
        to_fund="LUHUO",
        amount=cny("200"),
        on=DAY,
        reason="理事会决议2026-3号",
    )
    assert {p.account for p in entry.postings} == {"1901", "1002-CNY"}
    assert cash(engine, "JIN") == 30000 and cash(engine, "LUHUO") == 20000
    with pytest.raises(InvalidEntry):
        books.run(
            services.transfer_between_funds,
            from_fund="JIN",
            to_fund="LUHUO",
            amount=cny("1"),
            on=DAY,
            reason=" ",
        )


def test_a_reversal_nets_to_zero_happens_once_and_is_not_itself_reversed(books, engine):
    gift = books.donate("300", donor=books.donor())
    rev = books.run(services.reverse, entry_id=gift.id, reason="重复录入")
    assert rev.reverses == gift.id
    assert all(a.amount == -b.amount for a, b in zip(gift.postings, rev.postings, strict=True))
    assert cash(engine) == 0
    with pytest.raises(AlreadyReversed):
        books.run(services.reverse, entry_id=gift.id, reason="again")
    with pytest.raises(AlreadyReversed):
        books.run(services.reverse, entry_id=rev.id, reason="undo")
    with pytest.raises(NotFound):
        books.run(services.reverse, entry_id="nope", reason="x")


def test_reversing_a_gift_already_spent_is_refused(books):
    gift = books.donate("300", donor=books.donor())
    books.disburse("200")
    with pytest.raises(InsufficientFunds):
        books.run(services.reverse, entry_id=gift.id, reason="bounced")


def test_a_closed_period_refuses_entries_and_reversals_land_in_the_open_one(books, engine):
    gift = books.donate("300", donor=books.donor(), on=dt.date(2026, 1, 15))
    books.run(services.close_period, period="2026-01")
    with pytest.raises(PeriodClosed):
        books.donate("1", donor=books.donor("x"), on=dt.date(2026, 1, 31))
    rev = books.run(services.reverse, entry_id=gift.id, reason="wrong fund")
    assert rev.occurred_on > dt.date(2026, 1, 31)
    books.run(services.close_period, period="2025")
    with pytest.raises(PeriodClosed):
        books.donate("1", donor=books.donor("y"), on=dt.date(2025, 6, 1))


def test_periods_that_have_not_ended_cannot_be_closed(books):
    with pytest.raises(InvalidEntry):
        books.run(services.close_period, period=str(dt.date.today().year + 1))


def test_the_same_idempotency_key_posts_once_and_other_content_conflicts(books, engine):
    donor = books.donor()
    a = books.donate("100", donor=donor, key="bank-ref-1")
    b = books.donate("100", donor=donor, key="bank-ref-1")
    assert a.id == b.id and entry_count(engine) == 1
    with pytest.raises(IdempotencyConflict):
        books.donate("101", donor=donor, key="bank-ref-1")


def test_unknown_references_are_refused(books):
    with pytest.raises(UnknownDonor):
        books.donate("1", donor="D-missing")
    with pytest.raises(UnknownFund):
        books.donate("1", donor=books.donor(), fund="NOPE")


def test_a_general_entry_must_balance_and_post_to_open_accounts(books, engine):
    books.donate("100", donor=books.donor())

    def post(lines):
        return books.run(services.post_general_entry, postings=lines, occurred_on=DAY, memo="调整")

    with pytest.raises(UnbalancedEntry):
        post(
            [
                Posting("5201", "LUHUO", 100, "CNY", 100),
                Posting("1002-CNY", "LUHUO", -99, "CNY", -99),
            ]
        )
    entry = post(
        [Posting("5201", "LUHUO", 100, "CNY", 100), Posting("1002-CNY", "LUHUO", -100, "CNY", -100)]
    )
    assert entry.kind.value == "general"
    books.run(services.close_account, code="5201")
    with pytest.raises(AccountClosed):
        post([Posting("5201", "LUHUO", 1, "CNY", 1), Posting("3101", "LUHUO", -1, "CNY", -1)])


def test_trial_balance_is_always_zero_and_balances_read_as_of_any_date(books, engine):
    donor = books.donor()
    books.donate("1000", donor=donor, on=dt.date(2026, 2, 1))
    books.donate(
        "50",
        donor=donor,
        currency="USD",
        fx_rate="7.1234",
        fx_source="PBOC",
        on=dt.date(2026, 2, 10),
    )
    books.disburse("700", on=dt.date(2026, 3, 1))
    with read_only(engine) as repo:
        tb = trial_balance(repo)
        assert tb.total_debit == tb.total_credit > 0
        early = balance_of(repo, account="1002-CNY", fund="LUHUO", as_of=dt.date(2026, 2, 5))
        assert early["CNY"] == 100000
        late = balance_of(repo, fund="LUHUO", project="CLINIC", as_of=dt.date(2026, 3, 31))
        assert late["CNY"] == 70000
        assert trial_balance(repo, as_of=dt.date(2026, 2, 28)).total_debit == 100000 + 35617


def test_verify_passes_on_honest_books(books, engine):
    donor = books.donor()
    for n in range(5):
        books.donate(f"{n + 1}00", donor=donor)
    books.disburse("300")
    with read_only(engine) as repo:
        report = verify_books(repo)
    assert report.ok, report.findings
    assert report.entries == 6 and len(report.merkle_root) == 64


def test_a_failed_operation_inside_a_unit_of_work_leaves_nothing_behind(books, engine):
    donor = books.donor()
    with UnitOfWork(engine) as uow:
        services.record_donation(
            uow, donor_id=donor, fund="LUHUO", amount=cny("10"), received_on=DAY
        )
        with pytest.raises(InsufficientFunds):
            services.record_disbursement(
                uow, fund="LUHUO", project="CLINIC", amount=cny("11"), paid_on=DAY
            )
        # no commit: the whole unit of work rolls back
    assert entry_count(engine) == 0


def test_sequences_stay_gapless_after_a_rollback(books, engine):
    donor = books.donor()
    books.donate("1", donor=donor)
    with UnitOfWork(engine) as uow:
        services.record_donation(
            uow, donor_id=donor, fund="LUHUO", amount=cny("2"), received_on=DAY
        )
    third = books.donate("3", donor=donor)
    assert third.sequence == 2


def test_beneficiary_personal_data_is_sealed_outside_the_journal_and_erasable(books, engine):
    from tests.builders import SECRET

    b = books.run(
        services.register_beneficiary,
        cohort="2024秋",
        county="炉霍县",
        personal={"name": "卓玛", "id_number": "513327201001010021"},
        secret=SECRET,
    )
    assert b.id.startswith("B-") and "卓玛" not in b.id
    with engine.connect() as conn:
        dump = " ".join(str(r) for r in conn.execute(text("SELECT * FROM beneficiaries")))
        raw = conn.execute(text("SELECT ciphertext FROM beneficiary_personal")).scalar_one()
    assert "卓玛" not in dump and "卓玛".encode() not in raw
    with UnitOfWork(engine) as uow:
        assert services.read_personal_data(uow, b.id) == {
            "name": "卓玛",
            "id_number": "513327201001010021",
        }
        uow.repo.destroy_personal_key(b.id)
        assert services.read_personal_data(uow, b.id) is None


def test_money_type_guards_the_services(books):
    with pytest.raises(Exception):
        Money.parse(12.5, "CNY")


def test_december_and_the_last_representable_month_close_or_refuse_cleanly(books):
    books.run(services.close_period, period="2025-12")
    with pytest.raises(PeriodClosed):
        books.donate("1", donor=books.donor(), on=dt.date(2025, 12, 31))
    with pytest.raises(InvalidEntry):
        books.run(services.close_period, period="9999-12")
