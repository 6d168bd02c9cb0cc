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
from pathlib import Path

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


def test_a_service_module_that_takes_a_dynamodb_client_from_runtime_breaks_a_contract(tmp_path: Path) -> None:
    """Issue 8: no module of a service reaches DynamoDB except its wiring. ``shop.runtime.dynamodb()``
    hands out a boto3 DynamoDB client, and the contracts allow indirect imports, so a query module
    importing it keeps all five contracts (checked on a copy of the layer with that one line added)."""
    layer = tmp_path / "shop"
    shutil.copytree(ROOT / "layers/shop/shop", layer, ignore=shutil.ignore_patterns("__pycache__"))
    queries = layer / "catalog" / "queries.py"
    source = queries.read_text()
    marker = "from __future__ import annotations\n"
    queries.write_text(source.replace(marker, marker + "from shop.runtime import dynamodb\n", 1))
    result = subprocess.run(
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
    assert "Contracts: 5 kept, 0 broken" not in result.stdout, result.stdout
    assert result.returncode != 0
