"""The projection engine every projector uses, and the read-table port it writes through."""

from shop.projection.engine import CheckpointMoved, Projection, ProjectionEngine, ReadTable, Target

__all__ = ["CheckpointMoved", "Projection", "ProjectionEngine", "ReadTable", "Target"]
