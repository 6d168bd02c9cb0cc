"""Base of command messages: camelCase on the wire, unknown fields refused, strict types, immutable."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class Command(BaseModel):
    #: ``defer_build``: a function's routes import every command of its service but a request
    #: validates one; each is built when first used (tests/unit/test_models_build.py builds them all).
    model_config = ConfigDict(
        frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True, defer_build=True
    )


def _without_null(schema: dict[str, Any]) -> None:
    kept = [branch for branch in schema.pop("anyOf", []) if branch != {"type": "null"}]
    if len(kept) == 1:
        schema.update(kept[0])
    elif kept:
        schema["anyOf"] = kept


def omissible() -> Any:
    """The default of a command field ``X | None`` that may be left out but not sent as ``null`` (a
    ``mode="before"`` validator refuses null): the JSON schema offers no null. Unlike
    ``X | SkipJsonSchema[None]``, pydantic then validates it as a nullable ``X``, not as a union, so
    a refused value is reported on the field itself (``name``), not on pydantic's union branches
    (``name.constrained-str`` and ``name.none``)."""
    return Field(default=None, json_schema_extra=_without_null)


class Message(BaseModel):
    """An event as a consumer reads it: only the fields it needs, anything else ignored.

    Policies read other services' events through these (a tolerant reader), so a producer can add
    fields without breaking its consumers; contract tests check producers against them.
    """

    model_config = ConfigDict(
        frozen=True, extra="ignore", alias_generator=to_camel, populate_by_name=True, defer_build=True
    )
