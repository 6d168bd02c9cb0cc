"""Lambda event filtering (EventBridge pattern syntax), for stream subscriptions' ``FilterCriteria``.

Supported: exact values, ``prefix``, ``suffix``, ``equals-ignore-case``, ``anything-but`` (value,
list or prefix), ``exists``, ``numeric``, ``$or``, null and empty-string matching. An array in the
record matches if any element matches (intersection semantics). Filters in a list are ORed.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Iterable, Mapping
from typing import Any

_MISSING = object()
_NUMERIC: dict[str, Callable[[float, float], bool]] = {
    "=": operator.eq,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def accepts(filters: Iterable[Mapping[str, Any]], record: Mapping[str, Any]) -> bool:
    """True if there are no filters or any ``{"Pattern": "<json>"}`` matches the record."""
    patterns = [json.loads(f["Pattern"]) for f in filters]
    return not patterns or any(matches(pattern, record) for pattern in patterns)


def matches(pattern: Mapping[str, Any], data: Any) -> bool:
    for key, expected in pattern.items():
        if key == "$or":
            if not any(matches(alternative, data) for alternative in expected):
                return False
            continue
        value = data.get(key, _MISSING) if isinstance(data, Mapping) else _MISSING
        if isinstance(expected, Mapping):
            if value is _MISSING or not matches(expected, value):
                return False
        elif not _leaf_matches(expected, value):
            return False
    return True


def _leaf_matches(rules: list[Any], value: Any) -> bool:
    values = value if isinstance(value, list) else [value]
    return any(_rule_matches(rule, v) for rule in rules for v in values) or (
        not values and any(isinstance(r, Mapping) and r.get("exists") is False for r in rules)
    )


def _numeric(arg: list[Any], value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return all(_NUMERIC[symbol](value, bound) for symbol, bound in zip(arg[::2], arg[1::2], strict=True))


def _anything_but(arg: Any, value: Any) -> bool:
    if isinstance(arg, Mapping):
        return not _rule_matches(arg, value)
    return value not in (arg if isinstance(arg, list) else [arg])


_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "prefix": lambda arg, value: isinstance(value, str) and value.startswith(arg),
    "suffix": lambda arg, value: isinstance(value, str) and value.endswith(arg),
    "equals-ignore-case": lambda arg, value: (
        isinstance(value, str) and value.casefold() == str(arg).casefold()
    ),
    "anything-but": _anything_but,
    "numeric": _numeric,
}


def _rule_matches(rule: Any, value: Any) -> bool:
    if not isinstance(rule, Mapping):
        return value is not _MISSING and value == rule and type(value) is type(rule)
    ((op, arg),) = rule.items()
    if op == "exists":
        return (value is not _MISSING) is bool(arg)
    if op not in _OPERATORS:
        raise ValueError(f"unsupported filter operator: {op}")
    return value is not _MISSING and _OPERATORS[op](arg, value)
