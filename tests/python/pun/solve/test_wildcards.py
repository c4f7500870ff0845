"""COPY wildcards follow Go's path.Match, as BuildKit's ResolveWildcards does."""

from __future__ import annotations

from pathlib import Path
from typing import List

import pytest
from pun.solve.context import ContextDir, go_match_regex, resolve_wildcards


@pytest.mark.parametrize(
    "pattern, name, matches",
    [
        ("*.txt", "a.txt", True),
        ("*.txt", "dir/a.txt", False),  # `*` never crosses a `/`
        ("?.bin", "a.bin", True),
        ("?.bin", "ab.bin", False),
        ("[a-c]x", "bx", True),
        ("[^a-c]x", "dx", True),
        ("[^a-c]x", "ax", False),
        ("[^a]", "/", False),  # not even a negated class matches the separator
        ("\\*", "*", True),
        ("\\*", "a", False),
        ("d*/f?", "dir/f1", True),
    ],
)
def test_go_path_match(pattern: str, name: str, matches: bool) -> None:
    regex = go_match_regex(pattern)
    assert regex is not None
    assert bool(regex.match(name)) is matches


@pytest.mark.parametrize("pattern", ["[", "[a-", "[]", "[]a]", "[a-]", "x\\", "[z-a]"])
def test_malformed_patterns_match_nothing(pattern: str) -> None:
    assert go_match_regex(pattern) is None


def matches(root: Path, src: str) -> List[str]:
    return resolve_wildcards(ContextDir.open(str(root)), src, follow_links=False)


def test_a_matching_directory_is_not_descended(tmp_path: Path) -> None:
    for name in ("src/a", "src/sub/b", "src/sub/c.txt", "top.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(name)
    assert matches(tmp_path, "/src/*") == ["/src/a", "/src/sub"]
    assert matches(tmp_path, "/*.txt") == ["/top.txt"]
    assert matches(tmp_path, "/src/*/*.txt") == ["/src/sub/c.txt"]
    assert matches(tmp_path, "/none/*") == []
