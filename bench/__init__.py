"""``make bench``: figures for docs/performance.md, measured, never asserted in unit tests."""
