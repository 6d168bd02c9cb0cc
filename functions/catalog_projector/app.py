"""CatalogProjector: Catalog event store stream -> ProductsView;
parks what it gives up on (docs/parking.md)."""

from shop.catalog.events import catalog_events
from shop.catalog.wiring import products_projector, products_projector_parking
from shop.streams import projector_handler

handler = projector_handler(
    products_projector, products_projector_parking, source=catalog_events, name="CatalogProjector"
)
