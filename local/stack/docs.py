"""The APIs' OpenAPI documents on the local stack: ``GET /openapi.json`` and a Swagger UI at ``/docs``.

Served by the local stack itself, before routing, from the committed ``docs/openapi/`` files (which
``make openapi`` generates and ``tests/template/test_openapi.py`` holds equal to the code); their
``servers`` name the local API. No function serves them, so a Lambda cold start pays nothing for
them; in AWS the committed files are the documents (docs/openapi.md). Swagger UI's script and style
come from Powertools' package, inlined: the page needs no network.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from local.aws.apigw import HttpRequest, HttpResponse
from local.openapi import OUTPUT, file_name

DOCUMENT_PATH = "/openapi.json"
PAGE_PATH = "/docs"


def answer(api: str, request: HttpRequest) -> HttpResponse | None:
    """The document or the page, for a GET (or HEAD) of their paths; else None (route as usual)."""
    if request.method.upper() not in ("GET", "HEAD") or request.path not in (DOCUMENT_PATH, PAGE_PATH):
        return None
    path = OUTPUT / file_name(api)
    if not path.exists():
        return None
    headers = {name.lower(): value for name, value in request.headers.items()}
    document = json.loads(path.read_text())
    host = headers.get("host", "127.0.0.1")
    document["servers"] = [{"url": f"http://{host}", "description": "This local stack"}]
    text = json.dumps(document, indent=2)
    if request.path == DOCUMENT_PATH or "format=json" in request.query:  # the page asks for ?format=json
        json_headers = {"Content-Type": "application/json", "Cache-Control": "no-cache"}
        return HttpResponse(200, json_headers, text.encode())
    return HttpResponse(200, {"Content-Type": "text/html; charset=utf-8"}, _page(text).encode())


def _page(spec: str) -> str:
    from aws_lambda_powertools.event_handler.openapi.swagger_ui import generate_swagger_html  # noqa: PLC0415

    script, style = _swagger_assets()
    return generate_swagger_html(spec, script, style, "", None, persist_authorization=True)


@cache
def _swagger_assets() -> tuple[str, str]:
    from aws_lambda_powertools.event_handler.openapi import swagger_ui  # noqa: PLC0415

    folder = Path(swagger_ui.__file__).parent
    return (
        (folder / "swagger-ui-bundle.min.js").read_text(),
        (folder / "swagger-ui.min.css").read_text(),
    )
