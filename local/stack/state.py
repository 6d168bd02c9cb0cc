"""The local stack's state on disk: the event stores, and nothing else (docs/local-stack.md, "State").

The event stores are the source of truth; every read table is rebuilt from them at start
(``shop.operations.rebuild``, the path ``shopctl rebuild`` takes), so only they are kept. Each
store is a journal, ``STATE_DIR/<LogicalId>.jsonl``: one line per commit item, in the order the
store's stream delivered it, appended by the stream reader as soon as it reads the record (every
commit is an ``INSERT``; the application never updates or deletes one). Each read's new lines are
written and flushed to the operating system before the records go on to the stream's consumers;
from then on they survive the stack's death (``kill -9``), as the kernel holds them. They are
``fsync``ed at a clean stop only: a stream read must not wait for a disk (under load that took
longer than delivering), and a machine that crashes loses a local demo's last seconds at most.

Durability: a commit is in the journal within one stream poll of being written (``POLL_INTERVAL``,
0.1 s by default), plus the time to read it. Ctrl-C (or SIGTERM) reads every stream a last time once
the APIs and the functions have stopped, so a clean stop keeps everything. ``kill -9`` loses at most
the commits of that last poll interval; a line cut short by it is skipped at the next start.

At start, ``restore`` writes the journals' items back (``BatchWriteItem``) into the new, empty
tables before any consumer runs. Their stream records then reach every consumer again, as after a
24-hour-old mapping is pointed at a stream from its trim horizon: projectors find their rows
already rebuilt and skip what they applied, and policies (idempotent) finish any work a stop cut
short. The journal knows every key it holds and does not write a restored commit twice.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

#: ``BatchWriteItem`` takes at most 25 puts.
BATCH = 25

Log = Callable[[str], None]


def _key(item: Mapping[str, Any]) -> tuple[str, str]:
    return (str(item["streamId"]["S"]), str(item["version"]["N"]))


class EventStoreJournal:
    def __init__(self, directory: Path, stores: Sequence[str], log: Log | None = None) -> None:
        self.directory = directory
        self.stores = tuple(stores)
        self._log = log or (lambda _: None)
        self._seen: dict[str, set[tuple[str, str]]] = {store: set() for store in self.stores}
        self._files: dict[str, IO[str]] = {}
        self._lock = threading.Lock()
        #: Lines of each journal that did not read (line numbers), for the ready message.
        self.skipped: dict[str, list[int]] = {}

    def path(self, store: str) -> Path:
        return self.directory / f"{store}.jsonl"

    # ------------------------------------------------------------------ start
    def read(self, store: str) -> list[dict[str, Any]]:
        """The commit items of a store's journal, in order; a line that is not whole JSON is skipped
        (the one a ``kill -9`` cut short)."""
        path = self.path(store)
        if not path.exists():
            return []
        items = []
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                try:
                    items.append(json.loads(line))
                except json.JSONDecodeError:
                    self._log(f"state: {path.name} line {number} is incomplete; skipped")
                    self.skipped.setdefault(store, []).append(number)
        return items

    def restore(self, dynamodb: Any, physical: Mapping[str, str]) -> dict[str, int]:
        """Write every journal back into its (empty) table; how many commits each store got."""
        restored = {}
        for store in self.stores:
            items = [item for item in self.read(store) if _key(item) not in self._seen[store]]
            self._seen[store].update(_key(item) for item in items)
            for start in range(0, len(items), BATCH):
                _write_batch(dynamodb, physical[store], items[start : start + BATCH])
            restored[store] = len(items)
        return restored

    # ------------------------------------------------------------------ running
    def record(self, store: str, records: Iterable[Mapping[str, Any]]) -> int:
        """Append the new commits among stream ``records`` of ``store``; how many were new."""
        lines = []
        with self._lock:
            seen = self._seen[store]
            for record in records:
                if record.get("eventName") != "INSERT":
                    continue
                item = record["dynamodb"]["NewImage"]
                key = _key(item)
                if key in seen:
                    continue
                seen.add(key)
                lines.append(json.dumps(item, separators=(",", ":"), ensure_ascii=False) + "\n")
            if lines:
                journal = self._file(store)
                journal.write("".join(lines))
                journal.flush()
        return len(lines)

    def _file(self, store: str) -> IO[str]:
        if store not in self._files:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._drop_cut_tail(self.path(store))
            self._files[store] = self.path(store).open("a", encoding="utf-8")
        return self._files[store]

    def _drop_cut_tail(self, path: Path) -> None:
        """Remove a last line a ``kill -9`` cut short (no newline at its end), so the next commit
        starts a line of its own instead of joining the fragment (and being skipped with it)."""
        if not path.exists():
            return
        data = path.read_bytes()
        if not data or data.endswith(b"\n"):
            return
        keep = data.rfind(b"\n") + 1
        with path.open("r+b") as journal:
            journal.truncate(keep)
        self._log(f"state: {path.name}: a last line cut short ({len(data) - keep} bytes) removed")

    def close(self) -> None:
        with self._lock:
            for journal in self._files.values():
                with contextlib.suppress(OSError):
                    journal.flush()
                    os.fsync(journal.fileno())
                    journal.close()
            self._files.clear()

    def commits(self) -> int:
        with self._lock:
            return sum(len(keys) for keys in self._seen.values())


def _write_batch(dynamodb: Any, table: str, items: list[dict[str, Any]]) -> None:
    request: dict[str, Any] = {table: [{"PutRequest": {"Item": item}} for item in items]}
    while request:
        request = dynamodb.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
