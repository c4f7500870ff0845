"""pun.gopath against Go's path.Match: its documented rules, and answers recorded from Go itself."""

from __future__ import annotations

import json
from typing import Dict, List, Optional

import pytest

from pun.gopath import BadPattern, compile_pattern, has_wildcards, match, match_or_false
from pun_testing.shared import DATA


def recorded() -> List[Dict[str, Optional[bool]]]:
    """Go 1.26's path.Match on 4,000 seeded random pairs (tests/data/go-path-match/README.md)."""
    path = DATA / "go-path-match" / "cases.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def answer(pattern: str, name: str) -> Optional[bool]:
    try:
        return match(pattern, name)
    except BadPattern:
        return None


def test_every_recorded_answer_of_go() -> None:
    cases = recorded()
    assert len(cases) == 4000
    wrong = [c for c in cases if answer(str(c["pattern"]), str(c["name"])) != c["match"]]
    assert wrong == [], f"{len(wrong)} answers differ from Go's, e.g. {wrong[:5]}"
    # The set exercises all three answers.
    assert {c["match"] for c in cases} == {True, False, None}


# The rules in path.Match's doc comment (go src/path/match.go).
@pytest.mark.parametrize(
    "pattern, name, expected",
    [
        ("*", "abc", True),  # `*` matches any sequence of non-/ characters
        ("*", "", True),
        ("*", "a/b", False),
        ("a*/b", "abc/b", True),
        ("a*b", "a/b", False),
        ("?", "a", True),  # `?` matches any single non-/ character
        ("?", "/", False),
        ("?", "", False),
        ("?", "é", True),  # one character, two bytes
        ("[abc]", "b", True),  # a character class
        ("[abc]", "d", False),
        ("[a-c]", "b", True),  # lo '-' hi: lo <= c <= hi
        ("[a-c]", "d", False),
        ("[^a-c]", "d", True),  # `^` negates
        ("[^a-c]", "b", False),
        ("[!b]", "!", True),  # `!` does not negate: it is a member
        ("[!b]", "c", False),
        ("[\\]]", "]", True),  # `\` escapes inside a class
        ("[\\-]", "-", True),
        ("\\*", "*", True),  # `\` c matches c
        ("\\*", "x", False),
        ("\\a", "a", True),
        ("abc", "abc", True),  # the whole name must match, not a substring
        ("ab", "abc", False),
        ("bc", "abc", False),
        ("", "", True),
        ("", "a", False),
    ],
)
def test_documented_rules(pattern: str, name: str, expected: bool) -> None:
    assert match(pattern, name) is expected


# The three patterns of issue 9 that fnmatch answers differently.
@pytest.mark.parametrize(
    "pattern, name, expected",
    [
        ("app[^b].hvt", "appa.hvt", True),
        ("app[^b].hvt", "appb.hvt", False),
        ("app[!b].hvt", "app!.hvt", True),
        ("app[!b].hvt", "appa.hvt", False),  # fnmatch: True
        ("a\\*b", "a*b", True),
        ("a\\*b", "axb", False),  # fnmatch reads `\` as a literal
        ("a\\*b", "a\\xb", False),
    ],
)
def test_where_fnmatch_differs(pattern: str, name: str, expected: bool) -> None:
    assert match(pattern, name) is expected


# "The only possible returned error is ErrBadPattern, when pattern is malformed" (match.go);
# a class must be non-empty, and `-` and `]` must be escaped where a member belongs.
@pytest.mark.parametrize(
    "pattern", ["[", "a[", "[a", "[a-", "[]", "[]a]", "[^]", "[a-]", "[-a]", "\\", "a\\", "[\\"]
)
@pytest.mark.parametrize("name", ["", "a", "[", "a["])
def test_malformed_patterns(pattern: str, name: str) -> None:
    with pytest.raises(BadPattern):
        match(pattern, name)
    assert match_or_false(pattern, name) is False


def test_go_quirks_kept() -> None:
    # A class may take `/` (only `*` and `?` are kept from it).
    assert match("a[^x]b", "a/b") and match("a[/]b", "a/b")
    # A backwards range is legal and takes nothing.
    assert not match("[z-a]", "m")
    # After `*`, each fixed run is settled at its first fit: Go answers false here.
    assert not match("*[x/]*b", "x/b")


def test_a_compiled_pattern_answers_alike() -> None:
    pattern = compile_pattern("d*/f?")
    assert [pattern.matches(n) for n in ("dir/f1", "d/f", "dir/sub/f1")] == [True, False, False]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("a*", True),
        ("a?", True),
        ("[ab]", True),
        ("plain", False),
        ("a\\*", False),
        ("\\\\*", True),
    ],
)
def test_has_wildcards(text: str, expected: bool) -> None:
    assert has_wildcards(text) is expected
