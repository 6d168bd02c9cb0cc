"""The shapes the HTTP APIs answer with, for the OpenAPI documents: a base for the services' own
representation models, and the problem answers every route shares.

Read by the OpenAPI generator (``shop.http.openapi``) and by tests only: no function imports this
module or a service's ``representations`` module, so a cold start pays nothing for them. The routes
build their answers as plain JSON; the fuzzer (``tests/e2e/test_fuzz_contract.py``) checks every
answer against these models, so a field added, dropped or retyped on one side fails there.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr
from pydantic.alias_generators import to_camel
from pydantic.json_schema import SkipJsonSchema

from shop.domain.money import Money

#: Versions of an aggregate's stream start at 1.
Version = Annotated[StrictInt, Field(ge=1, description="The aggregate's version: its stream's last event")]


class Representation(BaseModel):
    """camelCase on the wire; every field is documented, and nothing else is sent."""

    model_config = ConfigDict(frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True)


#: A field that is left out when it has no value (never sent as ``null``).
Absent = SkipJsonSchema[None]


class PricedLine(Representation):
    """A cart's or an order's line, priced (``shop.views.lines``)."""

    product_id: UUID
    name: StrictStr
    quantity: Annotated[StrictInt, Field(ge=1, le=99)]
    unit_price: Money
    line_total: Money


class FieldProblem(Representation):
    field: StrictStr = Field(description="The field, dotted (`price.amount`), or the header or parameter")
    message: StrictStr


class Problem(Representation):
    """An RFC 9457 problem (`application/problem+json`)."""

    type: StrictStr = Field(
        description="`urn:shop:problem:<code>` (e.g. `not-found`, `rule-violated`), else `about:blank`"
    )
    title: StrictStr = Field(description="The status's reason phrase")
    status: Annotated[StrictInt, Field(ge=400, le=599)]
    detail: StrictStr = Field(description="What went wrong, for a person")
    errors: list[FieldProblem] | Absent = Field(
        default=None, description="Which parameters or headers were refused (400s of bad parameters)"
    )


class ValidationProblem(Problem):
    """A 422: the problem, and what is wrong with which field."""

    errors: list[FieldProblem] = Field(min_length=1)


class GatewayMessage(BaseModel):
    """API Gateway's own answer (not a function's): its 401 from the JWT authorizer, its 429."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    message: StrictStr
