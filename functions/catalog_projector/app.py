"""CatalogProjector: Catalog event store stream -> ProductsView."""

from shop.catalog.events import catalog_events
from shop.catalog.wiring import products_projector
from shop.streams import projector_handler

handler = projector_handler(products_projector, source=catalog_events)
