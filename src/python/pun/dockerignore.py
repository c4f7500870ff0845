"""`.dockerignore`: which ignore file a build uses, its patterns, and what they exclude.

The rules are Docker's, read from their sources (moby/buildkit v0.32.2 and what it vendors):
* which file: BuildKit's Dockerfile frontend reads `<Dockerfile>.dockerignore` beside the
  Dockerfile (from the `dockerfile` local) and, when there is none, `.dockerignore` at the
  context root (`frontend/dockerui/config.go`, `ReadEntrypoint` and `dockerIgnorePatterns`).
  Podman/buildah also read `<Containerfile>.containerignore` and `.containerignore`
  (`pkg/parse/parse.go` `ContainerIgnoreFile`); each Docker name wins over its podman twin.
* the patterns: `moby/patternmatcher/ignorefile.ReadAll` (BOM stripped, `#` comment lines,
  trimmed, cleaned, leading `/` dropped, `!` exceptions kept);
* matching: `moby/patternmatcher` (`*` `?` `[...]` within one component, `**` across them, a
  pattern matches a path or any of its parent directories; the last matching pattern decides);
* what the context then holds: `tonistiigi/fsutil` `filter.go` (`filterFS.Walk`): an excluded
  directory is skipped whole unless an exception pattern could match below it; a directory
  that is excluded but holds an included entry is still sent.
"""

from __future__ import annotations

import os
import posixpath
import re
import stat
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from pun.diagnostics import error
from pun.gopath import BadPattern as GoBadPattern
from pun.gopath import clean as go_clean  # filepath.Clean on Linux is path.Clean
from pun.gopath import compile_pattern
from pun.ignorefiles import DOCKERIGNORE, ignore_file_candidates

_UTF8_BOM = b"\xef\xbb\xbf"
_REGEX_ESCAPED = frozenset(".+()|{}$")  # patternmatcher's shouldEscape set
_PATTERN_CHARS = "*[]?^\\"  # fsutil: characters that make a pattern more than a prefix
# Go regexp escapes with the same meaning in Python's re (anything else is an RE2 error).
_SAME_CLASS_ESCAPES = frozenset("dDsSwWbBA")


@dataclass(frozen=True)
class IgnoreFile:
    """The ignore file a build uses: where it was found (for messages) and its patterns."""

    path: str
    patterns: Tuple[str, ...]


def find_ignore_file(context_dir: str, containerfile: Optional[str]) -> Optional[IgnoreFile]:
    """Read the ignore file `docker build -f containerfile context_dir` would use, if any."""
    for candidate in ignore_file_candidates(context_dir, containerfile):
        try:
            with open(candidate, "rb") as handle:
                data = handle.read()
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise error(
                f"cannot read {candidate}: {exc.strerror or exc}",
                candidate,
                hint="make the ignore file readable or remove it",
            ) from None
        return IgnoreFile(candidate, read_patterns(data, candidate))
    return None


def read_patterns(data: bytes, path: str = DOCKERIGNORE) -> Tuple[str, ...]:
    """The patterns of an ignore file, as `ignorefile.ReadAll` returns them.

    Bad patterns are an error naming the line (BuildKit fails the build on them too)."""
    patterns: List[str] = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if number == 1 and raw.startswith(_UTF8_BOM):
            raw = raw[len(_UTF8_BOM) :]
        if raw.endswith(b"\r"):  # bufio.ScanLines drops a trailing CR
            raw = raw[:-1]
        text = raw.decode("utf-8", "surrogateescape")
        if text.startswith("#"):
            continue
        text = text.strip()
        if not text:
            continue
        invert = text.startswith("!")
        if invert:
            text = text[1:].strip()
        if text:
            text = go_clean(text)
            if len(text) > 1 and text.startswith("/"):
                text = text[1:]
        pattern = "!" + text if invert else text
        try:
            PatternMatcher((pattern,))
        except BadIgnorePattern as exc:
            raise error(
                f"invalid pattern {pattern!r}: {exc}",
                path,
                number,
                "fix the pattern (Go filepath.Match syntax: *, ?, [a-z], \\ escapes, **)",
            ) from None
        patterns.append(pattern)
    return tuple(patterns)


class BadIgnorePattern(ValueError):
    """A pattern patternmatcher.New refuses (BuildKit then fails the build)."""


@dataclass(frozen=True)
class MatchInfo:
    """Which patterns a directory matched, passed down to its entries (patternmatcher's)."""

    parent_matched: Tuple[bool, ...] = ()


class _Pattern:
    def __init__(self, text: str) -> None:
        self.exclusion = text.startswith("!")
        self.cleaned = text[1:] if self.exclusion else text
        self.dirs = self.cleaned.split("/")
        self.kind, self.regex = _compile(self.cleaned)

    def match(self, path: str) -> bool:
        if self.kind == "exact":
            return path == self.cleaned
        if self.kind == "prefix":
            return path.startswith(self.cleaned[:-2])
        if self.kind == "suffix":
            suffix = self.cleaned[2:]
            if path.endswith(suffix):
                return True
            return suffix.startswith("/") and path == suffix[1:]
        assert self.regex is not None
        return self.regex.match(path) is not None

    def without_trailing_glob(self) -> str:
        text = self.cleaned
        for tail in ("/**", "/*"):
            if text.endswith(tail):
                text = text[: -len(tail)]
        return text


def _compile(pattern: str) -> Tuple[str, Optional["re.Pattern[str]"]]:
    """patternmatcher's Pattern.compile: a match kind, and a regex for the `regexp` kind."""
    out = "^"
    kind = "exact"
    i = 0  # counts loop turns, as the Go loop's `i` does
    pos = 0
    n = len(pattern)
    while pos < n:
        ch = pattern[pos]
        pos += 1
        if ch == "*":
            if pos < n and pattern[pos] == "*":
                pos += 1
                if pos < n and pattern[pos] == "/":
                    pos += 1
                if pos >= n:
                    if kind == "exact":
                        kind = "prefix"
                    else:
                        out += ".*"
                        kind = "regexp"
                else:
                    out += "(.*/)?"
                    kind = "regexp"
                if i == 0:
                    kind = "suffix"
            else:
                out += "[^/]*"
                kind = "regexp"
        elif ch == "?":
            out += "[^/]"
            kind = "regexp"
        elif ch in _REGEX_ESCAPED:
            out += "\\" + ch
        elif ch == "\\":
            if pos < n:
                out += _escaped(pattern[pos])
                pos += 1
                kind = "regexp"
            else:
                out += "\\\\"
        elif ch in "[]":
            out += ch
            kind = "regexp"
        else:
            out += ch  # Go's regexp and Python's re read every other character literally
        i += 1
    if kind != "regexp":
        return kind, None
    try:
        return kind, re.compile(out + r"\Z")
    except re.error as exc:
        raise BadIgnorePattern(f"syntax error in pattern ({exc})") from None


def _escaped(ch: str) -> str:
    if ch.isascii() and ch.isalnum():
        if ch in _SAME_CLASS_ESCAPES:
            return "\\" + ch
        if ch == "z":
            return r"\Z"
        raise BadIgnorePattern(f"invalid escape sequence \\{ch}")
    return re.escape(ch)


class PatternMatcher:
    """moby/patternmatcher's PatternMatcher (Linux paths, `/`-separated)."""

    def __init__(self, patterns: Sequence[str]) -> None:
        self.patterns: List[_Pattern] = []
        self.exclusions = False
        for text in patterns:
            text = text.strip()
            if not text:
                continue
            text = go_clean(text)
            if text.startswith("!"):
                if len(text) == 1:
                    raise BadIgnorePattern('illegal exclusion pattern: "!"')
                self.exclusions = True
            body = text[1:] if text.startswith("!") else text
            if _go_match_is_bad(body):
                raise BadIgnorePattern("syntax error in pattern")
            self.patterns.append(_Pattern(text))

    def matches_using_parent_results(
        self, path: str, parent: MatchInfo = MatchInfo()
    ) -> Tuple[bool, MatchInfo]:
        parent_matched = parent.parent_matched
        matched = False
        result: List[bool] = [False] * len(self.patterns)
        for index, pattern in enumerate(self.patterns):
            match = bool(parent_matched) and parent_matched[index]
            if not match:
                if pattern.exclusion != matched:
                    continue
                match = pattern.match(path)
                if not match and not parent_matched:
                    parents = posixpath.dirname(path)
                    if parents not in ("", "."):
                        dirs = parents.split("/")
                        match = any(
                            pattern.match("/".join(dirs[: k + 1])) for k in range(len(dirs))
                        )
            result[index] = match
            if match:
                matched = not pattern.exclusion
        return matched, MatchInfo(tuple(result))

    def matches_or_parent_matches(self, path: str) -> bool:
        return self.matches_using_parent_results(path)[0]

    def may_include_below(self, directory: str) -> bool:
        """fsutil's shortcut: can an exception pattern match anything inside `directory`?"""
        if not self.exclusions:
            return False
        exceptions = [p for p in self.patterns if p.exclusion]
        if any(c in _PATTERN_CHARS for p in exceptions for c in p.without_trailing_glob()):
            return True  # not only prefixes: fsutil walks the directory
        return any(
            (p.without_trailing_glob() + "/").startswith(directory + "/") for p in exceptions
        )


def _go_match_is_bad(pattern: str) -> bool:
    """patternmatcher.New's check: would Go's filepath.Match call the pattern malformed?"""
    try:
        compile_pattern(pattern)
    except GoBadPattern:
        return True
    return False


# --- what a filtered context holds --------------------------------------------------------

Lister = Callable[[str], Optional[List[Tuple[str, bool]]]]


@dataclass
class ContextFilter:
    """Decides, like fsutil's filterFS.Walk, which context paths a build sees.

    Paths are relative, `/`-separated, without a leading `/` ("a/b"); "" is the root.
    `list_dir(path)` returns the (name, is_dir) entries of a directory, or None.
    """

    matcher: PatternMatcher
    list_dir: Lister
    _info: Dict[str, Tuple[str, MatchInfo]] = field(default_factory=dict)
    _visible: Dict[str, bool] = field(default_factory=dict)

    def _state(self, path: str, is_dir: bool) -> Tuple[str, MatchInfo]:
        """'sent', 'descend' (excluded dir walked for exceptions), 'excluded' or 'unreachable'."""
        cached = self._info.get(path)
        if cached is not None:
            return cached
        parent = posixpath.dirname(path)
        parent_info = MatchInfo()
        if parent:
            parent_state, parent_info = self._state(parent, True)
            if parent_state in ("excluded", "unreachable"):
                self._info[path] = ("unreachable", MatchInfo())
                return self._info[path]
        matched, info = self.matcher.matches_using_parent_results(path, parent_info)
        if not matched:
            state = "sent"
        elif is_dir and self.matcher.may_include_below(path):
            state = "descend"
        else:
            state = "excluded"
        self._info[path] = (state, info)
        return self._info[path]

    def visible(self, path: str, is_dir: bool) -> bool:
        if path == "":
            return True
        cached = self._visible.get(path)
        if cached is not None:
            return cached
        state, _ = self._state(path, is_dir)
        if state == "sent":
            # Its parents are sent with it (fsutil sends skipped parents lazily).
            result = True
        elif state == "descend":
            entries = self.list_dir(path) or []
            result = any(self.visible(f"{path}/{name}", d) for name, d in entries)
        else:
            result = False
        self._visible[path] = result
        return result


def host_lister(root: str) -> Lister:
    """Entries of a directory under host directory `root`, symlinks not followed."""

    def list_dir(path: str) -> Optional[List[Tuple[str, bool]]]:
        directory = os.path.join(root, *path.split("/")) if path else root
        try:
            names = os.listdir(directory)
        except OSError:
            return None
        entries = []
        for name in names:
            try:
                st = os.lstat(os.path.join(directory, name))
            except OSError:
                continue
            entries.append((name, stat.S_ISDIR(st.st_mode)))
        return entries

    return list_dir


def files_lister(paths: Sequence[str]) -> Lister:
    """Entries implied by a list of file paths (a Pants snapshot): every parent is a directory."""
    children: Dict[str, Dict[str, bool]] = {}
    for path in paths:
        parts = path.split("/")
        for depth in range(len(parts)):
            parent = "/".join(parts[:depth])
            children.setdefault(parent, {})[parts[depth]] = depth < len(parts) - 1
    return lambda path: list(children[path].items()) if path in children else None


def kept_files(paths: Sequence[str], patterns: Sequence[str]) -> Tuple[str, ...]:
    """The files of `paths` (relative, `/`-separated) a context filtered by `patterns` keeps."""
    if not patterns:
        return tuple(paths)
    context = ContextFilter(PatternMatcher(patterns), files_lister(paths))
    return tuple(p for p in paths if context.visible(p, False))
