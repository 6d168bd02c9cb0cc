"""The event contract: every version of every stored event type, kept in the repository.

For each event type, and each of its schema versions 1 .. current:

* ``tests/contract/event_schemas/<Type>/v<N>.json``: the JSON schema of the model at version N
  (pydantic's validation schema, camelCase, references inlined, titles and descriptions left out:
  prose is not the contract);
* ``tests/contract/event_examples/<Type>/v<N>.json``: a stored event of that version
  (``{"type", "schemaVersion", "data"}``, as in a commit's ``events`` list).

``tests/contract/test_event_contract.py`` holds the code to them: the current model must match the
snapshot of its current version (a changed model without a new version fails), every example must
fit its version's snapshot and upcast to a valid current event, and every type of every registry
must have both files for every version. How to change an event: ``docs/upcasting.md``.

Write what a new version needs (``make event-contract``)::

    .venv/bin/python -m tests.support.event_contract --write

It writes the snapshot of each type's current version where there is none, and the example of the
current version by upcasting the previous version's example (check it, and edit it to something a
reader learns from). It never changes a file that exists: a stored version is history. ``--replace
Type`` rewrites ``Type``'s current-version snapshot; only for a version no deployed code has written
yet. Without ``--write`` it reports what is missing or different (exit status 1 if anything is).
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shop
from shop.domain.events import DomainEvent, EventRegistry

CONTRACT = Path(__file__).resolve().parents[1] / "contract"
EXAMPLES = CONTRACT / "event_examples"
SCHEMAS = CONTRACT / "event_schemas"

#: Schema keywords whose value is data, not a schema: kept verbatim.
_VERBATIM = {"default", "const", "enum", "examples", "required"}
#: Prose, and pydantic's names for things: not part of the contract.
_PROSE = {"title", "description", "$defs"}


@dataclass(frozen=True)
class EventType:
    registry: str
    registry_object: EventRegistry
    cls: type[DomainEvent]

    @property
    def name(self) -> str:
        return self.cls.type_name()

    @property
    def current(self) -> int:
        return self.cls.schema_version

    @property
    def versions(self) -> range:
        return range(1, self.current + 1)


def shop_modules() -> Iterator[Any]:
    """Every module of the layer's package, imported."""
    for info in pkgutil.walk_packages(shop.__path__, f"{shop.__name__}."):
        yield importlib.import_module(info.name)


def registries() -> dict[str, EventRegistry]:
    """Every ``EventRegistry`` the layer defines, by ``module.name``: a new service's is found unlisted."""
    found: dict[int, tuple[str, EventRegistry]] = {}
    for module in shop_modules():
        for attribute, value in vars(module).items():
            # Named where it is defined: the module of its event classes (others import it).
            if isinstance(value, EventRegistry) and module.__name__ == next(iter(value)).__module__:
                found[id(value)] = (f"{module.__name__}.{attribute}", value)
    return dict(found.values())


def event_types() -> list[EventType]:
    return sorted(
        (EventType(name, registry, cls) for name, registry in registries().items() for cls in registry),
        key=lambda t: t.name,
    )


def event_classes_defined() -> set[type[DomainEvent]]:
    """Every ``DomainEvent`` subclass the layer defines (every module imported first)."""
    for _ in shop_modules():
        pass
    found: set[type[DomainEvent]] = set()
    pending = list(DomainEvent.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.startswith(f"{shop.__name__}."):
            found.add(cls)
    return found


def schema_of(cls: type[DomainEvent]) -> dict[str, Any]:
    """The contract part of the model's JSON schema: structure, types, constraints, defaults."""
    schema = cls.model_json_schema(by_alias=True, mode="validation")
    return _normalised(schema, schema.get("$defs", {}))


def _normalised(node: Any, defs: Mapping[str, Any]) -> Any:
    if isinstance(node, list):
        return [_normalised(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        referenced = defs[node["$ref"].rsplit("/", 1)[-1]]
        return _normalised({**referenced, **{k: v for k, v in node.items() if k != "$ref"}}, defs)
    normalised: dict[str, Any] = {}
    for key, value in node.items():
        if key in _PROSE:
            continue
        if key in _VERBATIM:
            normalised[key] = value
        elif key in ("properties", "patternProperties"):
            normalised[key] = {name: _normalised(schema, defs) for name, schema in value.items()}
        else:
            normalised[key] = _normalised(value, defs)
    return normalised


def schema_path(type_name: str, version: int) -> Path:
    return SCHEMAS / type_name / f"v{version}.json"


def example_path(type_name: str, version: int) -> Path:
    return EXAMPLES / type_name / f"v{version}.json"


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


def render(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def stored_files(root: Path) -> set[tuple[str, int]]:
    """``(type, version)`` of every ``<Type>/v<N>.json`` under ``root``."""
    return {
        (path.parent.name, int(path.stem.removeprefix("v")))
        for path in root.glob("*/v*.json")
        if path.stem.removeprefix("v").isdigit()
    }


def problems() -> list[str]:
    """What the contract tests would fail on, in words (the CLI's report)."""
    found: list[str] = []
    for event in event_types():
        for version in event.versions:
            for kind, path in (("schema", schema_path), ("example", example_path)):
                if not path(event.name, version).exists():
                    found.append(f"{event.name} v{version}: no {kind} ({path(event.name, version)})")
        current = schema_path(event.name, event.current)
        if current.exists() and read_json(current) != schema_of(event.cls):
            found.append(
                f"{event.name}: the model differs from its v{event.current} snapshot. A stored version "
                f"never changes: set schema_version = {event.current + 1}, add an upcaster from "
                f"v{event.current} to the registry, then run make event-contract"
            )
    return found


def write(replace: Sequence[str] = ()) -> list[str]:
    """Write the missing files of each type's current version; ``replace``: types whose current
    snapshot is rewritten. Returns what it did and what is left to do by hand."""
    done: list[str] = []
    for event in event_types():
        snapshot = schema_path(event.name, event.current)
        if not snapshot.exists() or event.name in replace:
            snapshot.parent.mkdir(parents=True, exist_ok=True)
            snapshot.write_text(render(schema_of(event.cls)))
            done.append(f"wrote {snapshot.relative_to(CONTRACT.parent.parent)}")
        example = example_path(event.name, event.current)
        previous = example_path(event.name, event.current - 1)
        if example.exists():
            continue
        if event.current > 1 and previous.exists():
            stored = read_json(previous)
            version, data = event.registry_object.upcast(event.name, stored["schemaVersion"], stored["data"])
            event.cls.model_validate(data)
            example.parent.mkdir(parents=True, exist_ok=True)
            example.write_text(render({"type": event.name, "schemaVersion": version, "data": data}))
            done.append(
                f"wrote {example.relative_to(CONTRACT.parent.parent)} (v{event.current - 1} upcast: check it)"
            )
        else:
            done.append(f"to do: write {example.relative_to(CONTRACT.parent.parent)} by hand")
    return done


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.event_contract", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--write", action="store_true", help="write the missing files of current versions")
    parser.add_argument(
        "--replace",
        action="append",
        default=[],
        metavar="TYPE",
        help="rewrite TYPE's current-version snapshot (a version no deployed code has written yet)",
    )
    arguments = parser.parse_args(argv)
    if arguments.write or arguments.replace:
        for line in write(arguments.replace):
            print(line)
    left = problems()
    for line in left:
        print(line)
    print(f"{len(event_types())} event types; {len(left)} problem(s)")
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main())
