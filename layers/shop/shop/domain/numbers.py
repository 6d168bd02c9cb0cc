"""Whole numbers as JSON carries them.

JSON has one number type, and JSON Schema, which the OpenAPI documents speak, counts any number
with a zero fractional part as an integer: ``2.0`` is 2. A strict ``int`` refused it (with a 422);
``WHOLE`` takes it as the integer it is, and fractions, booleans and strings stay refused.
"""

from __future__ import annotations

from pydantic import BeforeValidator


def _whole(value: object) -> object:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


#: Reads ``2.0`` as 2. Place it after the integer's constraints, ``Annotated[StrictInt,
#: Field(ge=1), WHOLE]``, so that they stay integer constraints (a JSON schema's ``minimum``, where
#: ``Annotated[..., WHOLE, Field(ge=1)]`` would give pydantic's own ``ge``, which no client reads).
WHOLE = BeforeValidator(_whole)
