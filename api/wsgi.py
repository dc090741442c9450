"""The WSGI entry point for gunicorn (`gunicorn api.wsgi:app`).

Built from the environment: `HUIQUAN_DATABASE_URL` (else the embedded SQLite file under
`$HUIQUAN_HOME`), `HUIQUAN_HOME` for the pseudonym key. Importing this module builds the app;
importing `api` does not.
"""

from __future__ import annotations

from api.app import create_app

app = create_app()
