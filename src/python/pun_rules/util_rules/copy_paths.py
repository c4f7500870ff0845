"""Path rules shared by the build context and dependency inference (pure functions).

COPY sources are relative to the context root; Pants paths are relative to the build root.
Wildcards are resolved as the build resolves them (pun.gopath: Go's path.Match, applied the way
BuildKit's fsutil does), so this check and the build never disagree about what a COPY takes.
"""

from __future__ import annotations

import difflib
import posixpath
from typing import Iterable, List, Optional, Tuple

from pun.gopath import BadPattern, compile_pattern, has_wildcards


def normalize_source(source: str) -> str:
    """A COPY source as a clean context-relative path; `""` is the whole context."""
    # `\` is no separator (BuildKit on Linux): it escapes a wildcard character.
    path = posixpath.normpath("/" + source).lstrip("/")
    return "" if path == "." else path


def in_context(path: str, context_root: str) -> Optional[str]:
    """`path` (build-root relative) relative to the context root, or None when outside it."""
    if not context_root:
        return path
    if path.startswith(context_root + "/"):
        return path[len(context_root) + 1 :]
    return None


def to_build_root(source: str, context_root: str) -> str:
    return posixpath.join(context_root, source) if context_root else source


def split_wildcards(source: str) -> Tuple[str, str]:
    """(the literal parts before the first wildcard part, the pattern from there on), as
    fsutil's splitWildcards; the pattern is "" when the source has no wildcard."""
    parts = source.split("/")
    split = next((i for i, part in enumerate(parts) if has_wildcards(part)), len(parts))
    return "/".join(parts[:split]), "/".join(parts[split:])


def source_matches(source: str, path: str) -> bool:
    """Does COPY `source` (normalized) take context file `path`: the file itself, a file inside a
    copied directory, or a wildcard match of the path or of a directory above it? As fsutil's
    ResolveWildcards: the parts before the first wildcard part are literal, the rest is one Go
    pattern matched against each path below them; a matching directory is copied whole."""
    if source == "":
        return True
    prefix, rest = split_wildcards(source)
    if not rest:
        return path == prefix or path.startswith(prefix + "/")
    if prefix and not path.startswith(prefix + "/"):
        return False
    try:
        pattern = compile_pattern(rest)
    except BadPattern:
        return False  # the build matches nothing with a malformed pattern either
    below = path[len(prefix) + 1 :].split("/") if prefix else path.split("/")
    return any(pattern.matches("/".join(below[:n])) for n in range(1, len(below) + 1))


def matching(source: str, paths: Iterable[str]) -> List[str]:
    return [p for p in paths if source_matches(source, p)]


def suggestions(source: str, paths: Iterable[str], limit: int = 3) -> List[str]:
    """Context paths that look like a misspelt COPY source (for error messages)."""
    return difflib.get_close_matches(source, sorted(paths), n=limit, cutoff=0.5)
