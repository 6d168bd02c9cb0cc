"""The pure parts of the cold-start and package-size benches: statistics, sample choice, tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.coldstart import (
    Measured,
    Sample,
    Stats,
    boto3_table,
    choose_samples,
    floor_table,
    over,
    runtime_package,
    summary,
    table,
)
from bench.packages import top_level


def test_stats_are_median_min_and_max() -> None:
    stats = Stats.of([3.0, 1.0, 2.0, 10.0])
    assert stats == Stats(2.5, 1.0, 10.0)
    assert stats.ratio_cell() == "2.50 (1.00-10.00)"


def test_stats_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match="no values"):
        Stats.of([])


def test_a_function_with_one_sample_is_measured_with_it() -> None:
    assert choose_samples("CartProjector", ["cart-stream.json"]) == ["cart-stream.json"]


def test_the_preferred_sample_and_the_extras_come_first() -> None:
    available = [
        "create-product.json",
        "receive-stock-with-idempotency-key.json",
        "change-product-price.json",
    ]
    assert choose_samples("CatalogCommands", available) == [
        "change-product-price.json",
        "receive-stock-with-idempotency-key.json",
    ]


def test_without_a_preference_the_first_sample_by_name_is_measured() -> None:
    assert choose_samples("NewFunction", ["b.json", "a.json"]) == ["a.json"]
    assert choose_samples("NewFunction", []) == []


@pytest.mark.parametrize(
    ("entry", "in_runtime"),
    [
        ("boto3", True),
        ("botocore-1.43.127.dist-info", True),
        ("python_dateutil-2.9.0.post0.dist-info", True),
        ("six.py", True),
        ("six.cpython-313.pyc", True),
        ("pydantic", False),
        ("typing_extensions.py", False),
        ("aws_xray_sdk-2.15.0.dist-info", False),
        ("shop", False),
    ],
)
def test_what_the_runtime_already_has(entry: str, in_runtime: bool) -> None:
    assert runtime_package(entry) is in_runtime


@pytest.mark.parametrize(
    ("path", "package"),
    [
        ("pydantic/main.py", "pydantic"),
        ("pydantic-2.13.5.dist-info/RECORD", "pydantic"),
        ("python_dateutil-2.9.0.post0.dist-info/METADATA", "dateutil"),
        ("six.py", "six"),
        ("__pycache__/typing_extensions.cpython-313.pyc", "typing_extensions"),
    ],
)
def test_layer_files_count_for_their_top_level_package(path: str, package: str) -> None:
    assert top_level(Path(path)) == package


def runs(*cpu: float) -> list[Sample]:
    return [Sample(cpu=value, wall=value * 2, answer="200") for value in cpu]


def test_the_table_gives_ratios_to_the_baseline_median_per_variant() -> None:
    baseline = runs(0.2, 0.25, 0.3)  # median 0.25 s
    measured = Measured(
        "CatalogQueries",
        "get-product.json",
        {"before": runs(1.0), "active": runs(0.4, 0.5, 0.45), "passthrough": runs(0.375)},
    )
    text = table(baseline, [measured])
    assert "**250 ms CPU** (min 200, max 300; 500 ms wall), 3 runs" in text
    assert (
        "| CatalogQueries | get-product (200) | 4.00 (4.00-4.00) | **1.80 (1.60-2.00)** | 1.50 (1.50-1.50)"
        " | 450 / 375 | 900 |"
    ) in text
    assert "* bytecode, Tracing PassThrough: 1.50-1.50x (medians), 1 of 1 rows at most 1.5x." in summary(
        baseline, [measured]
    )


def test_a_variant_not_measured_shows_a_dash() -> None:
    measured = Measured("QueryApiFallback", "not-found.json", {"active": runs(0.3)})
    row = table(runs(0.3), [measured]).splitlines()[-1]
    assert row == "| QueryApiFallback | not-found (200) | - | **1.00 (1.00-1.00)** | - | 300 / - | 600 |"
    assert boto3_table(runs(0.3), [measured]).splitlines()[2:] == []


def test_the_boto3_table_compares_the_layers_boto3_with_the_runtimes() -> None:
    measured = Measured("CartQueries", "get-cart.json", {"active": runs(0.5), "runtime-boto3": runs(0.45)})
    assert boto3_table(runs(0.25), [measured]).splitlines()[-1] == (
        "| CartQueries (get-cart) | 2.00 (2.00-2.00) | 1.80 (1.80-1.80) | -0.20 |"
    )


def test_the_floor_table_and_the_rows_above_the_goal() -> None:
    baseline = runs(0.2, 0.2, 0.2)
    floors = [Measured("pydantic + Logger", "-", {"floor": runs(0.28, 0.3)})]
    assert floor_table(baseline, floors).splitlines()[-1] == "| pydantic + Logger | 1.45 (1.40-1.50) | 290 |"
    measured = [
        Measured("CartCommands", "add-cart-item.json", {"active": runs(0.34), "passthrough": runs(0.3)}),
        Measured("CartProjector", "cart-stream.json", {"active": runs(0.29)}),
    ]
    assert over(baseline, measured, "active") == ["CartCommands (add-cart-item)"]
    assert over(baseline, measured, "passthrough") == []
