"""Creating the template's tables (by logical id) under unique names, for adapter tests."""

from __future__ import annotations

import uuid
from typing import Any

from local.aws.template import Template, table_definition


def create_table(client: Any, template: Template, logical_id: str) -> str:
    name = f"{logical_id}-{uuid.uuid4().hex[:8]}"
    client.create_table(**table_definition(name, template.tables[logical_id]))
    return name
