"""``make openapi``: the OpenAPI 3.1 documents of both HTTP APIs, from the code and ``template.yaml``.

``python -m local.openapi`` writes ``docs/openapi/<api>.json`` (``command.json``, ``query.json``);
``--check`` writes nothing and fails if a committed document differs from what the code says.

The template says which routes an API has, which function serves each and which are public; each
function's handler (``functions/*/app.py``) says how: its routers, their signatures and models
(``shop.http.openapi`` turns them into the document).
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import sys
import tomllib
from pathlib import Path
from typing import Any

from local import ROOT
from local.aws.functions import LOCAL_ENVIRONMENT, OFFLINE_ENVIRONMENT, load_handler
from local.aws.template import Template

OUTPUT = ROOT / "docs" / "openapi"


def file_name(api: str) -> str:
    """``CommandApi`` -> ``command.json``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "-", api.removesuffix("Api")).lower() + ".json"


def _servers(template: Template, api: str) -> list[dict[str, Any]]:
    """The API's base URL as the stack's ``<Api>Url`` output builds it, with its parts as variables."""
    output = template.document.get("Outputs", {}).get(f"{api}Url", {}).get("Value")
    if not (isinstance(output, dict) and isinstance(output.get("Fn::Sub"), str)):
        return [{"url": "/"}]
    variables: dict[str, dict[str, str]] = {}

    def variable(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "AWS::URLSuffix":
            return "amazonaws.com"
        key = "region" if name == "AWS::Region" else "apiId"
        default = "us-east-1" if key == "region" else "your-api-id"
        variables[key] = {"default": default, "description": f"The stack's {name}"}
        return "{" + key + "}"

    url = re.sub(r"\$\{([^}]+)\}", variable, output["Fn::Sub"])
    description = f"The deployed stack (its `{api}Url` output); locally `make run` serves it too."
    return [{"url": url, "description": description, "variables": variables}]


def _version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as stream:
        return str(tomllib.load(stream)["project"]["version"])


def documents(template: Template | None = None) -> dict[str, dict[str, Any]]:
    """Every HTTP API's document, by the API's logical id."""
    from shop.http import openapi  # noqa: PLC0415 - imports the layer: after the environment is set

    template = template or Template()
    handlers = {}
    for name, value in {**OFFLINE_ENVIRONMENT, **LOCAL_ENVIRONMENT}.items():
        os.environ.setdefault(name, value)
    result = {}
    for api in template.http_apis:
        operations = []
        for route in template.routes_of(api):
            if route.path == "$default":
                continue
            if route.function not in handlers:
                handlers[route.function] = load_handler(template.functions[route.function])
            handler = handlers[route.function]
            operations.append(_operation(openapi, route, handler))
        authorizers = template.jwt_authorizers(api)
        default = template.http_api_auth(api).get("DefaultAuthorizer")
        auth = None
        if default in authorizers:
            spec = authorizers[default]
            header = spec.identity_source.rsplit(".", 1)[-1]
            auth = openapi.BearerAuth(
                default,
                header,
                f"An access token of the stack's Cognito user pool (`UserPool`, app client "
                f"`UserPoolClient`; the `UserPoolId` and `UserPoolClientId` outputs), as "
                f"`{header}: Bearer <token>`. API Gateway's JWT authorizer checks it (signature, "
                f"issuer, audience, expiry) before any function runs.",
            )
        description = template.resources[api].get("Properties", {}).get("Description", "")
        info = openapi.ApiInfo(
            title=f"Shop {api.removesuffix('Api')} API",
            version=_version(),
            description=(
                f"{description}\n\nGenerated from the code by `make openapi` (docs/openapi.md). Every "
                "error a function answers is `application/problem+json`; a method a path does not "
                "have is a 405 with `Allow`; a 401 and a 429 are API Gateway's own JSON."
            ),
            servers=_servers(template, api),
        )
        result[api] = openapi.document(info, operations, auth)
    return result


def _operation(openapi: Any, route: Any, handler: Any) -> Any:
    from shop.http.router import template_path  # noqa: PLC0415

    for router in getattr(handler, "routers", ()):
        for (method, path), function in router.functions.items():
            if method == route.method and _shape(path) == _shape(route.path):
                return openapi.Operation(
                    method=route.method,
                    path=route.path,
                    function=function,
                    resolver=handler.app,
                    code_path=template_path(path),
                    public=route.authorizer is None,
                )
    raise LookupError(f"{route.function} serves no {route.method} {route.path} (template.yaml says it does)")


def _shape(path: str) -> str:
    return re.sub(r"\{\w+\}", "{}", path)


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="fail if a committed document is stale")
    args = parser.parse_args(argv)
    stale = []
    for api, document in documents().items():
        path = OUTPUT / file_name(api)
        text = render(document)
        current = path.read_text() if path.exists() else ""
        if current == text:
            continue
        if args.check:
            stale.append(path)
            diff = difflib.unified_diff(
                current.splitlines(), text.splitlines(), str(path), "generated", lineterm="", n=1
            )
            print("\n".join(list(diff)[:60]))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(f"wrote {_shown(path)}")
    if stale:
        names = ", ".join(_shown(p) for p in stale)
        print(f"{names}: stale; run `make openapi` and commit the result", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
