"""Path rules shared by the build context and dependency inference (pure functions).

COPY sources are relative to the context root; Pants paths are relative to the build root.
Wildcards follow Go's path.Match (what BuildKit uses): `*` and `?` never cross a `/`.
"""

from __future__ import annotations

import difflib
import fnmatch
import posixpath
from typing import Iterable, List, Optional

_GLOB_CHARS = frozenset("*?[")


def normalize_source(source: str) -> str:
    """A COPY source as a clean context-relative path; `""` is the whole context."""
    path = posixpath.normpath("/" + source.replace("\\", "/")).lstrip("/")
    return "" if path == "." else path


def has_glob(source: str) -> bool:
    return any(c in _GLOB_CHARS for c in source)


def in_context(path: str, context_root: str) -> Optional[str]:
    """`path` (build-root relative) relative to the context root, or None when outside it."""
    if not context_root:
        return path
    if path.startswith(context_root + "/"):
        return path[len(context_root) + 1 :]
    return None


def to_build_root(source: str, context_root: str) -> str:
    return posixpath.join(context_root, source) if context_root else source


def source_matches(source: str, path: str) -> bool:
    """Does COPY `source` (normalized) take context file `path`: the file itself, a file inside a
    copied directory, or a wildcard match of the path or of a directory above it?"""
    if source == "":
        return True
    pattern_parts = source.split("/")
    path_parts = path.split("/")
    if len(path_parts) < len(pattern_parts):
        return False
    return all(
        fnmatch.fnmatchcase(part, pattern) if has_glob(pattern) else part == pattern
        for part, pattern in zip(path_parts, pattern_parts)
    )


def matching(source: str, paths: Iterable[str]) -> List[str]:
    return [p for p in paths if source_matches(source, p)]


def suggestions(source: str, paths: Iterable[str], limit: int = 3) -> List[str]:
    """Context paths that look like a misspelt COPY source (for error messages)."""
    return difflib.get_close_matches(source, sorted(paths), n=limit, cutoff=0.5)
