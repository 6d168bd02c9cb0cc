"""The pure parts of ``make bench``'s load section and page: locust's CSV, /proc parsing, percentiles,
the CPU arithmetic, the saturation verdict, and the merge of a re-measured section into the page."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bench import page
from bench.load.report import bottleneck, cpu_per_request, report, saturated
from bench.load.run import (
    Level,
    Result,
    RouteStats,
    busy_ticks,
    cpu_ticks,
    load,
    parse_failures,
    parse_stats,
    percentile,
    role,
    save,
)

STATS_CSV = """\
Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,\
Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%
GET,GET /products/{id},25,0,98,110.5,40,250,328.0,2.68,0.0,98,120,130,140,170,190,250,250,250,250,250
POST,POST /carts,6,1,51,80.1,30,220,45.0,0.64,0.1,51,60,70,80,200,220,220,220,220,220,220
GET,GET /orders/{id},0,0,0,0,0,0,0,0.0,0.0,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A
,Aggregated,31,1,95,105.2,30,250,300.0,3.32,0.1,95,110,130,140,170,200,250,250,250,250,250
"""

FAILURES_CSV = """\
Method,Name,Error,Occurrences
POST,POST /carts,"503: {""message"":""Service Unavailable""}",1
GET,GET /products,ConnectionResetError(104),3
"""


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50
    assert percentile(values, 0.95) == 95
    assert percentile(values, 0.99) == 99
    assert percentile(values, 1.0) == 100
    assert percentile([7.0], 0.99) == 7
    assert percentile([3.0, 1.0, 2.0], 0.0) == 1
    assert math.isnan(percentile([], 0.5))


def test_locust_stats_give_each_route_and_the_aggregate() -> None:
    routes, total = parse_stats(STATS_CSV)

    assert routes["GET /products/{id}"] == RouteStats(
        requests=25, failures=0, rps=2.68, p50=98, p95=190, p99=250
    )
    assert routes["POST /carts"].failures == 1
    assert total == RouteStats(requests=31, failures=1, rps=3.32, p50=95, p95=200, p99=250)
    never = routes["GET /orders/{id}"]
    assert never.requests == 0
    assert math.isnan(never.p50)
    assert math.isnan(never.p99)


def test_locust_failures_are_counted_per_route_and_error() -> None:
    assert parse_failures(FAILURES_CSV) == {
        'POST /carts: 503: {"message":"Service Unavailable"}': 1,
        "GET /products: ConnectionResetError(104)": 3,
    }


def test_cpu_ticks_are_user_plus_system_time_even_when_the_command_has_spaces() -> None:
    # pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
    stat = "4242 (python -m local) S 1 4242 4242 0 -1 4194304 900 0 0 0 1234 56 0 0 20 0 5 0 100"
    assert cpu_ticks(stat) == 1234 + 56


def test_machine_busy_time_leaves_out_idle_and_iowait() -> None:
    proc_stat = "cpu  100 5 50 800 40 3 2 0 7 0\ncpu0 50 2 25 400 20 1 1 0 0 0\n"
    busy, total = busy_ticks(proc_stat)
    assert total == 100 + 5 + 50 + 800 + 40 + 3 + 2 + 0  # guest time is already in user time
    assert busy == total - 800 - 40


@pytest.mark.parametrize(
    ("cmdline", "expected"),
    [
        (["python", "-m", "local.aws.endpoint", "--port", "0"], "moto"),
        (
            ["python", "-m", "local.stack.worker", "--function", "CatalogQueries", "--module", "x"],
            "worker:CatalogQueries",
        ),
        (["python", "-m", "local"], "stack"),
    ],
)
def test_each_process_of_the_stack_has_its_role(cmdline: list[str], expected: str) -> None:
    assert role(cmdline) == expected


def level(multiplier: int, offered: float, achieved: float, cpu: dict[str, float], p95: float = 200) -> Level:
    total = RouteStats(requests=int(achieved * 45), failures=0, rps=achieved, p50=90, p95=p95, p99=p95 * 2)
    return Level(
        multiplier=multiplier,
        offered=offered,
        users=int(offered * 2),
        seconds=45,
        routes={"GET /products/{id}": total},
        total=total,
        lag_ms=[150.0, 250.0, 900.0],
        probe_failures=0,
        cpu=cpu,
        functions={"CatalogQueries": 0.4, "CartCommands": 0.1},
        load_average=9.5,
        errors={"POST /carts: 503": 2} if multiplier == 10 else {},
    )


def result(*levels: Level) -> Result:
    idle = {"moto": 0.2, "stack": 0.1, "workers": 0.0}
    return Result(
        base_rate=5,
        levels=list(levels),
        idle_cpu=idle,
        cores=2,
        poll_interval=0.1,
        concurrency=4,
        products=29,
    )


def test_cpu_per_request_is_each_parts_cpu_over_the_achieved_rate() -> None:
    busy = level(2, 10, 10, {"moto": 0.7, "stack": 0.3, "workers": 0.5, "locust": 0.05})
    assert cpu_per_request(busy) == pytest.approx({"moto": 70.0, "stack": 30.0, "workers": 50.0})


def test_the_bottleneck_is_moto_when_it_fills_its_one_core() -> None:
    cpu = {"moto": 0.92, "stack": 0.3, "workers": 0.6, "machine": 1.9}
    assert bottleneck(level(10, 50, 30, cpu), cores=2).startswith("moto's lock")


def test_the_bottleneck_is_the_neighbours_when_the_machine_is_busy_but_the_stack_is_not() -> None:
    cpu = {"moto": 0.3, "stack": 0.1, "workers": 0.2, "machine": 2.0}
    assert bottleneck(level(10, 50, 17, cpu), cores=2).startswith("the CPU the stack got")


def test_the_bottleneck_is_the_cpu_when_the_stack_itself_fills_the_machine() -> None:
    cpu = {"moto": 0.7, "stack": 0.3, "workers": 0.9, "machine": 2.0}
    assert bottleneck(level(10, 50, 30, cpu), cores=2).startswith("the CPU: the stack's processes used 1.90")


def test_the_bottleneck_is_a_wait_when_the_cpu_is_not_busy() -> None:
    cpu = {"moto": 0.4, "stack": 0.1, "workers": 0.3, "machine": 0.9}
    assert bottleneck(level(10, 50, 30, cpu), cores=2).startswith("not the CPU")


def test_saturation_is_the_first_level_that_delivers_under_nine_tenths_of_the_offered_rate() -> None:
    cpu = {"moto": 0.5, "stack": 0.2, "workers": 0.3}
    kept_up = [level(1, 5, 5.0, cpu), level(2, 10, 9.5, cpu)]
    assert saturated(result(*kept_up)) is None
    fell_behind = level(5, 25, 14.0, cpu)
    assert saturated(result(*kept_up, fell_behind, level(10, 50, 15.0, cpu))) is fell_behind


def test_a_low_level_that_fell_short_below_one_that_kept_up_is_a_spell_not_the_knee() -> None:
    cpu = {"moto": 0.3, "stack": 0.1, "workers": 0.2, "machine": 2.0}
    levels = [
        level(1, 5, 3.6, cpu),
        level(2, 10, 9.9, cpu),
        level(5, 25, 12.5, cpu),
        level(10, 50, 15.2, cpu),
    ]
    measured = result(*levels)

    assert saturated(measured) is levels[2]
    flat = " ".join(report(measured).split())
    assert "Where it saturates: at 5x, offered 25 requests/s, it delivered 12.5" in flat
    assert "; at 10x it delivered 15.2 of 50. 1x fell short too, though a higher level kept up" in flat


def test_no_knee_when_the_top_level_kept_up() -> None:
    cpu = {"moto": 0.3, "stack": 0.1, "workers": 0.2, "machine": 2.0}
    measured = result(level(1, 5, 3.0, cpu), level(2, 10, 9.5, cpu))
    assert saturated(measured) is None
    flat = " ".join(report(measured).split())
    assert "Where it saturates: not within these levels" in flat
    assert "1x fell short too" in flat


def test_the_report_has_every_level_the_plot_and_the_aws_caveat() -> None:
    cpu = {"moto": 0.5, "stack": 0.2, "workers": 0.3, "locust": 0.02, "machine": 2.0}
    text = report(result(level(1, 5, 5.0, cpu), level(10, 50, 15.0, cpu, p95=4000)))

    assert "![Latency and projection lag against offered load](performance-load.png)" in text
    assert "| 1x | 5 | 5.0 | 90 / 200 / 400 |" in text
    assert "| 10x | 50 | 15.0 | 90 / 4000 / 8000 |" in text
    flat = " ".join(text.split())  # the paragraphs are wrapped
    assert "Where it saturates: at 10x, offered 50 requests/s, it delivered 15.0 (users wait" in flat
    assert "p95 4000 ms. The limit was" in flat
    assert "The limit was the CPU the stack got" in flat
    assert "would fill moto's one core first, near 30 requests/s" in flat
    assert "2 x POST /carts: 503" in text
    assert "A 500" not in flat
    assert "A 503 is the handler's own answer when DynamoDB does not answer in time" in flat
    assert "What this means for AWS" in flat
    assert "load average (1 min) 9.5, 9.5" in flat


def test_the_page_says_the_machine_was_shared_only_when_other_processes_took_a_quarter_of_it() -> None:
    ours = {"moto": 0.75, "stack": 0.16, "workers": 0.28, "locust": 0.05}
    alone = report(result(level(10, 50, 37.4, {**ours, "machine": 1.47})))
    shared = report(result(level(10, 50, 33.1, {**ours, "machine": 2.0})))

    assert "shared with other jobs" not in alone
    assert "used at most 0.23 cores during a level" in " ".join(alone.split())
    assert "shared with other jobs" in shared
    assert "(the others up to 0.76 cores)" in " ".join(shared.split())


PAGE = """# Performance

Generated on day 1.

## A

a1
## B

b1

## C

c1
"""


def test_a_re_measured_section_replaces_the_old_one_with_a_blank_line_on_each_side() -> None:
    fresh = "# Performance\n\nGenerated on day 2.\n\n## B\n\nb2\n"
    assert page.merge(PAGE, fresh) == (
        "# Performance\n\nGenerated on day 2.\n\n## A\n\na1\n\n## B\n\nb2\n\n## C\n\nc1\n"
    )


def test_a_new_section_goes_last_and_a_glued_page_comes_apart() -> None:
    fresh = "# Performance\n\nGenerated on day 2.\n\n## D\n\nd1\n"
    merged = page.merge(PAGE, fresh)
    assert merged.endswith("## C\n\nc1\n\n## D\n\nd1\n")
    assert "a1\n\n## B" in merged
    assert list(page.sections(merged)) == ["", "## A", "## B", "## C", "## D"]


def test_a_saved_result_loads_back_equal(tmp_path: Path) -> None:
    cpu = {"moto": 0.5, "stack": 0.2, "workers": 0.3}
    measured = result(level(1, 5, 5.0, cpu), level(10, 50, 15.0, cpu))
    save(measured, tmp_path / "load.json")
    assert load(tmp_path / "load.json") == measured
