"""`make mutate`'s summary: mutation score per module from ``mutmut results --all true``.

Reads the results on standard input (lines like ``    shop.streams.x_policy_handler__mutmut_3: killed``)
and prints killed / total per module, then the mutants that were not killed. Timeouts count as
killed (the mutant hung where the original did not); ``no tests`` counts as survived.
"""

from __future__ import annotations

import re
import sys
from collections import Counter, defaultdict

_LINE = re.compile(r"^\s*(?P<name>\S+?):\s+(?P<status>.+?)\s*$")
_KILLED = {"killed", "timeout", "caught by type check"}


def module_of(mutant: str) -> str:
    """``shop.eventstore.dynamodb.xǁDynamoDBEventStoreǁload__mutmut_7`` -> ``shop.eventstore.dynamodb``."""
    parts = mutant.split(".")
    for index, part in enumerate(parts):
        if part.startswith(("x_", "xǁ")):
            return ".".join(parts[:index])
    return mutant.rsplit(".", 1)[0]


def summarise(lines: list[str]) -> tuple[str, int]:
    totals: dict[str, Counter[str]] = defaultdict(Counter)
    not_killed: list[str] = []
    for line in lines:
        match = _LINE.match(line)
        if not match:
            continue
        name, status = match["name"], match["status"]
        module = module_of(name)
        totals[module]["total"] += 1
        if status in _KILLED:
            totals[module]["killed"] += 1
        else:
            not_killed.append(f"{name}: {status}")
    out = [f"{'module':<32} {'killed':>7} {'total':>6} {'score':>7}"]
    killed = total = 0
    for module in sorted(totals):
        k, t = totals[module]["killed"], totals[module]["total"]
        killed, total = killed + k, total + t
        out.append(f"{module:<32} {k:>7} {t:>6} {k / t:>7.1%}")
    out.append(f"{'all':<32} {killed:>7} {total:>6} {killed / total if total else 0:>7.1%}")
    if not_killed:
        out += ["", f"not killed ({len(not_killed)}); `mutmut show <name>` in .mutate/ shows the diff:"]
        out += [f"  {entry}" for entry in not_killed]
    return "\n".join(out), total - killed


if __name__ == "__main__":
    report, _ = summarise(sys.stdin.read().splitlines())
    print(report)
