"""`.dockerignore` against Docker's stated rules.

The matcher cases restate moby/patternmatcher v0.6.1's own `TestMatches` expectations (pattern,
path, matched); the file-reading ones the rules `ignorefile.ReadAll` documents; which file
wins is BuildKit's `frontend/dockerui/config.go` (then podman's twins). What a filtered context
holds is also checked end to end against a real BuildKit in solve/test_copy_oracles.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pun.diagnostics import PunError
from pun.dockerignore import (
    BadIgnorePattern,
    PatternMatcher,
    find_ignore_file,
    kept_files,
    read_patterns,
)

# (pattern, path, matches) as moby/patternmatcher's TestMatches states them.
PATTERNMATCHER_CASES = [
    ("**", "file", True),
    ("**", "dir/file", True),
    ("**/", "file", True),
    ("**/**", "dir/file", True),
    ("dir/**", "dir/dir2/file", True),
    ("**/dir", "dir", True),
    ("**/dir", "dir/file", True),
    ("**/dir2/*", "dir/dir2/file", True),
    ("**file", "dir/dir/file", True),
    ("**/file*.txt", "dir/dir/file.txt", True),
    ("**/**/*.txt2", "dir/dir/file.txt", False),
    ("**/*.txt", "file.txt", True),
    ("a**/*.txt", "a/dir/dir/file.txt", True),
    ("a/*.txt", "a/dir/file.txt", False),
    ("a/*.txt", "a/file.txt", True),
    ("a/*.txt**", "a/file.txt", True),
    ("a[b-d]e", "ae", False),
    ("a[b-d]e", "ace", True),
    ("a[^b-d]e", "aze", True),
    (".*", ".foo", True),
    (".*", "foo", False),
    ("abc.def", "abcdef", False),
    ("abc?def", "abcZdef", True),
    ("abc?def", "abcdef", False),
    ("a\\\\", "a\\", True),
    ("**/foo/bar", "dir/dir2/foo/bar", True),
    ("abc/**", "abc", False),
    ("abc/**", "abc/def/ghi", True),
    ("**/.foo", ".foo", True),
    ("**/.foo", "bar.foo", False),
    ("a(b)c/def", "a(b)c/def", True),
    ("a.|)$(}+{bc", "a.|)$(}+{bc", True),
    ("dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", True),
    ("a\\*b", "a*b", True),
    # A pattern also matches everything below a directory it matches.
    ("dir", "dir/sub/file", True),
    ("*.tmp", "sub/x.tmp", False),  # `*` stays within one path component
]


@pytest.mark.parametrize("pattern, path, expected", PATTERNMATCHER_CASES)
def test_patternmatcher_cases(pattern: str, path: str, expected: bool) -> None:
    assert PatternMatcher([pattern]).matches_or_parent_matches(path) is expected


@pytest.mark.parametrize(
    "patterns, path, expected",
    [
        (["**", "!util/docker/web"], "util/docker/web/foo", False),
        (["**", "!util/docker/web", "util/docker/web/foo"], "util/docker/web/foo", True),
        (["**", "!dist/*.whl"], "dist/x-1.0-py3-none-any.whl", False),
    ],
)
def test_the_last_matching_pattern_decides(patterns: list, path: str, expected: bool) -> None:
    assert PatternMatcher(patterns).matches_or_parent_matches(path) is expected


@pytest.mark.parametrize("pattern", ["[", "a[", "!"])
def test_malformed_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(BadIgnorePattern):
        PatternMatcher([pattern])


def test_reading_an_ignore_file_follows_readall() -> None:
    data = (
        b"\xef\xbb\xbf# a comment, then blanks\n\n   \n"
        b"  spaced.txt  \r\n"
        b"/rooted/dir\n"
        b"a/../b\n"
        b"!  keep.txt\n"
        b" # not a comment: it does not start the line\n"
        b"./here/\n"
    )
    assert read_patterns(data) == (
        "spaced.txt",
        "rooted/dir",
        "b",
        "!keep.txt",
        "# not a comment: it does not start the line",
        "here",
    )


def test_a_bad_pattern_names_its_file_and_line() -> None:
    with pytest.raises(PunError) as caught:
        read_patterns(b"ok\n[broken\n", "ctx/.dockerignore")
    (diagnostic,) = caught.value.diagnostics
    assert (diagnostic.path, diagnostic.line) == ("ctx/.dockerignore", 2)


def test_what_a_filtered_context_keeps() -> None:
    files = [
        "app.hvt",
        "a.tmp",
        "keep.tmp",
        "data/one",
        "data/sub/two",
        "notes/a.md",
        "notes/b.txt",
        "secret/key",
    ]
    patterns = ["*.tmp", "!keep.tmp", "data", "!data/sub/two", "secret/"]
    assert kept_files(files, patterns) == (
        "app.hvt",
        "keep.tmp",
        "data/sub/two",
        "notes/a.md",
        "notes/b.txt",
    )
    # A wildcard exception reaches into excluded directories too (fsutil walks them).
    assert kept_files(files, ["notes", "!**/*.md"]) == tuple(
        f for f in files if not f.startswith("notes/") or f == "notes/a.md"
    )
    assert kept_files(files, []) == tuple(files)


def test_which_ignore_file_wins(tmp_path: Path) -> None:
    context = tmp_path / "ctx"
    context.mkdir()
    containerfile = str(context / "Containerfile")
    assert find_ignore_file(str(context), containerfile) is None
    order = [
        (context / ".containerignore", "podman-root"),
        (context / ".dockerignore", "docker-root"),
        (context / "Containerfile.containerignore", "podman-beside"),
        (context / "Containerfile.dockerignore", "docker-beside"),
    ]
    for path, pattern in order:
        path.write_text(pattern + "\n")
        found = find_ignore_file(str(context), containerfile)
        assert found is not None and (found.path, found.patterns) == (str(path), (pattern,))
    # Read from stdin, the Containerfile has no place for a file beside it.
    found = find_ignore_file(str(context), "-")
    assert found is not None and found.patterns == ("docker-root",)
