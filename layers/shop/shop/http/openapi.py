"""OpenAPI 3.1 documents of the HTTP APIs, generated from the code.

What comes from where:

* operations: the routes ``template.yaml`` gives an API (the caller, ``local.openapi``, reads it);
* summaries, path and query parameters, request bodies: the route functions' signatures and
  pydantic models, through Powertools' OpenAPI support (``get_openapi_schema`` of each function's
  resolver);
* what a route answers on success: its ``shop.http.contract`` decorator, and the representation
  model it names in the service's ``representations`` module;
* request and response headers: ``shop.http.contract``, by the kind of route;
* problem answers: by the kind of route, its parameters and body, and whether it is public;
* security: the API's JWT authorizer in ``template.yaml``; public routes say ``security: []``;
* links (create -> read -> change): from the answer's id fields to the path parameters of the
  API's other operations.

Nothing here runs in a function: it is imported by the generator (``make openapi``), the tests and
the local stack only (``tests/template/test_openapi.py`` checks that no handler imports it).
"""

from __future__ import annotations

import copy
import importlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from pydantic import BaseModel
from pydantic.alias_generators import to_camel
from pydantic.json_schema import models_json_schema

from shop.http import contract
from shop.http.contract import Answer, Kind
from shop.http.representations import GatewayMessage, Problem, ValidationProblem

OPENAPI_VERSION = "3.1.0"
SCHEMAS = "#/components/schemas/"
PROBLEM_JSON = "application/problem+json"
JSON = "application/json"
_PARAMETER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Operation:
    """One route of an API: served by ``function`` of ``resolver``, public or behind the authorizer."""

    method: str
    path: str  # as template.yaml spells it: /products/{productId}
    function: Callable[..., Any]
    resolver: APIGatewayHttpResolver
    code_path: str  # as the code spells it: /products/{product_id}
    public: bool


@dataclass(frozen=True)
class BearerAuth:
    """The API's JWT authorizer: its name in the template becomes the security scheme's."""

    name: str
    header: str
    description: str


@dataclass(frozen=True)
class ApiInfo:
    title: str
    version: str
    description: str
    servers: Sequence[Mapping[str, Any]]


# ---------------------------------------------------------------- problem answers
@dataclass(frozen=True)
class _Problem:
    status: HTTPStatus
    description: str
    schema: type[BaseModel] = Problem
    headers: Mapping[str, bool] = field(default_factory=dict)  # header name -> required
    media_type: str = PROBLEM_JSON

    @property
    def name(self) -> str:
        return self.status.phrase.title().replace(" ", "").replace("-", "")


PROBLEMS = {
    p.status: p
    for p in (
        _Problem(
            HTTPStatus.BAD_REQUEST,
            "Malformed: JSON that does not parse, a bad query parameter, cursor or header "
            "(`If-Match`, `Idempotency-Key`, `X-Consistency-Token`).",
        ),
        _Problem(
            HTTPStatus.UNAUTHORIZED,
            "No valid access token: API Gateway's JWT authorizer answers, before any function runs "
            "(its own JSON, not a problem).",
            GatewayMessage,
            {contract.WWW_AUTHENTICATE: True},
            JSON,
        ),
        _Problem(
            HTTPStatus.FORBIDDEN,
            "The caller may not do this: catalog and stock commands need the `admin` group; a "
            "customer acts only for themself (another customer's resources are a 404).",
        ),
        _Problem(HTTPStatus.NOT_FOUND, "No such resource (malformed ids too), or not the caller's."),
        _Problem(
            HTTPStatus.METHOD_NOT_ALLOWED,
            "The path exists with other methods (`Allow` names them).",
            headers={contract.ALLOW: True},
        ),
        _Problem(
            HTTPStatus.CONFLICT,
            "A rule forbids it in the current state (duplicate SKU, discontinued product, cart not "
            "open, empty cart, line above 99, order not cancellable, writers still conflicting "
            "after retries), or a request with this `Idempotency-Key` is still in flight "
            "(with `Retry-After`).",
            headers={contract.RETRY_AFTER: False},
        ),
        _Problem(HTTPStatus.PRECONDITION_FAILED, "`If-Match` names another version than the current one."),
        _Problem(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "The body is over 64 KB."),
        _Problem(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "A body that is not JSON (`application/json`)."),
        _Problem(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            "The body fails validation, or an `Idempotency-Key` is reused with another body "
            "(`urn:shop:problem:idempotency-key-reused`); `errors` says where.",
            ValidationProblem,
        ),
        _Problem(
            HTTPStatus.TOO_MANY_REQUESTS,
            "API Gateway's throttle (the route's rate and burst in template.yaml): its own JSON.",
            GatewayMessage,
            media_type=JSON,
        ),
        _Problem(
            HTTPStatus.SERVICE_UNAVAILABLE,
            "The service is unavailable, or (a GET with `X-Consistency-Token`) the read side has "
            "not caught up with that write yet: try again after `Retry-After` seconds.",
            headers={contract.RETRY_AFTER: True},
        ),
    )
}


def problems_of(kind: Kind, *, public: bool, has_ids: bool, has_if_match: bool) -> list[int]:
    """The problem statuses a route answers (a 405 is the API's, for methods a path lacks)."""
    statuses = [HTTPStatus.BAD_REQUEST]
    if not public:
        statuses += [HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN]
    if has_ids:
        statuses.append(HTTPStatus.NOT_FOUND)
    if kind is Kind.COMMAND:
        statuses.append(HTTPStatus.CONFLICT)
        if has_if_match:
            statuses.append(HTTPStatus.PRECONDITION_FAILED)
        # The edge screens every command's body (size, media type) before routing, body or not;
        # any command may answer 422: a body that fails validation, or a reused Idempotency-Key.
        statuses += [
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            HTTPStatus.UNPROCESSABLE_ENTITY,
        ]
    statuses += [HTTPStatus.TOO_MANY_REQUESTS, HTTPStatus.SERVICE_UNAVAILABLE]
    return sorted(int(s) for s in statuses)


# ---------------------------------------------------------------- headers by kind
def request_headers(kind: Kind, *, has_ids: bool) -> list[str]:
    names = [contract.CORRELATION_ID]
    if kind is Kind.COMMAND:
        names.append(contract.IDEMPOTENCY_KEY)
        if has_ids:  # a precondition on an existing aggregate
            names.append(contract.IF_MATCH)
    elif kind is Kind.RESOURCE:
        names += [contract.CONSISTENCY_TOKEN, contract.IF_NONE_MATCH]
    return names


def success_headers(answer: Answer) -> dict[str, bool]:
    """Response headers of the success answer: name -> required."""
    if answer.kind is Kind.COMMAND:
        headers = {contract.ETAG: True, contract.CONSISTENCY_TOKEN: True}
        if answer.location:
            headers[contract.LOCATION] = True
        headers[contract.IDEMPOTENT_REPLAYED] = False
        return headers
    if answer.kind is Kind.RESOURCE:
        return {contract.ETAG: True, contract.CACHE_CONTROL: True}
    return {contract.CACHE_CONTROL: True}


def _headers(headers: Mapping[str, bool], *, cache: str | None = None) -> dict[str, Any]:
    """Header objects (name -> required) from their one declaration in ``shop.http.contract``;
    ``cache``: the one ``Cache-Control`` value the route answers (``contract.cache_control``)."""
    specs = contract.RESPONSE_HEADERS
    objects = {
        name: {
            "description": specs[name].description,
            "required": required,
            "schema": dict(specs[name].schema),
        }
        for name, required in headers.items()
    }
    if cache is not None and contract.CACHE_CONTROL in objects:
        objects[contract.CACHE_CONTROL]["schema"] = {"type": "string", "enum": [cache]}
    return objects


# ---------------------------------------------------------------- the document
def document(info: ApiInfo, operations: Sequence[Operation], auth: BearerAuth | None) -> dict[str, Any]:
    """The OpenAPI document of one API."""
    generated = _powertools_operations(operations)
    models: dict[str, type[BaseModel]] = {}
    paths: dict[str, dict[str, Any]] = {}
    for operation in operations:
        answer = contract.answer_of(operation.function)
        if answer is None:
            raise ValueError(
                f"{operation.method} {operation.path}: {operation.function.__qualname__} states no "
                "answer (decorate it with shop.http.contract.command/resource/listing)"
            )
        model = _representation(operation.function, answer.representation)
        models[model.__name__] = model
        paths.setdefault(operation.path, {})[operation.method.lower()] = _operation(
            operation, answer, generated[(operation.method, operation.path)], auth
        )
    _add_links(paths, models)
    components = _components(generated, models, auth)
    output: dict[str, Any] = {
        "openapi": OPENAPI_VERSION,
        "info": {"title": info.title, "version": info.version, "description": info.description},
        "servers": [dict(server) for server in info.servers],
    }
    if auth is not None:
        output["security"] = [{auth.name: []}]
    output["tags"] = _tags(operations)
    output["paths"] = {path: paths[path] for path in sorted(paths)}
    output["components"] = components
    _prune(output)
    integral: dict[str, Any] = _integral(output)
    return integral


def _integral(node: Any) -> Any:
    """``100.0`` -> ``100``: Powertools writes integer bounds as floats."""
    if isinstance(node, dict):
        return {key: _integral(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_integral(value) for value in node]
    if isinstance(node, float) and node.is_integer():
        return int(node)
    return node


def _powertools_operations(operations: Sequence[Operation]) -> dict[tuple[str, str], dict[str, Any]]:
    """Powertools' operation for each route, keyed by the template's method and path."""
    schemas: dict[int, dict[str, Any]] = {}
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for operation in operations:
        key = id(operation.resolver)
        if key not in schemas:
            schemas[key] = operation.resolver.get_openapi_schema().model_dump(
                mode="json", by_alias=True, exclude_none=True
            )
        schema = schemas[key]
        generated = schema["paths"][operation.code_path][operation.method.lower()]
        found[(operation.method, operation.path)] = {
            "operation": generated,
            "components": schema.get("components", {}).get("schemas", {}),
            "rename": dict(
                zip(_PARAMETER.findall(operation.code_path), _PARAMETER.findall(operation.path), strict=True)
            ),
        }
    return found


def _representation(function: Callable[..., Any], name: str) -> type[BaseModel]:
    """The model ``name`` of the ``representations`` module beside the route's ``api`` module."""
    package = function.__module__.rsplit(".", 1)[0]
    module = importlib.import_module(f"{package}.representations")
    model = getattr(module, name, None)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise TypeError(f"{function.__qualname__}: {package}.representations has no model {name}")
    return model


def _operation(
    operation: Operation, answer: Answer, generated: Mapping[str, Any], auth: BearerAuth | None
) -> dict[str, Any]:
    source = copy.deepcopy(generated["operation"])
    rename: dict[str, str] = generated["rename"]
    has_ids = bool(rename)
    parameters = []
    for parameter in source.get("parameters", []):
        parameter["name"] = rename.get(parameter["name"], parameter["name"])
        schema = parameter.get("schema", {})
        schema.pop("title", None)
        if not parameter.get("required") and "anyOf" in schema:  # `X | None = None`: left out, never null
            kept = [s for s in schema.pop("anyOf") if s != {"type": "null"}]
            schema.update(kept[0] if len(kept) == 1 else {"anyOf": kept})
        parameters.append(parameter)
    headers = request_headers(answer.kind, has_ids=has_ids)
    parameters += [{"$ref": f"#/components/parameters/{name}"} for name in headers]
    result: dict[str, Any] = {
        "operationId": to_camel(operation.function.__name__),
        "summary": source.get("summary", ""),
        "tags": [_service(operation.function)],
    }
    if parameters:
        result["parameters"] = parameters
    if "requestBody" in source:
        result["requestBody"] = source["requestBody"]
    if operation.public and auth is not None:
        result["security"] = []
    problems = problems_of(
        answer.kind,
        public=operation.public or auth is None,
        has_ids=has_ids,
        has_if_match=contract.IF_MATCH in headers,
    )
    result["responses"] = _responses(answer, problems, public=operation.public)
    return result


def _responses(answer: Answer, problems: Iterable[int], *, public: bool) -> dict[str, Any]:
    cache = None if answer.kind is Kind.COMMAND else contract.cache_control(answer.kind, public=public)
    success: dict[str, Any] = {
        "description": _success_description(answer),
        "headers": _headers(success_headers(answer), cache=cache),
        "content": {JSON: {"schema": {"$ref": f"{SCHEMAS}{answer.representation}"}}},
    }
    responses: dict[str, Any] = {str(int(answer.status)): success}
    if answer.kind is Kind.RESOURCE:
        responses["304"] = {
            "description": "Not modified: the representation still has an entity tag of `If-None-Match`.",
            "headers": _headers({contract.ETAG: True, contract.CACHE_CONTROL: True}, cache=cache),
        }
    for status in problems:
        responses[str(status)] = {"$ref": f"#/components/responses/{PROBLEMS[HTTPStatus(status)].name}"}
    return dict(sorted(responses.items()))


def _success_description(answer: Answer) -> str:
    if answer.kind is Kind.COMMAND:
        what = "Accepted" if answer.status == HTTPStatus.ACCEPTED else "Done"
        if answer.location:
            return f"{what}: the new version; `Location` is {answer.location}."
        return f"{what}: the aggregate's new version."
    if answer.kind is Kind.RESOURCE:
        return "The resource, with its entity tag."
    return "A page; pass `nextCursor` as `cursor` for the next one."


def _service(function: Callable[..., Any]) -> str:
    return function.__module__.split(".")[1]


def _tags(operations: Sequence[Operation]) -> list[dict[str, str]]:
    names = sorted({_service(o.function) for o in operations})
    return [{"name": name} for name in names]


# ---------------------------------------------------------------- links
def _id_pointers(schema: Mapping[str, Any], definitions: Mapping[str, Any]) -> dict[str, str]:
    """``{productId: "/productId", ...}``: where a representation holds ids, top level first, then the
    first item of its arrays (``/items/0/productId``)."""

    def resolve(node: Mapping[str, Any]) -> Mapping[str, Any]:
        ref = node.get("$ref")
        return definitions[ref.removeprefix(SCHEMAS)] if isinstance(ref, str) else node

    pointers: dict[str, str] = {}
    properties = resolve(schema).get("properties", {})
    for name in properties:
        if name.endswith("Id"):
            pointers.setdefault(name, f"/{name}")
    for name, prop in properties.items():
        items = resolve(prop).get("items")
        if isinstance(items, Mapping):
            for inner in resolve(items).get("properties", {}):
                if inner.endswith("Id"):
                    pointers.setdefault(inner, f"/{name}/0/{inner}")
    return pointers


def _add_links(paths: dict[str, dict[str, Any]], models: Mapping[str, type[BaseModel]]) -> None:
    """Links from each success answer to every other operation whose path ids it holds."""
    definitions = _schemas(models.values())
    targets = [
        (operation["operationId"], _PARAMETER.findall(path))
        for path, item in paths.items()
        for operation in item.values()
    ]
    for item in paths.values():
        for operation in item.values():
            success = next(r for s, r in operation["responses"].items() if s.startswith("2"))
            pointers = _id_pointers(success["content"][JSON]["schema"], definitions)
            links = {}
            for target_id, names in targets:
                if target_id == operation["operationId"] or not names or not set(names) <= set(pointers):
                    continue
                links[target_id] = {
                    "operationId": target_id,
                    "parameters": {name: f"$response.body#{pointers[name]}" for name in names},
                }
            if links:
                success["links"] = dict(sorted(links.items()))


# ---------------------------------------------------------------- components
def _schemas(models: Iterable[type[BaseModel]]) -> dict[str, Any]:
    _, schema = models_json_schema(
        [(model, "serialization") for model in models], ref_template=SCHEMAS + "{model}", by_alias=True
    )
    definitions: dict[str, Any] = schema.get("$defs", {})
    for definition in definitions.values():  # fields left out when empty (``Absent``) have no default
        for prop in definition.get("properties", {}).values():
            if "default" in prop and prop["default"] is None:
                del prop["default"]
    return definitions


def _components(
    generated: Mapping[tuple[str, str], Mapping[str, Any]],
    models: Mapping[str, type[BaseModel]],
    auth: BearerAuth | None,
) -> dict[str, Any]:
    problem_models = {p.schema for p in PROBLEMS.values()}
    schemas: dict[str, Any] = {}
    sources = [*(g["components"] for g in generated.values()), _schemas([*models.values(), *problem_models])]
    for source in sources:
        for name, schema in source.items():
            if name in schemas and schemas[name] != schema:
                raise ValueError(f"two different schemas are named {name}")
            schemas[name] = schema
    responses = {}
    for problem in PROBLEMS.values():
        responses[problem.name] = {
            "description": problem.description,
            "content": {problem.media_type: {"schema": {"$ref": f"{SCHEMAS}{problem.schema.__name__}"}}},
        }
        if problem.media_type == PROBLEM_JSON:  # a function's problem: never cached
            headers = {**problem.headers, contract.CACHE_CONTROL: True}
            responses[problem.name]["headers"] = _headers(headers, cache=contract.PROBLEM_CACHE_CONTROL)
        elif problem.headers:
            responses[problem.name]["headers"] = _headers(problem.headers)
    parameters = {
        spec.name: {
            "name": spec.name,
            "in": "header",
            "required": False,
            "description": spec.description,
            "schema": dict(spec.schema),
        }
        for spec in contract.REQUEST_HEADERS.values()
    }
    components: dict[str, Any] = {
        "schemas": dict(sorted(schemas.items())),
        "responses": responses,
        "parameters": parameters,
    }
    if auth is not None:
        scheme = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": auth.description}
        components["securitySchemes"] = {auth.name: scheme}
    return components


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _prune(output: dict[str, Any]) -> None:
    """Drop the components nothing refers to (Powertools' own validation error shapes, say);
    the 405 answer stays: the API answers it for methods a path lacks."""
    components = output["components"]
    pending = list(_refs({k: v for k, v in output.items() if k != "components"}))
    pending.append(f"#/components/responses/{PROBLEMS[HTTPStatus.METHOD_NOT_ALLOWED].name}")
    reachable: set[str] = set()
    while pending:
        ref = pending.pop()
        if ref not in reachable:
            reachable.add(ref)
            section, name = ref.removeprefix("#/components/").split("/", 1)
            pending.extend(_refs(components[section][name]))
    for section in ("schemas", "responses", "parameters"):
        for name in list(components[section]):
            if f"#/components/{section}/{name}" not in reachable:
                del components[section][name]
