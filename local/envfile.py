"""Writes ``local/sam-env.json``: every function's variables pointed at the local stack.

For ``sam local invoke`` / ``start-api`` (see README): table names are the template's logical
ids (as in the local stack), the cursor secret is the local stack's, and ``AWS_ENDPOINT_URL`` is
the local endpoint as seen from a container. A test keeps the committed file in step with the
template: ``python -m local.envfile`` regenerates it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from local.functions import function_environment
from local.stack import secret_names
from local.template import ROOT, Template

OUTPUT = ROOT / "local" / "sam-env.json"
CONTAINER_ENDPOINT = "http://host.docker.internal:4566"


def sam_environment(template: Template, endpoint: str = CONTAINER_ENDPOINT) -> dict[str, dict[str, Any]]:
    physical = {logical: logical for logical in template.tables} | secret_names(template)
    variables = {}
    for name, function in sorted(template.functions.items()):
        environment = function_environment(template, function, physical)
        declared = {key: environment[key] for key in sorted(environment) if key in function.environment}
        variables[name] = {**declared, "AWS_ENDPOINT_URL": endpoint}
    return variables


def render(template: Template) -> str:
    return json.dumps(sam_environment(template), indent=2) + "\n"


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else OUTPUT
    path.write_text(render(Template()))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
