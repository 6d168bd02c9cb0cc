"""What text names, descriptions and customer ids may hold (shop.domain.text, docs/text.md)."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shop.domain.text import BIDI_CONTROLS, INVISIBLE, allowed, identifier, paragraphs, single_line

CONTROLS = [chr(c) for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)]]
BLANKS = [
    " ",
    "\u200b",
    "\u200b\u200c\u200d",
    "\ufeff",
    " \u2060 ",
    "\u3164",
    "\u2800",
    "\u00a0",
    "\u3000\u200b",
]
ACCEPTED = [
    "Mug",
    "Crème brûlée",
    "کوزه",  # right-to-left script, no override
    "\u200f\u05e9\u05dc\u05d5\u05dd",  # a right-to-left mark reorders nothing
    "👨\u200d👩\u200d👧 family mug",  # joiners between visible characters
    "日本茶 100 g",
    "a",
]


@pytest.mark.parametrize("rule", [single_line, paragraphs, identifier])
@pytest.mark.parametrize("character", CONTROLS, ids=lambda c: f"U+{ord(c):04X}")
def test_control_characters_are_refused(rule: object, character: str) -> None:
    if rule is paragraphs and character in "\t\n\r":
        assert paragraphs(f"line{character}line") == f"line{character}line"
        return
    with pytest.raises(ValueError, match=rf"control characters \(U\+{ord(character):04X}\)"):
        rule(f"a{character}b")  # type: ignore[operator]


@pytest.mark.parametrize("rule", [single_line, paragraphs, identifier])
@pytest.mark.parametrize("character", sorted(BIDI_CONTROLS), ids=lambda c: f"U+{ord(c):04X}")
def test_bidi_overrides_and_isolates_are_refused(rule: object, character: str) -> None:
    with pytest.raises(ValueError, match="bidirectional"):
        rule(f"{character}gnp.exe")  # type: ignore[operator]


@pytest.mark.parametrize("rule", [single_line, identifier])
@pytest.mark.parametrize("value", ["", *BLANKS], ids=repr)
def test_nothing_visible_is_blank(rule: object, value: str) -> None:
    with pytest.raises(ValueError, match="visible character"):
        rule(value)  # type: ignore[operator]


@pytest.mark.parametrize("value", BLANKS, ids=repr)
def test_a_description_may_be_empty_but_not_blank(value: str) -> None:
    assert paragraphs("") == ""
    with pytest.raises(ValueError, match="visible character"):
        paragraphs(value)
    with pytest.raises(ValueError, match="visible character"):
        paragraphs("\n\t\r\n")


def test_unpaired_surrogates_are_refused() -> None:
    with pytest.raises(ValueError, match="surrogates"):
        single_line("a\ud800")


@pytest.mark.parametrize("value", ACCEPTED)
def test_text_of_any_script_is_accepted(value: str) -> None:
    assert single_line(value) == value
    assert paragraphs(value) == value
    assert identifier(value.strip()) == value.strip()


def test_customer_ids_are_not_trimmed_but_refused_with_whitespace_around() -> None:
    for value in (" alice", "alice ", "alice\u3000"):
        with pytest.raises(ValueError, match="whitespace"):
            identifier(value)
    assert identifier("alice smith") == "alice smith"
    assert allowed(identifier, "alice")
    assert not allowed(identifier, " ")


def _acceptable(character: str) -> bool:
    return unicodedata.category(character) not in ("Cc", "Cs") and character not in BIDI_CONTROLS


@settings(deadline=None)  # no timing in unit tests (a loaded machine is slow)
@given(st.text(min_size=1).filter(lambda t: not all(_acceptable(c) for c in t)))
def test_any_text_with_a_forbidden_character_is_refused(value: str) -> None:
    for rule in (single_line, identifier):
        assert not allowed(rule, value)
    if any(not _acceptable(c) and c not in "\t\n\r" for c in value):
        assert not allowed(paragraphs, value)


@settings(deadline=None)  # no timing in unit tests (a loaded machine is slow)
@given(st.text(st.characters(categories=["L", "N", "P", "S"]), min_size=1))
def test_any_text_of_letters_numbers_punctuation_and_symbols_is_accepted(value: str) -> None:
    if any(c not in INVISIBLE for c in value):
        assert allowed(single_line, value)
        assert allowed(paragraphs, value)
        assert allowed(identifier, value)
