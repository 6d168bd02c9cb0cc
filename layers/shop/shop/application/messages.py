"""Base of command messages: camelCase on the wire, unknown fields refused, strict types, immutable."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True)


class Message(BaseModel):
    """An event as a consumer reads it: only the fields it needs, anything else ignored.

    Policies read other services' events through these (a tolerant reader), so a producer can add
    fields without breaking its consumers; contract tests check producers against them.
    """

    model_config = ConfigDict(frozen=True, extra="ignore", alias_generator=to_camel, populate_by_name=True)
