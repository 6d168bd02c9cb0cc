"""If-None-Match as RFC 9110 section 13.1.2 reads it: ``*``, lists, weak comparison."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shop.http.conditional import entity_tags, none_match

CURRENT = '"3.1"'


@pytest.mark.parametrize(
    ("field", "not_modified"),
    [
        ('"3.1"', True),
        ('W/"3.1"', True),  # weak comparison: W/ does not matter
        ('"3.0"', False),
        ('"3"', False),
        ('"2.1", "3.1"', True),
        ('"2.1","3.1"', True),
        ('W/"2.1" , W/"3.1"', True),
        ('"1.0", "2.0"', False),
        ("*", True),
        (" * ", True),
        ('"3.1", ', True),  # empty list elements are allowed
        (', , "3.1"', True),
        ("", False),
        ("3.1", False),  # not an entity tag: the field is ignored
        ('"3.1" "3.1"', False),  # no comma between them: not a list
        ('"3.1', False),
        ('*, "3.1"', False),  # * stands alone
        ('w/"3.1"', False),  # W/ is case-sensitive
        ('"3.1\x00"', False),
    ],
)
def test_if_none_match(field: str, not_modified: bool) -> None:
    assert none_match(field, CURRENT) is not_modified


def test_no_field_is_no_condition() -> None:
    assert none_match(None, CURRENT) is False


def test_a_comma_inside_an_entity_tag_is_part_of_it() -> None:
    assert entity_tags('"a,b", "c"') == ["a,b", "c"]
    assert none_match('"a,b"', '"a,b"') is True
    assert none_match('"a", "b"', '"a,b"') is False


etagc = st.text(st.sampled_from([chr(c) for c in [0x21, *range(0x23, 0x7F)]]), max_size=10)


@settings(deadline=None)  # no timing in unit tests (a loaded machine is slow)
@given(
    st.lists(st.tuples(st.booleans(), etagc), min_size=1, max_size=6), st.sampled_from([",", ", ", " ,\t"])
)
def test_any_list_of_entity_tags_parses_to_its_opaque_tags(tags: list[tuple[bool, str]], comma: str) -> None:
    field = comma.join(("W/" if weak else "") + f'"{opaque}"' for weak, opaque in tags)
    assert entity_tags(field) == [opaque for _, opaque in tags]
    for _, opaque in tags:
        assert none_match(field, f'"{opaque}"')
