"""API Gateway HTTP API (payload format 2.0) emulation: route selection, events, responses."""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from local.aws.template import HttpRoute

_BINARY_TYPES = ("image/", "application/octet-stream", "application/zip", "application/pdf")


@dataclass(frozen=True)
class RouteMatch:
    route: HttpRoute
    path_parameters: dict[str, str]


@dataclass
class _Compiled:
    route: HttpRoute
    regex: re.Pattern[str]
    static_segments: int
    greedy: bool


def _compile(route: HttpRoute) -> _Compiled:
    segments = route.path.strip("/").split("/") if route.path != "/" else []
    parts, static, greedy = [], 0, False
    for segment in segments:
        param = re.fullmatch(r"\{(\w+)(\+?)\}", segment)
        if param and param.group(2):
            parts.append(f"(?P<{param.group(1)}>.+)")
            greedy = True
        elif param:
            parts.append(f"(?P<{param.group(1)}>[^/]+)")
        else:
            parts.append(re.escape(segment))
            static += 1
    return _Compiled(route, re.compile("/" + "/".join(parts)), static, greedy)


class HttpApiRoutes:
    """Selects a route the way API Gateway HTTP APIs do.

    1. a full match of path and method (static segments win over parameters), then ``ANY``;
    2. a match with a greedy ``{proxy+}`` variable;
    3. the ``$default`` route. Otherwise ``None`` (API Gateway answers 404 ``Not Found``).
    """

    def __init__(self, routes: Iterable[HttpRoute]) -> None:
        routes = list(routes)
        self._default = next((r for r in routes if r.path == "$default"), None)
        self._compiled = [_compile(r) for r in routes if r.path != "$default"]

    def match(self, method: str, path: str) -> RouteMatch | None:
        method = method.upper()
        candidates = []
        for compiled in self._compiled:
            found = compiled.regex.fullmatch(path)
            if found and compiled.route.method in (method, "ANY"):
                rank = (compiled.greedy, compiled.route.method == "ANY", -compiled.static_segments)
                candidates.append((rank, compiled, found.groupdict()))
        if candidates:
            _, compiled, params = min(candidates, key=lambda c: c[0])
            return RouteMatch(compiled.route, params)
        if self._default:
            return RouteMatch(self._default, {})
        return None


@dataclass
class HttpRequest:
    method: str
    path: str
    query: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    source_ip: str = "127.0.0.1"


def build_event(
    request: HttpRequest,
    match: RouteMatch,
    *,
    api_id: str,
    stage: str = "$default",
    authorizer: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The event API Gateway sends to a Lambda integration (payload format version 2.0).

    ``authorizer`` is what the route's authorizer granted (``{"jwt": {"claims", "scopes"}}``);
    a public route's event has no ``requestContext.authorizer``.
    """
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        key = name.lower()
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    query: dict[str, str] = {}
    for name, value in parse_qsl(request.query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    content_type = headers.get("content-type", "")
    binary = any(content_type.startswith(t) for t in _BINARY_TYPES)
    try:
        text = request.body.decode() if not binary else None
    except UnicodeDecodeError:
        text = None
    route_key = "$default" if match.route.path == "$default" else f"{match.route.method} {match.route.path}"
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.path,
        "rawQueryString": request.query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": api_id,
            "domainName": headers.get("host", "localhost"),
            "domainPrefix": headers.get("host", "localhost").split(":")[0].split(".")[0],
            "http": {
                "method": request.method.upper(),
                "path": request.path,
                "protocol": "HTTP/1.1",
                "sourceIp": request.source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route_key,
            "stage": stage,
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }
    if authorizer is not None:
        event["requestContext"]["authorizer"] = dict(authorizer)
    if "cookie" in headers:
        event["cookies"] = [c.strip() for c in headers["cookie"].split(";")]
    if query:
        event["queryStringParameters"] = query
    if match.path_parameters:
        event["pathParameters"] = match.path_parameters
    if request.body:
        if text is None:
            event["body"] = base64.b64encode(request.body).decode()
            event["isBase64Encoded"] = True
        else:
            event["body"] = text
    return event


@dataclass
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def parse_result(result: Any) -> HttpResponse:
    """Interpret a Lambda result as API Gateway does for payload format 2.0."""
    if isinstance(result, dict) and "statusCode" in result:
        body = result.get("body") or ""
        raw = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
        headers = {str(k): str(v) for k, v in (result.get("headers") or {}).items()}
        for name, values in (result.get("multiValueHeaders") or {}).items():
            headers[name] = ",".join(str(v) for v in values)
        if result.get("cookies"):
            headers["Set-Cookie"] = "; ".join(result["cookies"])
        return HttpResponse(int(result["statusCode"]), headers, raw)
    return HttpResponse(200, {"Content-Type": "application/json"}, json.dumps(result).encode())


INTERNAL_ERROR = HttpResponse(
    500, {"Content-Type": "application/json"}, b'{"message":"Internal Server Error"}'
)
NOT_FOUND = HttpResponse(404, {"Content-Type": "application/json"}, b'{"message":"Not Found"}')
