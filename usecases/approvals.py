"""Maker-checker: approval requests decided by approvers, and the funds' approval policies.

Invariants owned here:
- The maker never decides their own request: the check is by user, so none of the maker's
  tokens can approve or reject it (`SelfApproval`). Deciding needs the approver role
  (`NotAnApprover`); only the maker withdraws a pending request.
- A request is decided in one unit of work under the books' writer lock: concurrent approvals
  of one request are serialised, and the one that completes it posts it exactly once; the
  others find it closed (`RequestClosed`). An approver decides a request at most once (the
  primary key of `approval_decisions`).
- The approval that completes a request posts the operation then, as its maker, with every rule
  checked again (cash, closed periods, open accounts, ...). If the operation no longer fits,
  the approval is refused with the usual error and nothing of it is kept: the request stays
  pending. An expired request cannot be approved (`RequestExpired`).
- The entry carries its checkers where the hash chain covers them: its `data` gets
  `approval: {"request": id, "checkers": [display names]}`, and `maker` is the request's maker.
- Every policy change is a new version (append-only) and an audit event.
- Documents attached to a pending request (`usecases.evidence.attach`, subject
  ``approval_request``) are carried to the entry its approval posts, in the same unit of work
  (`usecases.evidence.carry_to_entry`): chained records on the entry naming the request's.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import func, insert, select, update

from ledger.approvals import Policy, parse_policy, policy_json
from ledger.entries import JournalEntry, PostedEntry
from ledger.errors import (
    NotAnApprover,
    NotFound,
    RequestClosed,
    RequestExpired,
    SelfApproval,
    UnknownFund,
)
from ledger.storage.tables import approval_decisions, approval_policies, approval_requests
from ledger.storage.unit_of_work import UnitOfWork
from usecases import corrections, scholarships, spending
from usecases.books import Books
from usecases.evidence import carry_to_entry
from usecases.gate import (
    ALL_FUNDS,
    ApprovalRequest,
    available,
    now_text,
    pending_outflows,
    policy_on,
    request_from_row,
)
from usecases.unit import Actor, AuditFacts, read, write

__all__ = [
    "APPROVER",
    "approve",
    "available_cash",
    "fund_policy",
    "get_request",
    "list_requests",
    "reject",
    "set_policy",
    "withdraw",
]

APPROVER = "approver"

Poster = Callable[..., PostedEntry]
POSTERS: Mapping[str, Poster] = {
    "disbursement": spending.disbursement_in,
    "transfer": spending.transfer_in,
    "award": scholarships.award_in,
    "reversal": corrections.reverse_in,
}


class _Checked:
    """The unit of work as an operation sees it at approval: its entry carries the approval."""

    def __init__(self, uow: UnitOfWork, approval: dict[str, Any]) -> None:
        object.__setattr__(self, "_uow", uow)
        object.__setattr__(self, "_approval", approval)

    def post(self, entry: JournalEntry, **kwargs: Any) -> PostedEntry:
        data = {**entry.data, "approval": self._approval}
        return self._uow.post(dataclasses.replace(entry, data=data), **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._uow, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._uow, name, value)


def _checkers(conn: Any, request_id: str) -> tuple[str, ...]:
    d = approval_decisions
    rows = conn.execute(
        select(d.c.checker)
        .where(d.c.request_id == request_id, d.c.decision == "approve")
        .order_by(d.c.decided_at)
    )
    return tuple(name for (name,) in rows)


def _load(uow: UnitOfWork, request_id: str) -> tuple[ApprovalRequest, Any, dict[str, str]]:
    """The request, its row, and who decided it so far (user id -> decision): one query."""
    t, d = approval_requests, approval_decisions
    rows = uow.connection.execute(
        select(t, d.c.user_id.label("by_user"), d.c.checker, d.c.decision)
        .outerjoin(d, d.c.request_id == t.c.id)
        .where(t.c.id == request_id)
        .order_by(d.c.decided_at)
    ).all()
    if not rows:
        raise NotFound(f"no approval request {request_id!r}", field="id")
    checkers = tuple(r.checker for r in rows if r.decision == "approve")
    decided = {r.by_user: r.decision for r in rows if r.by_user is not None}
    return request_from_row(rows[0], checkers, uow.now()), rows[0], decided


def _open(request: ApprovalRequest) -> None:
    if request.state == "expired":
        raise RequestExpired(f"request {request.id} expired at {request.expires_at}")
    if request.state != "pending":
        raise RequestClosed(f"request {request.id} is {request.state}")


def _decidable(uow: UnitOfWork, request_id: str, by: Actor) -> tuple[ApprovalRequest, Any]:
    request, row, decided = _load(uow, request_id)
    _open(request)
    if by.user_id is None or by.user_id == request.maker_user_id:
        raise SelfApproval("the maker of a request cannot decide it, with any of their tokens")
    if APPROVER not in by.roles:
        raise NotAnApprover("deciding a request needs the approver role")
    if by.user_id in decided:
        raise RequestClosed(f"you already decided request {request_id}")
    return request, row


def _decide(uow: UnitOfWork, request_id: str, by: Actor, decision: str, reason: str) -> None:
    uow.connection.execute(
        insert(approval_decisions).values(
            request_id=request_id,
            user_id=by.user_id,
            checker=by.name,
            decision=decision,
            reason=reason,
            decided_at=uow.now(),
        )
    )


def _close(uow: UnitOfWork, request_id: str, status: str, by: Actor, **values: Any) -> None:
    uow.connection.execute(
        update(approval_requests)
        .where(approval_requests.c.id == request_id, approval_requests.c.status == "pending")
        .values(status=status, closed_at=uow.now(), closed_by=by.name, **values)
    )


def _approve_in(uow: UnitOfWork, request_id: str, by: Actor) -> ApprovalRequest:
    request, row = _decidable(uow, request_id, by)
    _decide(uow, request_id, by, "approve", "")
    checkers = (*request.checkers, by.name)
    if len(checkers) < request.approvals_needed:
        return dataclasses.replace(request, checkers=checkers)
    maker = Actor(request.maker, (), request.maker_user_id)
    approval = {"request": request.id, "checkers": list(checkers)}
    entry = POSTERS[request.operation](
        _Checked(uow, approval), by=maker, key=row.idempotency_key, details=dict(request.details)
    )
    _close(uow, request_id, "posted", by, entry_id=entry.id)
    carry_to_entry(uow, request_id, entry.id, by)
    return dataclasses.replace(request, checkers=checkers, state="posted", entry_id=entry.id)


def approve(
    books: Books, request_id: str, *, by: Actor, audit: AuditFacts | None = None
) -> ApprovalRequest:
    """Approve a request; the approval that completes it posts the operation.

    Raises:
        NotFound, SelfApproval, NotAnApprover, RequestClosed, RequestExpired, and whatever the
        operation itself is refused with now (InsufficientFunds, PeriodClosed, ...): then the
        request stays pending.
    """
    return write(books, lambda uow: _approve_in(uow, request_id, by), audit=audit)


def reject(
    books: Books,
    request_id: str,
    *,
    reason: str,
    by: Actor,
    audit: AuditFacts | None = None,
) -> ApprovalRequest:
    """Reject a request, with a reason; it is closed and never posted.

    Raises:
        NotFound, SelfApproval, NotAnApprover, RequestClosed, RequestExpired.
    """

    def work(uow: UnitOfWork) -> ApprovalRequest:
        earlier, _row, decided = _load(uow, request_id)
        if earlier.state == "rejected" and decided.get(by.user_id or "") == "reject":
            if earlier.reason == reason:
                return earlier  # the same rejection again: a retry
        request, _row = _decidable(uow, request_id, by)
        _decide(uow, request_id, by, "reject", reason)
        _close(uow, request_id, "rejected", by, reason=reason)
        return dataclasses.replace(request, state="rejected", reason=reason)

    return write(books, work, audit=audit)


def withdraw(
    books: Books, request_id: str, *, by: Actor, audit: AuditFacts | None = None
) -> ApprovalRequest:
    """The maker withdraws their pending request.

    Raises:
        NotFound, NotAnApprover (not the maker), RequestClosed, RequestExpired.
    """

    def work(uow: UnitOfWork) -> ApprovalRequest:
        request, _row, _decided = _load(uow, request_id)
        _open(request)
        if by.user_id is None or by.user_id != request.maker_user_id:
            raise NotAnApprover("only the maker of a request may withdraw it")
        _close(uow, request_id, "withdrawn", by)
        return dataclasses.replace(request, state="withdrawn")

    return write(books, work, audit=audit)


def get_request(books: Books, request_id: str) -> ApprovalRequest:
    """One request. Raises: NotFound."""

    def work(repo: Any) -> ApprovalRequest:
        row = repo.conn.execute(
            select(approval_requests).where(approval_requests.c.id == request_id)
        ).first()
        if row is None:
            raise NotFound(f"no approval request {request_id!r}", field="id")
        return request_from_row(row, _checkers(repo.conn, request_id), now_text())

    return read(books, work)


def list_requests(
    books: Books, *, state: str | None = None, fund: str | None = None, limit: int = 200
) -> list[ApprovalRequest]:
    """Requests, newest first; `state` filters on the state as of now (expiry included)."""
    now = now_text()
    t = approval_requests

    def work(repo: Any) -> list[ApprovalRequest]:
        query = select(t).order_by(t.c.requested_at.desc()).limit(limit)
        if fund is not None:
            query = query.where(t.c.fund == fund)
        if state == "pending":
            query = query.where(t.c.status == "pending", t.c.expires_at > now)
        elif state == "expired":
            query = query.where(t.c.status == "pending", t.c.expires_at <= now)
        elif state is not None:
            query = query.where(t.c.status == state)
        rows = repo.conn.execute(query).all()
        return [request_from_row(r, _checkers(repo.conn, r.id), now) for r in rows]

    return read(books, work)


def fund_policy(books: Books, fund: str) -> Policy:
    """The policy that governs `fund` (its own, else the books', else the default)."""

    return read(books, lambda repo: policy_on(repo.conn, fund))


def set_policy(
    books: Books,
    fund: str,
    rules: Mapping[str, Any],
    *,
    by: Actor,
    audit: AuditFacts | None = None,
) -> Policy:
    """Set a fund's approval policy (`*`: the books' default), as a new version; audited.

    Raises:
        InvalidEntry: a bad policy (every problem named); UnknownFund.
    """
    policy = parse_policy(rules)
    facts = audit or AuditFacts(actor=by.name, role=by.role, action="policy.set", target=fund)

    def work(uow: UnitOfWork) -> Policy:
        if fund != ALL_FUNDS and uow.repo.get_fund(fund) is None:
            raise UnknownFund(f"no fund {fund!r}", field="fund")
        t = approval_policies
        latest = uow.connection.execute(
            select(func.max(t.c.version)).where(t.c.fund == fund)
        ).scalar()
        uow.connection.execute(
            insert(t).values(
                fund=fund,
                version=int(latest or 0) + 1,
                rules=json.dumps(policy_json(policy), sort_keys=True),
                set_at=uow.now(),
                set_by=by.name,
            )
        )
        return policy

    return write(books, work, audit=facts)


def available_cash(books: Books, fund: str, cash: Mapping[str, int]) -> list[tuple[str, int]]:
    """Per currency, `cash` less what pending requests would take out of `fund`."""
    return available(cash, read(books, lambda repo: pending_outflows(repo.conn, fund, now_text())))
