"""Schemathesis hooks and checks for fuzzing the APIs (``tests/e2e/test_fuzz_contract.py``).

Loaded by ``st run`` through ``SCHEMATHESIS_HOOKS=tests.support.fuzz_hooks``; configured by
environment variables the test sets:

* ``FUZZ_IDS``: a JSON file of ids that exist on the stack (``{"productId": [...], ...}``): path
  parameters and a cart line's ``productId`` take one of them half of the time, so requests reach
  the code behind the 404s;
* ``FUZZ_PENDING``: header names the documents declare and this build does not implement yet
  (issue 10's other parts); they are left out of the document the fuzzer reads, request and
  response alike, and the test checks that each is still missing;
* ``FUZZ_LOG``: a file that gets a JSON line per request sent: method, path, status, and for an
  error its problem type and first field error (``FUZZ_LOG_BODIES=1``: the request body too).
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Mapping
from functools import cache
from http import HTTPStatus
from typing import Any

import schemathesis
from hypothesis import strategies as st

PROBLEM_JSON = "application/problem+json"
PROBLEM_FIELDS = {"type", "title", "status", "detail"}
_LOG_LOCK = threading.Lock()
_CURRENCY = re.compile(r"[A-Z]{3}")
_ENTITY_TAG = re.compile(r'(?:W/)?"[0-9]{1,18}(?:\.[0-9]{1,18})?"|\*')


@cache
def known_ids() -> dict[str, list[str]]:
    path = os.environ.get("FUZZ_IDS")
    if not path:
        return {}
    ids: dict[str, list[str]] = json.loads(open(path).read())  # noqa: PTH123, SIM115
    return {name: values for name, values in ids.items() if values}


def pending() -> set[str]:
    return {name.strip().lower() for name in os.environ.get("FUZZ_PENDING", "").split(",") if name.strip()}


@schemathesis.hook
def before_load_schema(context: schemathesis.HookContext, raw_schema: dict[str, Any]) -> None:
    """Leave the pending headers out of the document: not sent, not expected."""
    names = pending()
    if not names:
        return
    parameters = raw_schema.get("components", {}).get("parameters", {})
    dropped = {f"#/components/parameters/{n}" for n, p in parameters.items() if p["name"].lower() in names}
    for item in raw_schema.get("paths", {}).values():
        for operation in item.values():
            operation["parameters"] = [
                p
                for p in operation.get("parameters", [])
                if p.get("$ref") not in dropped and p.get("name", "").lower() not in names
            ]
            _drop_headers(operation.get("responses", {}), names)
    _drop_headers(raw_schema.get("components", {}).get("responses", {}), names)


def _drop_headers(responses: Mapping[str, Any], names: set[str]) -> None:
    for response in responses.values():
        headers = response.get("headers", {})
        for name in [n for n in headers if n.lower() in names]:
            del headers[name]


@schemathesis.hook
def flatmap_path_parameters(
    context: schemathesis.HookContext, path_parameters: dict[str, Any] | None
) -> st.SearchStrategy[dict[str, Any] | None]:
    """Half of the time, ids that exist (path parameters are plain strings: any value is valid)."""
    ids = known_ids()
    names = [name for name in path_parameters or {} if name in ids]
    if not names:
        return st.just(path_parameters)
    real = st.fixed_dictionaries({name: st.sampled_from(ids[name]) for name in names})
    return st.one_of(st.just(path_parameters), real.map(lambda chosen: {**(path_parameters or {}), **chosen}))


@schemathesis.hook
def flatmap_body(context: schemathesis.HookContext, body: Any) -> st.SearchStrategy[Any]:
    """Half of the time, a cart line names a product that exists and a cart a customer who does; a
    price in a valid currency is in the shop's (another is a 422, which the coverage phase sends).
    Only a valid value is replaced, by a valid one: a body made invalid on purpose stays invalid."""
    if not isinstance(body, dict):
        return st.just(body)
    ids = known_ids()
    if ids.get("currency"):
        body = _in_currency(body, ids["currency"][0])
    for name in ("productId", "customerId"):  # a cart line's product; whose cart an admin opens
        if ids.get(name) and isinstance(body.get(name), str) and 0 < len(body[name]) <= 64:
            real = st.sampled_from(ids[name]).map(lambda value, n=name: {**body, n: value})
            return st.one_of(st.just(body), real)
    return st.just(body)


def _in_currency(body: dict[str, Any], code: str) -> dict[str, Any]:
    price = body.get("price")
    if isinstance(price, dict) and _CURRENCY.fullmatch(str(price.get("currency"))):
        return {**body, "price": {**price, "currency": code}}
    if "amount" in body and _CURRENCY.fullmatch(str(body.get("currency"))):
        return {**body, "currency": code}
    return body


@schemathesis.hook
def flatmap_headers(
    context: schemathesis.HookContext, headers: dict[str, Any] | None
) -> st.SearchStrategy[dict[str, Any] | None]:
    """A valid ``If-Match`` names a version the aggregate is almost never at (a 412): three times in
    four it is left out, so that sequences of valid steps get past it. An invalid one is kept."""
    tag = (headers or {}).get("If-Match")
    if not (isinstance(tag, str) and _ENTITY_TAG.fullmatch(tag)):
        return st.just(headers)
    without = {name: value for name, value in (headers or {}).items() if name != "If-Match"}
    return st.sampled_from([headers, without, without, without])


@schemathesis.hook
def after_call(
    context: schemathesis.HookContext, case: schemathesis.Case, response: schemathesis.Response
) -> None:
    path = os.environ.get("FUZZ_LOG")
    if path:
        with _LOG_LOCK, open(path, "a") as log:  # noqa: PTH123
            line = {
                "method": case.method.upper(),
                "path": case.formatted_path,
                "status": response.status_code,
            }
            log.write(
                json.dumps(
                    {
                        **line,
                        "why": _why(response),
                        "body": case.body if os.environ.get("FUZZ_LOG_BODIES") else None,
                    },
                    default=str,
                )
                + "\n"
            )


def _why(response: schemathesis.Response) -> str:
    """A problem's type and first error, for the log."""
    if response.status_code < 400:
        return ""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    errors = body.get("errors") or [{}]
    first = errors[0] if isinstance(errors[0], dict) else {}
    kind = body.get("type", body.get("message", ""))
    return f"{kind} {first.get('field', '')} {first.get('message', '')}".strip()


@schemathesis.check
def problem_details(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    """Every error a function answers is an RFC 9457 problem whose ``status`` is the answer's.

    API Gateway's own answers are not: its 401 (the JWT authorizer, with ``WWW-Authenticate``) and
    its 429 are ``{"message": ...}`` JSON; the documents say so."""
    status = response.status_code
    if status < 400:
        return None
    content_type = response.headers.get("content-type", [""])[0].split(";")[0].strip().lower()
    if status in (401, 429) and content_type == "application/json":
        body = response.json()
        if status == 401 and not response.headers.get("www-authenticate"):
            raise AssertionError("API Gateway's 401 carries WWW-Authenticate")
        if not (isinstance(body, dict) and set(body) == {"message"}):
            raise AssertionError(f"API Gateway's {status} is {{message}}, not {body!r}")
        return True
    if content_type != PROBLEM_JSON:
        raise AssertionError(f"a {status} is {content_type or 'untyped'}, not {PROBLEM_JSON}")
    body = response.json()
    if not (isinstance(body, dict) and set(body) >= PROBLEM_FIELDS):
        raise AssertionError(f"a problem has {sorted(PROBLEM_FIELDS)}: {body!r}")
    if body["status"] != status or body["title"] != HTTPStatus(status).phrase:
        raise AssertionError(f"the problem says {body['status']} {body['title']!r}; the answer is {status}")
    return True
