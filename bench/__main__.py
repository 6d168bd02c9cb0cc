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

from bench import catalog, checkout, imports, localstack, page, rebuild
from bench.load import report as load_report
from bench.load import run as load_run

OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "performance.md"
#: The load section's plot, beside the page (the page links it by name).
LOAD_PLOT = OUTPUT.parent / load_report.PLOT


def section_catalog() -> str:
    return "\n".join(
        [
            "## Catalog operations: requests and capacity",
            "",
            "Each operation runs through its real Lambda handler against moto; every DynamoDB request the",
            "handler makes is recorded, and capacity is computed from the sizes of the items written and",
            "read (DynamoDB's sizing rules; moto's own `ConsumedCapacity` is a constant). Reads by command",
            "handlers are strongly consistent; Query API reads are eventually consistent (half price).",
            "Projector writes also update the `ByCategory` and `ByName` indexes (1 WCU each per change of an",
            "indexed row), which this table does not add.",
            "",
            catalog.table(catalog.run()),
            "",
            "Read this as: every command is **one write request**; a single-stream one costs **1 WCU**",
            "(one item per commit), plus one strongly consistent `Query` per stream it loads. Receiving",
            "stock is a transaction, the stock commit plus a check that the product did not change (its",
            "rule spans two streams): 4 WCU. A product's load also asks for its snapshot (0.5 RCU); its",
            "cost grows with the stream's length only up to a snapshot, taken every 50 events: then it",
            "reads the snapshot and at most 50 events (last rows; docs/snapshots.md).",
        ]
    )


def section_imports() -> str:
    baseline, results = imports.run()
    return "\n".join(
        [
            "## Cold start: handler import time",
            "",
            "Median wall time to import each function's handler module in a fresh interpreter that sees",
            "only the standard library and the layer's packages, with the environment Lambda sets (the",
            "X-Ray SDK, for one, skips its sampling client inside Lambda). No AWS client is created at",
            "import time; the first request pays for the boto3 client.",
            "",
            imports.table(baseline, results),
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
            "## Checkout: requests, capacity and time to confirmation",
            "",
            "Every step of a checkout of 1, 5 and 20 lines (2 units each), through the real handlers on",
            "moto; the reservation step is one `TransactWriteItems` over every stock stream plus the",
            "reservation stream (2 WCU per item, as transactions cost).",
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
    "catalog": section_catalog,
    "imports": section_imports,
    "localstack": section_localstack,
    "checkout": section_checkout,
    "rebuild": section_rebuild,
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
