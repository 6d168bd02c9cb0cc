"""What every subcommand shares: the target options, ``--json``, and turning failures into exit codes.

A subcommand (``shopctl.commands.*``) declares ``target: TargetOptions``-style parameters with the
``Annotated`` aliases below, calls ``connect(...)`` inside ``with reporting(as_json):``, and prints
its result with ``emit`` (JSON) or rich tables. Errors become a message on stderr (or a JSON error
document on stdout with ``--json``) and the error's exit code (``shopctl.errors``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError
from rich.console import Console

from shopctl import errors
from shopctl.errors import ShopctlError, Unreachable
from shopctl.target import Target, from_endpoint, from_stack

StackName = Annotated[
    str | None,
    typer.Option(
        "--stack-name",
        envvar="SHOPCTL_STACK_NAME",
        help="A deployed stack (AWS): physical names come from its resources.",
        rich_help_panel="Target",
    ),
]
EndpointUrl = Annotated[
    str | None,
    typer.Option(
        "--endpoint-url",
        envvar="SHOPCTL_ENDPOINT_URL",
        help="The local stack's AWS endpoint, e.g. http://127.0.0.1:4566 (make run).",
        rich_help_panel="Target",
    ),
]
Region = Annotated[
    str | None,
    typer.Option("--region", envvar="AWS_REGION", help="AWS region of the stack.", rich_help_panel="Target"),
]
Prefix = Annotated[
    str,
    typer.Option("--prefix", hidden=True, help="Local table name prefix (test stacks)."),
]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON document (for scripts).")]

#: What people read: tables, progress, messages. JSON goes to stdout through ``emit``.
console = Console(highlight=False)
stderr = Console(stderr=True, highlight=False)


def connect(stack_name: str | None, endpoint_url: str | None, region: str | None, prefix: str = "") -> Target:
    """The target the options name: exactly one of ``--stack-name`` and ``--endpoint-url``."""
    if bool(stack_name) == bool(endpoint_url):
        raise typer.BadParameter(
            "name the target: --stack-name STACK (AWS) or --endpoint-url URL (the local stack)",
            param_hint="--stack-name / --endpoint-url",
        )
    if endpoint_url:
        url = urlsplit(endpoint_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise typer.BadParameter(
                f"{endpoint_url!r} is not an http(s) URL, e.g. http://127.0.0.1:4566",
                param_hint="--endpoint-url",
            )
        return from_endpoint(endpoint_url, prefix=prefix)
    assert stack_name is not None
    return from_stack(stack_name, region)


def not_blank(value: str, param_hint: str) -> str:
    """``value``, unless it is empty or only spaces (a usage error: exit code 2)."""
    if not value.strip():
        raise typer.BadParameter("must not be empty", param_hint=param_hint)
    return value


def emit(document: Any) -> None:
    """One JSON document on stdout."""
    sys.stdout.write(json.dumps(document, indent=2, default=str, ensure_ascii=False) + "\n")
    sys.stdout.flush()


@contextmanager
def reporting(as_json: bool) -> Iterator[None]:
    """Failures as a message and an exit code (``shopctl.errors``); AWS errors included."""
    try:
        yield
    except ShopctlError as error:
        _fail(error, as_json)
    except (NoCredentialsError, EndpointConnectionError) as error:
        _fail(Unreachable(str(error)), as_json)
    except ClientError as error:
        _fail(ShopctlError(f"AWS refused a call: {error}"), as_json)
    except BotoCoreError as error:
        _fail(ShopctlError(f"AWS SDK: {error}"), as_json)


def _fail(error: ShopctlError, as_json: bool) -> None:
    if as_json:
        emit({"error": error.kind, "message": str(error), "exitCode": error.exit_code})
    else:
        stderr.print(f"[bold red]shopctl:[/] {error}", markup=True, soft_wrap=True)
    raise typer.Exit(error.exit_code)


__all__ = [
    "EndpointUrl",
    "Json",
    "Prefix",
    "Region",
    "StackName",
    "connect",
    "emit",
    "errors",
    "not_blank",
    "reporting",
]
