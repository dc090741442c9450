"""The API's resources: one blueprint per area, registered in this order (the spec's order)."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

__all__ = ["register"]


def register(app: Flask, api: Api) -> None:
    """Register every blueprint on `app` and in the OpenAPI document of `api`."""
    from api.resources import (
        accounts,
        approvals,
        audits,
        bank_statements,
        beneficiaries,
        campaigns,
        chiefs,
        community,
        delivery,
        disbursements,
        donations,
        donors,
        entries,
        evidence,
        funds,
        lists,
        meta,
        periods,
        places,
        pledges,
        programme_pages,
        projects,
        reports,
        scholarships,
        tokens,
        users,
    )

    for module in (
        funds,
        donors,
        projects,
        beneficiaries,
        pledges,
        donations,
        disbursements,
        scholarships,
        entries,
        lists,
        evidence,
        bank_statements,
        reports,
        accounts,
        periods,
        tokens,
        users,
        approvals,
        meta,
        audits,
        delivery,
        community,
        places,
        campaigns,
        chiefs,
    ):
        api.register_blueprint(module.blp)
    app.register_blueprint(meta.pages)
    app.register_blueprint(audits.pages)
    app.register_blueprint(programme_pages.pages)
