"""Dockerfile word rules, as `docker build` applies them (stated cases from Docker's docs and the
facts sheet's table of what the original pun got wrong)."""

from __future__ import annotations

import pytest

from pun.containerfile.words import WordError, process_word

ENV = {"A": "1", "EMPTY": "", "PATHY": "/unikernel", "V": "archive.tar.gz"}


@pytest.mark.parametrize(
    "word, expected",
    [
        ("b", "b"),
        ('"f g"', "f g"),
        ("'o p'", "o p"),  # the original kept the single quotes
        (r"i\ j", "i j"),  # the original kept the backslash
        (r'"\"quoted\""', '"quoted"'),
        ("'\"s\"'", '"s"'),
        ("'redis-server /data/conf/redis.conf'", "redis-server /data/conf/redis.conf"),
        ('""', ""),
        ("$A", "1"),
        ("${A}x", "1x"),
        ("'$A'", "$A"),
        ('"$A"', "1"),
        (r"\$A", "$A"),
        ('"a\\b"', "a\\b"),  # only \" \$ \\ are escapes inside double quotes
        ("${NOPE:-dflt}", "dflt"),
        ("${EMPTY:-dflt}", "dflt"),
        ("${EMPTY-dflt}", ""),
        ("${A:+alt}", "alt"),
        ("${NOPE:+alt}", ""),
        ("${PATHY}/app", "/unikernel/app"),
        ("a$", "a$"),
        ("x\\", "x"),
        # BuildKit's processName: one special parameter character, or digits only.
        ("$$A", "A"),
        ("$#x", "x"),
        ("$1abc", "abc"),
        ("${1}", ""),
        # ${v#p} ${v##p} ${v%p} ${v%%p}: shortest/longest prefix/suffix removal (POSIX).
        ("${V#*.}", "tar.gz"),
        ("${V##*.}", "gz"),
        ("${V%.*}", "archive.tar"),
        ("${V%%.*}", "archive"),
        ("${V#nomatch}", "archive.tar.gz"),
        ("${V#a?c}", "hive.tar.gz"),
        ("${NOPE#x}", ""),
        # ${v/p/r} first match, ${v//p/r} every match (BuildKit's extension).
        ("${V/tar/zip}", "archive.zip.gz"),
        ("${V//a/A}", "Archive.tAr.gz"),
        ("${V/*./x}", "xgz"),
    ],
)
def test_process_word(word: str, expected: str) -> None:
    assert process_word(word, ENV).value == expected


def test_unset_variables_are_reported() -> None:
    result = process_word("$NOPE-${ALSO}-$A", ENV)
    assert result.value == "--1"
    assert result.unset_variables == {"NOPE", "ALSO"}


def test_backtick_escape() -> None:
    assert process_word("a` b", {}, escape="`").value == "a b"
    assert process_word("a\\b", {}, escape="`").value == "a\\b"


@pytest.mark.parametrize(
    "word",
    [
        "'open",
        '"open',
        "${",
        "${A",
        "${NOPE:?must be set}",
        "${EMPTY:?}",
        "${}",
        "${:x}",
        "${A:%x}",
        "${A!x}",
        "${V%\\.gz}",
        "${V/a",
    ],
)
def test_bad_words_raise(word: str) -> None:
    with pytest.raises(WordError):
        process_word(word, ENV)
