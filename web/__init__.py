"""The whole web application: the HTTP API and the console, composed (`web.app.create_app`).

`web` sits above `api` and `console`, which never import each other; it only puts them together.
"""
