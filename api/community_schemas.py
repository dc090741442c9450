"""Schemas of the programmes' API (`api.resources.community`) and their presenters.

Beside `api.schemas` (whose field types they use) to keep that shared module's edits small.
Amounts are decimal strings; a need's and a sign-up's contact are never in a need's output.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, post_load, validate

from api.schemas import Amount, LedgerDate, Memo, OperationIn, Text, not_blank
from ledger.money import Money, format_minor
from usecases import community, recurring

__all__ = [
    "DeliveryIn",
    "HoursIn",
    "NeedDeclineIn",
    "NeedEditIn",
    "NeedIn",
    "NeedListArgs",
    "NeedOut",
    "NeedPublishIn",
    "NeedReportIn",
    "NeedsOut",
    "OfferIn",
    "OfferListArgs",
    "OfferOut",
    "OffersOut",
    "RecurringIn",
    "RecurringOut",
    "RecurringsOut",
    "RemindersOut",
    "ServiceIn",
    "ServiceOut",
    "ServicesOut",
    "SignUpIn",
    "SignUpOut",
    "SignUpsOut",
    "goods_lines",
    "present_need",
    "present_offer",
    "present_reminder",
    "present_schedule",
    "present_service",
    "present_signup",
]


def _text(max_length: int, **kwargs: Any) -> Text:
    return Text(validate=[validate.Length(min=1, max=max_length), not_blank], **kwargs)


def _memo(max_length: int, **kwargs: Any) -> Memo:
    return Memo(validate=[validate.Length(min=1, max=max_length), not_blank], **kwargs)


def _cny(**kwargs: Any) -> fields.String:
    return fields.String(validate=validate.OneOf(("CNY",)), **kwargs)


class CnyIn(OperationIn):
    """A body whose amounts are CNY: an amount sent without `currency` is read as CNY."""

    @post_load
    def _amounts_in_cny(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        for name, value in data.items():
            if isinstance(value, str) and isinstance(self.fields.get(name), Amount):
                data[name] = Money.parse(value, "CNY")
        return data


class GoodsLineSchema(Schema):
    item = _text(200, required=True)
    quantity = fields.Integer(
        required=True, strict=True, validate=validate.Range(1, community.MAX_QUANTITY)
    )
    unit = Text(load_default="", validate=validate.Length(max=20))


def goods_lines(raw: Any) -> list[community.GoodsLine]:
    """Loaded goods lines as the use case takes them."""
    return [community.GoodsLine(g["item"], g["quantity"], g.get("unit", "")) for g in raw or []]


class NeedIn(CnyIn):
    title = _text(community.TITLE_MAX, required=True)
    description = _memo(community.TEXT_MAX, required=True)
    category = fields.String(required=True, validate=validate.OneOf(community.CATEGORIES))
    place = _text(40, required=True, metadata={"description": "a place code (GB/T 2260 or finer)"})
    kind = fields.String(required=True, validate=validate.OneOf(community.KINDS))
    goal = Amount(load_default=None, currency_field="currency")
    currency = _cny(load_default="CNY")
    goods = fields.List(fields.Nested(GoodsLineSchema), load_default=list)
    hours = fields.Integer(load_default=None, strict=True)
    contact = _memo(community.CONTACT_MAX, required=True, metadata={"description": "private"})


class NeedListArgs(Schema):
    status = fields.String(load_default=None, validate=validate.OneOf(community.STATUSES))
    category = fields.String(load_default=None, validate=validate.OneOf(community.CATEGORIES))
    place = Text(load_default=None, validate=validate.Length(min=1, max=40))


class NeedPublishIn(Schema):
    fund = _text(40, required=True)
    project = Text(load_default=None, allow_none=True, validate=validate.Length(max=40))


class NeedDeclineIn(Schema):
    reason = _memo(2000, required=True)


class NeedEditIn(Schema):
    title = _text(community.TITLE_MAX, required=True)
    description = _memo(community.TEXT_MAX, required=True)


class NeedReportIn(Schema):
    report = _memo(5000, required=True)


class GoodsOut(Schema):
    item = fields.String(required=True)
    quantity = fields.Integer(required=True)
    unit = fields.String(required=True)


class OfferOut(Schema):
    id = fields.String(required=True)
    need_id = fields.String(required=True)
    donor_id = fields.String(required=True)
    kind = fields.String(required=True)
    at = fields.String(required=True)
    by = fields.String(required=True)
    note = fields.String(required=True)
    pledge_id = fields.String(allow_none=True, required=True)
    amount = fields.String(allow_none=True, required=True)
    paid = fields.String(allow_none=True, required=True)
    goods = fields.List(fields.Nested(GoodsOut), required=True)
    delivered = fields.List(fields.Nested(GoodsOut), required=True)
    hours = fields.Integer(required=True)
    hours_served = fields.Integer(required=True)
    fulfilled = fields.Boolean(required=True)


class NeedOut(Schema):
    id = fields.String(required=True)
    posted_at = fields.String(required=True)
    status = fields.String(required=True)
    category = fields.String(required=True)
    place = fields.String(required=True)
    kind = fields.String(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    goal = fields.String(allow_none=True, required=True)
    pledged = fields.String(required=True)
    paid = fields.String(required=True)
    goods = fields.List(fields.Nested(GoodsOut), required=True)
    delivered = fields.List(fields.Nested(GoodsOut), required=True)
    hours = fields.Integer(allow_none=True, required=True)
    hours_served = fields.Integer(required=True)
    fund = fields.String(allow_none=True, required=True)
    project = fields.String(allow_none=True, required=True)
    reason = fields.String(required=True)
    report = fields.String(required=True)
    offers = fields.List(fields.Nested(OfferOut), required=True)


class NeedsOut(Schema):
    items = fields.List(fields.Nested(NeedOut), required=True)
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)


class OfferIn(CnyIn):
    need_id = _text(40, required=True)
    donor_id = _text(40, required=True)
    kind = fields.String(required=True, validate=validate.OneOf(community.KINDS))
    amount = Amount(load_default=None)
    currency = _cny(load_default="CNY")
    goods = fields.List(fields.Nested(GoodsLineSchema), load_default=list)
    hours = fields.Integer(load_default=None, strict=True)
    note = Memo(load_default="", validate=validate.Length(max=2000))


class OfferListArgs(Schema):
    need_id = Text(load_default=None, validate=validate.Length(min=1, max=40))


class OffersOut(Schema):
    items = fields.List(fields.Nested(OfferOut), required=True)


class DeliveryIn(CnyIn):
    goods = fields.List(fields.Nested(GoodsLineSchema), required=True)
    fair_value = Amount(required=True)
    currency = _cny(load_default="CNY")
    valuation_basis = _text(500, required=True)
    received_on = LedgerDate(required=True)
    evidence = Text(load_default="", validate=validate.Length(max=500))


class HoursIn(Schema):
    hours = fields.Integer(required=True, strict=True)
    served_on = LedgerDate(required=True)


class ServiceIn(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(community.SERVICE_KINDS))
    title = _text(community.TITLE_MAX, required=True)
    description = _memo(5000, required=True)
    place = _text(40, required=True)
    starts_on = LedgerDate(required=True)
    ends_on = LedgerDate(required=True)
    capacity = fields.Integer(required=True, strict=True)


class ServiceOut(Schema):
    id = fields.String(required=True)
    kind = fields.String(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    place = fields.String(required=True)
    starts_on = fields.String(required=True)
    ends_on = fields.String(required=True)
    capacity = fields.Integer(required=True)
    signed_up = fields.Integer(required=True)
    places_left = fields.Integer(required=True)
    attended = fields.Integer(required=True)


class ServicesOut(Schema):
    items = fields.List(fields.Nested(ServiceOut), required=True)
    person_times_served = fields.Integer(required=True)


class SignUpIn(Schema):
    name = _text(100, required=True)
    contact = _text(community.CONTACT_MAX, required=True)


class SignUpOut(Schema):
    id = fields.String(required=True)
    service_id = fields.String(required=True)
    number = fields.Integer(required=True)
    at = fields.String(required=True)
    attended = fields.Boolean(required=True)
    name = fields.String(allow_none=True)
    contact = fields.String(allow_none=True)
    contact_erased_at = fields.String(
        allow_none=True,
        metadata={"description": "when the name and contact were erased (then not shown)"},
    )


class SignUpsOut(Schema):
    items = fields.List(fields.Nested(SignUpOut), required=True)


class RecurringIn(CnyIn):
    donor_id = _text(40, required=True)
    fund = _text(40, required=True)
    instalment = Amount(required=True)
    currency = _cny(load_default="CNY")
    frequency = fields.String(required=True, validate=validate.OneOf(tuple(recurring.FREQUENCIES)))
    count = fields.Integer(required=True, strict=True)
    first_due = LedgerDate(required=True)
    purpose = _text(200, required=True)


class InstalmentOut(Schema):
    number = fields.Integer(required=True)
    due_on = fields.String(required=True)
    amount = fields.String(required=True)
    paid = fields.String(required=True)
    status = fields.String(required=True)


class RecurringOut(Schema):
    pledge_id = fields.String(required=True)
    donor_id = fields.String(required=True)
    fund = fields.String(required=True)
    purpose = fields.String(required=True)
    frequency = fields.String(required=True)
    instalment = fields.String(required=True)
    count = fields.Integer(required=True)
    total = fields.String(required=True)
    paid = fields.String(required=True)
    first_due = fields.String(required=True)
    instalments = fields.List(fields.Nested(InstalmentOut), required=True)


class RecurringsOut(Schema):
    items = fields.List(fields.Nested(RecurringOut), required=True)


class ReminderOut(Schema):
    pledge_id = fields.String(required=True)
    donor_id = fields.String(required=True)
    fund = fields.String(required=True)
    purpose = fields.String(required=True)
    instalment = fields.Nested(InstalmentOut, required=True)
    days_late = fields.Integer(required=True)


class RemindersOut(Schema):
    items = fields.List(fields.Nested(ReminderOut), required=True)


def _cny_text(minor: int | None) -> str | None:
    return None if minor is None else format_minor(minor, "CNY")


def _goods(lines: Any) -> list[dict[str, Any]]:
    return [{"item": g.item, "quantity": g.quantity, "unit": g.unit} for g in lines]


def present_offer(o: community.Offer) -> dict[str, Any]:
    money = o.kind == "money"
    return {
        "id": o.id,
        "need_id": o.need_id,
        "donor_id": o.donor_id,
        "kind": o.kind,
        "at": o.at,
        "by": o.by,
        "note": o.note,
        "pledge_id": o.pledge_id,
        "amount": _cny_text(o.amount_minor) if money else None,
        "paid": _cny_text(o.paid_minor) if money else None,
        "goods": _goods(o.goods),
        "delivered": _goods(o.delivered),
        "hours": o.hours,
        "hours_served": o.hours_served,
        "fulfilled": o.fulfilled,
    }


def present_need(n: community.Need) -> dict[str, Any]:
    return {
        "id": n.id,
        "posted_at": n.posted_at,
        "status": n.status,
        "category": n.category,
        "place": n.place,
        "kind": n.kind,
        "title": n.title,
        "description": n.description,
        "goal": _cny_text(n.goal_minor),
        "pledged": format_minor(n.pledged_minor, "CNY"),
        "paid": format_minor(n.paid_minor, "CNY"),
        "goods": _goods(n.goods),
        "delivered": _goods(n.delivered),
        "hours": n.hours,
        "hours_served": n.hours_served,
        "fund": n.fund,
        "project": n.project,
        "reason": n.reason,
        "report": n.report,
        "offers": [present_offer(o) for o in n.offers],
    }


def present_service(s: community.Service) -> dict[str, Any]:
    return {
        "id": s.id,
        "kind": s.kind,
        "title": s.title,
        "description": s.description,
        "place": s.place,
        "starts_on": s.starts_on.isoformat(),
        "ends_on": s.ends_on.isoformat(),
        "capacity": s.capacity,
        "signed_up": s.signed_up,
        "places_left": s.places_left,
        "attended": s.attended,
    }


def present_signup(
    s: community.SignUp, contact: dict[str, str] | None, erased_at: str | None = None
) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "id": s.id,
        "service_id": s.service_id,
        "number": s.number,
        "at": s.at,
        "attended": s.attended,
    }
    if contact is not None:
        shown.update(name=contact.get("name"), contact=contact.get("contact"))
    if erased_at is not None:
        shown["contact_erased_at"] = erased_at
    return shown


def _instalment(i: recurring.Instalment) -> dict[str, Any]:
    return {
        "number": i.number,
        "due_on": i.due_on.isoformat(),
        "amount": format_minor(i.amount_minor, "CNY"),
        "paid": format_minor(i.paid_minor, "CNY"),
        "status": i.status,
    }


def present_schedule(s: recurring.Schedule) -> dict[str, Any]:
    return {
        "pledge_id": s.pledge_id,
        "donor_id": s.donor_id,
        "fund": s.fund,
        "purpose": s.purpose,
        "frequency": s.frequency,
        "instalment": format_minor(s.instalment_minor, "CNY"),
        "count": s.count,
        "total": format_minor(s.total_minor, "CNY"),
        "paid": format_minor(s.paid_minor, "CNY"),
        "first_due": s.first_due.isoformat(),
        "instalments": [_instalment(i) for i in s.instalments],
    }


def present_reminder(r: recurring.Reminder) -> dict[str, Any]:
    s = r.schedule
    return {
        "pledge_id": s.pledge_id,
        "donor_id": s.donor_id,
        "fund": s.fund,
        "purpose": s.purpose,
        "instalment": _instalment(r.instalment),
        "days_late": r.days_late,
    }
