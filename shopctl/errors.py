"""What can go wrong in a ``shopctl`` command, each with its own exit code (docs/operations.md).

A command raises one of these; ``shopctl.app`` prints the message (or a JSON error document with
``--json``) and exits with the code. Usage errors (a missing argument, an unknown option) are
typer's own: exit code 2.
"""

from __future__ import annotations

#: Exit codes, documented in docs/operations.md.
OK = 0
FAILED = 1  # the operation ran and failed (AWS refused a call, a rebuild left streams unapplied)
USAGE = 2  # typer/click: bad arguments or options
UNKNOWN_RESOURCE = 3  # no such table (or other logical id) in the stack or template
NO_SUCH_STREAM = 4  # no event store holds this stream id
UNREACHABLE = 5  # the endpoint does not answer, or the stack does not exist
CONFLICT = 6  # the state does not allow it (a fresh target that is not empty, a resume that does not match)


class ShopctlError(Exception):
    """A failure the operator can act on: its message says what and, where it can, what to do."""

    exit_code = FAILED
    kind = "failed"


class UnknownResource(ShopctlError):
    exit_code = UNKNOWN_RESOURCE
    kind = "unknown-resource"


class NoSuchStream(ShopctlError):
    exit_code = NO_SUCH_STREAM
    kind = "no-such-stream"


class Unreachable(ShopctlError):
    exit_code = UNREACHABLE
    kind = "unreachable"


class Conflict(ShopctlError):
    exit_code = CONFLICT
    kind = "conflict"
