"""Importing a CSV or JSONL file of operations from the console, with a progress bar.

The file is saved under the books' home (`console-imports/<job>/`, removed once posted; the
job's status stays a week) and posted by
`usecases.imports.import_operations` (the CLI's use case) in a background thread of this
process, which writes its progress to the job's `status.json`. The job's page reads that file
and, while the import runs, asks the browser to load it again every second (`<meta
http-equiv="refresh">`: no JavaScript), showing a `<progress>` bar; any worker process can
serve the page. All or nothing: a rejected file shows every problem with its line number and
posted nothing. A job is shown only to the person who started it (and admins).
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from flask import abort, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from console.auth import WRITERS, current_user, login_required
from console.forms import Field, Form
from console.office import UPLOAD_LIMITS, bp
from console.shell import audit_facts
from console.state import books
from ledger.errors import LedgerError
from usecases.books import Books
from usecases.imports import ImportRejected, import_operations
from usecases.unit import AuditFacts

#: An import file may be this large (about 200,000 rows of a CSV).
IMPORT_LIMIT = 64 * 1024 * 1024
#: A running job whose status has not moved for this long died with its process.
STALE_SECONDS = 600
#: A job's page and its status file (whose problems may quote the file's rows) are kept this
#: long after their last change, then removed when the next import starts.
KEEP_SECONDS = 7 * 24 * 3600
MAX_PROBLEMS = 200
_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}

FIELDS = (Field("dry_run", _l("Only check the file (post nothing)"), "checkbox"),)


def _folder(store: Books) -> Path:
    return store.home / "console-imports"


def _status_path(store: Books, job: str) -> Path:
    return _folder(store) / job / "status.json"


def _write_status(path: Path, status: dict[str, Any]) -> None:
    status["updated"] = time.time()
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(status, ensure_ascii=False), encoding="utf-8")
    os.replace(temporary, path)


def _prune(store: Books) -> None:
    """Remove the folders of jobs that have not changed for `KEEP_SECONDS`."""
    root = _folder(store)
    if not root.is_dir():
        return
    cutoff = time.time() - KEEP_SECONDS
    for folder in root.iterdir():
        status = folder / "status.json"
        try:
            changed = (status if status.exists() else folder).stat().st_mtime
        except FileNotFoundError:
            continue
        if changed < cutoff:
            shutil.rmtree(folder, ignore_errors=True)


def _read_status(store: Books, job: str) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = json.loads(_status_path(store, job).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    if found.get("state") == "running" and time.time() - found.get("updated", 0) > STALE_SECONDS:
        found["state"] = "stopped"
    return found


def run_job(
    store: Books,
    job: str,
    file: Path,
    fmt: str,
    *,
    maker: str,
    dry_run: bool,
    audit: AuditFacts | None,
) -> None:
    """Post the job's file, writing its progress and its outcome to `status.json`."""
    path = _status_path(store, job)
    status = json.loads(path.read_text(encoding="utf-8"))
    last = 0.0

    def progress(phase: str, total: int, advance: int) -> None:
        nonlocal last
        if phase != "posting":
            return
        status["total"] = total
        status["done"] = status.get("done", 0) + advance
        now = time.monotonic()
        if now - last > 0.25:
            last = now
            _write_status(path, status)

    try:
        result = import_operations(
            store, file, fmt, maker=maker, dry_run=dry_run, progress=progress, audit=audit
        )
    except ImportRejected as rejected:
        status.update(
            state="rejected",
            problems=[[p.line, p.message] for p in rejected.problems[:MAX_PROBLEMS]],
            problem_count=rejected.total,
        )
    except LedgerError as err:
        status.update(state="rejected", problems=[[0, err.message]], problem_count=1)
    except Exception:
        import logging

        logging.getLogger("huiquan.console").exception("import job %s failed", job)
        status.update(state="failed")
    else:
        status.update(
            state="done",
            done=status.get("total", result.rows),
            rows=result.rows,
            entries=result.entries,
            replayed=result.replayed,
            committed=result.committed,
            first_sequence=result.first_sequence,
            last_sequence=result.last_sequence,
        )
    finally:
        file.unlink(missing_ok=True)
    _write_status(path, status)


@bp.get("/imports")
@login_required(*WRITERS)
def imports() -> str:
    """The import form."""
    return render_template("console/office/import.html", form=Form.blank(FIELDS))


@bp.post("/imports")
@login_required(*WRITERS)
def start_import() -> Any:
    """Save the file and start posting it; go to the job's page."""
    form = Form.posted(FIELDS, request.form)
    data = form.load() or {}
    upload = request.files.get("file")
    suffix = Path(upload.filename or "").suffix.lower() if upload else ""
    if upload is None or not upload.filename or suffix not in _FORMATS:
        error = _l("Choose a .csv or .jsonl file.")
        return render_template("console/office/import.html", form=form, file_error=error), 422
    user = current_user()
    assert user is not None  # login_required
    store = books()
    _prune(store)
    job = uuid.uuid4().hex
    folder = _folder(store) / job
    folder.mkdir(parents=True, mode=0o700)
    saved = folder / f"upload{suffix}"
    upload.save(saved)
    status = {
        "state": "running",
        "user": user.id,
        "file_name": Path(upload.filename).name[:200],
        "dry_run": bool(data.get("dry_run")),
        "total": 0,
        "done": 0,
        "started": time.time(),
    }
    _write_status(folder / "status.json", status)
    facts = None if status["dry_run"] else audit_facts("import", job)
    worker = threading.Thread(
        target=run_job,
        args=(store, job, saved, _FORMATS[suffix]),
        kwargs={"maker": user.name, "dry_run": status["dry_run"], "audit": facts},
        name=f"console-import-{job[:8]}",
        daemon=True,
    )
    worker.start()
    return redirect(url_for("console_office.import_job", job=job), 303)


UPLOAD_LIMITS["console_office.start_import"] = IMPORT_LIMIT


@bp.get("/imports/<job>")
@login_required(*WRITERS)
def import_job(job: str) -> Response | tuple[str, int]:
    """The job's progress (refreshed every second while it runs) and its outcome."""
    if len(job) != 32 or not job.isalnum():
        abort(404)
    status = _read_status(books(), job)
    user = current_user()
    if status is None or user is None or (status["user"] != user.id and not user.can("admin")):
        abort(404)
    return render_template("console/office/import_job.html", job=job, status=status), 200
