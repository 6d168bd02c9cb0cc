"""The OpenAPI documents (docs/openapi/): what the code and template.yaml say, complete and valid.
No function loads the generator or the representation models: test_cold_start_imports.py."""

from __future__ import annotations

import json
from typing import Any

import pytest
from openapi_spec_validator import validate

from local.aws.template import Template
from local.openapi import OUTPUT, documents, file_name, render
from shop.http import contract

APIS = {"CommandApi": "command.json", "QueryApi": "query.json"}
METHODS = {"get", "put", "post", "patch", "delete"}
SCHEMAS = "#/components/schemas/"


@pytest.fixture(scope="module")
def generated(template: Template) -> dict[str, dict[str, Any]]:
    return documents(template)


def operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref is None:
        return node
    found: Any = document
    for part in ref.removeprefix("#/").split("/"):
        found = found[part]
    return resolve(document, found)


def header_parameters(document: dict[str, Any], operation: dict[str, Any]) -> set[str]:
    parameters = [resolve(document, p) for p in operation.get("parameters", [])]
    return {p["name"] for p in parameters if p["in"] == "header"}


def test_the_committed_documents_are_what_the_code_generates(generated: dict[str, dict[str, Any]]) -> None:
    assert {api: file_name(api) for api in generated} == APIS
    for api, document in generated.items():
        committed = (OUTPUT / file_name(api)).read_text()
        assert committed == render(document), f"docs/openapi/{file_name(api)} is stale: run `make openapi`"


def test_the_check_fails_on_a_stale_document(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import local.openapi as generator  # noqa: PLC0415

    for name in APIS.values():
        (tmp_path / name).write_text((OUTPUT / name).read_text())
    monkeypatch.setattr(generator, "OUTPUT", tmp_path)
    assert generator.main(["--check"]) == 0
    stale = json.loads((tmp_path / "query.json").read_text())
    del stale["paths"]["/products"]
    (tmp_path / "query.json").write_text(render(stale))
    assert generator.main(["--check"]) == 1
    assert generator.main([]) == 0  # regenerated
    assert generator.main(["--check"]) == 0


@pytest.mark.parametrize("api", APIS)
def test_each_document_is_valid_openapi_3_1(generated: dict[str, dict[str, Any]], api: str) -> None:
    assert generated[api]["openapi"] == "3.1.0"
    validate(generated[api])


@pytest.mark.parametrize("api", APIS)
def test_every_route_of_the_template_is_an_operation_and_nothing_else(
    generated: dict[str, dict[str, Any]], template: Template, api: str
) -> None:
    routes = {(r.method, r.path) for r in template.routes_of(api) if r.path != "$default"}
    assert set(operations(generated[api])) == routes


@pytest.mark.parametrize("api", APIS)
def test_public_routes_need_no_token_and_the_others_the_authorizers(
    generated: dict[str, dict[str, Any]], template: Template, api: str
) -> None:
    document = generated[api]
    (scheme,) = document["components"]["securitySchemes"]
    assert scheme == template.http_api_auth(api)["DefaultAuthorizer"]
    assert document["components"]["securitySchemes"][scheme] | {"description": ""} == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "",
    }
    assert document["security"] == [{scheme: []}]
    public = {(r.method, r.path) for r in template.routes_of(api) if r.authorizer is None}
    for key, operation in operations(document).items():
        if key in public:
            assert operation["security"] == [], key
            assert "401" not in operation["responses"], key
        else:
            assert "security" not in operation, key
            unauthorized = resolve(document, operation["responses"]["401"])
            assert unauthorized["headers"][contract.WWW_AUTHENTICATE]["required"] is True
            assert set(unauthorized["content"]) == {"application/json"}  # API Gateway's own, not a problem


def test_commands_document_their_headers_and_answers(generated: dict[str, dict[str, Any]]) -> None:
    document = generated["CommandApi"]
    for (method, path), operation in operations(document).items():
        headers = header_parameters(document, operation)
        assert contract.IDEMPOTENCY_KEY in headers, (method, path)
        assert (contract.IF_MATCH in headers) == ("{" in path), (method, path)
        (status,) = [s for s in operation["responses"] if s.startswith("2")]
        answer = operation["responses"][status]
        assert answer["headers"][contract.ETAG]["required"] is True
        assert answer["headers"][contract.CONSISTENCY_TOKEN]["required"] is True
        assert answer["headers"][contract.IDEMPOTENT_REPLAYED]["required"] is False
        creates = (method, path) in {
            ("POST", "/products"),
            ("POST", "/carts"),
            ("POST", "/carts/{cartId}/checkout"),
        }
        assert (contract.LOCATION in answer["headers"]) == creates, (method, path)
        expected = {"400", "401", "403", "409", "413", "415", "422", "429", "503"}
        if "{" in path:
            expected |= {"404", "412"}
        assert set(operation["responses"]) - {status} == expected, (method, path)
        conflict = resolve(document, operation["responses"]["409"])
        assert conflict["headers"][contract.RETRY_AFTER]["required"] is False
    assert {s for o in operations(document).values() for s in o["responses"] if s.startswith("2")} == {
        "200",
        "201",
        "202",
    }


def test_single_resources_are_conditional_and_consistent_reads_and_listings_cacheable(
    generated: dict[str, dict[str, Any]],
) -> None:
    document = generated["QueryApi"]
    for (_, path), operation in operations(document).items():
        headers = header_parameters(document, operation)
        answer = operation["responses"]["200"]
        unavailable = resolve(document, operation["responses"]["503"])
        assert unavailable["headers"][contract.RETRY_AFTER]["required"] is True
        assert answer["headers"][contract.CACHE_CONTROL]["required"] is True
        # the one value the route answers: a shared cache may keep only a public route's answer
        kind = contract.Kind.RESOURCE if path.endswith("}") else contract.Kind.LISTING
        cache = contract.cache_control(kind, public=operation.get("security") == [])
        assert answer["headers"][contract.CACHE_CONTROL]["schema"]["enum"] == [cache], path
        assert cache.startswith("private") is (path != "/products" and path != "/products/{productId}")
        if path.endswith("}"):  # one resource
            assert {contract.CONSISTENCY_TOKEN, contract.IF_NONE_MATCH} <= headers, path
            assert answer["headers"][contract.ETAG]["required"] is True
            assert "content" not in operation["responses"]["304"]
            assert set(operation["responses"]["304"]["headers"]) == {contract.ETAG, contract.CACHE_CONTROL}
            assert operation["responses"]["304"]["headers"][contract.CACHE_CONTROL]["schema"]["enum"] == [
                cache
            ]
        else:
            assert not {contract.CONSISTENCY_TOKEN, contract.IF_NONE_MATCH} & headers, path
            assert "304" not in operation["responses"]
            assert contract.ETAG not in answer["headers"]


@pytest.mark.parametrize("api", APIS)
def test_every_error_is_a_problem_but_api_gateways_own(
    generated: dict[str, dict[str, Any]], api: str
) -> None:
    document = generated[api]
    schemas = document["components"]["schemas"]
    assert set(schemas["Problem"]["required"]) == {"type", "title", "status", "detail"}
    for operation in operations(document).values():
        for status, response in operation["responses"].items():
            if int(status) < 400:
                continue
            content = resolve(document, response)["content"]
            if status in ("401", "429"):
                assert content == {
                    "application/json": {"schema": {"$ref": "#/components/schemas/GatewayMessage"}}
                }
            elif status == "422":  # a body that fails validation, or a reused Idempotency-Key
                assert content == {
                    "application/problem+json": {"schema": {"$ref": "#/components/schemas/ValidationProblem"}}
                }
                assert "errors" in schemas["ValidationProblem"]["required"]
            else:
                assert content == {
                    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                }
    not_allowed = document["components"]["responses"]["MethodNotAllowed"]
    assert not_allowed["headers"][contract.ALLOW]["required"] is True


def test_links_lead_from_what_is_created_to_what_changes_it(generated: dict[str, dict[str, Any]]) -> None:
    commands = operations(generated["CommandApi"])
    created = commands[("POST", "/products")]["responses"]["201"]["links"]
    assert set(created) == {
        "changeProductDetails",
        "changeProductPrice",
        "discontinueProduct",
        "receiveStock",
    }
    assert created["receiveStock"]["parameters"] == {"productId": "$response.body#/productId"}
    checkout = commands[("POST", "/carts/{cartId}/checkout")]["responses"]["202"]["links"]
    assert checkout["cancelOrder"]["parameters"] == {"orderId": "$response.body#/orderId"}
    listing = operations(generated["QueryApi"])[("GET", "/products")]["responses"]["200"]["links"]
    assert listing["getProduct"]["parameters"] == {"productId": "$response.body#/items/0/productId"}


#: The JSON Schema keywords the documents may use: anything else is a constraint no client or
#: validator reads (pydantic once wrote ``ge``/``le`` for an integer it could not constrain).
KEYWORDS = {
    "$ref", "type", "properties", "required", "additionalProperties", "items", "anyOf", "enum", "const",
    "format", "pattern", "minLength", "maxLength", "minimum", "maximum", "minItems", "minProperties",
    "title", "description", "default",
}  # fmt: skip


def schemas_in(node: Any) -> Any:
    """Every schema object of a document (component schemas, parameters', bodies', headers')."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "schema" or (key == "schemas" and isinstance(value, dict)):
                yield from (value.values() if key == "schemas" else [value])
            else:
                yield from schemas_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from schemas_in(value)


def keywords(schema: dict[str, Any]) -> Any:
    yield from schema
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield from keywords(schema[key])
    for value in schema.get("properties", {}).values():
        yield from keywords(value)
    for value in schema.get("anyOf", []):
        yield from keywords(value)


@pytest.mark.parametrize("api", APIS)
def test_schemas_use_json_schema_keywords_only(generated: dict[str, dict[str, Any]], api: str) -> None:
    used = {keyword for schema in schemas_in(generated[api]) for keyword in keywords(schema)}
    assert used <= KEYWORDS, used - KEYWORDS
    quantity = generated["CommandApi"]["components"]["schemas"]["AddCartItem"]["properties"]["quantity"]
    assert (quantity["minimum"], quantity["maximum"]) == (1, 99)


def test_request_bodies_allow_null_only_where_the_code_does(generated: dict[str, dict[str, Any]]) -> None:
    """``description: null`` clears a description; a null name, category or customerId is a 422,
    so the documents must not offer null there (the fuzzer's schema-valid nulls were refused)."""
    schemas = generated["CommandApi"]["components"]["schemas"]

    def nullable(schema: dict[str, Any]) -> bool:
        return {"type": "null"} in schema.get("anyOf", [])

    details = schemas["ChangeProductDetails"]["properties"]
    assert nullable(details["description"])
    assert not nullable(details["name"])
    assert not nullable(details["category"])
    assert not nullable(schemas["CreateCart"]["properties"]["customerId"])
    assert schemas["ChangeProductDetails"]["minProperties"] == 1  # {} is a 422


def test_the_edge_reads_the_headers_the_documents_name() -> None:
    """One declaration: the edge reads ``If-Match``, ``X-Correlation-Id``, ``If-None-Match`` and
    ``X-Consistency-Token`` by the contract's names."""
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2  # noqa: PLC0415

    from shop.http.conditional import representation  # noqa: PLC0415
    from shop.http.consistency import TokenCodec, Written, read_your_writes  # noqa: PLC0415
    from shop.http.request import correlation_id, expected_version  # noqa: PLC0415

    tokens = TokenCodec("a-secret-of-enough-length")
    headers = {
        contract.IF_MATCH.lower(): '"7"',
        contract.CORRELATION_ID.lower(): "c-1",
        contract.IF_NONE_MATCH.lower(): '"3"',
        contract.CONSISTENCY_TOKEN.lower(): tokens.issue(Written("cart-1", 3)),
    }
    event = APIGatewayProxyEventV2({"headers": headers, "requestContext": {"requestId": "r"}})
    assert expected_version(event) == 7
    assert correlation_id(event) == "c-1"
    reads: list[bool] = []

    def read(fresh: bool) -> dict[str, Any]:
        reads.append(fresh)
        return {"version": 3}

    row = read_your_writes(event, lambda: tokens, {"cart-1": "version"}, read)
    assert reads == [True]  # the token was read: a strongly consistent read
    answer = representation(event, row, '"3"', private=True)
    assert answer.status_code == 304
    assert answer.headers[contract.CACHE_CONTROL] == contract.cache_control(
        contract.Kind.RESOURCE, public=False
    )
