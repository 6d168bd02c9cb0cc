"""A rebuild's saved position per scan segment, in a JSON file: what makes ``--resume`` possible.

Written after every page a segment applies (atomically: a new file renamed over the old), so an
interrupted rebuild (Ctrl-C, a lost laptop lid, an expired session) goes on where each segment
stopped. The file names what it is a position of (read table, store, target table, segments); a
resume that does not match is refused.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shop.operations.rebuild import SegmentPosition
from shopctl.errors import Conflict


class FilePositions:
    def __init__(self, path: Path, identity: Mapping[str, Any]) -> None:
        self.path = path
        self.identity = dict(identity)
        self._positions: dict[int, SegmentPosition] = {}
        self._lock = threading.Lock()

    @classmethod
    def fresh(cls, path: Path, identity: Mapping[str, Any]) -> FilePositions:
        positions = cls(path, identity)
        positions._write()
        return positions

    @classmethod
    def resumed(cls, path: Path, identity: Mapping[str, Any]) -> FilePositions:
        if not path.exists():
            raise Conflict(f"nothing to resume: {path} does not exist (start without --resume)")
        try:
            document = json.loads(path.read_text())
            saved = {k: document.get(k) for k in identity}
        except (ValueError, AttributeError) as error:
            raise Conflict(
                f"{path} is not the positions of a rebuild ({error}): start without --resume"
            ) from None
        if saved != dict(identity):
            raise Conflict(f"{path} is the position of another rebuild: {saved}, not {dict(identity)}")
        positions = cls(path, identity)
        try:
            positions._positions = {
                int(segment): SegmentPosition(entry.get("start"), bool(entry.get("done")))
                for segment, entry in document.get("positions", {}).items()
            }
        except (ValueError, AttributeError, TypeError) as error:
            raise Conflict(
                f"{path} is not the positions of a rebuild ({error}): start without --resume"
            ) from None
        return positions

    def load(self) -> Mapping[int, SegmentPosition]:
        with self._lock:
            return dict(self._positions)

    def save(self, segment: int, position: SegmentPosition) -> None:
        with self._lock:
            self._positions[segment] = position
            self._write()

    @property
    def finished(self) -> bool:
        segments = int(self.identity.get("segments", 0))
        with self._lock:
            return all(self._positions.get(s, SegmentPosition()).done for s in range(segments))

    def _write(self) -> None:
        document = {
            **self.identity,
            "positions": {
                str(segment): {"start": position.start, "done": position.done}
                for segment, position in sorted(self._positions.items())
            },
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(document, indent=1))
        temporary.replace(self.path)


def _spoiled(path: Path, error: Exception) -> Conflict:
    return Conflict(f"{path} is not the positions of a rebuild ({error}): start without --resume")
