"""COPY wildcards resolved as BuildKit's ResolveWildcards does (the matcher: test_gopath.py)."""

from __future__ import annotations

from pathlib import Path
from typing import List

from pun.solve.context import ContextDir, resolve_wildcards


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


def test_a_class_may_take_the_separator_and_a_bad_pattern_takes_nothing(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    assert matches(tmp_path, "/a[^x]b") == ["/a/b"]  # Go's classes are not kept from `/`
    assert matches(tmp_path, "/a[") == []
