"""The read side's port: views (read tables) that queries read and projectors write.

``View`` is what queries, cursors and other services' adapters read through; the projection engine
writes through the same objects (``shop.projection.engine.ReadTable``). Two implementations:
``DynamoDBView`` (``shop.views.dynamodb``) and ``InMemoryView`` (``shop.views.memory``), held to
one contract by ``tests/contract/test_view_contract.py``.
"""

from shop.views.port import Changes, CheckpointMoved, Checkpoints, Move, Page, ReadTable, Row, View

__all__ = ["Changes", "CheckpointMoved", "Checkpoints", "Move", "Page", "ReadTable", "Row", "View"]
