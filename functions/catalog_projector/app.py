"""CatalogProjector: Catalog event store stream -> ProductsView."""

from shop.catalog.wiring import products_projector
from shop.projection.stream import projector_handler

handler = projector_handler(products_projector)
