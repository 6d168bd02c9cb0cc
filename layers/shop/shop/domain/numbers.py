"""Whole numbers as JSON carries them.

JSON has one number type, and JSON Schema, which the OpenAPI documents speak, counts any number
with a zero fractional part as an integer: ``2.0`` is 2. A strict ``int`` refused it (with a 422);
these types take it as the integer it is, and still refuse fractions, booleans and strings.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, StrictInt


def _whole(value: object) -> object:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


#: An integer, also when written ``2.0``; never ``2.5``, ``true`` or ``"2"``.
WholeNumber = Annotated[StrictInt, BeforeValidator(_whole)]
