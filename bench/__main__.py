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

from bench import checkout, cost, imports, localstack, rebuild

OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "performance.md"


def section_cost() -> str:
    return cost.report(cost.run())


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


SECTIONS: dict[str, Callable[[], str]] = {
    "cost": section_cost,
    "imports": section_imports,
    "localstack": section_localstack,
    "checkout": section_checkout,
    "rebuild": section_rebuild,
}


def _sections(text: str) -> dict[str, str]:
    """Markdown ``## `` sections by heading (the part before the first one under "")."""
    sections: dict[str, str] = {}
    heading = ""
    for line in text.splitlines(keepends=True):
        if line.startswith("## "):
            heading = line.strip()
        sections[heading] = sections.get(heading, "") + line
    return sections


def _merge(existing: str, fresh: str) -> str:
    """Replace the sections ``fresh`` measured, keep the others as they were."""
    merged = _sections(existing) | _sections(fresh)
    return "".join(merged.values())


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
        text = _merge(OUTPUT.read_text(), text)
    if args.print:
        print(text)
    else:
        OUTPUT.parent.mkdir(exist_ok=True)
        OUTPUT.write_text(text)
        print(f"bench: wrote {OUTPUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
