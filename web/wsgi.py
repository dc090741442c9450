"""The WSGI entry point for gunicorn (`gunicorn web.wsgi:app`): the API and the console.

Built from the environment like `api.wsgi`. Importing this module builds the app; importing
`web` does not.
"""

from __future__ import annotations

from web.app import create_app

app = create_app()
