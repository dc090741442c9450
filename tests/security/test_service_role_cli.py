"""`huiquan service-role` and the options `huiquan init` takes to grant the service's role."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from cli.roles import apply_service_role, service_role_command, service_role_options
from ledger.storage.db import init_books, make_engine
from tests.security.conftest import Cluster

pytestmark = pytest.mark.postgres_only


@click.command()
@service_role_options
def init(owner_url: str, service_role: str | None, service_password_file: Path | None) -> None:
    """What `huiquan init` does with the options (the wiring proposed for cli/main.py)."""
    engine = make_engine(owner_url)
    try:
        init_books(engine)
        if service_role:
            for line in apply_service_role(engine, service_role, service_password_file):
                click.echo(line)
    finally:
        engine.dispose()


def test_init_with_a_service_role_creates_it_once_and_grants_it_again_on_every_run(
    cluster: Cluster, fresh_role: str, tmp_path: Path
):
    secret = tmp_path / "password"
    secret.write_text("s3cret\n", encoding="utf-8")
    args = ["--owner-url", cluster.owner_url, "--service-role", fresh_role]
    first = CliRunner().invoke(init, [*args, "--service-password-file", str(secret)])
    assert first.exit_code == 0, first.output
    assert f"service role: {fresh_role} created, password set" in first.output
    assert "DELETE on 2 (erased contacts only); no TRUNCATE" in first.output
    again = CliRunner().invoke(init, args)
    assert again.exit_code == 0, again.output
    assert f"service role: {fresh_role} kept\n" in again.output


def test_service_role_check_passes_for_the_granted_role_and_lists_what_is_wrong_with_the_owner(
    cluster: Cluster,
):
    runner = CliRunner()
    fine = runner.invoke(
        service_role_command, [cluster.service, "--owner-url", cluster.owner_url, "--check"]
    )
    assert fine.exit_code == 0, fine.output
    assert "holds exactly the service's privileges" in fine.output
    unfit = runner.invoke(
        service_role_command, [cluster.owner, "--owner-url", cluster.owner_url, "--check"]
    )
    assert unfit.exit_code == 1
    assert f"FINDING {cluster.owner}: a member of the owner of table postings" in unfit.output


def test_granting_the_owner_as_the_service_is_refused_in_one_line(cluster: Cluster):
    refused = CliRunner().invoke(
        service_role_command, [cluster.owner, "--owner-url", cluster.owner_url]
    )
    assert refused.exit_code == 1
    assert "is not fit to run the service" in refused.output


def test_a_password_file_without_a_password_is_refused(cluster: Cluster, fresh_role: str, tmp_path):
    empty = tmp_path / "empty"
    empty.write_text("\n", encoding="utf-8")
    refused = CliRunner().invoke(
        service_role_command,
        [fresh_role, "--owner-url", cluster.owner_url, "--password-file", str(empty)],
    )
    assert refused.exit_code == 1
    assert "the first line should be the password" in refused.output
