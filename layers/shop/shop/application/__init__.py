"""Application-layer building blocks: loading/saving aggregates and running commands safely."""

from shop.application.access import Caller
from shop.application.commands import CommandContext, CommandResult, earlier_run, run_command
from shop.application.repository import REQUEST_KEY_LIFETIME, Repository, Snapshotting

__all__ = [
    "REQUEST_KEY_LIFETIME",
    "Caller",
    "CommandContext",
    "CommandResult",
    "Repository",
    "Snapshotting",
    "earlier_run",
    "run_command",
]
