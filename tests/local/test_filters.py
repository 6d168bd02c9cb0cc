"""Lambda filter criteria as the local stack applies them (EventBridge pattern semantics)."""

from __future__ import annotations

import json

import pytest

from local.aws.filters import accepts, matches

RECORD = {
    "eventName": "INSERT",
    "dynamodb": {
        "Keys": {"streamId": {"S": "product-1"}, "version": {"N": "3"}},
        "NewImage": {"eventTypes": {"SS": ["ProductCreated", "StockReceived"]}, "n": 7},
    },
}


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ({"eventName": ["INSERT"]}, True),
        ({"eventName": ["MODIFY", "REMOVE"]}, False),
        ({"dynamodb": {"Keys": {"streamId": {"S": [{"prefix": "product-"}]}}}}, True),
        ({"dynamodb": {"Keys": {"streamId": {"S": [{"prefix": "stock-"}, {"prefix": "product-"}]}}}}, True),
        ({"dynamodb": {"Keys": {"streamId": {"S": [{"prefix": "cart-"}]}}}}, False),
        ({"dynamodb": {"Keys": {"streamId": {"S": [{"suffix": "-1"}]}}}}, True),
        ({"dynamodb": {"NewImage": {"eventTypes": {"SS": ["StockReceived"]}}}}, True),  # array intersection
        ({"dynamodb": {"NewImage": {"eventTypes": {"SS": ["OrderPlaced"]}}}}, False),
        ({"dynamodb": {"NewImage": {"missing": [{"exists": False}]}}}, True),
        ({"dynamodb": {"NewImage": {"missing": [{"exists": True}]}}}, False),
        ({"dynamodb": {"NewImage": {"n": [{"numeric": [">", 5, "<=", 7]}]}}}, True),
        ({"dynamodb": {"NewImage": {"n": [{"numeric": [">", 7]}]}}}, False),
        ({"eventName": [{"anything-but": ["REMOVE"]}]}, True),
        ({"eventName": [{"anything-but": {"prefix": "INS"}}]}, False),
        ({"eventName": [{"equals-ignore-case": "insert"}]}, True),
        ({"$or": [{"eventName": ["REMOVE"]}, {"dynamodb": {"NewImage": {"n": [7]}}}]}, True),
        ({"eventName": ["INSERT"], "dynamodb": {"Keys": {"streamId": {"S": ["product-2"]}}}}, False),
    ],
)
def test_patterns(pattern: dict[str, object], expected: bool) -> None:
    assert matches(pattern, RECORD) is expected


def test_filters_are_ored_and_no_filters_accept_everything() -> None:
    filters = [
        {"Pattern": json.dumps({"eventName": ["REMOVE"]})},
        {"Pattern": json.dumps({"eventName": ["INSERT"]})},
    ]
    assert accepts(filters, RECORD)
    assert not accepts(filters[:1], RECORD)
    assert accepts([], RECORD)


def test_numbers_and_strings_do_not_match_each_other() -> None:
    assert not matches({"n": ["7"]}, {"n": 7})


def test_unknown_operators_are_rejected() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        matches({"eventName": [{"wildcard": "*"}]}, RECORD)


def test_the_template_filters_are_valid_patterns(template) -> None:  # type: ignore[no-untyped-def]
    for subscription in template.subscriptions:
        for criterion in subscription.setting("FilterCriteria")["Filters"]:
            matches(json.loads(criterion["Pattern"]), RECORD)
