"""Valid Catalog histories and the DynamoDB Streams records that carry them, for projector tests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st

from shop.application import Repository
from shop.catalog.domain import Product, Stock
from shop.catalog.events import catalog_events
from shop.domain.money import Money
from shop.errors import ShopError
from shop.eventstore.codec import encode_commit
from shop.eventstore.memory import InMemoryEventStore
from shop.eventstore.model import EventMetadata, NewEvent, RecordedEvent

Commit = tuple[str, tuple[RecordedEvent, ...]]
META = EventMetadata("corr", "cause", "someone")

operations = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "create",
                "rename",
                "recategorise",
                "price",
                "discontinue",
                "receive",
                "reserve",
                "release",
                "receive_twice",
            ]
        ),
        st.integers(0, 2),
        st.integers(1, 5),
    ),
    min_size=1,
    max_size=30,
)


def build_history(ops: Sequence[tuple[str, int, int]]) -> InMemoryEventStore:
    """Apply operations through the real aggregates; operations the rules refuse are skipped."""
    store = InMemoryEventStore()
    repository = Repository(store, catalog_events)
    for kind, index, amount in ops:
        product_id = f"00000000-0000-4000-8000-00000000000{index}"
        try:
            _apply(repository, store, kind, product_id, amount)
        except ShopError:
            continue
    return store


def _apply(
    repository: Repository, store: InMemoryEventStore, kind: str, product_id: str, amount: int
) -> None:
    product = repository.load(Product, product_id)
    if kind == "create":
        if product.exists:
            return
        product = Product.create(
            product_id,
            sku=f"SKU-{product_id[-1]}",
            name=f"Product {product_id[-1]}",
            description="",
            category="cat-a",
            price=Money(amount=100, currency="EUR"),
        )
        repository.save(product, metadata=META)
        return
    if not product.exists:
        return
    stock = repository.load(Stock, product_id)
    match kind:
        case "rename":
            product.change_details(name=f"Renamed {amount} {product_id[-1]}")
        case "recategorise":
            product.change_details(category=f"cat-{amount}")
        case "price":
            product.change_price(Money(amount=amount * 100, currency="EUR"))
        case "discontinue":
            product.discontinue()
        case "receive":
            stock.receive(amount)
        case "receive_twice":  # a commit of two events
            stock.receive(amount)
            stock.receive(1)
        case "reserve":
            stock.reserve(amount, f"order-{amount}")
        case "release":
            if stock.available < 100:
                stock.release(amount, f"order-{amount}")
    repository.save(product, metadata=META)
    repository.save(stock, metadata=META)


def stream_record(commit: Commit, sequence: int) -> dict[str, Any]:
    """The Lambda record DynamoDB Streams would deliver for ``commit`` (NEW_IMAGE, INSERT)."""
    stream_id, events = commit
    image = encode_commit(
        stream_id,
        events[0].version - 1,
        [NewEvent(e.type, e.data, e.schema_version, e.event_id, e.occurred_at) for e in events],
        events[0].metadata,
    )
    return {
        "eventID": f"id-{sequence}",
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": 1_790_000_000,
            "Keys": {"streamId": image["streamId"], "version": image["version"]},
            "NewImage": image,
            "SequenceNumber": f"{sequence:021d}",
            "SizeBytes": 200,
            "StreamViewType": "NEW_IMAGE",
        },
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/CatalogEventStore/stream/x",
    }
