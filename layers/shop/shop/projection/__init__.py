"""The projection engine every projector uses; it writes through the read side's port (``shop.views``)."""

from shop.projection.engine import GapNotFilled, Projection, ProjectionEngine, Row, Target
from shop.views.port import Changes, CheckpointMoved, ReadTable

__all__ = [
    "Changes",
    "CheckpointMoved",
    "GapNotFilled",
    "Projection",
    "ProjectionEngine",
    "ReadTable",
    "Row",
    "Target",
]
