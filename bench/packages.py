"""Package sizes after an arm64 ``sam build``: every function's artifact and the layer, by top-level package.

Zipped sizes are what ``sam package`` uploads (deflate, as ``zipfile`` writes it). The layer is split by
top-level package: a package's directory, its ``.dist-info`` and its top-level modules' bytecode count
together. The runtime column marks what the Lambda Python runtime already has (the boto3 stack), which
the layer ships anyway (docs/decisions.md, "Packaging"). The check list at the end names what ships but
only tools and tests use.
"""

from __future__ import annotations

import ast
import io
import textwrap
import zipfile
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import grimp

from bench.coldstart import runtime_package, sam_build
from local.aws.template import Template

ARCHITECTURE = "arm64"
#: Never part of an artifact: test code, type stubs, the layer's requirements file.
NEVER_SHIPPED = ("tests", "test", "requirements.txt")


@dataclass(frozen=True)
class Size:
    name: str
    files: int
    unzipped: int
    zipped: int


def zipped_size(root: Path, files: Iterable[Path]) -> int:
    """Bytes of a deflated zip of ``files`` (paths relative to ``root`` inside it)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(files):
            archive.write(path, path.relative_to(root).as_posix())
    return buffer.tell()


def measure(name: str, root: Path, files: list[Path]) -> Size:
    return Size(name, len(files), sum(p.stat().st_size for p in files), zipped_size(root, files))


def top_level(relative: Path) -> str:
    """The import name a layer file belongs to: ``pydantic/x.py`` and ``pydantic-2.13.5.dist-info/RECORD``
    -> ``pydantic``; ``six.py`` and ``__pycache__/six.cpython-313.pyc`` -> ``six``."""
    first = relative.parts[0]
    if first == "__pycache__":
        return relative.parts[1].split(".")[0]
    if first.endswith(".dist-info"):
        name = first.split("-")[0]
        return {"python_dateutil": "dateutil"}.get(name, name)
    return first.removesuffix(".py")


def layer_split(python: Path) -> list[Size]:
    groups: dict[str, list[Path]] = defaultdict(list)
    for path in python.rglob("*"):
        if path.is_file():
            groups[top_level(path.relative_to(python))].append(path)
    sizes = [measure(name, python.parent, files) for name, files in groups.items()]
    return sorted(sizes, key=lambda size: size.unzipped, reverse=True)


def unreachable_modules(python: Path, template: Template) -> list[str]:
    """``shop`` modules that no handler imports, directly or through others (lazy imports count too)."""
    graph = grimp.build_graph("shop", cache_dir=None)
    reachable: set[str] = set()
    for function in template.functions.values():
        tree = ast.parse(function.module_path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("shop"):
                entries = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            elif isinstance(node, ast.Import):
                entries = [alias.name for alias in node.names if alias.name.startswith("shop")]
            else:
                continue
            for entry in entries:
                if entry in graph.modules:
                    reachable |= {entry, *graph.find_upstream_modules(entry)}
    # A package's __init__ runs whenever one of its modules is imported.
    parents = {".".join(m.split(".")[:i]) for m in reachable for i in range(1, m.count(".") + 1)}
    shipped = {
        ".".join(p.relative_to(python).with_suffix("").parts).removesuffix(".__init__")
        for p in (python / "shop").rglob("*.py")
    }
    return sorted(shipped - reachable - parents)


def kib(size: int) -> str:
    return f"{size / 1024:,.1f} KiB" if size < 1024 * 1024 else f"{size / 1024 / 1024:,.2f} MiB"


def report() -> str:
    template = Template()
    build = sam_build(ARCHITECTURE)
    python = build / "ShopLayer" / "python"
    functions = [
        measure(name, build / name, [p for p in (build / name).rglob("*") if p.is_file()])
        for name in sorted(template.functions)
    ]
    layer = measure("ShopLayer", python.parent, [p for p in python.rglob("*") if p.is_file()])
    split = layer_split(python)
    runtime = [s for s in split if runtime_package(s.name)]
    without_runtime = measure(
        "without",
        python.parent,
        [
            p
            for p in python.rglob("*")
            if p.is_file() and not runtime_package(top_level(p.relative_to(python)))
        ],
    )
    without_bytecode = measure(
        "no pyc", python.parent, [p for p in python.rglob("*") if p.is_file() and p.suffix != ".pyc"]
    )
    found = sorted(
        str(p.relative_to(python))
        for p in python.rglob("*")
        if p.name in NEVER_SHIPPED or p.name.endswith("-stubs")
    )
    typed = sorted(str(p.relative_to(python)) for p in python.rglob("py.typed"))
    unreachable = unreachable_modules(python, template)

    other = measure("other", python.parent, sorted(python.rglob("*-x86_64-linux-gnu.so")))
    unreachable_files = [python.joinpath(*module.split(".")).with_suffix(".py") for module in unreachable]
    unreachable_size = measure("unreachable", python.parent, [p for p in unreachable_files if p.exists()])
    layer_line = (
        f"**ShopLayer: {kib(layer.unzipped)} unzipped, {kib(layer.zipped)} zipped** ({layer.files} files,"
        f" `.pyc` included; without them {kib(without_bytecode.unzipped)} / {kib(without_bytecode.zipped)})."
        f" Without what the runtime already has: {kib(without_runtime.unzipped)} /"
        f" {kib(without_runtime.zipped)}. The x86_64 extensions an arm64 function never loads:"
        f" {kib(other.unzipped)} / {kib(other.zipped)} (make is not told the architecture, so the layer"
        " holds both: docs/decisions.md, Packaging)."
    )
    runtime_line = (
        f"The boto3 stack the runtime already has ({', '.join(s.name for s in runtime)}) is"
        f" {kib(sum(s.unzipped for s in runtime))} unzipped and {kib(sum(s.zipped for s in runtime))}"
        " zipped of the layer; why it ships anyway is in docs/decisions.md (Packaging)."
    )
    checks = (
        "Checks: test code, type stubs and requirements files in the artifacts: "
        + (", ".join(f"`{f}`" for f in found) if found else "**none**")
        + f". `py.typed` markers (empty files, kept): {len(typed)}. `shop` modules no handler imports,"
        " even lazily, which ship because the layer's `shop` package is also what `shopctl`, the local"
        f" stack and the tests import ({kib(unreachable_size.unzipped)} of source): "
        + ", ".join(f"`{m}`" for m in unreachable)
        + ". Dropping them would need a test that no function imports them at run time."
    )
    lines = [
        "| Function artifact | files | unzipped | zipped |",
        "|---|---:|---:|---:|",
        *(f"| {s.name} | {s.files} | {kib(s.unzipped)} | {kib(s.zipped)} |" for s in functions),
        "",
        _fill(layer_line),
        "",
        "| Layer, by top-level package | in the runtime | files | unzipped | zipped |",
        "|---|:---:|---:|---:|---:|",
        *(
            f"| {s.name} | {'yes' if runtime_package(s.name) else ''} | {s.files} | {kib(s.unzipped)}"
            f" | {kib(s.zipped)} |"
            for s in split
        ),
        "",
        _fill(runtime_line),
        "",
        _fill(checks),
    ]
    return "\n".join(lines)


def _fill(text: str) -> str:
    return textwrap.fill(text, 100, break_on_hyphens=False, break_long_words=False)
