"""The administrator's pages: the index (is there a recent backup, and did its drill restore
it?), and the reference data and tokens the API's admin writes make (`reference`: funds,
projects, places, the chart of accounts; `tokens`: API tokens).

The index is read only. It shows what the backup schedule (`huiquan serve --backup-every`)
last wrote to `$HUIQUAN_HOME/backup-status.json` (`usecases.backup.read_status`): when the last
backup was made, its drill's verdict, the last attempt's error, and whether the keys were ever
exported.
Admins only: the index names files on the server, and the API's writes are admins' too.

Install with `init_app(app)` after `console.init_app` (it registers the `console_admin` blueprint;
the modules above add their routes to it as they are imported).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from flask import Flask, render_template

from console.auth import ADMIN, login_required
from console.shell import make_blueprint
from console.state import books
from usecases.backup import keys_exported, read_status

__all__ = ["BackupStatus", "bp", "init_app"]

bp = make_blueprint("console_admin", __name__, url_prefix="/console/admin")


@dataclass(frozen=True, slots=True)
class BackupStatus:
    """What the page shows of the status file (every field may be missing in an old file)."""

    last_backup_at: dt.datetime | None
    last_attempt_at: dt.datetime | None
    archive: str  # the file's name only
    megabytes: float | None
    journal_size: int | None
    drill_ok: bool | None  # None: no drill recorded
    drill_detail: str
    error: str  # the last attempt's error, "" when it succeeded
    unreadable: bool = False


def _when(value: Any) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def backup_status(raw: dict[str, Any] | None) -> BackupStatus | None:
    """The page's view of a status file's contents (None when no backup ever ran)."""
    if raw is None:
        return None
    drill = raw.get("drill") if isinstance(raw.get("drill"), dict) else {}
    size = raw.get("bytes")
    return BackupStatus(
        last_backup_at=_when(raw.get("last_backup_at")),
        last_attempt_at=_when(raw.get("last_attempt_at")),
        archive=PurePath(str(raw.get("archive") or "")).name,
        megabytes=size / 1e6 if isinstance(size, int) else None,
        journal_size=raw.get("journal_size") if isinstance(raw.get("journal_size"), int) else None,
        drill_ok=drill.get("ok") if isinstance(drill.get("ok"), bool) else None,
        drill_detail=str(drill.get("detail") or ""),
        error=str(raw.get("error") or ""),
    )


def init_app(app: Flask) -> None:
    """Register the administrator's pages on `app` (once `console.init_app` has run)."""
    from console.admin import reference, tokens  # noqa: F401

    if "console_admin" not in app.blueprints:
        app.register_blueprint(bp)


@bp.get("/")
@login_required(*ADMIN)
def index() -> str:
    """The last backup and its drill, from the schedule's status file."""
    home = books().home
    try:
        status = backup_status(read_status(home))
    except (OSError, ValueError):
        status = BackupStatus(None, None, "", None, None, None, "", "", unreadable=True)
    return render_template(
        "console/admin/index.html",
        status=status,
        keys_exported=keys_exported(home),
        now=dt.datetime.now(dt.UTC),
    )
