"""The import rules of the layer hold (contracts in ``pyproject.toml``, ``[tool.importlinter]``).

Among them: no module of a service imports boto3, botocore or a DynamoDB adapter except the
``wiring.py`` that assembles it; services never import each other, except the Cart reading the
Catalog's published listing; the domain imports nothing of AWS, Powertools, HTTP or storage.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from importlinter.cli import lint_imports

import shop

ROOT = Path(__file__).resolve().parents[2]


def test_every_import_contract_is_kept() -> None:
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0


def test_the_contracts_cover_every_service_package() -> None:
    services = {path.parent.name for path in Path(shop.__file__).parent.glob("*/wiring.py")}
    config = (ROOT / "pyproject.toml").read_text()
    assert services == {"catalog", "cart", "orders"}
    for service in services:
        assert f'"shop.{service}"' in config, f"shop.{service} is missing from the import contracts"


MARKER = "from __future__ import annotations\n"
DYNAMODB_CONTRACT = "Services reach AWS only through the wiring that assembles them"


def add_line(path: Path, line: str) -> None:
    path.write_text(path.read_text().replace(MARKER, MARKER + line + "\n", 1))


def take_the_client(layer: Path) -> None:
    """A query module takes the process's DynamoDB client, which is where the adapters take it."""
    add_line(layer / "catalog" / "queries.py", "from shop.ddb import client")


def take_boto3_through_a_helper(layer: Path) -> None:
    """A query module imports a helper outside the services that imports boto3: an indirect import."""
    (layer / "aws_helpers.py").write_text("import boto3\n\nCLIENT = boto3.client\n")
    add_line(layer / "catalog" / "queries.py", "from shop.aws_helpers import CLIENT")


def hand_out_clients_from_runtime(layer: Path) -> None:
    """``shop.runtime`` (settings and caches, which every wiring imports) hands out a boto3 client
    again, as it did: every service then reaches boto3 through it."""
    runtime = layer / "runtime.py"
    runtime.write_text(
        runtime.read_text() + "\n\ndef dynamodb():\n    import boto3\n\n    return boto3.client('dynamodb')\n"
    )


def sign_in_the_edge(layer: Path) -> None:
    """The edge fetches the signing secret itself (as ``shop.http.signing`` did before the secret's
    client moved to ``shop.secrets``): every service's ``api`` then reaches Secrets Manager through
    ``command_response``, not through its wiring, which builds the token codec instead."""
    add_line(layer / "http" / "consistency.py", "from shop.secrets import signing_secret")


def lint_a_copy(tmp_path: Path, edit: Callable[[Path], None] | None) -> subprocess.CompletedProcess[str]:
    """import-linter with this repository's contracts, on a copy of the layer changed by ``edit``."""
    layer = tmp_path / "shop"
    shutil.copytree(ROOT / "layers/shop/shop", layer, ignore=shutil.ignore_patterns("__pycache__"))
    if edit is not None:
        edit(layer)
    return subprocess.run(
        [
            str(Path(sys.executable).parent / "lint-imports"),
            "--no-cache",
            "--config",
            str(ROOT / "pyproject.toml"),
        ],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_copy_of_the_layer_keeps_every_contract(tmp_path: Path) -> None:
    """The harness of the next tests: unchanged, the copy is linted and keeps all six contracts."""
    result = lint_a_copy(tmp_path, None)
    assert "Contracts: 6 kept, 0 broken." in result.stdout, result.stdout + result.stderr
    assert result.returncode == 0


@pytest.mark.parametrize(
    "edit",
    [take_the_client, take_boto3_through_a_helper, hand_out_clients_from_runtime, sign_in_the_edge],
    ids=lambda edit: edit.__name__,
)
def test_a_service_module_reaching_dynamodb_other_than_through_its_wiring_breaks_a_contract(
    tmp_path: Path, edit: Callable[[Path], None]
) -> None:
    """Issue 8: no module of a service reaches DynamoDB except its wiring. With indirect imports
    allowed, a query module taking a boto3 client from ``shop.runtime`` (then the home of the
    client) kept all five contracts."""
    result = lint_a_copy(tmp_path, edit)
    assert "Contracts: 5 kept, 1 broken." in result.stdout, result.stdout + result.stderr
    broken = result.stdout[result.stdout.index("Broken contracts") :]
    assert broken.split("\n")[3] == DYNAMODB_CONTRACT, broken
    assert result.returncode == 1


TELEMETRY_CONTRACT = (
    "Application code and adapters count and trace through shop.telemetry, never Powertools itself"
)


def count_with_powertools(layer: Path) -> None:
    """The retry loop counts its retries with Powertools Metrics itself, not through shop.telemetry."""
    add_line(layer / "application" / "retry.py", "from aws_lambda_powertools import Metrics")


def trace_the_store(layer: Path) -> None:
    """The event store adapter imports the X-Ray SDK (cold start pays for it with tracing off)."""
    add_line(layer / "eventstore" / "dynamodb.py", "import aws_xray_sdk")


@pytest.mark.parametrize("edit", [count_with_powertools, trace_the_store], ids=lambda edit: edit.__name__)
def test_application_code_reaching_powertools_itself_breaks_a_contract(
    tmp_path: Path, edit: Callable[[Path], None]
) -> None:
    result = lint_a_copy(tmp_path, edit)
    assert "Contracts: 5 kept, 1 broken." in result.stdout, result.stdout + result.stderr
    broken = result.stdout[result.stdout.index("Broken contracts") :]
    assert " ".join(broken.split("\n")[3:5]).strip().startswith(TELEMETRY_CONTRACT[:60]), broken
    assert result.returncode == 1
