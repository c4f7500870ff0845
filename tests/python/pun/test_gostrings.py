"""pun.gostrings against Go's documented unicode.IsSpace: '\\t', '\\n', '\\v', '\\f', '\\r', ' ',
U+0085 and U+00A0 in Latin-1, then the White_Space property. Python's str.isspace() takes the
same set plus U+001C..U+001F (its bidi B/S classes), which Go does not count as space."""

import sys

from pun.gostrings import GO_SPACE

LATIN1 = set("\t\n\v\f\r \x85\xa0")
PYTHON_ONLY = set("\x1c\x1d\x1e\x1f")


def test_go_space_is_unicode_is_space() -> None:
    python_space = {chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()}
    assert set(GO_SPACE) == python_space - PYTHON_ONLY
    assert LATIN1 == {c for c in GO_SPACE if ord(c) < 0x100}
    assert len(GO_SPACE) == len(set(GO_SPACE))
