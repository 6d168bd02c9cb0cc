"""``python -m bench``: run every benchmark and write docs/performance.md.

Figures are measured in this run, on this machine; ratios compare against a baseline measured in
the same run, so they travel between machines better than absolute times.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import textwrap
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench import checkout, coalescing, coldstart, cost, localstack, packages, page, rebuild
from bench.load import report as load_report
from bench.load import run as load_run

OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "performance.md"
#: The load section's plot, beside the page (the page links it by name).
LOAD_PLOT = OUTPUT.parent / load_report.PLOT


def section_cost() -> str:
    return cost.report(cost.run())


def section_coldstart() -> str:
    architecture, baseline, measured, floors = coldstart.run()
    active, passthrough = (coldstart.over(baseline, measured, v) for v in ("active", "passthrough"))
    return "\n".join(
        [
            "## Cold start: handler import and first invocation, as shipped",
            "",
            textwrap.fill(
                "Per function, from `sam build` output: a fresh `python3.13 -B -S` (Lambda's code is"
                " read-only: no bytecode is written at run time) sees only the function's artifact and the"
                " layer, with the function's environment; it imports the handler and invokes it once with"
                " the `events/` sample named, against the local stack's moto endpoint seeded as `make run`"
                " seeds it. Figures are the whole child process's CPU time (user + system; wall time is"
                " shown too, but other processes load this machine) as a ratio to the baseline's median:"
                f" median (min-max) of {coldstart.RUNS} runs interleaved with the baseline's"
                f" ({coldstart.BEFORE_RUNS} for the build without bytecode and for boto3 from the runtime)."
                f" Built and measured on {architecture} (this machine runs no arm64); the layer is the same"
                " for both. Under Tracing Active the X-Ray SDK records (Lambda's trace header says"
                " `Sampled=1`) and sends its segments over UDP to a daemon address nobody listens on. A"
                " sample that changes state may answer differently after its first run (a cancelled"
                " order: 409).",
                100,
            ),
            "",
            coldstart.table(baseline, measured),
            "",
            coldstart.summary(baseline, measured),
            "",
            textwrap.fill(
                "Why a row is above 1.5x, measured in the same run: the floor below is what the shop's"
                " dependencies cost before any code of ours runs, in the same process shape as the"
                " baseline. pydantic (every function validates with it: commands, events, settings) and"
                " Powertools' Logger come first; the HTTP functions add Powertools' HTTP resolver with"
                " validation, and Tracing Active adds the X-Ray SDK patching botocore. Our own code (domain,"
                " adapters, wiring) is the rest; `tests/template/test_cold_start_imports.py` keeps each"
                " function's import graph to what it uses (module names, not times).",
                100,
            ),
            "",
            coldstart.floor_table(baseline, floors),
            "",
            textwrap.fill(
                f"Above 1.5x with Tracing Active: {', '.join(active) or 'none'}. With PassThrough:"
                f" {', '.join(passthrough) or 'none'}. What it would take (docs/decisions.md, Cold start):"
                " an HTTP edge of our own instead of Powertools' resolver for the HTTP functions (routing"
                " and pydantic validation without the resolver's OpenAPI machinery; the OpenAPI documents"
                " are generated from the resolver today); Tracing PassThrough, or X-Ray sampling decided"
                " upstream, for the X-Ray share; and below the floor, a domain that does not build its"
                " models with pydantic.",
                100,
            ),
            "",
            textwrap.fill(
                "For comparison: aws-lambda-handler-cookbook's create-order handler measured"
                f" {coldstart.COOKBOOK_RATIO}x (issue 13: from a venv with bytecode, its import alone"
                " against `import boto3` alone, a lighter measure than this table's).",
                100,
            ),
            "",
            (
                "The boto3 pin (docs/decisions.md, Packaging): the same runs, Tracing Active, with the"
                " layer's boto3 stack and with it moved to a runtime directory (with bytecode):"
            ),
            "",
            coldstart.boto3_table(baseline, measured),
        ]
    )


def section_packages() -> str:
    return "\n".join(
        [
            "## Package sizes (arm64 `sam build`)",
            "",
            packages.report(),
        ]
    )


def section_localstack() -> str:
    return "\n".join(
        [
            "## Local stack: throughput and projection lag",
            "",
            "`make run`'s stack (moto server, worker processes, stream pollers), driven over HTTP.",
            "Projection lag runs from a command's answer to the Query API first showing that change",
            "(GET polled every 5 ms). moto serialises its requests and its `Query` slows down as the",
            "table grows, so absolute rates are the local machine's, not DynamoDB's.",
            "",
            localstack.report(localstack.run()),
        ]
    )


def section_checkout() -> str:
    return "\n".join(
        [
            "## Checkout: time to confirmation",
            "",
            "What a checkout costs, step by step and by its number of lines, is in the cost section.",
            "",
            checkout.run(),
        ]
    )


def section_rebuild() -> str:
    results = rebuild.run()
    about = (
        "`shop.operations.rebuild` (what `shopctl rebuild` and the local stack's start run) from a Catalog"
        " event store into an empty ProductsView on the local stack's moto server, in"
        f" {rebuild.SEGMENTS} parallel scan segments. Products of one shape at both sizes (a"
        " `ProductCreated`, 24 price changes and 25 stock receipts, one event per commit), so 100k events"
        " are ten times the streams. Each stream costs one consistent `GetItem` and one conditional"
        ' `UpdateItem` (a row write), whatever its length; the scan reads every commit once. "streams"'
        " counts stream groups handed to the engine (a stream split over two scan pages counts twice)."
    )
    caveat = (
        "moto serialises every request, so segments do not overlap here as they do in DynamoDB, and its"
        " `Scan` walks the table from the start for every page, which DynamoDB does not: that is why"
        " time grows faster than the events here. The rates are a floor; docs/rebuild.md has the AWS"
        f" arithmetic. Load average (5 min) when the run ended: {os.getloadavg()[1]:.1f} on"
        f" {os.cpu_count()} cores."
    )
    return "\n".join(
        [
            "## Rebuild: events per second, 10k and 100k events",
            "",
            textwrap.fill(about, 100),
            "",
            rebuild.table(results),
            "",
            textwrap.fill(caveat, 100),
        ]
    )


def section_load() -> str:
    result = load_run.run()
    load_run.plot(result, LOAD_PLOT)
    return "\n".join(["## Load: locust against the local stack", "", load_report.report(result)])


SECTIONS: dict[str, Callable[[], str]] = {
    "cost": section_cost,
    "coldstart": section_coldstart,
    "packages": section_packages,
    "localstack": section_localstack,
    "checkout": section_checkout,
    "rebuild": section_rebuild,
    "coalescing": coalescing.section,
    "load": section_load,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", choices=sorted(SECTIONS), action="append", help="run only these sections")
    parser.add_argument("--print", action="store_true", help="print instead of writing docs/performance.md")
    args = parser.parse_args(argv)
    chosen = args.only or list(SECTIONS)
    parts = [
        "# Performance",
        "",
        (
            f"Generated by `make bench` on {datetime.now(UTC):%Y-%m-%d} ({platform.machine()}, "
            f"{platform.python_implementation()} {platform.python_version()}). Do not edit by hand."
        ),
    ]
    for name in chosen:
        started = time.monotonic()
        print(f"bench: {name} ...", file=sys.stderr, flush=True)
        parts += ["", SECTIONS[name]()]
        print(f"bench: {name} done in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    text = "\n".join(parts) + "\n"
    if args.only and OUTPUT.exists():
        text = page.merge(OUTPUT.read_text(), text)
    if args.print:
        print(text)
    else:
        OUTPUT.parent.mkdir(exist_ok=True)
        OUTPUT.write_text(text)
        print(f"bench: wrote {OUTPUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
