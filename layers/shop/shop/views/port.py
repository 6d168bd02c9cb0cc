"""``View`` and ``Page``: how the application reads a read table, whatever stores it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from shop.errors import BadRequest, NotFound

Row = dict[str, Any]
#: DynamoDB's limit on a sort key value; partition keys may have 2048 bytes, no key value here needs either.
MAX_KEY_BYTES = 1024
#: Attribute changes a projection makes to a row; ``None`` removes the attribute.
Changes = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Page:
    items: list[dict[str, Any]]
    #: Where the next page starts (the last item's key), or ``None`` on the last page.
    next_position: dict[str, Any] | None


class View(ABC):
    """One read table: rows by key, and pages of an index partition in sort-key order."""

    @abstractmethod
    def get(self, key: Mapping[str, str]) -> Row | None:
        """The row at ``key`` as stored (any attributes), or ``None``."""

    @abstractmethod
    def page(
        self,
        *,
        index: str,
        partition: tuple[str, str],
        key_attributes: Sequence[str],
        limit: int,
        start: Mapping[str, Any] | None = None,
        newest_first: bool = False,
    ) -> Page:
        """Up to ``limit`` rows of one index partition, in sort-key order (reversed if newest first).

        ``key_attributes`` name the table key and the index key: the last row's values of them are
        the position of the next page, which ``start`` takes back.
        """

    @staticmethod
    def checked_start(
        start: Mapping[str, Any] | None, partition: tuple[str, str], key_attributes: Sequence[str]
    ) -> Mapping[str, Any] | None:
        """``start`` if it is a position ``page`` could have returned for this partition, else
        ``BadRequest``: exactly the key attributes, each a non-empty string of UTF-8 (no unpaired
        surrogate) within DynamoDB's key size, and the partition's own value (a signed cursor is
        genuine, not necessarily sane)."""
        if start is None:
            return None
        name, value = partition
        if (
            set(start) != set(key_attributes)
            or start.get(name) != value
            or not all(_key_value(v) for v in start.values())
        ):
            raise BadRequest("The cursor is invalid; start again without one.")
        return start

    def existing(self, key: Mapping[str, str], what: str, *, checkpoint: str = "version") -> Row:
        """The row of a resource that exists, else ``NotFound`` naming ``what``.

        A row exists once its own stream has been projected into it (``checkpoint`` is set): a row
        that only other streams wrote to (stock before its product) is not a resource yet.
        """
        row = self.get(key)
        if row is None or checkpoint not in row:
            raise NotFound(f"{what} does not exist.")
        return row


@dataclass(frozen=True, slots=True)
class Move:
    """A checkpoint's move in a conditional write: from ``expected`` (0 = absent) to ``new``."""

    expected: int
    new: int


#: Checkpoint attribute -> its move, for a write that advances several source streams of a row.
Checkpoints = Mapping[str, Move]


class CheckpointMoved(Exception):
    """The row's checkpoint was not the expected one: another writer got there first."""


class ReadTable(Protocol):
    """What the projection engine needs of a view: consistent reads and checkpointed updates."""

    def get(self, key: Mapping[str, str]) -> Row | None: ...

    def update(
        self, key: Mapping[str, str], changes: Changes, checkpoint: str, expected: int, new: int
    ) -> None:
        """Apply ``changes`` and set ``checkpoint`` to ``new`` iff it is ``expected`` (0 = absent);
        else ``CheckpointMoved`` and nothing changes."""
        ...

    def update_many(self, key: Mapping[str, str], changes: Changes, checkpoints: Checkpoints) -> None:
        """Apply ``changes`` and move every checkpoint in ``checkpoints`` to its ``new`` iff every one
        of them is at its ``expected`` (0 = absent); else ``CheckpointMoved`` and nothing changes.
        One write for several source streams of a row (``ProjectionEngine.project_together``)."""
        ...


def _key_value(value: Any) -> bool:
    """Whether ``value`` can be a key value of a read table: a string that UTF-8 can encode (JSON's
    ``"\\ud800"`` decodes to one it cannot), of 1 to ``MAX_KEY_BYTES`` bytes."""
    if not isinstance(value, str):
        return False
    try:
        size = len(value.encode())
    except UnicodeEncodeError:
        return False
    return 0 < size <= MAX_KEY_BYTES
