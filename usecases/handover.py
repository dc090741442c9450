"""In-kind handovers: goods received in kind passed on to a project or recipient.

Invariants owned here:
- A handover posts its entry (`ledger.services.hand_over_in_kind`), records the quantity and
  value per gift, and writes its audit event in one unit of work; it never passes on more than
  the gift brought (`BeyondReceived`, nothing is recorded).
- A quantity handed over is written in plain digits (`QUANTITY_PATTERN`: up to 12 digits and
  6 decimals), whichever door it came through, so the books never hold `1e3` or ` 4`.
- Evidence ids named with a handover must be attachments of the gift (the delivery note, the
  recipient's signed acknowledgment), attached before; more can be attached to the handover's
  entry afterwards.
"""

from __future__ import annotations

import re
from typing import Any

from ledger.entries import PostedEntry
from ledger.errors import InvalidEntry
from ledger.services import hand_over_in_kind
from ledger.storage import evidence_store as records
from ledger.storage.unit_of_work import UnitOfWork
from usecases import delivery
from usecases.books import Books
from usecases.unit import Actor, AuditFacts, read, write

__all__ = ["QUANTITY_PATTERN", "hand_over", "handovers_of"]

#: How a quantity handed over is written: digits, and at most six decimals.
QUANTITY_PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,6})?$"
_QUANTITY = re.compile(QUANTITY_PATTERN)


def hand_over(
    books: Books,
    gift_entry_id: str,
    *,
    by: Actor,
    key: str | None = None,
    audit: AuditFacts | None = None,
    **details: Any,
) -> PostedEntry:
    """Pass (part of) an in-kind gift on, at carrying value: Dr 5101 / Cr 1201 or 1501.

    `details`: quantity, recipient, handed_over_on, project, value (Money or None), evidence
    (attachment ids of the gift), memo.

    Raises:
        NotFound, BeyondReceived, UnknownProject, InvalidEntry (a quantity not written as
        `QUANTITY_PATTERN`), PeriodClosed, IdempotencyConflict: nothing is recorded.
    """

    if not _QUANTITY.match(str(details.get("quantity", ""))):
        raise InvalidEntry("quantity must be digits, with at most 6 decimals", field="quantity")

    def work(uow: UnitOfWork) -> PostedEntry:
        for attachment_id in details.get("evidence", ()):
            doc = records.get_attachment(uow.connection, attachment_id)
            if doc is None or doc.subject_id != gift_entry_id:
                raise InvalidEntry(
                    f"evidence {attachment_id!r} is not an attachment of the gift",
                    field="evidence",
                )
        posted = hand_over_in_kind(
            uow, gift_entry_id=gift_entry_id, maker=by.name, key=key, **details
        )
        delivery.gift_handed_over(uow, posted)  # `gift.spent`, with this commit
        return posted

    return write(books, work, audit=audit, key=key, aliases={"date": "handed_over_on"})


def handovers_of(books: Books, gift_entry_id: str) -> list[dict[str, Any]]:
    """The handovers of one gift, oldest first (quantity, value, recipient, project, date)."""
    return read(books, lambda repo: records.handovers_of(repo.conn, gift_entry_id))
