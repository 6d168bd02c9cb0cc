"""``shop.operations.readmodels`` names what template.yaml wires: each read table is written by one
stream consumer, whose environment names the read table and which reads that event store."""

from __future__ import annotations

from local.aws.template import Template
from shop.operations.readmodels import EVENT_STORES, READ_MODELS


def test_each_read_table_is_fed_by_the_store_the_registry_names(template: Template) -> None:
    for model in READ_MODELS.values():
        writers = [
            s
            for s in template.subscriptions
            if {"Ref": model.table} in template.functions[s.function].environment.values()
        ]
        assert [s.table for s in writers] == [model.store], model.table
        assert model.projection().name == model.table


def test_every_table_with_a_stream_is_an_event_store_and_every_other_a_read_table_or_records(
    template: Template,
) -> None:
    streamed = {name for name, table in template.tables.items() if "StreamSpecification" in table}
    assert streamed == set(EVENT_STORES)
    parked = {f"{s.function}Parked" for s in template.subscriptions}  # each consumer's (docs/parking.md)
    snapshots = {"CartSnapshotStore", "CatalogSnapshotStore"}  # docs/snapshots.md: no stream, by design
    assert set(template.tables) - streamed == {*READ_MODELS, "IdempotencyTable", *parked, *snapshots}
