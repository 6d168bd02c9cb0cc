"""The text the shop stores in names, descriptions and customer ids (docs/text.md).

Any Unicode letters, digits, marks, punctuation, symbols and spaces are text; refused (a 422 naming
the field) are:

* control characters (Unicode category ``Cc``: C0 ``U+0000``-``U+001F`` with NUL, BEL, ESC; DEL;
  C1 ``U+0080``-``U+009F``), except tab, line feed and carriage return in a description;
* in a name or a customer id, the line and paragraph separators ``U+2028``/``U+2029`` (categories
  ``Zl``, ``Zp``): they break the line as a line feed does, and a name is one line;
* the bidirectional embeddings, overrides and isolates ``U+202A``-``U+202E`` and ``U+2066``-``U+2069``,
  which reorder the text around them (``"\\u202egnp.exe"`` shows as ``exe.png``); the marks
  ``U+200E``/``U+200F`` stay allowed: they reorder nothing;
* unpaired surrogates (JSON's ``"\\ud800"``), which are no character at all;
* a value with nothing visible in it: only whitespace, format characters (``Cf``: zero-width
  space, joiners, ``U+FEFF``...) and the other characters that render as nothing (Hangul fillers,
  variation selectors, ``U+2800``). An empty description is allowed: it means none.

Names are trimmed of surrounding whitespace first; customer ids are compared exactly, so
whitespace around one is refused rather than trimmed.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

from pydantic import BeforeValidator

#: Embeddings, overrides (LRE, RLE, PDF, LRO, RLO) and isolates (LRI, RLI, FSI, PDI).
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
#: Line structure a description may have.
LINE_BREAKS = frozenset("\t\n\r")
#: Line and paragraph separators: not control characters, but line breaks all the same.
SEPARATORS = frozenset("\u2028\u2029")
#: Characters that are neither whitespace nor ``Cf`` but render as nothing on their own.
INVISIBLE = frozenset(
    "\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180e\u180f\u2800\u3164\uffa0"
    + "".join(chr(c) for c in range(0xFE00, 0xFE10))
    + "".join(chr(c) for c in range(0xE0100, 0xE01F0))
)


def _refused(character: str, *, line_breaks: bool) -> str | None:
    """Why ``character`` may not be stored, or None."""
    category = unicodedata.category(character)
    if category == "Cc" and not (line_breaks and character in LINE_BREAKS):
        return f"must not contain control characters (U+{ord(character):04X})"
    if character in BIDI_CONTROLS:
        return f"must not contain bidirectional override or isolate characters (U+{ord(character):04X})"
    if category == "Cs":
        return "must not contain unpaired surrogates"
    if character in SEPARATORS and not line_breaks:
        return f"must be a single line (U+{ord(character):04X} breaks it)"
    return None


def _visible(character: str) -> bool:
    return not (
        character.isspace() or unicodedata.category(character) in ("Cf", "Cc") or character in INVISIBLE
    )


def checked(value: str, *, line_breaks: bool = False, blank: bool = False) -> str:
    """``value`` if the shop may store it, else ``ValueError`` saying why (pydantic makes it a
    field error). ``blank`` allows the empty string (not a whitespace-only one)."""
    for character in value:
        reason = _refused(character, line_breaks=line_breaks)
        if reason:
            raise ValueError(reason)
    if not any(_visible(character) for character in value) and not (blank and value == ""):
        raise ValueError("must contain a visible character")
    return value


def single_line(value: str) -> str:
    """A name: one line of text with something visible in it."""
    return checked(value)


def paragraphs(value: str) -> str:
    """A description: may be empty, may hold tabs and line breaks, else as a name."""
    return checked(value, line_breaks=True, blank=True)


def identifier(value: str) -> str:
    """A customer id: as a name, and without whitespace around it (ids compare exactly)."""
    checked(value)
    if value != value.strip():
        raise ValueError("must not start or end with whitespace")
    return value


def allowed(rule: Callable[[str], str], value: str) -> bool:
    """Whether ``rule`` (``single_line``, ``paragraphs``, ``identifier``) accepts ``value``."""
    try:
        rule(value)
    except ValueError:
        return False
    return True


def rule(check: Callable[[str], str]) -> BeforeValidator:
    """``check`` as a pydantic validator that sees the value as sent, before any trimming (``str.strip``
    would quietly drop some control characters, such as ``U+0085``); other types pass to the type check."""

    def validate(value: object) -> object:
        return check(value) if isinstance(value, str) else value

    return BeforeValidator(validate)
