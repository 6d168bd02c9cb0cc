"""The ``--env-vars`` file of ``sam local invoke`` / ``start-api``: every function pointed at the local stack.

``local/sam-env.json`` (committed; ``samconfig.toml`` makes it the default) is for the local stack's
default port; ``make run`` writes ``.local/sam-env.json`` for the port and host it actually serves
when containers can reach it (``MOTO_HOST=0.0.0.0``). Table names are the template's logical ids (as
in the local stack), the signing secret is named (``SIGNING_SECRET_ID``: the local stack's secret of
that name; the function fetches its value from the endpoint), and ``AWS_ENDPOINT_URL`` is the local
endpoint as a container sees it. SAM passes a function only the variables its template declares,
which is why the template declares ``AWS_ENDPOINT_URL`` (with no value in AWS).

    python -m local.demo.envfile                                  # regenerate local/sam-env.json
    python -m local.demo.envfile --port 4666 .local/sam-env.json  # for MOTO_PORT=4666
"""

from __future__ import annotations

import argparse
import ipaddress
import json
from pathlib import Path
from typing import Any

from local import ROOT
from local.aws.functions import function_environment
from local.aws.template import Template

OUTPUT = ROOT / "local" / "sam-env.json"
#: Where ``make run`` writes the file for the endpoint it actually serves (git ignores ``.local/``).
RUNNING_OUTPUT = ROOT / ".local" / "sam-env.json"
DEFAULT_PORT = 4566
#: The host, as containers see it. Docker on Linux defines it only with ``--add-host
#: host.docker.internal:host-gateway``, which ``samconfig.toml`` passes to ``sam local``.
DOCKER_HOST = "host.docker.internal"


def container_endpoint(bound_host: str, port: int) -> str | None:
    """The endpoint URL a container uses for a server bound to ``bound_host``; None if it cannot reach it."""
    if bound_host in ("", "0.0.0.0", "::"):  # all interfaces, the Docker bridge's too
        return f"http://{DOCKER_HOST}:{port}"
    try:
        loopback = bound_host == "localhost" or ipaddress.ip_address(bound_host).is_loopback
    except ValueError:  # a host name
        loopback = False
    if loopback:
        return None  # a container's 127.0.0.1 is the container itself
    return f"http://{bound_host}:{port}"


def sam_environment(
    template: Template, endpoint: str = f"http://{DOCKER_HOST}:{DEFAULT_PORT}"
) -> dict[str, dict[str, Any]]:
    # The local stack names tables and secrets by their logical ids; a secret's id may be its name.
    secrets = template.of_type("AWS::SecretsManager::Secret")
    physical = {logical: logical for logical in [*template.tables, *secrets]}
    variables = {}
    for name, function in sorted(template.functions.items()):
        environment = function_environment(template, function, physical)
        declared = {key: environment[key] for key in sorted(environment) if key in function.environment}
        variables[name] = {**declared, "AWS_ENDPOINT_URL": endpoint}
    return variables


def render(template: Template, endpoint: str = f"http://{DOCKER_HOST}:{DEFAULT_PORT}") -> str:
    return json.dumps(sam_environment(template, endpoint), indent=2) + "\n"


def write(template: Template, endpoint: str, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(template, endpoint))
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("output", nargs="?", type=Path, default=OUTPUT)
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--port", type=int, default=DEFAULT_PORT, help="the local stack's MOTO_PORT")
    where.add_argument(
        "--endpoint", help="the endpoint URL as containers see it (default: host.docker.internal)"
    )
    args = parser.parse_args(argv)
    endpoint = args.endpoint or f"http://{DOCKER_HOST}:{args.port}"
    print(f"wrote {write(Template(), endpoint, args.output)} (AWS_ENDPOINT_URL={endpoint})")


if __name__ == "__main__":
    main()
