"""The console's catalogues: every message translated, compiled files up to date; the API page."""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask.testing import FlaskClient

TRANSLATIONS = Path(__file__).resolve().parents[2] / "console" / "translations"


def test_every_message_has_its_chinese_and_the_compiled_catalogues_match_their_sources() -> None:
    for language in ("zh_Hans", "en"):
        folder = TRANSLATIONS / language / "LC_MESSAGES"
        with (folder / "messages.po").open("rb") as source:
            catalogue = read_po(source, locale=language)
        if language == "zh_Hans":
            untranslated = [m.id for m in catalogue if m.id and not m.string]
            assert untranslated == []
        compiled = io.BytesIO()
        write_mo(compiled, catalogue)
        assert compiled.getvalue() == (folder / "messages.mo").read_bytes(), (
            f"run: pybabel compile -d console/translations ({language} is stale)"
        )


def test_the_template_lists_no_message_the_catalogues_lack() -> None:
    with (TRANSLATIONS / "messages.pot").open("rb") as source:
        template = {m.id for m in read_po(source) if m.id}
    with (TRANSLATIONS / "zh_Hans" / "LC_MESSAGES" / "messages.po").open("rb") as source:
        chinese = {m.id for m in read_po(source) if m.id}
    assert template <= chinese


def test_the_api_page_is_swagger_ui_served_from_here_without_inline_script(
    client: FlaskClient,
) -> None:
    page = client.get("/api/docs")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<script src="/api/docs/assets/swagger-ui-bundle.js">' in text
    assert '<script src="/console/static/apidocs.js">' in text
    assert "<script>" not in text and "http" not in text.split("<body>")[1].split("</main>")[0]
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        served = client.get(f"/api/docs/assets/{asset}")
        assert served.status_code == 200
        served.close()
    assert client.get("/api/docs/assets/index.html").status_code == 404


def test_huiquan_serve_runs_the_web_app() -> None:
    from cli.serve import WSGI_APP

    assert WSGI_APP == "web.wsgi:app"
