"""The import rules of the layer hold (contracts in ``pyproject.toml``, ``[tool.importlinter]``).

Among them: no module of a service imports boto3, botocore or a DynamoDB adapter except the
``wiring.py`` that assembles it; services never import each other, except the Cart reading the
Catalog's published listing; the domain imports nothing of AWS, Powertools, HTTP or storage.
"""

from __future__ import annotations

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
