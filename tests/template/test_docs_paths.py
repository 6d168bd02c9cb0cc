"""The docs name files as they are: every repository path a document puts in backticks exists.

Issue 8 asks that the docs describe the tree as it is; the tree moved (``tests/local/``, ``local/``
in three packages) and a path left behind in a document is found by nobody until a reader follows it.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
#: A backticked path from a top-level folder of the repository (``shop/`` is the layer's package).
PATH = re.compile(r"`((?:layers|local|tests|functions|docs|events|bench|shop|\.ci)/[\w./-]*)`")
#: A Markdown link's target, without its ``#fragment``.
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def named_paths(document: Path) -> list[str]:
    return [p for p in PATH.findall(document.read_text()) if not re.search(r"[<>{}*]", p)]


def exists(path: str) -> bool:
    candidate = ROOT / "layers/shop" / path if path.startswith("shop/") else ROOT / path
    return candidate.exists()


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda d: d.name)
def test_every_path_a_document_names_exists(document: Path) -> None:
    missing = [path for path in named_paths(document) if not exists(path)]
    assert missing == []


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda d: d.name)
def test_every_file_a_document_links_to_exists(document: Path) -> None:
    """Links are relative to the document (``[moto-transactions.md](moto-transactions.md)``)."""
    targets = [t for t in LINK.findall(document.read_text()) if not re.match(r"[a-z]+:", t)]
    missing = [target for target in targets if not (document.parent / target).exists()]
    assert missing == []


def test_make_help_lists_every_documented_target() -> None:
    """Issue 8 adds a target per test level; `make help` greps ``^[a-z-]+:``, so ``e2e`` is not listed."""
    documented = re.findall(r"^([\w-]+):.*## ", (ROOT / "Makefile").read_text(), flags=re.MULTILINE)
    shown = subprocess.run(
        ["make", "--no-print-directory", "help"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    listed = re.findall(r"^\s+make (\S+)", shown, flags=re.MULTILINE)
    assert "e2e" in documented
    assert sorted(listed) == sorted(documented)
