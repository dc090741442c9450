"""The pure maker-checker rules: what needs approval under a policy, and what a policy may say."""

from __future__ import annotations

import pytest

from ledger.approvals import (
    DEFAULT_POLICY,
    needs_approval,
    parse_policy,
    policy_json,
    state_of,
)
from ledger.errors import InvalidEntry
from ledger.money import Money


def test_the_default_asks_an_approver_from_ten_thousand_and_for_any_reversed_disbursement():
    assert not needs_approval(DEFAULT_POLICY, "disbursement", Money(999_999, "CNY"))
    assert needs_approval(DEFAULT_POLICY, "disbursement", Money(1_000_000, "CNY"))
    assert needs_approval(DEFAULT_POLICY, "transfer", Money(1_000_000, "HKD"))
    assert not needs_approval(DEFAULT_POLICY, "reversal", Money(100, "CNY"), reverses_kind="fee")
    assert needs_approval(DEFAULT_POLICY, "reversal", Money(1, "CNY"), reverses_kind="disbursement")
    assert DEFAULT_POLICY.approvers == 1 and DEFAULT_POLICY.expires_after_days == 14


def test_a_threshold_of_zero_is_always_and_null_is_never():
    policy = parse_policy({"thresholds": {"award": 0, "disbursement": None}})
    assert needs_approval(policy, "award", Money(1, "CNY"))
    assert not needs_approval(policy, "disbursement", Money(10**12, "CNY"))
    assert parse_policy(policy_json(policy)) == policy


def test_a_bad_policy_names_every_problem_at_once():
    with pytest.raises(InvalidEntry) as raised:
        parse_policy(
            {
                "thresholds": {"payroll": 1, "award": -5},
                "approvers": 3,
                "expires_after_days": 0,
                "colour": "red",
            }
        )
    message = raised.value.message
    for words in ("colour", "payroll", "award", "1 or 2", "days"):
        assert words in message


def test_a_pending_request_past_its_time_is_expired_and_nothing_else_is():
    assert state_of("pending", "2026-01-01T00:00:00+00:00", "2026-01-02T00:00:00+00:00") == (
        "expired"
    )
    assert state_of("pending", "2026-01-03T00:00:00+00:00", "2026-01-02T00:00:00+00:00") == (
        "pending"
    )
    assert state_of("posted", "2026-01-01T00:00:00+00:00", "2026-01-02T00:00:00+00:00") == (
        "posted"
    )
