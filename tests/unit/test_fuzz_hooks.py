"""The fuzzer's own check and hooks (tests/support/fuzz_hooks.py): they must fail on what they
guard against, and never turn an invalid request into a valid one."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from schemathesis import Response

from tests.support import fuzz_hooks


def answer(status: int, body: Any, content_type: str, **headers: str) -> Response:
    sent = {"content-type": [content_type], **{name.replace("_", "-"): [v] for name, v in headers.items()}}
    return Response(status, sent, json.dumps(body).encode(), requests.PreparedRequest(), 0.01, True)


def check(response: Response) -> bool | None:
    return fuzz_hooks.problem_details(None, response, None)  # type: ignore[arg-type]


def problem(status: int, title: str) -> dict[str, Any]:
    return {"type": "urn:shop:problem:x", "title": title, "status": status, "detail": "d"}


def test_a_problem_whose_status_is_the_answers_passes() -> None:
    assert check(answer(404, problem(404, "Not Found"), "application/problem+json")) is True
    assert check(answer(200, {"items": []}, "application/json")) is None


@pytest.mark.parametrize(
    "response",
    [
        answer(404, problem(404, "Not Found"), "application/json"),  # not problem+json
        answer(404, problem(400, "Bad Request"), "application/problem+json"),  # another status
        answer(409, {"type": "t", "title": "Conflict", "status": 409}, "application/problem+json"),
        answer(401, {"message": "Unauthorized"}, "application/json"),  # no WWW-Authenticate
        answer(429, {"message": "x", "extra": 1}, "application/json"),
        answer(500, {"message": "Internal Server Error"}, "application/json"),
    ],
)
def test_anything_else_fails(response: Response) -> None:
    with pytest.raises(AssertionError):
        check(response)


def test_api_gateways_own_401_passes() -> None:
    unauthorized = answer(401, {"message": "Unauthorized"}, "application/json", www_authenticate="Bearer")
    assert check(unauthorized) is True


def test_only_a_valid_currency_is_replaced() -> None:
    assert (
        fuzz_hooks._in_currency({"price": {"amount": 1, "currency": "USD"}}, "EUR")["price"]["currency"]
        == "EUR"
    )
    assert fuzz_hooks._in_currency({"amount": 1, "currency": "GBP"}, "EUR")["currency"] == "EUR"
    for invalid in ("usd", "EURO", 5, None):
        body = {"price": {"amount": 1, "currency": invalid}}
        assert fuzz_hooks._in_currency(body, "EUR") == body
