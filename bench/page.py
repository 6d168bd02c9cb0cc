"""docs/performance.md as ``## `` sections: ``make bench --only`` replaces some and keeps the others."""

from __future__ import annotations


def sections(text: str) -> dict[str, str]:
    """Markdown ``## `` sections by heading (the part before the first one under "")."""
    found: dict[str, str] = {}
    heading = ""
    for line in text.splitlines(keepends=True):
        if line.startswith("## "):
            heading = line.strip()
        found[heading] = found.get(heading, "") + line
    return found


def merge(existing: str, fresh: str) -> str:
    """Replace the sections ``fresh`` measured, keep the others as they were (the header too, unless
    ``fresh`` has one); exactly one blank line between sections, whichever order they come in."""
    merged = sections(existing) | sections(fresh)
    return "\n\n".join(part.strip("\n") for part in merged.values() if part.strip()) + "\n"
