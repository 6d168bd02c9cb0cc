"""The local stack publishes Lambda's ``IteratorAge`` per stream consumer (``shopctl lag`` reads it)."""

from __future__ import annotations

from typing import Any

from local.stack.stack import IteratorAges


class RecordingCloudWatch:
    def __init__(self) -> None:
        self.published: list[dict[str, Any]] = []

    def put_metric_data(self, **request: Any) -> None:
        self.published.append(request)


def test_iterator_age_is_published_per_function_at_most_once_a_second_with_the_largest_age() -> None:
    now = [100.0]
    cloudwatch = RecordingCloudWatch()
    ages = IteratorAges(cloudwatch, clock=lambda: now[0])
    ages.record("CatalogProjector", 40.0)  # the first one goes out at once
    ages.record("CatalogProjector", 900.0)  # within the second: kept
    ages.record("CatalogProjector", 300.0)
    ages.record("OrderIntakePolicy", 5.0)  # another function has its own second
    now[0] += 1.0
    ages.record("CatalogProjector", 10.0)  # the largest since the last publication goes out
    published = [
        (r["MetricData"][0]["Dimensions"][0]["Value"], r["MetricData"][0]["Value"])
        for r in cloudwatch.published
    ]
    assert published == [("CatalogProjector", 40.0), ("OrderIntakePolicy", 5.0), ("CatalogProjector", 900.0)]
    assert {(r["Namespace"], r["MetricData"][0]["MetricName"]) for r in cloudwatch.published} == {
        ("AWS/Lambda", "IteratorAge")
    }
