"""The local stack serves each API's OpenAPI document (``GET /openapi.json``) and a Swagger UI page
(``GET /docs``) itself: the committed documents, with the local API as their server."""

from __future__ import annotations

import json

from local.aws.apigw import HttpRequest
from local.openapi import OUTPUT
from local.stack import docs


def get(api: str, path: str, method: str = "GET", query: str = "") -> object:
    return docs.answer(api, HttpRequest(method, path, query, {"Host": "127.0.0.1:3001"}))


def test_openapi_json_is_the_committed_document_with_the_local_server() -> None:
    answer = get("CommandApi", "/openapi.json")
    assert answer is not None
    assert (answer.status, answer.headers["Content-Type"]) == (200, "application/json")
    served = answer.json()
    committed = json.loads((OUTPUT / "command.json").read_text())
    assert served["servers"] == [{"url": "http://127.0.0.1:3001", "description": "This local stack"}]
    assert {**served, "servers": committed["servers"]} == committed


def test_docs_is_a_swagger_ui_page_of_the_document_that_needs_no_network() -> None:
    answer = get("QueryApi", "/docs")
    assert answer is not None
    assert (answer.status, answer.headers["Content-Type"]) == (200, "text/html; charset=utf-8")
    page = answer.body.decode()
    assert "SwaggerUIBundle" in page
    assert '"title": "Shop Query API"' in page
    assert "<script src=" not in page  # the script is inline: no CDN
    as_json = get("QueryApi", "/docs", query="format=json")  # what the page links to
    assert as_json is not None
    assert as_json.json()["info"]["title"] == "Shop Query API"


def test_anything_else_is_routed_as_usual() -> None:
    assert get("CommandApi", "/openapi.json", method="POST") is None
    assert get("CommandApi", "/products") is None
    assert get("AdminApi", "/openapi.json") is None  # an API without a committed document
