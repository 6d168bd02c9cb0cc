"""The demo users of the local stack: ``admin`` (in the ``admin`` group), ``alice`` and ``bob``.

They are created in the template's user pool on the embedded endpoint at start, all with one
password that ``make run`` prints with a ready access token for each. Tests create any other user
name on demand (a customer: no group).
"""

from __future__ import annotations

#: Meets the template's password policy (12+ characters, upper and lower case, a digit).
DEMO_PASSWORD = "Shop-Demo-2026"  # noqa: S105 - a local demo password, printed at start
#: username -> the groups it belongs to
DEMO_USERS: dict[str, tuple[str, ...]] = {"admin": ("admin",), "alice": (), "bob": ()}


def groups_of(username: str) -> tuple[str, ...]:
    """The groups of a demo user; any other user is a customer (no group)."""
    return DEMO_USERS.get(username, ())
