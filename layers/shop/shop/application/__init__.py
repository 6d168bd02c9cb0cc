"""Application-layer building blocks: loading/saving aggregates and running commands safely."""

from shop.application.commands import CommandContext, CommandResult, run_command
from shop.application.repository import Repository

__all__ = ["CommandContext", "CommandResult", "Repository", "run_command"]
