"""The API's resources: one blueprint per area, registered in this order (the spec's order)."""

from __future__ import annotations

from collections.abc import Sequence

from flask import Flask
from flask_smorest import Api

from api.blueprint import Blueprint

__all__ = ["register"]


def register(
    app: Flask, api: Api, *, also: Sequence[Blueprint] = (), document: bool = True
) -> None:
    """Register every blueprint, then those of `also`, on `app` and, unless `document` is false
    (`api.spec` already holds this code's document), in the OpenAPI document of `api`."""
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
        erasure,
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
        erasure,
        places,
        campaigns,
        chiefs,
    ):
        _register(app, api, module.blp, document)
    from api.resources import issuers  # the receipts' issuers: documented after the receipts

    for blp in (*also, issuers.blp):
        _register(app, api, blp, document)
    app.register_blueprint(meta.pages)
    app.register_blueprint(audits.pages)
    app.register_blueprint(programme_pages.pages)


def _register(app: Flask, api: Api, blp: Blueprint, document: bool) -> None:
    if document:
        api.register_blueprint(blp)
    else:  # what flask-smorest's register_blueprint does, without the documenting
        app.extensions["flask-smorest"]["blp_name_to_api"][blp.name] = api
        app.register_blueprint(blp)
