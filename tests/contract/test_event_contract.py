"""The event contract: no event model changes without a new schema version and an upcaster.

Stored events are never rewritten, so every version ever written must stay readable. For every
type of every service's registry and every version 1 .. current, ``tests/contract`` keeps the
model's JSON schema and a stored example (``tests/support/event_contract.py``). Here:

* the current model matches the snapshot of its current version: a model changed in place, without
  a new version, fails (and says what to do);
* every example fits the snapshot of its version, and upcasts to a valid current event;
* the example of the current version is what the model writes (it round-trips);
* every event class of the layer is in a registry, every type has both files for every version,
  and nothing is stored for a type or version the code does not have.

Writing the files of a new version: ``make event-contract`` (``docs/upcasting.md``).
"""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tests.support.event_contract import (
    EXAMPLES,
    SCHEMAS,
    EventType,
    event_classes_defined,
    event_types,
    example_path,
    read_json,
    registries,
    schema_of,
    schema_path,
    stored_files,
)

TYPES = event_types()
VERSIONS = [(event, version) for event in TYPES for version in event.versions]


def label(value: Any) -> str:
    return value.name if isinstance(value, EventType) else f"v{value}"


def test_every_services_registry_is_found() -> None:
    assert set(registries()) == {
        "shop.catalog.events.catalog_events",
        "shop.cart.events.cart_events",
        "shop.orders.events.order_events",
    }


def test_every_event_class_is_in_a_registry_and_type_names_are_unique() -> None:
    registered = [event.cls for event in TYPES]
    assert len({cls.type_name() for cls in registered}) == len(registered)
    assert event_classes_defined() == set(registered)


@pytest.mark.parametrize("event", TYPES, ids=label)
def test_the_model_is_its_current_versions_snapshot(event: EventType) -> None:
    snapshot = schema_path(event.name, event.current)
    assert snapshot.exists(), f"{event.name} v{event.current} has no schema snapshot: run make event-contract"
    assert schema_of(event.cls) == read_json(snapshot), (
        f"{event.name} changed, but its schema_version is still {event.current}. Stored events are never "
        f"rewritten: set schema_version = {event.current + 1}, register an upcaster from v{event.current}, "
        "run make event-contract and check the example it writes (docs/upcasting.md)."
    )


@pytest.mark.parametrize(("event", "version"), VERSIONS, ids=label)
def test_every_version_has_an_example_that_fits_its_snapshot(event: EventType, version: int) -> None:
    schema = read_json(schema_path(event.name, version))
    example = read_json(example_path(event.name, version))
    assert (example["type"], example["schemaVersion"]) == (event.name, version)
    Draft202012Validator.check_schema(schema)
    errors = [error.message for error in Draft202012Validator(schema).iter_errors(example["data"])]
    assert errors == [], f"{event.name} v{version}: the example does not fit its schema"


@pytest.mark.parametrize(("event", "version"), VERSIONS, ids=label)
def test_every_versions_example_upcasts_to_a_valid_current_event(event: EventType, version: int) -> None:
    example = read_json(example_path(event.name, version))
    upcast_version, data = event.registry_object.upcast(event.name, version, example["data"])
    assert upcast_version == event.current
    decoded = event.registry_object.decode(event.name, data)
    assert isinstance(decoded, event.cls)
    Draft202012Validator(read_json(schema_path(event.name, event.current))).validate(dict(data))
    if version == event.current:
        assert decoded.to_data() == example["data"], "the current example is not what the model writes"


@pytest.mark.parametrize("root", [EXAMPLES, SCHEMAS], ids=lambda root: root.name)
def test_nothing_is_stored_for_a_type_or_version_the_code_does_not_have(root: Any) -> None:
    assert stored_files(root) == {(event.name, version) for event, version in VERSIONS}
    assert {path.name for path in root.iterdir()} == {event.name for event in TYPES}
